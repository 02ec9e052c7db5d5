"""The management API: every knob of the Python API as JSON over HTTP, for clients in any
language and for tests that drive the fake from another process.

Served under ``/_fake`` on the fake's own HTTPS port (``FakeACME.management_url``); ACME clients
never see it (the directory does not name it). The standalone server can also serve it on a
plain-HTTP port, where Pebble's ``pebble-challtestsrv`` endpoints (``/add-a``, ``/set-txt``,
``/add-http01``, ...) work too, so suites written for Pebble can point at the fake.

Every change goes through the same Python objects as ``fake_acme.va.script(...)`` and friends;
bad input is a 400 with ``{"error": "..."}`` and changes nothing.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from . import serial
from .errors import FakeACMEError, FakeACMEUsageError

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from .server import FakeACME

Handler = Callable[["ManagementApp", Any], Any]
_ROUTES: dict[tuple[str, str], Handler] = {}


def route(method: str, path: str) -> Callable[[Handler], Handler]:
    """Register a management endpoint."""
    def register(func: Handler) -> Handler:
        _ROUTES[(method, path)] = func
        return func
    return register


def _field(body: Any, name: str, kind: type | tuple[type, ...] = str, required: bool = True
           ) -> Any:
    if not isinstance(body, Mapping):
        raise FakeACMEUsageError("the request body must be a JSON object")
    if name not in body:
        if required:
            raise FakeACMEUsageError(f"missing field {name!r}")
        return None
    value = body[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise FakeACMEUsageError(f"field {name!r} has the wrong type: {value!r}")
    return value


class Http01Responder:
    """challtestsrv's http-01 server: answers ``/.well-known/acme-challenge/<token>`` with the
    content added by ``/add-http01``. Started on the fake's http-01 port on first use."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.tokens: dict[str, str] = {}
        tokens = self.tokens

        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                prefix = "/.well-known/acme-challenge/"
                content = tokens.get(self.path[len(prefix):]) if self.path.startswith(
                    prefix) else None
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
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class ManagementApp:
    """The management API as a WSGI application."""

    def __init__(self, fake: FakeACME) -> None:
        self.fake = fake
        self.http01: Http01Responder | None = None
        self._lock = threading.Lock()

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
        handler = _ROUTES.get((request.method if request.method != "HEAD" else "GET", path))
        if handler is None:
            known = sorted({p for _, p in _ROUTES})
            if any(p == path for _, p in _ROUTES):
                return _json({"error": f"{request.method} not allowed on {path}"}, 405)
            return _json({"error": f"no management endpoint {path}", "endpoints": known}, 404)
        body: Any = None
        if request.method == "POST":
            raw = request.get_data()
            try:
                body = json.loads(raw) if raw.strip() else {}
            except ValueError:
                return _json({"error": "the request body is not JSON"}, 400)
        else:
            body = dict(request.args)
        try:
            result = handler(self, body)
        except FakeACMEUsageError as exc:
            return _json({"error": str(exc)}, 400)
        except FakeACMEError as exc:
            return _json({"error": str(exc)}, 409)
        if isinstance(result, Response):
            return result
        return _json(result if result is not None else {"ok": True})

    def forget_tokens(self) -> None:
        """Drop every http-01 token added through ``/add-http01`` and free the port (on
        reset)."""
        self.stop()

    def stop(self) -> None:
        """Stop the http-01 responder, if one was started."""
        if self.http01 is not None:
            self.http01.stop()
            self.http01 = None


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, indent=2, default=str), status=status,
                    content_type="application/json")


# Overview and state


@route("GET", "/")
def index(app: ManagementApp, body: Any) -> Any:
    """What the fake is and where: URLs, ports, endpoints."""
    fake = app.fake
    return {
        "directory": fake.directory_url,
        "ca_bundle": fake.ca_bundle,
        "roots": fake.roots_path,
        "management": fake.management_url,
        "dns": list(fake.dns.address) if fake.dns.address else None,
        "http01_port": fake.http01_port,
        "tls_alpn01_port": fake.tls_alpn01_port,
        "flavor": fake.flavor,
        "endpoints": sorted(f"{m} {p}" for m, p in _ROUTES),
    }


