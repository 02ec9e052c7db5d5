"""A tiny raw ACME client on josepy + requests, for hand-made and deliberately broken requests.

Unlike ``client.AcmeTestClient`` (certbot's library, which only sends correct requests), every
part of a request is the caller's to choose: the algorithm named in the header and the one
actually used to sign, ``kid`` and/or ``jwk``, the nonce, the ``url``, the payload bytes, the
envelope members, the raw body and the Content-Type. Every request trusts exactly the fake's
TLS bundle (``verify=fake.ca_bundle``).

Defaults make a correct request, so a test changes only what it is about::

    raw = RawClient(fake_acme)
    raw.register()
    raw.post(raw.url("newOrder"), {"identifiers": [...]}, nonce=stale)   # only the nonce is off
"""

from __future__ import annotations

import base64
import ipaddress
import json
from collections.abc import Mapping, Sequence
from typing import Any

import josepy as jose
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from pytest_fakeacme import FakeACME, outcomes

JOSE_JSON = "application/jose+json"
PROBLEM_JSON = "application/problem+json"
ACME_ERROR = "urn:ietf:params:acme:error:"

_CURVES: dict[str, ec.EllipticCurve] = {
    "ES256": ec.SECP256R1(),
    "ES384": ec.SECP384R1(),
    "ES512": ec.SECP521R1(),
}
_CURVE_ALGS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}


class _Default:
    """Marks a header parameter the caller did not choose (``None`` means "leave it out")."""

    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT: Any = _Default()


