"""Orders: newOrder, order reads, finalize and certificate download (RFC 8555 7.4)."""

from __future__ import annotations

import datetime as _dt
import re
import secrets
from dataclasses import replace
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .. import problems, wire
from .._gofmt import go_quote
from ..csr import parse_csr, verify_csr
from ..jws import known_key, raw_b64decode
from ..model import (
    DNS_01,
    DNS_ACCOUNT_01,
    DNS_PERSIST_01,
    HTTP_01,
    TLS_ALPN_01,
    Account,
    Authorization,
    Certificate,
    Identifier,
    Order,
)
from ..profiles import AUTHZ_REUSE, Profile
from .common import Call, Frontend, Reply, ari_serial, cert_by_serial, go_serial
from .identifiers import (
    check_identifiers,
    check_type_and_value,
    normalize_identifiers,
    wildcard_overlap,
)

_UNMARSHAL_NEW_ORDER = "Unable to unmarshal NewOrder request body"

def _challenge_types(ident: Identifier, dns_account: bool = False,
                     dns_persist: bool = False) -> tuple[str, ...]:
    # Boulder policy/pa.go ChallengeTypesFor: wildcards get dns-01 only; IP identifiers get
    # http-01 and tls-alpn-01 (RFC 8738 7); names get all three. dns-account-01, when
    # enabled, comes beside dns-01, then dns-persist-01 (never for IP identifiers).
    extra = ((DNS_ACCOUNT_01,) if dns_account else ()) + (
        (DNS_PERSIST_01,) if dns_persist else ())
    if ident.is_wildcard:
        return (DNS_01, *extra)
    if ident.type == "ip":
        return (HTTP_01, TLS_ALPN_01)
    return (HTTP_01, DNS_01, TLS_ALPN_01, *extra)


def new_authorization(fe: Frontend, account_id: str, ident: Identifier, now: _dt.datetime,
                      profile_name: str | None = None,
                      profile: Profile | None = None) -> Authorization:
    """A pending authorization for ``ident`` with Boulder's challenge set (not yet stored),
    living as the order's profile (named ``profile_name``, in force as ``profile``) says
    (ra/ra.go:2298, 1577)."""
    token = secrets.token_urlsafe(32)
    return Authorization(
        id=fe.store.new_id(),
        account_id=account_id,
        identifier=Identifier(ident.type, ident.base),
        wildcard=ident.is_wildcard,
        expires=now + _pending_lifetime(fe, profile),
        profile=profile_name,
        reuse_for=profile.authz_reuse if profile is not None else AUTHZ_REUSE,
        # Boulder: every challenge of an authorization shares one token.
        challenges=[fe.store.new_challenge(t, token, (fe.settings.caa_identity,)
                                           if t == DNS_PERSIST_01 else ())
                    for t in _challenge_types(ident, fe.settings.dns_account_01,
                                              fe.settings.dns_persist_01)],
    )


def profile_in_force(fe: Frontend, name: str | None, now: _dt.datetime) -> Profile | None:
    """The profile an order of profile ``name`` (None: the default) follows at ``now``."""
    return fe.settings.profiles_on(now).get(name or fe.settings.default_profile or "")


def _pending_lifetime(fe: Frontend, profile: Profile | None) -> _dt.timedelta:
    if profile is not None and profile.pending_authz_lifetime is not None:
        return profile.pending_authz_lifetime
    return fe.settings.pending_authz_lifetime


def _parse_time(payload: dict[str, Any], key: str) -> _dt.datetime | None:
    value = payload.get(key)
    if not value:
        return None
    if not isinstance(value, str):
        raise problems.malformed(f"{key} must be an RFC 3339 timestamp")
    try:
        parsed = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise problems.malformed(f"{key} is not an RFC 3339 timestamp: {go_quote(value)}") from None
    if parsed.tzinfo is None:
        raise problems.malformed(f"{key} must carry a time zone")
    try:
        return parsed.astimezone(_dt.timezone.utc)
    except OverflowError:
        raise problems.malformed(f"{key} is out of range: {go_quote(value)}") from None


