"""The client under test: a command line run in a subprocess, or a Python callable.

A command runs with a clean trust environment: the variables through which a client could
pick up this machine's trust (``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``, ``SSL_CERT_FILE``,
``SSL_CERT_DIR``, ``LEGO_CA_CERTIFICATES``) are removed, and every one of them but
``SSL_CERT_DIR`` is set to the fake's bundle, so any client trusts the fake (and nothing else)
without being told how. It runs in its own process group, which the timeout stops whole.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from .results import RunRecord
from .situations import Target

#: How the client answers http-01: it writes files into the webroot the runner serves on the
#: http-01 port, or it binds that port itself.
Http01Mode = Literal["webroot", "standalone"]

#: Every variable through which a client could pick up trust from this machine.
TRUST_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR",
                   "LEGO_CA_CERTIFICATES")


class Client(Protocol):
    """What the runner needs of a client."""

    #: The name reports use.
    name: str
    #: How it answers http-01.
    http01: Http01Mode

    def run(self, target: Target, timeout: float) -> RunRecord:
        """Run once against ``target``; stop at ``timeout`` seconds."""
        ...


def environment(target: Target, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a command run: this process's, with the trust variables pointing at
    the fake's bundle, the ``FAKE_ACME_*`` variables, and ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in TRUST_VARIABLES}
    env.update({name: target.ca_bundle for name in TRUST_VARIABLES if name != "SSL_CERT_DIR"})
    env.update(target.environment())
    env.update(extra or {})
    return env


def run_process(argv: Sequence[str], env: dict[str, str], cwd: str, timeout: float
                ) -> RunRecord:
    """Run ``argv``; on timeout stop its whole process group. Output is stdout then stderr."""
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            list(argv), env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True,
        )
    except OSError as exc:
        return RunRecord(tuple(argv), 127, f"cannot run {argv[0]}: {exc.strerror}\n",
                         time.monotonic() - started)
    try:
        out, err = process.communicate(timeout=timeout)
        code: int | None = process.returncode
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        code = None
    text = out.decode("utf-8", "replace") + err.decode("utf-8", "replace")
    return RunRecord(tuple(argv), code, text, time.monotonic() - started)


@dataclass
class CommandClient:
    """A command-line client: ``argv`` with ``{name}`` placeholders (see
    :data:`~pytest_fakeacme.conformance.situations.PLACEHOLDERS`).

    ``renew`` is the command for the runs after the first in a case (what cron runs once a
    certificate exists); the same ``argv`` when not given. ``prepare`` runs before each run
    (to write a configuration file, an account key, a CSR into the working directory)."""

    name: str
    argv: tuple[str, ...]
    http01: Http01Mode = "webroot"
    renew: tuple[str, ...] | None = None
    prepare: Callable[[Target], None] | None = None
    env: dict[str, str] = field(default_factory=dict)

    def run(self, target: Target, timeout: float) -> RunRecord:
        """Run the command (or the renewal command, after the first run)."""
        if self.prepare is not None:
            self.prepare(target)
        template = self.renew if target.run > 1 and self.renew else self.argv
        argv = target.fill(template)
        return run_process(argv, environment(target, self.env), str(target.workdir), timeout)


#: A Python client: called with the target; returns an exit status (None is 0) or raises.
ClientFunction = Callable[[Target], "int | None"]


@dataclass
class CallableClient:
    """A Python client: ``function(target)`` returns an exit status (``None`` for 0), or
    raises (status 1, the traceback as its output). What it prints is its output.

    It runs in a thread of its own; at the timeout the runner stops waiting for it (a thread
    cannot be stopped) and gives the next case a new fake, so that nothing it still sends
    reaches another case.

    With ``virtual_time``, ``target.sleep(seconds)`` moves the fake's clock instead of
    sleeping: a client that takes its waits from the target (Retry-After, poll intervals)
    waits for nothing, and the journal, which the judges read, still shows the time it waited.
    """

    function: ClientFunction
    name: str = ""
    http01: Http01Mode = "webroot"
    virtual_time: bool = False

    def __post_init__(self) -> None:
        if not self.name:
            self.name = getattr(self.function, "__qualname__", repr(self.function))

    def run(self, target: Target, timeout: float) -> RunRecord:
        """Call the function in a thread, its standard output and error captured."""
        buffer = io.StringIO()
        outcome: dict[str, int] = {}
        started = time.monotonic()

        def work() -> None:
            try:
                status = self.function(target)
                outcome["code"] = 0 if status is None else int(status)
            except SystemExit as exc:  # sys.exit(status) or sys.exit("message"), as a script
                code = exc.code
                if isinstance(code, str):
                    buffer.write(code + "\n")
                outcome["code"] = code if isinstance(code, int) else (0 if code is None else 1)
            except BaseException:  # the client's failure is its verdict's evidence
                buffer.write(traceback.format_exc())
                outcome["code"] = 1

        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            worker = threading.Thread(target=work, name=f"conformance {self.name}",
                                      daemon=True)
            worker.start()
            worker.join(timeout)
        return RunRecord(None, outcome.get("code"), buffer.getvalue(),
                         time.monotonic() - started)
