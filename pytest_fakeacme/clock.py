"""The fake's time: the only module that reads the wall clock.

Domain code (orders, authorizations, nonces, certificates) asks a :class:`Clock` for ``now()``
and never calls :func:`datetime.datetime.now` itself, so a test can move time forward with
:meth:`Clock.advance` (or freeze it) and watch orders expire or renewal windows open without
sleeping.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import threading
import time
from collections.abc import Iterator
from typing import Any

from .errors import FakeACMEUsageError

__all__ = ["Clock"]


#: The units :meth:`Clock.advance` takes, as :class:`datetime.timedelta` names them.
UNITS = ("weeks", "days", "hours", "minutes", "seconds")


def _utc(value: _dt.datetime | str) -> _dt.datetime:
    """``value`` in UTC: a timezone-aware datetime, or an ISO 8601 string with its UTC offset
    (``"2030-01-01T00:00:00Z"``, as the management API takes it)."""
    if isinstance(value, str):
        text = value.strip()
        try:
            # Python 3.10's fromisoformat does not read a "Z" suffix.
            parsed = _dt.datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "Zz"
                                                and text else text)
        except ValueError:
            raise FakeACMEUsageError(
                f"{value!r} is not an ISO 8601 time; e.g. '2030-01-01T00:00:00Z'"
            ) from None
        if parsed.tzinfo is None:
            raise FakeACMEUsageError(
                f"{value!r} has no UTC offset; add one, e.g. '{parsed.isoformat()}Z'"
            )
        return parsed.astimezone(_dt.timezone.utc)
    if not isinstance(value, _dt.datetime):
        raise FakeACMEUsageError(
            "clock times are timezone-aware datetimes or ISO 8601 strings such as "
            f"'2030-01-01T00:00:00Z', not {value!r}"
        )
    if value.tzinfo is None:
        raise FakeACMEUsageError(
            "clock times must be timezone-aware (use datetime.timezone.utc), or ISO 8601 "
            "strings with an offset such as '2030-01-01T00:00:00Z'"
        )
    return value.astimezone(_dt.timezone.utc)


def _step(delta: object, units: dict[str, object]) -> _dt.timedelta:
    """What :meth:`Clock.advance` was asked to add, checked, with the call to write instead
    when it was asked wrongly."""
    usage = "clock.advance() takes a timedelta and/or weeks=, days=, hours=, minutes=, seconds="
    if delta is not None and not isinstance(delta, _dt.timedelta):
        if isinstance(delta, (int, float)) and not isinstance(delta, bool):
            raise FakeACMEUsageError(
                f"{usage}, not a bare number: for {delta} seconds write "
                f"clock.advance(seconds={delta})"
            )
        raise FakeACMEUsageError(f"{usage}; not {delta!r}, e.g. clock.advance(hours=1)")
    numbers: dict[str, float] = {}
    for name, value in units.items():
        if name not in UNITS:
            near = f"; did you mean {name}s=?" if f"{name}s" in UNITS else ""
            raise FakeACMEUsageError(f"{usage}; not {name}={value!r}{near}")
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise FakeACMEUsageError(f"{usage}; {name}= takes a number, not {value!r}")
        numbers[name] = value
    return (delta or _dt.timedelta(0)) + _dt.timedelta(**numbers)


class Clock:
    """The fake CA's clock: real time plus an offset, or frozen.

    ``clock.now()`` follows the wall clock shifted by everything passed to :meth:`advance`.
    :meth:`freeze` stops it (at the current instant or a given one); :meth:`unfreeze` lets it run
    again from where it stands. Thread-safe.
    """

    def __init__(self, start: _dt.datetime | str | None = None, *, frozen: bool = False
                 ) -> None:
        self._lock = threading.Lock()
        self._offset = _dt.timedelta(0)
        self._frozen_at: _dt.datetime | None = None
        #: While :meth:`couple` holds: time-machine's coordinates of the process's time.
        self._coupled: Any = None
        when = _utc(start) if start is not None else None
        if when is not None:
            self._offset = when - self._wall()
        if frozen:
            self.freeze(when)  # at exactly ``start``, not the microseconds after it

    def _wall(self) -> _dt.datetime:
        if self._coupled is not None:
            # The process's own time follows this clock: read the real one underneath.
            import time_machine

            with contextlib.suppress(ValueError):  # the coupling just ended
                return time_machine.escape_hatch.datetime.datetime.now(_dt.timezone.utc)
        return _dt.datetime.now(_dt.timezone.utc)

    def now(self) -> _dt.datetime:
        """The fake's current time (UTC, timezone-aware)."""
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return self._wall() + self._offset

    def monotonic(self) -> float:
        """Seconds on the process's monotonic clock (for measuring, never for domain time)."""
        return time.monotonic()

    def advance(self, delta: _dt.timedelta | None = None, **units: float) -> _dt.datetime:
        """Move the fake's time forward and return the new ``now()``.

        Accepts a :class:`~datetime.timedelta`, keyword units (``days=``, ``hours=``,
        ``minutes=``, ``seconds=``, ``weeks=``), or both (they add up). Time never goes back.
        """
        step = _step(delta, dict(units))
        if step < _dt.timedelta(0):
            raise FakeACMEUsageError(f"the fake's clock only moves forward; got {step}")
        with self._lock:
            self._offset += step
            if self._frozen_at is not None:
                self._frozen_at += step
            now = self._frozen_at or self._wall() + self._offset
            self._follow(now)
            return now

    def set(self, when: _dt.datetime | str) -> None:
        """Jump to ``when`` (forward or back; a datetime or an ISO 8601 string); for setting up
        a scenario, not during one."""
        target = _utc(when)
        with self._lock:
            self._offset = target - self._wall()
            if self._frozen_at is not None:
                self._frozen_at = target
            self._follow(target)

    def freeze(self, at: _dt.datetime | str | None = None) -> _dt.datetime:
        """Stop the clock at ``at`` (default: now; a timezone-aware datetime or an ISO 8601
        string such as ``"2030-01-01T00:00:00Z"``). ``advance`` still moves a frozen clock."""
        when = _utc(at) if at is not None else self.now()
        with self._lock:
            self._frozen_at = when
            self._offset = when - self._wall()
            self._follow(when)
        return when

    def unfreeze(self) -> None:
        """Let a frozen clock run again from the instant it shows."""
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - self._wall()
                self._frozen_at = None
                self._follow(self._wall() + self._offset)

    @property
    def frozen(self) -> bool:
        """Whether the clock is frozen."""
        return self._frozen_at is not None

    def reset(self) -> None:
        """Back to real time, unfrozen."""
        with self._lock:
            self._offset = _dt.timedelta(0)
            self._frozen_at = None
            self._follow(self._wall())

    def _follow(self, now: _dt.datetime) -> None:
        # Called with the lock held: the process's time shows what this clock shows.
        if self._coupled is not None:
            self._coupled.move_to(now, tick=self._frozen_at is None)

    @contextlib.contextmanager
    def couple(self) -> Iterator[Clock]:
        """Inside this block the process's own time (``time.time()``, ``datetime.now()``,
        ``date.today()`` and what is built on them) follows this clock: ``advance(days=60)``
        moves the client's time too, so renewal logic that reads the time runs over months in
        milliseconds. Uses time-machine (``pip install "pytest-fakeacme[time]"``); one clock
        at a time."""
        try:
            import time_machine
        except ImportError:
            raise FakeACMEUsageError(
                'clock.couple() needs time-machine: pip install "pytest-fakeacme[time]"'
            ) from None
        with self._lock:
            if self._coupled is not None:
                raise FakeACMEUsageError("this clock is coupled already")
            traveller = time_machine.travel(self._frozen_at or self._wall() + self._offset,
                                            tick=self._frozen_at is None)
            self._coupled = traveller.start()
        try:
            yield self
        finally:
            with self._lock:
                self._coupled = None
                traveller.stop()

    @property
    def coupled(self) -> bool:
        """Whether the process's time follows this clock (inside :meth:`couple`)."""
        return self._coupled is not None

    def __repr__(self) -> str:
        state = "frozen" if self.frozen else "running"
        return f"<Clock {state} at {self.now().isoformat()}>"