@route("GET", "/state")
def state(app: ManagementApp, body: Any) -> Any:
    """Accounts, orders (with authorizations and challenges) and certificates (with PEM)."""
    fake = app.fake

    def challenge(c: Any) -> dict[str, Any]:
        return {"id": c.id, "url": c.url, "type": c.type, "token": c.token, "status": c.status,
                "validated": serial.timestamp(c.validated),
                "error": c.error.to_json() if c.error else None,
                "validationRecord": list(c.validation_record)}

    def authz(a: Any) -> dict[str, Any]:
        return {"id": a.id, "url": a.url, "identifier": a.identifier.to_json(),
                "wildcard": a.wildcard, "status": a.status,
                "expires": serial.timestamp(a.expires),
                "challenges": [challenge(c) for c in a.challenges]}

    return {
        "accounts": [{"id": a.id, "url": a.url, "status": a.status, "contact": list(a.contact),
                      "thumbprint": a.thumbprint} for a in fake.accounts],
        "orders": [{"id": o.id, "url": o.url, "account": o.account_id, "status": o.status,
                    "identifiers": [i.to_json() for i in o.identifiers],
                    "authorizations": [authz(a) for a in o.authorizations],
                    "certificate": o.certificate.url if o.certificate else None}
                   for o in fake.orders],
        "certificates": [{"id": c.id, "url": c.url, "serial": f"{c.serial:x}",
                          "names": c.names, "not_before": serial.timestamp(c.not_before),
                          "not_after": serial.timestamp(c.not_after), "revoked": c.revoked,
                          "pem": c.fullchain_pem} for c in fake.certificates],
    }


@route("GET", "/journal")
def journal(app: ManagementApp, body: Any) -> Any:
    """The journal's entries (requests, validations, transitions)."""
    entries = []
    for e in app.fake.journal:
        item: dict[str, Any] = {"seq": e.seq, "kind": e.kind, "at": serial.timestamp(e.at)}
        if e.kind == "request":
            jws = e.jws
            item.update(endpoint=e.endpoint, method=e.method, url=e.url, status=e.status,
                        account=e.account_id, headers=e.headers,
                        protected=jws.protected if jws else None,
                        payload=jws.payload if jws else None)
        elif e.kind == "validation":
            item.update(identifier=e.identifier, challenge_type=e.challenge_type,
                        outcome=e.outcome, records=list(e.records))
        else:
            item.update(object=e.object_kind, id=e.object_id, old=e.old, new=e.new,
                        cause=e.cause)
        item["problem"] = e.problem.to_json() if e.problem else None
        entries.append(item)
    return {"entries": entries, "dropped": app.fake.journal.dropped}


@route("GET", "/transcript")
def transcript(app: ManagementApp, body: Any) -> Any:
    """The journal as text."""
    verbose = str(body.get("verbose", "")).lower() in ("1", "true", "yes")
    last = body.get("last")
    entries = list(app.fake.journal)
    if last is not None:
        try:
            entries = entries[-max(int(last), 1):]
        except ValueError:
            raise FakeACMEUsageError("last must be a whole number") from None
    return Response(app.fake.journal.transcript(verbose, entries=entries) + "\n",
                    content_type="text/plain; charset=utf-8")


@route("POST", "/reset")
def reset(app: ManagementApp, body: Any) -> Any:
    """Forget all state, scripts and faults (``FakeACME.reset()``)."""
    app.fake.reset()


@route("POST", "/settings")
def settings(app: ManagementApp, body: Any) -> Any:
    """Change settings (``FakeACME.configure(**body)``), e.g. ``{"flavor": "rfc"}``."""
    if not isinstance(body, Mapping):
        raise FakeACMEUsageError("the request body must be a JSON object of settings")
    app.fake.configure(**body)
    return {"flavor": app.fake.flavor}


# The VA


@route("GET", "/va")
def va(app: ManagementApp, body: Any) -> Any:
    """The default outcome and what is still scripted."""
    return {
        "default": serial.outcome_to_json(app.fake.va.default),
        "scripted": {k: [serial.outcome_to_json(o) for o in v]
                     for k, v in app.fake.va.scripted().items()},
        "timeout": app.fake.va.timeout,
    }


