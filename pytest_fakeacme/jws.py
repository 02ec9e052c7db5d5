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
from collections.abc import Callable, Container
from dataclasses import dataclass, replace
from typing import Any, Literal, NamedTuple, NoReturn, cast
from urllib.parse import urlsplit

import josepy
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from . import goodkey, problems, wire
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


def raw_b64decode(value: Any) -> bytes | None:
    """go-jose's reading of a base64url member (``base64.RawURLEncoding``): no ``=`` padding,
    only the alphabet (Go skips CR and LF); None when it cannot be read."""
    if not isinstance(value, str):
        return None
    value = value.replace("\r", "").replace("\n", "")
    if len(value) % 4 == 1 or _BASE64URL.fullmatch(value) is None:
        return None
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):  # pragma: no cover - the alphabet was checked
        return None


def _b64_member(envelope: dict[str, Any], member: str) -> bytes:
    """A base64url member of the envelope as go-jose reads it (null or absent is empty), or
    Boulder's parse error."""
    value = envelope.get(member)
    if value is None:
        return b""
    decoded = raw_b64decode(value)
    if decoded is None:
        _parse_error()
    return decoded


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


@dataclass(frozen=True)
class ParsedJWS:
    """A JWS as Boulder's ``parseJWS`` leaves it: decoded members, the protected header, the
    embedded key when there is one."""

    envelope: dict[str, Any]
    protected: dict[str, Any]
    payload: bytes
    signature: bytes
    #: The embedded ``jwk``, parsed; None without one.
    embedded: _KnownKey | None
    #: The problem of an embedded key go-jose reads but Boulder cannot sign with (Ed25519),
    #: raised when the key is used (``sigAlgorithmForKey``).
    unusable_key: AcmeProblem | None

    @property
    def signing_input(self) -> bytes:
        """The bytes the signature covers: the members exactly as received (RFC 7515 5.2)."""
        protected = str(self.envelope.get("protected") or "")
        return f"{protected}.{self.envelope['payload']}".encode("ascii")

    def verifies_with(self, key: josepy.JWK) -> bool:
        """Whether the signature verifies with ``key`` (unknown ``crit`` extensions fail, as
        go-jose refuses to verify them)."""
        if "crit" in self.protected:
            return False
        alg = josepy.JWASignature.from_json(self.protected["alg"])
        try:
            return bool(alg.verify(key=key.key, msg=self.signing_input, sig=self.signature))
        except (ValueError, TypeError, UnsupportedAlgorithm):
            return False


