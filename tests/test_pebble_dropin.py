"""A suite written the way a client project's Pebble-targeted suite is: it starts its CA as it
would start ``pebble`` and ``pebble-challtestsrv`` (subprocesses, fixed ports handed to them,
readiness read from their output), and talks to the management ports only through their
documented endpoints (Pebble's README and ``wfe/wfe.go``; ``cmd/pebble-challtestsrv``).

Every test runs against ``pytest-fakeacme serve`` and, where Debian's ``pebble`` package is
installed (it ships both programs), against Pebble and challtestsrv themselves: a difference in
behaviour shows up as a failing test on one side. The few tests of features Debian's Pebble
(2.4.0) predates say so and run against the fake only.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import select
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.rcode
import josepy as jose
import pytest
import requests
import trustme
from acme import challenges, client, messages
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from client import challenge_response, ec_key, make_csr, pick_challenge

ROOT = Path(__file__).resolve().parent.parent
_CLEAN_ENV = {k: v for k, v in os.environ.items()
              if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE") and not k.startswith(
                  ("PEBBLE_", "FAKE_ACME_"))}
#: Pebble's knobs, as CI jobs that run Pebble set them.
PEBBLE_ENV = {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0",
              "PEBBLE_ALTERNATE_ROOTS": "2", "PEBBLE_AUTHZREUSE": "0"}
_ACME_IDENTIFIER = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.31")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Target:
    """A running CA and challenge server, as the suite reaches them."""

    name: str
    directory: str
    ca_bundle: str
    challtestsrv: str
    pebble_management: str
    dns_port: int
    http01: int
    https01: int
    tlsalpn01: int
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def post(self, path: str, body: Any) -> requests.Response:
        """A challtestsrv management call."""
        return requests.post(self.challtestsrv + path, data=json.dumps(body), timeout=10)

    def management(self, path: str, **kwargs: Any) -> requests.Response:
        """A call to Pebble's management listener (HTTPS, trusting the CA bundle)."""
        return requests.request(kwargs.pop("method", "GET"), self.pebble_management + path,
                                verify=self.ca_bundle, timeout=10, **kwargs)

    def query(self, name: str, rdtype: str) -> dns.message.Message:
        """A DNS question to the challenge server's DNS listener (UDP)."""
        return dns.query.udp(dns.message.make_query(name, rdtype), "127.0.0.1", timeout=5,
                             port=self.dns_port)

    def stop(self) -> None:
        """End the processes."""
        for proc in self.processes:
            proc.terminate()
        for proc in self.processes:
            proc.wait(timeout=30)


def _wait_listening(port: int, seconds: float = 30) -> None:
    """Until another process accepts connections on ``port``: its log line comes just before
    it binds, and no hook tells more (bounded retries with a short pause)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            select.select([], [], [], 0.01)


class _Output:
    """A process's output, drained by a thread of its own (a full pipe would stall the
    process), with a wait for the first line matching a pattern."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._proc = proc
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        assert self._proc.stdout is not None
        for raw in self._proc.stdout:
            with self._changed:
                self.lines.append(raw.decode("utf-8", "replace"))
                self._changed.notify_all()
        with self._changed:
            self.lines.append("")  # end of output
            self._changed.notify_all()

    def wait_for(self, pattern: str, seconds: float = 60) -> str:
        """The first line matching ``pattern`` (readiness, as suites wait for Pebble's
        "Listening on" line)."""
        def found() -> str | None:
            return next((line for line in self.lines if line and re.search(pattern, line)),
                        "" if self.lines[-1:] == [""] else None)

        with self._changed:
            line = self._changed.wait_for(found, timeout=seconds)
        if not line:
            raise AssertionError(f"{self._proc.args!r} did not print {pattern!r}: {self.lines}")
        return line


def _start_fake(tmp: Path) -> Target:
    ports = {name: _free_port() for name in ("acme", "mgmt", "ct", "dns", "h", "s", "t")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest_fakeacme", "serve", "--json",
         "--port", str(ports["acme"]), "--https-management-port", str(ports["mgmt"]),
         "--management-port", str(ports["ct"]), "--dns-port", str(ports["dns"]),
         "--http01-port", str(ports["h"]), "--https-port", str(ports["s"]),
         "--tls-alpn01-port", str(ports["t"]), "--ca-key-type", "rsa"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env={**_CLEAN_ENV, **PEBBLE_ENV}, cwd=ROOT,
    )
    info = json.loads(_Output(proc).wait_for(r"^\{"))
    return Target("fake", info["directory"].replace("127.0.0.1", "localhost"),
                  info["ca_bundle"], info["management_http"],
                  info["management_https"].replace("127.0.0.1", "localhost"), ports["dns"],
                  ports["h"], ports["s"], ports["t"], [proc])