@route("POST", "/va/script")
def va_script(app: ManagementApp, body: Any) -> Any:
    """``{"identifier": "a.example", "outcomes": [{"kind": "http_status", "params": {"code":
    404}}]}``: queue outcomes (``va.script``)."""
    identifier = _field(body, "identifier")
    items = _field(body, "outcomes", list)
    parsed = [serial.outcome_from_json(item) for item in items]  # all checked before any change
    app.fake.va.script(identifier, *parsed)
    return va(app, {})


@route("POST", "/va/default")
def va_default(app: ManagementApp, body: Any) -> Any:
    """``{"outcome": "valid"}``: what validations find when nothing is scripted."""
    outcome = serial.outcome_from_json(_field(body, "outcome", (str, dict)))
    app.fake.va.default = outcome
    return va(app, {})


@route("POST", "/va/clear")
def va_clear(app: ManagementApp, body: Any) -> Any:
    """Drop scripts and restore the default."""
    app.fake.va.clear()
    return va(app, {})


# Faults, clock, terms, EAB


@route("GET", "/faults")
def faults(app: ManagementApp, body: Any) -> Any:
    """Faults that can still fire."""
    return {"faults": [{"kind": f.kind, "endpoint": f.endpoint, "times": f.times,
                        "fired": f.fired, "problem": f.problem.to_json() if f.problem else None}
                       for f in app.fake.faults.active]}


@route("POST", "/faults")
def add_fault(app: ManagementApp, body: Any) -> Any:
    """``{"spec": "bad_nonce endpoint=newOrder times=2"}``, or ``{"problem": {...},
    "endpoint": "newOrder", "times": 1}`` for any problem."""
    if isinstance(body, Mapping) and "problem" in body:
        prob = serial.problem_from_json(body["problem"])
        endpoint = _field(body, "endpoint", str, required=False)
        times = body.get("times", 1)
        app.fake.faults.problem(prob, endpoint=endpoint, times=times)
    else:
        app.fake.faults.add_spec(_field(body, "spec"))
    return faults(app, {})


@route("POST", "/faults/clear")
def clear_faults(app: ManagementApp, body: Any) -> Any:
    """Remove every fault."""
    app.fake.faults.clear()
    return faults(app, {})


@route("GET", "/clock")
def clock(app: ManagementApp, body: Any) -> Any:
    """The fake's time."""
    return {"now": serial.timestamp(app.fake.clock.now()), "frozen": app.fake.clock.frozen}


@route("POST", "/clock/advance")
def clock_advance(app: ManagementApp, body: Any) -> Any:
    """``{"days": 8}`` (any of weeks, days, hours, minutes, seconds)."""
    if not isinstance(body, Mapping) or not body:
        raise FakeACMEUsageError('give units, e.g. {"days": 8}')
    units: dict[str, float] = {}
    for key, value in body.items():
        if key not in ("weeks", "days", "hours", "minutes", "seconds"):
            raise FakeACMEUsageError(f"unknown unit {key!r}; use weeks, days, hours, minutes, "
                                     "seconds")
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise FakeACMEUsageError(f"{key} must be a number, not {value!r}")
        units[key] = value
    app.fake.clock.advance(None, **units)
    return clock(app, {})


@route("POST", "/clock/freeze")
def clock_freeze(app: ManagementApp, body: Any) -> Any:
    """Stop the clock (``{"at": "2030-01-01T00:00:00+00:00"}`` optional)."""
    import datetime as _dt

    at = _field(body, "at", str, required=False)
    when = None
    if at is not None:
        try:
            when = _dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
        except ValueError:
            raise FakeACMEUsageError(f"'at' is not an ISO 8601 time: {at!r}") from None
    app.fake.clock.freeze(when)
    return clock(app, {})


@route("POST", "/clock/unfreeze")
def clock_unfreeze(app: ManagementApp, body: Any) -> Any:
    """Let the clock run again."""
    app.fake.clock.unfreeze()
    return clock(app, {})


@route("POST", "/terms/change")
def terms_change(app: ManagementApp, body: Any) -> Any:
    """Publish a new terms-of-service version."""
    return {"version": app.fake.terms.change()}


