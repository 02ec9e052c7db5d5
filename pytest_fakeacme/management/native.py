"""The native management API: the Python API's knobs as JSON (state, journal, VA scripts,
faults, clock, terms, EAB, DNS data, renewal information, CRLs, rate limits)."""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import serialization
from werkzeug.wrappers import Response

from .. import jsonforms
from ..ca import crl_shard
from ..config import Settings, parse_setting
from ..crl import CRLs
from ..diagram import order_entries, sequence_svg
from ..errors import FakeACMEError, FakeACMEUsageError
from ..limits import LIMIT_NAMES, Limit
from ..profiles import Profile
from ..renewal import Drill
from .context import Management, Routes, field, text_response

routes = Routes()


@routes.get("/state")
def state(app: Management, body: Any) -> Any:
    """Accounts, orders (with authorizations and challenges) and certificates (with PEM)."""
    def challenge(c: Any) -> dict[str, Any]:
        return {"id": c.id, "url": c.url, "type": c.type, "token": c.token, "status": c.status,
                "validated": jsonforms.iso_time(c.validated),
                "error": c.error.to_json() if c.error else None,
                "validationRecord": list(c.validation_record)}

    def authz(a: Any) -> dict[str, Any]:
        return {"id": a.id, "url": a.url, "identifier": a.identifier.to_json(),
                "wildcard": a.wildcard, "status": a.status,
                "expires": jsonforms.iso_time(a.expires),
                "challenges": [challenge(c) for c in a.challenges]}

    urls, reads = app.endpoints.urls, app.core.reads
    return {
        "accounts": [{"id": a.id, "url": a.url, "status": a.status, "contact": list(a.contact),
                      "thumbprint": a.thumbprint} for a in reads.accounts(urls)],
        "orders": [{"id": o.id, "url": o.url, "account": o.account_id, "status": o.status,
                    "identifiers": [i.to_json() for i in o.identifiers],
                    "authorizations": [authz(a) for a in o.authorizations],
                    "certificate": o.certificate.url if o.certificate else None}
                   for o in reads.orders(urls)],
        "certificates": [{"id": c.id, "url": c.url, "serial": f"{c.serial:x}",
                          "names": c.names, "not_before": jsonforms.iso_time(c.not_before),
                          "not_after": jsonforms.iso_time(c.not_after), "revoked": c.revoked,
                          "pem": c.fullchain_pem} for c in reads.certificates(urls)],
    }


@routes.get("/diagram")
def diagram(app: Management, body: Any) -> Any:
    """The conversation as a sequence diagram (SVG): ``?order=<id>`` for one order's part."""
    entries = list(app.core.journal)
    order_id = body.get("order")
    if order_id is None:
        return Response(sequence_svg(entries), content_type="image/svg+xml; charset=utf-8")
    orders = [o for o in app.core.reads.orders(app.endpoints.urls) if o.id == order_id]
    if not orders:
        raise FakeACMEUsageError(f"no order {order_id!r}")
    svg = sequence_svg(order_entries(entries, orders[0]), title=f"Order {order_id}")
    return Response(svg, content_type="image/svg+xml; charset=utf-8")


@routes.get("/journal")
def journal(app: Management, body: Any) -> Any:
    """The journal's entries (requests, validations, transitions)."""
    entries = []
    for e in app.core.journal:
        item: dict[str, Any] = {"seq": e.seq, "kind": e.kind, "at": jsonforms.iso_time(e.at)}
        if e.kind == "request":
            jws = e.jws
            item.update(endpoint=e.endpoint, method=e.method, url=e.url, status=e.status,
                        account=e.account_id, headers=e.headers,
                        protected=jws.protected if jws else None,
                        payload=jws.payload if jws else None, fault=e.fault or None)
        elif e.kind == "validation":
            item.update(identifier=e.identifier, challenge_type=e.challenge_type,
                        outcome=e.outcome, records=list(e.records))
        elif e.kind == "handshake":
            item.update(peer=e.peer, alert=e.alert or None, detail=e.detail,
                        untrusted=e.untrusted)
        else:
            item.update(object=e.object_kind, id=e.object_id, old=e.old, new=e.new,
                        cause=e.cause)
        item["problem"] = e.problem.to_json() if e.problem else None
        entries.append(item)
    return {"entries": entries, "dropped": app.core.journal.dropped}


@routes.get("/transcript")
def transcript(app: Management, body: Any) -> Any:
    """The journal as text."""
    verbose = str(body.get("verbose", "")).lower() in ("1", "true", "yes")
    last = body.get("last")
    entries = list(app.core.journal)
    if last is not None:
        try:
            entries = entries[-max(int(last), 1):]
        except ValueError:
            raise FakeACMEUsageError("last must be a whole number") from None
    return text_response(app.core.journal.transcript(verbose, entries=entries) + "\n")


