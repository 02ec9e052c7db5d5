"""A real HTTP responder on loopback for http-01, whose behaviour each test chooses.

Not a mock: the fake's VA talks to it over TCP exactly as it would to a client's web server.
Behaviours cover what the VA must classify: a body, any status, redirects (one, or a chain),
a stall (held on an Event, released at clear/close, never a sleep), a stall after the headers,
a connection reset, and raw bytes instead of HTTP (garbage, a short body, an HTTP/2 frame). With
``tls=`` it serves HTTPS (the VA only reaches https through a redirect); :func:`alert_context`
makes a TLS server that refuses every handshake with an alert.
"""

from __future__ import annotations

import contextlib
import http.server
import socket
import socketserver
import ssl
import struct
import threading
from dataclasses import dataclass, field
from typing import Any

import trustme


@dataclass
class Behaviour:
    """What the responder does for one path.

    ``raw`` replaces the whole HTTP response with these bytes (then the connection closes);
    ``stall`` holds the connection before answering, ``stall_body`` after the headers (which
    promise ``Content-Length`` bytes of ``body``), until the responder is cleared or closed.
    """

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    stall: bool = False
    stall_body: bool = False
    reset: bool = False
    raw: bytes | None = None


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        owner = self.server.owner
        owner.seen.append((self.path, dict(self.headers.items())))
        behaviour = owner.routes.get(self.path.split("?")[0]) or owner.routes.get(self.path)
        if behaviour is None:
            behaviour = Behaviour(status=404, body=b"not found")
        release = owner.release
        if behaviour.stall:
            release.wait(timeout=30)
            return
        if behaviour.reset:
            # SO_LINGER with a zero timeout makes close() send RST: a connection reset.
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
            self.connection.close()
            return
        if behaviour.raw is not None:
            self.wfile.write(behaviour.raw)
            self.wfile.flush()
            return
        self.send_response(behaviour.status)
        for key, value in behaviour.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(behaviour.body)))
        self.end_headers()
        if behaviour.stall_body:
            self.wfile.flush()
            release.wait(timeout=30)
            return
        self.wfile.write(behaviour.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: Responder
    tls: ssl.SSLContext | None = None

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host's name up (getfqdn); a loopback test server
        # has no use for it, and the lookup can be slow.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "localhost", self.server_address[1]

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake runs in the connection's own thread; a refused one just ends it.
        if self.tls is not None:
            request.settimeout(30)
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError):
                return
        try:
            super().finish_request(request, client_address)
        finally:
            with contextlib.suppress(OSError):
                request.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """The VA hanging up (after a timeout, a refusal) is expected; stay quiet."""


class _Server6(_Server):
    address_family = socket.AF_INET6


class Responder:
    """An http-01 responder listening on ``host:port`` (HTTPS with ``tls``)."""

    def __init__(
        self, port: int, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None
    ) -> None:
        self.routes: dict[str, Behaviour] = {}
        self.seen: list[tuple[str, dict[str, str]]] = []
        self.release = threading.Event()
        server_class = _Server6 if ":" in host else _Server
        self._server = server_class((host, port), _Handler)
        self._server.owner = self
        self._server.tls = tls
        self.host = host
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def serve(self, token: str, body: str | bytes) -> None:
        """Answer the challenge ``token`` with ``body`` (status 200)."""
        data = body.encode() if isinstance(body, str) else body
        self.set(f"/.well-known/acme-challenge/{token}", Behaviour(body=data))

    def set(self, path: str, behaviour: Behaviour) -> None:
        self.routes[path] = behaviour

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        self.set(path, Behaviour(status=status, headers={"Location": location}))

    def redirect_chain(
        self, path: str, base: str, hops: int, status: int = 302, prefix: str = "/hop/"
    ) -> list[str]:
        """Redirect ``path`` to ``{base}{prefix}1``, that to ``...2``, up to ``...{hops}``
        (which answers whatever is set for it, by default 404). Returns the targets, in
        order."""
        targets = [f"{base}{prefix}{n}" for n in range(1, hops + 1)]
        sources = [path] + [f"{prefix}{n}" for n in range(1, hops)]
        for source, target in zip(sources, targets, strict=True):
            self.redirect(source, target, status)
        return targets

    def clear(self) -> None:
        self.release.set()
        self.routes.clear()
        self.seen.clear()
        self.release = threading.Event()

    def close(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> Responder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def unused_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago and that nothing listens on (bound, then closed)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def tls_context(*names: str) -> ssl.SSLContext:
    """A server context with a certificate for ``names`` from a throwaway CA (the VA does not
    verify certificates after a redirect, as Boulder)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    trustme.CA().issue_cert(*(names or ("localhost",))).configure_cert(ctx)
    return ctx


def alert_context(alert: int = ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE) -> ssl.SSLContext:
    """A server context that answers every handshake (with SNI) with the TLS ``alert``."""
    ctx = tls_context("localhost")
    ctx.set_servername_callback(lambda sock, name, context: alert)
    return ctx
