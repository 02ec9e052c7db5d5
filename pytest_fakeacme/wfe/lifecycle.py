"""After issuance: revocation (RFC 8555 7.6), renewal information (RFC 9773) and account key
rollover (RFC 8555 7.3.5), each with Boulder's checks in Boulder's order and words
(``wfe2/wfe.go`` ``RevokeCertificate``, ``RenewalInfo``, ``KeyRollover``; ``ra/ra.go``)."""

from __future__ import annotations

import json
import random
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from .. import goodkey, problems, renewal, wire
from .._gofmt import go_quote
from ..jws import (
    JWS_CONTEXT,
    REVOKE_CONTEXT,
    check_alg_matches_key,
    known_key,
    parse_jwk,
    parse_jws,
    raw_b64decode,
    thumbprint,
)
from ..model import Certificate
from .common import Call, Frontend, Reply, ari_serial, cert_by_serial, go_serial

#: RFC 5280 reasons Let's Encrypt accepts from subscribers (revocation/reasons.go:67-78):
#: unspecified, keyCompromise, superseded, cessationOfOperation.
ALLOWED_REASONS = frozenset({0, 1, 4, 5})
KEY_COMPROMISE = 1
CESSATION_OF_OPERATION = 5


def _spki(public: Any) -> bytes:
    return bytes(public.public_bytes(serialization.Encoding.DER,
                                     serialization.PublicFormat.SubjectPublicKeyInfo))


def _go_field(payload: dict[str, Any], name: str) -> Any:
    """A member as Go's ``encoding/json`` finds a struct field: the exact key, else one that
    matches without regard to case."""
    if name in payload:
        return payload[name]
    for key, value in payload.items():
        if key.lower() == name.lower():
            return value
    return None


def _revocation_request(call: Call) -> tuple[x509.Certificate, int]:
    """Boulder ``parseRevocation`` (wfe2/wfe.go:971-1023), up to the issuer checks: the
    certificate, parsed, and the reason."""
    assert call.jws is not None
    unparsable = problems.malformed(REVOKE_CONTEXT + "Unable to JSON parse revoke request")
    try:
        payload = json.loads(call.jws.payload) if call.jws.payload else ...
    except (ValueError, RecursionError):
        raise unparsable from None
    if payload is ...:
        raise unparsable  # an empty payload (POST-as-GET) is no JSON to Go
    payload = payload or {}
    encoded, reason = _go_field(payload, "certificate"), _go_field(payload, "reason")
    der = b""
    if encoded is not None:
        # core.JSONBuffer: a string, trailing "=" trimmed, then base64url without padding.
        decoded = raw_b64decode(encoded.rstrip("=")) if isinstance(encoded, str) else None
        if decoded is None:
            raise unparsable
        der = decoded
    if reason is not None and (not isinstance(reason, int) or isinstance(reason, bool)):
        raise unparsable
    try:
        leaf = x509.load_der_x509_certificate(der)
    except ValueError:
        raise problems.malformed(REVOKE_CONTEXT + "Unable to parse certificate DER") from None
    return leaf, reason or 0


def revoke_cert(fe: Frontend, call: Call) -> Reply:
    """POST revokeCert, signed by the issuing account, an account holding valid
    authorizations for every name, or the certificate's own key (``jwk``). Answers 200 with
    no body and no Content-Type (wfe2/wfe.go:1168)."""
    assert call.jws is not None
    leaf, reason = _revocation_request(call)
    found = fe.ca.issuer_problem(leaf)
    if found == "unrecognized":
        raise problems.not_found(REVOKE_CONTEXT + "Certificate from unrecognized issuer")
    if found == "signature":
        raise problems.not_found(REVOKE_CONTEXT + "No such certificate")
    if leaf.not_valid_after_utc < fe.clock.now():
        raise problems.unauthorized(REVOKE_CONTEXT + "Certificate is expired")
    if reason not in ALLOWED_REASONS:
        raise problems.problem("badRevocationReason",
                               f"{REVOKE_CONTEXT}disallowed revocation reason: {reason}", 400)
    cert = cert_by_serial(fe, leaf.serial_number)
    if call.jws.account is None:
        _revoke_by_key(fe, call, leaf, cert)
    else:
        _revoke_by_account(fe, call.jws.account.id, leaf, cert, reason)
    return Reply(200, b"", content_type=None)