def _go_member(payload: dict[str, Any], name: str) -> Any:
    """A member as Go's ``encoding/json`` finds a struct field: the exact key, else the last
    key that matches without regard to case."""
    if name in payload:
        return payload[name]
    found = None
    for key, value in payload.items():
        if key.lower() == name.lower():
            found = value
    return found


def _new_order_payload(call: Call) -> dict[str, Any]:
    """The newOrder payload with Go's types (``json.Unmarshal`` into Boulder's struct, whose
    fields match keys in any case: wfe2/wfe.go:2368-2380)."""
    assert call.jws is not None
    try:
        payload = call.jws.json()
    except problems.AcmeProblem:
        raise problems.malformed(_UNMARSHAL_NEW_ORDER) from None
    read = {name: _go_member(payload, name)
            for name in ("identifiers", "notBefore", "notAfter", "profile", "replaces")}
    raw = read["identifiers"]
    if raw is not None and (
        not isinstance(raw, list)
        or not all(isinstance(item, dict) for item in raw)
    ):
        raise problems.malformed(_UNMARSHAL_NEW_ORDER)
    if raw is not None:
        read["identifiers"] = raw = [
            {"type": _go_member(item, "type"), "value": _go_member(item, "value")} for item in raw
        ]
        if not all(item[k] is None or isinstance(item[k], str) for item in raw
                   for k in ("type", "value")):
            raise problems.malformed(_UNMARSHAL_NEW_ORDER)
    for key in ("notBefore", "notAfter", "profile", "replaces"):
        if read[key] is not None and not isinstance(read[key], str):
            raise problems.malformed(_UNMARSHAL_NEW_ORDER)
    return read


def new_order(fe: Frontend, call: Call) -> Reply:
    """POST newOrder: an order for the identifiers, with an authorization for each (7.4).

    The checks are Boulder's, in its order (wfe2/wfe.go ``NewOrder``, then ra/ra.go
    ``NewOrder``): payload types, at least one identifier, notBefore/notAfter (boulder
    flavor), identifier types and empty values, normalization, well-formedness (every bad
    identifier reported), ``replaces``, the profile's name; then the profile's size and
    identifier types, and a name that a wildcard in the order already covers."""
    payload = _new_order_payload(call)
    raw = payload.get("identifiers") or []
    if not raw:
        raise problems.malformed("NewOrder request did not specify any identifiers")
    accepted = fe.settings.validity_requests
    if accepted is None:
        accepted = fe.settings.flavor != "boulder"
    if (payload.get("notBefore") or payload.get("notAfter")) and not accepted:
        raise problems.malformed("NotBefore and NotAfter are not supported")
    for item in raw:
        check_type_and_value(item)
    identifiers = normalize_identifiers(raw)
    check_identifiers(identifiers, fe.settings.strict_identifiers)
    not_before = _parse_time(payload, "notBefore")
    not_after = _parse_time(payload, "notAfter")
    if not_before and not_after and not_after <= not_before:
        raise problems.malformed("notAfter must be after notBefore")
    paused = fe.limits.paused_refusal(call.account.id, identifiers, fe.urls.base)
    if paused is not None:
        raise paused  # before replaces, the profile and the limits (wfe2/wfe.go:2432-2451)
    replaces = payload.get("replaces") or None
    replaced_serial = None
    if replaces is not None:
        replaced_serial = check_replaces(fe, call.account.id, replaces, identifiers)
    profile = payload.get("profile") or None
    offered = fe.settings.profiles_on(fe.clock.now())
    if profile is not None and profile not in offered:
        # Boulder validateCertificateProfileName: no context (wfe2/wfe.go:2306-2317, 2486-2491).
        raise problems.problem(
            "invalidProfile", f"profile name {go_quote(profile)} not recognized", 400
        )
    in_force = offered.get(profile or fe.settings.default_profile or "")
    # The limits, after every WFE check and before the RA's (wfe2/wfe.go:2493-2518): spent
    # now, refunded if the RA's checks refuse the order.
    ari_renewal = _ari_renewal(fe, replaced_serial)
    refusal = fe.limits.new_order(call.account.id, identifiers, ari_renewal)
    if refusal is not None:
        raise refusal
    try:
        _check_profile(fe, profile, in_force, identifiers, call.account)
        wildcard_overlap(identifiers)
    except problems.AcmeProblem:
        fe.limits.refund_new_order(call.account.id, identifiers, ari_renewal)
        raise
    return _create_order(fe, call, identifiers, (profile, in_force), replaces,
                         replaced_serial, not_before, not_after)


