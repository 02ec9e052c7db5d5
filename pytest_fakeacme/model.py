"""The domain model: accounts, orders, authorizations, challenges and certificates.

Plain dataclasses with no I/O and no knowledge of HTTP or JOSE. Status rules live here:
an order's status is *derived* from its authorizations and its finalization (RFC 8555 7.1.6,
Boulder's ``statusForOrder``), never stored, so it cannot disagree with them.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from .problems import AcmeProblem

Status = Literal["pending", "processing", "valid", "invalid", "ready", "deactivated", "revoked",
                 "expired"]

HTTP_01 = "http-01"
DNS_01 = "dns-01"
TLS_ALPN_01 = "tls-alpn-01"
#: draft-ietf-acme-dns-account-label: dns-01 at an account-specific name (an option).
DNS_ACCOUNT_01 = "dns-account-01"
#: draft-ietf-acme-dns-persist: a standing TXT record naming the CA and the account (an option).
DNS_PERSIST_01 = "dns-persist-01"
CHALLENGE_TYPES = (HTTP_01, DNS_01, TLS_ALPN_01, DNS_ACCOUNT_01, DNS_PERSIST_01)
#: The challenge types answered with a TXT record.
DNS_TYPES = (DNS_01, DNS_ACCOUNT_01, DNS_PERSIST_01)


@dataclass(frozen=True)
class Identifier:
    """An ACME identifier (RFC 8555 9.7.7): ``dns`` names, or ``ip`` addresses (RFC 8738)."""

    type: str
    value: str

    @property
    def is_wildcard(self) -> bool:
        """A ``*.`` dns identifier (validated by dns-01 only)."""
        return self.type == "dns" and self.value.startswith("*.")

    @property
    def base(self) -> str:
        """The value without a wildcard's ``*.`` (what the authorization names)."""
        return self.value[2:] if self.is_wildcard else self.value

    def to_json(self) -> dict[str, str]:
        """The identifier object of RFC 8555 7.1.3/7.1.4."""
        return {"type": self.type, "value": self.value}


@dataclass
class Account:
    """An ACME account (RFC 8555 7.1.2). ``jwk`` is the public key as a JWK JSON object."""

    id: str
    jwk: dict[str, Any]
    thumbprint: str
    created: _dt.datetime
    contact: list[str] = field(default_factory=list)
    terms_agreed: bool = False
    #: The terms-of-service version the account last agreed to (0: none).
    terms_version: int = 0
    #: The external account key ID it was bound with (RFC 8555 7.3.4).
    eab_kid: str | None = None
    status: Status = "valid"
    order_ids: list[str] = field(default_factory=list)


@dataclass
class Challenge:
    """One challenge of an authorization (RFC 8555 7.1.5, 8)."""

    id: str
    type: str
    token: str
    status: Status = "pending"
    validated: _dt.datetime | None = None
    error: AcmeProblem | None = None
    validation_record: list[dict[str, Any]] = field(default_factory=list)
    #: dns-persist-01: the issuer domain names a record may name (the CA's CAA identity).
    issuer_domain_names: tuple[str, ...] = ()


@dataclass
class Authorization:
    """An authorization (RFC 8555 7.1.4) with its challenges.

    ``status`` holds the authorization's own transitions (pending, valid, invalid, deactivated,
    revoked); whether it has expired is derived from the clock by :meth:`status_at`.
    """

    id: str
    account_id: str
    identifier: Identifier
    wildcard: bool
    expires: _dt.datetime
    challenges: list[Challenge]
    status: Status = "pending"
    #: The profile of the order that created it: it is reused only for orders of the same
    #: profile (Boulder ra/ra.go:2225-2231).
    profile: str | None = None
    #: How long it lives once valid, and so is reused (the profile's ``validAuthzLifetime``).
    reuse_for: _dt.timedelta = _dt.timedelta(days=30)

    def status_at(self, now: _dt.datetime) -> Status:
        """The status a client sees at ``now``: a pending or valid authz past ``expires`` is
        ``expired`` (RFC 8555 7.1.6)."""
        if self.status in ("pending", "valid") and now >= self.expires:
            return "expired"
        return self.status

    def challenge(self, challenge_id: str) -> Challenge | None:
        """The challenge with this id, if it is still offered."""
        for chall in self.challenges:
            if chall.id == challenge_id:
                return chall
        return None


@dataclass
class Certificate:
    """An issued certificate: the leaf and the chain served with it, both PEM."""

    id: str
    serial: int
    order_id: str
    account_id: str
    pem: str
    chain_pem: str
    not_before: _dt.datetime
    not_after: _dt.datetime
    revoked_reason: int | None = None
    revoked_at: _dt.datetime | None = None
    #: RFC 9773 4.1's certificate identifier (AKI.serial).
    ari_id: str = ""
    #: The order that declared it replaces this certificate (RFC 9773 5).
    replaced_by: str | None = None
    #: Alternate chains (RFC 8555 7.4.2), each served at ``<cert URL>/<n>``.
    alternate_chains: tuple[str, ...] = ()
    #: When it was issued (its notBefore is backdated); None: at its notBefore.
    issued_at: _dt.datetime | None = None

    @property
    def fullchain_pem(self) -> str:
        """The leaf followed by its chain, as served (``application/pem-certificate-chain``)."""
        return self.pem + self.chain_pem


@dataclass
class Order:
    """An order (RFC 8555 7.1.3). Its status is derived: see :func:`order_status`."""

    id: str
    account_id: str
    identifiers: list[Identifier]
    authorization_ids: list[str]
    expires: _dt.datetime
    created: _dt.datetime
    not_before: _dt.datetime | None = None
    not_after: _dt.datetime | None = None
    profile: str | None = None
    #: The ARI certificate ID this order replaces (RFC 9773 5).
    replaces: str | None = None
    #: Set when finalize was accepted; the order is ``processing`` until the certificate shows.
    finalize_started: _dt.datetime | None = None
    certificate_id: str | None = None
    #: Reads of the order that still show ``processing`` after the certificate exists.
    processing_reads_left: int = 0
    #: Set when finalization failed (Boulder's ``failOrder``); makes the order invalid.
    error: AcmeProblem | None = None


def order_status(
    order: Order, authz_statuses: Iterable[Status], now: _dt.datetime
) -> Status:
    """Derive an order's status (RFC 8555 7.1.6; Boulder ``sa/model.go`` ``statusForOrder``).

    - an ``error``: ``invalid``; an issued certificate: ``valid`` (``processing`` while the
      finalization is still being shown as in progress);
    - past ``expires``, or any invalid / deactivated / revoked / expired authorization:
      ``invalid``;
    - any pending authorization: ``pending``;
    - all valid: ``ready``; ``processing`` once finalize began.
    """
    if order.error is not None:
        return "invalid"
    if order.certificate_id is not None:
        # Issued: what happens to the authorizations or the order's lifetime afterwards no
        # longer changes the order (the certificate has its own lifecycle).
        return "processing" if order.processing_reads_left > 0 else "valid"
    statuses = list(authz_statuses)
    if now >= order.expires or any(
        s in ("invalid", "deactivated", "revoked", "expired") for s in statuses
    ):
        return "invalid"
    if any(s == "pending" for s in statuses):
        return "pending"
    if order.finalize_started is not None:
        return "processing"
    return "ready"
