"""pytest glue: options, ini keys, the ``fake_acme`` marker and fixtures. Thin by design: every
fixture is a few lines over :class:`~pytest_fakeacme.FakeACME`.

- ``fake_acme``: a :class:`FakeACME` with fresh state for each test. The server starts once per
  session (per xdist worker) and is ``reset()`` between tests, so a test pays for a reset only.
- ``@pytest.mark.fake_acme(flavor=..., va_default=..., **settings)``: per-test configuration.
- ``--fake-acme``: one fake for the whole run, started before collection, its directory URL in
  the header and exported as ``FAKE_ACME_DIRECTORY_URL`` / ``FAKE_ACME_CA_BUNDLE`` (also
  ``FAKE_ACME_ROOTS``, ``FAKE_ACME_MANAGEMENT_URL``, ``FAKE_ACME_DNS``, and the VA's ports
  ``FAKE_ACME_HTTP01_PORT``, ``FAKE_ACME_TLS_ALPN01_PORT``) for code that reads its ACME server
  from the environment or runs as a subprocess. It is also the ``fake_acme`` fixture's server,
  so a test scripts the very fake its subprocesses talk to. Under pytest-xdist each worker runs (and
  exports, in its own process) its own.
  Under ``--fake-acme`` every test starts with a fresh fake, whether it uses the fixture or
  only the environment.
- ``acme_directory_url``: the fake's URL, or the real CA given with ``--acme-directory=URL``.
- A failing test that used ``fake_acme`` gets a "fake-acme transcript" section in its report.
- Outcomes scripted and never used are a warning when the test ends (``unused_scripts``).
"""

from __future__ import annotations

import contextlib
import os
import re
import warnings
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pluggy
import pytest

from . import report as html_report
from . import reporting
from .config import Settings, parse_setting
from .errors import (
    FakeACMEError,
    FakeACMEUsageError,
    ServerThreadError,
    UnusedScriptError,
    UnusedScriptWarning,
)
from .fake import FakeACME
from .faults import Faults
from .outcomes import Outcome, by_name
from .va.scripts import unused_message
from .views import CertificateView

ENV_DIRECTORY_URL = "FAKE_ACME_DIRECTORY_URL"
ENV_CA_BUNDLE = "FAKE_ACME_CA_BUNDLE"
ENV_ROOTS = "FAKE_ACME_ROOTS"
ENV_MANAGEMENT_URL = "FAKE_ACME_MANAGEMENT_URL"
ENV_DNS = "FAKE_ACME_DNS"
ENV_HTTP01_PORT = "FAKE_ACME_HTTP01_PORT"
ENV_TLS_ALPN01_PORT = "FAKE_ACME_TLS_ALPN01_PORT"
#: At most this many transcript lines (the latest) in a failing test's report.
TRANSCRIPT_LINES = reporting.TRANSCRIPT_LINES

_SESSION_KEY = pytest.StashKey[FakeACME]()
#: The environment as it was before ``--fake-acme`` exported the fake (None: unset), restored at
#: the end: an in-process run (pytester) must not withdraw an outer run's variables.
_SAVED_ENV_KEY = pytest.StashKey[dict[str, str | None]]()
_REPORTED_KEY = pytest.StashKey[bool]()
_ENTRIES_KEY = pytest.StashKey[list[Any]]()
#: What a test scripted and no validation used, kept at teardown for its report.
_UNUSED_KEY = pytest.StashKey[dict[str, list[Outcome]]]()
#: The fake a test used (set when its fake is reset for it), for its failure report.
_USED_KEY = pytest.StashKey[FakeACME]()
#: Set once the test's fake is prepared (reset, configured), by the ``fake_acme`` fixture or
#: for a test that uses only the environment: one preparation and one teardown per test.
_PREPARED_KEY = pytest.StashKey[bool]()
#: The certificates a test was issued, kept at teardown for its report page.
_CERTIFICATES_KEY = pytest.StashKey[list[CertificateView]]()
#: The test's outcome so far, for its report page: "failed" once any phase failed.
_OUTCOME_KEY = pytest.StashKey[str]()