def _reuse_margin(order_lifetime: _dt.timedelta) -> _dt.timedelta:
    """How long an authorization must still live to be reused: an eighth of the order's
    lifetime, from 1 to 24 hours (Boulder ``minTimeToExpiry``, ra/ra.go:2187-2193)."""
    return min(max(order_lifetime / 8, _dt.timedelta(hours=1)), _dt.timedelta(hours=24))


def _ari_renewal(fe: Frontend, serial: int | None) -> bool:
    """Whether the order replaces a certificate inside its suggested renewal window now: an
    ARI renewal, exempt from every limit (wfe2/wfe.go:2299-2303; core/objects.go:438-440)."""
    cert = cert_by_serial(fe, serial) if serial is not None else None
    if cert is None:
        return False
    now = fe.clock.now()
    window = fe.ari.window(cert, now)
    return window.start <= now < window.end


def _check_profile(fe: Frontend, name: str | None, profile: Profile | None,
                   identifiers: list[Identifier], account: Account) -> None:
    """The RA's rules of ``profile`` (the one named ``name``, or the default), in its order
    (ra/ra.go:2109-2137): the account may use it, at most ``max_names`` identifiers, of the
    types it takes."""
    if profile is None:
        return
    earlier = (fe.store.orders.get(order_id) for order_id in account.order_ids)
    if profile.prior_users_only and not any(
            order is not None and order.profile == name for order in earlier):
        raise problems.unauthorized(
            f"Error creating new order :: account ID {account.id} is not permitted to use "
            f"certificate profile {go_quote(name or '')}")
    if len(identifiers) > profile.max_names:
        raise problems.malformed(
            f"Error creating new order :: Order cannot contain more than {profile.max_names} "
            "identifiers"
        )
    for ident in identifiers:
        if ident.type not in profile.identifier_types:
            shown = "Default profile" if name is None else f"Profile {go_quote(name)}"
            kind = "IP address" if ident.type == "ip" else "DNS"
            raise problems.rejected_identifier(
                f"Error creating new order :: {shown} does not permit {kind} identifiers. "
                "See available profiles at https://letsencrypt.org/docs/profiles/."
            )


def _create_order(
    fe: Frontend,
    call: Call,
    identifiers: list[Identifier],
    profiles: tuple[str | None, Profile | None],
    replaces: str | None,
    replaced_serial: int | None,
    not_before: _dt.datetime | None,
    not_after: _dt.datetime | None,
) -> Reply:
    """The order (or a pending or ready one of the same identifiers, reused as Boulder does)
    and its authorizations (valid ones reused)."""
    now = fe.clock.now()
    account = call.account
    profile, found = profiles  # the name the order asked for; the profile in force
    with fe.store.lock:
        if fe.settings.order_reuse:
            existing = fe.store.reusable_order(account.id, identifiers, profile, now)
            if existing is not None:
                return _order_reply(fe, existing, "newOrder answer", 201)
        authz_ids: list[str] = []
        created: list[Authorization] = []
        # Boulder: the order lives as its profile says, and no longer than any of its
        # authorizations, reused or new (ra/ra.go:2306-2342).
        lifetime = (found.order_lifetime if found and found.order_lifetime else None) or (
            fe.settings.order_lifetime)
        expires = now + lifetime
        reusable_until = now + _reuse_margin(lifetime)
        for ident in identifiers:
            reused = fe.store.reusable_authz(account.id, ident, now, profile,
                                             valid_until=reusable_until) if (
                fe.settings.authz_reuse
            ) else None
            if reused is not None:
                authz_ids.append(reused.id)
                expires = min(expires, reused.expires)
                continue
            authz = new_authorization(fe, account.id, ident, now, profile, found)
            created.append(authz)
            authz_ids.append(authz.id)
            expires = min(expires, authz.expires)
        order = Order(
            id=fe.store.new_id(),
            account_id=account.id,
            identifiers=identifiers,
            authorization_ids=authz_ids,
            expires=expires,
            created=now,
            not_before=not_before,
            not_after=not_after,
            profile=profile,
            replaces=replaces,
        )
        fe.store.add_order(order, created)
        replaced = cert_by_serial(fe, replaced_serial) if replaced_serial is not None else None
        if replaced is not None:
            replaced.replaced_by = order.id
    return _order_reply(fe, order, "newOrder answer", 201)


