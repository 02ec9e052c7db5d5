"""What every handler works with: the :class:`Frontend` (the core's parts, the CA and the URLs),
one request as a :class:`Call`, the :class:`Reply` it returns, and the helpers more than one
handler needs. Handler modules import this module, never each other."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .. import problems, wire
from .._gofmt import go_base64_error
from ..ca import CertificateAuthority
from ..core import Core
from ..jws import JWSVerifier, VerifiedRequest, b64decode
from ..model import Account, Certificate
from .http import HttpRequest


@dataclass
class Reply:
    """A handler's answer: status, JSON (or text) body, extra headers."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    links: list[tuple[str, str]] = field(default_factory=list)
    #: None for an answer with no body and no Content-Type (newNonce, revokeCert).
    content_type: str | None = "application/json"


@dataclass
class Call:
    """One request as a handler sees it: the verified JWS (for POSTs) and the route's args."""

    request: HttpRequest
    url: str
    args: dict[str, str]
    jws: VerifiedRequest | None = None
    #: The id of the account the JWS's ``kid`` named, once the verifier found it valid (even
    #: if a later check refuses the request): Boulder's ``Boulder-Requester`` header.
    requester: str | None = None

    @property
    def account(self) -> Account:
        """The account that signed the request (kid endpoints only)."""
        assert self.jws is not None
        assert self.jws.account is not None
        return self.jws.account


class Frontend:
    """Everything a handler may use: the core's parts, the issuing CA and the fake's URLs.
    Handlers are plain functions ``(fe, call) -> Reply``."""

    def __init__(self, core: Core, ca: CertificateAuthority, urls: wire.Urls) -> None:
        self.ca = ca
        self.urls = urls
        self.store = core.store
        self.va = core.va
        self.reads = core.reads
        self.nonces = core.nonces
        self.clock = core.clock
        self.settings = core.settings
        self.errors = core.errors
        self.journal = core.journal
        self.faults = core.faults
        self.terms = core.terms
        self.eab = core.eab
        self.ari = core.ari
        self.limits = core.limits
        self.jws = JWSVerifier(self.nonces, self.account_by_url, lambda: self.store.blocked_keys)

    def account_by_url(self, kid: str, request_url: str) -> Account | None:
        """The account a ``kid`` names, under the scheme and host of ``request_url``."""
        parts = urlsplit(request_url)
        prefix = wire.Urls(f"{parts.scheme}://{parts.netloc}").account("")
        if not kid.startswith(prefix):
            return None
        return self.store.accounts.get(kid[len(prefix) :])

    def for_base(self, base: str) -> Frontend:
        """This front end with its URLs built from ``base`` (``https://host:port`` as the
        request named the fake: Boulder's ``web.RelativeEndpoint``)."""
        if base == self.urls.base:
            return self
        view = copy.copy(self)
        view.urls = wire.Urls(base)
        return view


Handler = Callable[[Frontend, Call], Reply]


def ari_serial(fe: Frontend, cert_id: str, context: str) -> int:
    """The serial an RFC 9773 certificate identifier names, read as Boulder's
    ``parseARICertID`` reads it (wfe2/wfe.go:2765-2793), with its problems under ``context``."""
    parts = cert_id.split(".")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise problems.malformed(f"{context} :: Invalid path")
    failure = go_base64_error(parts[0])
    if failure is not None:
        raise problems.malformed(
            f"{context} :: Authority Key Identifier was not base64url-encoded or contained "
            f"padding: {failure}"
        )
    if b64decode(parts[0], "AKI") not in fe.ca.issuer_key_ids:
        raise problems.not_found(
            f"{context} :: path contained an Authority Key Identifier that did not match a "
            "known issuer"
        )
    failure = go_base64_error(parts[1])
    if failure is not None:
        raise problems.not_found(
            f"{context} :: serial number was not base64url-encoded or contained padding: "
            f"{failure}"
        )
    return int.from_bytes(b64decode(parts[1], "serial"), "big")


def cert_by_serial(fe: Frontend, serial: int) -> Certificate | None:
    """The certificate with this serial, if the fake issued one."""
    with fe.store.lock:
        cert_id = fe.store.certificates_by_serial.get(serial)
        return fe.store.certificates.get(cert_id) if cert_id else None


def go_serial(serial: int) -> str:
    """Boulder's ``core.SerialToString``: 36 hex digits."""
    return f"{serial:036x}"