@routes.post("/reset")
def reset(app: Management, body: Any) -> Any:
    """Forget all state, scripts and faults (``FakeACME.reset()``)."""
    app.core.reset()


@routes.post("/settings")
def settings(app: Management, body: Any) -> Any:
    """Change settings (``FakeACME.configure(**body)``), e.g. ``{"flavor": "rfc"}``. A value
    may also be given as text (``"7d"``, ``"false"``), as ``serve --set`` takes it; durations
    as numbers are seconds."""
    if not isinstance(body, Mapping):
        raise FakeACMEUsageError("the request body must be a JSON object of settings")
    app.core.configure(**{name: _setting(name, value) for name, value in body.items()})
    return {"flavor": app.core.settings.flavor}


def _setting(name: str, value: Any) -> Any:
    default = getattr(Settings(), name, None)
    if isinstance(value, str) and not isinstance(default, str):
        return parse_setting(name, value)
    if isinstance(default, _dt.timedelta) and isinstance(value, (int, float)) and not isinstance(
            value, bool):
        return _dt.timedelta(seconds=value)
    return value


@routes.get("/settings")
def current_settings(app: Management, body: Any) -> Any:
    """Every setting's current value (durations in seconds, profiles by name)."""
    values: dict[str, Any] = {}
    for name, value in vars(app.core.settings).items():
        if isinstance(value, _dt.timedelta):
            value = value.total_seconds()
        elif name == "profiles":
            # The profiles in force (Let's Encrypt's on policy_date unless set).
            value = {key: _profile_json(p) for key, p in
                     app.core.settings.profiles_on(app.core.clock.now()).items()}
        values[name] = value
    return values


def _profile_json(profile: Profile) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, value in vars(profile).items():
        if isinstance(value, _dt.timedelta):
            value = value.total_seconds()
        elif isinstance(value, tuple):
            value = list(value)
        values[name] = value
    return values


# The VA


@routes.get("/va")
def va(app: Management, body: Any) -> Any:
    """The default outcome and what is still scripted."""
    return {
        "default": jsonforms.outcome_to_json(app.core.va.default),
        "scripted": {k: [jsonforms.outcome_to_json(o) for o in v]
                     for k, v in app.core.va.scripted().items()},
        "timeout": app.core.va.timeout,
    }


@routes.post("/va/script")
def va_script(app: Management, body: Any) -> Any:
    """``{"identifier": "a.example", "outcomes": [{"kind": "http_status", "params": {"code":
    404}}]}``: queue outcomes (``va.script``)."""
    identifier = field(body, "identifier")
    items = field(body, "outcomes", list)
    parsed = [jsonforms.outcome_from_json(item) for item in items]  # all checked before any change
    app.core.va.script(identifier, *parsed)
    return va(app, {})


@routes.post("/va/default")
def va_default(app: Management, body: Any) -> Any:
    """``{"outcome": "valid"}``: what validations find when nothing is scripted."""
    outcome = jsonforms.outcome_from_json(field(body, "outcome", (str, dict)))
    app.core.va.default = outcome
    return va(app, {})


@routes.post("/va/clear")
def va_clear(app: Management, body: Any) -> Any:
    """Drop scripts and restore the default."""
    app.core.va.clear()
    return va(app, {})


# Faults, clock, terms, EAB


@routes.get("/faults")
def faults(app: Management, body: Any) -> Any:
    """Faults that can still fire."""
    return {"faults": [{"kind": f.kind, "spec": f.spec, "endpoint": f.endpoint,
                        "times": f.times, "fired": f.fired,
                        "problem": f.problem.to_json() if f.problem else None}
                       for f in app.core.faults.active]}


@routes.post("/faults")
def add_fault(app: Management, body: Any) -> Any:
    """``{"spec": "bad_nonce endpoint=newOrder times=2"}``, or ``{"problem": {...},
    "endpoint": "newOrder", "times": 1}`` for any problem."""
    if isinstance(body, Mapping) and "problem" in body:
        prob = jsonforms.problem_from_json(body["problem"])
        endpoint = field(body, "endpoint", str, required=False)
        times = body.get("times", 1)
        app.core.faults.problem(prob, endpoint=endpoint, times=times)
    else:
        app.core.faults.add_spec(field(body, "spec"))
    return faults(app, {})


@routes.post("/faults/clear")
def clear_faults(app: Management, body: Any) -> Any:
    """Remove every fault."""
    app.core.faults.clear()
    return faults(app, {})


@routes.get("/clock")
def clock(app: Management, body: Any) -> Any:
    """The fake's time."""
    return {"now": jsonforms.iso_time(app.core.clock.now()), "frozen": app.core.clock.frozen}


