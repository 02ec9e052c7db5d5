"""Authorizations and challenges (RFC 8555 7.5): reads, deactivation, and the challenge POST
that asks the VA to validate. Boulder also serves both to a plain GET, without the owner
check (``wfe2/wfe.go`` ``Authorization``, ``Challenge``)."""

from __future__ import annotations

from .. import problems, wire
from ..model import Authorization, Status
from .common import Call, Frontend, Reply


def _find_authz(fe: Frontend, call: Call, missing: str) -> Authorization:
    authz = fe.store.authorizations.get(call.args["authz_id"])
    if authz is None:
        raise problems.not_found(missing)
    return authz


def _check_not_expired(fe: Frontend, authz: Authorization) -> None:
    # Boulder: "After expiring, authorizations are inaccessible" (404, type malformed). The
    # rfc flavor shows them with status "expired" instead (RFC 8555 7.1.6).
    if fe.settings.flavor == "boulder" and fe.clock.now() >= authz.expires:
        raise problems.not_found("Expired authorization")


def _retry_after(fe: Frontend, reply: Reply, processing: bool) -> Reply:
    # RFC 8555 7.5.1: a server may send Retry-After while a challenge is processing. Boulder
    # never does (its challenges stay pending), so only the rfc flavor sends it.
    if processing and fe.settings.flavor == "rfc":
        reply.headers["Retry-After"] = str(fe.settings.challenge_retry_after)
    return reply


def authorization(fe: Frontend, call: Call) -> Reply:
    """An authorization, by GET, POST-as-GET, or ``{"status": "deactivated"}`` (7.5.2).

    Boulder's order (``wfe2.Authorization``): the JWS, then the authorization exists, has not
    expired, belongs to the account; then a payload must ask for deactivation. The answer has
    no ``Location``."""
    authz = _find_authz(fe, call, "No such authorization")
    signed = call.jws is not None
    owner = not signed or authz.account_id == call.account.id
    post_as_get = not signed or (call.jws is not None and call.jws.post_as_get)
    # A deactivation request is not a poll; a read by another account is not one either.
    fe.reads.apply_due([authz.id], poll=owner and post_as_get)
    _check_not_expired(fe, authz)
    if not owner:
        raise problems.unauthorized("Account ID doesn't match ID for authorization")
    shown_status: Status | None = None
    if not post_as_get:
        assert call.jws is not None
        try:
            payload = call.jws.json()
        except problems.AcmeProblem:
            raise problems.malformed("Error unmarshaling JSON") from None
        status = payload.get("status")
        if status is not None and not isinstance(status, str):
            raise problems.malformed("Error unmarshaling JSON")
        if status != "deactivated":
            raise problems.malformed("Invalid status value")
        with fe.store.lock:
            if authz.status_at(fe.clock.now()) in ("pending", "valid"):
                fe.store.deactivate_authorization(authz)
        # Boulder's SA changes only valid and pending authorizations (sa/sa.go:451-469), and
        # the WFE shows the authorization deactivated whatever its stored status
        # (wfe2/wfe.go:1562-1565): an invalid one is answered "deactivated", and stays invalid.
        shown_status = "deactivated"
    state = fe.reads.show_authorization(authz, shown_by="authorization answer")
    with fe.store.lock:
        body = wire.authorization(authz, shown_status or state, fe.urls)
        processing = any(c.status == "processing" for c in authz.challenges)
    return _retry_after(fe, Reply(200, body), processing)


def find_challenge(fe: Frontend, call: Call) -> None:
    """Boulder looks the challenge up before it verifies the request (wfe2/wfe.go:1187-1243):
    an unknown authorization or challenge, or an expired authorization, is a 404 whatever
    the JWS says, and leaves its nonce unused."""
    authz = _find_authz(fe, call, "No such challenge")
    with fe.store.lock:
        found = authz.challenge(call.args["challenge_id"]) is not None
    if not found:
        raise problems.not_found("No such challenge")
    _check_not_expired(fe, authz)


def challenge(fe: Frontend, call: Call) -> Reply:
    """A challenge: ``{}`` starts validation (7.5.1); GET and POST-as-GET read it.

    Boulder: the answer is 200 with the challenge still ``pending`` (``processing`` in the rfc
    flavor), ``Location`` and ``Link: <authz>;rel="up"``; the result shows at the next read.
    A challenge that is no longer listed (after an attempt only the attempted one remains) is
    404 ``No such challenge``, as is one of an authorization that does not exist.
    """
    authz = _find_authz(fe, call, "No such challenge")
    signed = call.jws is not None
    start = call.jws is not None and not call.jws.post_as_get
    owner = not signed or authz.account_id == call.account.id
    fe.reads.apply_due([authz.id], poll=owner and not start)
    with fe.store.lock:
        found = authz.challenge(call.args["challenge_id"]) is not None
    if not found:
        raise problems.not_found("No such challenge")
    _check_not_expired(fe, authz)
    if not owner:
        raise problems.unauthorized("User account ID doesn't match account ID in authorization")
    if start:
        assert call.jws is not None
        try:
            call.jws.json()  # Boulder only checks that the body is JSON: "{}" is the norm.
        except problems.AcmeProblem:
            raise problems.malformed("Error unmarshaling challenge response") from None
    with fe.store.lock:
        chall = authz.challenge(call.args["challenge_id"])
        if chall is None:  # pragma: no cover - an attempt applied between the two looks
            raise problems.not_found("No such challenge")
        state = authz.status_at(fe.clock.now())
        if start and state == "pending":
            # The VA ignores a second POST while an attempt is in flight.
            fe.va.start(authz, chall, call.account.thumbprint, fe.urls.account(authz.account_id),
                        show_processing=fe.settings.flavor == "rfc")
        elif start and state not in ("pending", "valid"):
            raise problems.malformed("Unable to update challenge :: authorization must be pending")
        body = wire.challenge(chall, authz.id, fe.urls, authz.account_id)
        processing = chall.status == "processing"
    reply = Reply(200, body, {"Location": fe.urls.challenge(authz.id, chall.id)},
                  links=[(fe.urls.authz(authz.id), "up")])
    return _retry_after(fe, reply, processing)
