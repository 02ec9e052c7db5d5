"""Held-back outcomes and the two state machines, seen through certbot's acme library."""

from __future__ import annotations

import pytest
from acme import messages

from client import AcmeTestClient
from pytest_fakeacme import FakeACME, FakeACMEUsageError, outcomes


def _start(
    client: AcmeTestClient, name: str
) -> tuple[messages.OrderResource, messages.ChallengeResource]:
    order = client.new_order(name)
    authzr = order.authorizations[0]
    chall = client.challenge(authzr)
    response = client.acme.answer_challenge(chall, chall.response(client.key))
    return order, response


def test_delayed_outcome_stays_pending_for_exactly_the_scripted_polls(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    fake_acme.va.script("a.example", outcomes.http_status(404).after(polls=3))
    order, _ = _start(acme_client, "a.example")
    authzr = order.authorizations[0]
    seen = []
    for _ in range(5):
        authzr, _response = acme_client.acme.poll(authzr)
        seen.append(authzr.body.status.name)
    assert seen == ["pending", "pending", "pending", "invalid", "invalid"]


def test_delay_in_clock_seconds_releases_when_the_clock_moves(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    fake_acme.va.script("a.example", outcomes.valid().after(seconds=30))
    order, _ = _start(acme_client, "a.example")
    authzr = order.authorizations[0]
    authzr, _ = acme_client.acme.poll(authzr)
    assert authzr.body.status == messages.STATUS_PENDING
    fake_acme.clock.advance(seconds=29)
    authzr, _ = acme_client.acme.poll(authzr)
    assert authzr.body.status == messages.STATUS_PENDING
    fake_acme.clock.advance(seconds=1)
    authzr, _ = acme_client.acme.poll(authzr)
    assert authzr.body.status == messages.STATUS_VALID


def test_client_polls_through_a_delay_on_virtual_time(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    # The acme library sleeps 1 s between authorization polls; on the fake's clock that is free.
    fake_acme.va.script("a.example", outcomes.valid().after(polls=2))
    done = acme_client.issue("a.example")
    assert done.fullchain_pem
    assert acme_client.slept.count(1) >= 2


def test_boulder_flavor_keeps_challenges_pending_without_retry_after(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    fake_acme.va.script("a.example", outcomes.valid().after(polls=1))
    order, response = _start(acme_client, "a.example")
    assert response.body.status == messages.STATUS_PENDING
    authzr, http = acme_client.acme.poll(order.authorizations[0])
    assert authzr.body.challenges[0].status == messages.STATUS_PENDING
    assert "Retry-After" not in http.headers


@pytest.mark.fake_acme(flavor="rfc")
def test_rfc_flavor_shows_processing_with_retry_after(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    fake_acme.va.script("a.example", outcomes.valid().after(polls=1))
    order, response = _start(acme_client, "a.example")
    assert response.body.status == messages.STATUS_PROCESSING
    authzr, http = acme_client.acme.poll(order.authorizations[0])
    assert authzr.body.status == messages.STATUS_PENDING  # RFC 8555 7.1.6: authz stays pending
    assert [c.status for c in authzr.body.challenges if c.chall.typ == "http-01"] == [
        messages.STATUS_PROCESSING
    ]
    assert http.headers["Retry-After"] == "1"
    authzr, http = acme_client.acme.poll(authzr)
    assert authzr.body.status == messages.STATUS_VALID
    assert "Retry-After" not in http.headers


def test_flavor_is_settable_and_checked(fake_acme: FakeACME) -> None:
    fake_acme.flavor = "rfc"
    assert fake_acme.flavor == "rfc"
    with pytest.raises(FakeACMEUsageError, match="unknown flavor"):
        fake_acme.flavor = "pebble"  # type: ignore[assignment]
    assert fake_acme.flavor == "rfc"


def test_after_rejects_nonsense() -> None:
    with pytest.raises(FakeACMEUsageError, match="whole number"):
        outcomes.valid().after(polls=-1)
    with pytest.raises(FakeACMEUsageError, match="seconds"):
        outcomes.valid().after(seconds="soon")  # type: ignore[arg-type]
