"""pebble-challtestsrv's management API, with its paths, bodies and answers
(``cmd/pebble-challtestsrv`` in Pebble's repository, challtestsrv v1.4), so that suites written
for Pebble and challtestsrv can point at the fake.

As there: any method is accepted; the body is JSON whose keys match case-insensitively (unknown
keys are ignored); success is ``200`` with an empty body; a missing required field is ``400``
with an empty body; an empty or unreadable body is ``400`` with a plain-text reason. The DNS
records go to the fake's DNS data (so its DNS server and its VA see them), the tokens to the
fake's own responders (:mod:`pytest_fakeacme.responders`), which start on first use.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Response

from ..errors import FakeACMEError, FakeACMEUsageError
from ..history import EVENT_KINDS, EventKind
from .context import Management

RawHandler = Callable[[Management, dict[str, Any]], Response | None]

#: Every endpoint by path.
ROUTES: dict[str, RawHandler] = {}

_GO_TYPES: dict[type, str] = {str: "string", list: "[]string", dict: "struct"}
_JSON_TYPES: dict[type, str] = {
    str: "string", bool: "bool", int: "number", float: "number", list: "array", dict: "object",
    type(None): "null",
}


class _BadRequestError(Exception):
    """A 400 answer: ``text`` is its plain-text body (empty for a missing field)."""

    def __init__(self, text: str = "") -> None:
        super().__init__(text)
        self.text = text


def _endpoint(path: str, **fields: type) -> Callable[[RawHandler], RawHandler]:
    """Register an endpoint whose JSON body has these fields (Go's struct, by field name)."""
    def register(handler: RawHandler) -> RawHandler:
        def decoded(app: Management, body: dict[str, Any]) -> Response | None:
            return handler(app, _fields(body, fields))
        ROUTES[path] = decoded
        return handler
    return register


def _fields(body: dict[str, Any], fields: dict[str, type]) -> dict[str, Any]:
    """Go's ``json.Unmarshal`` into a struct: keys matched without case, zero values for
    absent ones, a type error for a value of the wrong JSON type."""
    by_lower = {name.lower(): name for name in fields}
    found: dict[str, Any] = {name: fields[name]() for name in fields}
    for key, value in body.items():
        name = by_lower.get(key.lower())
        if name is None or value is None:
            continue
        kind = fields[name]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise _BadRequestError(
                f"json: cannot unmarshal {_JSON_TYPES.get(type(value), 'value')} into Go struct "
                f"field .{name} of type {_GO_TYPES.get(kind, kind.__name__)}\n"
            )
        found[name] = value
    return found


def answer(app: Management, path: str, raw: bytes) -> Response:
    """Answer a request to the endpoint at ``path`` with body ``raw``."""
    if not raw.strip():
        return _text(400, "expected JSON POST body, was empty\n")
    try:
        body = json.loads(raw)
    except ValueError as exc:
        return _text(400, f"invalid JSON: {exc}\n")
    if not isinstance(body, dict):
        return _text(400, f"json: cannot unmarshal {_JSON_TYPES.get(type(body), 'value')} "
                          "into Go value of type struct\n")
    try:
        result = ROUTES[path](app, body)
    except _BadRequestError as exc:
        return _text(400, exc.text) if exc.text else Response(b"", status=400)
    except FakeACMEUsageError as exc:
        return _text(400, f"{exc}\n")
    except FakeACMEError as exc:
        return _text(500, f"{exc}\n")
    return result if result is not None else Response(b"", status=200)


def _text(status: int, text: str) -> Response:
    # Go's http.Error.
    response = Response(text, status=status, content_type="text/plain; charset=utf-8")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _required(*values: Any) -> None:
    if any(not value for value in values):
        raise _BadRequestError()


def _host(value: str) -> str:
    return value.rstrip(".")


# DNS records (challtestsrv/dns.go; the management handlers in cmd/pebble-challtestsrv/dns.go).


def _valid(ip: str, version: int) -> bool:
    try:
        return ipaddress.ip_address(ip).version == version
    except ValueError:
        return False


@_endpoint("/set-default-ipv4", IP=str)
def set_default_ipv4(app: Management, body: dict[str, Any]) -> None:
    """``{"ip"}``: what names without records resolve to; ``""`` for nothing."""
    ip = body["IP"]
    app.core.dns.set_default_address(ip if _valid(ip, 4) else "")


@_endpoint("/set-default-ipv6", IP=str)
def set_default_ipv6(app: Management, body: dict[str, Any]) -> None:
    """``{"ip"}``: the same over IPv6 (the fake has none by default); ``""`` for nothing."""
    ip = body["IP"]
    app.core.dns.set_default_ipv6(ip if _valid(ip, 6) else "")


@_endpoint("/add-a", Host=str, Addresses=list)
def add_a(app: Management, body: dict[str, Any]) -> None:
    """``{"host", "addresses"}``: append A records (any address: the VA still connects only
    to loopback ones); values that are not IPv4 addresses are skipped, as in answers."""
    _required(body["Host"], body["Addresses"])
    for ip in body["Addresses"]:
        if isinstance(ip, str) and _valid(ip, 4):
            app.core.dns.add_a(_host(body["Host"]), ip)


@_endpoint("/clear-a", Host=str)
def clear_a(app: Management, body: dict[str, Any]) -> None:
    """``{"host"}``: drop the host's A records."""
    _required(body["Host"])
    app.core.dns.remove_record("A", _host(body["Host"]))


@_endpoint("/add-aaaa", Host=str, Addresses=list)
def add_aaaa(app: Management, body: dict[str, Any]) -> None:
    """``{"host", "addresses"}``: append AAAA records."""
    _required(body["Host"], body["Addresses"])
    for ip in body["Addresses"]:
        if isinstance(ip, str) and _valid(ip, 6):
            app.core.dns.add_aaaa(_host(body["Host"]), ip)


@_endpoint("/clear-aaaa", Host=str)
def clear_aaaa(app: Management, body: dict[str, Any]) -> None:
    """``{"host"}``: drop the host's AAAA records."""
    _required(body["Host"])
    app.core.dns.remove_record("AAAA", _host(body["Host"]))


@_endpoint("/add-caa", Host=str, Policies=list)
def add_caa(app: Management, body: dict[str, Any]) -> None:
    """``{"host", "policies": [{"tag", "value"}]}``: append CAA records (flags 0)."""
    _required(body["Host"], body["Policies"])
    policies = [_fields(p, {"Tag": str, "Value": str}) if isinstance(p, dict) else None
                for p in body["Policies"]]
    if any(p is None for p in policies):
        raise _BadRequestError("json: cannot unmarshal value into Go struct field .Policies of "
                          "type struct\n")
    for policy in policies:
        assert policy is not None
        app.core.dns.add_caa(_host(body["Host"]), 0, policy["Tag"], policy["Value"])


@_endpoint("/clear-caa", Host=str)
def clear_caa(app: Management, body: dict[str, Any]) -> None:
    """``{"host"}``: drop the host's CAA records."""
    _required(body["Host"])
    app.core.dns.remove_record("CAA", _host(body["Host"]))


@_endpoint("/set-cname", Host=str, Target=str)
def set_cname(app: Management, body: dict[str, Any]) -> None:
    """``{"host", "target"}``: make host an alias (replacing any earlier one)."""
    _required(body["Host"], body["Target"])
    app.core.dns.add_cname(_host(body["Host"]), _host(body["Target"]))


@_endpoint("/clear-cname", Host=str)
def clear_cname(app: Management, body: dict[str, Any]) -> None:
    """``{"host"}``: drop the alias."""
    _required(body["Host"])
    app.core.dns.remove_record("CNAME", _host(body["Host"]))


@_endpoint("/set-txt", Host=str, Value=str)
def set_txt(app: Management, body: dict[str, Any]) -> None:
    """``{"host", "value"}``: add a TXT value beside those already there (so a wildcard and
    its base name can both be validated by dns-01)."""
    _required(body["Host"], body["Value"])
    app.core.dns.add_txt(_host(body["Host"]), body["Value"])


@_endpoint("/clear-txt", Host=str)
def clear_txt(app: Management, body: dict[str, Any]) -> None:
    """``{"host"}``: drop every TXT value of the host."""
    _required(body["Host"])
    app.core.dns.remove_txt(_host(body["Host"]))


@_endpoint("/set-servfail", Host=str)
def set_servfail(app: Management, body: dict[str, Any]) -> None:
    """``{"host"}``: queries for exactly this name fail with SERVFAIL."""
    _required(body["Host"])
    app.core.dns.fail(_host(body["Host"]), "servfail")


@_endpoint("/clear-servfail", Host=str)
def clear_servfail(app: Management, body: dict[str, Any]) -> None:
    """``{"host"}``: queries for this name answer again."""
    _required(body["Host"])
    app.core.dns.fail(_host(body["Host"]), "ok")


# Challenge responders (challtestsrv/httpone.go, challtestsrv/tlsalpnone.go).


@_endpoint("/add-http01", Token=str, Content=str)
def add_http01(app: Management, body: dict[str, Any]) -> None:
    """``{"token", "content"}``: serve content at /.well-known/acme-challenge/<token>."""
    _required(body["Token"], body["Content"])
    app.core.responders.add_http01(body["Token"], body["Content"])


@_endpoint("/del-http01", Token=str)
def del_http01(app: Management, body: dict[str, Any]) -> None:
    """``{"token"}``: stop serving it."""
    _required(body["Token"])
    app.core.responders.remove_http01(body["Token"])


@_endpoint("/add-redirect", Path=str, TargetURL=str)
def add_redirect(app: Management, body: dict[str, Any]) -> None:
    """``{"path", "targetURL"}``: answer plain-HTTP requests for path with a 302."""
    _required(body["Path"], body["TargetURL"])
    app.core.responders.add_redirect(body["Path"], body["TargetURL"])


@_endpoint("/del-redirect", Path=str)
def del_redirect(app: Management, body: dict[str, Any]) -> None:
    """``{"path"}``: stop redirecting it."""
    _required(body["Path"])
    app.core.responders.remove_redirect(body["Path"])


@_endpoint("/add-tlsalpn01", Host=str, Content=str)
def add_tlsalpn01(app: Management, body: dict[str, Any]) -> None:
    """``{"host", "content"}``: answer tls-alpn-01 for that server name with a certificate
    for the key authorization ``content``."""
    _required(body["Host"], body["Content"])
    app.core.responders.add_tlsalpn01(body["Host"], body["Content"])


@_endpoint("/del-tlsalpn01", Host=str)
def del_tlsalpn01(app: Management, body: dict[str, Any]) -> None:
    """``{"host"}``: stop answering for it."""
    _required(body["Host"])
    app.core.responders.remove_tlsalpn01(body["Host"])


# Request history (cmd/pebble-challtestsrv/history.go).


def _history(kind: EventKind) -> RawHandler:
    def handler(app: Management, body: dict[str, Any]) -> Response:
        host = body["Host"]
        if not host:
            raise _BadRequestError("host parameter of POST body must not be empty\n")
        events = app.core.history.events(kind, host)
        return Response(json.dumps(events, indent=3), status=200,
                        content_type="application/json; charset=utf-8")
    handler.__doc__ = f'``{{"host"}}``: the {kind} requests the fake\'s {kind} side answered.'
    return handler


_HISTORIES: tuple[tuple[str, EventKind], ...] = (
    ("/http-request-history", "http"), ("/dns-request-history", "dns"),
    ("/tlsalpn01-request-history", "tlsalpn"),
)
for _path, _kind in _HISTORIES:
    _endpoint(_path, Host=str)(_history(_kind))


@_endpoint("/clear-request-history", Host=str, Type=str)
def clear_request_history(app: Management, body: dict[str, Any]) -> None:
    """``{"host", "type": "http" | "dns" | "tlsalpn"}``: forget those events."""
    if not body["Host"]:
        raise _BadRequestError("host parameter must not be empty\n")
    if body["Type"] not in EVENT_KINDS:
        raise _BadRequestError(f"{json.dumps(body['Type'])} event type unknown\n")
    kind: EventKind = body["Type"]
    app.core.history.clear(kind, body["Host"])