#: Where pytest's and pluggy's code lives: with the package's own, the frames that are not the
#: user's when a usage error is shown.
_RUNNER_DIRS = tuple(
    str(Path(module.__file__).resolve().parent.parent / name) + os.sep
    for module, name in ((pytest, "_pytest"), (pytest, "pytest"), (pluggy, "pluggy"))
    if module.__file__
)


def _usage_error(excinfo: pytest.ExceptionInfo[BaseException]) -> bool:
    """Whether a failure is the user's misuse (a plugin or library usage error, a refused
    script), whose message says all: the frames of the plugin and the library then stay out of
    the report (``__tracebackhide__``). A bug inside the fake keeps every frame."""
    return excinfo.errisinstance(
        (FakeACMEError, pytest.UsageError, UnusedScriptWarning)
    ) and not excinfo.errisinstance(ServerThreadError)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Command-line options and ini keys (each option has an ini key of the same name)."""
    group = parser.getgroup("fake_acme", "fake ACME certificate authority (pytest-fakeacme)")
    group.addoption(
        "--fake-acme",
        action="store_true",
        default=None,
        help="Start one fake ACME CA before collection and export its URL to the environment",
    )
    group.addoption(
        "--acme-directory",
        metavar="URL",
        default=None,
        help="Run acme_directory_url tests against this ACME directory instead of the fake",
    )
    group.addoption(
        "--fake-acme-flavor",
        choices=("boulder", "rfc"),
        default=None,
        help="State machine of the fake: boulder (Let's Encrypt, default) or rfc",
    )
    group.addoption(
        "--fake-acme-va-default",
        metavar="OUTCOME",
        default=None,
        help="What validations find when nothing is scripted: real (default), valid, ...",
    )
    parser.addini("fake_acme", "Start the session fake before collection (like --fake-acme)",
                  type="bool", default=False)
    parser.addini("fake_acme_flavor", "Default flavor of the fake: boulder or rfc",
                  default="boulder")
    parser.addini("fake_acme_va_default", "Default VA outcome: real, valid, ...", default="real")
    group.addoption(
        "--fake-acme-strict-identifiers",
        action="store_true",
        default=None,
        help="Apply Let's Encrypt's whole identifier policy (public suffixes, IANA address "
        "blocks): no a.example, no loopback addresses",
    )
    parser.addini("fake_acme_strict_identifiers", "Default of the strict_identifiers setting "
                  "(like --fake-acme-strict-identifiers)", type="bool", default=False)
    group.addoption(
        "--fake-acme-fault",
        metavar="FAULT",
        action="append",
        default=None,
        help='A fault every test starts with, e.g. "nonce_reject_rate 0.1 seed=7" (repeatable)',
    )
    parser.addini("fake_acme_faults", "Faults every test starts with, one spec per line",
                  type="linelist", default=[])
    group.addoption(
        "--fake-acme-transcript",
        choices=("off", "short", "verbose"),
        default=None,
        help="The transcript section of failing tests: short (default), verbose (URLs and "
        "payloads) or off",
    )
    parser.addini("fake_acme_transcript", "Transcript section of failing tests: short, "
                  "verbose or off", default="short")
    group.addoption(
        "--fake-acme-transcript-dir",
        metavar="DIR",
        default=None,
        help="Write the transcript of every test that used fake_acme to DIR/<test id>.txt",
    )
    group.addoption(
        "--fake-acme-report",
        metavar="DIR",
        default=None,
        help="Write an HTML page for every test that used the fake (its conversation as a "
        "sequence diagram, its transcript, its certificates) and DIR/index.html, failing "
        "tests first",
    )
    parser.addini("fake_acme_report", "Directory of the HTML report (like --fake-acme-report)",
                  default="")
    parser.addini("fake_acme_unused_scripts", "Outcomes scripted and never used when a test "
                  "ends: warn (default), error or ignore", default="warn")
    parser.addini("fake_acme_settings", "Settings every test starts with, one NAME=VALUE per "
                  "line as serve --set takes them (rate_limits=true, policy_date=2028-02-16)",
                  type="linelist", default=[])


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker, check the options, start the session fake for ``--fake-acme``."""
    config.addinivalue_line(
        "markers",
        "fake_acme(flavor=None, va_default=None, **settings): configure the fake_acme "
        "fixture for this test (flavor 'boulder' or 'rfc'; va_default an outcome or its name; "
        "any pytest_fakeacme.Settings field)",
    )
    # A wrong flavor, VA default or setting is a usage error now, not an error in every test
    # later.
    _defaults(config)
    _fault_specs(config)
    if _option(config, "fake_acme_transcript") not in ("off", "short", "verbose"):
        raise pytest.UsageError(
            "pytest-fakeacme: fake_acme_transcript must be off, short or verbose, not "
            f"{_option(config, 'fake_acme_transcript')!r}"
        )
    if not _wants_session_fake(config) or _is_xdist_controller(config):
        # An xdist controller runs no tests: each worker starts and exports its own fake.
        return
    fake = _new_fake(config).start()
    config.stash[_SESSION_KEY] = fake
    config.pluginmanager.register(_EveryTest(fake), "fake_acme_every_test")
    exported = {
        ENV_DIRECTORY_URL: fake.directory_url,
        ENV_CA_BUNDLE: fake.ca_bundle,
        ENV_ROOTS: fake.roots_path,
        ENV_MANAGEMENT_URL: fake.management_url,
        ENV_HTTP01_PORT: str(fake.http01_port),
        ENV_TLS_ALPN01_PORT: str(fake.tls_alpn01_port),
    }
    if fake.dns.address is not None:
        exported[ENV_DNS] = f"{fake.dns.address[0]}:{fake.dns.address[1]}"
    config.stash[_SAVED_ENV_KEY] = {name: os.environ.get(name) for name in exported}
    os.environ.update(exported)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the ``--fake-acme`` server and withdraw its environment variables."""
    fake = config.stash.get(_SESSION_KEY, None)
    if fake is None:
        return
    del config.stash[_SESSION_KEY]
    config.pluginmanager.unregister(name="fake_acme_every_test")
    try:
        fake.stop()
    finally:
        for name, value in config.stash.get(_SAVED_ENV_KEY, {}).items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    """Name the session fake's directory URL in the header."""
    fake = config.stash.get(_SESSION_KEY, None)
    if fake is None:
        if _wants_session_fake(config) and _is_xdist_controller(config):
            return [
                f"fake-acme: one fake CA per xdist worker, exported as {ENV_DIRECTORY_URL}, "
                f"{ENV_CA_BUNDLE}, {ENV_HTTP01_PORT} (and the other FAKE_ACME_* variables) "
                "in each worker"
            ]
        return None
    return [
        f"fake-acme: directory {fake.directory_url} (exported as {ENV_DIRECTORY_URL})",
        f"fake-acme: CA bundle {fake.ca_bundle} (exported as {ENV_CA_BUNDLE})",
        f"fake-acme: management API {fake.management_url} (exported as {ENV_MANAGEMENT_URL})",
        f"fake-acme: the VA connects to http-01 port {fake.http01_port} and tls-alpn-01 port "
        f"{fake.tls_alpn01_port} (exported as {ENV_HTTP01_PORT}, {ENV_TLS_ALPN01_PORT})",
    ]


