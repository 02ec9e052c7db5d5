"""Accounts: newAccount, account fetch/update/deactivate, and the orders list (RFC 8555 7.3)."""

from __future__ import annotations

import re
from typing import Any

from .. import problems, wire
from .._gofmt import go_quote
from .app import Call, Frontend, Reply

_EMAIL = re.compile(r"^[^@\s]+@([A-Za-z0-9-]+\.)+[A-Za-z0-9-]+$")
#: Boulder's limit on contacts per account.
MAX_CONTACTS = 10


def check_contacts(value: Any) -> list[str]:
    """RFC 8555 7.3: contacts are URLs; like Let's Encrypt, only ``mailto:`` is supported."""
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise problems.malformed("contact must be an array of strings")
    if len(value) > MAX_CONTACTS:
        raise problems.malformed(f"too many contacts provided: {len(value)} > {MAX_CONTACTS}")
    for contact in value:
        if not contact.startswith("mailto:"):
            raise problems.unsupported_contact('only contact scheme "mailto:" is supported')
        address = contact[len("mailto:") :]
        if "?" in address or "," in address:
            raise problems.invalid_contact(
                f"contact email {go_quote(address)} contains a form, a list or parameters"
            )
        if not _EMAIL.match(address):
            raise problems.invalid_contact(f"unable to parse email address {go_quote(address)}")
    return list(value)


def new_account(fe: Frontend, call: Call) -> Reply:
    """POST newAccount (jwk): create, or find with ``onlyReturnExisting`` (RFC 8555 7.3, 7.3.1)."""
    assert call.jws is not None
    payload = call.jws.json()
    existing = fe.store.account_by_thumbprint(call.jws.thumbprint)
    if existing is not None:
        # RFC 8555 7.3.1: an existing key answers 200 with the account's URL.
        if existing.status != "valid":
            raise problems.unauthorized(f'Account is not valid, has status "{existing.status}"')
        return Reply(
            200, wire.account(existing, fe.urls), {"Location": fe.urls.account(existing.id)}
        )
    only_existing = payload.get("onlyReturnExisting", False)
    if not isinstance(only_existing, bool):
        raise problems.malformed("onlyReturnExisting must be a boolean")
    if only_existing:
        raise problems.account_does_not_exist("No account exists with the provided key")
    agreed = payload.get("termsOfServiceAgreed", False)
    if not isinstance(agreed, bool):
        raise problems.malformed("termsOfServiceAgreed must be a boolean")
    if fe.settings.terms_required and not agreed:
        raise problems.malformed("must agree to terms of service")
    contacts = check_contacts(payload.get("contact", []))
    account = fe.store.add_account(
        call.jws.jwk, call.jws.thumbprint, fe.clock.now(), contacts, agreed
    )
    return Reply(
        201,
        wire.account(account, fe.urls),
        {"Location": fe.urls.account(account.id)},
        links=[(fe.urls.terms, "terms-of-service")],
    )


def account(fe: Frontend, call: Call) -> Reply:
    """POST to an account URL: fetch (POST-as-GET), update contact, or deactivate (7.3.2, 7.3.6)."""
    acct = call.account
    if acct.id != call.args["account_id"]:
        raise problems.unauthorized("Request signing key did not match update target")
    assert call.jws is not None
    if not call.jws.post_as_get:
        payload = call.jws.json()
        status = payload.get("status")
        with fe.store.lock:
            if "contact" in payload:
                acct.contact = check_contacts(payload["contact"])
            if status is not None:
                if status != "deactivated":
                    raise problems.malformed('Invalid value provided for status field')
                acct.status = "deactivated"
            if payload.get("termsOfServiceAgreed") is True:
                acct.terms_agreed = True
    return Reply(200, wire.account(acct, fe.urls), {"Location": fe.urls.account(acct.id)})


def account_orders(fe: Frontend, call: Call) -> Reply:
    """POST-as-GET of an account's orders list, paged with ``Link: rel="next"`` (7.1.2.1)."""
    acct = call.account
    if acct.id != call.args["account_id"]:
        raise problems.unauthorized("Request signing key did not match the account")
    size = max(fe.settings.orders_page_size, 1)
    try:
        cursor = int(call.request.args.get("cursor", "0"))
    except ValueError:
        raise problems.malformed("cursor must be a whole number") from None
    with fe.store.lock:
        ids = list(acct.order_ids)
    page = ids[cursor : cursor + size]
    reply = Reply(200, {"orders": [fe.urls.order(i) for i in page]})
    if cursor + size < len(ids):
        reply.links.append((f"{fe.urls.account_orders(acct.id)}?cursor={cursor + size}", "next"))
    return reply