@route("POST", "/eab")
def eab_add(app: ManagementApp, body: Any) -> Any:
    """Register an external account key: ``{}`` or ``{"kid": ..., "key": <base64url>}``."""
    kid, key = app.fake.eab.add(_field(body, "kid", str, required=False),
                                _field(body, "key", str, required=False))
    return {"kid": kid, "key": key}


# DNS


@route("POST", "/dns/a")
def dns_a(app: ManagementApp, body: Any) -> Any:
    """``{"name": ..., "ip": ...}``"""
    app.fake.dns.add_a(_field(body, "name"), _field(body, "ip"))


@route("POST", "/dns/aaaa")
def dns_aaaa(app: ManagementApp, body: Any) -> Any:
    """``{"name": ..., "ip": ...}``"""
    app.fake.dns.add_aaaa(_field(body, "name"), _field(body, "ip"))


@route("POST", "/dns/txt")
def dns_txt(app: ManagementApp, body: Any) -> Any:
    """``{"name": ..., "value": ...}``"""
    app.fake.dns.add_txt(_field(body, "name"), _field(body, "value"))


@route("POST", "/dns/txt/remove")
def dns_txt_remove(app: ManagementApp, body: Any) -> Any:
    """``{"name": ..., "value": ...}`` (no value: all)."""
    app.fake.dns.remove_txt(_field(body, "name"), _field(body, "value", str, required=False))


@route("POST", "/dns/caa")
def dns_caa(app: ManagementApp, body: Any) -> Any:
    """``{"name": ..., "flags": 0, "tag": "issue", "value": ...}``"""
    app.fake.dns.add_caa(_field(body, "name"), _field(body, "flags", int),
                         _field(body, "tag"), _field(body, "value"))


@route("POST", "/dns/cname")
def dns_cname(app: ManagementApp, body: Any) -> Any:
    """``{"name": ..., "target": ...}``"""
    app.fake.dns.add_cname(_field(body, "name"), _field(body, "target"))


@route("POST", "/dns/fail")
def dns_fail(app: ManagementApp, body: Any) -> Any:
    """``{"name": ..., "how": "servfail"}`` (nxdomain, servfail, refused, timeout, ok)."""
    app.fake.dns.fail(_field(body, "name"), _field(body, "how"))


# pebble-challtestsrv compatibility (its management API, same names and bodies)


def _hosts(body: Any) -> str:
    return str(_field(body, "host")).rstrip(".")


@route("POST", "/add-a")
def ct_add_a(app: ManagementApp, body: Any) -> Any:
    """challtestsrv: ``{"host", "addresses"}``."""
    host = _hosts(body)
    for ip in _field(body, "addresses", list):
        app.fake.dns.add_a(host, ip)


@route("POST", "/clear-a")
def ct_clear_a(app: ManagementApp, body: Any) -> Any:
    """challtestsrv: ``{"host"}``."""
    app.fake.dns.remove_record("A", _hosts(body))


@route("POST", "/add-aaaa")
def ct_add_aaaa(app: ManagementApp, body: Any) -> Any:
    """challtestsrv: ``{"host", "addresses"}``."""
    host = _hosts(body)
    for ip in _field(body, "addresses", list):
        app.fake.dns.add_aaaa(host, ip)


@route("POST", "/clear-aaaa")
def ct_clear_aaaa(app: ManagementApp, body: Any) -> Any:
    """challtestsrv: ``{"host"}``."""
    app.fake.dns.remove_record("AAAA", _hosts(body))


@route("POST", "/set-txt")
def ct_set_txt(app: ManagementApp, body: Any) -> Any:
    """challtestsrv: ``{"host", "value"}`` (replaces the TXT records at host)."""
    host = _hosts(body)
    value = _field(body, "value")
    app.fake.dns.remove_txt(host)
    app.fake.dns.add_txt(host, value)


@route("POST", "/clear-txt")
def ct_clear_txt(app: ManagementApp, body: Any) -> Any:
    """challtestsrv: ``{"host"}``."""
    app.fake.dns.remove_txt(_hosts(body))