def _wants_session_fake(config: pytest.Config) -> bool:
    option = config.getoption("fake_acme")
    if option is not None:
        return bool(option)
    return bool(config.getini("fake_acme"))


def _is_xdist_controller(config: pytest.Config) -> bool:
    # The same test as xdist's own ``_is_distribution_mode``; workers carry ``workerinput``.
    # Under --collect-only xdist distributes nothing, and the controller collects itself.
    return (
        not hasattr(config, "workerinput")
        and config.getoption("dist", "no") != "no"
        and bool(config.getoption("tx", None))
        and not config.getoption("collectonly", False)
    )


def _option(config: pytest.Config, name: str) -> str:
    # The command line wins over the ini file; both share the name (``--fake-acme-flavor`` is
    # ``fake_acme_flavor``).
    value = config.getoption(name)
    return str(value) if value is not None else str(config.getini(name))


def _defaults(config: pytest.Config) -> tuple[Settings, Outcome]:
    """The configured settings (flavor, unused scripts, strict identifiers) and VA default,
    checked (a fresh outcome on each call)."""
    strict = config.getoption("fake_acme_strict_identifiers")
    if strict is None:
        strict = bool(config.getini("fake_acme_strict_identifiers"))
    try:
        settings = Settings().copy(**_ini_settings(config)).copy(
            flavor=_option(config, "fake_acme_flavor"),
            unused_scripts=config.getini("fake_acme_unused_scripts"),
            strict_identifiers=strict)
        return settings, by_name(_option(config, "fake_acme_va_default"))
    except FakeACMEUsageError as exc:
        raise pytest.UsageError(f"pytest-fakeacme: {exc}") from None


