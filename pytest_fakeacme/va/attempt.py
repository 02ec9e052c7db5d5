"""One validation attempt: what it knows going in (:class:`AttemptContext`), what a real probe saw
(:class:`Observation`), what it amounts to for the client (:class:`Finding`), and the validation
records it leaves (Boulder's ``core.ValidationRecord``).

Three names for three stages: an :class:`~pytest_fakeacme.outcomes.Outcome` names a responder
behaviour (scripted, or observed); an :class:`Observation` is a real probe's outcome with the
records and address it produced; a :class:`Finding` is the rendered verdict: Boulder's problem
(None when valid) and the records the challenge shows.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .. import problems
from .._gofmt import go_quote
from ..errors import ScriptError
from ..model import DNS_ACCOUNT_01, DNS_PERSIST_01, HTTP_01, TLS_ALPN_01, Identifier
from ..outcomes import Outcome
from .policy import default_port


def account_label(account_uri: str) -> str:
    """draft-ietf-acme-dns-account-label: base32 of the first 10 bytes of SHA-256 of the
    account URL, lower case."""
    digest = hashlib.sha256(account_uri.encode("utf-8")).digest()[:10]
    return base64.b32encode(digest).decode("ascii").lower()


@dataclass(frozen=True)
class AttemptContext:
    """Everything about one validation attempt that its rendering needs."""

    challenge_type: str
    identifier: Identifier
    wildcard: bool
    token: str
    key_authorization: str
    #: The port the VA connects to (the fake's stand-in for 80, or for 443 for tls-alpn-01).
    port: int
    #: The addresses the name resolved to (IPv6 first, as Boulder tries them).
    addresses: tuple[str, ...]
    started: _dt.datetime
    #: The URL of the account asking (dns-account-01 derives its record name from it, CAA's
    #: ``accounturi`` is checked against it). The front end hands it over, as Pebble's does.
    account_uri: str = ""
    #: Seconds a real check may take in all (connect, redirects, body).
    timeout: float = 3.0
    #: The port a redirect to https on 443 connects to (the fake's stand-in for 443).
    https_port: int = 443
    #: The CA's issuer domain name, which a dns-persist-01 record must name (its CAA identity).
    issuer_domain: str = ""

    @property
    def hostname(self) -> str:
        """The name (or IP) being validated, without a wildcard's ``*.``."""
        return self.identifier.value

    @property
    def address(self) -> str:
        """The address a connection goes to (the first resolved one)."""
        return self.addresses[0] if self.addresses else "127.0.0.1"

    @property
    def resolved(self) -> list[str]:
        """``addressesResolved`` as Boulder lists it: the AAAA records, then the A records
        (``getAddrs``, va/dns.go:86)."""
        addresses = list(self.addresses) or [self.address]
        return [a for a in addresses if ":" in a] + [a for a in addresses if ":" not in a]

    @property
    def host_for_url(self) -> str:
        """The host as written in a URL (IPv6 literals bracketed)."""
        host = self.hostname
        if self.identifier.type == "ip" and ":" in host:
            return f"[{host}]"
        return host

    @property
    def url(self) -> str:
        """The http-01 challenge URL (RFC 8555 8.3); port 80 is left implicit."""
        netloc = self.host_for_url if self.port == 80 else f"{self.host_for_url}:{self.port}"
        return f"http://{netloc}/.well-known/acme-challenge/{self.token}"

    @property
    def txt_name(self) -> str:
        """The TXT record name: ``_acme-challenge.<name>`` (RFC 8555 8.4), and for
        dns-account-01 ``_<label>._acme-challenge.<name>`` with the account's label."""
        if self.challenge_type == DNS_ACCOUNT_01:
            return f"_{account_label(self.account_uri)}._acme-challenge.{self.hostname}"
        if self.challenge_type == DNS_PERSIST_01:
            # core.DNSPersistPrefix; a wildcard's record is at its base name (va/va.go).
            return f"_validation-persist.{self.hostname}"
        return f"_acme-challenge.{self.hostname}"

    @property
    def account_suffix(self) -> str:
        """Boulder's ``" (account: %q)"`` on dns-account-01 unauthorized details."""
        if self.challenge_type == DNS_ACCOUNT_01:
            return f" (account: {go_quote(self.account_uri)})"
        return ""


@dataclass(frozen=True)
class Finding:
    """The result of one attempt: a problem (None when valid) and the validation records."""

    problem: problems.AcmeProblem | None
    records: tuple[dict[str, Any], ...] = ()
    #: A misuse to re-raise in the test (the problem is then serverInternal).
    usage_error: ScriptError | None = field(default=None, compare=False)

    @property
    def valid(self) -> bool:
        """Whether the challenge passed."""
        return self.problem is None



@dataclass
class Observation:
    """What the real VA saw: an outcome in the shared vocabulary, records, the address used."""

    outcome: Outcome
    records: list[dict[str, Any]]
    address: str


# Records.


def http_record(
    url: str, ctx: AttemptContext, address: str | None = None, resolved: bool = True
) -> dict[str, Any]:
    """An http-01 validationRecord entry (Boulder ``core.ValidationRecord``): the URL fetched,
    its host and port, the addresses the host resolved to and the one used."""
    record: dict[str, Any] = {
        "url": url,
        "hostname": urlsplit(url).hostname or ctx.hostname,
        "port": str(default_port(url)),
    }
    if resolved:
        record["addressesResolved"] = ctx.resolved
        record["addressUsed"] = address or ctx.address
    return record


def alpn_record(ctx: AttemptContext, address: str | None = None,
                resolved: bool = True) -> dict[str, Any]:
    """A tls-alpn-01 validationRecord entry (``va/tlsalpn.go`` ``tryGetChallengeCert``)."""
    record: dict[str, Any] = {"hostname": ctx.hostname, "port": str(ctx.port)}
    if resolved:
        record["addressesResolved"] = ctx.resolved
        record["addressUsed"] = address or ctx.address
    return record


def default_records(ctx: AttemptContext, resolved: bool = True) -> tuple[dict[str, Any], ...]:
    """The records a single, direct attempt leaves, by challenge type.

    Boulder: an http-01 attempt whose name does not resolve leaves none (``processHTTPValidation``
    fails before its first record); a tls-alpn-01 attempt always leaves its one record; a dns-01
    attempt leaves a record only when it passes (``validateDNS`` returns none with an error).
    """
    if ctx.challenge_type == HTTP_01:
        return (http_record(ctx.url, ctx),) if resolved else ()
    if ctx.challenge_type == TLS_ALPN_01:
        return (alpn_record(ctx, resolved=resolved),)
    # dns-01 and dns-persist-01 (va/dns_persist.go:196): the name, and Go's zero address,
    # which core.ValidationRecord marshals as "" (no omitempty: core/objects.go:115).
    return ({"hostname": ctx.hostname, "addressUsed": ""},)