def check_replaces(fe: Frontend, account_id: str, ari_id: str,
                   identifiers: list[Identifier]) -> int:
    """newOrder's ``replaces`` (RFC 9773 5) as Boulder's ``validateReplacementOrder`` checks
    it (wfe2/wfe.go:2162-2304): a certificate id, no live replacement order yet, the account's
    certificate, an identifier in common. Returns the replaced serial."""
    context = "Could not validate ARI 'replaces' field"
    serial = ari_serial(fe, ari_id, context)
    cert = cert_by_serial(fe, serial)
    if cert is not None and _replacement_is_live(fe, cert):
        raise problems.problem(
            "alreadyReplaced",
            f"{context} :: cannot indicate an order replaces certificate with serial "
            f"{go_quote(go_serial(serial))}, which already has a replacement order",
            409,
        )
    if cert is None:
        raise problems.not_found(
            f"{context} :: request included `replaces` field, but no current certificate with "
            f"serial {go_quote(go_serial(serial))} exists"
        )
    if cert.account_id != account_id:
        raise problems.unauthorized(
            f"{context} :: requester account did not request the certificate being replaced by "
            "this order"
        )
    leaf = x509.load_pem_x509_certificate(cert.pem.encode("ascii"))
    if not any(_verify_hostname(leaf, ident) for ident in identifiers):
        raise problems.malformed(
            f"{context} :: identifiers in this order do not match any identifiers in the "
            "certificate being replaced"
        )
    return serial


def _replacement_is_live(fe: Frontend, cert: Certificate) -> bool:
    """Boulder ``ReplacementOrderExists`` (sa/saro.go:819-875): a replacement order that is
    pending, ready, processing or valid, and not expired."""
    order = fe.store.orders.get(cert.replaced_by or "")
    if order is None:
        return False
    now = fe.clock.now()
    if order.expires <= now and order.certificate_id is None:
        return False
    return fe.store.status_of(order, now) in ("pending", "ready", "processing", "valid")


def _verify_hostname(leaf: x509.Certificate, ident: Identifier) -> bool:
    """Go's ``x509.Certificate.VerifyHostname``: an IP SAN equal to an IP identifier; a DNS
    SAN equal to the name (case aside), or a ``*.`` SAN covering its first label."""
    try:
        names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    if ident.type == "ip":
        return any(str(ip) == ident.value for ip in names.get_values_for_type(x509.IPAddress))
    value = ident.value.lower()
    for name in names.get_values_for_type(x509.DNSName):
        name = name.lower()
        if name == value:
            return True
        if name.startswith("*.") and "*" not in value and value.split(".", 1)[-1] == name[2:] \
                and "." in value:
            return True
    return False


def _own_order(fe: Frontend, call: Call, finalizing: bool = False) -> Order:
    """The order the URL names, which must be the signer's (a plain GET, which Boulder also
    serves, has no signer and no owner check)."""
    order_id = call.args["order_id"]
    order = fe.store.orders.get(order_id)
    if order is None:
        raise problems.not_found(f"No order for ID {order_id}")
    if call.jws is not None and order.account_id != call.account.id:
        # Boulder pretends another account's order does not exist. A read names the account
        # in the order's URL, which is the order's owner (wfe2/wfe.go:2594-2605); finalize
        # names the signer (2677-2682).
        named = call.account.id if finalizing else order.account_id
        raise problems.not_found(f"No order found for account ID {named}")
    return order


