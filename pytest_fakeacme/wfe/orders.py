"""Orders: newOrder, order reads, finalize and certificate download (RFC 8555 7.4)."""

from __future__ import annotations

import datetime as _dt
import ipaddress
import re
import secrets
from typing import Any

from cryptography.hazmat.primitives import serialization

from .. import problems, wire
from .._gofmt import go_quote
from ..jws import b64decode, load_public_jwk
from ..model import (
    DNS_01,
    HTTP_01,
    TLS_ALPN_01,
    Authorization,
    Certificate,
    Identifier,
    Order,
)
from .app import Call, Frontend, Reply

#: Boulder's ``maxNames``: identifiers per order.
MAX_IDENTIFIERS = 100
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def _rejected(ident: Identifier, reason: str) -> problems.AcmeProblem:
    return problems.rejected_identifier(
        f"Cannot issue for {go_quote(ident.value)}: {reason}", identifier=ident.to_json()
    )


def check_identifier(raw: Any) -> Identifier:
    """One identifier of a newOrder (RFC 8555 7.4; RFC 8738 for ``ip``), or a problem."""
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str) or not isinstance(
        raw.get("value"), str
    ):
        raise problems.malformed("identifiers must be objects with string type and value")
    kind, value = raw["type"], raw["value"]
    if kind == "ip":
        try:
            addr = ipaddress.ip_address(value)
        except ValueError:
            raise _rejected(Identifier(kind, value), "IP address is invalid") from None
        return Identifier("ip", str(addr))
    if kind != "dns":
        raise problems.unsupported_identifier(
            f"NewOrder request included unsupported identifier: type {go_quote(kind)}, "
            f"value {go_quote(value)}"
        )
    ident = Identifier("dns", value)
    name = value.lower()
    if name != value:
        raise _rejected(ident, "Domain name contains an invalid character")
    if not name:
        raise _rejected(ident, "Domain name is empty")
    if len(name) > 253:
        raise _rejected(ident, "Domain name is longer than 253 bytes")
    base = name[2:] if name.startswith("*.") else name
    labels = base.split(".")
    if "*" in base:
        raise _rejected(ident, "Wildcard domain name must start with the wildcard label \"*.\"")
    if len(labels) < 2:
        raise _rejected(ident, "Domain name needs at least one dot")
    for label in labels:
        if not label:
            raise _rejected(ident, "Domain name has an empty label")
        if not _LABEL.match(label):
            raise _rejected(ident, "Domain name contains an invalid character")
    try:
        ipaddress.ip_address(base)
    except ValueError:
        pass
    else:
        raise _rejected(ident, "The ACME server can not issue a certificate for an IP address "
                               "in a dns identifier")
    return ident


def _challenge_types(ident: Identifier) -> tuple[str, ...]:
    # Boulder policy/pa.go ChallengeTypesFor: wildcards get dns-01 only; IP identifiers get
    # http-01 and tls-alpn-01 (RFC 8738 7); names get all three.
    if ident.is_wildcard:
        return (DNS_01,)
    if ident.type == "ip":
        return (HTTP_01, TLS_ALPN_01)
    return (HTTP_01, DNS_01, TLS_ALPN_01)


def _parse_time(payload: dict[str, Any], key: str) -> _dt.datetime | None:
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise problems.malformed(f"{key} must be an RFC 3339 timestamp")
    try:
        parsed = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise problems.malformed(f"{key} is not an RFC 3339 timestamp: {go_quote(value)}") from None
    if parsed.tzinfo is None:
        raise problems.malformed(f"{key} must carry a time zone")
    return parsed.astimezone(_dt.timezone.utc)


def new_order(fe: Frontend, call: Call) -> Reply:
    """POST newOrder: an order for the identifiers, with an authorization for each (7.4)."""
    assert call.jws is not None
    payload = call.jws.json()
    raw = payload.get("identifiers")
    if not isinstance(raw, list) or not raw:
        raise problems.malformed("NewOrder request did not specify any identifiers")
    if len(raw) > MAX_IDENTIFIERS:
        raise problems.rejected_identifier(
            f"Order cannot contain more than {MAX_IDENTIFIERS} identifiers"
        )
    identifiers = list(dict.fromkeys(check_identifier(i) for i in raw))
    not_before = _parse_time(payload, "notBefore")
    not_after = _parse_time(payload, "notAfter")
    if (not_before or not_after) and fe.settings.flavor == "boulder":
        raise problems.malformed("NotBefore and NotAfter are not supported")
    if not_before and not_after and not_after <= not_before:
        raise problems.malformed("notAfter must be after notBefore")
    profile = payload.get("profile") or None
    if profile is not None:
        if not isinstance(profile, str):
            raise problems.malformed("profile must be a string")
        raise problems.problem("invalidProfile", f"profile {go_quote(profile)} is not "
                                                 "recognized", 400)
    now = fe.clock.now()
    account = call.account
    with fe.store.lock:
        if fe.settings.order_reuse:
            existing = fe.store.reusable_order(account.id, identifiers, profile, now)
            if existing is not None:
                return _order_reply(fe, existing, 201)
        authz_ids: list[str] = []
        created: list[Authorization] = []
        for ident in identifiers:
            reused = fe.store.reusable_authz(account.id, ident, now) if (
                fe.settings.authz_reuse
            ) else None
            if reused is not None:
                authz_ids.append(reused.id)
                continue
            token = secrets.token_urlsafe(32)
            authz = Authorization(
                id=fe.store.new_id(),
                account_id=account.id,
                identifier=Identifier(ident.type, ident.base),
                wildcard=ident.is_wildcard,
                expires=now + fe.settings.pending_authz_lifetime,
                # Boulder: every challenge of an authorization shares one token.
                challenges=[fe.store.new_challenge(t, token) for t in _challenge_types(ident)],
            )
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
        )
        fe.store.add_order(order, created)
    return _order_reply(fe, order, 201)


