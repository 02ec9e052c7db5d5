"""Request authentication: RFC 8555 section 6.2 - 6.5 on top of josepy's JWA and JWK.

:class:`JWSVerifier` turns the body of an ACME POST into a :class:`VerifiedRequest` or raises
the precise problem a client must see. The checks run in Boulder's order (``wfe2/verify.go``):
structure, algorithm, key (``jwk`` or ``kid``), signature, nonce, ``url``; so a request that is
wrong in several ways fails the way Let's Encrypt would fail it.

The signature is checked over the exact base64url strings received (RFC 7515 5.2), never over
a re-encoding, so a client that encodes unusually but correctly still verifies.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, cast

import josepy
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from . import problems
from ._gofmt import go_quote
from .model import Account
from .nonces import NoncePool

KeyMode = Literal["jwk", "kid", "either"]

#: RFC 7518 3.4: each ECDSA algorithm is bound to one curve.
_EC_CURVES = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}


def b64decode(value: Any, what: str) -> bytes:
    """Strict base64url without padding (RFC 7515 2), or a malformed problem naming ``what``."""
    if not isinstance(value, str):
        raise problems.malformed(f"JWS {what} is not a string")
    if "=" in value or any(c in value for c in "+/ \t\r\n"):
        raise problems.malformed(f"JWS {what} is not base64url without padding")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise problems.malformed(f"JWS {what} is not valid base64url") from None


def thumbprint(jwk: josepy.JWK) -> str:
    """The RFC 7638 SHA-256 thumbprint of a key, base64url (what key authorizations use)."""
    return base64.urlsafe_b64encode(jwk.thumbprint()).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class VerifiedRequest:
    """A POST whose JWS verified: who sent it and what it says."""

    protected: dict[str, Any]
    payload: bytes
    account: Account | None
    #: The public key that signed the request, as a JWK JSON object.
    jwk: dict[str, Any]
    thumbprint: str

    @property
    def post_as_get(self) -> bool:
        """An empty payload: RFC 8555 6.3's POST-as-GET."""
        return self.payload == b""

    def json(self) -> dict[str, Any]:
        """The payload as a JSON object, or a malformed problem."""
        try:
            value = json.loads(self.payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise problems.malformed("Request payload did not parse as JSON") from None
        if not isinstance(value, dict):
            raise problems.malformed("Request payload must be a JSON object")
        return value


class JWSVerifier:
    """Verifies flattened JWS requests against the known accounts and nonces."""

    def __init__(
        self,
        nonces: NoncePool,
        account_by_url: Callable[[str], Account | None],
    ) -> None:
        self._nonces = nonces
        self._account_by_url = account_by_url

    def parse(self, body: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
        """Parse the envelope (RFC 8555 6.2: flattened JSON serialization only) and its
        protected header; returns ``(envelope, protected)``."""
        try:
            envelope = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise problems.malformed("Parse error reading JWS") from None
        if not isinstance(envelope, dict):
            raise problems.malformed("Parse error reading JWS")
        if "signatures" in envelope:
            raise problems.malformed(
                "JWS uses the general JSON serialization; ACME requires the flattened one"
            )
        for member in ("protected", "payload", "signature"):
            if member not in envelope:
                raise problems.malformed(f"JWS is missing the {member!r} member")
        if "header" in envelope:
            # RFC 8555 6.2: the JWS Unprotected Header MUST NOT be used.
            raise problems.malformed("JWS \"header\" field not allowed. All headers must be in "
                                     "\"protected\" field")
        extra = set(envelope) - {"protected", "payload", "signature"}
        if extra:
            raise problems.malformed(f"JWS has unexpected members: {sorted(extra)}")
        raw = b64decode(envelope["protected"], "protected header")
        try:
            protected = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise problems.malformed("JWS protected header is not valid JSON") from None
        if not isinstance(protected, dict):
            raise problems.malformed("JWS protected header is not a JSON object")
        return envelope, protected

    def verify(self, body: bytes, url: str, mode: KeyMode) -> VerifiedRequest:
        """Authenticate ``body`` as a POST to ``url``.

        ``mode`` says which key reference the endpoint takes (RFC 8555 6.2): ``"jwk"`` for
        newAccount, ``"kid"`` for everything an account does, ``"either"`` for revokeCert.
        """
        envelope, protected = self.parse(body)
        payload = b64decode(envelope["payload"], "payload")
        signature = b64decode(envelope["signature"], "signature")

        alg_name = protected.get("alg")
        if not isinstance(alg_name, str):
            raise problems.malformed("JWS header parameter 'alg' required")
        if alg_name not in problems.SUPPORTED_ALGORITHMS:
            raise problems.bad_signature_algorithm(alg_name)
        if "crit" in protected:
            raise problems.malformed("JWS header parameter 'crit' is not supported")

        has_jwk, has_kid = "jwk" in protected, "kid" in protected
        if has_jwk and has_kid:
            raise problems.malformed("jwk and kid header fields are mutually exclusive")
        account: Account | None = None
        if has_kid:
            if mode == "jwk":
                raise problems.malformed("No embedded JWK in JWS header")
            kid = protected["kid"]
            if not isinstance(kid, str):
                raise problems.malformed("JWS header parameter 'kid' is not a string")
            account = self._account_by_url(kid)
            if account is None:
                raise problems.account_does_not_exist(f"Account {go_quote(kid)} not found")
            jwk_json = account.jwk
        elif has_jwk:
            if mode == "kid":
                raise problems.malformed("No Key ID in JWS header")
            jwk_json = protected["jwk"]
            if not isinstance(jwk_json, dict):
                raise problems.malformed("JWS header parameter 'jwk' is not a JSON object")
        else:
            raise problems.malformed("JWS header must contain one of 'jwk' or 'kid'")

        key = load_public_jwk(jwk_json)
        check_alg_matches_key(alg_name, key)

        alg = josepy.JWASignature.from_json(alg_name)
        signing_input = (envelope["protected"] + "." + envelope["payload"]).encode("ascii")
        if not alg.verify(key=key.key, msg=signing_input, sig=signature):
            raise problems.malformed("JWS verification error")

        nonce = protected.get("nonce")
        if not isinstance(nonce, str) or not nonce:
            raise problems.bad_nonce("JWS has no anti-replay nonce")
        if not self._nonces.redeem(nonce):
            raise problems.bad_nonce()

        header_url = protected.get("url")
        if not isinstance(header_url, str):
            raise problems.malformed("JWS header parameter 'url' required")
        if header_url != url:
            raise problems.malformed(
                f"JWS header parameter 'url' incorrect. Expected {go_quote(url)} "
                f"got {go_quote(header_url)}"
            )
        public_json = key.public_key().to_partial_json() if has_jwk else jwk_json
        return VerifiedRequest(
            protected=protected,
            payload=payload,
            account=account,
            jwk=dict(public_json),
            thumbprint=thumbprint(key),
        )


def _unwrap(key: josepy.JWK) -> object:
    # josepy wraps cryptography keys in ComparableKey; the key type lives underneath.
    return getattr(key.key, "_wrapped", key.key)


def load_public_jwk(jwk_json: dict[str, Any]) -> josepy.JWK:
    """A josepy key from a JWK JSON object, refusing private keys, HMAC keys and weak keys."""
    kty = jwk_json.get("kty")
    if kty not in ("RSA", "EC"):
        raise problems.bad_public_key(
            "JWK contains unsupported key type (expected RSA, or ECDSA P-256, P-384, or P-521)"
        )
    if "d" in jwk_json:
        raise problems.bad_public_key("invalid request signing key: JWK contains a private key")
    try:
        key = cast(josepy.JWK, josepy.JWK.from_json(jwk_json))
    except (josepy.DeserializationError, ValueError, TypeError, KeyError) as exc:
        raise problems.malformed(f"JWS header parameter 'jwk' is not a valid key: {exc}") from None
    public = _unwrap(key)
    if isinstance(public, rsa.RSAPublicKey):
        if not 2048 <= public.key_size <= 4096 or public.key_size % 8:
            raise problems.bad_public_key(
                f"invalid request signing key: key size not supported: {public.key_size}"
            )
    elif isinstance(public, ec.EllipticCurvePublicKey):
        if public.curve.name not in _EC_CURVES.values():
            raise problems.bad_public_key(
                "invalid request signing key: ECDSA curve not supported: " + public.curve.name
            )
    else:  # pragma: no cover - josepy only builds RSA and EC keys for these kty values
        raise problems.bad_public_key("invalid request signing key: unsupported key")
    return key


def check_alg_matches_key(alg: str, key: josepy.JWK) -> None:
    """RFC 7518 3.3/3.4: RS256 needs an RSA key; ESnnn the matching curve."""
    public = _unwrap(key)
    if alg == "RS256":
        ok = isinstance(public, rsa.RSAPublicKey)
    else:
        ok = isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name == _EC_CURVES[alg]
    if not ok:
        raise problems.bad_signature_algorithm(
            alg, f"JWS signature header algorithm {go_quote(alg)} does not match the key"
        )
