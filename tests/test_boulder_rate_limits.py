"""The rate-limit rows (``rl-*``) of the Boulder table that the fake answers today: each of
Boulder's 429 details as ``fake_acme.faults.rate_limited`` writes it, the retry time, Retry-After
and the help link. Counting limits, pausing and renewal exemptions are issue 18."""

from __future__ import annotations

import datetime

import pytest
import requests

from boulder_table import expect, reproduces
from jwsclient import RawClient
from pytest_fakeacme import FakeACME
from pytest_fakeacme.endpoints import Endpoint

START = datetime.datetime(2026, 3, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
HELP = '<https://letsencrypt.org/docs/rate-limits>;rel="help"'


def _answer(raw: RawClient, fake: FakeACME, endpoint: str) -> requests.Response:
    if endpoint == "newAccount":
        other = RawClient(fake)
        return other.post(other.url("newAccount"), {"termsOfServiceAgreed": True}, jwk=True)
    return _new_order(raw)


def _new_order(raw: RawClient) -> requests.Response:
    return raw.post(raw.url("newOrder"),
                    {"identifiers": [{"type": "dns", "value": "a.example"}]})


@pytest.mark.parametrize(("row_id", "limit", "endpoint", "args"), [
    ("rl-01", "new_registrations", "newAccount", (300, "3h0m0s")),
    ("rl-02", "new_registrations_ipv6", "newAccount", (300, "3h0m0s")),
    ("rl-03", "new_orders", "newOrder", (300, "3h0m0s")),
    ("rl-04", "failed_authorizations", "newOrder", (300, "a.example", "3h0m0s")),
    ("rl-05", "certificates_per_domain", "newOrder", (300, "example.com", "3h0m0s")),
    ("rl-06", "duplicate_certificates", "newOrder", (300, "3h0m0s")),
])
def test_each_limits_detail(raw: RawClient, fake_acme: FakeACME, row_id: str, limit: str,
                            endpoint: Endpoint, args: tuple[object, ...]) -> None:
    fake_acme.clock.freeze(START)
    name = "a.example" if limit == "failed_authorizations" else "example.com"
    fake_acme.faults.rate_limited(limit=limit, endpoint=endpoint, name=name)

    answer = _answer(raw, fake_acme, endpoint)

    # The default wait is 3 hours, on the frozen clock.
    expect(row_id, answer, *args, "2026-03-01 15:00:00 UTC")
    assert answer.headers["Retry-After"] == "10800"


@reproduces("rl-09", "rl-10", "rl-11", "rl-12")
def test_retry_time_retry_after_and_help_link(raw: RawClient, fake_acme: FakeACME) -> None:
    fake_acme.clock.freeze(START)
    fake_acme.faults.rate_limited(retry_after=datetime.timedelta(minutes=90, milliseconds=500))

    answer = _new_order(raw)

    assert answer.status_code == 429
    # now + the wait, UTC, in Go's "2006-01-02 15:04:05 MST"; no context added by the WFE.
    assert answer.json()["detail"] == (
        "too many new orders (300) from this account in the last 3h0m0s, retry after "
        "2026-03-01 13:30:00 UTC: see https://letsencrypt.org/docs/rate-limits/"
        "#new-orders-per-account")
    # time.Duration.Round(time.Second): half away from zero.
    assert answer.headers["Retry-After"] == "5401"
    # Two Link lines: the directory's, added by HandleFunc first, then the help link
    # (wfe2/wfe.go:668-670).
    index, help_link = answer.headers["Link"].split(", ")
    assert index.endswith(';rel="index"')
    assert help_link == HELP


@reproduces("rl-10")
def test_a_wait_that_rounds_to_zero_sends_neither_header(raw: RawClient,
                                                         fake_acme: FakeACME) -> None:
    fake_acme.faults.rate_limited(retry_after=datetime.timedelta(milliseconds=400))

    answer = _new_order(raw)

    assert answer.status_code == 429
    assert "Retry-After" not in answer.headers
    assert HELP not in answer.headers["Link"]
