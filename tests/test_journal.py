"""The journal: what the client said, what the fake answered, what changed."""

from __future__ import annotations

import contextlib
import io
import urllib.error

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
    with open("/tmp/leak.txt", "a") as f:
        f.write(repr(list(fake_acme.journal)) + "\n")
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
    fake_acme.reset()  # the next test keeps 5,000 entries again
    assert (fake_acme.journal.cap, fake_acme.journal.dropped, len(fake_acme.journal)) == (
        5000, 0, 0)


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


# What the transcript shows


def test_injected_faults_are_marked_and_the_payload_they_refused_is_shown(
    fake_acme: FakeACME,
) -> None:
    client = MiniClient(fake_acme.directory_url, fake_acme.ca_bundle)
    client.register()
    fake_acme.faults.bad_nonce(endpoint="newOrder")
    new_order = {"identifiers": [{"type": "dns", "value": "a.example"}]}
    assert client.post(client.directory["newOrder"], new_order, retry=False).status == 400
    fake_acme.faults.drop(endpoint="newOrder")
    with pytest.raises((ConnectionError, urllib.error.URLError)):
        client.post(client.directory["newOrder"], new_order)
    # A badNonce the test did not ask for reads as the fake's own.
    client._nonce = fake_acme.journal.requests("newAccount")[0].jws.nonce  # type: ignore[union-attr]
    assert client.post(client.directory["newOrder"], new_order, retry=False).status == 400

    refused, dropped, replayed = fake_acme.journal.requests("newOrder")
    assert refused.fault == "bad_nonce endpoint=newOrder, 1 of 1"
    assert (dropped.status, dropped.fault) == (0, "drop endpoint=newOrder, 1 of 1")
    assert replayed.fault == ""
    lines = fake_acme.journal.transcript(verbose=True).splitlines()
    at = lines.index(next(line for line in lines if line.endswith(
        "POST newOrder -> 400 !! injected badNonce: JWS has an invalid anti-replay nonce"
        "  [fault: bad_nonce endpoint=newOrder, 1 of 1]")))
    # Verbose mode shows what the refused request carried, though it was never verified.
    assert lines[at + 2] == (
        '      payload: {"identifiers": [{"type": "dns", "value": "a.example"}]}')
    assert any(line.endswith(
        "POST newOrder -> no answer !! injected: connection closed without an answer"
        "  [fault: drop endpoint=newOrder, 1 of 1]") for line in lines)
    assert any(line.endswith("POST newOrder -> 400 !! badNonce: JWS has an invalid anti-replay "
                             "nonce") for line in lines)


def test_an_authorizations_challenges_share_its_line(fake_acme: FakeACME) -> None:
    client = MiniClient(fake_acme.directory_url, fake_acme.ca_bundle)
    client.register()
    client.post(client.directory["newOrder"],
                {"identifiers": [{"type": "dns", "value": "a.example"},
                                 {"type": "dns", "value": "*.b.example"}]})
    [authz_a] = [a for a in fake_acme.authorizations if not a.wildcard]
    [authz_b] = [a for a in fake_acme.authorizations if a.wildcard]
    lines = [line[9:] for line in fake_acme.journal.transcript().splitlines()]
    a_challenges = ", ".join(f"{c.type} {c.id}" for c in authz_a.challenges)
    assert [c.type for c in authz_a.challenges] == ["http-01", "dns-01", "tls-alpn-01"]
    assert sorted(lines[-3:-1]) == sorted([
        f"  authorization {authz_a.id} (a.example): (new) -> pending; challenges "
        f"{a_challenges}  [newOrder]",
        f"  authorization {authz_b.id} (*.b.example): (new) -> pending; challenges "
        f"dns-01 {authz_b.challenges[0].id}  [newOrder]",
    ])
    assert lines[-1] == f"  order {fake_acme.orders[0].id}: (new) -> pending  [newOrder answer]"
    assert not any(line.startswith("  challenge ") for line in lines)
    # Folded in the text only: each challenge's own history is still there to ask about.
    challenge = authz_a.challenges[0]
    assert fake_acme.journal.statuses("challenge", challenge.id) == ["pending"]
    [created] = fake_acme.journal.transitions("challenge", challenge.id)
    assert (created.old, created.new, created.challenge_type) == ("", "pending", "http-01")