@route("POST", "/add-caa")
def ct_add_caa(app: ManagementApp, body: Any) -> Any:
    """challtestsrv: ``{"host", "policies": [{"tag", "value"}]}``."""
    host = _hosts(body)
    policies = _field(body, "policies", list)
    for policy in policies:
        app.fake.dns.add_caa(host, 0, _field(policy, "tag"), _field(policy, "value"))


@route("POST", "/clear-caa")
def ct_clear_caa(app: ManagementApp, body: Any) -> Any:
    """challtestsrv: ``{"host"}``."""
    app.fake.dns.remove_record("CAA", _hosts(body))


@route("POST", "/set-cname")
def ct_set_cname(app: ManagementApp, body: Any) -> Any:
    """challtestsrv: ``{"host", "target"}``."""
    app.fake.dns.add_cname(_hosts(body), str(_field(body, "target")).rstrip("."))


@route("POST", "/clear-cname")
def ct_clear_cname(app: ManagementApp, body: Any) -> Any:
    """challtestsrv: ``{"host"}``."""
    app.fake.dns.remove_record("CNAME", _hosts(body))


@route("POST", "/set-servfail")
def ct_set_servfail(app: ManagementApp, body: Any) -> Any:
    """challtestsrv: ``{"host"}``."""
    app.fake.dns.fail(_hosts(body), "servfail")


@route("POST", "/clear-servfail")
def ct_clear_servfail(app: ManagementApp, body: Any) -> Any:
    """challtestsrv: ``{"host"}``."""
    app.fake.dns.fail(_hosts(body), "ok")


@route("POST", "/set-default-ipv4")
def ct_default_ipv4(app: ManagementApp, body: Any) -> Any:
    """challtestsrv: ``{"ip"}``: what names without A records resolve to."""
    app.fake.dns.set_default_address(_field(body, "ip"))


@route("POST", "/add-http01")
def ct_add_http01(app: ManagementApp, body: Any) -> Any:
    """challtestsrv: ``{"token", "content"}``: serve it on the fake's http-01 port."""
    token, content = _field(body, "token"), _field(body, "content")
    with app._lock:
        if app.http01 is not None and app.http01.port != app.fake.http01_port:
            app.http01.stop()  # the fake's http-01 port changed since
            app.http01 = None
        if app.http01 is None:
            try:
                app.http01 = Http01Responder(app.fake.http01_port)
            except OSError as exc:
                raise FakeACMEError(
                    f"cannot serve http-01 on port {app.fake.http01_port}: {exc.strerror}"
                ) from None
        app.http01.tokens[token] = content


@route("POST", "/del-http01")
def ct_del_http01(app: ManagementApp, body: Any) -> Any:
    """challtestsrv: ``{"token"}``."""
    token = _field(body, "token")
    if app.http01 is not None:
        app.http01.tokens.pop(token, None)


