"""Read-only snapshots of the fake's state, for assertions in tests.

Each view is a frozen copy taken under the store's lock: it does not change when the server
does, and changing it changes nothing. Statuses are the ones a client would see now.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from . import wire
from .model import Account, Authorization, Certificate, Challenge, Identifier, Order, Status
from .problems import AcmeProblem
from .store import Store


@dataclass(frozen=True)
class ChallengeView:
    """A challenge as the client sees it."""

    id: str
    url: str
    type: str
    token: str
    status: Status
    validated: _dt.datetime | None
    error: AcmeProblem | None
    validation_record: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class AuthorizationView:
    """An authorization with its challenges."""

    id: str
    url: str
    account_id: str
    identifier: Identifier
    wildcard: bool
    status: Status
    expires: _dt.datetime
    challenges: tuple[ChallengeView, ...]


@dataclass(frozen=True)
class CertificateView:
    """An issued certificate; :attr:`x509` is parsed with cryptography."""

    id: str
    url: str
    serial: int
    order_id: str
    account_id: str
    pem: str
    fullchain_pem: str
    not_before: _dt.datetime
    not_after: _dt.datetime
    revoked: bool

    @property
    def x509(self) -> x509.Certificate:
        """The leaf, parsed."""
        return x509.load_pem_x509_certificate(self.pem.encode("ascii"))

    @property
    def names(self) -> list[str]:
        """The DNS names and IP addresses in the leaf's SAN."""
        san = self.x509.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        return [str(n.value) for n in san]


@dataclass(frozen=True)
class OrderView:
    """An order, its derived status, its authorizations and certificate."""

    id: str
    url: str
    account_id: str
    status: Status
    identifiers: tuple[Identifier, ...]
    expires: _dt.datetime
    authorizations: tuple[AuthorizationView, ...]
    certificate: CertificateView | None
    error: AcmeProblem | None


@dataclass(frozen=True)
class AccountView:
    """An account."""

    id: str
    url: str
    status: Status
    contact: tuple[str, ...]
    terms_agreed: bool
    thumbprint: str
    jwk: dict[str, Any]
    order_ids: tuple[str, ...]


def challenge_view(chall: Challenge, authz_id: str, urls: wire.Urls) -> ChallengeView:
    """Snapshot one challenge."""
    return ChallengeView(
        id=chall.id,
        url=urls.challenge(authz_id, chall.id),
        type=chall.type,
        token=chall.token,
        status=chall.status,
        validated=chall.validated,
        error=chall.error,
        validation_record=tuple(dict(r) for r in chall.validation_record),
    )


def authorization_view(authz: Authorization, now: _dt.datetime, urls: wire.Urls
                       ) -> AuthorizationView:
    """Snapshot one authorization."""
    return AuthorizationView(
        id=authz.id,
        url=urls.authz(authz.id),
        account_id=authz.account_id,
        identifier=authz.identifier,
        wildcard=authz.wildcard,
        status=authz.status_at(now),
        expires=authz.expires,
        challenges=tuple(challenge_view(c, authz.id, urls) for c in authz.challenges),
    )


def certificate_view(cert: Certificate, urls: wire.Urls) -> CertificateView:
    """Snapshot one certificate."""
    return CertificateView(
        id=cert.id,
        url=urls.certificate(cert.id),
        serial=cert.serial,
        order_id=cert.order_id,
        account_id=cert.account_id,
        pem=cert.pem,
        fullchain_pem=cert.fullchain_pem,
        not_before=cert.not_before,
        not_after=cert.not_after,
        revoked=cert.revoked_reason is not None,
    )


def order_view(store: Store, order: Order, now: _dt.datetime, urls: wire.Urls) -> OrderView:
    """Snapshot one order (call with the store's lock held)."""
    cert = store.certificates.get(order.certificate_id) if order.certificate_id else None
    return OrderView(
        id=order.id,
        url=urls.order(order.id),
        account_id=order.account_id,
        status=store.status_of(order, now),
        identifiers=tuple(order.identifiers),
        expires=order.expires,
        authorizations=tuple(authorization_view(a, now, urls) for a in store.authzs_of(order)),
        certificate=certificate_view(cert, urls) if cert else None,
        error=order.error,
    )


def account_view(account: Account, urls: wire.Urls) -> AccountView:
    """Snapshot one account."""
    return AccountView(
        id=account.id,
        url=urls.account(account.id),
        status=account.status,
        contact=tuple(account.contact),
        terms_agreed=account.terms_agreed,
        thumbprint=account.thumbprint,
        jwk=dict(account.jwk),
        order_ids=tuple(account.order_ids),
    )
