"""The management API's WSGI application: one router over the endpoint modules (the native
API, pebble-challtestsrv's, the dashboard's), answering ``{"error": ...}`` for bad input.

It is handed the fake's core and where the fake is, never the facade; every change goes through
the same Python objects as ``fake_acme.va.script(...)`` and friends, and bad input is a 400 that
changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from ..core import Core
from ..errors import FakeACMEError, FakeACMEUsageError
from . import challtestsrv, dashboard, native
from .context import Endpoints, Handler, Management, Routes, json_response

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

_overview = Routes()


@_overview.get("/")
def index(app: Management, body: Any) -> Any:
    """What the fake is and where: URLs, ports, endpoints."""
    core, where = app.core, app.endpoints
    return {
        "directory": where.urls.directory,
        "ca_bundle": where.ca_bundle,
        "roots": where.roots_path,
        "management": where.management_url,
        "dns": list(core.dns.address) if core.dns.address else None,
        "http01_port": core.ports.http01,
        "tls_alpn01_port": core.ports.tls_alpn01,
        "flavor": core.settings.flavor,
        "endpoints": sorted(f"{m} {p}" for m, p in ROUTES),
    }


#: Every endpoint, by ``(method, path)``.
ROUTES: dict[tuple[str, str], Handler] = {
    **_overview.table,
    **native.routes.table,
    **challtestsrv.routes.table,
    **dashboard.routes.table,
}


class ManagementApp:
    """The management API as a WSGI application."""

    def __init__(self, core: Core, endpoints: Endpoints) -> None:
        self.context = Management(core, endpoints)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse
                 ) -> Iterable[bytes]:
        request = Request(environ)
        return self.handle(request)(environ, start_response)

    def handle(self, request: Request) -> Response:
        """Answer one management request."""
        if request.path.endswith("/ui/"):
            # The page's assets are relative to .../ui without the slash.
            target = request.script_root + request.path[:-1]
            return Response("", status=301, headers={"Location": target})
        path = request.path.rstrip("/") or "/"
        handler = ROUTES.get((request.method if request.method != "HEAD" else "GET", path))
        if handler is None:
            known = sorted({p for _, p in ROUTES})
            if any(p == path for _, p in ROUTES):
                return json_response({"error": f"{request.method} not allowed on {path}"}, 405)
            return json_response({"error": f"no management endpoint {path}",
                                  "endpoints": known}, 404)
        body: Any = None
        if request.method == "POST":
            raw = request.get_data()
            try:
                body = json.loads(raw) if raw.strip() else {}
            except ValueError:
                return json_response({"error": "the request body is not JSON"}, 400)
        else:
            body = dict(request.args)
        try:
            result = handler(self.context, body)
        except FakeACMEUsageError as exc:
            return json_response({"error": str(exc)}, 400)
        except FakeACMEError as exc:
            return json_response({"error": str(exc)}, 409)
        if isinstance(result, Response):
            return result
        return json_response(result if result is not None else {"ok": True})
