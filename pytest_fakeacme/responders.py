"""Challenge responders the fake runs itself, as pebble-challtestsrv does, for suites written for
it: an http-01 responder (tokens and redirects) on the fake's http-01 port, the same on HTTPS on
the VA's https port (for http-01 redirected to https), and a tls-alpn-01 responder on the
fake's tls-alpn-01 port.

Each starts when it is first given something to serve, so it never holds a port a test's own
responder wants, and all stop at ``reset()``. Their answers follow challtestsrv
(``cmd/pebble-challtestsrv`` and its ``challtestsrv`` library): a known token's content, a
``302`` for a redirected path on plain HTTP, an empty ``200`` for anything else; a tls-alpn-01
certificate minted for the server name asked for, or a fatal ``internal_error`` alert.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import ipaddress
import socket
import socketserver
import ssl
import tempfile
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .clock import Clock
from .config import Ports
from .errors import FakeACMEError
from .history import History
from .transport import InThread

_CHALLENGE_PATH = "/.well-known/acme-challenge/"
ACME_TLS_1 = "acme-tls/1"
#: RFC 8737 3: id-pe-acmeIdentifier.
_ACME_IDENTIFIER = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.31")
#: A fatal internal_error alert (TLS 1.2 record: type 21, version, length 2, level 2, code 80),
#: what challtestsrv's handshake sends for an unknown server name or a wrong ALPN offer.
_INTERNAL_ERROR_ALERT = b"\x15\x03\x03\x00\x02\x02\x50"
#: cryptography cannot write Go's zero time (year 1): the earliest date it can, likewise expired.
_LONG_AGO = _dt.datetime(1950, 1, 1, tzinfo=_dt.timezone.utc)
_IO_TIMEOUT = 5.0


class ChallengeData:
    """What the responders serve: http-01 tokens, redirects, tls-alpn-01 key authorizations.
    Thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tokens: dict[str, str] = {}
        self.redirects: dict[str, str] = {}
        self.alpn: dict[str, str] = {}


def _pem_files(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory(prefix="fakeacme-responder-") as folder:
        cert_path, key_path = Path(folder, "cert.pem"), Path(folder, "key.pem")
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        context.load_cert_chain(cert_path, key_path)
    return context


def _https_context(now: _dt.datetime) -> ssl.SSLContext:
    """challtestsrv's HTTPS certificate: self-signed ECDSA P-256, ``CN=challenge test server``,
    no SANs, a year's validity (``challtestsrv/httpone.go``); clients must not verify it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "challenge test server")])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(hours=1))
        .not_valid_after(now + _dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, False, False, False),
                       critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                              ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _pem_files(cert, key)


def _alpn_context(server_name: str, key_authorization: str,
                  key: ec.EllipticCurvePrivateKey) -> ssl.SSLContext:
    """A tls-alpn-01 certificate for ``server_name`` (RFC 8737 3): self-signed, the name as its
    only SAN, the critical acmeIdentifier extension holding SHA-256 of the key authorization.
    A reverse-DNS name (RFC 8738 6) gets the IP address as its SAN, so that IP identifiers
    validate too (challtestsrv puts the name itself there, which no VA accepts)."""
    digest = hashlib.sha256(key_authorization.encode("utf-8")).digest()
    san: x509.GeneralName = x509.DNSName(server_name)
    address = _reverse_pointer_address(server_name)
    if address is not None:
        san = x509.IPAddress(address)
    cert = (
        x509.CertificateBuilder().subject_name(x509.Name([])).issuer_name(x509.Name([]))
        .public_key(key.public_key()).serial_number(1729)
        .not_valid_before(_LONG_AGO).not_valid_after(_LONG_AGO)
        .add_extension(x509.SubjectAlternativeName([san]), critical=True)
        .add_extension(x509.UnrecognizedExtension(_ACME_IDENTIFIER, b"\x04\x20" + digest),
                       critical=True)
        .sign(key, hashes.SHA256())
    )
    context = _pem_files(cert, key)
    context.set_alpn_protocols([ACME_TLS_1])
    return context


def _reverse_pointer_address(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    labels = name.lower().rstrip(".").split(".")
    try:
        if labels[-2:] == ["in-addr", "arpa"] and len(labels) == 6:
            return ipaddress.IPv4Address(".".join(reversed(labels[:4])))
        if labels[-2:] == ["ip6", "arpa"] and len(labels) == 34:
            nibbles = "".join(reversed(labels[:32]))
            return ipaddress.IPv6Address(int(nibbles, 16))
    except ValueError:
        return None
    return None


class _HttpHandler(BaseHTTPRequestHandler):
    """challtestsrv's http-01 handler (``challtestsrv/httpone.go`` ``ServeHTTP``), any method."""

    server: _HttpServer
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        data, https = self.server.data, self.server.https
        server_name = ""
        if https and isinstance(self.connection, ssl.SSLSocket):
            server_name = self.server.names.get(id(self.connection), "")
        self.server.history.http(self.path, self.headers.get("Host", ""), https, server_name,
                                 self.headers.get("User-Agent", ""))
        path = urlsplit(self.path).path
        with data.lock:
            target = None if https else data.redirects.get(path)
            content = data.tokens.get(path[len(_CHALLENGE_PATH):]) if path.startswith(
                _CHALLENGE_PATH) else None
        if target is not None:
            base = f"http://{self.headers.get('Host', '')}{self.path}"
            self._answer(302, b"", location=urljoin(base, target))
            return
        body = (content or "").encode("utf-8")
        self._answer(200, body, content_type="text/plain; charset=utf-8" if body else None)

    def _answer(self, status: int, body: bytes, *, location: str | None = None,
                content_type: str | None = None) -> None:
        self.send_response(status)
        if location is not None:
            self.send_header("Location", location)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _serve  # noqa: N815

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, data: ChallengeData, history: History,
                 tls: ssl.SSLContext | None) -> None:
        self.data, self.history, self.https, self.tls = data, history, tls is not None, tls
        #: The server name each TLS connection asked for, by connection.
        self.names: dict[int, str] = {}
        if tls is not None:
            tls.sni_callback = self._note_name
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), _HttpHandler)

    def _note_name(self, sock: ssl.SSLObject | ssl.SSLSocket, name: str | None,
                   context: ssl.SSLContext) -> None:
        self.names[id(sock)] = name or ""

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(_IO_TIMEOUT)
        try:
            conn = self.tls.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        try:
            super().finish_request(conn, client_address)
        finally:
            self.names.pop(id(conn), None)
            conn.close()