def _start_pebble(tmp: Path) -> Target:
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", "127.0.0.1")
    leaf.private_key_pem.write_to_path(str(tmp / "key.pem"))
    leaf.cert_chain_pems[0].write_to_path(str(tmp / "cert.pem"))
    ca.cert_pem.write_to_path(str(tmp / "ca.pem"))
    ports = {name: _free_port() for name in ("acme", "mgmt", "ct", "dns", "h", "s", "t")}
    (tmp / "pebble.json").write_text(json.dumps({"pebble": {
        "listenAddress": f"127.0.0.1:{ports['acme']}",
        "managementListenAddress": f"127.0.0.1:{ports['mgmt']}",
        "certificate": str(tmp / "cert.pem"), "privateKey": str(tmp / "key.pem"),
        "httpPort": ports["h"], "tlsPort": ports["t"], "ocspResponderURL": "",
        "externalAccountBindingRequired": False,
    }}))
    help_text = subprocess.run(["pebble-challtestsrv", "-h"], capture_output=True, text=True,
                               timeout=30).stderr
    dns_flag = "-dnsserver" if "-dnsserver" in help_text else "-dns01"
    challtestsrv = subprocess.Popen(
        ["pebble-challtestsrv", "-management", f"127.0.0.1:{ports['ct']}",
         dns_flag, f"127.0.0.1:{ports['dns']}", "-http01", f"127.0.0.1:{ports['h']}",
         "-https01", f"127.0.0.1:{ports['s']}", "-tlsalpn01", f"127.0.0.1:{ports['t']}",
         "-defaultIPv6", ""],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=_CLEAN_ENV, cwd=tmp,
    )
    _Output(challtestsrv).wait_for("management server")
    _wait_listening(ports["ct"])
    pebble = subprocess.Popen(
        ["pebble", "-config", str(tmp / "pebble.json"), "-dnsserver",
         f"127.0.0.1:{ports['dns']}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env={**_CLEAN_ENV, **PEBBLE_ENV}, cwd=tmp,
    )
    _Output(pebble).wait_for(f"Listening on: 127.0.0.1:{ports['acme']}")
    _wait_listening(ports["acme"])
    _wait_listening(ports["mgmt"])
    return Target("pebble", f"https://localhost:{ports['acme']}/dir", str(tmp / "ca.pem"),
                  f"http://127.0.0.1:{ports['ct']}", f"https://localhost:{ports['mgmt']}",
                  ports["dns"], ports["h"], ports["s"], ports["t"], [pebble, challtestsrv])


@pytest.fixture(scope="module", params=["fake", "pebble"])
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Target]:
    """The CA and challenge server under test, started once for the module."""
    tmp = tmp_path_factory.mktemp(request.param)
    if request.param == "pebble":
        if not (shutil.which("pebble") and shutil.which("pebble-challtestsrv")):
            pytest.skip("Debian's pebble package is not installed")
        started = _start_pebble(tmp)
    else:
        started = _start_fake(tmp)
    yield started
    started.stop()


def _acme(target: Target) -> tuple[client.ClientV2, jose.JWK]:
    """A registered account of certbot's acme library, and its key."""
    key = jose.JWKEC(key=ec_key())
    net = client.ClientNetwork(key, alg=jose.ES256,
                               verify_ssl=target.ca_bundle)  # type: ignore[arg-type]
    acme = client.ClientV2(client.ClientV2.get_directory(target.directory, net), net)
    acme.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True))
    return acme, key


# Readiness and URLs.


def test_the_directory_answers_with_urls_on_the_host_the_suite_used(target: Target) -> None:
    answer = requests.get(target.directory, verify=target.ca_bundle, timeout=10)
    assert answer.status_code == 200
    body = answer.json()
    for key in ("newNonce", "newAccount", "newOrder", "revokeCert", "keyChange"):
        assert body[key].startswith(target.directory.rsplit("/", 1)[0] + "/"), body[key]


# challtestsrv: DNS records.


def test_add_a_stores_any_address_and_clear_a_restores_the_default(target: Target) -> None:
    assert target.post("/add-a", {"host": "far.example.", "addresses": ["1.1.1.1", "2.2.2.2"]}
                       ).status_code == 200
    answer = target.query("far.example.", "A")
    assert [r.to_text() for rrset in answer.answer for r in rrset] == ["1.1.1.1", "2.2.2.2"]
    assert target.post("/clear-a", {"host": "far.example."}).status_code == 200
    answer = target.query("far.example.", "A")
    assert [r.to_text() for rrset in answer.answer for r in rrset] == ["127.0.0.1"]


