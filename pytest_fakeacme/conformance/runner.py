"""The runner: each scenario on a clean fake, the client run against it, every case judged.

One fake is started for the battery and ``reset()`` before each scenario: a reset forgets all
state, scripts, faults and settings, and costs far less than starting a fake (new keys, new TLS
files; ``benchmarks/bench.py`` measures both). A scenario that needs the fake built differently
(alternate chains) gets a fake of its own, started once. For clients in webroot mode the runner
serves the case's webroot on the fake's http-01 port, if that port is free; a client in
standalone mode binds the port itself.
"""

from __future__ import annotations

import http.server
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from ..diagram import sequence_svg
from ..errors import FakeACMEUsageError, ScriptError
from ..fake import FakeACME
from ..transport import InThread
from .cases import CASES, Case, Scenario
from .clients import CallableClient, Client, ClientFunction, CommandClient, Http01Mode
from .results import CaseResult, Finding, RunRecord, Scorecard
from .situations import Observed, Stage, Target

#: Seconds one run of the client may take before it is stopped.
DEFAULT_TIMEOUT = 60.0


class _QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the journal and the VA's records say what was fetched."""


class WebrootServer:
    """A static file server on the http-01 port, serving the current case's webroot: what a
    webroot client's web server would be."""

    def __init__(self, host: str, port: int) -> None:
        self.root = Path(tempfile.gettempdir())
        server = self

        class Files(_QuietFiles):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, directory=str(server.root), **kwargs)

        files = http.server.ThreadingHTTPServer((host, port), Files)
        files.daemon_threads = True
        self._running = InThread(files, "conformance webroot")

    def close(self) -> None:
        """Stop serving."""
        self._running.stop()


class _Fakes:
    """The battery's fakes, by how they are built, each started once and reset per scenario."""

    def __init__(self, serve_webroot: bool) -> None:
        self._serve_webroot = serve_webroot
        self._running: dict[tuple[tuple[str, Any], ...], tuple[FakeACME, WebrootServer | None]]
        self._running = {}
        self.notes: list[str] = []

    def get(self, options: tuple[tuple[str, Any], ...]) -> tuple[FakeACME, WebrootServer | None]:
        if options not in self._running:
            fake = FakeACME(**dict(options)).start()
            server = None
            if self._serve_webroot:
                try:
                    server = WebrootServer(fake.host, fake.http01_port)
                except OSError as exc:
                    self.notes.append(
                        f"port {fake.http01_port} is in use ({exc.strerror}): the webroot is "
                        "not served; whatever listens there answers the http-01 validations"
                    )
            self._running[options] = (fake, server)
        fake, server = self._running[options]
        fake.reset()
        return fake, server

    def discard(self, options: tuple[tuple[str, Any], ...]) -> None:
        """Stop a fake (after a Python client outlived its timeout: whatever it still sends
        must not reach the next case)."""
        fake, server = self._running.pop(options)
        if server is not None:
            server.close()
        fake.stop()

    def close(self) -> None:
        for options in list(self._running):
            self.discard(options)


def select(ids: Iterable[str] | None) -> list[Case]:
    """The cases named by ``ids`` (all of them for None), in the battery's order."""
    if ids is None:
        return list(CASES)
    wanted = list(ids)
    known = {c.id for c in CASES}
    unknown = [i for i in wanted if i not in known]
    if unknown:
        raise FakeACMEUsageError(f"unknown case(s) {unknown}; the cases are {sorted(known)}")
    return [c for c in CASES if c.id in wanted]


def _fresh(workdir: Path | None) -> Path | None:
    """``workdir``, checked to be a directory with nothing in it yet (or none at all)."""
    if workdir is None or not workdir.exists():
        return workdir
    if not workdir.is_dir():
        raise FakeACMEUsageError(f"workdir {workdir} is not a directory")
    if any(workdir.iterdir()):
        raise FakeACMEUsageError(
            f"workdir {workdir} is not empty: a client would find an earlier run's state "
            "there (an account, a certificate to renew) and be judged on it; give an empty "
            "or new directory")
    return workdir


def _transcript(observed: Observed) -> str:
    lines: list[str] = []
    for index, run in enumerate(observed.runs):
        command = " ".join(run.argv) if run.argv is not None else "(Python client)"
        lines.append(f"--- run {index + 1}: {command}")
        lines.extend(f"#{e.seq} {e.line()}" for e in observed.run_entries(index))
        lines.append(f"--- {observed.exit_line(run)}")
    return "\n".join(lines)


