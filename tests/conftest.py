"""Fixtures shared by the test suite: a real http-01 responder, certbot's acme client and a
raw-JWS client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from client import AcmeTestClient
from jwsclient import RawClient
from pytest_fakeacme import FakeACME
from responder import Responder
from tools import require_binary

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture(autouse=True)
def _no_ca_bundle_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's verify=; tests
    # must trust exactly the fake's bundle, whatever the machine's environment says.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    """Headless Chromium (Debian's) driven by Selenium with Debian's chromedriver. In CI
    (``CI`` set) a missing browser fails the test; elsewhere it skips."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    require_binary(CHROMIUM)
    require_binary(CHROMEDRIVER)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--window-size=1280,1400",
                 f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="session")
def _session_responder(fake_acme_session: FakeACME) -> Iterator[Responder]:
    responder = Responder(fake_acme_session.http01_port)
    yield responder
    responder.close()


@pytest.fixture
def responder(_session_responder: Responder, fake_acme: FakeACME) -> Iterator[Responder]:
    """An http-01 responder on the fake's http01_port, emptied for each test."""
    _session_responder.clear()
    yield _session_responder
    _session_responder.clear()


@pytest.fixture
def acme_client(fake_acme: FakeACME) -> AcmeTestClient:
    """A registered account (ES256) on the fake, driven by certbot's acme library."""
    client = AcmeTestClient(fake_acme)
    client.register(email="tester@a.example")
    return client


@pytest.fixture
def raw(fake_acme: FakeACME) -> RawClient:
    """A registered ES256 account speaking raw JWS."""
    client = RawClient(fake_acme)
    client.register()
    return client


# The robustness tests' counts (corpus entries, fuzz examples) in the terminal summary, under
# pytest-xdist too: workers send theirs to the controller, which adds them up and prints them.

_ROBUSTNESS = "fakeacme-robustness-summary"


def pytest_sessionfinish(session: pytest.Session) -> None:
    summary = session.config.pluginmanager.get_plugin(_ROBUSTNESS)
    workeroutput = getattr(session.config, "workeroutput", None)
    if summary is not None and workeroutput is not None:
        workeroutput["fakeacme_robustness"] = {"counts": summary.counts, "lines": summary.lines}


def pytest_testnodedown(node: object, error: object) -> None:
    sent = getattr(node, "workeroutput", {}).get("fakeacme_robustness")
    if not sent:
        return
    config: pytest.Config = node.config  # type: ignore[attr-defined]
    empty: dict[str, dict[str, Any]] = {"counts": {}, "lines": {}}
    totals = config.stash.setdefault(_TOTALS_KEY, empty)
    for key, value in sent["counts"].items():
        if key.endswith("_total") or key.endswith("_bugs"):
            totals["counts"][key] = value  # the same on every worker
        else:
            totals["counts"][key] = totals["counts"].get(key, 0) + value
    totals["lines"].update(sent["lines"])


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    totals = config.stash.get(_TOTALS_KEY, None)
    if not totals or not totals["lines"]:
        return
    terminalreporter.write_sep("-", "pytest-fakeacme robustness (all workers)")
    for key in sorted(totals["lines"]):
        try:
            terminalreporter.write_line(totals["lines"][key].format(**totals["counts"]))
        except KeyError:  # a worker ran only part of a file
            continue


_TOTALS_KEY = pytest.StashKey[dict[str, dict[str, Any]]]()
