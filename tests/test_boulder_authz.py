"""The authorization and challenge rows (``az-*``) of the Boulder table, over the fake's HTTPS
server with raw JWS."""

from __future__ import annotations

from typing import Any

from boulder_table import expect, reproduces
from jwsclient import RawClient, challenge_of
from pytest_fakeacme import FakeACME, outcomes


def _pending(raw: RawClient, name: str = "a.example") -> tuple[str, dict[str, Any]]:
    order = raw.new_order(name).json()
    url = order["authorizations"][0]
    return url, raw.post_as_get(url).json()


def _failed(raw: RawClient, fake: FakeACME, name: str = "a.example") -> tuple[str, dict[str, Any]]:
    url, authz = _pending(raw, name)
    fake.va.script(name, outcomes.http_status(404))
    raw.post(challenge_of(authz, "http-01")["url"], {})
    failed = raw.post_as_get(url).json()
    assert failed["status"] == "invalid"
    return url, authz


@reproduces("az-01")
def test_the_jws_comes_first_at_authorizations(raw: RawClient, fake_acme: FakeACME) -> None:
    unknown = fake_acme.directory_url.replace("/directory", "/acme/authz/nothing")
    expect("wfe-30", raw.post_as_get(unknown, nonce="stale"))
    expect("az-03", raw.post_as_get(unknown))


def test_authorization_refusals(raw: RawClient, fake_acme: FakeACME) -> None:
    url, _ = _pending(raw)
    other = RawClient(fake_acme)
    other.register()
    expect("az-06", other.post_as_get(url))
    expect("az-07", raw.post(url, {"status": 1}))
    expect("az-08", raw.post(url, {"status": "valid"}))
    expect("az-08", raw.post(url, {}))
    fake_acme.clock.advance(days=8)
    raw.forget_nonce()
    expect("az-05", raw.post_as_get(url))


@reproduces("az-09")
def test_deactivating_an_invalid_authorization(raw: RawClient, fake_acme: FakeACME) -> None:
    url, _ = _failed(raw, fake_acme)

    answer = raw.post(url, {"status": "deactivated"})

    assert answer.status_code == 200
    assert answer.json()["status"] == "deactivated"
    assert raw.post_as_get(url).json()["status"] == "invalid"  # stored status unchanged


def test_challenge_refusals(raw: RawClient, fake_acme: FakeACME) -> None:
    _url, authz = _pending(raw)
    unknown = fake_acme.directory_url.replace("/directory", "/acme/chall/nothing/x")
    expect("az-13", raw.post(unknown, {}))
    other = RawClient(fake_acme)
    other.register()
    http = challenge_of(authz, "http-01")
    expect("az-17", other.post(http["url"], {}))
    _failed_url, failed = _failed(raw, fake_acme, "b.example")
    expect("az-14", raw.post(challenge_of(failed, "dns-01")["url"], {}))
    expect("az-22", raw.post(challenge_of(failed, "http-01")["url"], {}))
    fake_acme.clock.advance(days=8)
    raw.forget_nonce()
    expect("az-15", raw.post(http["url"], {}))


@reproduces("az-16")
def test_the_challenge_is_looked_up_before_the_jws(raw: RawClient, fake_acme: FakeACME) -> None:
    unknown = fake_acme.directory_url.replace("/directory", "/acme/chall/nothing/x")
    nonce = raw.new_nonce()

    expect("az-13", raw.post(unknown, {}, nonce=nonce, signature=b"\x00" * 64))
    # The 404 left the nonce unused.
    assert raw.post(raw.url("newOrder"), {"identifiers": [
        {"type": "dns", "value": "a.example"}]}, nonce=nonce).status_code == 201


@reproduces("az-19", "az-26")
def test_challenge_answers(raw: RawClient, fake_acme: FakeACME) -> None:
    url, authz = _pending(raw)
    http = challenge_of(authz, "http-01")
    fake_acme.va.script("a.example", outcomes.valid())

    started = raw.post(http["url"], {})

    assert started.status_code == 200
    assert started.json()["status"] == "pending"
    assert started.headers["Location"] == http["url"]
    assert f'<{url}>;rel="up"' in started.headers["Link"]
    assert "Retry-After" not in started.headers
    assert raw.post_as_get(url).json()["status"] == "valid"
    again = raw.post(http["url"], {})
    assert again.status_code == 200
    assert again.json()["status"] == "valid"
    assert len(fake_acme.journal.validations()) == 1  # no new validation


def test_the_va_cannot_be_reached(raw: RawClient, fake_acme: FakeACME) -> None:
    url, authz = _pending(raw)
    fake_acme.va.script("a.example", outcomes.va_unreachable())
    raw.post(challenge_of(authz, "http-01")["url"], {})

    (chall,) = raw.post_as_get(url).json()["challenges"]
    expect("az-25", chall["error"])
