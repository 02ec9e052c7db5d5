"""The malformed-request corpus: every entry of ``tests/corpus/malformed.json`` is sent
to the session's fake ACME server and must get exactly its problem type and HTTP status, never
a 500, with a ``Replay-Nonce`` on every POST answer and an ``application/problem+json`` body;
after each one the server must still serve a valid request (made with the nonce the refusal
carried, RFC 8555 6.5).

The corpus is data. An entry names an ``endpoint`` (a key of :attr:`World.urls`) and says how
its request differs from a correct one; everything it does not say is built correctly (a
signed flattened JWS from the registered ``main`` account, a fresh nonce, the right ``url``):

``method``
    HTTP method (default ``POST``; other methods send no JWS unless ``body`` says so).
``url``
    Where to send it instead of the endpoint, with ``{name}`` replaced by a world URL.
``signer``
    ``main`` (default), ``other``, ``deactivated`` or ``keychanger`` (registered accounts),
    ``fresh`` (a new P-256 key), ``rsa1024``, ``rsa2048`` (unregistered RSA keys) or
    ``certkey`` (the key of ``main``'s certificate).
``key_ref``
    ``kid``, ``jwk``, ``both`` or ``none`` (default ``jwk`` for newAccount and unregistered
    signers, else ``kid``).
``header``
    Protected header members to set; ``"$omit"`` drops one.
``nonce``
    ``fresh`` (default), ``omit``, ``unknown``, ``reused``, ``expired`` (the fake's clock moves
    past the nonce lifetime), ``foreign`` (issued by another FakeACME), ``fresh-with-nul``.
``protected_bytes`` / ``payload``
    The exact protected header bytes, or the payload (JSON; ``{"$empty": true}`` is
    POST-as-GET; ``{"$bytes": "..."}`` gives bytes as latin-1 text; ``{"$deep": "[", "n": N}``
    nests N levels; ``{"$inner": {...}}`` builds a keyChange inner JWS).
``sign_alg`` / ``signature``
    The algorithm actually signed with (``HS256``: an HMAC), or a broken signature:
    ``empty``, ``flipped``, ``zeros``, ``truncated``, ``long``, ``other-key``,
    ``other-payload``.
``envelope`` / ``body``
    Envelope members to set or ``"$omit"`` after signing; or the whole body: ``compact``,
    ``general``, ``bom``, ``trailing-garbage``, ``duplicate-protected``, ``{"$bytes"}``,
    ``{"$json": value}``, ``{"$deep"}``, ``{"$chunked": [parts]}``.
``content_type`` / ``headers``
    Content-Type (``null``: none) and extra HTTP headers, sent exactly as written (a bogus
    Content-Length too; a ``$chunked`` body is sent with ``Transfer-Encoding: chunked``).
``settings``
    ``FakeACME.configure`` values for this entry only.

Values may use generators: ``{"$repeat": s, "n": N}``, ``{"$concat": [...]}``,
``{"$list": item, "n": N}``, ``{"$names": N}`` (N distinct DNS identifiers),
``{"$jwk_with": {...}}`` (the signer's public JWK changed), ``{"$csr": {...}}``,
``{"$eab": {...}}``, and tokens (``$kid``, ``$jwk``, ``$private_jwk``, ``$jwk_x``,
``$main_jwk``, ``$cert_b64``, ``$cert_pem``, ``$selfsigned_b64``, ``$eab_kid``,
``$fresh_nonce``).

An entry with ``xfail`` is a known bug of the fake: it runs as a strict xfail naming the bug.
``boulder`` names the Boulder source an expectation follows where it is not the obvious one;
``expect.nonce: false`` marks an answer Boulder sends without a ``Replay-Nonce`` (a path no ACME
resource serves, which Boulder's ``Index`` answers, wfe2/wfe.go:482-511).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import http.client
import json
import re
import secrets
import ssl
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import josepy as jose
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from jwsclient import (
    JOSE_JSON,
    PROBLEM_JSON,
    RawClient,
    b64,
    challenge_of,
    natural_alg,
    new_key,
    public_jwk,
)
from pytest_fakeacme import FakeACME, FakeACMEError, outcomes
from pytest_fakeacme.problems import ACME_ERROR_PREFIX, KNOWN_TYPES

CORPUS_PATH = Path(__file__).parent / "corpus" / "malformed.json"
OMIT = "$omit"
HMAC_SECRET = b"corpus-hmac-secret-corpus-hmac-secret"

#: Build keys an entry may use (anything else is a typo in the corpus).
BUILD_KEYS = frozenset({
    "id", "endpoint", "expect", "xfail", "method", "url", "signer", "key_ref", "header",
    "nonce", "protected_bytes", "payload", "sign_alg", "signature", "envelope", "body",
    "content_type", "headers", "settings", "boulder",
})
#: What the issue asks the corpus to cover, as id prefixes.
CATEGORIES = (
    "jws-structure/", "algorithm/", "key-reference/", "signature/", "nonce/", "url/",
    "content-type/", "size/", "payload-", "method/", "resource/",
)


def load_corpus() -> list[dict[str, Any]]:
    """The corpus entries, in file order."""
    with CORPUS_PATH.open(encoding="utf-8") as f:
        entries: list[dict[str, Any]] = json.load(f)["entries"]
    return entries


CORPUS = load_corpus()


# The count in the test output: a line in pytest's terminal summary.


class RobustnessSummary:
    """A tiny plugin, registered by the first test that reports, that prints what the
    robustness tests ran (corpus entries, fuzz examples) at the end of the session."""

    NAME = "fakeacme-robustness-summary"

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.lines: dict[str, str] = {}

    def add(self, key: str, amount: int = 1) -> int:
        self.counts[key] = self.counts.get(key, 0) + amount
        return self.counts[key]

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.lines:
            terminalreporter.write_sep("-", "pytest-fakeacme robustness")
            for key in sorted(self.lines):
                terminalreporter.write_line(self.lines[key].format(**self.counts))


def robustness_summary(config: pytest.Config) -> RobustnessSummary:
    """The session's summary plugin (registered on first use)."""
    found = config.pluginmanager.get_plugin(RobustnessSummary.NAME)
    if found is None:
        found = RobustnessSummary()
        config.pluginmanager.register(found, RobustnessSummary.NAME)
    assert isinstance(found, RobustnessSummary)
    return found


