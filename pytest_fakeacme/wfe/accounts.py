"""Accounts: newAccount, account fetch/update/deactivate, and the orders list (RFC 8555 7.3).

Details follow Boulder's ``wfe2/wfe.go`` (``NewAccount``, ``Account``, ``updateAccount``,
``contactsToEmails``) and ``policy/pa.go`` (``ValidEmail``).
"""

from __future__ import annotations

import re
from typing import Any

from .. import problems, wire
from .._gofmt import go_quote
from ..model import Account
from .common import Call, Frontend, Reply
from .identifiers import email_domain_problem

#: Boulder's ``maxContactsPerReg`` (cmd/boulder-wfe2/main.go:413-414).
MAX_CONTACTS = 10
#: What Go's ``mail.ParseAddress`` accepts as an address, near enough: a dot-atom or quoted
#: local part, ``@``, and a domain of atoms or a literal; optionally after a display name and
#: inside angle brackets.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL = rf'(?:{_ATOM}(?:\.{_ATOM})*|"(?:[^"\\\r\n]|\\.)*")'
_ADDR_SPEC = rf"{_LOCAL}@(?:{_ATOM}(?:\.{_ATOM})*|\[[^\[\]\\]*\])"
_PHRASE = rf'(?:{_ATOM}|"(?:[^"\\\r\n]|\\.)*")(?:[ \t]+(?:{_ATOM}|"(?:[^"\\\r\n]|\\.)*"))*'
_ADDRESS = re.compile(rf"^[ \t]*(?:({_ADDR_SPEC})|(?:{_PHRASE})?[ \t]*<({_ADDR_SPEC})>)[ \t]*$")
_CONTEXT = "Error validating contact(s) :: "


def check_contacts(value: Any, strict: bool = False, context: str = _CONTEXT) -> list[str]:
    """RFC 8555 7.3 contacts, validated as Boulder's ``contactsToEmails`` validates them
    (wfe2/wfe.go:684-734): ``mailto:`` URLs of one address whose domain Boulder would accept
    and is not an example domain. Problems carry Boulder's context."""
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
        reason = _contact_problem(contact, strict)
        if reason is not None:
            kind, detail = reason
            if kind == "unsupportedContact":
                raise problems.unsupported_contact(context + detail)
            raise problems.invalid_contact(context + detail)
    return list(value)


def _go_url(contact: str) -> tuple[str, str, str, str] | None:
    """Go's ``url.Parse`` of a contact, as far as Boulder reads it: ``(scheme, opaque, query,
    fragment)``, or None when Go refuses the URL."""
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in contact):
        return None  # "net/url: invalid control character in URL"
    rest, _, fragment = contact.partition("#")
    if fragment and re.search(r"%(?![0-9A-Fa-f]{2})", fragment):
        return None  # an invalid escape in the fragment
    scheme = ""
    for index, ch in enumerate(rest):
        if ch.isascii() and ch.isalpha():
            continue
        if ch.isascii() and (ch.isdigit() or ch in "+-.") and index:
            continue
        if ch == ":":
            if index == 0:
                return None  # "missing protocol scheme"
            scheme, rest = rest[:index].lower(), rest[index + 1:]
        break
    rest, _, query = rest.partition("?")
    if not scheme and ":" in rest.split("/", 1)[0]:
        return None  # "first path segment in URL cannot contain colon"
    opaque = "" if rest.startswith("/") else rest
    return scheme, opaque, query, fragment