def b64(data: bytes) -> str:
    """base64url without padding (RFC 7515 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_key(alg: str = "ES256", rsa_bits: int = 2048) -> jose.JWK:
    """A fresh private key for ``alg`` (``RS256``: RSA of ``rsa_bits``; ``ESnnn``: its curve)."""
    if alg == "RS256":
        return jose.JWKRSA(key=rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits))
    return jose.JWKEC(key=ec.generate_private_key(_CURVES[alg]))


def natural_alg(key: jose.JWK) -> str:
    """The JWS algorithm a key signs with (RS256 for RSA, ESnnn by curve)."""
    inner = getattr(key.key, "_wrapped", key.key)
    if isinstance(inner, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return "RS256"
    assert isinstance(inner, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey))
    return _CURVE_ALGS[inner.curve.name]


def public_jwk(key: jose.JWK) -> dict[str, Any]:
    """The public half of a key as a JWK JSON object."""
    return dict(key.public_key().to_partial_json())


def thumbprint(key: jose.JWK) -> str:
    """RFC 7638 thumbprint, base64url: the second half of a key authorization."""
    return b64(key.thumbprint())


def _signer(key: jose.JWK) -> Any:
    return getattr(key.key, "_wrapped", key.key)


def make_csr(
    names: Sequence[str],
    key: Any = None,
    *,
    common_name: bool = True,
) -> bytes:
    """A DER CSR for ``names`` (DNS names or IP addresses) signed by ``key`` (a cryptography
    private key, or a josepy JWK; default a fresh P-256 key)."""
    private = _signer(key) if isinstance(key, jose.JWK) else key
    if private is None:
        private = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for name in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            sans.append(x509.DNSName(name))
    dns = [n for n in names if not _is_ip(n)]
    subject = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, dns[0])] if common_name and dns else []
    )
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    csr = builder.sign(private, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.DER)


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class RawClient:
    """One ACME key (and, once registered, its account) speaking raw JWS to the fake."""

    def __init__(self, fake: FakeACME, key: jose.JWK | None = None) -> None:
        self.fake = fake
        self.verify = fake.ca_bundle
        self.session = requests.Session()
        self.session.trust_env = False
        self.directory: dict[str, Any] = self.get(fake.directory_url).json()
        self.key = key or new_key()
        self.kid: str | None = None
        self._nonce: str | None = None
        self.last: requests.Response | None = None

    # Plain HTTP

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.session.get(url, verify=self.verify, timeout=30, **kwargs)

    def head(self, url: str, **kwargs: Any) -> requests.Response:
        return self.session.head(url, verify=self.verify, timeout=30, **kwargs)

    def url(self, name: str) -> str:
        """A directory endpoint (``newNonce``, ``newAccount``, ``newOrder``, ...)."""
        return str(self.directory[name])

    # Nonces

    def new_nonce(self) -> str:
        """A nonce fresh from newNonce."""
        response = self.head(self.url("newNonce"))
        assert response.status_code == 200, response.text
        return response.headers["Replay-Nonce"]

    def forget_nonce(self) -> None:
        """Drop the last answer's nonce (after moving the fake's clock past its lifetime)."""
        self._nonce = None

    def nonce(self) -> str:
        """The nonce of the last answer if unused, else a fresh one."""
        nonce, self._nonce = self._nonce, None
        return nonce or self.new_nonce()

    # Building requests

    def protected(
        self,
        url: str,
        *,
        key: jose.JWK | None = None,
        alg: Any = DEFAULT,
        nonce: Any = DEFAULT,
        header_url: Any = DEFAULT,
        kid: Any = DEFAULT,
        jwk: Any = DEFAULT,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A protected header. By default: the key's algorithm, a fresh nonce, ``url``, and
        ``kid`` once registered (``jwk`` before). Pass None to leave a parameter out, any
        value to send it as is; ``kid`` and ``jwk`` may both be given."""
        key = key or self.key
        header: dict[str, Any] = {"alg": natural_alg(key) if alg is DEFAULT else alg}
        if jwk is DEFAULT and kid is DEFAULT:
            if self.kid is not None:
                kid = self.kid
            else:
                jwk = public_jwk(key)
        if jwk is not DEFAULT and jwk is not None:
            header["jwk"] = public_jwk(key) if jwk is True else jwk
        if kid is not DEFAULT and kid is not None:
            header["kid"] = self.kid if kid is True else kid
        header["nonce"] = self.nonce() if nonce is DEFAULT else nonce
        header["url"] = url if header_url is DEFAULT else header_url
        for name in [k for k, v in header.items() if v is None]:
            del header[name]
        header.update(extra or {})
        return header

    def envelope(
        self,
        protected: Mapping[str, Any] | bytes,
        payload: bytes,
        *,
        key: jose.JWK | None = None,
        sign_alg: str | None = None,
        signature: bytes | None = None,
    ) -> dict[str, str]:
        """A flattened JWS. ``protected`` is a header (JSON-encoded here) or the exact bytes
        to encode; it is signed with ``key`` by ``sign_alg`` (default: the key's own
        algorithm, whatever the header says) unless ``signature`` gives the bytes."""
        key = key or self.key
        raw = protected if isinstance(protected, bytes) else json.dumps(protected).encode()
        protected_b64, payload_b64 = b64(raw), b64(payload)
        if signature is None:
            algorithm = jose.JWASignature.from_json(sign_alg or natural_alg(key))
            signature = algorithm.sign(key.key, f"{protected_b64}.{payload_b64}".encode())
        return {"protected": protected_b64, "payload": payload_b64, "signature": b64(signature)}

    @staticmethod
    def payload_bytes(payload: Any) -> bytes:
        """Bytes as given; None is POST-as-GET (empty); anything else is JSON-encoded."""
        if payload is None:
            return b""
        if isinstance(payload, bytes):
            return payload
        return json.dumps(payload).encode()

    # Sending

    def send(
        self,
        url: str,
        body: bytes | Mapping[str, Any],
        content_type: str | None = JOSE_JSON,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """POST exactly ``body`` (an envelope is JSON-encoded) with ``content_type``."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent = dict(headers or {})
        if content_type is not None:
            sent["Content-Type"] = content_type
        response = self.session.post(url, data=data, headers=sent, verify=self.verify, timeout=30)
        self._nonce = response.headers.get("Replay-Nonce")
        self.last = response
        return response

    def post(
        self,
        url: str,
        payload: Any = None,
        *,
        key: jose.JWK | None = None,
        sign_alg: str | None = None,
        signature: bytes | None = None,
        content_type: str | None = JOSE_JSON,
        **header: Any,
    ) -> requests.Response:
        """Sign and send ``payload`` to ``url``; ``header`` options as for :meth:`protected`."""
        protected = self.protected(url, key=key, **header)
        envelope = self.envelope(
            protected, self.payload_bytes(payload), key=key, sign_alg=sign_alg,
            signature=signature,
        )
        return self.send(url, envelope, content_type)

    def post_as_get(self, url: str, **header: Any) -> requests.Response:
        """RFC 8555 6.3: a signed POST with an empty payload."""
        return self.post(url, None, **header)

    # ACME steps (each asserts success; tests of failures call post() directly)

    def register(self, **fields: Any) -> requests.Response:
        """newAccount with ``termsOfServiceAgreed`` (plus ``fields``); keeps the kid."""
        payload = {"termsOfServiceAgreed": True, **fields}
        response = self.post(self.url("newAccount"), payload, jwk=True)
        assert response.status_code in (200, 201), response.text
        self.kid = response.headers["Location"]
        return response

    def new_order(self, *names: str, profile: str | None = None) -> requests.Response:
        """newOrder for DNS names (or IP addresses, which Let's Encrypt takes in the
        ``shortlived`` profile only); asserts 201."""
        identifiers = [
            {"type": "ip" if _is_ip(n) else "dns", "value": n} for n in names
        ]
        payload: dict[str, Any] = {"identifiers": identifiers}
        if profile is not None:
            payload["profile"] = profile
        response = self.post(self.url("newOrder"), payload)
        assert response.status_code == 201, response.text
        return response

    def key_authorization(self, token: str) -> str:
        """``token.thumbprint`` (RFC 8555 8.1)."""
        return f"{token}.{thumbprint(self.key)}"

    def authorizations(self, order: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Every authorization of an order, read by POST-as-GET."""
        found = []
        for url in order["authorizations"]:
            response = self.post_as_get(url)
            assert response.status_code == 200, response.text
            found.append(response.json())
        return found

    def finalize(self, order: Mapping[str, Any], csr_der: bytes) -> requests.Response:
        """POST the CSR to the order's finalize URL."""
        return self.post(order["finalize"], {"csr": b64(csr_der)})


def challenge_of(authz: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """The authorization's challenge of type ``kind``."""
    for chall in authz["challenges"]:
        if chall["type"] == kind:
            return dict(chall)
    raise AssertionError(f"no {kind} challenge in {authz}")


def assert_problem(
    response: requests.Response,
    type_: str,
    status: int,
    detail: str | None = None,
) -> dict[str, Any]:
    """The response is ``application/problem+json`` of ``type_`` (short name) with ``status``
    (in the HTTP status line and in the document) and, if given, exactly ``detail``."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["Content-Type"].split(";")[0] == PROBLEM_JSON, response.headers
    body: dict[str, Any] = response.json()
    assert body["type"] == ACME_ERROR + type_, body
    assert body["status"] == status, body
    if detail is not None:
        assert body["detail"] == detail, body
    return body


def validate_all(client: RawClient, order: dict[str, Any], fake: FakeACME) -> None:
    """Make every pending authorization of ``order`` valid (the VA finds what it expects)."""
    fake.va.default = outcomes.valid()
    for authz in client.authorizations(order):
        if authz["status"] != "pending":
            continue
        kind = "dns-01" if authz.get("wildcard") else "http-01"
        assert client.post(challenge_of(authz, kind)["url"], {}).status_code == 200


def ready_order(client: RawClient, fake: FakeACME, *names: str) -> tuple[str, dict[str, Any]]:
    """A ready order for ``names``: its URL and body."""
    created = client.new_order(*names)
    url, order = created.headers["Location"], created.json()
    validate_all(client, order, fake)
    body = client.post_as_get(url).json()
    assert body["status"] == "ready", body
    return url, body


def issued(client: RawClient, fake: FakeACME, *names: str,
           csr_key: Any = None) -> tuple[str, dict[str, Any]]:
    """An order for ``names`` finalized and valid (the certificate for ``csr_key``, default a
    fresh P-256 key): its URL and body."""
    url, order = ready_order(client, fake, *names)
    finalized = client.finalize(order, make_csr(names, csr_key))
    assert finalized.status_code == 200, finalized.text
    body = client.post_as_get(url).json()
    assert body["status"] == "valid", body
    return url, body
