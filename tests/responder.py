"""A real HTTP responder on loopback for http-01, whose behaviour each test chooses.

Not a mock: the fake's VA talks to it over TCP exactly as it would to a client's web server.
Behaviours cover what the VA must classify: a body, any status, redirects, a stall (held on an
Event, released at clear/close, never a sleep) and a connection reset.
"""

from __future__ import annotations

import http.server
import socket
import struct
import threading
from dataclasses import dataclass, field


@dataclass
class Behaviour:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    stall: bool = False
    reset: bool = False


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        self.server.owner.seen.append((self.path, dict(self.headers.items())))
        behaviour = self.server.owner.routes.get(self.path.split("?")[0]) or \
            self.server.owner.routes.get(self.path)
        if behaviour is None:
            behaviour = Behaviour(status=404, body=b"not found")
        if behaviour.stall:
            self.server.owner.release.wait(timeout=30)
            return
        if behaviour.reset:
            # SO_LINGER with a zero timeout makes close() send RST: a connection reset.
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
            self.connection.close()
            return
        self.send_response(behaviour.status)
        for key, value in behaviour.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(behaviour.body)))
        self.end_headers()
        self.wfile.write(behaviour.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: Responder


class Responder:
    """An http-01 responder listening on ``127.0.0.1:port``."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Behaviour] = {}
        self.seen: list[tuple[str, dict[str, str]]] = []
        self.release = threading.Event()
        self._server = _Server((host, port), _Handler)
        self._server.owner = self
        self.port = self._server.server_address[1]
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
