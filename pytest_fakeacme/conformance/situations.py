"""What a case sets up and what it saw.

:class:`Target` is what the client is pointed at for one run: the fake's directory and trust,
the case's domain, the http-01 port and webroot, a working directory that lasts the case. A
client gets it as environment variables (``FAKE_ACME_*``) and as ``{name}`` placeholders in its
command.

:class:`Stage` is what a case's setup gets: the fake, reset for the case, and two verbs the
fake's public API has no word for, which act at a precise point of the conversation:
:meth:`Stage.before_request` (when the client's first request to an endpoint arrives) and
:meth:`Stage.when_shown` (the moment the client is first shown an object in some status). So a
situation such as "the terms change just before the first order" happens at the same step for
every client, without timing.

:class:`Observed` is what a judge gets: the runs (exit status, output), the journal entries
of the case, where each run began, and the fake, to read its views.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..endpoints import Endpoint
from ..faults import Fault
from ..journal import Entry
from .results import RunRecord

if TYPE_CHECKING:
    from ..fake import FakeACME

#: The placeholders a command may use, and the environment variables with the same values.
PLACEHOLDERS = {
    "directory": "FAKE_ACME_DIRECTORY_URL",
    "ca_bundle": "FAKE_ACME_CA_BUNDLE",
    "domain": "FAKE_ACME_DOMAIN",
    "http01_port": "FAKE_ACME_HTTP01_PORT",
    "webroot": "FAKE_ACME_WEBROOT",
    "challenge_dir": "FAKE_ACME_CHALLENGE_DIR",
    "workdir": "FAKE_ACME_WORKDIR",
    "run": "FAKE_ACME_RUN",
}
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")


@dataclass(frozen=True)
class Target:
    """What the client is pointed at for one run of a case."""

    directory_url: str
    ca_bundle: str
    #: A fresh name for each case (every name resolves to 127.0.0.1 for the fake's VA).
    domain: str
    #: Where the fake's VA sends http-01 requests (its stand-in for port 80).
    http01_port: int
    #: The directory served on ``http01_port`` for clients in webroot mode; the key
    #: authorization goes in ``.well-known/acme-challenge/<token>`` under it.
    webroot: Path
    #: A working directory that lasts the case (all its runs): the client's state goes here.
    workdir: Path
    #: Which run of the case this is (1, 2, ...).
    run: int = 1
    #: How the client should wait: ``time.sleep``, or, for a Python client run with
    #: ``virtual_time=True``, a step of the fake's clock (the journal's time), so that waiting
    #: a Retry-After takes no time at all.
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)

    @property
    def challenge_dir(self) -> Path:
        """``<webroot>/.well-known/acme-challenge``, for clients that take that folder."""
        return self.webroot / ".well-known" / "acme-challenge"

    def placeholders(self) -> dict[str, str]:
        """The ``{name}`` placeholders and their values."""
        return {
            "directory": self.directory_url,
            "ca_bundle": self.ca_bundle,
            "domain": self.domain,
            "http01_port": str(self.http01_port),
            "webroot": str(self.webroot),
            "challenge_dir": str(self.challenge_dir),
            "workdir": str(self.workdir),
            "run": str(self.run),
        }

    def environment(self) -> dict[str, str]:
        """The ``FAKE_ACME_*`` variables a client run gets."""
        values = self.placeholders()
        return {PLACEHOLDERS[name]: value for name, value in values.items()}

    def fill(self, argv: Sequence[str]) -> list[str]:
        """``argv`` with its ``{name}`` placeholders filled in (other braces are left alone)."""
        values = self.placeholders()
        return [_PLACEHOLDER.sub(lambda m: values[m.group(1)], arg) for arg in argv]


#: ``(kind, id, status)`` -> None: an action at a point of the conversation.
Hook = Callable[[str, str, str], None]


class Stage:
    """A case's setup: the fake (reset for the case), the case's domain, and what the setup
    keeps for the judge (:attr:`kept`)."""

    def __init__(self, fake: FakeACME, domain: str) -> None:
        self.fake = fake
        self.domain = domain
        #: What the setup hands to the judge (a drill, a URL, ...).
        self.kept: dict[str, Any] = {}
        self._hooks: list[Hook] = []
        self._previous: Callable[[str, str, str, str], None] | None = None
        self._installed = False

    def before_request(self, endpoint: Endpoint, action: Callable[[], object]) -> None:
        """Call ``action()`` once, when the client's first request to ``endpoint`` (a
        directory name such as ``newOrder``, or ``order``, ``finalize``, ...) arrives, before
        the fake authenticates and answers it.

        It rides on the faults, which are checked first for every request, as a ``hook``:
        no failure, it answers nothing, takes no fault's place and is not journaled."""
        def fire(now: object) -> None:
            action()

        self.fake.faults.extend([Fault("hook", endpoint, 1, build=fire)])

    def when_shown(self, kind: str, status: str, action: Callable[[str], None]) -> None:
        """Call ``action(object_id)`` once, the first time an object of ``kind`` (account,
        order, authorization, challenge) changes to or is shown in ``status``: inside the
        request that does it, before the client reads the answer.

        It rides on the store's listener (the one way every status change travels) and is
        removed when the case ends (:meth:`undo`)."""
        fired = False

        def hook(seen_kind: str, object_id: str, seen_status: str) -> None:
            nonlocal fired
            if not fired and seen_kind == kind and seen_status == status:
                fired = True
                action(object_id)

        self._install()
        self._hooks.append(hook)

    def _install(self) -> None:
        if self._installed:
            return
        store = self.fake.store
        previous = store.listener
        hooks = self._hooks

        def listener(kind: str, object_id: str, status: str, cause: str, **about: Any) -> None:
            if previous is not None:
                previous(kind, object_id, status, cause, **about)
            for hook in list(hooks):
                hook(kind, object_id, status)

        self._previous = previous
        store.listener = listener
        self._installed = True

    def undo(self) -> None:
        """Remove the hooks (the runner calls this when the case ends)."""
        if self._installed:
            self.fake.store.listener = self._previous
            self._installed = False
        self._hooks.clear()


