"""The in-memory store of the fake CA's state.

One re-entrant lock guards everything: the state of a test CA is small, and a single lock makes
every multi-object change (an order with its authorizations; a validation result on a challenge
and its authorization) atomic without lock-ordering rules. Callers that need several reads and
writes to be consistent hold :attr:`Store.lock` around them (``with store.lock: ...``).

The store imports neither werkzeug nor josepy: it keeps JWKs as JSON objects and thumbprints
as strings.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import secrets
import threading
from collections.abc import Callable, Sequence
from typing import Any

from .model import (
    DNS_PERSIST_01,
    Account,
    Authorization,
    Certificate,
    Challenge,
    Identifier,
    Order,
    Status,
    order_status,
)
from .problems import AcmeProblem


class Store:
    """Accounts, orders, authorizations and certificates by id, plus the lookups ACME needs."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._counter = itertools.count(1)
        #: Told of every status change, stored or shown: ``(kind, id, status, cause)``, and on
        #: creation what the object is (``identifier=`` of an authorization,
        #: ``challenge_type=`` of a challenge). The fake's core connects it to the journal.
        self.listener: Callable[..., None] | None = None
        self.clear()

    def _changed(self, kind: str, object_id: str, status: str, cause: str, **about: str
                 ) -> None:
        if self.listener is not None:
            self.listener(kind, object_id, status, cause, **about)

    def _created(self, authz: Authorization, cause: str) -> None:
        """An authorization and its challenges are new (the journal shows them as one)."""
        name = ("*." if authz.wildcard else "") + authz.identifier.value
        self._changed("authorization", authz.id, authz.status, cause, identifier=name)
        for chall in authz.challenges:
            self._changed("challenge", chall.id, chall.status, cause, challenge_type=chall.type)

    def clear(self) -> None:
        """Forget every object (ids keep counting, so old URLs never name new objects)."""
        with self.lock:
            self.accounts: dict[str, Account] = {}
            self.accounts_by_thumbprint: dict[str, str] = {}
            self.orders: dict[str, Order] = {}
            self.authorizations: dict[str, Authorization] = {}
            self.certificates: dict[str, Certificate] = {}
            self.certificates_by_serial: dict[int, str] = {}
            #: Digests (``goodkey.key_digest``) of keys revoked for key compromise, which
            #: Boulder then refuses for accounts and certificates (its blockedKeys table).
            self.blocked_keys: set[bytes] = set()
            # Indexes for newOrder's reuse lookups, which would otherwise scan every object
            # the fake holds: ~0.8 us per held issuance per newOrder (benchmarks/README.md).
            self._authzs_by_key: dict[tuple[str, Identifier, bool], list[Authorization]] = {}
            self._orders_by_key: dict[tuple[str, frozenset[Identifier], str | None],
                                      list[Order]] = {}

    def new_id(self) -> str:
        """A fresh, unguessable object id (a counter keeps ids ordered for humans)."""
        return f"{next(self._counter)}{secrets.token_hex(3)}"

    # Accounts

    def add_account(
        self,
        jwk: dict[str, Any],
        thumbprint: str,
        now: _dt.datetime,
        contact: Sequence[str],
        terms_agreed: bool,
    ) -> Account:
        """Create an account for a key that has none (the caller checked)."""
        with self.lock:
            account = Account(
                id=self.new_id(),
                jwk=jwk,
                thumbprint=thumbprint,
                created=now,
                contact=list(contact),
                terms_agreed=terms_agreed,
            )
            self.accounts[account.id] = account
            self.accounts_by_thumbprint[thumbprint] = account.id
            self._changed("account", account.id, account.status, "newAccount")
            return account

    def change_key(self, account: Account, jwk: dict[str, Any], thumbprint: str) -> None:
        """Give ``account`` a new key (RFC 8555 7.3.5); the old key no longer finds it."""
        with self.lock:
            self.accounts_by_thumbprint.pop(account.thumbprint, None)
            account.jwk = jwk
            account.thumbprint = thumbprint
            self.accounts_by_thumbprint[thumbprint] = account.id

    def account_by_thumbprint(self, thumbprint: str) -> Account | None:
        """The account registered with the key of this JWK thumbprint (RFC 7638)."""
        with self.lock:
            account_id = self.accounts_by_thumbprint.get(thumbprint)
            return self.accounts.get(account_id) if account_id else None

    # Orders and authorizations

    def add_order(self, order: Order, new_authzs: Sequence[Authorization]) -> None:
        """Store an order with the authorizations created for it."""
        with self.lock:
            for authz in new_authzs:
                self.authorizations[authz.id] = authz
                self._index_authz(authz)
                self._created(authz, "newOrder")
            self.orders[order.id] = order
            key = (order.account_id, frozenset(order.identifiers), order.profile)
            self._orders_by_key.setdefault(key, []).append(order)
            self.accounts[order.account_id].order_ids.append(order.id)

    def add_authorization(self, authz: Authorization) -> None:
        """Store an authorization made outside an order (pre-authorization)."""
        with self.lock:
            self.authorizations[authz.id] = authz
            self._index_authz(authz)
            self._created(authz, "newAuthz")

    def _index_authz(self, authz: Authorization) -> None:
        key = (authz.account_id, authz.identifier, authz.wildcard)
        self._authzs_by_key.setdefault(key, []).append(authz)

    def new_challenge(self, type_: str, token: str, issuers: tuple[str, ...] = ()) -> Challenge:
        """A pending challenge with a fresh id (``issuers``: dns-persist-01's issuer domain
        names)."""
        return Challenge(id=secrets.token_hex(4), type=type_, token=token,
                         issuer_domain_names=issuers)

    def authzs_of(self, order: Order) -> list[Authorization]:
        """The order's authorizations, in the order's order."""
        with self.lock:
            return [self.authorizations[a] for a in order.authorization_ids]

    def status_of(self, order: Order, now: _dt.datetime) -> Status:
        """The order's derived status at ``now``."""
        with self.lock:
            return order_status(order, (a.status_at(now) for a in self.authzs_of(order)), now)

    def reusable_authz(
        self, account_id: str, identifier: Identifier, now: _dt.datetime,
        profile: str | None = None, *, any_profile: bool = False,
        valid_until: _dt.datetime | None = None,
    ) -> Authorization | None:
        """The longest-lived valid authorization of this account for this identifier, of
        the same profile (or any, with ``any_profile``) and living past ``valid_until`` if
        given (Boulder ``ra.NewOrder``, ra/ra.go:2187-2231)."""
        key = (account_id, _authz_identifier(identifier), identifier.is_wildcard)
        cutoff = valid_until or now
        with self.lock:
            best: Authorization | None = None
            for authz in self._authzs_by_key.get(key, ()):
                if (authz.challenges and authz.challenges[0].type == DNS_PERSIST_01) or (
                        authz.profile != profile and not any_profile):
                    continue  # dns-persist-01: never reused, its standing record checked anew
                if authz.status_at(now) == "valid" and authz.expires > cutoff and (
                        best is None or authz.expires > best.expires):
                    best = authz
            return best

    def reusable_order(
        self,
        account_id: str,
        identifiers: Sequence[Identifier],
        profile: str | None,
        now: _dt.datetime,
    ) -> Order | None:
        """A pending or ready order of this account for exactly these identifiers and profile
        (Boulder ``ra.NewOrder`` / ``GetOrderForNames``), which newOrder returns as is."""
        key = (account_id, frozenset(identifiers), profile)
        with self.lock:
            for order in reversed(self._orders_by_key.get(key, ())):
                if (
                    order.not_before is None
                    and order.not_after is None
                    and self.status_of(order, now) in ("pending", "ready")
                ):
                    return order
            return None

    def record_validation(
        self,
        authz_id: str,
        challenge_id: str,
        *,
        validated: _dt.datetime,
        problem: AcmeProblem | None,
        records: Sequence[dict[str, Any]],
        now: _dt.datetime,
    ) -> None:
        """Apply a validation result: the challenge and its authorization become valid or
        invalid. Only the attempted challenge remains listed (Boulder
        ``sa/model.go`` ``populateAttemptedFields``); a valid authorization lives for its
        ``reuse_for`` from ``now`` (Boulder ra/ra.go:1577). Does nothing if the authorization
        is no longer pending."""
        with self.lock:
            authz = self.authorizations.get(authz_id)
            if authz is None or authz.status != "pending":
                return
            challenge = authz.challenge(challenge_id)
            if challenge is None:
                return
            challenge.validated = validated
            challenge.validation_record = [dict(r) for r in records]
            if problem is None:
                challenge.status = "valid"
                challenge.error = None
                authz.status = "valid"
                authz.expires = now + authz.reuse_for
            else:
                challenge.status = "invalid"
                challenge.error = problem
                authz.status = "invalid"
            authz.challenges = [challenge]
            cause = "validation: " + ("valid" if problem is None else problem.type)
            self._changed("challenge", challenge.id, challenge.status, cause)
            self._changed("authorization", authz.id, authz.status, cause)

    def deactivate_authorization(self, authz: Authorization) -> None:
        """The client gave up this authorization (RFC 8555 7.5.2)."""
        with self.lock:
            authz.status = "deactivated"
            self._changed("authorization", authz.id, "deactivated", "deactivation")

    def deactivate_account(self, account: Account) -> None:
        """The client closed this account (RFC 8555 7.3.6)."""
        with self.lock:
            account.status = "deactivated"
            self._changed("account", account.id, "deactivated", "deactivation")

    def shown(self, kind: str, object_id: str, status: Status, cause: str) -> None:
        """A status a client was just shown. An order's status is derived, never stored, so it
        changes when it is looked at; the listener hears of it here, as of any stored change,
        and keeps only real changes."""
        self._changed(kind, object_id, status, cause)

    def mark_processing(self, challenge: Challenge) -> None:
        """Show a challenge as ``processing`` while it is validated (RFC 8555 7.1.6)."""
        with self.lock:
            challenge.status = "processing"
            self._changed("challenge", challenge.id, "processing", "challenge POST")

    # Certificates

    def add_certificate(self, cert: Certificate) -> None:
        """Store an issued certificate and link it to its order."""
        with self.lock:
            self.certificates[cert.id] = cert
            self.certificates_by_serial[cert.serial] = cert.id
            self.orders[cert.order_id].certificate_id = cert.id

    def count(self) -> dict[str, int]:
        """How many objects of each kind the store holds."""
        with self.lock:
            return {
                "accounts": len(self.accounts),
                "orders": len(self.orders),
                "authorizations": len(self.authorizations),
                "certificates": len(self.certificates),
            }


def _authz_identifier(identifier: Identifier) -> Identifier:
    """The identifier an authorization carries: a wildcard's base name (RFC 8555 7.1.4)."""
    return Identifier(identifier.type, identifier.base)
