"""The validation authority controller: scripts, the default outcome, and attempts in flight.

A challenge POST starts an attempt: the next scripted outcome for the identifier is taken (or
the default), and resolved off the request thread (a real check may take a while). Any read of
the authorization, challenge or order first *settles* the attempt: it waits for the attempt in
flight, so the first poll after the POST already shows the result and nothing depends on thread
timing. An outcome held back with ``.after(polls=N)`` stays pending for exactly N such reads;
``.after(seconds=S)`` until the fake's clock has moved S seconds past the attempt's start.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as _dt
import fnmatch
import hashlib
import ipaddress
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from .. import outcomes, problems
from ..clock import Clock
from ..config import DEFAULT_CAA_IDENTITY
from ..dnsdata import DNSData
from ..errors import FakeACMEUsageError, ScriptError
from ..journal import Journal
from ..model import DNS_TYPES, HTTP_01, TLS_ALPN_01, Authorization, Challenge
from ..outcomes import Outcome
from ..store import Store
from . import caa
from .http01 import Http01Prober
from .render import AttemptContext, Finding, render
from .tlsalpn01 import TlsAlpn01Prober

#: Boulder's lifetime of a valid authorization (reused until then).
VALID_AUTHZ_LIFETIME = _dt.timedelta(days=30)
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


@dataclass
class _Script:
    pattern: str
    queue: deque[Outcome] = field(default_factory=deque)


def _check_outcome(value: object, where: str) -> Outcome:
    if not isinstance(value, Outcome):
        raise FakeACMEUsageError(
            f"{where} takes outcomes such as outcomes.http_status(404) or outcomes.valid(), "
            f"not {value!r}"
        )
    return value


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
        http01_port: Callable[[], int],
        tls_alpn01_port: Callable[[], int],
        report_error: Callable[[BaseException], None],
        journal: Journal | None = None,
        account_url: Callable[[str], str] = str,
        caa_identity: Callable[[], str] = lambda: DEFAULT_CAA_IDENTITY,
    ) -> None:
        self._journal = journal
        self._account_url = account_url
        self._caa_identity = caa_identity
        self._store = store
        self._clock = clock
        self._dns = dns
        self._http01_port = http01_port
        self._tls_alpn01_port = tls_alpn01_port
        self._report_error = report_error
        self._lock = threading.Lock()
        self._scripts: list[_Script] = []
        self._attempts: dict[str, Attempt] = {}
        self._executor: ThreadPoolExecutor | None = None
        self._default: Outcome = outcomes.real()
        self._initial_default: Outcome = self._default
        #: Seconds a real check may take in all (connect, redirects, body).
        self.timeout: float = DEFAULT_TIMEOUT
        #: The port the VA connects to when a redirect goes to https on 443.
        self.https_port: int = 443
        self._http01 = Http01Prober(dns, lambda: self.timeout, lambda: self.https_port)
        self._tlsalpn01 = TlsAlpn01Prober(lambda: self.timeout)

    # Configuration

    @property
    def default(self) -> Outcome:
        """What a validation finds when no script applies (``outcomes.real()`` by default)."""
        return self._default

    @default.setter
    def default(self, value: Outcome) -> None:
        self._default = _check_outcome(value, "va.default")

    def set_initial_default(self, value: Outcome) -> None:
        """The default that :meth:`reset` returns to (the instance's configured default)."""
        self._initial_default = self._default = _check_outcome(value, "the VA default")

    def script(self, identifier: str, *scripted: Outcome) -> None:
        """Queue ``scripted`` outcomes for the next validations of ``identifier``.

        ``identifier`` is a name (``"a.example"``), a wildcard order's name
        (``"*.example.com"``, which also matches every name under it as a pattern), any
        ``fnmatch`` pattern, or ``"*"`` for every name. Each validation attempt of a matching
        identifier consumes one outcome; an exact name wins over a pattern, and patterns are
        tried in the order they were first scripted.
        """
        if not isinstance(identifier, str) or not identifier.strip():
            raise FakeACMEUsageError(
                f"va.script() takes a name or pattern such as 'a.example' or '*', "
                f"not {identifier!r}"
            )
        if not scripted:
            raise FakeACMEUsageError(
                "va.script() needs at least one outcome, e.g. "
                "va.script('a.example', outcomes.http_status(404))"
            )
        checked = [_check_outcome(o, "va.script()") for o in scripted]
        key = identifier.strip().rstrip(".").lower()
        with self._lock:
            for entry in self._scripts:
                if entry.pattern == key:
                    entry.queue.extend(checked)
                    return
            self._scripts.append(_Script(key, deque(checked)))

    def scripted(self) -> dict[str, list[Outcome]]:
        """The outcomes still queued, by name or pattern (empty queues left out)."""
        with self._lock:
            return {s.pattern: list(s.queue) for s in self._scripts if s.queue}

    def clear(self) -> None:
        """Drop every queued outcome; restore the default, :attr:`timeout` and
        :attr:`https_port`."""
        with self._lock:
            self._scripts.clear()
            self._default = self._initial_default
            self.timeout = DEFAULT_TIMEOUT
            self.https_port = 443

    def _take(self, names: Iterable[str]) -> Outcome:
        names = [n.lower() for n in names]
        with self._lock:
            for entry in self._scripts:
                if entry.queue and entry.pattern in names:
                    return entry.queue.popleft()
            for entry in self._scripts:
                if entry.queue and any(fnmatch.fnmatchcase(n, entry.pattern) for n in names):
                    return entry.queue.popleft()
            return self._default

    # Attempts

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=8, thread_name_prefix="fakeacme-va"
                )
            return self._executor

    def in_flight(self, authz_id: str) -> bool:
        """Whether an attempt for this authorization has started and not been applied."""
        with self._lock:
            attempt = self._attempts.get(authz_id)
            return attempt is not None and not attempt.applied

    def start(
        self, authz: Authorization, challenge: Challenge, thumbprint: str, show_processing: bool
    ) -> Attempt:
        """Begin validating ``challenge`` (called for a challenge POST on a pending authz)."""
        names = [authz.identifier.value]
        if authz.wildcard:
            names.insert(0, "*." + authz.identifier.value)
        outcome = self._take(names)
        now = self._clock.now()
        ctx = self._context(authz, challenge, thumbprint, now)
        future: Future[Finding] = Future()
        attempt = Attempt(
            authz_id=authz.id,
            challenge_id=challenge.id,
            outcome=outcome,
            started=now,
            future=future,
            polls_left=outcome.delay_polls,
            release_at=now + outcome.delay if outcome.delay else None,
        )
        if show_processing:
            self._store.mark_processing(challenge)
        with self._lock:
            self._attempts[authz.id] = attempt
        account_uri = self._account_url(authz.account_id)
        if outcome.kind == "real":
            self._pool().submit(self._resolve_into, future, outcome, ctx, account_uri)
        else:
            # Scripted outcomes need no I/O: resolve now, so nothing waits on a thread.
            self._resolve_into(future, outcome, ctx, account_uri)
        return attempt

    def _context(
        self, authz: Authorization, challenge: Challenge, thumbprint: str, now: _dt.datetime
    ) -> AttemptContext:
        if authz.identifier.type == "ip":
            addresses: tuple[str, ...] = (authz.identifier.value,)
        else:
            v6, v4 = self._dns.lookup_addresses(authz.identifier.value)
            addresses = tuple(v6 + v4)
        port = self._tls_alpn01_port() if challenge.type == TLS_ALPN_01 else self._http01_port()
        return AttemptContext(
            challenge_type=challenge.type,
            identifier=authz.identifier,
            wildcard=authz.wildcard,
            token=challenge.token,
            key_authorization=f"{challenge.token}.{thumbprint}",
            port=port,
            addresses=addresses,
            started=now,
            account_uri=self._account_url(authz.account_id),
        )

    def _resolve_into(
        self, future: Future[Finding], outcome: Outcome, ctx: AttemptContext, account_uri: str
    ) -> None:
        try:
            finding = self.resolve(outcome, ctx, account_uri)
        except BaseException as exc:
            self._report_error(exc)
            finding = Finding(problems.server_internal("Unable to update challenge"))
        if finding.usage_error is not None:
            self._report_error(finding.usage_error)
        if self._journal is not None:
            self._journal.record(
                "validation",
                self._clock.now(),
                self._clock.monotonic(),
                identifier=("*." if ctx.wildcard else "") + ctx.hostname,
                challenge_type=ctx.challenge_type,
                outcome=repr(outcome),
                problem=finding.problem,
                records=finding.records,
            )
        future.set_result(finding)

    def resolve(self, outcome: Outcome, ctx: AttemptContext, account_uri: str = "") -> Finding:
        """What ``outcome`` amounts to for this attempt (a real check when it is ``real``):
        the challenge check, then CAA (Boulder checks CAA after a successful check, in the
        same validation: ``ra.checkDCVAndCAA``)."""
        if outcome.kind != "real":
            return render(outcome, ctx)
        broken = self._dns_failure(ctx)
        if broken is not None:
            return render(broken, ctx)
        if ctx.identifier.type == "ip" and not self._dns.allow_non_loopback:
            address = ipaddress.ip_address(ctx.hostname)
            if not address.is_loopback:
                # Safety (SPEC 8): never connect beyond this machine unless told to.
                message = (
                    f"the fake's VA does not contact {address}: it is not a loopback address. "
                    "Order a loopback address, script the outcome, or set "
                    "fake_acme.dns.allow_non_loopback = True"
                )
                return Finding(
                    problems.server_internal("Unable to update challenge :: " + message),
                    (),
                    ScriptError(message),
                )
        if ctx.challenge_type == HTTP_01:
            seen = self._http01.probe(ctx)
            finding = render(seen.outcome, ctx, seen.records, seen.address)
        elif ctx.challenge_type in DNS_TYPES:
            finding = render(self._probe_dns01(ctx), ctx)
        else:
            seen = self._tlsalpn01.probe(ctx)
            finding = render(seen.outcome, ctx, seen.records, seen.address)
        if finding.valid and ctx.identifier.type == "dns":
            forbidden = caa.check(self._dns, caa.CAAContext(
                name=ctx.hostname,
                wildcard=ctx.wildcard,
                challenge_type=ctx.challenge_type,
                account_uri=account_uri,
                identity=self._caa_identity(),
            ))
            if forbidden is not None:
                return render(forbidden, ctx, finding.records)
        return finding

    def recheck_caa(self, authz: Authorization) -> problems.AcmeProblem | None:
        """Boulder's CAA recheck at finalize (``ra.recheckCAA``) for an authorization validated
        long ago: the problem CAA gives now, or None when it still permits issuance."""
        if authz.identifier.type != "dns" or not authz.challenges:
            return None
        challenge = authz.challenges[0]
        forbidden = caa.check(self._dns, caa.CAAContext(
            name=authz.identifier.value,
            wildcard=authz.wildcard,
            challenge_type=challenge.type,
            account_uri=self._account_url(authz.account_id),
            identity=self._caa_identity(),
        ))
        if forbidden is None:
            return None
        ctx = self._context(authz, challenge, "", self._clock.now())
        return render(forbidden, ctx).problem

    def _dns_failure(self, ctx: AttemptContext) -> Outcome | None:
        """A lookup failure the fake's DNS data sets up for this name (reference 1b)."""
        if ctx.identifier.type != "dns":
            return None
        names = [ctx.txt_name, ctx.hostname] if ctx.challenge_type in DNS_TYPES else [ctx.hostname]
        for name in names:
            how = self._dns.failure(name)
            if how == "nxdomain":
                return outcomes.dns_nxdomain()
            if how == "servfail":
                return outcomes.dns_servfail()
            if how == "timeout":
                return outcomes.dns_timeout()
            if how == "refused":
                looked = [("TXT", ctx.txt_name)] if ctx.challenge_type in DNS_TYPES else [
                    ("A", ctx.hostname), ("AAAA", ctx.hostname)]
                return outcomes.problem("dns", "; ".join(
                    f"DNS problem: REFUSED looking up {rr} for {n}" for rr, n in looked), 400)
        return None

    def _probe_dns01(self, ctx: AttemptContext) -> Outcome:
        # RFC 8555 8.4: the TXT value is base64url(SHA-256(key authorization)), unpadded.
        digest = hashlib.sha256(ctx.key_authorization.encode("utf-8")).digest()
        expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
        values = self._dns.lookup_txt(ctx.txt_name)
        if not values:
            return outcomes.txt_missing()
        if expected in values:
            return outcomes.valid()
        return outcomes.txt_wrong(*values)

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
            valid_until=self._clock.now() + VALID_AUTHZ_LIFETIME,
        )

    def forget(self) -> None:
        """Drop every attempt (after waiting for those in flight); scripts stay."""
        with self._lock:
            attempts = list(self._attempts.values())
            self._attempts.clear()
        for attempt in attempts:
            with contextlib.suppress(Exception):
                attempt.future.result(timeout=self.timeout + _SETTLE_GRACE)

    def shutdown(self) -> None:
        """Stop the worker threads (waiting for attempts in flight)."""
        self.forget()
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