# Keys that are slow to make are made once.


@cache
def rsa_key(bits: int) -> jose.JWK:
    return jose.JWKRSA(key=rsa.generate_private_key(public_exponent=65537, key_size=bits))


def _private_key(key: jose.JWK) -> Any:
    # josepy wraps cryptography keys in ComparableKey.
    return getattr(key.key, "_wrapped", key.key)


def private_jwk(key: jose.JWK) -> dict[str, Any]:
    return dict(key.to_partial_json())


# The world: accounts and resources in every state the corpus needs.


@dataclass
class Signer:
    """The key a request is signed with, and the account it names (if any)."""

    key: jose.JWK
    kid: str | None = None


@dataclass
class World:
    """Accounts (valid, deactivated, one for key rollovers), orders in every state with their
    authorizations, challenges and certificates, on one fake; ``urls`` names them all."""

    fake: FakeACME
    tls: ssl.SSLContext
    main: RawClient
    other: RawClient
    deactivated: RawClient
    keychanger: RawClient
    urls: dict[str, str]
    cert_key: ec.EllipticCurvePrivateKey
    cert_der: bytes
    eab_kid: str
    eab_key: bytes
    ready_order_id: str
    foreign: FakeACME | None = None
    selfsigned: bytes = b""
    spare_nonce: str | None = None

    def intact(self) -> bool:
        """Whether the fake still holds this world (nothing reset it, no entry broke it)."""
        store = self.fake.store
        main = store.accounts.get(_account_id(self.main))
        keychanger = store.accounts.get(_account_id(self.keychanger))
        order = store.orders.get(self.ready_order_id)
        return (
            main is not None and main.status == "valid"
            and keychanger is not None and keychanger.status == "valid"
            and keychanger.jwk == public_jwk(self.keychanger.key)
            and order is not None
            and store.status_of(order, self.fake.clock.now()) == "ready"
        )

    def nonce(self) -> str:
        """A fresh nonce: the one the last answer carried, else one from newNonce."""
        if self.spare_nonce is not None:
            nonce, self.spare_nonce = self.spare_nonce, None
            return nonce
        answer = send(self, Built("HEAD", self.urls["newNonce"], b"", {}))
        assert answer.status == 200, answer
        return answer.headers["Replay-Nonce"]

    def read_account(self, nonce: str | None = None) -> Answer:
        """A correct request: the main account's POST-as-GET of itself (keeps its nonce)."""
        url = self.main.kid or ""
        header = {"alg": natural_alg(self.main.key), "kid": url, "nonce": nonce or self.nonce(),
                  "url": url}
        envelope = self.main.envelope(header, b"")
        answer = send(self, Built("POST", url, json.dumps(envelope).encode(),
                                  {"Content-Type": JOSE_JSON}))
        self.spare_nonce = answer.headers.get("Replay-Nonce")
        return answer

    def foreign_nonce(self) -> str:
        if self.foreign is None:
            self.foreign = FakeACME(dns_port=None).start()
        return RawClient(self.foreign).new_nonce()

    def close(self) -> None:
        if self.foreign is not None:
            self.foreign.stop()
            self.foreign = None


