"""The fake's core: every component of the CA, built and reset from one list, with no sockets.

:class:`Core` is the composition root (as ``cmd/pebble/main.go`` is Pebble's): each component
gets what it needs as constructor arguments and nothing reaches back up. The front end, the
management API and the :class:`~pytest_fakeacme.FakeACME` facade are handed the core; the core
knows none of them. The store tells the journal of every status change directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any, TypeVar

from .accounts_policy import ExternalAccounts, Terms
from .clock import Clock
from .config import Ports, Settings
from .dnsdata import DNSData
from .errors import ErrorSink, UnusedScriptError
from .faults import Faults
from .history import History
from .journal import Journal
from .limits import RateLimits
from .nonces import NoncePool
from .outcomes import Outcome
from .reads import Reads
from .renewal import RenewalControl
from .responders import Responders
from .store import Store
from .va.authority import ValidationAuthority
from .va.scripts import unused_message

_Part = TypeVar("_Part")


class Core:
    """The components of one fake CA. :meth:`reset` puts every one back as it was built."""

    def __init__(self, settings: Settings, clock: Clock, ports: Ports,
                 va_default: Outcome | str | None = None, host: str = "127.0.0.1") -> None:
        self._resets: list[Callable[[], None]] = []
        self._initial_settings = settings.copy()
        self.settings = self._part(settings, self._restore_settings)
        self.clock = self._part(clock, Clock.reset)
        self.ports = self._part(ports, Ports.reset)
        self.errors = self._part(ErrorSink(), ErrorSink.drain)
        self.journal = self._part(Journal(clock), Journal.reset)
        self.store = self._part(Store(), Store.clear)
        self.limits = self._part(RateLimits(clock, self.settings, self.store), RateLimits.reset)
        self.store.listener = self._store_changed
        self.dns = self._part(DNSData(), DNSData.clear)
        self.nonces = self._part(NoncePool(clock), NoncePool.reset)
        self.faults = self._part(Faults(), Faults.clear)
        self.terms = self._part(Terms(), Terms.reset)
        self.eab = self._part(ExternalAccounts(), ExternalAccounts.clear)
        self.ari = self._part(RenewalControl(self.store, clock, self.journal),
                              RenewalControl.clear)
        self.history = History()
        self.dns.observer = self.history.dns
        self.responders = self._part(Responders(ports, self.history, clock, host),
                                     Responders.stop)
        self.va = self._part(
            ValidationAuthority(self.store, clock, self.dns, ports, self.journal, self.errors,
                                settings),
            ValidationAuthority.reset,
        )
        if va_default is not None:
            self.va.set_initial_default(va_default)
        self.reads = Reads(self.store, self.va, clock, self.ari)

    def _store_changed(self, kind: str, object_id: str, status: str, cause: str,
                       **about: str) -> None:
        # Every status change goes one way: to the journal, and to the rate limits that count
        # failed validations.
        self.journal.observe(kind, object_id, status, cause, **about)
        self.limits.observe(kind, object_id, status, cause, **about)

    def also_reset(self, reset: Callable[[], Any]) -> None:
        """Run ``reset`` at every :meth:`reset`, first (what the servers keep of the parts,
        such as published CRLs), until :meth:`forget_reset`."""
        self._resets.append(reset)

    def forget_reset(self, reset: Callable[[], Any]) -> None:
        """No longer run ``reset`` (its server stopped)."""
        if reset in self._resets:
            self._resets.remove(reset)

    def _part(self, part: _Part, reset: Callable[[_Part], Any]) -> _Part:
        self._resets.append(lambda: reset(part))
        return part

    def reset(self) -> None:
        """Forget all state, scripts and settings changes. Parts are reset in the reverse
        order of building, as a teardown goes: each before what it depends on (the VA's
        attempts in flight end before the store they write to is cleared)."""
        for reset in reversed(self._resets):
            reset()

    def _restore_settings(self, settings: Settings) -> None:
        for field in fields(self._initial_settings):
            setattr(settings, field.name, getattr(self._initial_settings, field.name))

    def configure(self, **changes: Any) -> None:
        """Change settings (validated together first, so a bad one changes nothing)."""
        new = self.settings.copy(**changes)
        for name in changes:
            setattr(self.settings, name, getattr(new, name))

    def check_unused_scripts(self, warn: Callable[[str], None]) -> None:
        """Warn (or raise :class:`UnusedScriptError`, or nothing, as
        ``settings.unused_scripts`` says) about outcomes scripted and used by no validation."""
        message = unused_message(self.va.scripted(),
                                 (e.identifier for e in self.journal.validations()))
        if message is None or self.settings.unused_scripts == "ignore":
            return
        if self.settings.unused_scripts == "error":
            raise UnusedScriptError(message)
        warn(message)

    def stop(self) -> None:
        """Stop the threads the parts run (VA workers, challenge responders)."""
        self.responders.stop()
        self.va.shutdown()