def _order_reply(fe: Frontend, order: Order, shown_by: str, status: int = 200,
                 poll: bool = True) -> Reply:
    state = fe.reads.show_order(order, poll=poll, shown_by=shown_by)
    with fe.store.lock:
        body = wire.order(order, state, fe.urls)
    reply = Reply(status, body, {"Location": fe.urls.order(order.id)})
    if state == "processing":
        reply.headers["Retry-After"] = str(fe.settings.finalize_retry_after)
    return reply


def order(fe: Frontend, call: Call) -> Reply:
    """POST-as-GET of an order (7.1.3); its status derived at this read."""
    return _order_reply(fe, _own_order(fe, call), "order answer")


def _csr_der(call: Call) -> bytes:
    """The finalize payload's ``csr`` (Boulder's ``core.RawCertificateRequest``: a string,
    trailing ``=`` trimmed, base64url without padding)."""
    assert call.jws is not None
    unmarshal = problems.malformed("Error unmarshaling finalize order request")
    try:
        payload = call.jws.json()
    except problems.AcmeProblem:
        raise unmarshal from None
    csr_b64 = _go_member(payload, "csr")
    if csr_b64 is None:
        return b""
    decoded = raw_b64decode(csr_b64.rstrip("=")) if isinstance(csr_b64, str) else None
    if decoded is None:
        raise unmarshal
    return decoded


_FINALIZING = "Error finalizing order :: "


# RFC 7633 id-pe-tlsfeature with the value SEQUENCE { INTEGER 5 } (status_request): Boulder's
# containsMustStaple compares the OID and the DER value exactly (ra/ra.go:996-1014).
_TLS_FEATURE = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.24")
_MUST_STAPLE = bytes([0x30, 0x03, 0x02, 0x01, 0x05])


def _asks_must_staple(csr: x509.CertificateSigningRequest) -> bool:
    """Whether the CSR requests the OCSP Must-Staple extension, as Boulder tests it."""
    try:
        extensions = list(csr.extensions)
    except (ValueError, x509.DuplicateExtension):  # the CSR checks that follow refuse these
        return False
    return any(ext.oid == _TLS_FEATURE and ext.value.public_bytes() == _MUST_STAPLE
               for ext in extensions)


def _checked_csr(fe: Frontend, call: Call, order: Order,
                 profile: Profile | None) -> x509.CertificateSigningRequest:
    """The RA's ``validateFinalizeRequest`` (ra/ra.go:1021-1110) after the WFE's parse: the
    CSR's own checks, its names against the policy, their count (at most ``profile``'s,
    the order's profile in force) and the order's, the key against the account's."""
    csr = parse_csr(_csr_der(call))
    if _asks_must_staple(csr):
        # Refused before VerifyCSR, in the RA (ra/ra.go:1059-1063).
        raise problems.unauthorized(
            _FINALIZING + "OCSP must-staple extension is no longer available: see "
            "https://letsencrypt.org/2024/12/05/ending-ocsp")
    try:
        names = verify_csr(csr, fe.store.blocked_keys)
        # VerifyCSR ends with the policy's WillingToIssue (csr/csr.go:90-93).
        check_identifiers(names, fe.settings.strict_identifiers)
    except problems.AcmeProblem as prob:
        raise _finalizing(prob) from None
    most = profile.max_names if profile is not None else len(order.identifiers)
    if not 1 <= len(names) <= most:
        raise problems.unauthorized(
            f"{_FINALIZING}CSR identifier count is not at minimum 1 or at maximum {most}")
    if names != sorted(set(order.identifiers), key=lambda i: (i.type != "dns", i.value)):
        raise problems.unauthorized(_FINALIZING + "CSR does not specify same identifiers as Order")
    account_spki = known_key(call.account.jwk).key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    csr_spki = csr.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if csr_spki == account_spki:
        raise problems.malformed(
            _FINALIZING + "certificate public key must be different than account key")
    return csr