def test_aaaa_records_and_the_default_ipv6(target: Target) -> None:
    assert target.query("v6.example.", "AAAA").answer == []
    target.post("/add-aaaa", {"host": "v6.example.", "addresses": ["::2"]})
    assert [r.to_text() for s in target.query("v6.example.", "AAAA").answer for r in s] == ["::2"]
    target.post("/clear-aaaa", {"host": "v6.example."})
    target.post("/set-default-ipv6", {"ip": "::1"})
    try:
        assert [r.to_text() for s in target.query("other.example.", "AAAA").answer
                for r in s] == ["::1"]
    finally:
        target.post("/set-default-ipv6", {"ip": ""})
    assert target.query("other.example.", "AAAA").answer == []


def test_set_default_ipv4(target: Target) -> None:
    target.post("/set-default-ipv4", {"ip": "127.0.0.9"})
    try:
        assert [r.to_text() for s in target.query("any.example.", "A").answer
                for r in s] == ["127.0.0.9"]
    finally:
        target.post("/set-default-ipv4", {"ip": "127.0.0.1"})


def test_set_txt_adds_and_clear_txt_removes_all(target: Target) -> None:
    host = "_acme-challenge.txt.example."
    for value in ("first", "second"):
        assert target.post("/set-txt", {"host": host, "value": value}).status_code == 200
    values = sorted(r.to_text() for s in target.query(host, "TXT").answer for r in s)
    assert values == ['"first"', '"second"']
    assert target.post("/clear-txt", {"host": host}).status_code == 200
    assert target.query(host, "TXT").answer == []


def test_caa_cname_and_servfail(target: Target) -> None:
    target.post("/add-caa", {"host": "caa.example.",
                             "policies": [{"tag": "issue", "value": "other-ca.example"}]})
    assert [r.to_text() for s in target.query("caa.example.", "CAA").answer for r in s] == [
        '0 issue "other-ca.example"']
    target.post("/clear-caa", {"host": "caa.example."})
    assert target.query("caa.example.", "CAA").answer == []
    target.post("/set-cname", {"host": "alias.example.", "target": "real.example."})
    answer = target.query("alias.example.", "CNAME")
    assert [r.to_text() for s in answer.answer for r in s] == ["real.example."]
    target.post("/clear-cname", {"host": "alias.example."})
    assert target.query("alias.example.", "CNAME").answer == []
    target.post("/set-servfail", {"host": "broken.example."})
    assert target.query("broken.example.", "A").rcode() == dns.rcode.SERVFAIL
    target.post("/clear-servfail", {"host": "broken.example."})
    assert target.query("broken.example.", "A").rcode() == dns.rcode.NOERROR


def test_a_missing_field_is_an_empty_400_and_an_empty_body_says_so(target: Target) -> None:
    for path, body in (("/add-a", {"host": "x.example."}), ("/set-txt", {"value": "v"}),
                       ("/add-http01", {"token": "t"}), ("/add-tlsalpn01", {"host": "x"})):
        answer = target.post(path, body)
        assert (answer.status_code, answer.content) == (400, b""), path
    empty = requests.post(target.challtestsrv + "/set-txt", data=b"", timeout=10)
    assert empty.status_code == 400
    assert empty.text.lower() == "expected json post body, was empty\n"


# challtestsrv: the responders and their history.


def test_http01_tokens_redirects_and_history(target: Target) -> None:
    base = f"http://127.0.0.1:{target.http01}"
    assert target.post("/add-http01", {"token": "tok", "content": "key.auth"}).status_code == 200
    got = requests.get(base + "/.well-known/acme-challenge/tok", timeout=10)
    assert (got.status_code, got.text) == (200, "key.auth")
    unknown = requests.get(base + "/.well-known/acme-challenge/nope", timeout=10)
    assert (unknown.status_code, unknown.text) == (200, "")
    target.post("/add-redirect", {"path": "/moved", "targetURL": "http://elsewhere.example/"})
    moved = requests.get(base + "/moved", allow_redirects=False, timeout=10)
    assert (moved.status_code, moved.headers["Location"]) == (302, "http://elsewhere.example/")
    target.post("/del-redirect", {"path": "/moved"})
    assert requests.get(base + "/moved", allow_redirects=False, timeout=10).status_code == 200
    target.post("/del-http01", {"token": "tok"})
    assert requests.get(base + "/.well-known/acme-challenge/tok", timeout=10).text == ""
    history = target.post("/http-request-history", {"host": "127.0.0.1"})
    assert history.headers["Content-Type"] == "application/json; charset=utf-8"
    urls = [event["URL"] for event in history.json()]
    assert urls[-3:] == ["/moved", "/moved", "/.well-known/acme-challenge/tok"]
    assert history.json()[-1]["Host"] == f"127.0.0.1:{target.http01}"
    assert target.post("/clear-request-history", {"host": "127.0.0.1", "type": "http"}).ok
    assert target.post("/http-request-history", {"host": "127.0.0.1"}).json() == []
    bad = target.post("/clear-request-history", {"host": "127.0.0.1", "type": "HTTP"})
    assert (bad.status_code, bad.text) == (400, '"HTTP" event type unknown\n')


