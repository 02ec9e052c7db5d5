"""The miscellaneous rows (``misc-*``) of the Boulder table: how failed challenges and orders
read, the account object, and what Let's Encrypt does not offer."""

from __future__ import annotations

from boulder_table import reproduces
from client import URN, AcmeTestClient, validate
from jwsclient import RawClient
from pytest_fakeacme import FakeACME, outcomes


@reproduces("misc-07", "misc-08", "misc-09")
def test_a_wrong_answer_reads_as_boulders(fake_acme: FakeACME,
                                         acme_client: AcmeTestClient) -> None:
    result = validate(fake_acme, acme_client, "a.example",
                      outcome=lambda _: outcomes.wrong_body("nope"))

    # unauthorized, never incorrectResponse (probs/probs.go:17-46); the type a URN and the
    # status kept on the challenge's error (wfe2/wfe.go:1256-1261).
    assert result.error is not None
    assert (result.error["type"], result.error["status"]) == (URN + "unauthorized", 403)
    # The order is invalid with no error of its own (sa/model.go:1009-1069).
    result.invalid()


@reproduces("misc-10")
def test_no_new_authz(raw: RawClient, fake_acme: FakeACME) -> None:
    assert "newAuthz" not in raw.get(fake_acme.directory_url).json()
    url = fake_acme.directory_url.replace("/directory", "/acme/new-authz")

    answer = raw.post(url, {"identifier": {"type": "dns", "value": "a.example"}})

    # Go's ServeMux answer for a path no handler serves.
    assert answer.status_code == 404
    assert answer.text == "404 page not found\n"


@reproduces("misc-11")
def test_the_account_object(fake_acme: FakeACME) -> None:
    client = RawClient(fake_acme)
    created = client.post(client.url("newAccount"), {
        "termsOfServiceAgreed": True, "contact": ["mailto:admin@a.example"]}, jwk=True)

    assert created.status_code == 201
    assert set(created.json()) == {"key", "createdAt", "status"}