@dataclass
class Observed:
    """What a judge sees of one case: its runs, its journal, its fake."""

    domain: str
    runs: list[RunRecord]
    #: Every journal entry of the case, oldest first.
    entries: list[Entry]
    #: For each run, the sequence number of the last journal entry before it began (a
    #: journal that dropped old entries keeps its numbering).
    starts: list[int]
    fake: FakeACME
    kept: dict[str, Any] = field(default_factory=dict)

    @property
    def last(self) -> RunRecord:
        """The last run (the one most cases judge)."""
        return self.runs[-1]

    def run_entries(self, index: int) -> list[Entry]:
        """The journal entries of one run (0-based)."""
        after = self.starts[index]
        until = self.starts[index + 1] if index + 1 < len(self.starts) else None
        return [e for e in self.entries if e.seq > after and (until is None or e.seq <= until)]

    def requests(self, endpoint: str | None = None, entries: Sequence[Entry] | None = None
                 ) -> list[Entry]:
        """Request entries (of one endpoint), of the whole case or of ``entries``."""
        chosen = self.entries if entries is None else entries
        return [e for e in chosen
                if e.kind == "request" and (endpoint is None or e.endpoint == endpoint)]

    def downloaded_certificate(self, entries: Sequence[Entry] | None = None) -> bool:
        """Whether the client downloaded a certificate (a 200 answer to a certificate read)."""
        return any(e.status == 200 for e in self.requests("certificate", entries))

    def shows(self, text: str) -> bool:
        """Whether the last run's output shows ``text`` (as it is, JSON-escaped as in
        dehydrated's output, or with its white space folded)."""
        output = self.last.output
        if not text:
            return False
        if text in output or json.dumps(text)[1:-1] in output:
            return True
        return " ".join(text.split()) in " ".join(output.split())

    def output_matching(self, pattern: str) -> str | None:
        """The first line of the last run's output that matches the regular expression
        ``pattern`` once the case's domain and scenario name are taken out of it (a domain
        such as ``html-502.example``, or a working directory named after the scenario, must
        not count as the client naming a status 502)."""
        scenario = self.domain.split(".", 1)[0]
        for text in self.last.output.splitlines():
            if re.search(pattern, text.replace(self.domain, "").replace(scenario, "")):
                return text.strip()
        return None

    def output_line(self, text: str) -> str:
        """The first output line that shows ``text`` (or a part of it), for evidence."""
        probe = text[:60]
        for line in self.last.output.splitlines():
            if probe in line or json.dumps(probe)[1:-1] in line:
                return "output: " + line.strip()[:300]
        return "output does not show: " + text[:300]

    def exit_line(self, run: RunRecord | None = None) -> str:
        """The run's end as an evidence line."""
        chosen = run or self.last
        if chosen.timed_out:
            return f"run stopped at the timeout after {chosen.seconds:.1f} s"
        return f"exit status {chosen.returncode} after {chosen.seconds:.1f} s"
