"""The journal: every request and answer, every validation attempt, every status change and
every failed TLS handshake, in order, bounded in memory; with questions about a client's manners
and a readable transcript.

Entries are recorded cheaply (the raw JWS body is kept and decoded only when read), so keeping
a journal costs a request almost nothing.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as _dt
import email.utils
import json
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import MISSING, dataclass, field, fields
from functools import cached_property
from typing import IO, Any, Literal

from .clock import Clock
from .endpoints import ENDPOINTS, Endpoint
from .errors import FakeACMEUsageError
from .problems import AcmeProblem

EntryKind = Literal["request", "validation", "transition", "handshake"]

#: Response headers the journal keeps (RFC 8555 6.5, 7.1, 7.4; RFC 9110 Retry-After).
KEPT_HEADERS = ("Replay-Nonce", "Location", "Retry-After", "Link", "Content-Type")


def _b64json(value: str) -> Any:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        return json.loads(raw.decode("utf-8")) if raw else None
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        return None


@dataclass(frozen=True)
class JWSView:
    """The decoded JWS of a request (as sent, whether or not it verified)."""

    protected: dict[str, Any]
    payload: Any
    post_as_get: bool

    @property
    def alg(self) -> str | None:
        """The ``alg`` header parameter."""
        value = self.protected.get("alg")
        return value if isinstance(value, str) else None

    @property
    def kid(self) -> str | None:
        """The ``kid`` header parameter (an account URL), if any."""
        value = self.protected.get("kid")
        return value if isinstance(value, str) else None

    @property
    def jwk(self) -> dict[str, Any] | None:
        """The ``jwk`` header parameter, if any."""
        value = self.protected.get("jwk")
        return value if isinstance(value, dict) else None

    @property
    def nonce(self) -> str | None:
        """The ``nonce`` header parameter."""
        value = self.protected.get("nonce")
        return value if isinstance(value, str) else None

    @property
    def url(self) -> str | None:
        """The ``url`` header parameter."""
        value = self.protected.get("url")
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Entry:
    """One line of the journal. ``kind`` says which fields matter:

    - ``"request"``: ``endpoint``, ``method``, ``url``, :attr:`jws`, ``account_id``,
      ``status`` (0: no answer), ``problem``, ``headers``, ``fault`` (the injected faults that
      fired, if any);
    - ``"validation"``: ``identifier``, ``challenge_type``, ``outcome`` (what was scripted or
      ``real``), ``problem`` (None when valid), ``records``;
    - ``"transition"``: ``object_kind`` (account, order, authorization, challenge), ``object_id``,
      ``old`` (``""`` when the object is new), ``new``, ``cause``; on creation an
      authorization's ``identifier`` and a challenge's ``challenge_type``;
    - ``"handshake"``: a TLS handshake with the fake that failed: ``peer`` (the client's
      address), ``alert`` (the TLS alert the client sent, e.g. ``"unknown ca"``; ``""`` if
      none), ``detail`` (what happened, in words), ``untrusted`` (the client refused the
      fake's certificate: it does not trust the fake's CA bundle).

    Its ``repr`` is its transcript line (shortened), so that assertion failures stay readable.
    """

    seq: int
    kind: EntryKind
    at: _dt.datetime
    monotonic: float
    endpoint: str = ""
    method: str = ""
    url: str = ""
    account_id: str | None = None
    status: int = 0
    problem: AcmeProblem | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    identifier: str = ""
    challenge_type: str = ""
    outcome: str = ""
    records: tuple[dict[str, Any], ...] = ()
    object_kind: str = ""
    object_id: str = ""
    old: str = ""
    new: str = ""
    cause: str = ""
    fault: str = ""
    peer: str = ""
    alert: str = ""
    detail: str = ""
    untrusted: bool = False

    @cached_property
    def jws(self) -> JWSView | None:
        """The request's JWS, decoded (None for GET/HEAD or a body that is no JWS)."""
        if self.kind != "request" or not self.body:
            return None
        try:
            envelope = json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            return None
        if not isinstance(envelope, dict):
            return None
        protected = _b64json(str(envelope.get("protected", "")))
        payload_b64 = envelope.get("payload")
        payload = _b64json(payload_b64) if isinstance(payload_b64, str) else None
        return JWSView(
            protected=protected if isinstance(protected, dict) else {},
            payload=payload,
            post_as_get=payload_b64 == "",
        )

    @property
    def retry_after(self) -> int | None:
        """The answer's Retry-After in seconds (an HTTP-date counted from the answer), if it
        had one."""
        value = self.headers.get("Retry-After")
        if not value:
            return None
        if value.isascii() and value.isdigit():
            return int(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        # An HTTP-date has whole seconds: count from the answer's whole second.
        return max(int((when - self.at.replace(microsecond=0)).total_seconds()), 0)

    @property
    def retry_at(self) -> _dt.datetime | None:
        """When the answer's Retry-After lets the client ask again (on the fake's clock)."""
        value = self.headers.get("Retry-After")
        if not value:
            return None
        if value.isascii() and value.isdigit():
            return self.at + _dt.timedelta(seconds=int(value))
        try:
            return email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None

    @property
    def resource(self) -> str:
        """The URL of the resource this exchange was about (its Location, else the URL)."""
        return self.headers.get("Location") or self.url

    def line(self, verbose: bool = False) -> str:
        """This entry as one transcript line."""
        return f"{self.at.strftime('%H:%M:%S')} {self._text(verbose)}"

    def _text(self, verbose: bool = False) -> str:
        if self.kind == "transition":
            about = f" ({self.identifier})" if self.identifier else ""
            return (f"  {self.object_kind} {self.object_id}{about}: {self.old or '(new)'} -> "
                    f"{self.new}  [{self.cause}]")
        if self.kind == "validation":
            found = "valid" if self.problem is None else (
                f"{self.problem.type}: {self.problem.detail}"
            )
            return f"  VA {self.challenge_type} {self.identifier} ({self.outcome}): {found}"
        if self.kind == "handshake":
            return f"TLS  handshake from {self.peer} failed: {self.detail}"
        return self._request_text(verbose)

    def _request_text(self, verbose: bool) -> str:
        what = self.endpoint
        jws = self.jws
        if jws is not None:
            what += " (POST-as-GET)" if jws.post_as_get else ""
        answer = str(self.status) if self.status else "no answer"
        text = f"{self.method:<4} {what} -> {answer}"
        injected = "injected " if self.fault else ""
        if self.problem is not None:
            text += f" !! {injected}{self.problem.type}: {self.problem.detail}"
        elif not self.status:
            text += " !! injected: " if self.fault else " !! "
            reset = "connection_reset" in self.fault
            text += f"connection {'reset' if reset else 'closed'} without an answer"
        elif self.fault and self.status >= 400:
            # An answer in the CA's place that is no problem document (an HTML page).
            kind = self.headers.get("Content-Type", "no Content-Type")
            text += f" !! injected: {kind} answer, no problem document"
        retry = self.headers.get("Retry-After")
        if retry:
            text += f" (Retry-After: {retry})"
        if self.fault:
            text += f"  [fault: {self.fault}]"
        if verbose:
            text += f"\n      {self.url}"
            if jws is not None and jws.payload is not None:
                text += "\n      payload: " + json.dumps(jws.payload, sort_keys=True)[:500]
        return text

    def __repr__(self) -> str:
        text = self._text().strip()
        if len(text) > _REPR_WIDTH:
            text = text[: _REPR_WIDTH - 3] + "..."
        return f"<Entry #{self.seq} {text}>"


#: At most this many characters of an entry's line in its repr.
_REPR_WIDTH = 120


def _check_endpoint(endpoint: str | None) -> None:
    if endpoint is not None and endpoint not in ENDPOINTS and endpoint != "unknown":
        raise FakeACMEUsageError(
            f"unknown endpoint {endpoint!r}; use one of {', '.join(sorted(ENDPOINTS))} "
            "(or 'unknown', or None for every request)"
        )


#: Entry's fields and their defaults, for _new_entry (``headers`` gets a fresh dict each time).
_ENTRY_FIELDS = frozenset(f.name for f in fields(Entry))
_ENTRY_DEFAULTS = {f.name: f.default for f in fields(Entry) if f.default is not MISSING}


def _new_entry(seq: int, kind: EntryKind, at: _dt.datetime, monotonic: float,
               values: dict[str, Any]) -> Entry:
    """``Entry(seq=..., kind=..., ...)`` without the frozen dataclass's ``__init__``, which
    sets each of its 20 fields through ``object.__setattr__`` (6 us an entry, 17 entries per
    issuance). The instance is the same; it stays frozen to its users."""
    unknown = values.keys() - _ENTRY_FIELDS
    if unknown:
        raise TypeError(f"Entry has no field {sorted(unknown)[0]!r}")
    entry = object.__new__(Entry)
    state = entry.__dict__
    state.update(_ENTRY_DEFAULTS)
    state["headers"] = {}
    state.update(seq=seq, kind=kind, at=at, monotonic=monotonic)
    state.update(values)
    return entry


#: An entry waiting to be appended: its kind, times and fields.
_Held = tuple[EntryKind, _dt.datetime, float, dict[str, Any]]


class Exchange:
    """One request's entries while it is answered (see :meth:`Journal.exchange`)."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self.first: _Held | None = None
        self.caused: list[_Held] = []

    def lead(self, kind: EntryKind, **fields: Any) -> None:
        """The request's own entry, timed now, to come before everything it caused."""
        self.first = self._journal._stamp(kind, fields)


class Journal:
    """``fake_acme.journal``: iterate it for entries (oldest first); ask it questions.

    Bounded: beyond :attr:`cap` entries the oldest are dropped and counted in :attr:`dropped`.
    Entries are timed on the fake's ``clock``.
    """

    def __init__(self, clock: Clock, cap: int = 5000) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: deque[Entry] = deque()
        self._last_status: dict[tuple[str, str], str] = {}
        self._local = threading.local()
        self._seq = 0
        self.dropped = 0
        self._cap = 0
        self.cap = self._initial_cap = cap
        #: Returns once the handshakes and requests in progress have ended (the running server
        #: sets it): see :meth:`wait_until_quiet`.
        self.quiet_hook: Callable[[], bool] | None = None

    @property
    def cap(self) -> int:
        """How many entries are kept."""
        return self._cap

    @cap.setter
    def cap(self, value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise FakeACMEUsageError(f"journal.cap must be a whole number >= 1, not {value!r}")
        with self._lock:
            self._cap = value
            self._trim()

    def _trim(self) -> None:
        while len(self._entries) > self._cap:
            self._entries.popleft()
            self.dropped += 1

    def record(self, kind: EntryKind, **fields: Any) -> None:
        """Append an entry (the server's side of the journal), timed now on the fake's clock.

        While this thread holds an exchange open (:meth:`exchange`), entries wait, so that a
        request's line comes before the changes it caused."""
        stamped = self._stamp(kind, fields)
        held: Exchange | None = getattr(self._local, "held", None)
        if held is not None:
            held.caused.append(stamped)
            return
        with self._lock:
            self._append(stamped)

    def _stamp(self, kind: EntryKind, fields: dict[str, Any]) -> _Held:
        return kind, self._clock.now(), self._clock.monotonic(), fields

    def _append(self, stamped: _Held) -> None:
        kind, at, monotonic, fields = stamped
        self._seq += 1
        self._entries.append(_new_entry(self._seq, kind, at, monotonic, fields))
        self._trim()

    @contextlib.contextmanager
    def exchange(self) -> Iterator[Exchange]:
        """Hold this thread's entries while a request is answered; the request's own line
        (:meth:`Exchange.lead`) goes first, then what it caused, in order."""
        held = Exchange(self)
        self._local.held = held
        try:
            yield held
        finally:
            self._local.held = None
            with self._lock:
                for stamped in ([held.first] if held.first else []) + held.caused:
                    self._append(stamped)

    def clear(self) -> None:
        """Forget every entry (and the dropped count)."""
        with self._lock:
            self._entries.clear()
            self._last_status.clear()
            self.dropped = 0

    def reset(self) -> None:
        """:meth:`clear`, and :attr:`cap` back to what it was built with (``reset()``)."""
        self.clear()
        self.cap = self._initial_cap

    def observe(self, object_kind: str, object_id: str, status: str, cause: str, *,
                identifier: str = "", challenge_type: str = "") -> None:
        """Note that an object shows ``status``; records a transition if that is a change.
        The store calls this, and only the store: every status change comes one way. A new
        authorization comes with its ``identifier``, a new challenge with its type."""
        key = (object_kind, object_id)
        with self._lock:
            old = self._last_status.get(key)
            if old == status:
                return
            self._last_status[key] = status
        self.record("transition", object_kind=object_kind, object_id=object_id,
                    old=old or "", new=status, cause=cause, identifier=identifier,
                    challenge_type=challenge_type)

    def __iter__(self) -> Iterator[Entry]:
        with self._lock:
            return iter(list(self._entries))

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    # Selections

    def requests(
        self,
        endpoint: Endpoint | Literal["unknown"] | None = None,
        *,
        account: str | None = None,
        url: str | None = None,
    ) -> list[Entry]:
        """Request entries, optionally for one endpoint (an
        :data:`~pytest_fakeacme.endpoints.Endpoint`: a directory name such as ``newOrder``, or
        ``order``, ``authorization``, ``challenge``, ``finalize``, ``certificate``,
        ``directory``; ``unknown`` for paths the fake does not serve), one account id, or one
        resource URL."""
        _check_endpoint(endpoint)
        return [
            e
            for e in self
            if e.kind == "request"
            and (endpoint is None or e.endpoint == endpoint)
            and (account is None or e.account_id == account)
            and (url is None or e.url == url or e.resource == url)
        ]

    def validations(self, identifier: str | None = None) -> list[Entry]:
        """The VA's attempts, optionally for one identifier."""
        return [
            e for e in self
            if e.kind == "validation" and (identifier is None or e.identifier == identifier)
        ]

    def transitions(self, object_kind: str | None = None, object_id: str | None = None
                    ) -> list[Entry]:
        """Status changes, optionally of one kind (``account``, ``order``,
        ``authorization``, ``challenge``) or one object."""
        return [
            e for e in self
            if e.kind == "transition"
            and (object_kind is None or e.object_kind == object_kind)
            and (object_id is None or e.object_id == object_id)
        ]

    def statuses(self, object_kind: str, object_id: str) -> list[str]:
        """The statuses one object went through, e.g. ``["pending", "invalid"]``."""
        changes = self.transitions(object_kind, object_id)
        if not changes:
            return []
        head = [changes[0].old] if changes[0].old else []
        return head + [c.new for c in changes]

    # Questions about the client's manners

    def reads_not_post_as_get(self) -> list[Entry]:
        """Reads of resources that were not POST-as-GET (RFC 8555 6.3): GETs of resources other
        than the directory, newNonce and the terms, and POSTs to them with a payload."""
        read_only = {"order", "certificate", "orders"}
        found = []
        for e in self.requests():
            if e.method == "GET" and e.endpoint not in ("directory", "newNonce", "terms"):
                found.append(e)
            elif e.method == "POST" and e.endpoint in read_only and e.status < 400:
                jws = e.jws
                if jws is not None and not jws.post_as_get and e.endpoint != "finalize":
                    found.append(e)
        return found

    def every_read_was_post_as_get(self) -> bool:
        """Whether the client read every resource with POST-as-GET."""
        return not self.reads_not_post_as_get()

    def retry_after_violations(self) -> list[tuple[Entry, Entry]]:
        """``(answer, next_request)`` pairs where the client asked again for the same resource
        sooner (on the fake's clock) than the answer's Retry-After allowed."""
        pending: dict[str, Entry] = {}
        violations = []
        for e in self.requests():
            earlier = pending.pop(e.url, None)
            allowed = earlier.retry_at if earlier is not None else None
            if earlier is not None and allowed is not None and e.at < allowed:
                violations.append((earlier, e))
            if e.retry_at is not None:
                pending[e.resource] = e
        return violations

    def waited_retry_after(self) -> bool:
        """Whether the client always waited the Retry-After it was given before asking again."""
        return not self.retry_after_violations()

    def reused_nonces(self) -> list[str]:
        """Nonces the client sent more than once (RFC 8555 6.5: each is good for one request)."""
        seen: set[str] = set()
        again: list[str] = []
        for e in self.requests():
            jws = e.jws
            nonce = jws.nonce if jws is not None else None
            if nonce is None:
                continue
            if nonce in seen and nonce not in again:
                again.append(nonce)
            seen.add(nonce)
        return again

    def handshake_failures(self) -> list[Entry]:
        """TLS handshakes with the fake that failed (a client that does not trust the fake's
        CA bundle, one that spoke plain HTTP to it), once those in progress have ended."""
        self.wait_until_quiet()
        return [e for e in self if e.kind == "handshake"]

    def wait_until_quiet(self) -> bool:
        """Wait (two seconds at most) until no TLS handshake or request is in progress, so that
        a handshake a client gave up, or an answer it stopped waiting for, is on record; False
        if one still is."""
        return self.quiet_hook() if self.quiet_hook is not None else True

    def directory_fetches(self) -> int:
        """How many times the directory was fetched."""
        return len(self.requests("directory"))

    # Text

    def transcript(self, verbose: bool = False, entries: Iterable[Entry] | None = None) -> str:
        """The conversation as text, one line per exchange; problems marked ``!!`` (``!!
        injected`` when a fault made them), VA attempts and status changes indented, a new
        authorization's challenges on its line."""
        if entries is None:
            self.wait_until_quiet()
        chosen = list(self if entries is None else entries)
        lines = _lines(chosen, verbose)
        if self.dropped and entries is None:
            lines.insert(0, f"... {self.dropped} earlier entries dropped (journal.cap={self.cap})")
        return "\n".join(lines)

    def dump(self, file: IO[str] | None = None, verbose: bool = False) -> str:
        """Write the transcript to ``file`` (default: return it only) and return it."""
        text = self.transcript(verbose)
        if file is not None:
            file.write(text + "\n")
        return text


def _lines(entries: list[Entry], verbose: bool) -> list[str]:
    """Transcript lines: one per entry, except that the challenges created with an
    authorization join its line (three "(new) -> pending" lines per name say nothing)."""
    lines = []
    i = 0
    while i < len(entries):
        entry = entries[i]
        i += 1
        if not (entry.kind == "transition" and entry.object_kind == "authorization"
                and not entry.old):
            lines.append(entry.line(verbose))
            continue
        created = []
        while (i < len(entries) and entries[i].kind == "transition" and not entries[i].old
               and entries[i].object_kind == "challenge" and entries[i].cause == entry.cause):
            created.append(entries[i])
            i += 1
        text = entry.line(verbose)
        if created:
            challenges = ", ".join(f"{c.challenge_type} {c.object_id}".strip() for c in created)
            head, cause = text.rsplit("  [", 1)
            text = f"{head}; challenges {challenges}  [{cause}"
        lines.append(text)
    return lines