def _own_order(fe: Frontend, call: Call) -> Order:
    order = fe.store.orders.get(call.args["order_id"])
    if order is None or order.account_id != call.account.id:
        raise problems.not_found("No order for ID " + call.args["order_id"])
    return order


def _order_reply(fe: Frontend, order: Order, status: int = 200, poll: bool = True) -> Reply:
    for authz_id in order.authorization_ids:
        fe.va.settle(authz_id, poll=poll)
    with fe.store.lock:
        state = fe.store.status_of(order, fe.clock.now())
        if state == "processing" and order.processing_reads_left > 0:
            order.processing_reads_left -= 1
        body = wire.order(order, state, fe.urls)
    reply = Reply(status, body, {"Location": fe.urls.order(order.id)})
    if state == "processing":
        reply.headers["Retry-After"] = str(fe.settings.finalize_retry_after)
    return reply


def order(fe: Frontend, call: Call) -> Reply:
    """POST-as-GET of an order (7.1.3); its status derived at this read."""
    return _order_reply(fe, _own_order(fe, call))


def finalize(fe: Frontend, call: Call) -> Reply:
    """POST to finalize: check the CSR, issue (7.4). Answers ``processing`` with Retry-After
    (Boulder's async finalization); the next read shows ``valid``."""
    order = _own_order(fe, call)
    assert call.jws is not None
    for authz_id in order.authorization_ids:
        fe.va.settle(authz_id, poll=False)
    now = fe.clock.now()
    state = fe.store.status_of(order, now)
    if state != "ready":
        raise problems.order_not_ready(
            f"Order's status ({go_quote(state)}) is not acceptable for finalization"
        )
    payload = call.jws.json()
    csr_b64 = payload.get("csr")
    if not isinstance(csr_b64, str):
        raise problems.malformed("Error parsing certificate request: no csr in the request")
    der = b64decode(csr_b64, "csr")
    account_spki = (
        load_public_jwk(call.account.jwk)
        .key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    try:
        csr = fe.ca.check_csr(der, order.identifiers, account_spki)
    except problems.AcmeProblem as prob:
        if prob.type == "malformed":
            raise
        raise prob.prefixed("Error finalizing order :: ") from None
    with fe.store.lock:
        # A concurrent finalize may have won (Boulder: orderNotReady "processing").
        state = fe.store.status_of(order, now)
        if state != "ready":
            raise problems.order_not_ready(
                f"Order's status ({go_quote(state)}) is not acceptable for finalization"
            )
        order.finalize_started = now
    issued = fe.ca.issue(
        csr,
        order.identifiers,
        now,
        validity=fe.settings.certificate_validity,
        not_before=order.not_before,
        not_after=order.not_after,
    )
    cert = Certificate(
        id=fe.store.new_id(),
        serial=issued.serial,
        order_id=order.id,
        account_id=order.account_id,
        pem=issued.pem,
        chain_pem=issued.chain_pem,
        not_before=issued.not_before,
        not_after=issued.not_after,
    )
    with fe.store.lock:
        if fe.settings.async_finalize:
            # The finalize answer itself is one read that shows processing.
            order.processing_reads_left = 1 + fe.settings.finalize_processing_polls
        fe.store.add_certificate(cert)
    return _order_reply(fe, order, 200, poll=False)


def certificate(fe: Frontend, call: Call) -> Reply:
    """POST-as-GET of a certificate chain: ``application/pem-certificate-chain`` (7.4.2)."""
    cert = fe.store.certificates.get(call.args["cert_id"])
    if cert is None or cert.account_id != call.account.id:
        raise problems.not_found("Certificate not found")
    return Reply(200, cert.fullchain_pem, content_type="application/pem-certificate-chain")