def parse_envelope(body: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """Parse the envelope (RFC 8555 6.2: flattened JSON serialization only) and its protected
    header; returns ``(envelope, protected)``. Checks what Boulder's ``parseJWS`` checks before
    go-jose's algorithm check, in its order, with its details."""
    try:
        envelope = _loads(body)
    except (ValueError, RecursionError):
        _parse_error()
    if not isinstance(envelope, dict):
        _parse_error()
    header = envelope.get("header")
    if header is not None:
        if not isinstance(header, dict) or not all(isinstance(v, str) for v in header.values()):
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
    # RFC 7515 7.2.1: members that are not understood are ignored, not refused. go-jose needs a
    # payload; a missing protected header is an empty one (whose algorithm "" fails later), a
    # missing signature an empty one ("POST JWS not signed").
    if envelope.get("payload") is None:
        _parse_error()
    for member in ("protected", "payload", "signature"):
        _b64_member(envelope, member)
    raw = _b64_member(envelope, "protected")
    if not raw:
        return envelope, {}
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


def parse_jws(body: bytes) -> ParsedJWS:
    """Boulder ``parseJWS`` (wfe2/verify.go:339-404): the envelope, the embedded key, the
    algorithm allow-list, a public key, a signature."""
    envelope, protected = parse_envelope(body)
    payload = _b64_member(envelope, "payload")
    signature = _b64_member(envelope, "signature")
    embedded: _KnownKey | None = None
    unusable_key: AcmeProblem | None = None
    has_jwk = protected.get("jwk") is not None
    not_public = has_jwk and _not_public(protected["jwk"])
    if has_jwk and not not_public:
        try:
            embedded = _known_key(protected["jwk"])
        except AcmeProblem as prob:
            if prob.type != "badPublicKey":
                raise
            unusable_key = prob  # go-jose reads it; checkAlgorithm refuses it, later
    alg_name = protected.get("alg") or ""
    if alg_name not in problems.SUPPORTED_ALGORITHMS:
        raise unsupported_algorithm(alg_name)
    if not_public:
        # go-jose reads a private or symmetric key, checks the algorithm, then refuses a key
        # that is not public (jws.go sanitized).
        _parse_error()
    if not signature:
        raise _malformed("POST JWS not signed")
    return ParsedJWS(envelope, protected, payload, signature, embedded, unusable_key)


#: The context Boulder puts on revokeCert's errors once it knows how the request is signed
#: (wfe2/wfe.go:1157-1165).
REVOKE_CONTEXT = "Unable to revoke :: "


class JWSVerifier:
    """Verifies flattened JWS requests against the known accounts and nonces."""

    def __init__(
        self,
        nonces: NoncePool,
        account_by_url: Callable[[str, str], Account | None],
        blocked_keys: Callable[[], Container[bytes]] = frozenset,
    ) -> None:
        self._nonces = nonces
        self._account_by_url = account_by_url
        self._blocked_keys = blocked_keys

    def verify(
        self,
        body: bytes,
        url: str,
        mode: KeyMode,
        found: Callable[[Account], None] | None = None,
    ) -> VerifiedRequest:
        """Authenticate ``body`` as a POST to ``url``.

        ``mode`` says which key reference the endpoint takes (RFC 8555 6.2): ``"jwk"`` for
        newAccount (whose key must also meet the key policy), ``"kid"`` for everything an
        account does, ``"either"`` for revokeCert (whose errors after the key reference carry
        ``Unable to revoke :: ``). ``found`` hears of the ``kid``'s account once it is known to
        be valid, even when a later check refuses the request.
        """
        jws = parse_jws(body)
        protected = jws.protected
        # Boulder checkJWSAuthType / enforceJWSAuthType: an empty kid counts as none.
        has_kid = bool(protected.get("kid"))
        has_jwk = protected.get("jwk") is not None
        if has_kid and has_jwk:
            raise _malformed("jwk and kid header fields are mutually exclusive")
        if mode == "kid" and not has_kid:
            raise _malformed("No Key ID in JWS header")
        if mode == "jwk" and not has_jwk:
            raise _malformed("No embedded JWK in JWS header")
        if not (has_kid or has_jwk):
            raise problems.malformed(REVOKE_CONTEXT + "Malformed JWS, no KeyID or embedded JWK")
        try:
            return self._verify_signed(jws, url, mode, has_kid, found)
        except AcmeProblem as prob:
            if mode == "either" and prob.detail.startswith(JWS_CONTEXT):
                raise replace(prob, detail=REVOKE_CONTEXT + prob.detail[len(JWS_CONTEXT):]
                              ) from None
            raise

    def _verify_signed(
        self,
        jws: ParsedJWS,
        url: str,
        mode: KeyMode,
        has_kid: bool,
        found: Callable[[Account], None] | None,
    ) -> VerifiedRequest:
        """Boulder ``validJWSForAccount`` / ``validSelfAuthenticatedJWS``: the key, the
        algorithm against it, the signature, the nonce, the url, the payload."""
        protected = jws.protected
        account: Account | None = None
        if has_kid:
            account = self._lookup_account(protected["kid"], url)
            if found is not None:
                found(account)
            known = _known_key(account.jwk)
        else:
            if jws.unusable_key is not None:
                raise jws.unusable_key
            assert jws.embedded is not None
            known = jws.embedded
        key = known.key
        check_alg_matches_key(protected["alg"], key, None if has_kid else protected["jwk"],
                              expected=known.alg)
        if not jws.verifies_with(key):
            raise _malformed("JWS verification error")
        self._after_signature(protected, jws.payload, url)
        if mode == "jwk":
            # validSelfAuthenticatedPOST applies the key policy after everything else.
            check_key_policy(key, self._blocked_keys())
        return VerifiedRequest(
            protected=protected,
            payload=jws.payload,
            account=account,
            jwk=dict(known.public_json),
            thumbprint=known.thumbprint,
        )

    def _after_signature(self, protected: dict[str, Any], payload: bytes, url: str) -> None:
        """Boulder ``validJWSForKey`` after the signature: the nonce, the ``url``, a payload
        that is empty or JSON."""
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


def _not_public(jwk_json: Any) -> bool:
    """A JWK go-jose reads but refuses to take from a header: a private or symmetric key."""
    return isinstance(jwk_json, dict) and (
        jwk_json.get("kty") == "oct"
        or (jwk_json.get("kty") in ("RSA", "EC", "OKP")
            and any(m in jwk_json for m in _PRIVATE_MEMBERS))
    )


#: The members go-jose decodes as ``byteBuffer`` (RawURLEncoding: padding refused).
_KEY_MEMBERS = ("n", "e", "x", "y")


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
    if any(m in jwk_json and raw_b64decode(jwk_json[m]) is None for m in _KEY_MEMBERS):
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


def check_key_policy(key: josepy.JWK, blocked: Container[bytes] = ()) -> None:
    """Boulder's GoodKey policy for account keys (:mod:`pytest_fakeacme.goodkey`, Let's
    Encrypt's ``LetsEncryptCPS``): anything else is ``badPublicKey``."""
    public = _unwrap(key)
    reason = goodkey.key_problem(public, blocked, goodkey.key_digest(public) if blocked else b"")
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
