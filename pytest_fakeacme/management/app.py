"""The management API's WSGI application: one router over the endpoint modules (the native
API, pebble-challtestsrv's, the dashboard's), answering ``{"error": ...}`` for bad input.

It is handed the fake's core and where the fake is, never the facade; every change goes through
the same Python objects as ``fake_acme.va.script(...)`` and friends, and bad input is a 400 that
changes nothing.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from werkzeug.wrappers import Request, Response

from .. import wire
from ..ca import CertificateAuthority
from ..core import Core
from ..crl import CRLs
from ..errors import FakeACMEError, FakeACMEUsageError
from . import challtestsrv, dashboard, native, pebble
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
        "endpoints": sorted([f"{m} {p}" for m, p in ROUTES]
                            + [f"POST {p}" for p in challtestsrv.ROUTES]
                            + [f"GET {p}<n>" for p in pebble.PREFIXES]
                            + [f"POST {_SET_RENEWAL_INFO}"]),
    }


_SET_RENEWAL_INFO = "/set-renewal-info/"


#: Every endpoint, by ``(method, path)``.
ROUTES: dict[tuple[str, str], Handler] = {
    **_overview.table,
    **native.routes.table,
    **dashboard.routes.table,
}


class ManagementApp:
    """The management API as a WSGI application."""

    def __init__(self, core: Core, ca: CertificateAuthority, endpoints: Endpoints,
                 crls: CRLs | None = None) -> None:
        self.context = Management(core, ca, endpoints, crls)

    def _for_request(self, request: Request) -> Management:
        """The context with URLs as this request names the fake (Boulder and Pebble build
        every URL from the request's ``Host``): under ``/_fake`` the ACME host itself; on a
        management port of its own, the same host name with the ACME port."""
        where = self.context.endpoints
        acme = urlsplit(where.urls.base)
        host = request.host
        if not request.script_root:
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            host = f"{name}:{acme.port}" if name else acme.netloc
        urls = wire.Urls(f"https://{host or acme.netloc}")
        management = urls.base + (request.script_root or "/_fake")
        endpoints = dataclasses.replace(where, urls=urls, management_url=management)
        return dataclasses.replace(self.context, endpoints=endpoints)

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
        context = self._for_request(request)
        if request.path in challtestsrv.ROUTES:
            return challtestsrv.answer(context, request.path, request.get_data())
        if request.path.rstrip("/") + "/" == _SET_RENEWAL_INFO:
            return pebble.set_renewal_info(context, request)
        for prefix, serve in pebble.PREFIXES.items():
            if request.path.startswith(prefix):
                return serve(context, request, request.path[len(prefix):])
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
            result = handler(context, body)
        except FakeACMEUsageError as exc:
            return json_response({"error": str(exc)}, 400)
        except FakeACMEError as exc:
            return json_response({"error": str(exc)}, 409)
        if isinstance(result, Response):
            return result
        return json_response(result if result is not None else {"ok": True})
