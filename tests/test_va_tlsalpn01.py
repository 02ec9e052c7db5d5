"""Real tls-alpn-01 validation (RFC 8737) against a TLS responder on loopback."""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import ipaddress
import socket
import ssl
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import josepy as jose
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from boulder_table import expect, reproduces
from client import TLSALPN01, AcmeTestClient, Info, answer, make_ip_csr, pick_challenge, validate
from pytest_fakeacme import FakeACME

ACME_ID = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.31")


def validation_cert(
    name: str, digest: bytes, *, critical: bool = True, san: str | None = None,
    extension: bool = True, ip: bool = False,
) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "acme-tls")])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address(name)) if ip else x509.DNSName(san or name)]),
            critical=False)
    )
    if extension:
        builder = builder.add_extension(
            x509.UnrecognizedExtension(ACME_ID, b"\x04\x20" + digest), critical=critical
        )
    cert = builder.sign(key, hashes.SHA256())
    return (
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption()),
    )


class TlsResponder:
    """Answers TLS handshakes on a port with a chosen certificate and ALPN support."""

    def __init__(self, port: int) -> None:
        self.listener = socket.create_server(("127.0.0.1", port))
        self.context: ssl.SSLContext | None = None
        self.handshakes = 0
        self.server_names: list[str | None] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def use(self, cert_pem: bytes, key_pem: bytes, alpn: bool = True) -> None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "c.pem").write_bytes(cert_pem)
            (Path(tmp) / "k.pem").write_bytes(key_pem)
            ctx.load_cert_chain(str(Path(tmp) / "c.pem"), str(Path(tmp) / "k.pem"))
        if alpn:
            ctx.set_alpn_protocols(["acme-tls/1"])

        def note_sni(_sock: object, server_name: str | None, _ctx: object) -> None:
            self.server_names.append(server_name)

        ctx.sni_callback = note_sni
        self.context = ctx

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            try:
                assert self.context is not None
                with self.context.wrap_socket(conn, server_side=True):
                    self.handshakes += 1
            except (OSError, ssl.SSLError):
                conn.close()

    def close(self) -> None:
        # shutdown() wakes the accept() blocked in the serving thread; close() alone does not.
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self._thread.join()


@pytest.fixture
def tls_responder(fake_acme: FakeACME) -> Iterator[TlsResponder]:
    responder = TlsResponder(fake_acme.tls_alpn01_port)
    yield responder
    responder.close()


def _validate(fake: FakeACME, client: AcmeTestClient, responder: TlsResponder, name: str,
              **variant: object) -> dict[str, Any]:
    """Order ``name``, have ``responder`` present a validation certificate for it (``variant``:
    ``alpn=False``, ``wrong_digest=True`` or :func:`validation_cert`'s flaws), validate
    tls-alpn-01 and read back the challenge."""
    alpn = bool(variant.pop("alpn", True))
    wrong_digest = bool(variant.pop("wrong_digest", False))

    def present(info: Info) -> None:
        digest = hashlib.sha256(b"something else" if wrong_digest else info.key_authz.encode())
        responder.use(*validation_cert(name, digest.digest(), **variant),  # type: ignore[arg-type]
                      alpn=alpn)

    return validate(fake, client, name, TLSALPN01, setup=present).challenge


def test_valid_certificate_validates(
    fake_acme: FakeACME, acme_client: AcmeTestClient, tls_responder: TlsResponder
) -> None:
    chall = _validate(fake_acme, acme_client, tls_responder, "a.example")
    assert chall["status"] == "valid"
    assert chall["validationRecord"] == [{
        "hostname": "a.example", "port": str(fake_acme.tls_alpn01_port),
        "addressesResolved": ["127.0.0.1"], "addressUsed": "127.0.0.1",
    }]
    assert tls_responder.handshakes == 1


def test_a_tls_alpn_client_gets_a_certificate(
    fake_acme: FakeACME, acme_client: AcmeTestClient, tls_responder: TlsResponder
) -> None:
    order = acme_client.new_order("a.example")
    chall = pick_challenge(order.authorizations[0], TLSALPN01)
    token = chall.to_partial_json()["token"]
    key_authz = f"{token}.{jose.b64encode(acme_client.key.thumbprint()).decode()}"
    tls_responder.use(*validation_cert("a.example", hashlib.sha256(key_authz.encode()).digest()))
    answer(acme_client, chall)
    done = acme_client.poll_and_finalize(order)
    leaf = x509.load_pem_x509_certificates(done.fullchain_pem.encode())[0]
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["a.example"]