@routes.post("/clock/advance")
def clock_advance(app: Management, body: Any) -> Any:
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
    app.core.clock.advance(None, **units)
    return clock(app, {})


@routes.post("/clock/freeze")
def clock_freeze(app: Management, body: Any) -> Any:
    """Stop the clock (``{"at": "2030-01-01T00:00:00+00:00"}`` optional)."""
    at = field(body, "at", str, required=False)
    when = None
    if at is not None:
        try:
            when = _dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
        except ValueError:
            raise FakeACMEUsageError(f"'at' is not an ISO 8601 time: {at!r}") from None
    app.core.clock.freeze(when)
    return clock(app, {})


@routes.post("/clock/unfreeze")
def clock_unfreeze(app: Management, body: Any) -> Any:
    """Let the clock run again."""
    app.core.clock.unfreeze()
    return clock(app, {})


@routes.post("/terms/change")
def terms_change(app: Management, body: Any) -> Any:
    """Publish a new terms-of-service version."""
    return {"version": app.core.terms.change()}


@routes.post("/eab")
def eab_add(app: Management, body: Any) -> Any:
    """Register an external account key: ``{}`` or ``{"kid": ..., "key": <base64url>}``."""
    kid, key = app.core.eab.add(field(body, "kid", str, required=False),
                                field(body, "key", str, required=False))
    return {"kid": kid, "key": key}


# DNS


@routes.post("/dns/a")
def dns_a(app: Management, body: Any) -> Any:
    """``{"name": ..., "ip": ...}``"""
    app.core.dns.add_a(field(body, "name"), field(body, "ip"))


@routes.post("/dns/aaaa")
def dns_aaaa(app: Management, body: Any) -> Any:
    """``{"name": ..., "ip": ...}``"""
    app.core.dns.add_aaaa(field(body, "name"), field(body, "ip"))


@routes.post("/dns/txt")
def dns_txt(app: Management, body: Any) -> Any:
    """``{"name": ..., "value": ...}``"""
    app.core.dns.add_txt(field(body, "name"), field(body, "value"))


@routes.post("/dns/txt/remove")
def dns_txt_remove(app: Management, body: Any) -> Any:
    """``{"name": ..., "value": ...}`` (no value: all)."""
    app.core.dns.remove_txt(field(body, "name"), field(body, "value", str, required=False))


@routes.post("/dns/caa")
def dns_caa(app: Management, body: Any) -> Any:
    """``{"name": ..., "flags": 0, "tag": "issue", "value": ...}``"""
    app.core.dns.add_caa(field(body, "name"), field(body, "flags", int),
                         field(body, "tag"), field(body, "value"))


@routes.post("/dns/cname")
def dns_cname(app: Management, body: Any) -> Any:
    """``{"name": ..., "target": ...}``"""
    app.core.dns.add_cname(field(body, "name"), field(body, "target"))


@routes.post("/dns/allow-non-loopback")
def dns_allow_non_loopback(app: Management, body: Any) -> Any:
    """``{"allow": true}``: let the VA connect to addresses beyond this machine
    (``fake_acme.dns.allow_non_loopback``)."""
    app.core.dns.allow_non_loopback = field(body, "allow", bool)
    return {"allow": app.core.dns.allow_non_loopback}


@routes.post("/dns/fail")
def dns_fail(app: Management, body: Any) -> Any:
    """``{"name": ..., "how": "servfail"}`` (nxdomain, servfail, refused, timeout, ok)."""
    app.core.dns.fail(field(body, "name"), field(body, "how"))


# Renewal information and CRLs


@routes.post("/ari/mass-revocation")
def ari_mass_revocation(app: Management, body: Any) -> Any:
    """``{"revoke_after": 86400, "reason": 0}`` (both optional; seconds, and a CRL reason code
    of ``renewal.DRILL_REASONS``): a mass revocation drill (``fake_acme.ari.mass_revocation``);
    the drill as ``GET /ari/drill`` shows it."""
    seconds = field(body, "revoke_after", (int, float), required=False)
    if seconds is not None and (isinstance(seconds, bool) or not math.isfinite(seconds)
                                or not 0 <= seconds <= _MAX_SECONDS):
        raise FakeACMEUsageError(f"revoke_after takes seconds from 0 to {_MAX_SECONDS}, e.g. "
                                 f"21600 for six hours, not {seconds!r}")
    reason = field(body, "reason", int, required=False)
    drill = app.core.ari.mass_revocation(
        _dt.timedelta(seconds=86400 if seconds is None else seconds),
        0 if reason is None else reason)
    return _drill_json(drill)


#: The longest ``revoke_after`` taken, in seconds (a hundred years: a drill that never ends).
_MAX_SECONDS = 100 * 365 * 86400