def _finalizing(prob: problems.AcmeProblem) -> problems.AcmeProblem:
    """``Error finalizing order :: `` before the detail, and before each subproblem's (Boulder
    ``web.ProblemDetailsForError``, web/probs.go:96-101). The WFE's identifier context is the
    newOrder one; the RA's has none."""
    context = "Invalid identifiers requested :: "
    subs = tuple(replace(sub, detail=_FINALIZING + sub.detail.removeprefix(context))
                 for sub in prob.subproblems)
    return replace(prob, detail=_FINALIZING + prob.detail.removeprefix(context),
                   subproblems=subs)


def finalize(fe: Frontend, call: Call) -> Reply:
    """POST to finalize: check the CSR, issue (7.4). Answers ``processing`` with Retry-After
    (Boulder's async finalization); the next read shows ``valid``.

    Boulder's order: the order must be the account's and ``ready`` (orderNotReady), the
    payload must carry a CSR that parses (malformed), then the RA checks it (badCSR), its
    names (rejectedIdentifier), their number and the order's (unauthorized), its key against
    the account key (malformed), and CAA again for old authorizations (caa), all under
    ``Error finalizing order :: ``. A refused CSR leaves the order ``ready``."""
    order = _own_order(fe, call, finalizing=True)
    fe.reads.apply_due(order.authorization_ids, poll=False)
    now = fe.clock.now()
    state = fe.store.status_of(order, now)
    if state != "ready":
        raise problems.order_not_ready(
            f"Order's status ({go_quote(state)}) is not acceptable for finalization"
        )
    offered = fe.settings.profiles_on(now)
    if order.profile is not None and order.profile not in offered:
        # A profile withdrawn since the order (wfe2/wfe.go:2697-2705): Let's Encrypt's
        # schedule does that to tlsclient on 2026-07-08.
        raise problems.problem(
            "invalidProfile", f"profile name {go_quote(order.profile)} not recognized", 400)
    in_force = offered.get(order.profile or fe.settings.default_profile or "")
    csr = _checked_csr(fe, call, order, in_force)
    _recheck_caa(fe, order, now)
    with fe.store.lock:
        # A concurrent finalize may have won (Boulder: orderNotReady "processing").
        state = fe.store.status_of(order, now)
        if state != "ready":
            raise problems.order_not_ready(
                f"Order's status ({go_quote(state)}) is not acceptable for finalization"
            )
        order.finalize_started = now
    try:
        issued = fe.ca.issue(
            csr,
            order.identifiers,
            now,
            in_force or Profile("", fe.settings.certificate_validity),
            not_before=order.not_before,
            not_after=order.not_after,
        )
    except BaseException:
        with fe.store.lock:
            # Boulder failOrder: a finalization that broke leaves the order invalid.
            order.error = problems.server_internal("Error finalizing order")
        raise
    cert = Certificate(
        id=fe.store.new_id(),
        serial=issued.serial,
        order_id=order.id,
        account_id=order.account_id,
        pem=issued.pem,
        chain_pem=issued.chain_pem,
        not_before=issued.not_before,
        not_after=issued.not_after,
        ari_id=issued.ari_id,
        alternate_chains=issued.alternate_chains,
        issued_at=issued.issued_at,
    )
    # Counted before it is stored, so that it is not its own renewal (ra/ra.go:1242-1265).
    fe.limits.issued(order.account_id, order.identifiers)
    with fe.store.lock:
        if fe.settings.async_finalize:
            # The finalize answer itself is one read that shows processing.
            order.processing_reads_left = 1 + fe.settings.finalize_processing_polls
        fe.store.add_certificate(cert)
    return _order_reply(fe, order, "finalize answer", 200, poll=False)


#: Boulder's ``caaRecheckDuration``: authorizations validated longer ago get CAA checked again.
CAA_RECHECK_AFTER = _dt.timedelta(hours=7)