@pytest.mark.parametrize(
    ("variant", "reason"),
    [
        ({"wrong_digest": True}, "Received certificate with acmeValidationV1 extension value "),
        ({"critical": False},
         "Received certificate with acmeValidationV1 extension that is not Critical."),
        ({"extension": False},
         'Received certificate with unexpected extensions: "Required extension OID '
         '1.3.6.1.5.5.7.1.31 is not present"'),
        ({"san": "other.example"},
         'Received certificate with unexpected identifiers ("acme-tls, other.example"): '
         '"identifier does not match expected identifier"'),
    ],
)
def test_bad_certificates_are_unauthorized(
    fake_acme: FakeACME,
    acme_client: AcmeTestClient,
    tls_responder: TlsResponder,
    variant: dict[str, object],
    reason: str,
) -> None:
    chall = _validate(fake_acme, acme_client, tls_responder, "a.example", **variant)
    error = chall["error"]
    assert isinstance(error, dict)
    assert error["type"] == "urn:ietf:params:acme:error:unauthorized"
    assert error["status"] == 403
    assert error["detail"].startswith(
        "Incorrect validation certificate for tls-alpn-01 challenge. Requested a.example from "
        f"127.0.0.1:{fake_acme.tls_alpn01_port}. " + reason
    )


def test_handshake_without_alpn_is_refused(
    fake_acme: FakeACME, acme_client: AcmeTestClient, tls_responder: TlsResponder
) -> None:
    chall = _validate(fake_acme, acme_client, tls_responder, "a.example", alpn=False)
    error = chall["error"]
    assert isinstance(error, dict)
    assert error["detail"] == (
        'Cannot negotiate ALPN protocol "acme-tls/1" for tls-alpn-01 challenge'
    )


def test_nothing_listening_is_connection_refused(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    error = validate(fake_acme, acme_client, "a.example", TLSALPN01).error
    assert error is not None
    assert (error["type"], error["detail"]) == (
        "urn:ietf:params:acme:error:connection", "127.0.0.1: Connection refused"
    )


# Addresses (va/tlsalpn.go:105-139): the first AAAA, then on any error the first A.


def _listening_on_ipv6(port: int) -> bool:
    try:
        with socket.create_server(("::1", port), family=socket.AF_INET6):
            return True
    except OSError:
        return False


def test_no_ipv4_fallback_is_malformed(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    if not _listening_on_ipv6(fake_acme.tls_alpn01_port):
        pytest.skip("::1 cannot be bound here")
    fake_acme.dns.add_aaaa("a.example", "::1")  # nothing listens there

    result = validate(fake_acme, acme_client, "a.example", TLSALPN01)

    assert result.error is not None
    expect("alpn-16", result.error, "a.example", "::1")
    assert [r["addressUsed"] for r in result.records] == ["::1"]


@reproduces("alpn-17", "h01-39")
def test_a_failing_ipv6_address_falls_back_to_the_first_ipv4_one(
    fake_acme: FakeACME, acme_client: AcmeTestClient, tls_responder: TlsResponder
) -> None:
    if not _listening_on_ipv6(fake_acme.tls_alpn01_port):
        pytest.skip("::1 cannot be bound here")
    fake_acme.dns.add_aaaa("a.example", "::1")  # nothing listens there
    fake_acme.dns.add_a("a.example", "127.0.0.1")

    def present(info: Info) -> None:
        digest = hashlib.sha256(info.key_authz.encode()).digest()
        tls_responder.use(*validation_cert("a.example", digest))

    result = validate(fake_acme, acme_client, "a.example", TLSALPN01, setup=present)

    result.passed()
    assert result.records == [{
        "hostname": "a.example", "port": str(fake_acme.tls_alpn01_port),
        "addressesResolved": ["::1", "127.0.0.1"], "addressUsed": "127.0.0.1",
        "addressesTried": ["::1"],
    }]


@reproduces("alpn-18")
def test_the_sni_of_an_ip_identifier_is_its_reverse_name(
    fake_acme: FakeACME, acme_client: AcmeTestClient, tls_responder: TlsResponder
) -> None:
    order = acme_client.acme.new_order(make_ip_csr("127.0.0.1"), profile="shortlived")
    challb = pick_challenge(order.authorizations[0], TLSALPN01)
    token = challb.to_partial_json()["token"]
    key_authz = f"{token}.{jose.b64encode(acme_client.key.thumbprint()).decode()}"
    tls_responder.use(*validation_cert("127.0.0.1", hashlib.sha256(key_authz.encode()).digest(),
                                       ip=True))

    answer(acme_client, challb)

    assert acme_client.read(order.authorizations[0].uri)["status"] == "valid"
    # Go's crypto/tls sends the reverse name without its trailing dot.
    assert tls_responder.server_names == ["1.0.0.127.in-addr.arpa"]