@routes.get("/ari/drill")
def ari_drill(app: Management, body: Any) -> Any:
    """The latest mass revocation drill and what the clients did about it (``Drill``'s
    questions): the certificates it covers, ``fetched_renewal_info``, ``renewed``,
    ``sent_replaces`` and ``missed``, by ARI identifier."""
    drills = app.core.ari.drills
    if not drills:
        raise FakeACMEError("no mass revocation drill since the last reset: start one with "
                            "POST /ari/mass-revocation")
    app.core.reads.catch_up()  # a revocation that is due is applied first, as reads do
    return _drill_json(drills[-1])


def _drill_json(drill: Drill) -> dict[str, Any]:
    return {"started": jsonforms.iso_time(drill.started),
            "revoke_at": jsonforms.iso_time(drill.revoke_at),
            "reason": drill.reason, "revoked": drill.applied,
            "certificates": list(drill.certificates),
            "fetched_renewal_info": drill.fetched_renewal_info(), "renewed": drill.renewed(),
            "sent_replaces": drill.sent_replaces(), "missed": drill.missed()}


@routes.post("/crl/update")
def crl_update(app: Management, body: Any) -> Any:
    """Publish every CRL now, listing every revocation so far (``fake_acme.crl(update=True)``);
    the new CRLs' ``thisUpdate``."""
    crls = _crls(app)
    crls.update()
    return {"this_update": jsonforms.iso_time(crls.current(1).last_update_utc)}


@routes.get("/crl")
def crl(app: Management, body: Any) -> Any:
    """The CRL a client fetching it now gets, DER (``application/pkix-crl``):
    ``?serial=<hex>`` (as ``/state`` lists it) for that certificate's shard, ``?shard=N``, or
    shard 1 (``fake_acme.crl``)."""
    crls = _crls(app)
    shard = 1
    if "serial" in body and "shard" in body:
        raise FakeACMEUsageError("give serial or shard, not both")
    if "serial" in body:
        try:
            serial = int(body["serial"], 16)
        except ValueError:
            raise FakeACMEUsageError(f"serial is hexadecimal, as /state lists it, not "
                                     f"{body['serial']!r}") from None
        if serial not in app.core.store.certificates_by_serial:
            raise FakeACMEUsageError(f"no certificate with serial {serial:x} was issued here")
        shard = crl_shard(serial, crls.shards)
    elif "shard" in body:
        text = body["shard"]
        if not (text.isascii() and text.isdigit() and 1 <= int(text) <= crls.shards):
            raise FakeACMEUsageError(f"shard is a number from 1 to {crls.shards}, not {text!r}")
        shard = int(text)
    der = crls.current(shard).public_bytes(serialization.Encoding.DER)
    return Response(der, content_type="application/pkix-crl")


def _crls(app: Management) -> CRLs:
    if app.crls is None:
        raise FakeACMEError("this fake serves no CRLs (crl_port=None)")
    return app.crls


# Rate limits and pausing


@routes.get("/limits")
def limits(app: Management, body: Any) -> Any:
    """Every limit as it stands, the buckets spent from and not yet full, and the accounts
    paused (``fake_acme.limits``); durations in seconds."""
    found = app.core.limits
    return {
        "on": found.on,
        "limits": {name: _limit_json(limit)
                   for name in LIMIT_NAMES if (limit := found.limit(name)) is not None},
        "buckets": [{"limit": b.limit, "key": b.key, "remaining": b.remaining,
                     "full_at": jsonforms.iso_time(b.full_at)} for b in found.state()],
        "paused": [{"account": p.account, "identifier": p.identifier,
                    "since": jsonforms.iso_time(p.since)} for p in found.paused()],
    }


@routes.post("/limits/set")
def limits_set(app: Management, body: Any) -> Any:
    """``{"name": "NewOrdersPerAccount", "burst": 2, "count": 2, "period": 3600}`` (all but
    the name optional; the period in seconds): ``fake_acme.limits.set``."""
    seconds = field(body, "period", (int, float), required=False)
    limit = app.core.limits.set(
        field(body, "name"), burst=field(body, "burst", int, required=False),
        count=field(body, "count", int, required=False),
        period=None if seconds is None else _dt.timedelta(seconds=seconds))
    return {"name": limit.name, **_limit_json(limit)}


def _limit_json(limit: Limit) -> dict[str, Any]:
    """A limit's burst, count and period (in seconds)."""
    return {"burst": limit.burst, "count": limit.count, "period": limit.period.total_seconds()}


@routes.post("/limits/unpause")
def limits_unpause(app: Management, body: Any) -> Any:
    """``{"account": "<id or URL>", "identifier": "a.example"}`` (identifier optional: all
    of the account's): ``fake_acme.limits.unpause``; how many were unpaused."""
    return {"unpaused": app.core.limits.unpause(
        field(body, "account"), field(body, "identifier", required=False))}
