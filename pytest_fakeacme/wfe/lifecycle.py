"""After issuance: revocation (RFC 8555 7.6), renewal information (RFC 9773) and ``replaces``,
and account key rollover (RFC 8555 7.3.5)."""

from __future__ import annotations

import json
from typing import Any

import josepy
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .. import problems, renewal, wire
from .._gofmt import go_quote
from ..jws import b64decode, check_alg_matches_key, load_public_jwk, thumbprint
from ..model import Certificate
from .common import Call, Frontend, Reply, cert_by_ari_id

#: RFC 5280 reasons Let's Encrypt accepts from subscribers (unspecified, keyCompromise,
#: affiliationChanged, superseded, cessationOfOperation); others are badRevocationReason.
ALLOWED_REASONS = frozenset({0, 1, 3, 4, 5})


def _spki(public: Any) -> bytes:
    return bytes(public.public_bytes(serialization.Encoding.DER,
                                     serialization.PublicFormat.SubjectPublicKeyInfo))


def revoke_cert(fe: Frontend, call: Call) -> Reply:
    """POST revokeCert, signed by the issuing account, an account holding valid
    authorizations for every name, or the certificate's own key (``jwk``)."""
    assert call.jws is not None
    payload = call.jws.json()
    encoded = payload.get("certificate")
    if not isinstance(encoded, str):
        raise problems.malformed("Unable to revoke :: no certificate in the request")
    try:
        der = b64decode(encoded, "certificate")
    except problems.AcmeProblem as prob:
        raise prob.prefixed("Unable to revoke :: ") from None
    try:
        leaf = x509.load_der_x509_certificate(der)
    except ValueError:
        raise problems.malformed("Unable to revoke :: the certificate does not parse") from None
    reason = payload.get("reason", 0)
    if not isinstance(reason, int) or isinstance(reason, bool):
        raise problems.malformed("Unable to revoke :: reason must be an integer")
    with fe.store.lock:
        cert_id = fe.store.certificates_by_serial.get(leaf.serial_number)
        cert = fe.store.certificates.get(cert_id) if cert_id else None
    if cert is None or x509.load_pem_x509_certificate(cert.pem.encode()).public_bytes(
        serialization.Encoding.DER
    ) != der:
        raise problems.not_found("Unable to revoke :: certificate not found")
    if reason not in ALLOWED_REASONS:
        raise problems.problem("badRevocationReason",
                               f"Unable to revoke :: disallowed revocation reason: {reason}", 400)
    account = call.jws.account
    if account is None:
        # RFC 8555 7.6: signed by the certificate's key, named in the jwk header.
        if _spki(load_public_jwk(call.jws.jwk).key) != _spki(leaf.public_key()):
            raise problems.unauthorized(
                "Unable to revoke :: JWK embedded in revocation request must be the same "
                "public key as the cert to be revoked"
            )
    elif cert.account_id != account.id and not _holds_authorizations(fe, account.id, cert):
        raise problems.unauthorized(
            "Unable to revoke :: The key ID specified in the revocation request does not hold "
            "valid authorizations for all names in the certificate."
        )
    with fe.store.lock:
        if cert.revoked_reason is not None:
            raise problems.problem(
                "alreadyRevoked",
                f"Unable to revoke :: no certificate with serial {go_quote(f'{cert.serial:036x}')}"
                " and status other than revoked",
                400,
            )
        cert.revoked_reason = reason
        cert.revoked_at = fe.clock.now()
    return Reply(200, b"", content_type="text/plain")


def _holds_authorizations(fe: Frontend, account_id: str, cert: Certificate) -> bool:
    now = fe.clock.now()
    order = fe.store.orders.get(cert.order_id)
    if order is None:
        return False
    return all(
        fe.store.reusable_authz(account_id, ident, now) is not None
        for ident in order.identifiers
    )


def renewal_info(fe: Frontend, call: Call) -> Reply:
    """GET renewalInfo/<certID> (RFC 9773 4.2): the suggested window, with Retry-After."""
    cert = cert_by_ari_id(fe, call.args["cert_id"])
    verbatim = fe.ari.verbatim(cert)
    if verbatim is not None:
        # Pebble's /set-renewal-info/ override: served as it was given.
        return Reply(200, verbatim, {"Retry-After": str(renewal.RETRY_AFTER)},
                     content_type="application/json; charset=utf-8")
    window = fe.ari.window(cert, fe.clock.now())
    body: dict[str, Any] = {"suggestedWindow": window.to_json()}
    if cert.revoked_reason is not None or window.end <= fe.clock.now():
        body["explanationURL"] = renewal.EXPLANATION_URL
    return Reply(200, body, {"Retry-After": str(renewal.RETRY_AFTER)})


def key_change(fe: Frontend, call: Call) -> Reply:
    """POST keyChange (RFC 8555 7.3.5): the inner JWS, signed by the new key, names the
    account and its old key; the account's key becomes the new one."""
    assert call.jws is not None
    account = call.account
    outer = call.jws.json()
    try:
        protected = json.loads(b64decode(outer.get("protected"), "inner protected header"))
        inner_payload = json.loads(b64decode(outer.get("payload"), "inner payload"))
    except (ValueError, RecursionError):
        raise problems.malformed("Unable to validate JWS :: inner JWS is not JSON") from None
    signature = b64decode(outer.get("signature"), "inner signature")
    if not isinstance(protected, dict) or not isinstance(inner_payload, dict):
        raise problems.malformed("Unable to validate JWS :: inner JWS must be a JSON object")
    if "jwk" not in protected or "kid" in protected:
        raise problems.malformed(
            "Unable to validate JWS :: inner JWS must have a jwk header and no kid"
        )
    if "nonce" in protected:
        raise problems.malformed("Unable to validate JWS :: inner JWS must not have a nonce")
    if protected.get("url") != call.url:
        raise problems.malformed(
            "Unable to validate JWS :: inner JWS url must be the keyChange URL"
        )
    alg = protected.get("alg")
    if alg not in problems.SUPPORTED_ALGORITHMS:
        raise problems.bad_signature_algorithm(str(alg)).prefixed("Unable to validate JWS :: ")
    new_key = load_public_jwk(protected["jwk"])
    check_alg_matches_key(alg, new_key)
    signing_input = f"{outer['protected']}.{outer['payload']}".encode("ascii")
    if not josepy.JWASignature.from_json(alg).verify(new_key.key, signing_input, signature):
        raise problems.malformed("Unable to validate JWS :: inner JWS signature is invalid")
    if inner_payload.get("account") != fe.urls.account(account.id):
        raise problems.malformed(
            "Unable to validate JWS :: inner JWS account does not match the outer kid"
        )
    old = inner_payload.get("oldKey")
    if not isinstance(old, dict) or thumbprint(load_public_jwk(old)) != account.thumbprint:
        raise problems.unauthorized(
            "Unable to validate JWS :: inner JWS oldKey is not the account's current key"
        )
    new_thumbprint = thumbprint(new_key)
    with fe.store.lock:
        holder = fe.store.account_by_thumbprint(new_thumbprint)
        if holder is not None:
            reply_problem = problems.conflict(
                "Unable to validate JWS :: New key is already in use for a different account"
            ).with_headers(Location=fe.urls.account(holder.id))
            raise reply_problem
        fe.store.change_key(account, dict(new_key.public_key().to_partial_json()),
                            new_thumbprint)
    return Reply(200, wire.account(account, fe.urls), {"Location": fe.urls.account(account.id)})
