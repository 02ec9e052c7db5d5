"""The directory, newNonce and the terms of service (RFC 8555 7.1.1, 7.2)."""

from __future__ import annotations

import base64
import secrets

from .. import wire
from .common import Call, Frontend, Reply

#: What Boulder's random directory entry points at (wfe2/wfe.go ``randomDirKeyExplanationLink``).
RANDOM_ENTRY_LINK = (
    "https://community.letsencrypt.org/t/adding-random-entries-to-the-directory/33417"
)

TERMS_TEXT = "pytest-fakeacme test terms of service: this CA issues only for tests.\n"


def directory(fe: Frontend, call: Call) -> Reply:
    """The directory (RFC 8555 7.1.1), by GET or POST-as-GET: every endpoint, ``meta``, and
    Boulder's random entry (a key of 11 random characters, fresh at each answer, so that
    clients do not hard-code the set of keys)."""
    meta: dict[str, object] = {
        "termsOfService": fe.urls.terms(fe.terms.version),
        "website": "https://github.com/pytest-fakeacme/pytest-fakeacme",
        "caaIdentities": [fe.settings.caa_identity],
    }
    if fe.settings.external_account_required:
        # RFC 8555 7.1.1; Let's Encrypt never requires a binding, so never sends the member.
        meta["externalAccountRequired"] = True
    offered = fe.settings.profiles_on(fe.clock.now())
    if offered:
        meta["profiles"] = {name: p.description for name, p in offered.items()}
    body = wire.directory(fe.urls, meta)
    if fe.settings.pre_authorization:
        body["newAuthz"] = fe.urls.endpoint("newAuthz")
    # Boulder core.RandomString(8): base64url of eight random bytes.
    key = base64.urlsafe_b64encode(secrets.token_bytes(8)).rstrip(b"=").decode("ascii")
    body[key] = RANDOM_ENTRY_LINK
    return Reply(200, body)


def new_nonce(fe: Frontend, call: Call) -> Reply:
    """GET answers 204, HEAD and POST-as-GET 200 (RFC 8555 7.2), with no body and no
    Content-Type; the nonce header is added by the app."""
    status = 204 if call.request.method == "GET" else 200
    return Reply(status, b"", content_type=None)


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