class PlainServer:
    """The management API on a plain-HTTP loopback port (for challtestsrv-style clients)."""

    def __init__(self, app: ManagementApp, host: str = "127.0.0.1", port: int = 0) -> None:
        import socketserver
        from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

        class _Quiet(WSGIRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        class _Threaded(socketserver.ThreadingMixIn, WSGIServer):
            daemon_threads = True

        self._server = make_server(host, port, app, server_class=_Threaded,
                                   handler_class=_Quiet)
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


# The dashboard (a page over this same API; see pytest_fakeacme/dashboard/)

_DASHBOARD_FILES = {
    "/ui": ("index.html", "text/html; charset=utf-8"),
    "/ui/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/ui/style.css": ("style.css", "text/css; charset=utf-8"),
}


def _dashboard_file(name: str, content_type: str) -> Response:
    from importlib.resources import files

    data = files("pytest_fakeacme").joinpath("dashboard").joinpath(name).read_bytes()
    response = Response(data, content_type=content_type)
    response.headers["Cache-Control"] = "no-cache"
    return response


for _path, (_name, _type) in _DASHBOARD_FILES.items():
    _ROUTES[("GET", _path)] = (
        lambda app, body, _n=_name, _t=_type: _dashboard_file(_n, _t)  # type: ignore[misc]
    )


@route("GET", "/version")
def version(app: ManagementApp, body: Any) -> Any:
    """A number that changes whenever anything the dashboard shows may have changed."""
    entries = list(app.fake.journal)
    scripted = sum(len(q) for q in app.fake.va.scripted().values())
    return {"version": f"{entries[-1].seq if entries else 0}.{app.fake.journal.dropped}"
                       f".{scripted}.{len(app.fake.faults.active)}"
                       f".{app.fake.va.default!r}",
            "orders": len(app.fake.store.orders)}


@route("GET", "/accounts")
def accounts(app: ManagementApp, body: Any) -> Any:
    """Accounts only (the dashboard's light read)."""
    return {"accounts": [{"id": a.id, "status": a.status, "contact": list(a.contact)}
                         for a in app.fake.accounts]}


@route("GET", "/outcomes")
def outcome_kinds(app: ManagementApp, body: Any) -> Any:
    """The outcome constructors, with their parameters, for forms."""
    import inspect

    from . import outcomes as outcome_module

    kinds = {}
    for name, factory in outcome_module.CONSTRUCTORS.items():
        params = [p.name for p in inspect.signature(factory).parameters.values()]
        kinds[name] = {"params": params, "doc": (factory.__doc__ or "").strip().split("\n")[0]}
    return {"outcomes": kinds}


@route("GET", "/orders")
def orders_page(app: ManagementApp, body: Any) -> Any:
    """Orders newest first, a page at a time (``?offset=0&limit=50``), each with its
    authorizations, challenges, the statuses each went through and its certificate."""
    try:
        offset = max(int(body.get("offset", 0)), 0)
        limit = min(max(int(body.get("limit", 50)), 1), 500)
    except ValueError:
        raise FakeACMEUsageError("offset and limit must be whole numbers") from None
    fake = app.fake
    journal = fake.journal
    with fake.store.lock:
        order_ids = list(fake.store.orders)[::-1]
        total = len(order_ids)
        chosen = [fake.store.orders[i] for i in order_ids[offset:offset + limit]]
    from . import views

    urls = fake._require_urls()
    now = fake.clock.now()
    result: list[dict[str, Any]] = []
    for order in chosen:
        for authz_id in order.authorization_ids:
            fake.va.settle(authz_id, poll=False)
        with fake.store.lock:
            view = views.order_view(fake.store, order, now, urls)
        result.append({
            "id": view.id,
            "account": view.account_id,
            "status": view.status,
            "history": _history(journal.statuses("order", view.id), view.status),
            "identifiers": [i.value for i in view.identifiers],
            "authorizations": [{
                "id": a.id,
                "identifier": ("*." if a.wildcard else "") + a.identifier.value,
                "status": a.status,
                "history": _history(journal.statuses("authorization", a.id), a.status),
                "challenges": [{
                    "type": c.type,
                    "status": c.status,
                    "history": _history(journal.statuses("challenge", c.id), c.status),
                    "error": c.error.to_json() if c.error else None,
                } for c in a.challenges],
            } for a in view.authorizations],
            "certificate": None if view.certificate is None else {
                "id": view.certificate.id,
                "serial": f"{view.certificate.serial:x}",
                "names": view.certificate.names,
                "subject": view.certificate.x509.subject.rfc4514_string(),
                "not_before": serial.timestamp(view.certificate.not_before),
                "not_after": serial.timestamp(view.certificate.not_after),
                "revoked": view.certificate.revoked,
            },
        })
    return {"total": total, "offset": offset, "limit": limit, "orders": result}


def _history(seen: list[str], now: str) -> list[str]:
    """The statuses an object went through, ending with the one it has now (the journal
    records what clients were shown; an order nobody read since may have moved on)."""
    return [*seen, now] if not seen or seen[-1] != now else seen


@route("GET", "/certificate")
def certificate_pem(app: ManagementApp, body: Any) -> Any:
    """``?id=...``: the certificate chain as a PEM download."""
    cert_id = str(body.get("id", ""))
    cert = app.fake.store.certificates.get(cert_id)
    if cert is None:
        raise FakeACMEUsageError(f"no certificate {cert_id!r}")
    response = Response(cert.fullchain_pem, content_type="application/pem-certificate-chain")
    response.headers["Content-Disposition"] = f'attachment; filename="{cert_id}.pem"'
    return response
