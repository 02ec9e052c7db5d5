"""pytest glue: options, ini keys, the ``fake_acme`` marker and fixtures. Thin by design: every
fixture is a few lines over :class:`~pytest_fakeacme.FakeACME`.

- ``fake_acme``: a :class:`FakeACME` with fresh state for each test. The server starts once per
  session (per xdist worker) and is ``reset()`` between tests, so a test pays for a reset only.
- ``@pytest.mark.fake_acme(flavor=..., va_default=..., **settings)``: per-test configuration.
- ``--fake-acme``: one fake for the whole run, started before collection, its directory URL in
  the header and exported as ``FAKE_ACME_DIRECTORY_URL`` / ``FAKE_ACME_CA_BUNDLE`` for code that
  reads its ACME server from the environment or runs as a subprocess.
- ``acme_directory_url``: the fake's URL, or the real CA given with ``--acme-directory=URL``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from .errors import FakeACMEUsageError
from .outcomes import Outcome
from .server import FakeACME, default_outcome

ENV_DIRECTORY_URL = "FAKE_ACME_DIRECTORY_URL"
ENV_CA_BUNDLE = "FAKE_ACME_CA_BUNDLE"
ENV_ROOTS = "FAKE_ACME_ROOTS"

_SESSION_KEY = pytest.StashKey[FakeACME]()


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


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker; start the session fake for ``--fake-acme``."""
    config.addinivalue_line(
        "markers",
        "fake_acme(flavor=None, va_default=None, **settings): configure the fake_acme "
        "fixture for this test (flavor 'boulder' or 'rfc'; va_default an outcome or its name; "
        "any pytest_fakeacme.Settings field)",
    )
    if _wants_session_fake(config):
        existing = os.environ.get(ENV_DIRECTORY_URL)
        if existing and os.environ.get("PYTEST_XDIST_WORKER"):
            return  # the xdist controller runs the shared fake; workers reach it by URL
        fake = _new_fake(config).start()
        config.stash[_SESSION_KEY] = fake
        os.environ[ENV_DIRECTORY_URL] = fake.directory_url
        os.environ[ENV_CA_BUNDLE] = fake.ca_bundle
        os.environ[ENV_ROOTS] = fake.roots_path


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the ``--fake-acme`` server and withdraw its environment variables."""
    fake = config.stash.get(_SESSION_KEY, None)
    if fake is not None:
        del config.stash[_SESSION_KEY]
        fake.stop()
        for name in (ENV_DIRECTORY_URL, ENV_CA_BUNDLE, ENV_ROOTS):
            os.environ.pop(name, None)


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    """Name the session fake's directory URL in the header."""
    fake = config.stash.get(_SESSION_KEY, None)
    if fake is None:
        return None
    return [
        f"fake-acme: directory {fake.directory_url}",
        f"fake-acme: CA bundle {fake.ca_bundle} (exported as {ENV_CA_BUNDLE})",
    ]


def _wants_session_fake(config: pytest.Config) -> bool:
    option = config.getoption("fake_acme")
    if option is not None:
        return bool(option)
    return bool(config.getini("fake_acme"))


def _option(config: pytest.Config, name: str) -> str:
    # The command line wins over the ini file; both share the name (``--fake-acme-flavor`` is
    # ``fake_acme_flavor``).
    value = config.getoption(name)
    return str(value) if value is not None else str(config.getini(name))


def _new_fake(config: pytest.Config) -> FakeACME:
    flavor = _option(config, "fake_acme_flavor")
    try:
        va_default = default_outcome(_option(config, "fake_acme_va_default"))
        return FakeACME(flavor=flavor, va_default=va_default)  # type: ignore[arg-type]
    except FakeACMEUsageError as exc:
        raise pytest.UsageError(f"pytest-fakeacme: {exc}") from None


@pytest.fixture(scope="session")
def fake_acme_session(pytestconfig: pytest.Config) -> Iterator[FakeACME]:
    """The session's (or xdist worker's) running fake; ``fake_acme`` resets it per test."""
    shared = pytestconfig.stash.get(_SESSION_KEY, None)
    if shared is not None:
        yield shared
        return
    with _new_fake(pytestconfig) as fake:
        yield fake


def _apply_marker(fake: FakeACME, marker: pytest.Mark | None) -> None:
    if marker is None:
        return
    if marker.args:
        raise pytest.UsageError(
            "@pytest.mark.fake_acme takes keyword arguments only, e.g. "
            "@pytest.mark.fake_acme(flavor='rfc', va_default='valid')"
        )
    kwargs: dict[str, Any] = dict(marker.kwargs)
    default = kwargs.pop("va_default", None)
    try:
        if default is not None:
            fake.va.default = default if isinstance(default, Outcome) else default_outcome(default)
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
    _apply_marker(fake, request.node.get_closest_marker("fake_acme"))
    yield fake
    fake.check()


@pytest.fixture
def acme_directory_url(request: pytest.FixtureRequest) -> str:
    """The ACME directory a test's client should use: ``--acme-directory=URL`` when given (a
    real CA, Pebble), the session fake under ``--fake-acme``, else this test's ``fake_acme``."""
    explicit = request.config.getoption("acme_directory")
    if explicit:
        return str(explicit)
    fake: FakeACME = request.getfixturevalue("fake_acme")
    return fake.directory_url