def test_tlsalpn01_certificates_and_history(target: Target) -> None:
    target.post("/add-tlsalpn01", {"host": "alpn.example", "content": "key.auth"})
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["acme-tls/1"])
    with socket.create_connection(("127.0.0.1", target.tlsalpn01), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname="alpn.example") as conn:
        assert conn.selected_alpn_protocol() == "acme-tls/1"
        der = conn.getpeercert(binary_form=True)
    assert der is not None
    cert = x509.load_der_x509_certificate(der)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["alpn.example"]
    acme_ext = cert.extensions.get_extension_for_oid(_ACME_IDENTIFIER)
    assert acme_ext.critical
    assert isinstance(acme_ext.value, x509.UnrecognizedExtension)
    assert acme_ext.value.value == b"\x04\x20" + hashlib.sha256(b"key.auth").digest()
    with socket.create_connection(("127.0.0.1", target.tlsalpn01), timeout=10) as raw, \
            pytest.raises(ssl.SSLError, match="INTERNAL_ERROR"):
        context.wrap_socket(raw, server_hostname="unknown.example")
    events = target.post("/tlsalpn01-request-history", {"host": "alpn.example"}).json()
    assert events[-1] == {"ServerName": "alpn.example", "SupportedProtos": ["acme-tls/1"]}
    target.post("/del-tlsalpn01", {"host": "alpn.example"})
    with socket.create_connection(("127.0.0.1", target.tlsalpn01), timeout=10) as raw, \
            pytest.raises(ssl.SSLError):
        context.wrap_socket(raw, server_hostname="alpn.example")


def test_dns_history_records_questions(target: Target) -> None:
    target.query("asked.example.", "TXT")
    events = target.post("/dns-request-history", {"host": "asked.example"}).json()
    assert events[-1]["Question"] == {"Name": "asked.example.", "Qtype": 16, "Qclass": 1}
    empty = target.post("/dns-request-history", {"host": ""})
    assert (empty.status_code, empty.text) == (400, "host parameter of POST body must not be "
                                               "empty\n")


# A whole issuance answered by the challenge server: http-01, https-01 by redirect, tls-alpn-01.


def test_an_issuance_answered_by_the_challenge_server(target: Target) -> None:
    acme, key = _acme(target)
    names = ["h.example", "r.example", "t.example"]
    order = acme.new_order(make_csr(names))
    for authzr in order.authorizations:
        name = authzr.body.identifier.value
        if name == "t.example":
            challb = pick_challenge(authzr, "tls-alpn-01")
            token = challb.to_partial_json()["token"]  # read from its JSON: no acme class
            key_authorization = f"{token}.{jose.b64encode(key.thumbprint()).decode()}"
            target.post("/add-tlsalpn01", {"host": name, "content": key_authorization})
        else:
            challb = pick_challenge(authzr, "http-01")
            assert isinstance(challb.chall, challenges.HTTP01)
            _, validation = challb.chall.response_and_validation(key)
            token = challb.chall.encode("token")
            target.post("/add-http01", {"token": token, "content": validation})
            if name == "r.example":
                # To https on the challenge server's https-01 port (the VA's stand-in for 443).
                target.post("/add-redirect", {
                    "path": f"/.well-known/acme-challenge/{token}",
                    "targetURL": f"https://r.example:{target.https01}/.well-known/"
                                 f"acme-challenge/{token}",
                })
        acme.answer_challenge(challb, challenge_response(key, challb))
    finished = acme.poll_and_finalize(order)
    leaf = x509.load_pem_x509_certificates(finished.fullchain_pem.encode())[0]
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(san.get_values_for_type(x509.DNSName)) == names
    events = target.post("/http-request-history", {"host": "r.example"}).json()
    assert {e["HTTPS"] for e in events} == {False, True}  # redirected from http to https
    # Pebble's management API knows the certificate by its serial.
    status = target.management(f"/cert-status-by-serial/{leaf.serial_number:x}")
    assert status.status_code == 200
    assert status.json()["Status"] == "Valid"
    assert status.json()["Serial"] == f"{leaf.serial_number:x}"
    assert x509.load_pem_x509_certificate(status.json()["Certificate"].encode()) == leaf
    acme.revoke(leaf, 4)
    revoked = target.management(f"/cert-status-by-serial/{leaf.serial_number:X}").json()
    assert (revoked["Status"], revoked["Reason"]) == ("Revoked", 4)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC", revoked["RevokedAt"])
    assert target.management("/cert-status-by-serial/0x12").status_code == 400
    assert target.management("/cert-status-by-serial/abc123").status_code == 404