#: Settings with ini keys (and options) of their own, which ``fake_acme_settings`` leaves to them.
_OWN_KEYS = {"flavor": "fake_acme_flavor", "unused_scripts": "fake_acme_unused_scripts",
             "strict_identifiers": "fake_acme_strict_identifiers"}


def _ini_settings(config: pytest.Config) -> dict[str, Any]:
    """The ``fake_acme_settings`` lines, ``NAME=VALUE`` each, in their Python values."""
    found: dict[str, Any] = {}
    for line in config.getini("fake_acme_settings"):
        name, sep, text = str(line).partition("=")
        name = name.strip()
        if not sep or not name:
            raise FakeACMEUsageError(
                f"fake_acme_settings takes NAME=VALUE lines such as rate_limits=true, not "
                f"{line!r}")
        if name in _OWN_KEYS:
            raise FakeACMEUsageError(f"{name} has an ini key of its own: {_OWN_KEYS[name]}")
        found[name] = parse_setting(name, text.strip())
    return found


def _fault_specs(config: pytest.Config) -> list[str]:
    """Faults every test starts with: ``--fake-acme-fault`` (all of them), else the ini's."""
    given = config.getoption("fake_acme_fault")
    specs = list(given) if given else [str(s) for s in config.getini("fake_acme_faults")]
    probe = Faults()
    for spec in specs:
        try:
            probe.add_spec(spec)
        except FakeACMEUsageError as exc:
            raise pytest.UsageError(f"pytest-fakeacme: {exc}") from None
    return specs


def _new_fake(config: pytest.Config) -> FakeACME:
    settings, va_default = _defaults(config)
    return FakeACME(va_default=va_default, **vars(settings))


@pytest.fixture(scope="session")
def fake_acme_session(pytestconfig: pytest.Config) -> Iterator[FakeACME]:
    """The session's (or xdist worker's) running fake; ``fake_acme`` resets it per test."""
    shared = pytestconfig.stash.get(_SESSION_KEY, None)
    if shared is not None:
        yield shared
        return
    with _new_fake(pytestconfig) as fake:
        yield fake


def _apply_markers(fake: FakeACME, node: pytest.Item) -> bool:
    """Apply every ``fake_acme`` marker on the test, its class and module; the closest wins.
    Returns whether the test asks for its process's time to follow the fake's clock
    (``couple_clock=True``), which the fixture holds for the test's length."""
    __tracebackhide__ = True
    kwargs: dict[str, Any] = {}
    for marker in reversed(list(node.iter_markers("fake_acme"))):
        if marker.args:
            raise pytest.UsageError(
                f"@pytest.mark.fake_acme takes keyword arguments only, not {marker.args!r}; "
                "e.g. @pytest.mark.fake_acme(flavor='rfc', va_default='valid')"
            )
        kwargs.update(marker.kwargs)
    default = kwargs.pop("va_default", None)
    specs = kwargs.pop("faults", ())
    couple = kwargs.pop("couple_clock", False)
    try:
        if not isinstance(couple, bool):
            raise FakeACMEUsageError(f"couple_clock must be True or False, not {couple!r}")
        if isinstance(specs, str) or not all(isinstance(s, str) for s in specs):
            raise FakeACMEUsageError(
                f"faults takes a list of fault specs such as ['bad_nonce endpoint=newOrder'], "
                f"not {specs!r}"
            )
        for spec in specs:
            fake.faults.add_spec(spec)
        if default is not None:
            if isinstance(default, str):
                default = by_name(default)
            elif not isinstance(default, Outcome):
                raise FakeACMEUsageError(
                    f"va_default takes an outcome or its name (outcomes.valid() or 'valid'), "
                    f"not {default!r}"
                )
            fake.va.default = default
        if kwargs:
            fake.configure(**kwargs)
    except FakeACMEUsageError as exc:
        raise pytest.UsageError(f"@pytest.mark.fake_acme: {exc}") from None
    return couple


