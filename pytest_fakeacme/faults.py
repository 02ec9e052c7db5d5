"""Server-side faults on demand: deterministic, off by default, scoped to an endpoint.

``fake_acme.faults.bad_nonce(endpoint="newOrder", times=1)`` makes the next newOrder request
fail with ``badNonce``; ``faults.nonce_reject_rate(0.3, seed=7)`` rejects a seeded 30% of all
nonces, like Pebble's ``PEBBLE_WFE_NONCEREJECT``. Every fault takes ``endpoint=`` (a directory
name such as ``"newOrder"``, or a resource name: ``"order"``, ``"authorization"``,
``"challenge"``, ``"finalize"``, ``"certificate"``, ``"account"``: an
:data:`~pytest_fakeacme.endpoints.Endpoint`; default every endpoint) and
``times=`` (how many matching requests it affects; None: until cleared). Faults are checked in
the order they were added; the first that matches a request answers it.

Transport faults fail as the network and the machines in front of a CA do: ``html_error`` (a
proxy's HTML error page), ``empty_body`` (200 and nothing), ``truncated_body`` (the answer cut
short), ``connection_reset`` (a TCP reset) and ``slow_headers`` (the head trickled out). They
also take a seeded ``rate=`` (with ``seed=``), as ``nonce_reject_rate`` does.

A request gets at most one answer from a fault (a problem document, an HTML page, an empty
body) and at most one way of delivering it (drop, connection_reset, truncated_body,
slow_headers): the first matching fault of each; ``slow`` delays add up. A request that is
dropped or reset gets no answer, so no answering fault fires for it.
"""

from __future__ import annotations

import datetime as _dt
import random
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from . import limits, problems
from ._gofmt import go_duration, go_quote
from .endpoints import ENDPOINTS, Endpoint
from .errors import FakeACMEUsageError
from .problems import AcmeProblem

FaultKind = Literal[
    "problem", "html_error", "empty_body",                          # answer in the CA's place
    "drop", "connection_reset", "truncated_body", "slow_headers",   # how the answer travels
    "slow",                                                         # a delay before answering
    "hook",                                 # no failure: an action when a request arrives
]
#: Faults that answer a request in the CA's place: the first that matches answers it.
ANSWERING: frozenset[str] = frozenset({"problem", "html_error", "empty_body"})
#: Faults that change how the answer travels: the first that matches applies.
DELIVERING: frozenset[str] = frozenset({"drop", "connection_reset", "truncated_body",
                                        "slow_headers"})
#: Deliveries that send no answer at all: no answering fault fires with them.
UNANSWERED: frozenset[str] = frozenset({"drop", "connection_reset"})

#: The limits ``rate_limited(limit=...)`` names, and Boulder's limit each stands for.
RATE_LIMITS: dict[str, str] = {
    "new_orders": limits.NEW_ORDERS,
    "failed_authorizations": limits.FAILED_AUTHORIZATIONS,
    "certificates_per_domain": limits.CERTIFICATES_PER_DOMAIN,
    "duplicate_certificates": limits.CERTIFICATES_PER_FQDN_SET,
    "new_registrations": limits.NEW_REGISTRATIONS,
    "new_registrations_ipv6": limits.NEW_REGISTRATIONS_IPV6,
}


