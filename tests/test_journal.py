"""The journal: what the client said, what the fake answered, what changed."""

from __future__ import annotations

import io

import pytest
from werkzeug.test import EnvironBuilder

from client import AcmeTestClient
from pytest_fakeacme import FakeACME, FakeACMEUsageError, outcomes
from pytest_fakeacme.demo import MiniClient
from responder import Responder


def test_a_real_client_run_is_journaled_in_order(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    acme_client.issue("a.example", responder=responder)
    journal = fake_acme.journal
    endpoints = [e.endpoint for e in journal.requests()]
    assert endpoints[:3] == ["directory", "newNonce", "newAccount"]
    assert endpoints[-1] == "certificate"
    new_order = journal.requests("newOrder")[0]
    assert new_order.status == 201
    assert new_order.jws is not None
    assert new_order.jws.alg == "ES256"
    assert new_order.jws.kid == fake_acme.accounts[0].url
    assert new_order.jws.url == new_order.url
    assert new_order.jws.payload["identifiers"] == [{"type": "dns", "value": "a.example"}]
    assert new_order.headers["Location"] == fake_acme.orders[0].url
    assert "Replay-Nonce" in new_order.headers
    assert new_order.account_id == fake_acme.accounts[0].id
    assert journal.requests(account=fake_acme.accounts[0].id)[0].endpoint == "newOrder"
    assert journal.directory_fetches() == 1
    assert journal.every_read_was_post_as_get()
    assert journal.reused_nonces() == []
    [attempt] = journal.validations("a.example")
    assert attempt.outcome == "outcomes.real()"
    assert attempt.problem is None
    assert attempt.records[0]["addressUsed"] == "127.0.0.1"
    order = fake_acme.orders[0]
    assert journal.statuses("order", order.id) == ["pending", "processing", "valid"]
    authz = order.authorizations[0]
    assert journal.statuses("authorization", authz.id) == ["pending", "valid"]


def test_a_failed_challenge_reads_pending_to_invalid(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    fake_acme.va.script("a.example", outcomes.http_status(404))
    order = acme_client.new_order("a.example")
    acme_client.answer_http01(order)
    acme_client.acme.poll(order.authorizations[0])
    chall = fake_acme.challenges[0]
    assert fake_acme.journal.statuses("challenge", chall.id) == ["pending", "invalid"]
    [change] = [t for t in fake_acme.journal.transitions("challenge", chall.id) if t.old]
    assert change.cause == "validation: unauthorized"
    text = fake_acme.journal.transcript()
    assert "challenge " + chall.id + ": pending -> invalid" in text
    assert "VA http-01 a.example (outcomes.http_status(code=404)): unauthorized" in text


def _ready_order(fake: FakeACME, name: str) -> tuple[MiniClient, str, dict[str, object]]:
    """A new account's order for ``name``, validated (the marker makes every outcome valid):
    the client, the order's URL and its body."""
    client = MiniClient(fake.directory_url, fake.ca_bundle)
    client.register()
    answer = client.post(client.directory["newOrder"],
                         {"identifiers": [{"type": "dns", "value": name}]})
    order = answer.json()
    authz_url = str(order["authorizations"][0])
    chall = client.post(authz_url, None).json()["challenges"][0]
    client.post(chall["url"], {})
    client.post(authz_url, None)
    return client, answer.headers["Location"], order


@pytest.mark.fake_acme(va_default="valid")
def test_a_client_that_ignores_retry_after_is_caught(fake_acme: FakeACME) -> None:
    client, url, order = _ready_order(fake_acme, "a.example")
    finalized = client.post(str(order["finalize"]), {"csr": client.csr(["a.example"])})
    assert finalized.headers["Retry-After"] == "3"
    client.post(url, None)  # at once: the answer asked for 3 seconds
    violations = fake_acme.journal.retry_after_violations()
    assert [(a.endpoint, b.endpoint) for a, b in violations] == [("finalize", "order")]
    assert not fake_acme.journal.waited_retry_after()


@pytest.mark.fake_acme(va_default="valid")
def test_a_client_that_waits_retry_after_passes(fake_acme: FakeACME) -> None:
    client, url, order = _ready_order(fake_acme, "a.example")
    client.post(str(order["finalize"]), {"csr": client.csr(["a.example"])})
    fake_acme.clock.advance(seconds=3)  # the client waits, on the fake's time
    assert client.post(url, None).json()["status"] == "valid"
    assert fake_acme.journal.waited_retry_after()


def test_a_reused_nonce_and_a_get_read_are_caught(fake_acme: FakeACME) -> None:
    client = MiniClient(fake_acme.directory_url, fake_acme.ca_bundle)
    client.register()
    nonce = fake_acme.journal.requests("newAccount")[0].jws.nonce  # type: ignore[union-attr]
    client._nonce = nonce  # replay the nonce newAccount used
    answer = client.post(fake_acme.accounts[0].url, None, retry=False)
    assert answer.status == 400
    assert fake_acme.journal.reused_nonces() == [nonce]
    assert fake_acme.journal.requests("account")[0].problem.type == "badNonce"  # type: ignore[union-attr]
    import requests

    requests.get(fake_acme.accounts[0].url, verify=fake_acme.ca_bundle, timeout=10)
    [offender] = fake_acme.journal.reads_not_post_as_get()
    assert (offender.method, offender.endpoint, offender.status) == ("GET", "account", 405)
    assert not fake_acme.journal.every_read_was_post_as_get()


def test_the_journal_stays_within_its_cap(fake_acme: FakeACME) -> None:
    fake_acme.journal.cap = 100
    # Straight into the WSGI app (no sockets): the same handling, 10,000 times, in seconds.
    environ = EnvironBuilder("/acme/new-nonce", base_url=fake_acme.base_url,
                             method="HEAD").get_environ()
    app = fake_acme.wsgi_app
    for _ in range(10_000):
        b"".join(app(dict(environ), lambda status, headers, exc_info=None: None))
    assert len(fake_acme.journal) == 100
    assert fake_acme.journal.dropped == 9_900
    assert fake_acme.journal.transcript().startswith("... 9900 earlier entries dropped")
    seqs = [e.seq for e in fake_acme.journal]
    assert seqs == sorted(seqs)
    assert seqs[-1] - seqs[0] == 99


def test_dump_writes_the_transcript(fake_acme: FakeACME) -> None:
    MiniClient(fake_acme.directory_url, fake_acme.ca_bundle).register()
    out = io.StringIO()
    text = fake_acme.journal.dump(out, verbose=True)
    assert out.getvalue() == text + "\n"
    assert "POST newAccount -> 201" in text
    assert '"termsOfServiceAgreed": true' in text


def test_bad_cap_is_refused_and_changes_nothing(fake_acme: FakeACME) -> None:
    before = fake_acme.journal.cap
    with pytest.raises(FakeACMEUsageError, match="whole number"):
        fake_acme.journal.cap = 0
    assert fake_acme.journal.cap == before


def test_deactivations_reach_the_journal_like_any_status_change(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    # Deactivation goes through the store, which tells the journal (RFC 8555 7.5.2, 7.3.6).
    order = acme_client.new_order("a.example")
    authz = order.authorizations[0]
    acme_client.acme.deactivate_authorization(authz)
    authz_id = fake_acme.authorizations[0].id
    assert fake_acme.journal.statuses("authorization", authz_id) == ["pending", "deactivated"]
    [change] = [t for t in fake_acme.journal.transitions("authorization", authz_id) if t.old]
    assert change.cause == "deactivation"
    order_id = fake_acme.orders[0].id
    acme_client.read(order.uri)  # the client is shown what the deactivation did to its order
    assert fake_acme.journal.statuses("order", order_id) == ["pending", "invalid"]
    registration = acme_client.acme.net.account
    assert registration is not None
    acme_client.acme.deactivate_registration(registration)
    account_id = fake_acme.accounts[0].id
    assert fake_acme.journal.statuses("account", account_id) == ["valid", "deactivated"]
    assert f"account {account_id}: valid -> deactivated  [deactivation]" in (
        fake_acme.journal.transcript()
    )


def test_endpoint_names_are_the_route_tables_and_a_wrong_one_is_refused(
    fake_acme: FakeACME,
) -> None:
    from pytest_fakeacme.endpoints import ENDPOINTS
    from pytest_fakeacme.wfe import ROUTES

    # The Literal that type checkers see names exactly the endpoints the fake serves.
    assert {route.name for route in ROUTES} == ENDPOINTS
    with pytest.raises(FakeACMEUsageError, match="unknown endpoint 'new-order'; use one of "):
        fake_acme.journal.requests("new-order")  # type: ignore[arg-type]
    assert fake_acme.journal.requests("unknown") == []