def _client_hello(sock: socket.socket) -> tuple[str, list[str] | None] | None:
    """The server name and ALPN protocols of the ClientHello waiting on ``sock`` (peeked, not
    read; RFC 8446 4.1.2, RFC 6066 3, RFC 7301 3.1); None when it is not one."""
    head = sock.recv(5, socket.MSG_PEEK)
    if len(head) < 5 or head[0] != 0x16:
        return None
    size = 5 + int.from_bytes(head[3:5], "big")
    data = b""
    for _ in range(50):  # a record arrives in a few segments at most
        data = sock.recv(size, socket.MSG_PEEK)
        if len(data) >= size:
            break
    try:
        return _parse_client_hello(memoryview(data)[5:size])
    except (IndexError, ValueError):
        return None


def _parse_client_hello(body: memoryview) -> tuple[str, list[str] | None] | None:
    if body[0] != 1:
        return None
    at = 4 + 2 + 32  # handshake header, legacy_version, random
    at += 1 + body[at]  # session id
    at += 2 + int.from_bytes(body[at:at + 2], "big")  # cipher suites
    at += 1 + body[at]  # compression methods
    end = at + 2 + int.from_bytes(body[at:at + 2], "big")
    at += 2
    name, protocols = "", None
    while at + 4 <= end:
        kind, length = int.from_bytes(body[at:at + 2], "big"), int.from_bytes(body[at + 2:at + 4],
                                                                               "big")
        ext = body[at + 4:at + 4 + length]
        if kind == 0 and len(ext) > 5:  # server_name: list length, type 0, name length, name
            name = bytes(ext[5:5 + int.from_bytes(ext[3:5], "big")]).decode("ascii", "replace")
        elif kind == 16:  # application_layer_protocol_negotiation
            protocols, i = [], 2
            while i < len(ext):
                protocols.append(bytes(ext[i + 1:i + 1 + ext[i]]).decode("ascii", "replace"))
                i += 1 + ext[i]
        at += 4 + length
    return name, protocols


