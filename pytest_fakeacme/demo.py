"""``python -m pytest_fakeacme demo``: the fake CA in action, in a few seconds.

Starts a fake, runs a small http-01 responder on the fake's http-01 port, and walks a minimal
ACME client (below; RFC 8555 over HTTPS with josepy signatures, no other client library needed)
through one successful issuance and through the failures client authors meet most: a 404, a
502, a wrong body and a timeout. For each it prints the challenge's transitions and the
problem the client got, exactly as Let's Encrypt would phrase it.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import ssl
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

import josepy
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from . import outcomes
from .fake import FakeACME


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class Answer:
    """One HTTP answer from the server."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class MiniClient:
    """The smallest honest ACME client: ES256 account, POST-as-GET reads, nonces from every
    answer. Enough for the demo; real clients are what the fake is for."""

    def __init__(self, directory_url: str, ca_bundle: str) -> None:
        self._tls = ssl.create_default_context(cafile=ca_bundle)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self._jwk = josepy.JWKEC(key=self.key)
        self.thumbprint = _b64(self._jwk.thumbprint())
        self.directory = self._request("GET", directory_url).json()
        self._nonce: str | None = None
        self.kid: str | None = None

    def _request(self, method: str, url: str, body: bytes | None = None) -> Answer:
        request = urllib.request.Request(url, data=body, method=method)
        if body is not None:
            request.add_header("Content-Type", "application/jose+json")
        try:
            with urllib.request.urlopen(request, context=self._tls, timeout=30) as response:
                answer = Answer(response.status, dict(response.headers.items()), response.read())
        except urllib.error.HTTPError as error:
            answer = Answer(error.code, dict(error.headers.items()), error.read())
        if "Replay-Nonce" in answer.headers:
            self._nonce = answer.headers["Replay-Nonce"]
        return answer

    def post(self, url: str, payload: dict[str, Any] | None, retry: bool = True) -> Answer:
        """A signed POST; ``payload=None`` is a POST-as-GET (RFC 8555 6.3). A ``badNonce``
        answer is retried once with the nonce it carried (RFC 8555 6.5) unless ``retry`` is
        False."""
        answer = self._post_once(url, payload)
        if retry and answer.status == 400 and b"badNonce" in answer.body:
            answer = self._post_once(url, payload)
        return answer

    def _post_once(self, url: str, payload: dict[str, Any] | None) -> Answer:
        if self._nonce is None:
            self._request("HEAD", self.directory["newNonce"])
        protected: dict[str, Any] = {"alg": "ES256", "nonce": self._nonce, "url": url}
        if self.kid:
            protected["kid"] = self.kid
        else:
            protected["jwk"] = self._jwk.public_key().to_partial_json()
        self._nonce = None
        header = _b64(json.dumps(protected).encode())
        body = _b64(json.dumps(payload).encode()) if payload is not None else ""
        signature = josepy.ES256.sign(self.key, f"{header}.{body}".encode())
        envelope = {"protected": header, "payload": body, "signature": _b64(signature)}
        return self._request("POST", url, json.dumps(envelope).encode())

    def register(self) -> None:
        answer = self.post(self.directory["newAccount"], {"termsOfServiceAgreed": True})
        self.kid = answer.headers["Location"]

    def csr(self, names: list[str]) -> str:
        key = ec.generate_private_key(ec.SECP256R1())
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .add_extension(
                x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        return _b64(csr.public_bytes(serialization.Encoding.DER))


class _Responder(http.server.BaseHTTPRequestHandler):
    """Answers http-01 requests the way the current scenario says."""

    behave: Callable[[str], tuple[int, bytes]]

    def do_GET(self) -> None:
        status, body = type(self).behave(self.path)
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@dataclass
class Scenario:
    """One run of the demo: a name, what the responder does, what the VA is told."""

    title: str
    name: str
    responder: str  # "serve", "404", "502", "wrong"
    scripted: outcomes.Outcome | None = None
    transitions: list[str] = field(default_factory=list)


SCENARIOS = [
    Scenario("a successful issuance (real http-01 validation)", "good.example", "serve"),
    Scenario("the responder answers 404 (real validation)", "notfound.example", "404"),
    Scenario("the responder answers 502 (real validation)", "badgateway.example", "502"),
    Scenario("the responder serves the wrong body (real validation)", "wrong.example", "wrong"),
    Scenario(
        "a timeout after connect (scripted: outcomes.read_timeout(), no waiting)",
        "slow.example",
        "serve",
        outcomes.read_timeout(),
    ),
]


def run(out: TextIO) -> int:
    """Run every scenario against a fresh fake, printing as it goes. Returns an exit status."""
    failures = 0
    with FakeACME() as ca:
        print(f"pytest-fakeacme demo: a fake ACME CA at {ca.directory_url}", file=out)
        print(f"  TLS trust: {ca.ca_bundle}; http-01 responder on port {ca.http01_port}", file=out)
        served: dict[str, bytes] = {}
        mode = {"value": "serve"}

        def behave(path: str) -> tuple[int, bytes]:
            if mode["value"] == "404" or path not in served:
                return 404, b"not found"
            if mode["value"] == "502":
                return 502, b"bad gateway"
            if mode["value"] == "wrong":
                return 200, b"hello from the wrong vhost"
            return 200, served[path]

        handler = type("Responder", (_Responder,), {"behave": staticmethod(behave)})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", ca.http01_port), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            client = MiniClient(ca.directory_url, ca.ca_bundle)
            client.register()
            for number, scenario in enumerate(SCENARIOS, 1):
                mode["value"] = scenario.responder
                if scenario.scripted is not None:
                    ca.va.script(scenario.name, scenario.scripted)
                print(f"\n[{number}] {scenario.title}: {scenario.name}", file=out)
                ok = _walk(client, ca, scenario, served, out)
                failures += 0 if ok else 1
        finally:
            server.shutdown()
            server.server_close()
            thread.join()
    print(
        "\nEvery problem above is what Let's Encrypt sends for that responder behaviour."
        if not failures
        else f"\n{failures} scenario(s) did not behave as expected",
        file=out,
    )
    return 1 if failures else 0


def _walk(
    client: MiniClient, ca: FakeACME, scenario: Scenario, served: dict[str, bytes], out: TextIO
) -> bool:
    order = client.post(client.directory["newOrder"], {
        "identifiers": [{"type": "dns", "value": scenario.name}]
    })
    order_url = order.headers["Location"]
    authz_url = order.json()["authorizations"][0]
    authz = client.post(authz_url, None).json()
    chall = next(c for c in authz["challenges"] if c["type"] == "http-01")
    token = chall["token"]
    served[f"/.well-known/acme-challenge/{token}"] = f"{token}.{client.thumbprint}".encode()
    seen = [chall["status"]]
    answer = client.post(chall["url"], {})
    seen.append(answer.json()["status"])
    authz = client.post(authz_url, None).json()
    final = authz["challenges"][0]
    seen.append(final["status"])
    statuses = " -> ".join(dict.fromkeys(seen))
    print(f"    challenge http-01: {statuses}; authorization {authz['status']}", file=out)
    if final["status"] == "invalid":
        error = final["error"]
        print(f"    problem: {error['type']} ({error['status']})", file=out)
        print(f"    detail:  {error['detail']}", file=out)
        order_status = client.post(order_url, None).json()["status"]
        print(f"    order:   {order_status}", file=out)
        return scenario.responder != "serve" or scenario.scripted is not None
    ready = client.post(order_url, None).json()
    finalized = client.post(ready["finalize"], {"csr": client.csr([scenario.name])})
    retry = finalized.headers.get("Retry-After")
    done = client.post(order_url, None).json()
    pem = client.post(done["certificate"], None).body.decode()
    leaf, intermediate = x509.load_pem_x509_certificates(pem.encode())
    root = x509.load_pem_x509_certificate(ca.roots.encode())
    leaf.verify_directly_issued_by(intermediate)
    intermediate.verify_directly_issued_by(root)
    print(
        f"    order:   {ready['status']} -> {finalized.json()['status']} (Retry-After: {retry})"
        f" -> {done['status']}",
        file=out,
    )
    digest = hashlib.sha256(leaf.public_bytes(serialization.Encoding.DER)).hexdigest()[:16]
    print(
        f"    certificate: serial {leaf.serial_number:x}, sha256 {digest}..., "
        "chain verifies against the fake's root",
        file=out,
    )
    return scenario.responder == "serve" and scenario.scripted is None
