"""pytest glue: options, ini keys, the ``fake_acme`` marker and fixtures. Thin by design: every
fixture is a few lines over :class:`~pytest_fakeacme.FakeACME`.

- ``fake_acme``: a :class:`FakeACME` with fresh state for each test. The server starts once per
  session (per xdist worker) and is ``reset()`` between tests, so a test pays for a reset only.
- ``@pytest.mark.fake_acme(flavor=..., va_default=..., **settings)``: per-test configuration.
- ``--fake-acme``: one fake for the whole run, started before collection, its directory URL in
  the header and exported as ``FAKE_ACME_DIRECTORY_URL`` / ``FAKE_ACME_CA_BUNDLE`` (also
  ``FAKE_ACME_ROOTS``, ``FAKE_ACME_MANAGEMENT_URL``) for code that reads its ACME server from the
  environment or runs as a subprocess. It is also the ``fake_acme`` fixture's server, so a test
  scripts the very fake its subprocesses talk to. Under pytest-xdist each worker runs (and
  exports, in its own process) its own.
- ``acme_directory_url``: the fake's URL, or the real CA given with ``--acme-directory=URL``.
- A failing test that used ``fake_acme`` gets a "fake-acme transcript" section in its report.
"""

from __future__ import annotations

import os
import re
from collections.abc import Generator, Iterator
from typing import Any

import pytest

from .config import Flavor, Settings
from .errors import FakeACMEUsageError
from .fake import FakeACME
from .faults import Faults
from .outcomes import Outcome, by_name

ENV_DIRECTORY_URL = "FAKE_ACME_DIRECTORY_URL"
ENV_CA_BUNDLE = "FAKE_ACME_CA_BUNDLE"
ENV_ROOTS = "FAKE_ACME_ROOTS"
ENV_MANAGEMENT_URL = "FAKE_ACME_MANAGEMENT_URL"
ENV_DNS = "FAKE_ACME_DNS"
#: At most this many transcript lines (the latest) in a failing test's report.
TRANSCRIPT_LINES = 200

_SESSION_KEY = pytest.StashKey[FakeACME]()
#: The environment as it was before ``--fake-acme`` exported the fake (None: unset), restored at
#: the end: an in-process run (pytester) must not withdraw an outer run's variables.
_SAVED_ENV_KEY = pytest.StashKey[dict[str, str | None]]()
_REPORTED_KEY = pytest.StashKey[bool]()
_ENTRIES_KEY = pytest.StashKey[list[Any]]()
#: The fake a test used (set by the ``fake_acme`` fixture), for its failure report.
_USED_KEY = pytest.StashKey[FakeACME]()


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


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker, check the options, start the session fake for ``--fake-acme``."""
    config.addinivalue_line(
        "markers",
        "fake_acme(flavor=None, va_default=None, **settings): configure the fake_acme "
        "fixture for this test (flavor 'boulder' or 'rfc'; va_default an outcome or its name; "
        "any pytest_fakeacme.Settings field)",
    )
    # A wrong flavor or VA default is a usage error now, not an error in every test later.
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
    exported = {
        ENV_DIRECTORY_URL: fake.directory_url,
        ENV_CA_BUNDLE: fake.ca_bundle,
        ENV_ROOTS: fake.roots_path,
        ENV_MANAGEMENT_URL: fake.management_url,
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
                f"fake-acme: one fake CA per xdist worker, exported as {ENV_DIRECTORY_URL} "
                f"and {ENV_CA_BUNDLE} in each worker"
            ]
        return None
    return [
        f"fake-acme: directory {fake.directory_url}",
        f"fake-acme: CA bundle {fake.ca_bundle} (exported as {ENV_CA_BUNDLE})",
        f"fake-acme: management API {fake.management_url} (exported as {ENV_MANAGEMENT_URL})",
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


def _defaults(config: pytest.Config) -> tuple[Flavor, Outcome]:
    """The configured flavor and VA default, checked (a fresh outcome on each call)."""
    try:
        flavor = Settings().copy(flavor=_option(config, "fake_acme_flavor")).flavor
        return flavor, by_name(_option(config, "fake_acme_va_default"))
    except FakeACMEUsageError as exc:
        raise pytest.UsageError(f"pytest-fakeacme: {exc}") from None


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
    flavor, va_default = _defaults(config)
    strict = config.getoption("fake_acme_strict_identifiers")
    if strict is None:
        strict = bool(config.getini("fake_acme_strict_identifiers"))
    return FakeACME(flavor=flavor, va_default=va_default, strict_identifiers=strict)


@pytest.fixture(scope="session")
def fake_acme_session(pytestconfig: pytest.Config) -> Iterator[FakeACME]:
    """The session's (or xdist worker's) running fake; ``fake_acme`` resets it per test."""
    shared = pytestconfig.stash.get(_SESSION_KEY, None)
    if shared is not None:
        yield shared
        return
    with _new_fake(pytestconfig) as fake:
        yield fake


def _apply_markers(fake: FakeACME, node: pytest.Item) -> None:
    """Apply every ``fake_acme`` marker on the test, its class and module; the closest wins."""
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
    try:
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


@pytest.fixture
def fake_acme(fake_acme_session: FakeACME, request: pytest.FixtureRequest) -> Iterator[FakeACME]:
    """A running :class:`~pytest_fakeacme.FakeACME` with fresh state for this test.

    An exception raised inside the fake during the test (a bug, or a scripted outcome that
    could not apply) fails the test at teardown, with its traceback.
    """
    fake = fake_acme_session
    fake.reset()
    request.node.stash[_USED_KEY] = fake
    for spec in _fault_specs(request.config):
        fake.faults.add_spec(spec)
    _apply_markers(fake, request.node)
    yield fake
    # Wait for validations still in flight, so that what they raise is this test's failure
    # rather than something the next test's reset() silently drops.
    fake.va.drain()
    try:
        fake.check()
    finally:
        # Keep the conversation for this test's report, then put everything back (ports
        # included: session fixtures of the suite, like a responder, must find the fake as
        # it started, not as the last test left it).
        request.node.stash[_ENTRIES_KEY] = list(fake.journal)
        fake.reset()


@pytest.fixture
def acme_directory_url(request: pytest.FixtureRequest) -> str:
    """The ACME directory a test's client should use: ``--acme-directory=URL`` when given (a
    real CA, Pebble), the session fake under ``--fake-acme``, else this test's ``fake_acme``."""
    explicit = request.config.getoption("acme_directory")
    if explicit:
        return str(explicit)
    fake: FakeACME = request.getfixturevalue("fake_acme")
    return fake.directory_url


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    """Add the ACME transcript to the first failing report of a test that used ``fake_acme``."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    fake = item.stash.get(_USED_KEY, None)
    if fake is None:
        return
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
    text = _transcript(fake, _entries(item, fake), verbose=mode == "verbose")
    if text:
        report.sections.append(("fake-acme transcript", text))


def _entries(item: pytest.Item, fake: FakeACME) -> list[Any]:
    """The test's journal: kept at teardown (the fake is reset then), else the live one."""
    kept = item.stash.get(_ENTRIES_KEY, None)
    return kept if kept is not None else list(fake.journal)


def _transcript(fake: FakeACME, entries: list[Any], verbose: bool = False) -> str:
    shown = entries[-TRANSCRIPT_LINES:]
    text = fake.journal.transcript(verbose=verbose, entries=shown)
    if len(shown) < len(entries):
        text = (
            f"... {len(entries) - len(shown)} earlier entries left out "
            "(fake_acme.journal.transcript() has them all)\n" + text
        )
    return text