@pytest.mark.fake_acme(va_default="valid")
def test_an_entry_prints_as_its_transcript_line_not_its_body(fake_acme: FakeACME) -> None:
    client, url, order = _ready_order(fake_acme, "a.example")
    client.post(str(order["finalize"]), {"csr": client.csr(["a.example"])})
    client.post(url, None)
    [(answer, too_soon)] = fake_acme.journal.retry_after_violations()
    assert repr(answer) == f"<Entry #{answer.seq} POST finalize -> 200 (Retry-After: 3)>"
    assert repr(too_soon) == f"<Entry #{too_soon.seq} POST order (POST-as-GET) -> 200>"
    assert len(answer.body) > 500  # the JWS is kept, just not printed
    validation = fake_acme.journal.validations()[0]
    assert repr(validation) == (
        f"<Entry #{validation.seq} VA http-01 a.example (outcomes.valid()): valid>")
    with pytest.raises(AssertionError) as failed:
        assert fake_acme.journal.retry_after_violations() == []
    assert "POST finalize -> 200 (Retry-After: 3)" in str(failed.value)
    assert "protected" not in str(failed.value)


def test_a_long_entry_is_cut_short_in_its_repr(fake_acme: FakeACME) -> None:
    fake_acme.va.script("a.example", outcomes.http_status(404))
    _, __, _order = _ready_order(fake_acme, "a.example")
    [validation] = fake_acme.journal.validations()
    assert validation.problem is not None
    assert len(validation.problem.detail) > 120
    text = repr(validation)
    assert text.startswith(f"<Entry #{validation.seq} VA http-01 a.example "
                           "(outcomes.http_status(code=404)): unauthorized: ")
    assert len(text) <= 120 + len(f"<Entry #{validation.seq} >")
    assert text.endswith("...>")


# Clients that fail the TLS handshake


def test_a_client_that_does_not_trust_the_fake_is_on_record(fake_acme: FakeACME) -> None:
    import requests

    with pytest.raises(requests.exceptions.SSLError):
        requests.get(fake_acme.directory_url, timeout=10)  # the system's roots, not the fake's
    [failure] = fake_acme.journal.handshake_failures()
    assert failure.kind == "handshake"
    assert failure.untrusted
    assert failure.alert == "unknown ca"
    assert failure.peer.startswith("127.0.0.1:")
    assert failure.detail == ('the client does not trust the fake\'s certificate (it sent TLS '
                              'alert "unknown ca"): give it the fake\'s CA bundle')
    assert fake_acme.journal.requests() == []
    assert fake_acme.journal.transcript().endswith(
        f"TLS  handshake from {failure.peer} failed: {failure.detail}")
    # The fake's own trust, as the client should have used it, works.
    assert requests.get(fake_acme.directory_url, verify=fake_acme.ca_bundle,
                        timeout=10).status_code == 200
    assert len(fake_acme.journal.handshake_failures()) == 1


def test_plain_http_and_port_probes(fake_acme: FakeACME) -> None:
    import socket

    # A port probe: connected, said nothing, closed. Nothing to report.
    socket.create_connection(("127.0.0.1", fake_acme.port), timeout=10).close()
    with socket.create_connection(("127.0.0.1", fake_acme.port), timeout=10) as plain:
        plain.sendall(b"GET /directory HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        with contextlib.suppress(ConnectionResetError):  # unread bytes make the close a reset
            assert plain.recv(100) == b""  # the server closes without a word
    [failure] = fake_acme.journal.handshake_failures()
    assert not failure.untrusted
    assert failure.detail == ("the client sent plain HTTP to the fake's HTTPS port: use the "
                              "https:// URL")


def test_ssl_context_trusts_this_fake_and_nothing_else(fake_acme: FakeACME) -> None:
    import ssl
    import urllib.request

    context = fake_acme.ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    with urllib.request.urlopen(fake_acme.directory_url, context=context, timeout=10) as answer:
        assert answer.status == 200
    with FakeACME() as other, pytest.raises(urllib.error.URLError,
                                            match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(other.directory_url, context=context, timeout=10)
    assert fake_acme.journal.handshake_failures() == []


def test_stopping_mid_handshake_is_no_clients_failure() -> None:
    import socket

    with FakeACME() as fake:
        half = socket.create_connection(("127.0.0.1", fake.port), timeout=10)
        half.sendall(b"\x16\x03\x01")  # the start of a ClientHello, and no more
        journal = fake.journal
    half.close()
    assert [e for e in journal if e.kind == "handshake"] == []
