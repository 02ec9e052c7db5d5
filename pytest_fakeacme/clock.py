"""The fake's time: the only module that reads the wall clock.

Domain code (orders, authorizations, nonces, certificates) asks a :class:`Clock` for ``now()``
and never calls :func:`datetime.datetime.now` itself, so a test can move time forward with
:meth:`Clock.advance` (or freeze it) and watch orders expire or renewal windows open without
sleeping.
"""

from __future__ import annotations

import datetime as _dt
import threading
import time

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
        if start is not None:
            self._offset = _utc(start) - self._wall()
        if frozen:
            self.freeze()

    @staticmethod
    def _wall() -> _dt.datetime:
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
                return self._frozen_at
            return self._wall() + self._offset

    def set(self, when: _dt.datetime) -> None:
        """Jump to ``when`` (forward or back); for setting up a scenario, not during one."""
        target = _utc(when)
        with self._lock:
            self._offset = target - self._wall()
            if self._frozen_at is not None:
                self._frozen_at = target

    def freeze(self, at: _dt.datetime | None = None) -> _dt.datetime:
        """Stop the clock at ``at`` (default: now). ``advance`` still moves a frozen clock."""
        when = _utc(at) if at is not None else self.now()
        with self._lock:
            self._frozen_at = when
            self._offset = when - self._wall()
        return when

    def unfreeze(self) -> None:
        """Let a frozen clock run again from the instant it shows."""
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - self._wall()
                self._frozen_at = None

    @property
    def frozen(self) -> bool:
        """Whether the clock is frozen."""
        return self._frozen_at is not None

    def reset(self) -> None:
        """Back to real time, unfrozen."""
        with self._lock:
            self._offset = _dt.timedelta(0)
            self._frozen_at = None

    def __repr__(self) -> str:
        state = "frozen" if self.frozen else "running"
        return f"<Clock {state} at {self.now().isoformat()}>"
