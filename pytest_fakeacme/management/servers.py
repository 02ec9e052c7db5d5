"""The management API on a plain-HTTP loopback port, as pebble-challtestsrv serves its own."""

from __future__ import annotations

import socketserver
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from ..errors import BindError
from ..transport import InThread

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication


class PlainServer:
    """The management API on a plain-HTTP loopback port (for challtestsrv-style clients)."""

    def __init__(self, app: WSGIApplication, host: str = "127.0.0.1", port: int = 0) -> None:
        class _Quiet(WSGIRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        class _Threaded(socketserver.ThreadingMixIn, WSGIServer):
            daemon_threads = True

        try:
            server = make_server(host, port, app, server_class=_Threaded,
                                 handler_class=_Quiet)
        except OSError as exc:
            raise BindError(exc.errno, exc.strerror or str(exc), address=f"{host}:{port}",
                            setting="management_port") from exc
        self._running = InThread(server, "fakeacme-management")
        self.port = self._running.port
        self.url = f"http://{host}:{self.port}"

    def stop(self) -> None:
        """Stop serving."""
        self._running.stop()
