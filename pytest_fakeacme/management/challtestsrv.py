"""pebble-challtestsrv's management API (same paths, bodies and meanings), so that suites written
for Pebble and challtestsrv can point at the fake."""

from __future__ import annotations

from typing import Any

from .context import Management, Routes, field

routes = Routes()


def _hosts(body: Any) -> str:
    return str(field(body, "host")).rstrip(".")


@routes.post("/add-a")
def ct_add_a(app: Management, body: Any) -> Any:
    """challtestsrv: ``{"host", "addresses"}``."""
    host = _hosts(body)
    for ip in field(body, "addresses", list):
        app.core.dns.add_a(host, ip)


@routes.post("/clear-a")
def ct_clear_a(app: Management, body: Any) -> Any:
    """challtestsrv: ``{"host"}``."""
    app.core.dns.remove_record("A", _hosts(body))


@routes.post("/add-aaaa")
def ct_add_aaaa(app: Management, body: Any) -> Any:
    """challtestsrv: ``{"host", "addresses"}``."""
    host = _hosts(body)
    for ip in field(body, "addresses", list):
        app.core.dns.add_aaaa(host, ip)


@routes.post("/clear-aaaa")
def ct_clear_aaaa(app: Management, body: Any) -> Any:
    """challtestsrv: ``{"host"}``."""
    app.core.dns.remove_record("AAAA", _hosts(body))


@routes.post("/set-txt")
def ct_set_txt(app: Management, body: Any) -> Any:
    """challtestsrv: ``{"host", "value"}`` (replaces the TXT records at host)."""
    host = _hosts(body)
    value = field(body, "value")
    app.core.dns.remove_txt(host)
    app.core.dns.add_txt(host, value)


@routes.post("/clear-txt")
def ct_clear_txt(app: Management, body: Any) -> Any:
    """challtestsrv: ``{"host"}``."""
    app.core.dns.remove_txt(_hosts(body))


@routes.post("/add-caa")
def ct_add_caa(app: Management, body: Any) -> Any:
    """challtestsrv: ``{"host", "policies": [{"tag", "value"}]}``."""
    host = _hosts(body)
    policies = field(body, "policies", list)
    for policy in policies:
        app.core.dns.add_caa(host, 0, field(policy, "tag"), field(policy, "value"))


@routes.post("/clear-caa")
def ct_clear_caa(app: Management, body: Any) -> Any:
    """challtestsrv: ``{"host"}``."""
    app.core.dns.remove_record("CAA", _hosts(body))


@routes.post("/set-cname")
def ct_set_cname(app: Management, body: Any) -> Any:
    """challtestsrv: ``{"host", "target"}``."""
    app.core.dns.add_cname(_hosts(body), str(field(body, "target")).rstrip("."))


@routes.post("/clear-cname")
def ct_clear_cname(app: Management, body: Any) -> Any:
    """challtestsrv: ``{"host"}``."""
    app.core.dns.remove_record("CNAME", _hosts(body))


@routes.post("/set-servfail")
def ct_set_servfail(app: Management, body: Any) -> Any:
    """challtestsrv: ``{"host"}``."""
    app.core.dns.fail(_hosts(body), "servfail")


@routes.post("/clear-servfail")
def ct_clear_servfail(app: Management, body: Any) -> Any:
    """challtestsrv: ``{"host"}``."""
    app.core.dns.fail(_hosts(body), "ok")


@routes.post("/set-default-ipv4")
def ct_default_ipv4(app: Management, body: Any) -> Any:
    """challtestsrv: ``{"ip"}``: what names without A records resolve to."""
    app.core.dns.set_default_address(field(body, "ip"))


@routes.post("/add-http01")
def ct_add_http01(app: Management, body: Any) -> Any:
    """challtestsrv: ``{"token", "content"}``: serve it on the fake's http-01 port."""
    app.core.responders.add_http01(field(body, "token"), field(body, "content"))


@routes.post("/del-http01")
def ct_del_http01(app: Management, body: Any) -> Any:
    """challtestsrv: ``{"token"}``."""
    app.core.responders.remove_http01(field(body, "token"))