@pytest.fixture
def fake_acme(fake_acme_session: FakeACME, request: pytest.FixtureRequest) -> Iterator[FakeACME]:
    """A running :class:`~pytest_fakeacme.FakeACME` with fresh state for this test.

    An exception raised inside the fake during the test (a bug, or a scripted outcome that
    could not apply) fails the test at teardown, with its traceback; outcomes scripted and
    never used are a warning (``unused_scripts``).
    """
    __tracebackhide__ = _usage_error
    yield from _fresh(fake_acme_session, request)


class _EveryTest:
    """Registered under ``--fake-acme`` only: its autouse fixture gives a fresh fake to every
    test, also one that reaches the fake only through the environment (a subprocess,
    ``RemoteFake.from_env()``), with markers, transcript and the unused-scripts check, as
    ``fake_acme`` does."""

    def __init__(self, fake: FakeACME) -> None:
        self.fake = fake

    @pytest.fixture(autouse=True)
    def fake_acme_environment(self, request: pytest.FixtureRequest) -> Iterator[None]:
        """The session's fake, fresh for this test (``--fake-acme``)."""
        __tracebackhide__ = _usage_error
        if "fake_acme" in request.fixturenames:
            yield  # the fixture does it
            return
        for _ in _fresh(self.fake, request):
            yield


def _fresh(fake: FakeACME, request: pytest.FixtureRequest) -> Iterator[FakeACME]:
    """Reset ``fake`` for the test, configure it, hand it over; at the end, report what went
    wrong inside it, keep its journal for the report and reset it again."""
    __tracebackhide__ = _usage_error
    item = request.node
    if item.stash.get(_PREPARED_KEY, False):
        # Prepared for the environment already, and fake_acme came later (acme_directory_url
        # asks for it): the first preparation's teardown does the rest.
        yield fake
        return
    item.stash[_PREPARED_KEY] = True
    fake.reset()
    item.stash[_USED_KEY] = fake
    for spec in _fault_specs(request.config):
        fake.faults.add_spec(spec)
    with contextlib.ExitStack() as coupling:
        if _apply_markers(fake, item):
            coupling.enter_context(fake.clock.couple())
        yield fake
    # Wait for answers, handshakes and validations still in progress, so that what they record
    # or raise is this test's, rather than something the next test's reset() drops or gets.
    fake.journal.wait_until_quiet()
    fake.va.drain()
    try:
        fake.check()
        unused = unused_message(fake.va.scripted(),
                                (e.identifier for e in fake.journal.validations()))
        if unused is not None and fake.settings.unused_scripts == "error":
            raise UnusedScriptError(unused)
        if unused is not None and fake.settings.unused_scripts == "warn":
            _warn_at(item, unused)
    finally:
        # Keep the conversation for this test's report, then put everything back (ports
        # included: session fixtures of the suite, like a responder, must find the fake as it
        # started, not as the last test left it).
        item.stash[_ENTRIES_KEY] = list(fake.journal)
        item.stash[_UNUSED_KEY] = fake.va.scripted()
        if _report_dir(item.config) is not None and fake.running:
            item.stash[_CERTIFICATES_KEY] = fake.certificates
        fake.reset()