class Battery:
    """Runs the battery's cases against one client and returns its :class:`Scorecard`.

    :param client: a :class:`~pytest_fakeacme.conformance.clients.CommandClient`,
        :class:`~pytest_fakeacme.conformance.clients.CallableClient` or a preset's client.
    :param cases: case ids to run (default: all of them).
    :param timeout: seconds one run of the client may take.
    :param workdir: where the cases' working directories go: a directory that is empty or does
        not exist yet (default: a temporary directory, removed afterwards). A non-empty one is
        refused: a client would find an earlier run's state there (certbot an old lineage) and
        be judged on it.
    :param progress: called with each result as soon as it is judged.
    :param allow_skips: whether a skipped case leaves the scorecard ``ok`` (for a client that
        legitimately cannot take some cases, such as a dns-01-only client).
    """

    def __init__(self, client: Client, *, cases: Iterable[str] | None = None,
                 timeout: float = DEFAULT_TIMEOUT, workdir: Path | None = None,
                 progress: Callable[[CaseResult], None] | None = None,
                 allow_skips: bool = False) -> None:
        self.client = client
        self.cases = select(cases)
        self.timeout = timeout
        self.workdir = _fresh(workdir)
        self.progress = progress
        self.allow_skips = allow_skips
        self.notes: list[str] = []

    def scenarios(self) -> list[tuple[Scenario, list[Case]]]:
        """The scenarios to play, each with the cases judged on it, in the battery's order."""
        grouped: dict[str, tuple[Scenario, list[Case]]] = {}
        for case in self.cases:
            grouped.setdefault(case.scenario.name, (case.scenario, []))[1].append(case)
        return list(grouped.values())

    def run(self) -> Scorecard:
        """Play every scenario and judge every case."""
        started = time.monotonic()
        card = Scorecard(self.client.name, allow_skips=self.allow_skips)
        root = self.workdir or Path(tempfile.mkdtemp(prefix="fakeacme-conformance-"))
        fakes = _Fakes(serve_webroot=self.client.http01 == "webroot")
        try:
            for scenario, cases in self.scenarios():
                for result in self._play(fakes, root, scenario, cases):
                    card.results.append(result)
                    if self.progress is not None:
                        self.progress(result)
        finally:
            fakes.close()
            self.notes.extend(fakes.notes)
            if self.workdir is None:
                shutil.rmtree(root, ignore_errors=True)
        card.seconds = time.monotonic() - started
        return card

    def _play(self, fakes: _Fakes, root: Path, scenario: Scenario, cases: Sequence[Case]
              ) -> list[CaseResult]:
        fake, server = fakes.get(scenario.fake_options)
        domain = f"{scenario.name}.example"
        workdir = root / scenario.name
        webroot = workdir / "webroot"
        (webroot / ".well-known" / "acme-challenge").mkdir(parents=True, exist_ok=True)
        if server is not None:
            server.root = webroot
        stage = Stage(fake, domain)
        started = time.monotonic()
        try:
            observed = self._runs(fake, stage, scenario, workdir, webroot)
        finally:
            stage.undo()
        seconds = time.monotonic() - started
        script_error: ScriptError | None = None
        try:
            fake.check()  # a bug in the fake stops the battery; it must not judge a client
        except ScriptError as exc:  # a scripted outcome the client's challenge cannot take
            script_error = exc
        transcript = _transcript(observed)
        diagram = sequence_svg(observed.entries, title=f"The conversation: {scenario.name}")
        results = []
        for case in cases:
            finding = (Finding("skip", f"the fake refused the scenario's script: {script_error}")
                       if script_error is not None else case.judge(observed))
            results.append(CaseResult(
                case.id, case.title, finding.verdict, finding.reason, finding.evidence,
                case.source, case.good, scenario.name, seconds, tuple(observed.runs),
                transcript, diagram, "" if case is cases[0] else cases[0].id))
        if observed.last.timed_out and observed.last.argv is None:
            # A Python client still running: whatever it sends next must reach no other case.
            fakes.discard(scenario.fake_options)
        return results

    def _sleep(self, fake: FakeACME) -> Callable[[float], None]:
        if not getattr(self.client, "virtual_time", False):
            return time.sleep

        def advance(seconds: float) -> None:
            fake.clock.advance(seconds=seconds)
        return advance

    def _runs(self, fake: FakeACME, stage: Stage, scenario: Scenario, workdir: Path,
              webroot: Path) -> Observed:
        scenario.setup(stage)
        runs: list[RunRecord] = []
        starts: list[int] = []
        for number in range(1, scenario.runs + 1):
            if number > 1:
                if runs[-1].timed_out:
                    break
                assert scenario.between is not None
                scenario.between(stage)
            starts.append(max((e.seq for e in fake.journal), default=0))
            target = Target(fake.directory_url, fake.ca_bundle, stage.domain, fake.http01_port,
                            webroot, workdir, number, self._sleep(fake))
            runs.append(self.client.run(target, self.timeout))
        entries = list(fake.journal)
        return Observed(stage.domain, runs, entries, starts, fake, stage.kept)


def run_battery(client: CommandClient | CallableClient | ClientFunction, *,
                cases: Iterable[str] | None = None,
                timeout: float = DEFAULT_TIMEOUT, workdir: Path | None = None,
                http01: Http01Mode = "webroot", name: str = "",
                virtual_time: bool = False, allow_skips: bool = False) -> Scorecard:
    """Run the battery (or the ``cases`` named) against ``client`` and return its scorecard.

    ``client`` is a :class:`~pytest_fakeacme.conformance.clients.CommandClient` (or a preset's
    client), or a Python function called with a
    :class:`~pytest_fakeacme.conformance.situations.Target` for each run: it returns an exit
    status (``None`` for 0) or raises. A function answers http-01 by writing into
    ``target.challenge_dir`` (``http01="webroot"``, served by the runner) or by serving
    ``target.http01_port`` itself (``http01="standalone"``). With ``virtual_time`` its
    ``target.sleep`` moves the fake's clock instead of sleeping. The scorecard is ``ok`` when
    every case passed or warned (a skip too, with ``allow_skips``)."""
    chosen = client if isinstance(client, (CommandClient, CallableClient)) else \
        CallableClient(client, name, http01, virtual_time)
    return Battery(chosen, cases=cases, timeout=timeout, workdir=workdir,
                   allow_skips=allow_skips).run()

