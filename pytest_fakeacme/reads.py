"""Settle, then read: the one place that brings pending validations up to date before anything
is shown, to a client or to a test.

A validation's result is applied when the authorization is next read, not when the VA's thread
finishes (see :mod:`pytest_fakeacme.va.authority`); every reader (the front end's handlers, the
facade's views, the management API) goes through :class:`Reads`, so none can forget to settle
and the polls a client makes are counted in one place. Reads also report the derived statuses a
client is shown (an order's status is never stored) to the store, which tells the journal.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable

from . import views, wire
from .clock import Clock
from .model import Authorization, Order, Status
from .renewal import RenewalControl
from .store import Store
from .va.authority import ValidationAuthority


class Reads:
    """Reads of the fake's state, settled first."""

    def __init__(self, store: Store, va: ValidationAuthority, clock: Clock,
                 ari: RenewalControl) -> None:
        self._store = store
        self._va = va
        self._clock = clock
        self._ari = ari

    def catch_up(self) -> None:
        """Apply what the fake's clock has made due outside any one authorization: the
        revocations of a mass revocation drill. Every request and every view starts here."""
        if self._ari.pending:
            self._ari.revoke_due(self._clock.now())

    def apply_due(self, authz_ids: Iterable[str], *, poll: bool) -> None:
        """Apply what the VA found for these authorizations, if it is due. ``poll``: the read
        is one of the client's polls (a held-back outcome counts it)."""
        for authz_id in authz_ids:
            self._va.settle(authz_id, poll=poll)

    def apply_all_due(self) -> None:
        """Apply what is due for every authorization, without counting a poll (views)."""
        self.apply_due(list(self._store.authorizations), poll=False)

    def show_order(self, order: Order, *, poll: bool, shown_by: str) -> Status:
        """The status of ``order`` as its answer shows it now, settled first. A finalized
        order still shows ``processing`` for the reads Boulder's async finalization asks."""
        self.apply_due(order.authorization_ids, poll=poll)
        with self._store.lock:
            state = self._store.status_of(order, self._clock.now())
            if state == "processing" and order.processing_reads_left > 0:
                order.processing_reads_left -= 1
            self._store.shown("order", order.id, state, shown_by)
            return state

    def show_authorization(self, authz: Authorization, *, shown_by: str) -> Status:
        """The status of ``authz`` as its answer shows it now (call after :meth:`apply_due`)."""
        with self._store.lock:
            state = authz.status_at(self._clock.now())
            self._store.shown("authorization", authz.id, state, shown_by)
            return state

    # Snapshots for tests and the management API (settled, not counted as polls, not shown).

    def now(self) -> _dt.datetime:
        """The fake's time, at which snapshots derive statuses."""
        return self._clock.now()

    def accounts(self, urls: wire.Urls) -> list[views.AccountView]:
        """Every account, oldest first."""
        with self._store.lock:
            return [views.account_view(a, urls) for a in self._store.accounts.values()]

    def orders(self, urls: wire.Urls, chosen: Iterable[Order] | None = None
               ) -> list[views.OrderView]:
        """Every order (or the ``chosen`` ones), oldest first, statuses as a client would see
        them now."""
        self.catch_up()
        with self._store.lock:
            orders = list(self._store.orders.values() if chosen is None else chosen)
        self.apply_due([a for o in orders for a in o.authorization_ids], poll=False)
        with self._store.lock:
            now = self._clock.now()
            return [views.order_view(self._store, o, now, urls) for o in orders]

    def authorizations(self, urls: wire.Urls) -> list[views.AuthorizationView]:
        """Every authorization, oldest first."""
        self.apply_all_due()
        with self._store.lock:
            now = self._clock.now()
            return [views.authorization_view(a, now, urls)
                    for a in self._store.authorizations.values()]

    def certificates(self, urls: wire.Urls) -> list[views.CertificateView]:
        """Every issued certificate, oldest first."""
        self.catch_up()
        with self._store.lock:
            return [views.certificate_view(c, urls) for c in self._store.certificates.values()]
