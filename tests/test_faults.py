"""Faults seen through certbot's acme library, and time under the test's control."""

from __future__ import annotations

import datetime

import pytest
import requests
from acme import errors as acme_errors
from acme import messages
from cryptography import x509

from client import AcmeTestClient
from pytest_fakeacme import FakeACME, FakeACMEUsageError, outcomes, problems
from pytest_fakeacme.endpoints import Endpoint

ENDPOINTS = ["newOrder", "authorization", "challenge", "finalize", "order", "certificate"]


@pytest.mark.parametrize("endpoint", ["newAccount", *ENDPOINTS])
@pytest.mark.fake_acme(va_default="valid")
def test_acme_library_recovers_from_one_bad_nonce_on_every_endpoint(
    fake_acme: FakeACME, endpoint: Endpoint
) -> None:
    fake_acme.faults.bad_nonce(endpoint=endpoint)
    client = AcmeTestClient(fake_acme)
    client.register()
    assert client.issue("a.example").fullchain_pem
    answers = [(e.status, e.problem.type if e.problem else None)
               for e in fake_acme.journal.requests(endpoint)]
    # The injected refusal, then the client's retry of the same request, which succeeded.
    assert answers[0] == (400, "badNonce")
    assert answers[1][0] < 400


@pytest.mark.fake_acme(va_default="valid")
def test_two_bad_nonces_in_a_row_surface_as_the_clients_error(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    fake_acme.faults.bad_nonce(endpoint="newOrder", times=2)
    with pytest.raises(messages.Error) as caught:
        acme_client.new_order("a.example")
    assert caught.value.code == "badNonce"
    assert [e.status for e in fake_acme.journal.requests("newOrder")] == [400, 400]
    assert acme_client.new_order("a.example").body.status == messages.STATUS_PENDING


def test_rate_limited_carries_boulders_headers_and_detail(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    fake_acme.clock.freeze(datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.timezone.utc))
    fake_acme.faults.rate_limited(retry_after=datetime.timedelta(minutes=90))
    with pytest.raises(messages.Error) as caught:
        acme_client.new_order("a.example")
    assert caught.value.code == "rateLimited"
    assert caught.value.detail == (
        "too many new orders (300) from this account in the last 3h0m0s, retry after "
        "2026-03-01 13:30:00 UTC: see "
        "https://letsencrypt.org/docs/rate-limits/#new-orders-per-account"
    )
    answer = fake_acme.journal.requests("newOrder")[0]
    assert answer.status == 429
    assert answer.headers["Retry-After"] == "5400"
    # No trailing slash: Boulder's sendError links the page so (wfe2/wfe.go:668-670).
    assert '<https://letsencrypt.org/docs/rate-limits>;rel="help"' in answer.headers["Link"]


def test_server_error_is_500_with_retry_after_60(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    fake_acme.faults.server_error(endpoint="newOrder")
    with pytest.raises(messages.Error) as caught:
        acme_client.new_order("a.example")
    assert caught.value.code == "serverInternal"
    answer = fake_acme.journal.requests("newOrder")[0]
    assert (answer.status, answer.headers["Retry-After"]) == (500, "60")


def test_any_problem(fake_acme: FakeACME, acme_client: AcmeTestClient) -> None:
    fake_acme.faults.problem(problems.problem("unauthorized", "not you", 403),
                             endpoint="newOrder")
    with pytest.raises(messages.Error) as caught:
        acme_client.new_order("a.example")
    assert (caught.value.code, caught.value.detail) == ("unauthorized", "not you")


def test_dropped_connection_is_a_client_error_and_the_server_keeps_serving(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    fake_acme.faults.drop(endpoint="newOrder")
    with pytest.raises(requests.exceptions.ConnectionError):
        acme_client.new_order("a.example")
    assert acme_client.new_order("a.example").body.status == messages.STATUS_PENDING
    assert [e.status for e in fake_acme.journal.requests("newOrder")] == [0, 201]


def test_slow_answer_trips_a_client_timeout(fake_acme: FakeACME) -> None:
    fake_acme.faults.slow(1.0, endpoint="directory")
    with pytest.raises(requests.exceptions.ReadTimeout):
        # (connect, read): only reading the answer is short of time, not connect and TLS.
        requests.get(fake_acme.directory_url, verify=fake_acme.ca_bundle, timeout=(10, 0.1))
    assert requests.get(fake_acme.directory_url, verify=fake_acme.ca_bundle,
                        timeout=5).status_code == 200
    # The answer the client stopped waiting for is still being written; the wait ends with it,
    # so it is this test's (and not the next test's) journal entry.
    fake_acme.journal.wait_until_quiet()
    assert [(e.status, e.fault) for e in fake_acme.journal.requests("directory")] == [
        (200, ""), (200, "slow 1 endpoint=directory, 1 of 1")]


def _nonce_pattern(fake: FakeACME) -> list[int]:
    fake.faults.nonce_reject_rate(0.3, seed=42)
    client = AcmeTestClient(fake)
    statuses = []
    for _ in range(20):
        answer = client.net._send_request(  # one signed POST, no client retry
            "POST", client.directory["newAccount"],
            data=client.net._wrap_in_jws(
                messages.NewRegistration.from_data(terms_of_service_agreed=True),
                client.net._get_nonce(client.directory["newAccount"],
                                      client.directory["newNonce"]),
                client.directory["newAccount"],
            ),
            headers={"Content-Type": "application/jose+json"},
        )
        client.net._add_nonce(answer)
        statuses.append(answer.status_code)
    return statuses


def test_seeded_nonce_rejection_rate_is_reproducible(fake_acme: FakeACME) -> None:
    first = _nonce_pattern(fake_acme)
    fake_acme.reset()
    second = _nonce_pattern(fake_acme)
    assert first == second
    assert 400 in first
    assert first.count(400) < len(first)


def test_faults_refuse_bad_input_and_change_nothing(fake_acme: FakeACME) -> None:
    with pytest.raises(FakeACMEUsageError, match="unknown endpoint"):
        # mypy refuses the name too (the ignore would be unused, an error, if it did not).
        fake_acme.faults.bad_nonce(endpoint="neworder")  # type: ignore[arg-type]
    with pytest.raises(FakeACMEUsageError, match="times"):
        fake_acme.faults.drop(times=0)
    with pytest.raises(FakeACMEUsageError, match="from 0 to 1"):
        fake_acme.faults.nonce_reject_rate(1.5)
    with pytest.raises(FakeACMEUsageError, match="unknown limit"):
        fake_acme.faults.rate_limited(limit="per_hour")
    assert fake_acme.faults.active == []


def test_pending_order_and_authorizations_expire_with_the_clock(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    order = acme_client.new_order("a.example")
    fake_acme.clock.advance(days=8)
    # Boulder answers a read of an expired authorization 404 "Expired authorization".
    with pytest.raises(messages.Error) as caught:
        acme_client.acme.poll(order.authorizations[0])
    assert (caught.value.code, caught.value.detail) == ("malformed", "Expired authorization")
    assert fake_acme.authorizations[0].status == "expired"
    body = acme_client.read(order.uri)
    assert body["status"] == "invalid"


@pytest.mark.fake_acme(va_default="valid")
def test_valid_authorizations_are_reused_until_they_expire(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    first = acme_client.new_order("a.example")
    acme_client.answer_http01(first)
    acme_client.poll_and_finalize(first)
    again = acme_client.new_order("a.example")
    assert again.body.status == messages.STATUS_READY
    assert again.body.authorizations == first.body.authorizations
    fake_acme.clock.advance(days=31)
    later = acme_client.new_order("a.example")
    assert later.body.status == messages.STATUS_PENDING
    assert later.body.authorizations != first.body.authorizations


@pytest.mark.fake_acme(va_default="valid")
def test_certificates_age_with_the_clock(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    pem = acme_client.issue("a.example").fullchain_pem
    leaf = x509.load_pem_x509_certificates(pem.encode())[0]
    fake_acme.clock.advance(days=60)
    now = fake_acme.clock.now()
    lifetime = leaf.not_valid_after_utc - leaf.not_valid_before_utc
    elapsed = now - leaf.not_valid_before_utc
    assert 0.66 < elapsed / lifetime < 0.68


def test_nonces_expire_with_the_clock(fake_acme: FakeACME, acme_client: AcmeTestClient) -> None:
    acme_client.net._nonces.clear()
    nonce = acme_client.net._get_nonce(acme_client.directory["newOrder"],
                                       acme_client.directory["newNonce"])
    fake_acme.clock.advance(hours=2)
    acme_client.net._nonces.add(nonce)
    fake_acme.faults.clear()
    order = acme_client.new_order("a.example")  # the stale nonce is refused, the retry works
    assert order.body.status == messages.STATUS_PENDING
    assert [e.status for e in fake_acme.journal.requests("newOrder")] == [400, 201]


def test_failed_validation_then_retry_after_clock_moves(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    fake_acme.va.script("a.example", outcomes.connect_timeout(), outcomes.valid())
    order = acme_client.new_order("a.example")
    acme_client.answer_http01(order)
    with pytest.raises(acme_errors.ValidationError):
        acme_client.poll_and_finalize(order)
    assert acme_client.issue("a.example").fullchain_pem
