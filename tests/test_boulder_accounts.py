"""The account rows (``acct-*``) of the Boulder table, over the fake's HTTPS server with raw
JWS: newAccount, contacts, account updates."""

from __future__ import annotations

import threading

import pytest
import requests

from boulder_table import expect, reproduces
from jwsclient import RawClient
from pytest_fakeacme import FakeACME

TERMS = {"termsOfServiceAgreed": True}


def new_account(fake: FakeACME, payload: object, client: RawClient | None = None
                ) -> requests.Response:
    client = client or RawClient(fake)
    return client.post(client.url("newAccount"), payload, jwk=True)


def test_payload_that_does_not_decode(fake_acme: FakeACME) -> None:
    expect("acct-01", new_account(fake_acme, {**TERMS, "contact": "mailto:a@a.example"}))
    expect("acct-01", new_account(fake_acme, {"termsOfServiceAgreed": "yes"}))
    expect("acct-01", new_account(fake_acme, None))  # an empty payload: no JSON to Go


def test_deactivated_key(raw: RawClient, fake_acme: FakeACME) -> None:
    assert raw.kid is not None
    assert raw.post(raw.kid, {"status": "deactivated"}).status_code == 200

    # Before onlyReturnExisting and the terms.
    expect("acct-02", new_account(fake_acme, {"onlyReturnExisting": True}, raw))


@reproduces("acct-04")
def test_existing_key(raw: RawClient, fake_acme: FakeACME) -> None:
    again = new_account(fake_acme, {}, raw)  # no terms needed for an existing account

    assert again.status_code == 200
    assert again.headers["Location"] == raw.kid
    assert again.headers["Boulder-Requester"] == (raw.kid or "").rsplit("/", 1)[1]
    assert "terms-of-service" not in again.headers.get("Link", "")


def test_only_return_existing_and_terms(fake_acme: FakeACME) -> None:
    expect("acct-05", new_account(fake_acme, {"onlyReturnExisting": True}))
    expect("acct-06", new_account(fake_acme, {}))
    expect("acct-06", new_account(fake_acme, {"termsOfServiceAgreed": False}))
    assert fake_acme.accounts == []


@pytest.mark.parametrize(("row", "contact", "args"), [
    ("acct-08", "", ()),
    ("acct-09", ":a@a.example", ()),
    ("acct-09", "mailto:a\t@a.example", ()),
    ("acct-09", "1a:b@a.example", ()),
    ("acct-10", "tel:+15555550100", ()),
    ("acct-10", "https://a.example/me", ()),
    ("acct-10", "admin@a.example", ()),
    ("acct-11", "mailto:a@a.example?subject=hi", ()),
    ("acct-11", "mailto:a@a.example?", ()),
    ("acct-12", "mailto:a@a.example#top", ()),
    ("acct-12", "mailto:a@a.example#", ()),
    ("acct-13", "mailto:jos\u00e9@a.example", ()),
    ("acct-14", "mailto:not-an-address", ()),
    ("acct-14", "mailto:two@@a.example", ()),
    ("acct-15", "mailto:a@b", ("Domain name needs at least one dot",)),
    ("acct-15", "mailto:a@under_score.example", ("Domain name contains an invalid character",)),
    ("acct-15", "mailto:a@1.2.3.4", ("Identifier type is DNS but value is an IP address",)),
    ("acct-15", "mailto:a@com", ("Domain name needs at least one dot",)),
    ("acct-15", "mailto:a@co.uk", ("Domain name is an ICANN TLD",)),
    ("acct-17", "mailto:admin@example.com", ("example.com",)),
    ("acct-17", "MAILTO:Admin@Example.ORG", ("example.org",)),
    ("acct-17", "mailto:Ops <ops@example.net>", ("example.net",)),
])
def test_contacts(fake_acme: FakeACME, row: str, contact: str, args: tuple[str, ...]) -> None:
    payload = {**TERMS, "contact": ["mailto:ok@a.example", contact]}

    expect(row, new_account(fake_acme, payload), *args)
    assert fake_acme.accounts == []


def test_contacts_the_strict_mode_refuses(fake_acme: FakeACME) -> None:
    payload = {**TERMS, "contact": ["mailto:a@a.test"]}
    fake_acme.configure(strict_identifiers=True)
    expect("acct-16", new_account(fake_acme, payload))
    # The default accepts names under .test, so an address there too.
    fake_acme.configure(strict_identifiers=False)
    assert new_account(fake_acme, payload).status_code == 201


@pytest.mark.parametrize("contact", ["mailto:a@a.example", "MAILTO:a@a.example",
                                     "mailto:Ops <ops@a.example>",
                                     "mailto:" + "a" * 280 + "@a.example"])
@reproduces("acct-18")
def test_contacts_boulder_accepts(fake_acme: FakeACME, contact: str) -> None:
    assert new_account(fake_acme, {**TERMS, "contact": [contact]}).status_code == 201


def test_too_many_contacts(fake_acme: FakeACME) -> None:
    payload = {**TERMS, "contact": [f"mailto:a{i}@a.example" for i in range(11)]}

    expect("acct-07", new_account(fake_acme, payload), 11, 10)


@reproduces("acct-21")
def test_two_new_accounts_at_once(fake_acme: FakeACME) -> None:
    first = RawClient(fake_acme)
    second = RawClient(fake_acme, key=first.key)
    answers: list[requests.Response] = []
    start = threading.Barrier(2)

    def register(client: RawClient) -> None:
        nonce = client.new_nonce()
        start.wait()
        answers.append(client.post(client.url("newAccount"), TERMS, jwk=True, nonce=nonce))

    threads = [threading.Thread(target=register, args=(c,)) for c in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(a.status_code for a in answers) == [200, 201]
    assert len({a.headers["Location"] for a in answers}) == 1
    assert len(fake_acme.accounts) == 1


def test_another_accounts_url(raw: RawClient, fake_acme: FakeACME) -> None:
    other = RawClient(fake_acme)
    other.register()
    assert other.kid is not None

    expect("acct-25", raw.post_as_get(other.kid))


def test_account_updates(raw: RawClient) -> None:
    assert raw.kid is not None
    expect("acct-26", raw.post(raw.kid, {"status": 5}),
           "json: cannot unmarshal number into Go struct field .status of type core.AcmeStatus")
    expect("acct-27", raw.post(raw.kid, {"status": "revoked"}), "revoked")


@reproduces("acct-28")
def test_contacts_are_ignored_on_update(raw: RawClient, fake_acme: FakeACME) -> None:
    assert raw.kid is not None
    before = raw.post_as_get(raw.kid).json()

    updated = raw.post(raw.kid, {"contact": ["tel:+15555550100"]})

    assert updated.status_code == 200
    assert updated.json() == before
    assert fake_acme.accounts[0].contact == ()