def _recheck_caa(fe: Frontend, order: Order, now: _dt.datetime) -> None:
    """Boulder ``ra.checkAuthorizationsCAA``/``recheckCAA`` (ra/ra.go:690-840): CAA again at
    finalize for every DNS authorization validated more than 7 hours ago (a reused one,
    typically). Whatever the VA found becomes a caa problem, ``rechecking caa: <detail>``;
    several are subproblems under one."""
    failures: list[problems.AcmeProblem] = []
    for authz in fe.store.authzs_of(order):
        validated = authz.challenges[0].validated if authz.challenges else None
        if authz.identifier.type != "dns" or validated is None or (
                now - validated <= CAA_RECHECK_AFTER):
            continue
        found = fe.va.recheck_caa(authz, fe.urls.account(authz.account_id))
        if found is not None:
            # Boulder keeps a wildcard's "*." in the authorization's stored identifier.
            ident = ("*." if authz.wildcard else "") + authz.identifier.value
            failures.append(problems.problem(
                "caa", f"{_FINALIZING}rechecking caa: {found.detail}", 403,
                identifier={"type": authz.identifier.type, "value": ident},
            ))
    if len(failures) == 1:
        raise problems.caa(failures[0].detail)
    if failures:
        first = failures[0].identifier or {}
        raise problems.problem(
            "caa",
            f"{_FINALIZING}Rechecking CAA for {go_quote(first.get('value', ''))} and "
            f"{len(failures) - 1} more identifiers failed. Refer to sub-problems for more "
            "information",
            403,
            subproblems=failures,
        )


def certificate(fe: Frontend, call: Call) -> Reply:
    """A certificate chain, by POST-as-GET or GET: ``application/pem-certificate-chain``
    (7.4.2). ``/<n>`` picks chain ``n`` (0 is the default one), as Boulder numbers them."""
    index = call.args.get("chain")
    chosen = 0
    if index is not None:
        # Boulder strconv.Atoi, before the serial is looked at (wfe2/wfe.go:1729-1736).
        if not re.fullmatch(r"[+-]?[0-9]{1,18}", index) or int(index) < 0:
            raise problems.malformed("Chain ID must be a non-negative integer")
        chosen = int(index)
    cert = fe.store.certificates.get(call.args["cert_id"])
    if cert is None:
        raise problems.not_found("Certificate not found")
    if call.jws is not None and cert.account_id != call.account.id:
        raise problems.unauthorized("Account in use did not issue specified certificate")
    chains = [cert.chain_pem, *cert.alternate_chains]
    if chosen >= len(chains):
        raise problems.not_found("Unknown issuance chain")
    base = fe.urls.certificate(cert.id)
    links = [(f"{base}/{n}", "alternate") for n in range(len(chains)) if n != chosen]
    return Reply(200, cert.pem + chains[chosen], content_type="application/pem-certificate-chain",
                 links=links)


def new_authz(fe: Frontend, call: Call) -> Reply:
    """POST newAuthz (RFC 8555 7.4.1, pre-authorization; offered when ``pre_authorization`` is
    set, as Let's Encrypt does not): an authorization for one identifier, outside any order."""
    if not fe.settings.pre_authorization:
        raise problems.not_found("Resource not found")
    assert call.jws is not None
    payload = call.jws.json()
    raw = payload.get("identifier")
    if not isinstance(raw, dict):
        raise problems.malformed("newAuthz request must name one identifier")
    check_type_and_value(raw)
    [ident] = normalize_identifiers([raw])
    if ident.is_wildcard:
        # RFC 8555 7.4.1: a wildcard identifier cannot be pre-authorized.
        raise problems.malformed("Wildcard identifiers cannot be pre-authorized")
    check_identifiers([ident], fe.settings.strict_identifiers)
    now = fe.clock.now()
    with fe.store.lock:
        authz = new_authorization(fe, call.account.id, ident, now,
                                  profile=profile_in_force(fe, None, now))
        fe.store.add_authorization(authz)
        body = wire.authorization(authz, authz.status_at(now), fe.urls)
    return Reply(201, body, {"Location": fe.urls.authz(authz.id)})
