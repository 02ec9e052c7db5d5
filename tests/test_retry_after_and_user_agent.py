"""Two options for clients that parse less than RFC 9110 allows or send less than Pebble asks:
``Retry-After`` as an HTTP-date, and refusing requests without ``User-Agent``."""

from __future__ import annotations

import datetime
import email.utils
import http.client
import ssl
from urllib.parse import urlsplit

import pytest

from pytest_fakeacme import FakeACME, FakeACMEUsageError
from pytest_fakeacme.demo import MiniClient


def _finalized(fake: FakeACME) -> tuple[MiniClient, str, dict[str, str]]:
    client = MiniClient(fake.directory_url, fake.ca_bundle)
    client.register()
    answer = client.post(client.directory["newOrder"],
                         {"identifiers": [{"type": "dns", "value": "a.example"}]})
    order = answer.json()
    authz = order["authorizations"][0]
    client.post(client.post(authz, None).json()["challenges"][0]["url"], {})
    client.post(authz, None)
    finalized = client.post(order["finalize"], {"csr": client.csr(["a.example"])})
    return client, answer.headers["Location"], dict(finalized.headers)


@pytest.mark.fake_acme(va_default="valid", retry_after_format="date")
def test_retry_after_as_an_http_date_on_the_fake_clock(fake_acme: FakeACME) -> None:
    fake_acme.clock.freeze()
    client, url, headers = _finalized(fake_acme)
    when = email.utils.parsedate_to_datetime(headers["Retry-After"])
    assert when == fake_acme.clock.now().replace(microsecond=0) + datetime.timedelta(seconds=3)
    assert headers["Retry-After"].endswith(" GMT")  # IMF-fixdate
    # The journal reads it back as seconds, so its questions still work.
    [finalize] = fake_acme.journal.requests("finalize")
    assert finalize.retry_after == 3
    client.post(url, None)  # at once: too soon
    assert not fake_acme.journal.waited_retry_after()
    fake_acme.clock.freeze(when)  # exactly the date given: soon enough
    client.post(url, None)
    [(answer, _)] = fake_acme.journal.retry_after_violations()
    assert answer.endpoint == "finalize"


@pytest.mark.fake_acme(va_default="valid")
def test_seconds_by_default(fake_acme: FakeACME) -> None:
    _, _, headers = _finalized(fake_acme)
    assert headers["Retry-After"] == "3"


def _get(fake: FakeACME, path: str, user_agent: str | None) -> tuple[int, bytes]:
    parts = urlsplit(fake.directory_url)
    context = ssl.create_default_context(cafile=fake.ca_bundle)
    conn = http.client.HTTPSConnection(parts.hostname or "", parts.port, context=context,
                                       timeout=10)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        if user_agent is not None:
            conn.putheader("User-Agent", user_agent)
        conn.endheaders()
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


def test_a_missing_user_agent_is_refused_only_when_asked(fake_acme: FakeACME) -> None:
    assert _get(fake_acme, "/directory", None)[0] == 200  # Boulder logs and accepts
    fake_acme.configure(require_user_agent=True)
    status, body = _get(fake_acme, "/directory", None)
    assert status == 400
    assert b'"All requests MUST include a User-Agent header"' in body
    assert _get(fake_acme, "/directory", "my-client/1.0")[0] == 200
    with pytest.raises(FakeACMEUsageError,
                       match="unknown retry_after_format 'http-date'; use one of seconds, date"):
        fake_acme.configure(retry_after_format="http-date")
