"""The unpause pages a paused account's newOrder refusal links to: Let's Encrypt's Self-Service
Frontend (Boulder's ``sfe/sfe.go``), served by the fake itself.

``GET /sfe/v1/unpause?jwt=...`` shows a form naming the account and identifiers;
``POST /sfe/v1/do-unpause?jwt=...`` unpauses every identifier of the account and redirects
(302) to ``/sfe/v1/unpause-status?count=N``. A JWT that is malformed, expired or not this
fake's gets Boulder's other pages, always with 200 as the SFE answers.
"""

from __future__ import annotations

import html
from urllib.parse import parse_qs, urlencode

from ..limits import UNPAUSE_PATH
from .common import Call, Frontend, Reply

DO_UNPAUSE_PATH = "/sfe/v1/do-unpause"
STATUS_PATH = "/sfe/v1/unpause-status"
#: How many identifiers one unpause lifts, at most (unpause/unpause.go:25-36).
REQUEST_LIMIT = 50_000


def _page(title: str, body: str) -> Reply:
    text = (f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title></head>\n<body>\n<h1>{html.escape(title)}</h1>\n"
            f"{body}\n</body></html>\n")
    return Reply(200, text, content_type="text/html; charset=utf-8")


def _query(call: Call, name: str) -> str:
    values = parse_qs(call.request.environ.get("QUERY_STRING", "")).get(name)
    return values[0] if values else ""


def _claims(fe: Frontend, call: Call) -> dict[str, object] | Reply:
    """The link's JWT claims, or the page that says why there are none."""
    token = _query(call, "jwt")
    if token.count(".") != 2:
        return _page("Invalid unpause request",
                     "<p>The link is incomplete: copy the whole URL from your ACME "
                     "client's log.</p>")
    claims = fe.limits.tokens.redeem(token)
    if claims is None:
        return _page("Unpause failed", "<p>The link could not be verified.</p>")
    if claims.get("expired"):
        return _page("Unpause link expired",
                     "<p>Request a new certificate to get a fresh link.</p>")
    return claims


def unpause_form(fe: Frontend, call: Call) -> Reply:
    """The form: the account and the paused identifiers, and a button that unpauses."""
    claims = _claims(fe, call)
    if isinstance(claims, Reply):
        return claims
    items = "".join(f"<li>{html.escape(value)}</li>"
                    for value in str(claims["identifiers"]).split(","))
    action = f"{DO_UNPAUSE_PATH}?{urlencode({'jwt': _query(call, 'jwt')})}"
    return _page("Unpause your account",
                 f"<p>Account {html.escape(str(claims['sub']))} is paused for:</p>"
                 f"<ul>{items}</ul>\n<form method=\"post\" action=\"{html.escape(action)}\">"
                 "<button type=\"submit\">Please Unpause My Account</button></form>")


def do_unpause(fe: Frontend, call: Call) -> Reply:
    """Unpause every identifier of the JWT's account, then show how many."""
    claims = _claims(fe, call)
    if isinstance(claims, Reply):
        return claims
    count = fe.limits.unpause(str(claims["sub"]))
    return Reply(302, "", {"Location": f"{STATUS_PATH}?{urlencode({'count': count})}"},
                 content_type=None)


def unpause_status(fe: Frontend, call: Call) -> Reply:
    """How many identifiers were unpaused."""
    text = _query(call, "count")
    if not text.isdigit():
        return _page("Unpause failed", "<p>Something went wrong; try the link again.</p>")
    return _page("Account unpaused",
                 f"<p>{int(text)} identifiers were unpaused (at most {REQUEST_LIMIT} at a "
                 "time). You can request certificates again.</p>")


__all__ = ["DO_UNPAUSE_PATH", "STATUS_PATH", "UNPAUSE_PATH", "do_unpause", "unpause_form",
           "unpause_status"]