def _contact_problem(contact: str, strict: bool) -> tuple[str, str] | None:
    # Boulder contactsToEmails and policy.ValidEmail, in their order.
    if contact == "":
        return "invalidContact", "empty contact"
    parsed = _go_url(contact)
    if parsed is None:
        return "invalidContact", "unparsable contact"
    scheme, opaque, query, fragment = parsed
    if scheme != "mailto":
        return "unsupportedContact", "only contact scheme 'mailto:' is supported"
    if query or contact.endswith("?"):
        return "invalidContact", "contact email contains a question mark"
    if fragment or contact.endswith("#"):
        return "invalidContact", "contact email contains a '#'"
    if not contact.isascii():
        return "invalidContact", "contact email contains non-ASCII characters"
    found = _ADDRESS.match(opaque)
    if found is None:
        return "invalidContact", "unable to parse email address"
    address = found.group(1) or found.group(2)
    domain = address.rsplit("@", 1)[1].lower()
    reason = email_domain_problem(domain, strict)
    if reason is not None:
        return "invalidContact", reason
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
        return _existing(fe, existing)
    if payload.get("onlyReturnExisting"):
        raise problems.account_does_not_exist("No account exists with the provided key")
    agreed = bool(payload.get("termsOfServiceAgreed"))
    if fe.settings.terms_required and not agreed:
        raise problems.malformed("must agree to terms of service")
    contacts = check_contacts(contact, fe.settings.strict_identifiers)
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
    # Boulder checkNewAccountLimits, after the key, the terms and the contacts
    # (wfe2/wfe.go:877-887). The address is X-Real-IP's, as Boulder's proxy sets it, else the
    # peer's (web/extract.go:13-23): a test can so speak from other addresses.
    environ = call.request.environ
    refusal = fe.limits.new_account(
        str(environ.get("HTTP_X_REAL_IP") or environ.get("REMOTE_ADDR") or ""))
    if refusal is not None:
        raise refusal
    with fe.store.lock:
        # Two racing newAccounts for one key: the second finds the first (Boulder: Duplicate).
        existing = fe.store.account_by_thumbprint(call.jws.thumbprint)
        if existing is not None:
            return _existing(fe, existing)
        account = fe.store.add_account(
            call.jws.jwk, call.jws.thumbprint, fe.clock.now(), contacts, agreed
        )
        account.terms_version = fe.terms.version if agreed else 0
        if eab_kid is not None:
            account.eab_kid = eab_kid
            fe.eab.bind(eab_kid, account.id)
    return Reply(
        201,
        wire.account(account, fe.urls, fe.settings.flavor),
        {"Location": fe.urls.account(account.id), "Boulder-Requester": account.id},
        links=[(fe.urls.terms(fe.terms.version), "terms-of-service")],
    )


def _existing(fe: Frontend, existing: Account) -> Reply:
    """newAccount for a key that has an account (RFC 8555 7.3.1): 200 with its URL, and
    Boulder's Boulder-Requester, without the terms link (wfe2/wfe.go:809-826)."""
    return Reply(200, wire.account(existing, fe.urls, fe.settings.flavor),
                 {"Location": fe.urls.account(existing.id), "Boulder-Requester": existing.id})


_UPDATE = "Unable to update account :: "


def _go_json_kind(value: Any) -> str:
    """What Go's ``UnmarshalTypeError`` calls a JSON value."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "array" if isinstance(value, list) else "object"


def account(fe: Frontend, call: Call) -> Reply:
    """POST to an account URL: fetch (POST-as-GET or ``{}``) or deactivate (RFC 8555 7.3.2,
    7.3.6). Boulder reads only ``status`` (wfe2/wfe.go ``updateAccount``): a ``contact`` is
    ignored, and the account comes back unchanged; the rfc flavor updates contacts."""
    acct = call.account
    if acct.id != call.args["account_id"]:
        raise problems.unauthorized("Request signing key did not match account key")
    assert call.jws is not None
    if not call.jws.post_as_get and call.jws.payload.strip() != b"{}":
        payload = call.jws.json()
        status = payload.get("status")
        if status is not None and not isinstance(status, str):
            raise problems.malformed(
                f"{_UPDATE}parsing account update request: json: cannot unmarshal "
                f"{_go_json_kind(status)} into Go struct field .status of type core.AcmeStatus"
            )
        if status == "deactivated":
            # Boulder: deactivation wins over any other change in the same request.
            fe.store.deactivate_account(acct)
        elif status not in (None, "", "valid"):
            raise problems.malformed(
                f"{_UPDATE}invalid status {go_quote(status)} for account update request, must "
                'be "valid" or "deactivated"'
            )
        else:
            _update(fe, acct, payload)
    with fe.store.lock:
        body = wire.account(acct, fe.urls, fe.settings.flavor)
    # No Location here: Boulder's Account handler sends the account and the terms link only
    # (wfe2/wfe.go:1481-1487).
    return Reply(200, body, links=[(fe.urls.terms(fe.terms.version), "terms-of-service")])


def _update(fe: Frontend, acct: Account, payload: dict[str, Any]) -> None:
    """An update that is not a deactivation: new contacts (rfc flavor only), and agreement to
    new terms (the fake's ``terms`` feature, RFC 8555 7.3.3)."""
    contacts = None
    if "contact" in payload and fe.settings.flavor == "rfc":
        contacts = check_contacts(payload["contact"], fe.settings.strict_identifiers, _UPDATE)
    with fe.store.lock:
        if contacts is not None:
            acct.contact = contacts
        if payload.get("termsOfServiceAgreed") is True:
            acct.terms_agreed = True
            acct.terms_version = fe.terms.version


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
