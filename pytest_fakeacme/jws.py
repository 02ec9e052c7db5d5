"""Request authentication: RFC 8555 section 6.2 - 6.5 on top of josepy's JWA and JWK.

:class:`JWSVerifier` turns the body of an ACME POST into a :class:`VerifiedRequest` or raises
the precise problem a client must see. The checks run in Boulder's order (``wfe2/verify.go``
``parseJWS``, ``lookupJWK`` / ``extractJWK``, ``validJWSForKey``, ``validSelfAuthenticatedPOST``):

1. the envelope: JSON, no unprotected ``header``, no ``signatures``, every member decodable
   (anything go-jose cannot parse is ``Parse error reading JWS``), then the algorithm
   (``badSignatureAlgorithm``) and a non-empty signature;
2. the key reference: ``kid`` or ``jwk`` as the endpoint requires; a ``kid`` names an existing,
   valid account;
3. the algorithm against the key, the signature, the nonce (``badNonce``), the ``url``, and a
   payload that is empty or JSON;
4. for newAccount only, the key policy (``badPublicKey``), last, as Boulder does.

So a request that is wrong in several ways fails the way Let's Encrypt would fail it. Like the
WFE (``web.ProblemDetailsForError(err, "Unable to validate JWS")``), every detail carries the
``Unable to validate JWS :: `` context, except badNonce, whose detail Boulder always replaces by
``JWS has an invalid anti-replay nonce``.

The signature is checked over the exact base64url strings received (RFC 7515 5.2), never over
a re-encoding, so a client that encodes unusually but correctly still verifies.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, NoReturn, cast
from urllib.parse import urlsplit

import josepy
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from . import problems, wire
from ._gofmt import go_quote
from .model import Account
from .nonces import NoncePool
from .problems import AcmeProblem

KeyMode = Literal["jwk", "kid", "either"]

#: The context Boulder's WFE puts before every JWS validation error.
JWS_CONTEXT = "Unable to validate JWS :: "
#: What Boulder answers for anything go-jose cannot parse.
PARSE_ERROR = "Parse error reading JWS"
#: Boulder's wording for a key type it cannot sign with (``sigAlgorithmForKey``).
UNSUPPORTED_KEY_TYPE = (
    "JWK contains unsupported key type (expected RSA, or ECDSA P-256, P-384, or P-521)"
)

#: RFC 7518 3.4: each ECDSA algorithm is bound to one curve.
_EC_CURVES = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}
_ALG_FOR_CURVE = {curve: alg for alg, curve in _EC_CURVES.items()}
#: Boulder's GoodKey policy for account keys (``goodkey.goodRSABitLen``).
_RSA_SIZES = (2048, 3072, 4096)
#: JWK members that only a private (or symmetric) key carries.
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")


def _malformed(detail: str) -> AcmeProblem:
    return problems.malformed(JWS_CONTEXT + detail)


def _parse_error() -> NoReturn:
    raise _malformed(PARSE_ERROR)


def go_algorithms() -> str:
    """The supported algorithms as Go prints a slice with ``%s``: ``[RS256 ES256 ...]``."""
    return "[" + " ".join(problems.SUPPORTED_ALGORITHMS) + "]"


def unsupported_algorithm(alg: str) -> AcmeProblem:
    """400 badSignatureAlgorithm for an algorithm the fake does not verify, with Boulder's
    detail and the ``algorithms`` member (RFC 8555 6.2)."""
    return problems.bad_signature_algorithm(
        alg,
        JWS_CONTEXT + f"JWS signature header contains unsupported algorithm {go_quote(alg)}, "
        f"expected one of {go_algorithms()}",
    )


#: RFC 4648 5's alphabet (RFC 7515 2: base64url without padding).
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


def b64decode(value: Any, what: str) -> bytes:
    """base64url (RFC 7515 2), read as go-jose reads it: trailing ``=`` padding tolerated,
    anything outside the alphabet refused with a malformed problem naming ``what``."""
    if not isinstance(value, str):
        raise problems.malformed(f"JWS {what} is not a string")
    value = value.rstrip("=")
    if len(value) % 4 == 1 or _BASE64URL.fullmatch(value) is None:
        raise problems.malformed(f"JWS {what} is not valid base64url")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):  # pragma: no cover - the alphabet was checked
        raise problems.malformed(f"JWS {what} is not valid base64url") from None


def _b64_member(envelope: dict[str, Any], member: str) -> bytes:
    """A base64url member of the envelope, or Boulder's parse error."""
    try:
        return b64decode(envelope[member], member)
    except AcmeProblem:
        _parse_error()


