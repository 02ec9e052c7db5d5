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


def _utc(value: _dt.datetime) -> _dt.datetime:
    if value.tzinfo is None:
        raise ValueError("clock times must be timezone-aware (use datetime.timezone.utc)")
    return value.astimezone(_dt.timezone.utc)


class Clock:
    """The fake CA's clock: real time plus an offset, or frozen.

    ``clock.now()`` follows the wall clock shifted by everything passed to :meth:`advance`.
    :meth:`freeze` stops it (at the current instant or a given one); :meth:`unfreeze` lets it run
    again from where it stands. Thread-safe.
    """

    def __init__(self, start: _dt.datetime | None = None, *, frozen: bool = False) -> None:
        self._lock = threading.Lock()
        self._offset = _dt.timedelta(0)
        self._frozen_at: _dt.datetime | None = None
        #: While :meth:`couple` holds: time-machine's coordinates of the process's time.
        self._coupled: Any = None
        if start is not None:
            self._offset = _utc(start) - self._wall()
        if frozen:
            self.freeze()

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
        try:
            step = (delta or _dt.timedelta(0)) + _dt.timedelta(**units)
        except TypeError as exc:
            raise TypeError(
                f"clock.advance() takes a timedelta and/or days=, hours=, minutes=, seconds=, "
                f"weeks= (got {units!r}): {exc}"
            ) from None
        if step < _dt.timedelta(0):
            raise ValueError(f"the fake's clock only moves forward; got {step}")
        with self._lock:
            self._offset += step
            if self._frozen_at is not None:
                self._frozen_at += step
            now = self._frozen_at or self._wall() + self._offset
            self._follow(now)
            return now

    def set(self, when: _dt.datetime) -> None:
        """Jump to ``when`` (forward or back); for setting up a scenario, not during one."""
        target = _utc(when)
        with self._lock:
            self._offset = target - self._wall()
            if self._frozen_at is not None:
                self._frozen_at = target
            self._follow(target)

    def freeze(self, at: _dt.datetime | None = None) -> _dt.datetime:
        """Stop the clock at ``at`` (default: now). ``advance`` still moves a frozen clock."""
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