def _revoke_by_key(fe: Frontend, call: Call, leaf: x509.Certificate,
                   cert: Certificate | None) -> None:
    """Signed by the certificate's key (RFC 8555 7.6): always keyCompromise, and the key is
    blocked from then on, for accounts and certificates (ra/ra.go:1836-1911)."""
    assert call.jws is not None
    if _spki(parse_jwk(call.jws.jwk).key) != _spki(leaf.public_key()):
        raise problems.unauthorized(
            REVOKE_CONTEXT + "JWK embedded in revocation request must be the same public key "
            "as the cert to be revoked"
        )
    with fe.store.lock:
        fe.store.blocked_keys.add(goodkey.key_digest(leaf.public_key()))
        if cert is None:
            # Boulder's SA finds no row to revoke, which it reports as already revoked; the RA
            # then looks for the status to update (ra/ra.go:1648-1653, sa/saro.go:238-241).
            quoted = go_quote(go_serial(leaf.serial_number))
            raise problems.not_found(
                f"{REVOKE_CONTEXT}unable to confirm that serial {quoted} was ever issued: "
                f"certificate status with serial {quoted} not found"
            )
        if cert.revoked_reason == KEY_COMPROMISE:
            raise problems.problem(
                "alreadyRevoked",
                f"{REVOKE_CONTEXT}unable to re-revoke serial {go_quote(go_serial(cert.serial))} "
                "which is already revoked for keyCompromise",
                400,
            )
        # A certificate revoked for another reason is re-revoked for key compromise; it
        # keeps its first revocation date (ra/ra.go:1644-1691).
        cert.revoked_reason = KEY_COMPROMISE
        cert.revoked_at = cert.revoked_at or fe.clock.now()


def _revoke_by_account(fe: Frontend, account_id: str, leaf: x509.Certificate,
                       cert: Certificate | None, reason: int) -> None:
    """Boulder ``RevokeCertByApplicant`` (ra/ra.go:1693-1786): the subscriber, or an account
    with valid authorizations for every identifier (its reason then becomes
    cessationOfOperation)."""
    serial = go_serial(leaf.serial_number)
    if cert is None:
        raise problems.not_found(f"{REVOKE_CONTEXT}serial {go_quote(serial)} not found")
    if cert.account_id != account_id:
        if not _holds_authorizations(fe, account_id, cert):
            raise problems.unauthorized(
                f"{REVOKE_CONTEXT}requester does not control all identifiers in cert with "
                f"serial {go_quote(serial)}"
            )
        reason = CESSATION_OF_OPERATION
    with fe.store.lock:
        if cert.revoked_reason is not None:
            raise problems.problem(
                "alreadyRevoked",
                f"{REVOKE_CONTEXT}no certificate with serial {serial} and status other than "
                "revoked",
                400,
            )
        cert.revoked_reason = reason
        cert.revoked_at = fe.clock.now()


def _holds_authorizations(fe: Frontend, account_id: str, cert: Certificate) -> bool:
    now = fe.clock.now()
    order = fe.store.orders.get(cert.order_id)
    if order is None:
        return False
    return all(
        fe.store.reusable_authz(account_id, ident, now, any_profile=True) is not None
        for ident in order.identifiers
    )


def renewal_info(fe: Frontend, call: Call) -> Reply:
    """renewalInfo/<certID> (RFC 9773 4.2), by GET or a POST Boulder does not read: the
    suggested window, with Boulder's jittered Retry-After (six hours, give or take 20%)."""
    cert_id = call.args.get("cert_id", "")
    if not cert_id:
        raise problems.not_found("Must specify a request path")
    serial = ari_serial(fe, cert_id, "While parsing ARI CertID an error occurred")
    cert = cert_by_serial(fe, serial)
    if cert is None:
        raise problems.not_found("Requested certificate was not found")
    verbatim = fe.ari.verbatim(cert)
    if verbatim is not None:
        # Pebble's /set-renewal-info/ override: served as it was given.
        return Reply(200, verbatim, {"Retry-After": str(renewal.RETRY_AFTER)},
                     content_type="application/json; charset=utf-8")
    window = fe.ari.window(cert, fe.clock.now())
    body: dict[str, Any] = {"suggestedWindow": window.to_json()}
    explanation = fe.ari.explanation(cert)
    if explanation is not None:
        body["explanationURL"] = explanation
    # Boulder jitterRetryHeader (wfe2/wfe.go:2835-2842).
    jittered = int(renewal.RETRY_AFTER * (1 + 0.2 * (2 * random.random() - 1)))
    return Reply(200, body, {"Retry-After": str(jittered)})


