"""The validation authority: scripts, the default outcome, and attempts in flight.

A challenge POST starts an attempt: the next scripted outcome for the identifier is taken (or
the default), and resolved off the request thread (a real check may take a while). Before the
authorization, challenge or order is shown again, the attempt is *settled*
(:mod:`pytest_fakeacme.reads` does it, for every reader): the read waits for the attempt in
flight, so the first poll after the POST already shows the result and nothing depends on thread
timing. An outcome held back with ``.after(polls=N)`` stays pending for exactly N such reads;
``.after(seconds=S)`` until the fake's clock has moved S seconds past the attempt's start.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from .. import problems
from ..clock import Clock
from ..config import Ports, Settings
from ..dnsdata import DNSData
from ..errors import ErrorSink, FakeACMEUsageError
from ..journal import Journal
from ..model import TLS_ALPN_01, Authorization, Challenge
from ..outcomes import Outcome, as_outcome
from ..store import Store
from .attempt import AttemptContext, Finding
from .checks import Checks
from .scripts import Scripts, check_identifier

#: Seconds a real check may take by default (Boulder allows far more; tests want speed).
DEFAULT_TIMEOUT = 3.0
#: How long a read waits for an attempt in flight beyond the VA timeout before giving up.
_SETTLE_GRACE = 10.0


@dataclass
class Attempt:
    """One validation attempt of one challenge."""

    authz_id: str
    challenge_id: str
    outcome: Outcome
    started: _dt.datetime
    future: Future[Finding]
    polls_left: int
    release_at: _dt.datetime | None
    applied: bool = False


class ValidationAuthority:
    """``fake_acme.va``: what the fake finds when a client asks it to validate a challenge.

    - :meth:`script` queues outcomes for a name (exact, wildcard pattern, or ``"*"`` for all);
    - :attr:`default` is what an empty queue gives (``outcomes.real()`` unless set);
    - :attr:`timeout` bounds a real check (seconds; Boulder's details, shorter waits).
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        dns: DNSData,
        ports: Ports,
        journal: Journal,
        errors: ErrorSink,
        settings: Settings,
    ) -> None:
        self._store = store
        self._clock = clock
        self._dns = dns
        self._ports = ports
        self._journal = journal
        self._errors = errors
        self._scripts = Scripts()
        self._checks = Checks(dns, settings)
        self._settings = settings
        self._lock = threading.Lock()
        self._attempts: dict[str, Attempt] = {}
        self._executor: ThreadPoolExecutor | None = None
        #: Seconds a real check may take in all (connect, redirects, body).
        self.timeout: float = DEFAULT_TIMEOUT

    # Configuration

    @property
    def default(self) -> Outcome:
        """What a validation finds when no script applies (``outcomes.real()`` by default)."""
        return self._scripts.default

    @default.setter
    def default(self, value: Outcome | str) -> None:
        # A name ("valid") is taken here as by the marker, the options and the management API.
        self._scripts.default = as_outcome(value, "va.default")

    def set_initial_default(self, value: Outcome | str) -> None:
        """The default that :meth:`clear` returns to (the instance's configured default)."""
        value = as_outcome(value, "the VA default")
        self._scripts.initial_default = self._scripts.default = value

    @property
    def https_port(self) -> int:
        """The port the VA connects to when a redirect goes to https on 443."""
        return self._ports.https

    @https_port.setter
    def https_port(self, value: int) -> None:
        self._ports.https = value

    def script(self, identifier: str, *scripted: Outcome | str) -> None:
        """Queue ``scripted`` outcomes for the next validations of ``identifier``.

        ``identifier`` is a name (``"a.example"``), a wildcard order's name
        (``"*.example.com"``, which also matches every name under it as a pattern), any
        ``fnmatch`` pattern, or ``"*"`` for every name. Each validation attempt of a matching
        identifier consumes one outcome; an exact name wins over a pattern, and patterns are
        tried in the order they were first scripted. An outcome that takes no arguments can
        be given by name (``"valid"``).
        """
        check_identifier(identifier)
        if not scripted:
            raise FakeACMEUsageError(
                "va.script() needs at least one outcome, e.g. "
                "va.script('a.example', outcomes.http_status(404))"
            )
        self._scripts.add(identifier, [as_outcome(o, "va.script()") for o in scripted])

    def scripted(self) -> dict[str, list[Outcome]]:
        """The outcomes still queued, by name or pattern (empty queues left out)."""
        return self._scripts.pending()

    def clear(self) -> None:
        """Drop every queued outcome; restore the default, :attr:`timeout` and
        :attr:`https_port`."""
        self._scripts.clear()
        self.timeout = DEFAULT_TIMEOUT
        self._ports.reset_https()

    def reset(self) -> None:
        """Everything back as it was built: attempts drained, then :meth:`clear`."""
        self.drain()
        self.clear()

    # Attempts

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=8, thread_name_prefix="fakeacme-va"
                )
            return self._executor

    def start(
        self,
        authz: Authorization,
        challenge: Challenge,
        thumbprint: str,
        account_uri: str,
        show_processing: bool,
    ) -> Attempt | None:
        """Begin validating ``challenge`` for the account at ``account_uri`` (a challenge POST
        on a pending authorization). None, and nothing done, when an attempt for the
        authorization is already in flight: a second POST does not validate twice."""
        names = [authz.identifier.value]
        if authz.wildcard:
            names.insert(0, "*." + authz.identifier.value)
        with self._lock:
            running = self._attempts.get(authz.id)
            if running is not None and not running.applied:
                return None
            now = self._clock.now()
            outcome = self._scripts.take(names)
            attempt = Attempt(
                authz_id=authz.id,
                challenge_id=challenge.id,
                outcome=outcome,
                started=now,
                future=Future(),
                polls_left=outcome.delay_polls,
                release_at=now + outcome.delay if outcome.delay else None,
            )
            self._attempts[authz.id] = attempt
        ctx = self.context(authz, challenge, thumbprint, account_uri, now)
        if show_processing:
            self._store.mark_processing(challenge)
        if outcome.is_real:
            self._pool().submit(self._resolve_into, attempt.future, outcome, ctx)
        else:
            # Scripted outcomes need no I/O: resolve now, so nothing waits on a thread.
            self._resolve_into(attempt.future, outcome, ctx)
        return attempt

    def context(self, authz: Authorization, challenge: Challenge, thumbprint: str,
                account_uri: str, now: _dt.datetime | None = None) -> AttemptContext:
        """Everything an attempt on ``challenge`` started at ``now`` needs to know."""
        if authz.identifier.type == "ip":
            addresses: tuple[str, ...] = (authz.identifier.value,)
        else:
            v6, v4 = self._dns.lookup_addresses(authz.identifier.value)
            addresses = tuple(v6 + v4)
        ports = self._ports
        return AttemptContext(
            challenge_type=challenge.type,
            identifier=authz.identifier,
            wildcard=authz.wildcard,
            token=challenge.token,
            key_authorization=f"{challenge.token}.{thumbprint}",
            port=ports.tls_alpn01 if challenge.type == TLS_ALPN_01 else ports.http01,
            addresses=addresses,
            started=now or self._clock.now(),
            account_uri=account_uri,
            timeout=self.timeout,
            https_port=ports.https,
            issuer_domain=self._settings.caa_identity,
        )

    def _resolve_into(self, future: Future[Finding], outcome: Outcome, ctx: AttemptContext
                      ) -> None:
        try:
            finding = self._checks.resolve(outcome, ctx)
        except BaseException as exc:
            self._errors.report(exc)
            finding = Finding(problems.server_internal("Unable to update challenge"))
        if finding.usage_error is not None:
            self._errors.report(finding.usage_error)
        self._journal.record(
            "validation",
            identifier=("*." if ctx.wildcard else "") + ctx.hostname,
            challenge_type=ctx.challenge_type,
            outcome=repr(outcome),
            problem=finding.problem,
            records=finding.records,
        )
        future.set_result(finding)

    def recheck_caa(self, authz: Authorization, account_uri: str) -> problems.AcmeProblem | None:
        """Boulder's CAA recheck at finalize (``ra.recheckCAA``) for an authorization validated
        long ago: the problem CAA gives now, or None when it still permits issuance."""
        if authz.identifier.type != "dns" or not authz.challenges:
            return None
        ctx = self.context(authz, authz.challenges[0], "", account_uri)
        return self._checks.recheck_caa(authz, ctx)

    def settle(self, authz_id: str, poll: bool = True) -> None:
        """Bring the authorization up to date before it is shown.

        Waits for an attempt in flight; applies its result unless it is held back. ``poll``
        says whether this read counts as one of the client's polls (state views for test
        assertions do not count).
        """
        with self._lock:
            attempt = self._attempts.get(authz_id)
        if attempt is None:
            return
        finding = attempt.future.result(timeout=self.timeout + _SETTLE_GRACE)
        with self._store.lock:
            if attempt.applied:
                return
            if attempt.polls_left > 0:
                if poll:
                    attempt.polls_left -= 1
                return
            if attempt.release_at is not None and self._clock.now() < attempt.release_at:
                return
            self._apply(attempt, finding)

    def _apply(self, attempt: Attempt, finding: Finding) -> None:
        attempt.applied = True
        with self._lock:
            self._attempts.pop(attempt.authz_id, None)
        self._store.record_validation(
            attempt.authz_id,
            attempt.challenge_id,
            validated=attempt.started,
            problem=finding.problem,
            records=finding.records,
            now=self._clock.now(),
        )

    def drain(self) -> None:
        """Wait for the attempts in flight, then drop every attempt (scripts stay)."""
        with self._lock:
            attempts = list(self._attempts.values())
            self._attempts.clear()
        for attempt in attempts:
            with contextlib.suppress(Exception):
                attempt.future.result(timeout=self.timeout + _SETTLE_GRACE)

    def shutdown(self) -> None:
        """Stop the worker threads (waiting for attempts in flight)."""
        self.drain()
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
