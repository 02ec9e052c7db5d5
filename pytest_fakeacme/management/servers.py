"""The management API on a plain-HTTP loopback port, as pebble-challtestsrv serves its own."""

from __future__ import annotations

import socketserver
import threading
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from ..errors import BindError

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
            self._server = make_server(host, port, app, server_class=_Threaded,
                                       handler_class=_Quiet)
        except OSError as exc:
            raise BindError(exc.errno, exc.strerror or str(exc), address=f"{host}:{port}",
                            setting="management_port") from exc
        self.port = self._server.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True,
                                        name="fakeacme-management")
        self._thread.start()

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
