"""Authorizations and challenges (RFC 8555 7.5): reads, deactivation, and the challenge POST
that asks the VA to validate."""

from __future__ import annotations

from .. import problems, wire
from ..model import Authorization
from .app import Call, Frontend, Reply


def _own_authz(fe: Frontend, call: Call) -> Authorization:
    authz = fe.store.authorizations.get(call.args["authz_id"])
    if authz is None:
        raise problems.not_found("No such authorization")
    if authz.account_id != call.account.id:
        raise problems.unauthorized(
            "User account ID doesn't match account ID in authorization"
        )
    return authz


def _retry_after(fe: Frontend, reply: Reply, processing: bool) -> Reply:
    # RFC 8555 7.5.1: a server may send Retry-After while a challenge is processing. Boulder
    # never does (its challenges stay pending), so only the rfc flavor sends it.
    if processing and fe.settings.flavor == "rfc":
        reply.headers["Retry-After"] = str(fe.settings.challenge_retry_after)
    return reply


def authorization(fe: Frontend, call: Call) -> Reply:
    """POST-as-GET of an authorization, or ``{"status": "deactivated"}`` (7.5.2)."""
    authz = _own_authz(fe, call)
    assert call.jws is not None
    if not call.jws.post_as_get:
        payload = call.jws.json()
        if payload.get("status") != "deactivated":
            raise problems.malformed("Invalid status value; only \"deactivated\" may be requested")
        fe.va.settle(authz.id, poll=False)
        with fe.store.lock:
            if authz.status_at(fe.clock.now()) not in ("pending", "valid"):
                raise problems.malformed(
                    "Only valid and pending authorizations can be deactivated"
                )
            authz.status = "deactivated"
    else:
        fe.va.settle(authz.id)
    with fe.store.lock:
        state = authz.status_at(fe.clock.now())
        body = wire.authorization(authz, state, fe.urls)
        processing = any(c.status == "processing" for c in authz.challenges)
    return _retry_after(fe, Reply(200, body, {"Location": fe.urls.authz(authz.id)}), processing)


def challenge(fe: Frontend, call: Call) -> Reply:
    """POST to a challenge: ``{}`` starts validation (7.5.1); POST-as-GET reads it.

    Boulder: the answer is 200 with the challenge still ``pending`` (``processing`` in the rfc
    flavor); the result shows at the next read.
    """
    authz = _own_authz(fe, call)
    assert call.jws is not None
    start = not call.jws.post_as_get
    if start:
        call.jws.json()  # Boulder only checks that the body is JSON: "{}" is the norm.
    fe.va.settle(authz.id, poll=not start)
    with fe.store.lock:
        chall = authz.challenge(call.args["challenge_id"])
        if chall is None:
            raise problems.not_found("No such challenge")
        state = authz.status_at(fe.clock.now())
        if start and state == "pending" and not fe.va.in_flight(authz.id):
            fe.va.start(authz, chall, call.account.thumbprint, fe.settings.flavor == "rfc")
        elif start and state not in ("pending", "valid"):
            raise problems.malformed("Unable to update challenge :: authorization must be pending")
        body = wire.challenge(chall, authz.id, fe.urls)
        processing = chall.status == "processing"
    reply = Reply(200, body, {"Location": fe.urls.challenge(authz.id, chall.id)},
                  links=[(fe.urls.authz(authz.id), "up")])
    return _retry_after(fe, reply, processing)