@dataclass
class Fault:
    """One configured fault. Build them with the :class:`Faults` methods."""

    kind: FaultKind
    endpoint: Endpoint | None
    times: int | None
    problem: AcmeProblem | None = None
    delay: float = 0.0
    #: The HTTP status of an ``html_error`` page.
    status: int = 0
    rate: float = 1.0
    rng: random.Random | None = None
    fired: int = 0
    #: Called with the fake's now when the fault fires, to build a time-dependent problem;
    #: for a ``hook``, the action itself (the conformance battery's point in a conversation:
    #: it answers nothing and is not journaled).
    build: Any = None
    #: The fault in its text form (``"bad_nonce endpoint=newOrder"``), for the transcript.
    spec: str = ""

    def describe(self) -> str:
        """The fault and how often it fired: ``bad_nonce endpoint=newOrder, 1 of 2``."""
        count = f"{self.fired} of {self.times}" if self.times is not None else f"#{self.fired}"
        return f"{self.spec or self.kind}, {count}"

    def matches(self, endpoint: str) -> bool:
        """Whether this fault still applies to a request to ``endpoint`` (consumes a draw of
        the seeded rate when it has one)."""
        if self.times is not None and self.fired >= self.times:
            return False
        if self.endpoint is not None and self.endpoint != endpoint:
            return False
        return not (self.rng is not None and self.rng.random() >= self.rate)


@dataclass
class FaultHit:
    """What the front end must do for one request."""

    #: The fault that answers in the CA's place (kind ``problem``, ``html_error`` or
    #: ``empty_body``), if one fired.
    answer: Fault | None = None
    #: The problem document it answers with (kind ``problem``).
    problem: AcmeProblem | None = None
    #: The fault that changes how the answer travels (kind ``drop``, ``connection_reset``,
    #: ``truncated_body`` or ``slow_headers``), if one fired.
    delivery: Fault | None = None
    delay: float = 0.0
    #: What fired (:meth:`Fault.describe`), for the journal.
    fired: list[str] = field(default_factory=list)


#: The faults a text form can name (every :class:`Faults` method but ``problem``, which takes a
#: problem document).
SPEC_NAMES = ("bad_nonce", "nonce_reject_rate", "rate_limited", "server_error", "slow", "drop",
              "html_error", "empty_body", "truncated_body", "connection_reset", "slow_headers")


def _parse_spec(spec: str) -> tuple[str, list[Any], dict[str, Any]]:
    """A fault's text form as a name of :data:`SPEC_NAMES`, positional and keyword arguments."""
    if not isinstance(spec, str) or not spec.split():
        raise FakeACMEUsageError(f"a fault spec is a string such as 'bad_nonce', not {spec!r}")
    name, *words = spec.split()
    if name not in SPEC_NAMES:
        raise FakeACMEUsageError(
            f"unknown fault {name!r} in {spec!r}; use one of {', '.join(sorted(SPEC_NAMES))}"
        )
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for word in words:
        key, sep, value = word.partition("=")
        parsed: Any = _spec_value(value if sep else key)
        if sep:
            kwargs[key] = parsed
        else:
            args.append(parsed)
    return name, args, kwargs