# Pebble's management API: the hierarchy by chain.


def test_roots_and_intermediates_by_chain_with_alternate_links(target: Target) -> None:
    subjects = set()
    for n in range(3):
        root = target.management(f"/roots/{n}")
        assert root.status_code == 200
        assert root.headers["Content-Type"] == "application/pem-certificate-chain; charset=utf-8"
        subjects.add(x509.load_pem_x509_certificate(root.content).subject)
    assert len(subjects) == 3  # a root of its own per chain
    middle = target.management("/intermediates/1")
    links = sorted(middle.headers["Link"].split(", "))
    assert links == [f'<{target.pebble_management}/intermediates/{n}>;rel="alternate"'
                     for n in (0, 2)]
    intermediate = x509.load_pem_x509_certificate(middle.content)
    key = target.management("/intermediate-keys/1")
    assert key.headers["Content-Type"] == "application/x-pem-file; charset=utf-8"
    assert key.text.startswith("-----BEGIN RSA PRIVATE KEY-----")
    private = serialization.load_pem_private_key(key.content, None)
    assert private.public_key() == intermediate.public_key()
    root_key = serialization.load_pem_private_key(target.management("/root-keys/0").content, None)
    first_root = x509.load_pem_x509_certificate(target.management("/roots/0").content)
    assert root_key.public_key() == first_root.public_key()
    for bad in ("/roots/3", "/roots/x", "/intermediates/", "/intermediate-keys/-1"):
        answer = target.management(bad)
        assert (answer.status_code, answer.content) == (404, b""), bad


def test_set_renewal_info_answers_renewalinfo_verbatim(target: Target) -> None:
    if target.name == "pebble":
        pytest.skip("/set-renewal-info/ came with Pebble 2.8; Debian ships 2.4.0")
    acme, key = _acme(target)
    name = "ari.example"
    order = acme.new_order(make_csr([name]))
    challb = pick_challenge(order.authorizations[0], "http-01")
    assert isinstance(challb.chall, challenges.HTTP01)
    _, validation = challb.chall.response_and_validation(key)
    target.post("/add-http01", {"token": challb.chall.encode("token"), "content": validation})
    acme.answer_challenge(challb, challenge_response(key, challb))
    finished = acme.poll_and_finalize(order)
    pem = finished.fullchain_pem.split("-----END CERTIFICATE-----")[0] + (
        "-----END CERTIFICATE-----\n")
    verbatim = '{"suggestedWindow": "whenever"'  # invalid JSON on purpose
    set_answer = target.management("/set-renewal-info/", method="POST",
                                   data=json.dumps({"certificate": pem, "ariResponse": verbatim}))
    assert (set_answer.status_code, set_answer.content) == (200, b"")
    assert "Replay-Nonce" in set_answer.headers
    leaf = x509.load_pem_x509_certificate(pem.encode())
    from pytest_fakeacme.renewal import cert_id

    directory = requests.get(target.directory, verify=target.ca_bundle, timeout=10).json()
    info = requests.get(f"{directory['renewalInfo']}/{cert_id(leaf)}", verify=target.ca_bundle,
                        timeout=10)
    assert (info.status_code, info.text, info.headers["Retry-After"]) == (200, verbatim, "21600")
    missing = target.management("/set-renewal-info/", method="GET")
    assert missing.status_code == 405
    assert missing.json()["detail"] == "Method not allowed"
    bad = target.management("/set-renewal-info/", method="POST", data=json.dumps(
        {"certificate": "not a PEM", "ariResponse": "x"}))
    assert (bad.status_code, bad.json()["detail"]) == (400, "Error decoding certificate PEM")
