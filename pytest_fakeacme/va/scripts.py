"""What the VA finds when nothing real is asked for: queues of scripted outcomes by name or
pattern, and the default outcome for names with nothing queued."""

from __future__ import annotations

import fnmatch
import threading
import urllib.parse
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .. import outcomes
from ..errors import FakeACMEUsageError
from ..outcomes import Outcome


@dataclass
class _Queue:
    pattern: str
    queue: deque[Outcome] = field(default_factory=deque)


class Scripts:
    """Outcome queues by name or ``fnmatch`` pattern, and the default. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: list[_Queue] = []
        self.default: Outcome = outcomes.real()
        self.initial_default: Outcome = self.default

    def add(self, identifier: str, scripted: Iterable[Outcome]) -> None:
        """Queue ``scripted`` for ``identifier`` (already checked by the caller)."""
        key = identifier.strip().rstrip(".").lower()
        with self._lock:
            for entry in self._queues:
                if entry.pattern == key:
                    entry.queue.extend(scripted)
                    return
            self._queues.append(_Queue(key, deque(scripted)))

    def pending(self) -> dict[str, list[Outcome]]:
        """The outcomes still queued, by name or pattern (empty queues left out)."""
        with self._lock:
            return {s.pattern: list(s.queue) for s in self._queues if s.queue}

    def take(self, names: Iterable[str]) -> Outcome:
        """The next outcome for the first of ``names`` with one queued (exact names before
        patterns, patterns in the order first scripted), else the default."""
        names = [n.lower() for n in names]
        with self._lock:
            for entry in self._queues:
                if entry.queue and entry.pattern in names:
                    return entry.queue.popleft()
            for entry in self._queues:
                if entry.queue and any(fnmatch.fnmatchcase(n, entry.pattern) for n in names):
                    return entry.queue.popleft()
            return self.default

    def clear(self) -> None:
        """Drop every queue and restore the initial default."""
        with self._lock:
            self._queues.clear()
            self.default = self.initial_default


def unused_message(pending: Mapping[str, Sequence[Outcome]], validated: Iterable[str]
                   ) -> str | None:
    """What to say about the ``pending`` outcomes, scripted and never used (None when there
    are none); ``validated`` are the names the VA did validate, to compare against."""
    if not pending:
        return None
    listed = "; ".join(f"{name!r}: {', '.join(map(repr, queue))}"
                       for name, queue in pending.items())
    names = sorted(set(validated))
    seen = ("the names validated were " + ", ".join(map(repr, names)) if names
            else "no validation happened at all")
    return (
        f"scripted outcomes never used: {listed}. No validation took them ({seen}): is each "
        "name the one the client orders, and did the test get as far as validating it? "
        "(unused_scripts='ignore' allows leftovers, 'error' fails the test)"
    )


def check_identifier(identifier: object) -> None:
    """A usage error for a script that could never be used: an identifier is a bare DNS name or
    IP address (RFC 8555 9.7.7), never a URL or a name with a port."""
    if not isinstance(identifier, str) or not identifier.strip():
        raise FakeACMEUsageError(
            f"va.script() takes a name or pattern such as 'a.example' or '*', "
            f"not {identifier!r}"
        )
    text = identifier.strip()
    if "/" in text:
        try:
            name = urllib.parse.urlsplit(text if "//" in text else "//" + text).hostname
        except ValueError:
            name = None
        instead = f"{name!r}, not " if name else ""
        raise FakeACMEUsageError(
            f"va.script() takes a name as the client orders it, not a URL: {instead}"
            f"{identifier!r}"
        )
    name, colon, port = text.rpartition(":")
    if colon and ":" not in name and port.isdigit():
        raise FakeACMEUsageError(
            f"va.script() takes a name as the client orders it, without a port: {name!r}, not "
            f"{identifier!r} (the VA's ports are fake_acme.http01_port and tls_alpn01_port)"
        )
