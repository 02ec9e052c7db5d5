"""The dashboard: a page over this same API (its files are ``pytest_fakeacme/dashboard/``),
and the light reads it polls."""

from __future__ import annotations

import inspect
from importlib.resources import files
from typing import Any

from werkzeug.wrappers import Response

from .. import jsonforms, outcomes
from ..errors import FakeACMEUsageError
from ..faults import SPEC_NAMES, Faults
from .context import Management, Routes

routes = Routes()

_DASHBOARD_FILES = {
    "/ui": ("index.html", "text/html; charset=utf-8"),
    "/ui/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/ui/style.css": ("style.css", "text/css; charset=utf-8"),
}


def _dashboard_file(name: str, content_type: str) -> Response:
    data = files("pytest_fakeacme").joinpath("dashboard").joinpath(name).read_bytes()
    response = Response(data, content_type=content_type)
    response.headers["Cache-Control"] = "no-cache"
    return response


def _file_route(path: str, name: str, content_type: str) -> None:
    @routes.get(path)
    def serve(app: Management, body: Any) -> Response:
        return _dashboard_file(name, content_type)


for _path, (_name, _type) in _DASHBOARD_FILES.items():
    _file_route(_path, _name, _type)


@routes.get("/version")
def version(app: Management, body: Any) -> Any:
    """A number that changes whenever anything the dashboard shows may have changed."""
    entries = list(app.core.journal)
    scripted = sum(len(q) for q in app.core.va.scripted().values())
    return {"version": f"{entries[-1].seq if entries else 0}.{app.core.journal.dropped}"
                       f".{scripted}.{len(app.core.faults.active)}"
                       f".{app.core.va.default!r}"
                       f".{int(app.core.limits.on)}.{len(app.core.limits.paused())}",
            "orders": len(app.core.store.orders)}


@routes.get("/accounts")
def accounts(app: Management, body: Any) -> Any:
    """Accounts only (the dashboard's light read)."""
    return {"accounts": [{"id": a.id, "status": a.status, "contact": list(a.contact)}
                         for a in app.core.reads.accounts(app.endpoints.urls)]}


@routes.get("/outcomes")
def outcome_kinds(app: Management, body: Any) -> Any:
    """The outcome constructors, with their parameters, for forms."""
    kinds = {}
    for name, kind in outcomes.KINDS.items():
        factory = kind.constructor
        params = [p.name for p in inspect.signature(factory).parameters.values()]
        kinds[name] = {"params": params, "doc": (factory.__doc__ or "").strip().split("\n")[0]}
    return {"outcomes": kinds}


@routes.get("/fault-kinds")
def fault_kinds(app: Management, body: Any) -> Any:
    """The faults a text form can name, with their parameters, for forms."""
    kinds = {}
    for name in SPEC_NAMES:
        method = getattr(Faults, name)
        params = [p.name for p in inspect.signature(method).parameters.values()
                  if p.name != "self"]
        kinds[name] = {"params": params, "doc": (method.__doc__ or "").strip().split("\n")[0]}
    return {"faults": kinds}


@routes.get("/orders")
def orders_page(app: Management, body: Any) -> Any:
    """Orders newest first, a page at a time (``?offset=0&limit=50``), each with its
    authorizations, challenges, the statuses each went through and its certificate."""
    try:
        offset = max(int(body.get("offset", 0)), 0)
        limit = min(max(int(body.get("limit", 50)), 1), 500)
    except ValueError:
        raise FakeACMEUsageError("offset and limit must be whole numbers") from None
    store, journal = app.core.store, app.core.journal
    with store.lock:
        order_ids = list(store.orders)[::-1]
        total = len(order_ids)
        chosen = [store.orders[i] for i in order_ids[offset:offset + limit]]
    result: list[dict[str, Any]] = []
    for view in app.core.reads.orders(app.endpoints.urls, chosen):
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
                "not_before": jsonforms.iso_time(view.certificate.not_before),
                "not_after": jsonforms.iso_time(view.certificate.not_after),
                "revoked": view.certificate.revoked,
            },
        })
    return {"total": total, "offset": offset, "limit": limit, "orders": result}


def _history(seen: list[str], now: str) -> list[str]:
    """The statuses an object went through, ending with the one it has now (the journal
    records what clients were shown; an order nobody read since may have moved on)."""
    return [*seen, now] if not seen or seen[-1] != now else seen


@routes.get("/certificate")
def certificate_pem(app: Management, body: Any) -> Any:
    """``?id=...``: the certificate chain as a PEM download."""
    cert_id = str(body.get("id", ""))
    cert = app.core.store.certificates.get(cert_id)
    if cert is None:
        raise FakeACMEUsageError(f"no certificate {cert_id!r}")
    response = Response(cert.fullchain_pem, content_type="application/pem-certificate-chain")
    response.headers["Content-Disposition"] = f'attachment; filename="{cert_id}.pem"'
    return response