def key_change(fe: Frontend, call: Call) -> Reply:
    """POST keyChange (RFC 8555 7.3.5): the inner JWS, signed by the new key, names the
    account and its old key; the account's key becomes the new one. Boulder's checks
    (``KeyRollover``, ``validKeyRollover``), in its order and words."""
    assert call.jws is not None
    account = call.account
    inner = parse_jws(call.jws.payload)
    protected = inner.protected
    if protected.get("kid") and protected.get("jwk") is not None:
        raise problems.malformed(JWS_CONTEXT + "jwk and kid header fields are mutually exclusive")
    if protected.get("jwk") is None or protected.get("kid"):
        raise problems.malformed(JWS_CONTEXT + "No embedded JWK in JWS header")
    if inner.embedded is None:
        assert inner.unusable_key is not None
        public: Any = None
    else:
        public = getattr(inner.embedded.key.key, "_wrapped", inner.embedded.key.key)
    reason = goodkey.key_problem(
        public if public is not None else _okp_public(protected["jwk"]), fe.store.blocked_keys,
        goodkey.key_digest(public) if public is not None else b"",
    )
    if reason is not None:
        raise problems.bad_public_key(JWS_CONTEXT + "invalid request signing key: " + reason)
    assert inner.embedded is not None
    new_key = inner.embedded.key
    check_alg_matches_key(protected["alg"], new_key, protected["jwk"])
    if not inner.verifies_with(new_key):
        raise problems.malformed(JWS_CONTEXT + "Inner JWS does not verify with embedded JWK")
    inner_url = protected.get("url")
    if not isinstance(inner_url, str) or not inner_url:
        raise problems.malformed(JWS_CONTEXT + "Inner JWS header parameter 'url' required")
    outer_url = call.jws.protected["url"]
    if inner_url != outer_url:
        raise problems.malformed(
            f"{JWS_CONTEXT}Outer JWS 'url' value {go_quote(outer_url)} does not match inner JWS "
            f"'url' value {go_quote(inner_url)}"
        )
    old_key, claimed = _rollover_request(inner.payload)
    if old_key is None or thumbprint(old_key) != account.thumbprint:
        raise problems.malformed(
            JWS_CONTEXT + "Inner JWS does not contain old key field matching current account key"
        )
    kid = call.jws.protected["kid"]
    if claimed != kid:
        raise problems.malformed(
            f"Inner key rollover request specified Account {go_quote(claimed)}, but outer JWS "
            f"has Key ID {go_quote(kid)}"
        )
    new_thumbprint = thumbprint(new_key)
    if new_thumbprint == account.thumbprint:
        raise problems.malformed("New key specified by rollover request is the same as the old key")
    with fe.store.lock:
        holder = fe.store.account_by_thumbprint(new_thumbprint)
        if holder is not None:
            raise problems.conflict("New key is already in use for a different account"
                                    ).with_headers(Location=fe.urls.account(holder.id))
        fe.store.change_key(account, dict(new_key.public_key().to_partial_json()),
                            new_thumbprint)
    # No Location: Boulder's KeyRollover writes the account alone (wfe2/wfe.go:2068-2074).
    return Reply(200, wire.account(account, fe.urls, fe.settings.flavor))


def _okp_public(jwk: dict[str, Any]) -> Any:
    """The Ed25519 key of an OKP JWK, for goodkey's ``unsupported key type`` text."""
    raw = raw_b64decode(jwk.get("x"))
    return ed25519.Ed25519PublicKey.from_public_bytes(raw or b"\x00" * 32)


def _rollover_request(payload: bytes) -> tuple[Any, str]:
    """Boulder's ``rolloverRequest`` (wfe2/verify.go:742-749, 809-813): ``oldKey`` (a JWK) and
    ``account`` (a string), or the parse error."""
    unparsable = problems.malformed(
        JWS_CONTEXT + "Inner JWS payload did not parse as JSON key rollover object"
    )
    try:
        value = json.loads(payload) if payload else ...
    except (ValueError, RecursionError):
        raise unparsable from None
    if value is ... or (value is not None and not isinstance(value, dict)):
        raise unparsable
    value = value or {}
    claimed, old = _go_field(value, "account"), _go_field(value, "oldKey")
    if claimed is not None and not isinstance(claimed, str):
        raise unparsable
    if old is None:
        return None, claimed or ""
    try:
        return known_key(old) if isinstance(old, dict) else parse_jwk(old), claimed or ""
    except problems.AcmeProblem:
        raise unparsable from None