def _warn_at(item: pytest.Item, message: str) -> None:
    """An :class:`UnusedScriptWarning` shown at the test's own line."""
    __tracebackhide__ = True  # under -W error the warning is raised, from here
    path, line, _ = item.reportinfo()
    warnings.warn_explicit(UnusedScriptWarning(message), UnusedScriptWarning,
                           filename=str(path), lineno=(line or 0) + 1)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A ``fake_acme`` marker on a test that uses no fake would configure nothing: say so
    before the test runs rather than let it pass unconfigured."""
    if not any(m.name == "fake_acme" for m in getattr(item, "own_markers", ())):
        return
    used = getattr(item, "fixturenames", ())
    if "fake_acme" in used or "acme_directory_url" in used or _SESSION_KEY in item.config.stash:
        return
    pytest.fail(
        f"@pytest.mark.fake_acme configures the fake_acme fixture, which {item.name} does not "
        "use: add fake_acme (or acme_directory_url) to its arguments",
        pytrace=False,
    )


@pytest.fixture
def acme_directory_url(request: pytest.FixtureRequest) -> str:
    """The ACME directory a test's client should use: ``--acme-directory=URL`` when given (a
    real CA, Pebble), the session fake under ``--fake-acme``, else this test's ``fake_acme``."""
    __tracebackhide__ = _usage_error
    explicit = request.config.getoption("acme_directory")
    if explicit:
        return str(explicit)
    fake: FakeACME = request.getfixturevalue("fake_acme")
    return fake.directory_url


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    """Show a usage error from the user's call, and add the ACME transcript to the first
    failing report of a test that used ``fake_acme``."""
    if call.excinfo is not None and _usage_error(call.excinfo) and not (
        item.config.getoption("fulltrace", False)
    ):
        reporting.from_the_callers_frame(call.excinfo.value, _RUNNER_DIRS)
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    fake = item.stash.get(_USED_KEY, None)
    if fake is None:
        return
    _report_page(item, fake, report)
    folder = item.config.getoption("fake_acme_transcript_dir")
    if folder and report.when == "teardown":
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid).strip("_") + ".txt"
        path = os.path.join(str(folder), name)
        os.makedirs(str(folder), exist_ok=True)
        with open(path, "w", encoding="utf-8") as file:
            file.write(fake.journal.transcript(verbose=True, entries=_entries(item, fake)) + "\n")
    mode = _option(item.config, "fake_acme_transcript")
    if not report.failed or mode == "off" or item.stash.get(_REPORTED_KEY, False):
        return
    item.stash[_REPORTED_KEY] = True  # once per test: a failed call and teardown share it
    unused = item.stash.get(_UNUSED_KEY, None)
    # A fake a test stopped itself has no CA bundle left to advise about.
    ca_bundle = fake.ca_bundle if fake.running else ""
    text = reporting.transcript_section(
        fake.journal, _entries(item, fake), mode == "verbose",
        fake.va.scripted() if unused is None else unused, ca_bundle)
    if text:
        report.sections.append(("fake-acme transcript", text))


def _report_dir(config: pytest.Config) -> Path | None:
    """Where ``--fake-acme-report`` (or the ini key) puts the HTML report, if anywhere."""
    folder = _option(config, "fake_acme_report")
    return Path(folder) if folder else None


def _report_page(item: pytest.Item, fake: FakeACME, report: pytest.TestReport) -> None:
    """Follow the test's outcome through its phases; write its page after its teardown."""
    folder = _report_dir(item.config)
    if folder is None:
        return
    so_far = item.stash.get(_OUTCOME_KEY, "")
    if report.failed:
        item.stash[_OUTCOME_KEY] = "failed"
    elif report.skipped and so_far != "failed":
        item.stash[_OUTCOME_KEY] = "skipped"
    elif report.when == "call" and not so_far:
        item.stash[_OUTCOME_KEY] = "passed"
    if report.when != "teardown":
        return
    entries = _entries(item, fake)
    certificates: list[CertificateView] = item.stash.get(_CERTIFICATES_KEY, [])
    html_report.write_test(
        folder, item.nodeid, item.stash.get(_OUTCOME_KEY, "passed"), entries,
        fake.journal.transcript(verbose=True, entries=entries), certificates,
    )


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write the report's index once every test's page is written: by the process that saw
    every test (the xdist controller, or the only process)."""
    folder = _report_dir(session.config)
    if folder is not None and not hasattr(session.config, "workerinput"):
        folder.mkdir(parents=True, exist_ok=True)
        html_report.write_index(folder)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Say where the report is."""
    folder = _report_dir(config)
    if folder is not None and not hasattr(config, "workerinput"):
        index = folder / html_report.INDEX
        terminalreporter.write_line(f"pytest-fakeacme report: {index.resolve()}")


def _entries(item: pytest.Item, fake: FakeACME) -> list[Any]:
    """The test's journal: kept at teardown (the fake is reset then), else the live one, once
    settled."""
    kept = item.stash.get(_ENTRIES_KEY, None)
    if kept is not None:
        return kept
    fake.journal.wait_until_quiet()
    return list(fake.journal)

