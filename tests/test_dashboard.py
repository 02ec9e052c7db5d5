"""The dashboard in a real browser: headless Chromium (Debian's) driven by Selenium with
Debian's chromedriver. In CI (``CI`` set) a missing browser fails the test; elsewhere it skips.

Set ``FAKE_ACME_SCREENSHOT_DIR`` to keep the screenshot the test takes (docs/dashboard.png is
one).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from acme import errors
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from client import AcmeTestClient
from jwsclient import RawClient, challenge_of
from pytest_fakeacme import FakeACME, outcomes
from pytest_fakeacme.management import PlainServer
from responder import Responder

pytestmark = pytest.mark.interop

@pytest.fixture
def page_url(fake_acme: FakeACME) -> Iterator[str]:
    # The management API over plain HTTP on loopback (the standalone server's form), so the
    # browser needs no trust store.
    server = PlainServer(fake_acme.management_app)
    yield server.url + "/ui"
    server.stop()


@pytest.mark.fake_acme(unused_scripts="ignore")  # later.example shows a held-back script
def test_the_page_follows_orders_live_and_steers_the_fake(
    fake_acme: FakeACME,
    acme_client: AcmeTestClient,
    responder: Responder,
    browser: WebDriver,
    page_url: str,
    tmp_path: Path,
) -> None:
    driver = browser
    driver.get(page_url)
    # The page re-renders as it polls: an element found a moment ago may be gone by the time
    # it is read (StaleElementReferenceException), so every read happens inside wait.until.
    wait = WebDriverWait(driver, 20, ignored_exceptions=(StaleElementReferenceException,))
    wait.until(lambda d: "directory" in d.find_element(By.ID, "where").text)

    # A real issuance and a scripted 404, while the page is open (it is never reloaded).
    acme_client.issue("good.example", responder=responder)
    fake_acme.va.script("bad.example", outcomes.http_status(404))
    order = acme_client.new_order("bad.example")
    acme_client.answer_http01(order, responder)
    with pytest.raises(errors.ValidationError):
        acme_client.poll_authorizations(order)
    error = fake_acme.challenges[-1].error
    assert error is not None
    detail = error.detail

    def order_item(name: str, status: str) -> bool:
        items = driver.find_elements(By.CSS_SELECTOR, "#orders > li")
        return any(name in i.text and i.get_attribute("data-status") == status for i in items)

    wait.until(lambda d: order_item("good.example", "valid") and order_item("bad.example",
                                                                             "invalid"))
    wait.until(lambda d: any(
        detail in p.text for p in d.find_elements(By.CSS_SELECTOR, ".problem")))

    # Script a wrong body from the page; the next validation fails with it.
    driver.find_element(By.ID, "script-name").send_keys("page.example")
    Select(driver.find_element(By.ID, "script-kind")).select_by_value(
        "wrong_body")
    driver.find_element(By.ID, "script-params").send_keys('{"body": "from the page"}')
    driver.find_element(By.CSS_SELECTOR, "#script-form button").click()
    wait.until(lambda d: "page.example" in d.find_element(By.ID, "scripts").text)
    assert fake_acme.va.scripted() == {"page.example": [outcomes.wrong_body("from the page")]}
    order = acme_client.new_order("page.example")
    acme_client.answer_http01(order, responder)
    with pytest.raises(errors.ValidationError):
        acme_client.poll_authorizations(order)
    wait.until(lambda d: order_item("page.example", "invalid"))
    wait.until(lambda d: any(
        '(got "from the page")' in p.text for p in d.find_elements(By.CSS_SELECTOR, ".problem")))

    # An outcome held back for polls shows with its delay.
    name = driver.find_element(By.ID, "script-name")
    name.clear()
    name.send_keys("later.example")
    Select(driver.find_element(By.ID, "script-kind")).select_by_value("valid")
    driver.find_element(By.ID, "script-params").clear()
    polls = driver.find_element(By.ID, "script-polls")
    polls.clear()
    polls.send_keys("2")
    driver.find_element(By.CSS_SELECTOR, "#script-form button").click()
    wait.until(lambda d: "later.example: valid().after(polls=2)" in d.find_element(
        By.ID, "scripts").text)
    assert fake_acme.va.scripted() == {"later.example": [outcomes.valid().after(polls=2)]}

    # Times for people: whole seconds and a zone, no microseconds.
    wait.until(lambda d: re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC",
                                      d.find_element(By.ID, "clock").text))

    # The transcript opens at its end.
    wait.until(lambda d: d.execute_script(
        "const p = document.getElementById('transcript');"
        "return p.scrollHeight > p.clientHeight && "
        "p.scrollTop + p.clientHeight >= p.scrollHeight - 2;"))

    # An order unfolds to its conversation, drawn as a sequence diagram.
    bad = next(i for i in driver.find_elements(By.CSS_SELECTOR, "#orders > li")
               if "bad.example" in i.text)
    bad.find_element(By.CSS_SELECTOR, "details.conversation summary").click()
    wait.until(lambda d: any(
        "Validation authority" in svg.text and "unauthorized" in svg.text
        for svg in d.find_elements(By.CSS_SELECTOR, "details.conversation svg")))

    folder = Path(os.environ.get("FAKE_ACME_SCREENSHOT_DIR", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(folder / "dashboard.png"))

    # 700 px wide: one column, the orders first, the steering below them.
    driver.set_window_size(700, 1400)
    wait.until(lambda d: d.find_element(By.ID, "orders-title").location["y"]
               < d.find_element(By.ID, "steer-title").location["y"])
    width = driver.execute_script("return document.documentElement.scrollWidth")
    assert width <= 700, f"the page scrolls sideways at 700 px ({width} px wide)"
    assert driver.save_screenshot(str(folder / "dashboard-narrow.png"))


def test_the_page_lists_and_injects_transport_faults(
    fake_acme: FakeACME, browser: WebDriver, page_url: str
) -> None:
    driver = browser
    fake_acme.faults.connection_reset(endpoint="newNonce", times=2)
    driver.get(page_url)
    wait = WebDriverWait(driver, 20, ignored_exceptions=(StaleElementReferenceException,))
    wait.until(lambda d: "connection_reset endpoint=newNonce (0/2)" in d.find_element(
        By.ID, "faults").text)
    # The spec field offers every fault's name, with its parameters.
    wait.until(lambda d: {"html_error", "empty_body", "truncated_body", "connection_reset",
                          "slow_headers", "bad_nonce"} <= {
        o.get_attribute("value") for o in d.find_elements(By.CSS_SELECTOR, "#fault-names option")})
    label = driver.find_element(By.CSS_SELECTOR, '#fault-names option[value="html_error"]'
                                ).get_attribute("label")
    assert label is not None
    assert label.startswith("html_error (status, endpoint, times, rate, seed): ")
    driver.find_element(By.ID, "fault-spec").send_keys("html_error 503 endpoint=directory")
    driver.find_element(By.CSS_SELECTOR, "#fault-form button").click()
    wait.until(lambda d: "html_error 503 endpoint=directory (0/1)" in d.find_element(
        By.ID, "faults").text)
    assert [f.spec for f in fake_acme.faults.active] == [
        "connection_reset endpoint=newNonce", "html_error 503 endpoint=directory"]


@pytest.mark.fake_acme(rate_limits=True, va_default=outcomes.http_status(404))
def test_the_page_shows_limits_and_unpauses(
    fake_acme: FakeACME, browser: WebDriver, page_url: str
) -> None:
    fake_acme.configure(order_reuse=False)
    fake_acme.limits.set("FailedAuthorizationsForPausingPerDomainPerAccount", burst=1)
    raw = RawClient(fake_acme)
    raw.register()
    for _ in range(2):  # the second failure finds the bucket empty: paused
        order = raw.post(raw.url("newOrder"), {
            "identifiers": [{"type": "dns", "value": "a.example"}]}).json()
        authz = raw.post_as_get(order["authorizations"][0]).json()
        raw.post(challenge_of(authz, "http-01")["url"], {})
        raw.post_as_get(order["authorizations"][0])
    account = str(raw.kid).rsplit("/", 1)[-1]
    assert [p.account for p in fake_acme.limits.paused()] == [account]
    driver = browser
    driver.get(page_url)
    wait = WebDriverWait(driver, 20, ignored_exceptions=(StaleElementReferenceException,))
    wait.until(lambda d: f"paused: account {account} for a.example" in d.find_element(
        By.ID, "limits").text)
    assert "FailedAuthorizationsPerDomainPerAccount" in driver.find_element(
        By.ID, "limits").text
    driver.find_element(By.CSS_SELECTOR, "#limits button[data-identifier='a.example']").click()
    wait.until(lambda d: "paused:" not in d.find_element(By.ID, "limits").text)
    assert fake_acme.limits.paused() == []
