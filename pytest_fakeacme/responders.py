"""Challenge responders the fake runs itself, for suites written for pebble-challtestsrv: its
``/add-http01`` tokens are served here on the fake's http-01 port.

A responder starts when first given something to serve and stops at ``reset()``, so it never
holds a port that a test's own responder wants.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .config import Ports
from .errors import FakeACMEError

_CHALLENGE_PATH = "/.well-known/acme-challenge/"


class Http01Responder:
    """Answers ``/.well-known/acme-challenge/<token>`` with the content given for the token
    (404 for any other path or token)."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.tokens: dict[str, str] = {}
        tokens = self.tokens

        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                token = self.path[len(_CHALLENGE_PATH):] if self.path.startswith(
                    _CHALLENGE_PATH) else None
                content = tokens.get(token) if token is not None else None
                body = (content or "").encode()
                self.send_response(200 if content is not None else 404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

        self.port = port
        self._server = ThreadingHTTPServer((host, port), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True,
                                        name="fakeacme-http01")
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class Responders:
    """The responders started on demand, on the ports the VA connects to."""

    def __init__(self, ports: Ports) -> None:
        self._ports = ports
        self._lock = threading.Lock()
        self._http01: Http01Responder | None = None

    def add_http01(self, token: str, content: str) -> None:
        """Serve ``content`` for ``token`` on the fake's http-01 port (starting the responder,
        or moving it when the port changed since)."""
        with self._lock:
            port = self._ports.http01
            if self._http01 is not None and self._http01.port != port:
                self._http01.stop()
                self._http01 = None
            if self._http01 is None:
                try:
                    self._http01 = Http01Responder(port)
                except OSError as exc:
                    raise FakeACMEError(
                        f"cannot serve http-01 on port {port}: {exc.strerror}"
                    ) from None
            self._http01.tokens[token] = content

    def remove_http01(self, token: str) -> None:
        """Stop serving ``token`` (nothing happens if it was not served)."""
        with self._lock:
            if self._http01 is not None:
                self._http01.tokens.pop(token, None)

    def stop(self) -> None:
        """Stop every responder (their tokens are forgotten)."""
        with self._lock:
            responder, self._http01 = self._http01, None
        if responder is not None:
            responder.stop()