def thumbprint(jwk: josepy.JWK) -> str:
    """The RFC 7638 SHA-256 thumbprint of a key, base64url (what key authorizations use)."""
    return base64.urlsafe_b64encode(jwk.thumbprint()).rstrip(b"=").decode("ascii")


def _no_constants(name: str) -> Any:
    raise ValueError(f"invalid JSON constant {name}")


#: One decoder for every request: ``json.loads`` with any option builds a new decoder (and
#: its scanner) on each call.
_DECODER = json.JSONDecoder(parse_constant=_no_constants)


def _loads(data: bytes) -> Any:
    """JSON as Go's ``encoding/json`` reads it: UTF-8 (invalid bytes replaced), no NaN."""
    text = data.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        # What json.loads refuses too: a byte order mark is not JSON.
        raise ValueError("Unexpected UTF-8 BOM")
    return _DECODER.decode(text)


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
        """The payload as a JSON object (``null`` reads as ``{}``, as in Go), or a malformed
        problem."""
        try:
            value = _loads(self.payload)
        except (ValueError, RecursionError):
            raise problems.malformed("Request payload did not parse as JSON") from None
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise problems.malformed("Request payload must be a JSON object")
        return value


class JWSVerifier:
    """Verifies flattened JWS requests against the known accounts and nonces."""

    def __init__(
        self,
        nonces: NoncePool,
        account_by_url: Callable[[str, str], Account | None],
    ) -> None:
        self._nonces = nonces
        self._account_by_url = account_by_url

    def parse(self, body: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
        """Parse the envelope (RFC 8555 6.2: flattened JSON serialization only) and its
        protected header; returns ``(envelope, protected)``. Checks what Boulder's
        ``parseJWS`` checks, in its order, with its details."""
        try:
            envelope = _loads(body)
        except (ValueError, RecursionError):
            _parse_error()
        if not isinstance(envelope, dict):
            _parse_error()
        header = envelope.get("header")
        if header is not None:
            if not isinstance(header, dict) or not all(
                isinstance(v, str) for v in header.values()
            ):
                _parse_error()
            # RFC 8555 6.2: the JWS Unprotected Header MUST NOT be used.
            raise _malformed(
                'JWS "header" field not allowed. All headers must be in "protected" field'
            )
        signatures = envelope.get("signatures")
        if signatures is not None:
            if not isinstance(signatures, list):
                _parse_error()
            if signatures:
                raise _malformed(
                    'JWS "signatures" field not allowed. Only the "signature" field should '
                    "contain a signature"
                )
        # RFC 7515 7.2.1: members that are not understood are ignored, not refused.
        for member in ("protected", "payload", "signature"):
            if member not in envelope:
                _parse_error()
        raw = _b64_member(envelope, "protected")
        try:
            protected = _loads(raw)
        except (ValueError, RecursionError):
            _parse_error()
        if not isinstance(protected, dict):
            _parse_error()
        # go-jose's header types; JSON null reads as absent.
        for name in ("alg", "kid", "nonce"):
            if protected.get(name) is not None and not isinstance(protected[name], str):
                _parse_error()
        if protected.get("jwk") is not None and not isinstance(protected["jwk"], dict):
            _parse_error()
        return envelope, protected

    def verify(self, body: bytes, url: str, mode: KeyMode) -> VerifiedRequest:
        """Authenticate ``body`` as a POST to ``url``.

        ``mode`` says which key reference the endpoint takes (RFC 8555 6.2): ``"jwk"`` for
        newAccount (whose key must also meet the key policy), ``"kid"`` for everything an
        account does, ``"either"`` for revokeCert.
        """
        envelope, protected = self.parse(body)
        payload = _b64_member(envelope, "payload")
        signature = _b64_member(envelope, "signature")
        embedded: _KnownKey | None = None
        unusable_key: AcmeProblem | None = None
        has_jwk = protected.get("jwk") is not None
        if has_jwk:
            try:
                embedded = _known_key(protected["jwk"])
            except AcmeProblem as prob:
                if prob.type != "badPublicKey":
                    raise
                unusable_key = prob  # go-jose reads it; checkAlgorithm refuses it, later

        alg_name = protected.get("alg") or ""
        if alg_name not in problems.SUPPORTED_ALGORITHMS:
            raise unsupported_algorithm(alg_name)
        if not signature:
            raise _malformed("POST JWS not signed")

        # Boulder checkJWSAuthType / enforceJWSAuthType: an empty kid counts as none.
        has_kid = bool(protected.get("kid"))
        if has_kid and has_jwk:
            raise _malformed("jwk and kid header fields are mutually exclusive")
        if mode == "kid" and not has_kid:
            raise _malformed("No Key ID in JWS header")
        if mode == "jwk" and not has_jwk:
            raise _malformed("No embedded JWK in JWS header")
        if not (has_kid or has_jwk):
            raise problems.malformed("Unable to revoke :: Malformed JWS, no KeyID or embedded JWK")

        account: Account | None = None
        if has_kid:
            account = self._lookup_account(protected["kid"], url)
            known = _known_key(account.jwk)
        else:
            if unusable_key is not None:
                raise unusable_key
            assert embedded is not None
            known = embedded
        key = known.key
        check_alg_matches_key(alg_name, key, protected.get("jwk") if has_jwk else None,
                              expected=known.alg)

        if "crit" in protected:
            # go-jose refuses to verify a JWS with critical extensions it does not know.
            raise _malformed("JWS verification error")
        alg = josepy.JWASignature.from_json(alg_name)
        signing_input = (envelope["protected"] + "." + envelope["payload"]).encode("ascii")
        try:
            good = alg.verify(key=key.key, msg=signing_input, sig=signature)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            good = False
        if not good:
            raise _malformed("JWS verification error")

        nonce = protected.get("nonce") or ""
        if not nonce or not self._nonces.redeem(nonce):
            # Boulder replaces every badNonce detail by this one sentence.
            raise problems.bad_nonce()

        header_url = protected.get("url")
        if not isinstance(header_url, str) or not header_url:
            raise _malformed("JWS header parameter 'url' required")
        if header_url != url:
            raise _malformed(
                f"JWS header parameter 'url' incorrect. Expected {go_quote(url)} "
                f"got {go_quote(header_url)}"
            )

        if payload:
            try:
                value = _loads(payload)
            except (ValueError, RecursionError):
                value = []
            # Go unmarshals into struct{}: an object or null, nothing else.
            if value is not None and not isinstance(value, dict):
                raise _malformed("Request payload did not parse as JSON")

        if mode == "jwk":
            # validSelfAuthenticatedPOST applies the key policy after everything else.
            check_key_policy(key)

        return VerifiedRequest(
            protected=protected,
            payload=payload,
            account=account,
            jwk=dict(known.public_json),
            thumbprint=known.thumbprint,
        )

    def _lookup_account(self, kid: str, url: str) -> Account:
        """Boulder ``lookupJWK``: the account a ``kid`` names, which must exist and be valid."""
        # Boulder builds the account URL prefix from the request (web.RelativeEndpoint), so a
        # kid is looked up under the host the request was sent to.
        account = self._account_by_url(kid, url)
        if account is None:
            parts = urlsplit(url)
            prefix = wire.Urls(f"{parts.scheme}://{parts.netloc}").account("")
            if not kid.startswith(prefix):
                raise _malformed(
                    f"KeyID header contained an invalid account URL: {go_quote(kid)}"
                )
            raise problems.account_does_not_exist(
                JWS_CONTEXT + f"Account {go_quote(kid)} not found"
            )
        if account.status != "valid":
            raise problems.unauthorized(
                JWS_CONTEXT + f"Account is not valid, has status {go_quote(account.status)}"
            )
        return account


def _unwrap(key: josepy.JWK) -> object:
    # josepy wraps cryptography keys in ComparableKey; the key type lives underneath.
    return getattr(key.key, "_wrapped", key.key)


class _KnownKey(NamedTuple):
    key: josepy.JWK
    thumbprint: str
    public_json: dict[str, Any]
    #: The one algorithm Boulder accepts for the key; None if it accepts none (the check then
    #: raises its badPublicKey at its turn).
    alg: str | None


def _known(key: josepy.JWK) -> _KnownKey:
    try:
        alg: str | None = algorithm_for_key(key)
    except AcmeProblem:
        alg = None
    return _KnownKey(key, thumbprint(key), dict(key.public_key().to_partial_json()), alg)


def _known_key(jwk_json: Any) -> _KnownKey:
    """``parse_jwk``, the key's thumbprint and its public JWK, remembered per distinct JWK.

    Every request an account signs names the same key; parsing it with josepy and hashing its
    thumbprint cost about a sixth of a request's server time (benchmarks/README.md). Only
    keys that parse are remembered; a JWK that is not a flat object of hashable members is
    parsed every time (and refused by ``parse_jwk``)."""
    if isinstance(jwk_json, dict):
        try:
            return _parsed_key(tuple(sorted(jwk_json.items())))
        except TypeError:  # unhashable members (lists, objects): not a key go-jose reads
            pass
    return _known(parse_jwk(jwk_json))


def known_key(jwk_json: dict[str, Any]) -> josepy.JWK:
    """The josepy key of a JWK already accepted (an account's), parsed once per key."""
    return _known_key(jwk_json)[0]


@functools.lru_cache(maxsize=1024)
def _parsed_key(items: tuple[tuple[str, Any], ...]) -> _KnownKey:
    return _known(parse_jwk(dict(items)))


def parse_jwk(jwk_json: Any) -> josepy.JWK:
    """A public josepy key from a JWK JSON object, as go-jose reads an embedded ``jwk``.

    What go-jose cannot read (an unknown ``kty``, a symmetric or private key, a point off its
    curve) is Boulder's ``Parse error reading JWS``; an Ed25519 (``OKP``) key, which go-jose
    reads but Boulder cannot use, is ``badPublicKey``.
    """
    if not isinstance(jwk_json, dict):
        _parse_error()
    kty = jwk_json.get("kty")
    if kty == "OKP" and isinstance(jwk_json.get("x"), str):
        raise problems.bad_public_key(JWS_CONTEXT + UNSUPPORTED_KEY_TYPE)
    if kty not in ("RSA", "EC") or any(m in jwk_json for m in _PRIVATE_MEMBERS):
        _parse_error()
    try:
        key = cast(josepy.JWK, josepy.JWK.from_json(jwk_json))
    except (josepy.DeserializationError, ValueError, TypeError, KeyError, AttributeError,
            UnsupportedAlgorithm):
        # AttributeError: josepy's decoders assume string members (a number for "x" breaks).
        _parse_error()
    if not isinstance(_unwrap(key), (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):
        _parse_error()  # pragma: no cover - guarded by the private-member check above
    return key


def check_key_policy(key: josepy.JWK) -> None:
    """Boulder's GoodKey policy for account keys: RSA 2048, 3072 or 4096 bits; ECDSA P-256,
    P-384 or P-521. Anything else is ``badPublicKey``."""
    public = _unwrap(key)
    reason: str | None = None
    if isinstance(public, rsa.RSAPublicKey):
        if public.key_size not in _RSA_SIZES:
            reason = f"key size not supported: {public.key_size}"
    elif isinstance(public, ec.EllipticCurvePublicKey):
        if public.curve.name not in _ALG_FOR_CURVE:
            reason = f"ECDSA curve {public.curve.name} not allowed"
    else:  # pragma: no cover - parse_jwk only builds RSA and EC keys
        reason = "unsupported key type"
    if reason is not None:
        raise problems.bad_public_key(JWS_CONTEXT + "invalid request signing key: " + reason)


def load_public_jwk(jwk_json: dict[str, Any]) -> josepy.JWK:
    """A josepy key from a JWK JSON object that also meets the account key policy."""
    key = parse_jwk(jwk_json)
    check_key_policy(key)
    return key


def algorithm_for_key(key: josepy.JWK) -> str:
    """The one JWS algorithm Boulder accepts for a key (``sigAlgorithmForKey``)."""
    public = _unwrap(key)
    if isinstance(public, rsa.RSAPublicKey):
        return "RS256"
    if isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name in _ALG_FOR_CURVE:
        return _ALG_FOR_CURVE[public.curve.name]
    raise problems.bad_public_key(JWS_CONTEXT + UNSUPPORTED_KEY_TYPE)


def check_alg_matches_key(
    alg: str, key: josepy.JWK, jwk_json: dict[str, Any] | None = None,
    expected: str | None = None,
) -> None:
    """Boulder ``checkAlgorithm``: RS256 needs an RSA key, ESnnn the matching curve, and a
    JWK's own ``alg`` member, when present, must agree. ``expected``: the key's algorithm when
    the caller already knows it."""
    if expected is None:
        expected = algorithm_for_key(key)
    if alg != expected:
        raise _malformed(
            f"JWS signature header algorithm {go_quote(alg)} does not match expected "
            f"algorithm {go_quote(expected)} for JWK"
        )
    key_alg = (jwk_json or {}).get("alg")
    if key_alg not in (None, "") and key_alg != expected:
        raise _malformed(
            f"JWK key header algorithm {go_quote(str(key_alg))} does not match expected "
            f"algorithm {go_quote(expected)} for JWK"
        )
