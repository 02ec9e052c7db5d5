"""Accounts: newAccount, account fetch/update/deactivate, and the orders list (RFC 8555 7.3).

Details follow Boulder's ``wfe2/wfe.go`` (``NewAccount``, ``Account``, ``updateAccount``,
``contactsToEmails``) and ``policy/pa.go`` (``ValidEmail``).
"""

from __future__ import annotations

import json
import re
from typing import Any

from .. import problems, wire
from .._gofmt import go_quote
from .common import Call, Frontend, Reply
from .identifiers import dns_name_problem

#: Boulder's ``maxContactsPerReg``.
MAX_CONTACTS = 10
#: Boulder stores the JSON list of contacts in a column of this many bytes.
MAX_CONTACT_BYTES = 191
#: What Go's ``mail.ParseAddress`` accepts as a bare address, near enough: a dot-atom or
#: quoted local part, ``@``, and a domain of atoms or a literal.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL = rf'(?:{_ATOM}(?:\.{_ATOM})*|"(?:[^"\\\r\n]|\\.)*")'
_ADDRESS = re.compile(rf"^{_LOCAL}@(?:{_ATOM}(?:\.{_ATOM})*|\[[^\[\]\\]*\])$")


def check_contacts(value: Any, context: str = "Error validating contact(s) :: ") -> list[str]:
    """RFC 8555 7.3 contacts, validated as Let's Encrypt validates them: only ``mailto:`` URLs
    of one plain address with a well-formed domain. Problems carry Boulder's ``context``."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise problems.malformed("Error unmarshaling JSON")
    if not value:
        return []
    if len(value) > MAX_CONTACTS:
        raise problems.malformed(
            f"{context}too many contacts provided: {len(value)} > {MAX_CONTACTS}"
        )
    for contact in value:
        reason = _contact_problem(contact)
        if reason is not None:
            kind, detail = reason
            if kind == "unsupportedContact":
                raise problems.unsupported_contact(context + detail)
            raise problems.invalid_contact(context + detail)
    if len(_go_json(value)) > MAX_CONTACT_BYTES:
        raise problems.invalid_contact(
            context + "too many/too long contact(s). Please use shorter or fewer email addresses"
        )
    return list(value)


def _go_json(value: list[str]) -> bytes:
    # The contacts as Go's json.Marshal writes them (compact).
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _contact_problem(contact: str) -> tuple[str, str] | None:
    # Boulder contactsToEmails, in its order.
    if contact == "":
        return "invalidContact", "empty contact"
    scheme, sep, rest = contact.partition(":")
    if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        # url.Parse gives no scheme for these; no scheme is not mailto.
        return "unsupportedContact", "only contact scheme 'mailto:' is supported"
    if scheme.lower() != "mailto":
        return "unsupportedContact", "only contact scheme 'mailto:' is supported"
    if "?" in contact:
        return "invalidContact", "contact email contains a question mark"
    if "#" in contact:
        return "invalidContact", "contact email contains a '#'"
    if not contact.isascii():
        return "invalidContact", "contact email contains non-ASCII characters"
    address = rest
    if address.startswith("/") or not _ADDRESS.match(address):
        return "invalidContact", "unable to parse email address"
    domain = address.rsplit("@", 1)[1].lower()
    reason = dns_name_problem(domain, wildcard_allowed=False)
    if reason is not None:
        return "invalidContact", f"contact email has invalid domain: {reason}"
    return None


def new_account(fe: Frontend, call: Call) -> Reply:
    """POST newAccount (jwk): create, or find with ``onlyReturnExisting`` (RFC 8555 7.3, 7.3.1)."""
    assert call.jws is not None
    try:
        payload = call.jws.json()
    except problems.AcmeProblem:
        raise problems.malformed("Error unmarshaling JSON") from None
    for name in ("termsOfServiceAgreed", "onlyReturnExisting"):
        if payload.get(name) is not None and not isinstance(payload[name], bool):
            raise problems.malformed("Error unmarshaling JSON")
    contact = payload.get("contact")
    if contact is not None and (
        not isinstance(contact, list) or not all(isinstance(c, str) for c in contact)
    ):
        raise problems.malformed("Error unmarshaling JSON")
    existing = fe.store.account_by_thumbprint(call.jws.thumbprint)
    if existing is not None:
        # RFC 8555 7.3.1: an existing key answers 200 with the account's URL.
        if existing.status == "deactivated":
            raise problems.unauthorized(
                "An account with the provided public key exists but is deactivated"
            )
        return Reply(
            200, wire.account(existing, fe.urls), {"Location": fe.urls.account(existing.id)}
        )
    if payload.get("onlyReturnExisting"):
        raise problems.account_does_not_exist("No account exists with the provided key")
    agreed = bool(payload.get("termsOfServiceAgreed"))
    if fe.settings.terms_required and not agreed:
        raise problems.malformed("must agree to terms of service")
    contacts = check_contacts(contact)
    binding = payload.get("externalAccountBinding")
    eab_kid: str | None = None
    if binding is not None:
        eab_kid = fe.eab.verify(binding, call.jws.jwk, call.url)
    elif fe.settings.external_account_required:
        raise problems.problem(
            "externalAccountRequired",
            "This server requires an external account binding (RFC 8555 7.3.4)",
            400,
        )
    with fe.store.lock:
        # Two racing newAccounts for one key: the second finds the first (Boulder: Duplicate).
        existing = fe.store.account_by_thumbprint(call.jws.thumbprint)
        if existing is not None:
            return Reply(
                200, wire.account(existing, fe.urls), {"Location": fe.urls.account(existing.id)}
            )
        account = fe.store.add_account(
            call.jws.jwk, call.jws.thumbprint, fe.clock.now(), contacts, agreed
        )
        account.terms_version = fe.terms.version if agreed else 0
        if eab_kid is not None:
            account.eab_kid = eab_kid
            fe.eab.bind(eab_kid, account.id)
    return Reply(
        201,
        wire.account(account, fe.urls),
        {"Location": fe.urls.account(account.id)},
        links=[(fe.urls.terms(fe.terms.version), "terms-of-service")],
    )


def account(fe: Frontend, call: Call) -> Reply:
    """POST to an account URL: fetch (POST-as-GET or ``{}``), update contact, or deactivate
    (RFC 8555 7.3.2, 7.3.6)."""
    acct = call.account
    if acct.id != call.args["account_id"]:
        raise problems.unauthorized("Request signing key did not match account key")
    assert call.jws is not None
    if not call.jws.post_as_get and call.jws.payload.strip() != b"{}":
        try:
            payload = call.jws.json()
        except problems.AcmeProblem:
            raise problems.malformed(
                "Unable to update account :: parsing account update request"
            ) from None
        status = payload.get("status")
        if status is not None and not isinstance(status, str):
            raise problems.malformed("Unable to update account :: parsing account update request")
        if status == "deactivated":
            # Boulder: deactivation wins over any other change in the same request.
            fe.store.deactivate_account(acct)
        elif status not in (None, "", "valid"):
            raise problems.malformed(
                f"Unable to update account :: invalid status {go_quote(status)} for account "
                'update request, must be "valid" or "deactivated"'
            )
        else:
            contacts = (
                check_contacts(payload["contact"], "Unable to update account :: ")
                if "contact" in payload
                else None
            )
            with fe.store.lock:
                if contacts is not None:
                    acct.contact = contacts
                if payload.get("termsOfServiceAgreed") is True:
                    acct.terms_agreed = True
                    acct.terms_version = fe.terms.version
    with fe.store.lock:
        body = wire.account(acct, fe.urls)
    return Reply(
        200,
        body,
        {"Location": fe.urls.account(acct.id)},
        links=[(fe.urls.terms(fe.terms.version), "terms-of-service")],
    )


def account_orders(fe: Frontend, call: Call) -> Reply:
    """POST-as-GET of an account's orders list, paged with ``Link: rel="next"`` (7.1.2.1)."""
    acct = call.account
    if acct.id != call.args["account_id"]:
        raise problems.unauthorized("Request signing key did not match account key")
    size = max(fe.settings.orders_page_size, 1)
    raw_cursor = call.request.args.get("cursor", "0")
    if not re.fullmatch(r"[0-9]{1,9}", raw_cursor):
        raise problems.malformed(f"cursor must be a whole number, was {go_quote(raw_cursor)}")
    cursor = int(raw_cursor)
    with fe.store.lock:
        ids = list(acct.order_ids)
    page = ids[cursor : cursor + size]
    reply = Reply(200, {"orders": [fe.urls.order(i) for i in page]})
    if cursor + size < len(ids):
        reply.links.append((f"{fe.urls.account_orders(acct.id)}?cursor={cursor + size}", "next"))
    return reply