def _spec_value(text: str) -> Any:
    if text in ("none", "None"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _check_endpoint(endpoint: Endpoint | None) -> Endpoint | None:
    if endpoint is not None and endpoint not in ENDPOINTS:
        raise FakeACMEUsageError(
            f"unknown endpoint {endpoint!r}; use one of {', '.join(sorted(ENDPOINTS))} "
            "(or None for every endpoint)"
        )
    return endpoint


def _spec(name: str, *args: Any, **keywords: Any) -> str:
    """A fault's text form, as :meth:`Faults.add_spec` reads it (None values left out)."""
    words = [name, *(str(a) for a in args)]
    words += [f"{k}={v}" for k, v in keywords.items() if v is not None]
    return " ".join(words)


def _check_times(times: int | None) -> int | None:
    if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
        raise FakeACMEUsageError(f"times must be a whole number >= 1 or None, not {times!r}")
    return times


def _check_rate(rate: float) -> float:
    if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0 <= rate <= 1:
        raise FakeACMEUsageError(f"rate must be a number from 0 to 1, not {rate!r}")
    return float(rate)


def _seeded(fault: Fault, rate: float, seed: int, spec: str) -> Fault:
    """``fault`` firing for a seeded fraction ``rate`` of the requests it matches (all of them
    at 1), with its text form."""
    fault.rate = _check_rate(rate)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise FakeACMEUsageError(f"seed must be a whole number, not {seed!r}")
    if fault.rate < 1:
        fault.rng = random.Random(seed)
        spec += f" rate={fault.rate:g} seed={seed}"
    fault.spec = spec
    return fault


@dataclass
class Faults:
    """``fake_acme.faults``: inject server-side failures. All off until asked for."""

    _faults: list[Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def bad_nonce(self, *, endpoint: Endpoint | None = None, times: int | None = 1) -> Fault:
        """Refuse the nonce of the next ``times`` POSTs with ``badNonce`` (400); the answer
        carries a fresh Replay-Nonce, so a client that retries once succeeds."""
        return self._add(Fault("problem", _check_endpoint(endpoint), _check_times(times),
                               problems.bad_nonce(), spec=_spec("bad_nonce", endpoint=endpoint)))

    def nonce_reject_rate(self, rate: float, *, seed: int = 0,
                          endpoint: Endpoint | None = None) -> Fault:
        """Refuse a seeded fraction ``rate`` (0-1) of nonces with ``badNonce``, until cleared
        (Pebble's ``PEBBLE_WFE_NONCEREJECT``, made reproducible)."""
        return self._add(Fault("problem", _check_endpoint(endpoint), None, problems.bad_nonce(),
                               rate=_check_rate(rate), rng=random.Random(seed),
                               spec=_spec("nonce_reject_rate", rate, seed=seed,
                                          endpoint=endpoint)))

    def rate_limited(
        self,
        *,
        endpoint: Endpoint | None = "newOrder",
        times: int | None = 1,
        limit: str = "new_orders",
        retry_after: _dt.timedelta | int = _dt.timedelta(hours=3),
        count: int = 300,
        window: _dt.timedelta = _dt.timedelta(hours=3),
        name: str = "example.com",
        detail: str | None = None,
    ) -> Fault:
        """Answer 429 ``rateLimited`` with ``Retry-After`` and ``Link: rel="help"``, with
        Boulder's detail for ``limit`` (one of :data:`RATE_LIMITS`), e.g. ``too many new orders
        (300) from this account in the last 3h0m0s, retry after 2026-01-01 03:00:00 UTC: see
        https://letsencrypt.org/docs/rate-limits/#new-orders-per-account``."""
        if limit not in RATE_LIMITS:
            raise FakeACMEUsageError(
                f"unknown limit {limit!r}; use one of {', '.join(sorted(RATE_LIMITS))}"
            )
        wait = retry_after if isinstance(retry_after, _dt.timedelta) else _dt.timedelta(
            seconds=retry_after
        )
        if wait.total_seconds() < 0:
            raise FakeACMEUsageError("retry_after must not be negative")

        boulders = limits.LETS_ENCRYPT_LIMITS[RATE_LIMITS[limit]]

        def build(now: _dt.datetime) -> AcmeProblem:
            if detail is not None:
                return problems.with_retry_after(problems.rate_limited(detail), wait)
            text = boulders.message.format(burst=count, name=go_quote(name),
                                           period=go_duration(window))
            return problems.rate_limit_exceeded(text, boulders.anchor, now, wait)

        return self._add(Fault("problem", _check_endpoint(endpoint), _check_times(times),
                               build=build,
                               spec=_spec("rate_limited", endpoint=endpoint, limit=limit)))

    def server_error(self, *, endpoint: Endpoint | None = None, times: int | None = 1,
                     detail: str = "Error retrieving account") -> Fault:
        """Answer 500 ``serverInternal`` with ``Retry-After: 60`` (Boulder's ``sendError``)."""
        return self._add(Fault("problem", _check_endpoint(endpoint), _check_times(times),
                               problems.server_internal(detail),
                               spec=_spec("server_error", endpoint=endpoint)))

    def problem(self, prob: AcmeProblem, *, endpoint: Endpoint | None = None,
                times: int | None = 1) -> Fault:
        """Answer with any problem document (build one with :mod:`pytest_fakeacme.problems`)."""
        if not isinstance(prob, AcmeProblem):
            raise FakeACMEUsageError(
                "faults.problem() takes an AcmeProblem, e.g. "
                "problems.problem('unauthorized', 'no', 403)"
            )
        return self._add(Fault("problem", _check_endpoint(endpoint), _check_times(times), prob,
                               spec=_spec("problem", prob.type, endpoint=endpoint)))

    def slow(self, seconds: float, *, endpoint: Endpoint | None = None,
             times: int | None = 1) -> Fault:
        """Hold the answer back ``seconds`` of real time (to exercise a client's timeouts)."""
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
            raise FakeACMEUsageError(f"slow() takes seconds >= 0, not {seconds!r}")
        return self._add(Fault("slow", _check_endpoint(endpoint), _check_times(times),
                               delay=float(seconds),
                               spec=_spec("slow", f"{seconds:g}", endpoint=endpoint)))

    def drop(self, *, endpoint: Endpoint | None = None, times: int | None = 1) -> Fault:
        """Close the connection without an answer."""
        return self._add(Fault("drop", _check_endpoint(endpoint), _check_times(times),
                               spec=_spec("drop", endpoint=endpoint)))

    # Transport faults: what the network and the machines in front of a CA do.

    def html_error(self, status: int = 502, *, endpoint: Endpoint | None = None,
                   times: int | None = 1, rate: float = 1.0, seed: int = 0) -> Fault:
        """Answer with a proxy's HTML error page instead of the CA's answer: ``status`` (any
        4xx or 5xx), ``Content-Type: text/html``, nginx's page for it, no problem document
        and no ``Replay-Nonce`` (a load balancer that lost its backend answers so)."""
        if (not isinstance(status, int) or isinstance(status, bool)
                or not 400 <= status <= 599):
            raise FakeACMEUsageError(
                f"html_error() takes an HTTP error status from 400 to 599, e.g. "
                f"html_error(502), not {status!r}"
            )
        return self._add(_seeded(Fault("html_error", _check_endpoint(endpoint),
                                       _check_times(times), status=status),
                                 rate, seed, _spec("html_error", status, endpoint=endpoint)))

    def empty_body(self, *, endpoint: Endpoint | None = None, times: int | None = 1,
                   rate: float = 1.0, seed: int = 0) -> Fault:
        """Answer ``200`` with ``Content-Length: 0`` and nothing else: no body, no
        ``Content-Type``, none of the CA's headers."""
        return self._add(_seeded(Fault("empty_body", _check_endpoint(endpoint),
                                       _check_times(times)),
                                 rate, seed, _spec("empty_body", endpoint=endpoint)))

    def truncated_body(self, *, endpoint: Endpoint | None = None, times: int | None = 1,
                       rate: float = 1.0, seed: int = 0) -> Fault:
        """Send the real answer cut short: its head, with the whole body's
        ``Content-Length``, and the first half of the body, then close the connection (an
        answer with no body loses the second half of its head instead)."""
        return self._add(_seeded(Fault("truncated_body", _check_endpoint(endpoint),
                                       _check_times(times)),
                                 rate, seed, _spec("truncated_body", endpoint=endpoint)))

    def connection_reset(self, *, endpoint: Endpoint | None = None, times: int | None = 1,
                         rate: float = 1.0, seed: int = 0) -> Fault:
        """Reset the connection (a TCP RST) instead of answering: the client sees
        "connection reset by peer" where it expected an answer."""
        return self._add(_seeded(Fault("connection_reset", _check_endpoint(endpoint),
                                       _check_times(times)),
                                 rate, seed, _spec("connection_reset", endpoint=endpoint)))

    def slow_headers(self, seconds: float, *, endpoint: Endpoint | None = None,
                     times: int | None = 1, rate: float = 1.0, seed: int = 0) -> Fault:
        """Send the answer's head a line at a time, spread over ``seconds`` of real time
        (the status line at once, the blank line that ends the head after ``seconds``), then
        the body: a client whose read timeout is shorter than the pauses gives up; one that
        bounds only each read waits it all out."""
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
            raise FakeACMEUsageError(f"slow_headers() takes seconds >= 0, not {seconds!r}")
        return self._add(_seeded(Fault("slow_headers", _check_endpoint(endpoint),
                                       _check_times(times), delay=float(seconds)),
                                 rate, seed,
                                 _spec("slow_headers", f"{seconds:g}", endpoint=endpoint)))

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults.clear()

    @property
    def empty(self) -> bool:
        """No fault configured (the usual case, checked without a lock on every request)."""
        return not self._faults

    @property
    def active(self) -> list[Fault]:
        """Faults that can still fire (hooks are no faults: not listed)."""
        with self._lock:
            return [f for f in self._faults
                    if f.kind != "hook" and (f.times is None or f.fired < f.times)]

    def check(self, endpoint: str, now: _dt.datetime, is_post: bool) -> FaultHit:
        """The faults that fire for a request to ``endpoint`` (called by the front end): the
        first that answers, the first that changes the delivery, and every delay.

        How the answer travels is settled first: a request that will get no answer at all
        (``drop``, ``connection_reset``) fires no answering fault, which waits, its ``times``
        and seeded draws untouched, for a request whose client will read it."""
        hit = FaultHit()
        fired: list[tuple[int, Fault]] = []
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.kind in DELIVERING and fault.matches(endpoint):
                    hit.delivery = fault
                    fired.append((index, fault))
                    break
            unanswered = hit.delivery is not None and hit.delivery.kind in UNANSWERED
            for index, fault in enumerate(self._faults):
                if fault.kind in DELIVERING:
                    continue
                if fault.kind in ANSWERING and (unanswered or hit.answer is not None):
                    continue
                if fault.kind == "problem" and fault.problem is not None and (
                    fault.problem.type == "badNonce" and not is_post
                ):
                    continue  # only POSTs carry nonces
                if not fault.matches(endpoint):
                    continue
                if fault.kind == "hook":
                    fault.fired += 1
                    fault.build(now)
                    continue
                fired.append((index, fault))
                if fault.kind == "slow":
                    hit.delay += fault.delay
                else:
                    hit.answer = fault
            for _, fault in sorted(fired, key=lambda pair: pair[0]):  # in the order added
                fault.fired += 1
                hit.fired.append(fault.describe())
            if hit.answer is not None and hit.answer.kind == "problem":
                answer = hit.answer
                hit.problem = answer.build(now) if answer.build else answer.problem
        return hit

    def add_spec(self, spec: str) -> Fault:
        """Add a fault from its text form, as the marker and ini options give it:
        ``"bad_nonce endpoint=newOrder times=2"``, ``"nonce_reject_rate 0.3 seed=7"``,
        ``"server_error"``, ``"rate_limited retry_after=60"``, ``"slow 2"``, ``"drop"``,
        ``"html_error 502 endpoint=newOrder"``, ``"connection_reset rate=0.1 seed=7 times=none"``,
        ``"slow_headers 0.5"``: a name of :data:`SPEC_NAMES`, then the method's arguments."""
        name, args, kwargs = _parse_spec(spec)
        maker: Callable[..., Fault] = getattr(self, name)
        try:
            fault: Fault = maker(*args, **kwargs)
        except TypeError as exc:
            raise FakeACMEUsageError(f"bad arguments in fault spec {spec!r}: {exc}") from None
        return fault

    def extend(self, faults: Iterable[Fault]) -> None:
        """Add already-built faults (e.g. from a marker)."""
        with self._lock:
            self._faults.extend(faults)
