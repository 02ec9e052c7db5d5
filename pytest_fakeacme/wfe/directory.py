"""The directory, newNonce and the terms of service (RFC 8555 7.1.1, 7.2)."""

from __future__ import annotations

from .. import wire
from .common import Call, Frontend, Reply

TERMS_TEXT = "pytest-fakeacme test terms of service: this CA issues only for tests.\n"


def directory(fe: Frontend, call: Call) -> Reply:
    """GET /directory: every endpoint, and ``meta`` (RFC 8555 7.1.1)."""
    meta: dict[str, object] = {
        "termsOfService": fe.urls.terms(fe.terms.version),
        "website": "https://github.com/pytest-fakeacme/pytest-fakeacme",
        "caaIdentities": [fe.settings.caa_identity],
        "externalAccountRequired": fe.settings.external_account_required,
    }
    if fe.settings.profiles:
        meta["profiles"] = {name: p.description for name, p in fe.settings.profiles.items()}
    body = wire.directory(fe.urls, meta)
    if fe.settings.pre_authorization:
        body["newAuthz"] = fe.urls.endpoint("newAuthz")
    return Reply(200, body)


def new_nonce(fe: Frontend, call: Call) -> Reply:
    """HEAD answers 200, GET 204 (RFC 8555 7.2); the nonce header is added by the app."""
    status = 204 if call.request.method == "GET" else 200
    return Reply(status, b"", content_type="text/plain")


def terms(fe: Frontend, call: Call) -> Reply:
    """The terms of service document the directory points at."""
    return Reply(200, TERMS_TEXT, content_type="text/plain; charset=utf-8")


def terms_agreement(fe: Frontend, call: Call) -> Reply:
    """What a person finds at ``userActionRequired``'s ``instance`` URL."""
    return Reply(
        200,
        f"The terms of service changed ({fe.urls.terms(fe.terms.version)}). To agree, the ACME "
        'client posts {"termsOfServiceAgreed": true} to its account URL (RFC 8555 7.3.3).\n',
        content_type="text/plain; charset=utf-8",
    )