class _AlpnHandler(socketserver.BaseRequestHandler):
    """challtestsrv's tls-alpn-01 listener (``challtestsrv/tlsalpnone.go``): the ClientHello is
    recorded, then refused with internal_error unless it offers exactly ``acme-tls/1`` for a
    known server name; a completed handshake is closed at once."""

    server: _AlpnServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(_IO_TIMEOUT)
        try:
            hello = _client_hello(sock)
        except OSError:
            return
        if hello is None:
            return
        name, protocols = hello
        self.server.history.tlsalpn(name, protocols)
        context = self.server.context_for(name) if protocols == [ACME_TLS_1] else None
        if context is None:
            sock.sendall(_INTERNAL_ERROR_ALERT)
            return
        try:
            with context.wrap_socket(sock, server_side=True) as conn:
                conn.unwrap()
        except (OSError, ssl.SSLError, ValueError):
            return


class _AlpnServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str, port: int, data: ChallengeData, history: History) -> None:
        self.data, self.history = data, history
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._contexts: dict[tuple[str, str], ssl.SSLContext] = {}
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), _AlpnHandler)

    def context_for(self, name: str) -> ssl.SSLContext | None:
        with self.data.lock:
            content = self.data.alpn.get(name)
        if content is None:
            return None
        key = (name, content)
        if key not in self._contexts:
            self._contexts[key] = _alpn_context(name, content, self._key)
        return self._contexts[key]


class Responders:
    """The responders, started on demand on the ports the VA connects to (``Ports``)."""

    def __init__(self, ports: Ports, history: History, clock: Clock,
                 host: str = "127.0.0.1") -> None:
        self._ports = ports
        self._clock = clock
        self._host = host
        self.history = history
        self.data = ChallengeData()
        self._lock = threading.Lock()
        self._running: dict[str, InThread] = {}

    def _ensure(self, kind: str, port: int, build: Callable[[], socketserver.BaseServer]) -> None:
        with self._lock:
            running = self._running.get(kind)
            if running is not None and running.port != port:
                running.stop()  # the port changed since it started
                running = None
            if running is None:
                try:
                    server = build()
                except OSError as exc:
                    raise FakeACMEError(
                        f"cannot serve {kind} on port {port}: {exc.strerror}"
                    ) from None
                self._running[kind] = InThread(server, f"fakeacme-{kind}")

    def _http01(self) -> None:
        port = self._ports.http01
        self._ensure("http-01", port,
                     lambda: _HttpServer(self._host, port, self.data, self.history, None))

    def add_http01(self, token: str, content: str) -> None:
        """Serve ``content`` for ``token`` on the fake's http-01 port (and on its https port,
        when a redirect sends the VA there)."""
        self._http01()
        with self.data.lock:
            self.data.tokens[token] = content

    def remove_http01(self, token: str) -> None:
        """Stop serving ``token`` (nothing happens if it was not served)."""
        with self.data.lock:
            self.data.tokens.pop(token, None)

    def add_redirect(self, path: str, target: str) -> None:
        """Answer plain-HTTP requests for exactly ``path`` with a 302 to ``target``; the https
        responder starts too, on the VA's https port, for targets that go there."""
        self._http01()
        port = self._ports.https
        self._ensure("https-01", port,
                     lambda: _HttpServer(self._host, port, self.data, self.history,
                                         _https_context(self._clock.now())))
        with self.data.lock:
            self.data.redirects[path] = target

    def remove_redirect(self, path: str) -> None:
        """Stop redirecting ``path``."""
        with self.data.lock:
            self.data.redirects.pop(path, None)

    def add_tlsalpn01(self, server_name: str, key_authorization: str) -> None:
        """Answer tls-alpn-01 handshakes for ``server_name`` on the fake's tls-alpn-01 port."""
        port = self._ports.tls_alpn01
        self._ensure("tls-alpn-01", port,
                     lambda: _AlpnServer(self._host, port, self.data, self.history))
        with self.data.lock:
            self.data.alpn[server_name] = key_authorization

    def remove_tlsalpn01(self, server_name: str) -> None:
        """Stop answering for ``server_name``."""
        with self.data.lock:
            self.data.alpn.pop(server_name, None)

    def stop(self) -> None:
        """Stop every responder and forget what they served (and their history)."""
        with self._lock:
            running, self._running = list(self._running.values()), {}
        for responder in running:
            responder.stop()
        with self.data.lock:
            self.data.tokens.clear()
            self.data.redirects.clear()
            self.data.alpn.clear()
        self.history.clear()
