"""``pytest --fake-acme-report=DIR``: a page per test that used the fake (its conversation as a
sequence diagram, its transcript, its certificates) and an index, failing tests first; read
back from the files, and in headless Chromium.

Set ``FAKE_ACME_SCREENSHOT_DIR`` to keep the screenshots (docs/report.png is one).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from pytest_fakeacme.diagram import labels

pytest_plugins = ["pytester"]

_SUITE = '''
import pytest
from pytest_fakeacme import outcomes
from pytest_fakeacme.demo import MiniClient


def _order(fake_acme, name):
    client = MiniClient(fake_acme.directory_url, fake_acme.ca_bundle)
    client.register()
    answer = client.post(client.directory["newOrder"],
                         {"identifiers": [{"type": "dns", "value": name}]})
    order = answer.json()
    authz_url = order["authorizations"][0]
    challenge = client.post(authz_url, None).json()["challenges"][0]
    client.post(challenge["url"], {})
    client.post(authz_url, None)
    return client, answer.headers["Location"], order


@pytest.mark.fake_acme(va_default="valid", async_finalize=False)
def test_issues(fake_acme):
    client, url, order = _order(fake_acme, "issued.example")
    client.post(order["finalize"], {"csr": client.csr(["issued.example"])})
    client.post(client.post(url, None).json()["certificate"], None)


def test_gives_up(fake_acme):
    fake_acme.va.script("refused.example", outcomes.http_status(404))
    _order(fake_acme, "refused.example")
    assert False, "the client gave up"


def test_without_the_fake():
    pass
'''


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_suite=_SUITE)
    return pytester.runpytest_subprocess(*args)


def test_a_page_per_test_and_an_index_failing_first(pytester: pytest.Pytester) -> None:
    folder = pytester.path / "report"
    result = _run(pytester, f"--fake-acme-report={folder}", "-p", "xdist", "-n", "2")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([f"pytest-fakeacme report: {folder / 'index.html'}"])

    # A page for each test that used the fake (made by the xdist workers), none for the other.
    pages = sorted(p.name for p in folder.glob("*.html"))
    assert pages == ["index.html", "test_suite.py_test_gives_up.html",
                     "test_suite.py_test_issues.html"]

    index = (folder / "index.html").read_text()
    links = re.findall(r'<a href="(test_suite[^"]+)">', index)
    assert links == ["test_suite.py_test_gives_up.html", "test_suite.py_test_issues.html"]
    assert "2 tests used the fake, 1 failed" in index

    issued = (folder / "test_suite.py_test_issues.html").read_text()
    assert '<span class="outcome passed">passed</span>' in issued
    svg = issued[issued.index("<svg"):issued.index("</svg>") + len("</svg>")]
    notes = [text for kind, text in labels(svg) if kind == "note"]
    assert any(n.startswith("order ") and "→ valid [finalize answer]" in n for n in notes)
    assert "<td>issued.example</td>" in issued  # the certificate it was issued
    assert "-----BEGIN CERTIFICATE-----" in issued
    assert "POST newOrder -&gt; 201" in issued  # the transcript

    refused = (folder / "test_suite.py_test_gives_up.html").read_text()
    assert '<span class="outcome failed">failed</span>' in refused
    svg = refused[refused.index("<svg"):refused.index("</svg>") + len("</svg>")]
    refusals = [text for kind, text in labels(svg) if kind == "refusal"]
    assert refusals[0].startswith("unauthorized (403): 127.0.0.1: Invalid response from ")
    assert "No certificate was issued." in refused


def test_the_ini_key_and_no_report_without_it(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nfake_acme_report = from-ini\n")
    _run(pytester).assert_outcomes(passed=2, failed=1)
    assert (pytester.path / "from-ini" / "index.html").is_file()

    (pytester.path / "tox.ini").unlink()  # where makeini writes
    shutil.rmtree(pytester.path / "from-ini")
    result = _run(pytester)
    result.assert_outcomes(passed=2, failed=1)
    assert "pytest-fakeacme report" not in result.stdout.str()
    assert not list(pytester.path.rglob("index.html"))


@pytest.mark.interop
def test_the_report_in_a_browser(pytester: pytest.Pytester, browser: WebDriver,
                                 tmp_path: Path) -> None:
    folder = pytester.path / "report"
    _run(pytester, f"--fake-acme-report={folder}").assert_outcomes(passed=2, failed=1)
    driver = browser
    driver.set_window_size(1100, 1300)
    driver.get((folder / "index.html").as_uri())
    rows = driver.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert [r.get_attribute("data-outcome") for r in rows] == ["failed", "passed"]
    rows[0].find_element(By.TAG_NAME, "a").click()
    diagram = driver.find_element(By.CSS_SELECTOR, ".diagram svg")
    assert diagram.size["height"] > 200  # drawn, not an empty box
    assert "refused.example" in driver.find_element(By.TAG_NAME, "main").text
    shots = Path(os.environ.get("FAKE_ACME_SCREENSHOT_DIR", tmp_path))
    assert driver.save_screenshot(str(shots / "report.png"))