def _account_id(client: RawClient) -> str:
    assert client.kid is not None
    return client.kid.rsplit("/", 1)[1]


def _registered(fake: FakeACME) -> RawClient:
    client = RawClient(fake)
    client.register()
    return client


def _validated_order(
    client: RawClient, fake: FakeACME, name: str, outcome: outcomes.Outcome
) -> tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]:
    """An order for ``name`` whose http-01 challenge was answered with ``outcome``: its URL,
    its body (read after validation), and its authorization before and after."""
    fake.va.script(name, outcome)
    created = client.new_order(name)
    url, order = created.headers["Location"], created.json()
    (before,) = client.authorizations(order)
    answered = client.post(challenge_of(before, "http-01")["url"], {})
    assert answered.status_code == 200, answered.text
    (after,) = client.authorizations(order)
    return url, client.post_as_get(url).json(), before, after


def build_csr(names: list[str], key: Any, *, email: bool = False) -> x509.CertificateSigningRequest:
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    if email:
        sans.append(x509.RFC822Name("someone@example.com"))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])] if names else [])
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(key, algorithm)


def _selfsigned(name: str) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def build_world(fake: FakeACME) -> World:
    """Reset the fake and make every account and resource the corpus refers to."""
    fake.reset()
    fake.configure(async_finalize=False)
    main, other = _registered(fake), _registered(fake)
    deactivated, keychanger = _registered(fake), _registered(fake)
    assert deactivated.post(deactivated.kid or "", {"status": "deactivated"}).status_code == 200

    valid_url, valid, _, authz = _validated_order(main, fake, "corpus-valid.example",
                                                  outcomes.valid())
    cert_key = ec.generate_private_key(ec.SECP256R1())
    csr = build_csr(["corpus-valid.example"], cert_key).public_bytes(serialization.Encoding.DER)
    finalized = main.finalize(valid, csr)
    assert finalized.status_code == 200, finalized.text
    cert_url = finalized.json()["certificate"]
    leaf_pem = main.post_as_get(cert_url).text.split("-----END CERTIFICATE-----")[0]
    leaf = x509.load_pem_x509_certificate((leaf_pem + "-----END CERTIFICATE-----\n").encode())

    ready_url, ready, _, _ = _validated_order(main, fake, "corpus-ready.example",
                                              outcomes.valid())
    assert ready["status"] == "ready", ready
    created = main.new_order("corpus-pending.example")
    pending_url, pending = created.headers["Location"], created.json()
    (pending_authz,) = main.authorizations(pending)
    _, invalid, tried, invalid_authz = _validated_order(main, fake, "corpus-invalid.example",
                                                        outcomes.wrong_body())
    assert invalid_authz["status"] == "invalid", invalid_authz

    other_url, other_order, _, other_authz = _validated_order(
        other, fake, "corpus-other.example", outcomes.valid())
    other_csr = build_csr(["corpus-other.example"], ec.generate_private_key(ec.SECP256R1()))
    other_final = other.finalize(other_order, other_csr.public_bytes(serialization.Encoding.DER))
    assert other_final.status_code == 200, other_final.text
    other_done = other.post_as_get(other_url).json()

    eab_kid, eab_key = fake.eab.add()
    challenge = challenge_of(authz, "http-01")["url"]
    base = fake.base_url
    assert main.kid is not None
    assert other.kid is not None
    assert deactivated.kid is not None
    urls = dict(main.directory)
    urls.pop("meta", None)
    urls.update(
        base=base,
        port=str(fake.port),
        directory=fake.directory_url,
        terms=main.directory["meta"]["termsOfService"],
        account=main.kid,
        orders=main.kid + "/orders",
        order=valid_url,
        finalize=valid["finalize"],
        certificate=cert_url,
        authz=valid["authorizations"][0],
        challenge=challenge,
        challengeParent=challenge.rsplit("/", 1)[0],
        pendingOrder=pending_url,
        pendingFinalize=pending["finalize"],
        pendingChallenge=challenge_of(pending_authz, "http-01")["url"],
        readyOrder=ready_url,
        readyFinalize=ready["finalize"],
        invalidAuthz=invalid["authorizations"][0],
        invalidChallenge=invalid_authz["challenges"][0]["url"],
        # After an attempt only the attempted challenge is listed (Boulder).
        removedChallenge=challenge_of(tried, "dns-01")["url"],
        deactivatedAccount=deactivated.kid,
        otherAccount=other.kid,
        otherOrders=other.kid + "/orders",
        otherOrder=other_url,
        otherFinalize=other_order["finalize"],
        otherAuthz=other_order["authorizations"][0],
        otherChallenge=challenge_of(other_authz, "http-01")["url"],
        otherCertificate=other_done["certificate"],
    )
    return World(
        fake=fake, tls=ssl.create_default_context(cafile=fake.ca_bundle), main=main,
        other=other, deactivated=deactivated, keychanger=keychanger, urls=urls, cert_key=cert_key,
        cert_der=leaf.public_bytes(serialization.Encoding.DER),
        eab_kid=eab_kid, eab_key=base64.urlsafe_b64decode(eab_key + "=" * (-len(eab_key) % 4)),
        ready_order_id=ready_url.rsplit("/", 1)[1],
        selfsigned=_selfsigned("corpus-valid.example"),
    )


