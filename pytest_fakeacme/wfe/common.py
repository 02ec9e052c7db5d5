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
from ..ca import CertificateAuthority
from ..core import Core
from ..jws import JWSVerifier, VerifiedRequest
from ..model import Account, Certificate
from .http import HttpRequest


@dataclass
class Reply:
    """A handler's answer: status, JSON (or text) body, extra headers."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    links: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = "application/json"


@dataclass
class Call:
    """One request as a handler sees it: the verified JWS (for POSTs) and the route's args."""

    request: HttpRequest
    url: str
    args: dict[str, str]
    jws: VerifiedRequest | None = None

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
        self.jws = JWSVerifier(self.nonces, self.account_by_url)

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


def cert_by_ari_id(fe: Frontend, ari_id: str) -> Certificate:
    """The certificate an RFC 9773 certificate identifier names (404 when none does)."""
    if ari_id.count(".") != 1:
        raise problems.malformed(
            "Malformed certificate ID: must be base64url(AKI).base64url(serial)"
        )
    with fe.store.lock:
        for cert in fe.store.certificates.values():
            if cert.ari_id == ari_id:
                return cert
    raise problems.not_found("Certificate not found")
