"""Orders: newOrder, order reads, finalize and certificate download (RFC 8555 7.4)."""

from __future__ import annotations

import datetime as _dt
import re
import secrets
from typing import Any

from cryptography.hazmat.primitives import serialization

from .. import problems, wire
from .._gofmt import go_quote
from ..jws import b64decode, known_key
from ..model import (
    DNS_01,
    DNS_ACCOUNT_01,
    DNS_PERSIST_01,
    HTTP_01,
    TLS_ALPN_01,
    Authorization,
    Certificate,
    Identifier,
    Order,
)
from .common import Call, Frontend, Reply, cert_by_ari_id
from .identifiers import (
    MAX_IDENTIFIERS,
    check_identifiers,
    check_type_and_value,
    normalize_identifiers,
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


def new_authorization(fe: Frontend, account_id: str, ident: Identifier,
                      now: _dt.datetime) -> Authorization:
    """A pending authorization for ``ident`` with Boulder's challenge set (not yet stored)."""
    token = secrets.token_urlsafe(32)
    return Authorization(
        id=fe.store.new_id(),
        account_id=account_id,
        identifier=Identifier(ident.type, ident.base),
        wildcard=ident.is_wildcard,
        expires=now + fe.settings.pending_authz_lifetime,
        # Boulder: every challenge of an authorization shares one token.
        challenges=[fe.store.new_challenge(t, token, (fe.settings.caa_identity,)
                                           if t == DNS_PERSIST_01 else ())
                    for t in _challenge_types(ident, fe.settings.dns_account_01,
                                              fe.settings.dns_persist_01)],
    )


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


def _new_order_payload(call: Call) -> dict[str, Any]:
    """The newOrder payload with Go's types (``json.Unmarshal`` into Boulder's struct)."""
    assert call.jws is not None
    try:
        payload = call.jws.json()
    except problems.AcmeProblem:
        raise problems.malformed(_UNMARSHAL_NEW_ORDER) from None
    raw = payload.get("identifiers")
    if raw is not None and (
        not isinstance(raw, list)
        or not all(
            isinstance(item, dict)
            and all(item.get(k) is None or isinstance(item[k], str) for k in ("type", "value"))
            for item in raw
        )
    ):
        raise problems.malformed(_UNMARSHAL_NEW_ORDER)
    for key in ("notBefore", "notAfter", "profile", "replaces"):
        if payload.get(key) is not None and not isinstance(payload[key], str):
            raise problems.malformed(_UNMARSHAL_NEW_ORDER)
    return payload


def new_order(fe: Frontend, call: Call) -> Reply:
    """POST newOrder: an order for the identifiers, with an authorization for each (7.4).

    The checks are Boulder's ``NewOrder``, in its order: payload types, at least one
    identifier, notBefore/notAfter (boulder flavor), identifier types and empty values,
    normalization, well-formedness (every bad identifier reported), size, profile."""
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
    check_identifiers(identifiers)
    if len(identifiers) > MAX_IDENTIFIERS:
        raise problems.malformed(
            f"Error creating new order :: Order cannot contain more than {MAX_IDENTIFIERS} "
            "identifiers"
        )
    not_before = _parse_time(payload, "notBefore")
    not_after = _parse_time(payload, "notAfter")
    if not_before and not_after and not_after <= not_before:
        raise problems.malformed("notAfter must be after notBefore")
    profile = payload.get("profile") or None
    if profile is not None and profile not in fe.settings.profiles:
        # Boulder validateCertificateProfileName.
        raise problems.problem(
            "invalidProfile", f"profile name {go_quote(profile)} not recognized", 400
        )
    replaces = payload.get("replaces") or None
    if replaces is not None:
        check_replaces(fe, call.account.id, replaces)
    now = fe.clock.now()
    account = call.account
    with fe.store.lock:
        if fe.settings.order_reuse:
            existing = fe.store.reusable_order(account.id, identifiers, profile, now)
            if existing is not None:
                return _order_reply(fe, existing, "newOrder answer", 201)
        authz_ids: list[str] = []
        created: list[Authorization] = []
        for ident in identifiers:
            reused = fe.store.reusable_authz(account.id, ident, now) if (
                fe.settings.authz_reuse
            ) else None
            if reused is not None:
                authz_ids.append(reused.id)
                continue
            authz = new_authorization(fe, account.id, ident, now)
            created.append(authz)
            authz_ids.append(authz.id)
        order = Order(
            id=fe.store.new_id(),
            account_id=account.id,
            identifiers=identifiers,
            authorization_ids=authz_ids,
            expires=now + fe.settings.order_lifetime,
            created=now,
            not_before=not_before,
            not_after=not_after,
            profile=profile,
            replaces=replaces,
        )
        fe.store.add_order(order, created)
        if replaces is not None:
            for cert in fe.store.certificates.values():
                if cert.ari_id == replaces:
                    cert.replaced_by = order.id
    return _order_reply(fe, order, "newOrder answer", 201)


def check_replaces(fe: Frontend, account_id: str, ari_id: str) -> None:
    """newOrder's ``replaces`` (RFC 9773 5): a certificate of this account, not yet replaced."""
    try:
        cert = cert_by_ari_id(fe, ari_id)
    except problems.AcmeProblem:
        raise problems.malformed(
            f"Error creating new order :: while checking the replaced certificate {ari_id}: "
            "certificate not found"
        ) from None
    if cert.account_id != account_id:
        raise problems.unauthorized(
            "Error creating new order :: the certificate being replaced was not issued to "
            "this account"
        )
    if cert.replaced_by is not None:
        raise problems.problem(
            "alreadyReplaced",
            f"Error creating new order :: cannot indicate an order replaces certificate with "
            f"serial {cert.serial:036x}, which already has a replacement order",
            409,
        )


def _own_order(fe: Frontend, call: Call) -> Order:
    order_id = call.args["order_id"]
    order = fe.store.orders.get(order_id)
    if order is None:
        raise problems.not_found(f"No order for ID {order_id}")
    if order.account_id != call.account.id:
        # Boulder pretends another account's order does not exist.
        raise problems.not_found(f"No order found for account ID {call.account.id}")
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
    """The finalize payload's ``csr`` (Boulder's ``core.RawCertificateRequest``)."""
    assert call.jws is not None
    unmarshal = problems.malformed("Error unmarshaling finalize order request")
    try:
        payload = call.jws.json()
    except problems.AcmeProblem:
        raise unmarshal from None
    csr_b64 = payload.get("csr")
    if csr_b64 is None:
        return b""
    try:
        return b64decode(csr_b64, "csr")
    except problems.AcmeProblem:
        raise unmarshal from None


def finalize(fe: Frontend, call: Call) -> Reply:
    """POST to finalize: check the CSR, issue (7.4). Answers ``processing`` with Retry-After
    (Boulder's async finalization); the next read shows ``valid``.

    Boulder's order: the order must be the account's and ``ready`` (orderNotReady), the
    payload must carry a CSR that parses (malformed), then the RA checks it (badCSR), its
    identifiers against the order's (unauthorized) and its key against the account key
    (malformed), all under ``Error finalizing order :: ``. A refused CSR leaves the order
    ``ready``."""
    order = _own_order(fe, call)
    fe.reads.apply_due(order.authorization_ids, poll=False)
    now = fe.clock.now()
    state = fe.store.status_of(order, now)
    if state != "ready":
        raise problems.order_not_ready(
            f"Order's status ({go_quote(state)}) is not acceptable for finalization"
        )
    der = _csr_der(call)
    try:
        csr = fe.ca.check_csr(der, order.identifiers)
    except problems.AcmeProblem as prob:
        if prob.type == "malformed":
            raise  # the WFE's own parse error, not prefixed
        raise prob.prefixed("Error finalizing order :: ") from None
    _recheck_caa(fe, order, now)
    account_spki = known_key(call.account.jwk).key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    csr_spki = csr.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if csr_spki == account_spki:
        raise problems.malformed(
            "Error finalizing order :: certificate public key must be different than account key"
        )
    with fe.store.lock:
        # A concurrent finalize may have won (Boulder: orderNotReady "processing").
        state = fe.store.status_of(order, now)
        if state != "ready":
            raise problems.order_not_ready(
                f"Order's status ({go_quote(state)}) is not acceptable for finalization"
            )
        order.finalize_started = now
    try:
        profile = fe.settings.profiles.get(order.profile or fe.settings.default_profile or "")
        issued = fe.ca.issue(
            csr,
            order.identifiers,
            now,
            validity=profile.validity if profile else fe.settings.certificate_validity,
            not_before=order.not_before,
            not_after=order.not_after,
            client_auth=bool(profile and profile.client_auth),
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
    )
    with fe.store.lock:
        if fe.settings.async_finalize:
            # The finalize answer itself is one read that shows processing.
            order.processing_reads_left = 1 + fe.settings.finalize_processing_polls
        fe.store.add_certificate(cert)
    return _order_reply(fe, order, "finalize answer", 200, poll=False)


#: Boulder's ``caaRecheckDuration``: authorizations validated longer ago get CAA checked again.
CAA_RECHECK_AFTER = _dt.timedelta(hours=7)


def _recheck_caa(fe: Frontend, order: Order, now: _dt.datetime) -> None:
    """Boulder ``ra.checkOrderAuthorizations``/``recheckCAA``: CAA again at finalize for every
    authorization validated more than 7 hours ago (a reused one, typically)."""
    failures: list[problems.AcmeProblem] = []
    for authz in fe.store.authzs_of(order):
        validated = authz.challenges[0].validated if authz.challenges else None
        if validated is None or now - validated <= CAA_RECHECK_AFTER:
            continue
        found = fe.va.recheck_caa(authz, fe.urls.account(authz.account_id))
        if found is not None:
            ident = ("*." if authz.wildcard else "") + authz.identifier.value
            failures.append(problems.problem(
                found.type, found.detail, found.status,
                identifier={"type": authz.identifier.type, "value": ident},
            ))
    if len(failures) == 1:
        raise problems.caa("Error finalizing order :: rechecking caa: " + failures[0].detail)
    if failures:
        first = failures[0].identifier or {}
        raise problems.problem(
            "caa",
            f"Error finalizing order :: Rechecking CAA for {go_quote(first.get('value', ''))} "
            f"and {len(failures) - 1} more identifiers failed. Refer to sub-problems for more "
            "information",
            403,
            subproblems=failures,
        )


def certificate(fe: Frontend, call: Call) -> Reply:
    """POST-as-GET of a certificate chain: ``application/pem-certificate-chain`` (7.4.2)."""
    cert = fe.store.certificates.get(call.args["cert_id"])
    if cert is None:
        raise problems.not_found("Certificate not found")
    if cert.account_id != call.account.id:
        raise problems.unauthorized("Account in use did not issue specified certificate")
    chain = cert.chain_pem
    index = call.args.get("chain")
    if index is not None:
        # RFC 8555 7.4.2: alternate chains, each named by a Link rel="alternate".
        if not re.fullmatch(r"[0-9]{1,3}", index) or not 1 <= int(index) <= len(
            cert.alternate_chains
        ):
            raise problems.not_found("Certificate chain not found")
        chain = cert.alternate_chains[int(index) - 1]
    base = fe.urls.certificate(cert.id)
    links = [(f"{base}/{n}", "alternate")
             for n in range(len(cert.alternate_chains) + 1) if str(n or "") != (index or "")]
    links = [(url.removesuffix("/0"), rel) for url, rel in links]
    return Reply(200, cert.pem + chain, content_type="application/pem-certificate-chain",
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
    check_identifiers([ident])
    now = fe.clock.now()
    with fe.store.lock:
        authz = new_authorization(fe, call.account.id, ident, now)
        fe.store.add_authorization(authz)
        body = wire.authorization(authz, authz.status_at(now), fe.urls)
    return Reply(201, body, {"Location": fe.urls.authz(authz.id)})