# Building a request from an entry.


@dataclass
class Built:
    """A request to send, exactly."""

    method: str
    url: str
    body: bytes
    headers: dict[str, str]


@dataclass
class Answer:
    """What came back."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


class Builder:
    """Turns one corpus entry into the exact bytes to send."""

    def __init__(self, world: World, entry: Mapping[str, Any]) -> None:
        self.world = world
        self.entry = entry
        self.signer = self._signer(entry.get("signer", "main"))

    def _signer(self, name: str) -> Signer:
        world = self.world
        clients = {"main": world.main, "other": world.other, "deactivated": world.deactivated,
                   "keychanger": world.keychanger}
        if name in clients:
            return Signer(clients[name].key, clients[name].kid)
        keys: dict[str, Callable[[], jose.JWK]] = {
            "fresh": new_key,
            "rsa1024": lambda: rsa_key(1024),
            "rsa2048": lambda: rsa_key(2048),
            "certkey": lambda: jose.JWKEC(key=world.cert_key),
        }
        return Signer(keys[name]())

    # Values

    def text(self, value: str) -> str:
        urls = self.world.urls
        return _PLACEHOLDER.sub(lambda m: urls.get(m.group(1), m.group(0)), value)

    def value(self, value: Any) -> Any:
        """A corpus value with its generators, tokens and placeholders resolved."""
        if isinstance(value, str):
            return self._token(value) if value.startswith("$") else self.text(value)
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if not isinstance(value, dict):
            return value
        special = [k for k in value if k.startswith("$")]
        if not special:
            return {k: self.value(v) for k, v in value.items() if v != OMIT}
        (kind,) = special
        arg = value[kind]
        if kind == "$repeat":
            return str(arg) * int(value["n"])
        if kind == "$concat":
            return "".join(str(self.value(v)) for v in arg)
        if kind == "$list":
            return [self.value(arg)] * int(value["n"])
        if kind == "$names":
            return [{"type": "dns", "value": f"n{i}.example"} for i in range(int(arg))]
        if kind == "$jwk_with":
            return self._with_members(public_jwk(self.signer.key), arg)
        if kind == "$csr":
            return self.build_csr(arg)
        if kind == "$eab":
            return self._eab(arg)
        raise AssertionError(f"unknown generator {kind} in {self.entry['id']}")

    def _token(self, token: str) -> Any:
        world, signer = self.world, self.signer
        tokens = {
            "$kid": lambda: signer.kid,
            "$jwk": lambda: public_jwk(signer.key),
            "$private_jwk": lambda: private_jwk(signer.key),
            "$jwk_x": lambda: public_jwk(signer.key)["x"],
            "$main_jwk": lambda: public_jwk(world.main.key),
            "$cert_b64": lambda: b64(world.cert_der),
            "$cert_pem": lambda: x509.load_der_x509_certificate(world.cert_der).public_bytes(
                serialization.Encoding.PEM).decode(),
            "$selfsigned_b64": lambda: b64(world.selfsigned),
            "$eab_kid": lambda: world.eab_kid,
            "$fresh_nonce": world.nonce,
        }
        if token not in tokens:
            raise AssertionError(f"unknown token {token} in {self.entry['id']}")
        return tokens[token]()

    def raw(self, spec: Any) -> bytes:
        """Bytes from a ``$bytes`` / ``$deep`` spec, or JSON for any other value."""
        if isinstance(spec, dict) and "$bytes" in spec:
            return str(self.value(spec["$bytes"])).encode("latin-1")
        if isinstance(spec, dict) and "$deep" in spec:
            n = int(spec["n"])
            if spec["$deep"] == "[":
                return b"[" * n + b"]" * n
            return b'{"a":' * n + b"1" + b"}" * n
        if isinstance(spec, dict) and spec.get("$empty"):
            return b""
        return json.dumps(self.value(spec)).encode()

    def _with_members(self, base: dict[str, Any], members: Mapping[str, Any]) -> dict[str, Any]:
        """``base`` with each of ``members`` set to its generated value, or dropped (if
        there) where it is ``"$omit"``."""
        for name, member in members.items():
            if member == OMIT:
                base.pop(name, None)
            else:
                base[name] = self.value(member)
        return base

    def _protected(self, spec: Mapping[str, Any], header: Any) -> bytes:
        """The protected header's bytes: the spec's ``protected_bytes`` if it has them, else
        ``header`` as JSON."""
        if "protected_bytes" in spec:
            return self.raw(spec["protected_bytes"])
        return json.dumps(header).encode()

    # Pieces

    def build_csr(self, spec: Mapping[str, Any]) -> str:
        keys = {
            "ec": lambda: ec.generate_private_key(ec.SECP256R1()),
            "account": lambda: _private_key(self.world.main.key),
            "rsa1024": lambda: _private_key(rsa_key(1024)),
            "p521": lambda: ec.generate_private_key(ec.SECP521R1()),
            "ed25519": ed25519.Ed25519PrivateKey.generate,
        }
        key = keys[spec.get("key", "ec")]()
        csr = build_csr(list(spec.get("names", [])), key, email=bool(spec.get("email")))
        if spec.get("pem"):
            return csr.public_bytes(serialization.Encoding.PEM).decode()
        der = bytearray(csr.public_bytes(serialization.Encoding.DER))
        if spec.get("tamper"):
            der[-1] ^= 0x01  # the last byte of the signature
        return b64(bytes(der))

    def _eab(self, spec: Mapping[str, Any]) -> Any:
        header: dict[str, Any] = {"alg": "HS256", "kid": self.world.eab_kid,
                                  "url": self.world.urls["newAccount"]}
        header.update(spec.get("header", {}))
        protected = self._protected(spec, self.value(header))
        payload = self.raw(spec.get("payload", "$jwk"))
        signing_input = f"{b64(protected)}.{b64(payload)}".encode()
        mac = hmac.new(self.world.eab_key, signing_input, hashlib.sha256).digest()
        if spec.get("mac") == "bad":
            mac = hmac.new(b"not the key" * 3, signing_input, hashlib.sha256).digest()
        envelope = {"protected": b64(protected), "payload": b64(payload), "signature": b64(mac)}
        envelope.update(spec.get("envelope", {}))
        return envelope

    def _inner(self, spec: Mapping[str, Any]) -> bytes:
        """A keyChange inner JWS: signed by a new key, naming the outer account and key."""
        keys: dict[str, Callable[[], jose.JWK]] = {
            "fresh": new_key, "main": lambda: self.world.main.key,
            "rsa1024": lambda: rsa_key(1024)}
        key = keys[spec.get("key", "fresh")]()
        header: dict[str, Any] = {"alg": natural_alg(key), "jwk": public_jwk(key),
                                  "url": self.world.urls["keyChange"]}
        protected = self._protected(spec, self._with_members(header, spec.get("header", {})))
        payload = self.raw(spec.get("payload", {"account": "$kid", "oldKey": "$jwk"}))
        envelope = self._sign(protected, payload, key, natural_alg(key),
                              spec.get("signature", "valid"))
        return json.dumps(envelope).encode()

    def _sign(self, protected: bytes, payload: bytes, key: jose.JWK, alg: str,
              how: str) -> dict[str, Any]:
        protected_b64, payload_b64 = b64(protected), b64(payload)
        signed_payload = b64(b'{"other": "payload"}') if how == "other-payload" else payload_b64
        signing_input = f"{protected_b64}.{signed_payload}".encode()
        if alg.startswith("HS"):
            signature = jose.JWASignature.from_json(alg).sign(HMAC_SECRET, signing_input)
        else:
            signer = new_key(natural_alg(key)) if how == "other-key" else key
            signature = jose.JWASignature.from_json(alg).sign(signer.key, signing_input)
        if how == "empty":
            signature = b""
        elif how == "flipped":
            signature = bytes([signature[0] ^ 0x01]) + signature[1:]
        elif how == "zeros":
            signature = bytes(len(signature))
        elif how == "truncated":
            signature = signature[: len(signature) // 2]
        elif how == "long":
            signature = signature * 100
        return {"protected": protected_b64, "payload": payload_b64, "signature": b64(signature)}

    def _nonce(self) -> str | None:
        how = self.entry.get("nonce", "fresh")
        world = self.world
        if how == "omit":
            return None
        if how == "unknown":
            return b64(secrets.token_bytes(15))
        if how == "foreign":
            return world.foreign_nonce()
        nonce = world.nonce()
        if how == "reused":
            used = world.read_account(nonce)
            assert used.status == 200, used
        elif how == "expired":
            world.fake.clock.advance(hours=2)
        elif how == "fresh-with-nul":
            nonce += "\x00"
        else:
            assert how == "fresh", how
        return nonce

    def _default_payload(self, endpoint: str) -> Any:
        defaults: dict[str, Any] = {
            "newAccount": {"termsOfServiceAgreed": True},
            "newOrder": {"identifiers": [{"type": "dns", "value": "corpus-new.example"}]},
            "revokeCert": {"certificate": "$cert_b64", "reason": 7},
            "keyChange": {"$inner": {}},
        }
        return defaults.get(endpoint, {"$empty": True})

    # The request

    def build(self) -> Built:
        entry = self.entry
        method = entry.get("method", "POST")
        url = self.value(entry["url"]) if "url" in entry else self.world.urls[entry["endpoint"]]
        headers = {k: str(self.value(v)) for k, v in entry.get("headers", {}).items()}
        content_type = entry.get("content_type", JOSE_JSON if method == "POST" else None)
        if content_type is not None:
            headers["Content-Type"] = content_type
        if method != "POST" and "body" not in entry:
            return Built(method, url, b"", headers)
        body = self._body(url)
        if isinstance(entry.get("body"), dict) and "$chunked" in entry["body"]:
            headers["Transfer-Encoding"] = "chunked"
        return Built(method, url, body, headers)

    def _body(self, url: str) -> bytes:
        entry, signer = self.entry, self.signer
        body = entry.get("body")
        if isinstance(body, dict) and "$chunked" in body:
            parts = [str(self.value(p)).encode() for p in body["$chunked"]]
            return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
        if isinstance(body, dict) and "$json" in body:
            return json.dumps(body["$json"]).encode()
        if isinstance(body, dict):
            return self.raw(body)

        key_ref = entry.get("key_ref")
        if key_ref is None:
            key_ref = "jwk" if entry["endpoint"] == "newAccount" or signer.kid is None else "kid"
        header: dict[str, Any] = {"alg": natural_alg(signer.key)}
        if key_ref in ("jwk", "both"):
            header["jwk"] = public_jwk(signer.key)
        if key_ref in ("kid", "both"):
            header["kid"] = signer.kid or self.world.main.kid
        nonce = self._nonce()
        if nonce is not None:
            header["nonce"] = nonce
        header["url"] = url
        protected = self._protected(entry, self._with_members(header, entry.get("header", {})))
        payload_spec = entry.get("payload", self._default_payload(entry["endpoint"]))
        if isinstance(payload_spec, dict) and "$inner" in payload_spec:
            payload = self._inner(payload_spec["$inner"])
        else:
            payload = self.raw(payload_spec)
        alg = entry.get("sign_alg", natural_alg(signer.key))
        envelope = self._sign(protected, payload, signer.key, alg,
                              entry.get("signature", "valid"))
        for name, member in entry.get("envelope", {}).items():
            if member == OMIT:
                envelope.pop(name)
            else:
                envelope[name] = self.value(member)
        encoded = json.dumps(envelope).encode()
        if body is None:
            return encoded
        if body == "compact":
            return ".".join(envelope[k] for k in ("protected", "payload", "signature")).encode()
        if body == "general":
            return json.dumps({"payload": envelope["payload"], "signatures": [
                {"protected": envelope["protected"], "signature": envelope["signature"]}]}
            ).encode()
        if body == "bom":
            return b"\xef\xbb\xbf" + encoded
        if body == "trailing-garbage":
            return encoded + b" x"
        if body == "duplicate-protected":
            return encoded[:-1] + b', "protected": "!!!"}'
        raise AssertionError(f"unknown body {body!r} in {entry['id']}")


def send(world: World, built: Built) -> Answer:
    """Send exactly what was built, on a connection of its own (the fake closes each one);
    the answer's status, headers and body.

    ``http.client`` writes the headers given and nothing else: no Content-Length of its own
    when one is given, none at all for a chunked body. (It is also about twice as fast here as
    ``requests``, which matters over some thousands of requests.)"""
    parts = urlsplit(built.url)
    conn = http.client.HTTPSConnection(parts.hostname or "127.0.0.1", parts.port,
                                       context=world.tls, timeout=30)
    try:
        conn.putrequest(built.method, parts.path + (f"?{parts.query}" if parts.query else ""),
                        skip_accept_encoding=True)
        headers = dict(built.headers)
        if "Content-Length" not in headers and "Transfer-Encoding" not in headers and (
            built.body or built.method == "POST"
        ):
            headers["Content-Length"] = str(len(built.body))
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders(built.body or None)
        response = conn.getresponse()
        return Answer(response.status, response.headers, response.read())
    finally:
        conn.close()


def take_server_errors(fake: FakeACME) -> list[BaseException]:
    """What the server thread raised since the last look (and forget it)."""
    errors = fake.errors
    if errors:
        with pytest.raises(FakeACMEError):
            fake.check()
    return errors


def check_answer(entry: Mapping[str, Any], built: Built, answer: Answer) -> None:
    """The answer is exactly what the entry expects, in the form every answer must have."""
    expected = entry["expect"]
    shown = answer.body[:600]
    assert answer.status != 500, f"500 for {entry['id']}: {shown!r}"
    if built.method == "POST" and expected.get("nonce", True):
        assert answer.headers.get("Replay-Nonce"), f"no Replay-Nonce: {dict(answer.headers)}"
    assert answer.status == expected["status"], (answer.status, shown)
    content_type = answer.headers.get("Content-Type", "").split(";")[0]
    if expected["type"] is None:
        assert content_type != PROBLEM_JSON, shown
        return
    assert content_type == PROBLEM_JSON, (dict(answer.headers), shown)
    if built.method == "HEAD":
        return
    problem = json.loads(answer.body)
    assert isinstance(problem, dict), shown
    assert problem["type"] == ACME_ERROR_PREFIX + expected["type"], shown
    assert problem["status"] == answer.status, shown
    assert isinstance(problem["detail"], str), shown
    assert problem["detail"], shown


# Fixtures and tests


def world_holder(fake: FakeACME) -> Iterator[list[World]]:
    """A module's worlds (for a module-scoped fixture): closed at the end, and whatever the
    server thread raised meanwhile taken, so that it fails no later test."""
    holder: list[World] = []
    yield holder
    for world in holder:
        world.close()
    take_server_errors(fake)


def current_world(holder: list[World], fake: FakeACME) -> World:
    """The world in ``holder``, rebuilt on ``fake`` if anything (another test's reset, an
    entry that got further than it should) changed it."""
    if not holder or not holder[-1].intact():
        if holder:
            holder.pop().close()
        holder.append(build_world(fake))
    return holder[-1]


@pytest.fixture(scope="module")
def _world_holder(fake_acme_session: FakeACME) -> Iterator[list[World]]:
    yield from world_holder(fake_acme_session)


@pytest.fixture
def world(fake_acme_session: FakeACME, _world_holder: list[World]) -> World:
    """The corpus world on the session fake, rebuilt if anything changed it."""
    return current_world(_world_holder, fake_acme_session)


def _params() -> list[Any]:
    total = len(CORPUS)
    params = []
    for index, entry in enumerate(CORPUS, 1):
        marks = []
        if "xfail" in entry:
            marks.append(pytest.mark.xfail(strict=True, reason=entry["xfail"]))
        params.append(pytest.param(entry, id=f"{index:03d}/{total}:{entry['id']}", marks=marks))
    return params


@pytest.fixture(autouse=True)
def _summary_line(pytestconfig: pytest.Config) -> None:
    summary = robustness_summary(pytestconfig)
    summary.counts.setdefault("corpus_passed", 0)
    summary.counts["corpus_total"] = len(CORPUS)
    summary.counts["corpus_bugs"] = sum("xfail" in e for e in CORPUS)
    summary.lines["corpus"] = (
        "corpus: {corpus_total} malformed or hostile requests (tests/corpus/malformed.json), "
        "{corpus_passed} answered exactly as expected, {corpus_bugs} known bugs (xfail)"
    )


def test_corpus_has_at_least_150_well_formed_entries() -> None:
    ids = [e["id"] for e in CORPUS]
    assert len(set(ids)) == len(ids), "corpus ids must be unique"
    for entry in CORPUS:
        assert set(entry) <= BUILD_KEYS, (entry["id"], set(entry) - BUILD_KEYS)
        expected = entry["expect"]
        assert expected["type"] is None or expected["type"] in KNOWN_TYPES, entry["id"]
        assert 200 <= expected["status"] <= 499, entry["id"]
    for category in CATEGORIES:
        assert any(i.startswith(category) for i in ids), f"no corpus entry for {category}"
    assert len(CORPUS) >= 150, f"the corpus has {len(CORPUS)} entries, fewer than 150"


@pytest.mark.parametrize("entry", _params())
def test_corpus_entry(world: World, entry: dict[str, Any], pytestconfig: pytest.Config) -> None:
    fake = world.fake
    saved = {name: getattr(fake.settings, name) for name in entry.get("settings", {})}
    fake.configure(**entry.get("settings", {}))
    try:
        built = Builder(world, entry).build()
        answer = send(world, built)
    finally:
        fake.configure(**saved)
    errors = take_server_errors(fake)

    check_answer(entry, built, answer)
    assert errors == [], f"the server thread raised {errors!r}"
    # The server still serves, and the refusal's nonce is good for the next request.
    after = world.read_account(answer.headers.get("Replay-Nonce"))
    assert after.status == 200, after
    robustness_summary(pytestconfig).add("corpus_passed")
