"""Terms-of-service changes (RFC 8555 7.3.3) and external account binding (RFC 8555 7.3.4),
through certbot's acme library."""

from __future__ import annotations

import pytest
import requests
from acme import messages

from client import AcmeTestClient
from pytest_fakeacme import FakeACME, FakeACMEUsageError


def _directory(fake: FakeACME) -> dict[str, object]:
    body: dict[str, object] = requests.get(
        fake.directory_url, verify=fake.ca_bundle, timeout=10
    ).json()
    return body


def test_changed_terms_block_new_orders_until_the_account_agrees_again(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    order = acme_client.new_order("a.example")
    assert fake_acme.terms.change() == 2
    meta = _directory(fake_acme)["meta"]
    assert isinstance(meta, dict)
    assert meta["termsOfService"].endswith("/terms/v2")
    with pytest.raises(messages.Error) as caught:
        acme_client.new_order("b.example")
    assert caught.value.typ == "urn:ietf:params:acme:error:userActionRequired"
    assert caught.value.detail == "Terms of service have changed"
    answer = fake_acme.journal.requests("newOrder")[-1]
    assert (answer.status, answer.problem.type if answer.problem else None) == (
        403, "userActionRequired")
    assert '/terms/v2>;rel="terms-of-service"' in answer.headers["Link"]
    instance = answer.problem.extra["instance"] if answer.problem else ""
    page = requests.get(instance, verify=fake_acme.ca_bundle, timeout=10)
    assert page.status_code == 200
    assert "termsOfServiceAgreed" in page.text
    # Reads still work while the account is behind on the terms.
    assert acme_client.read(order.uri)["status"] == "pending"
    assert acme_client.regr is not None
    regr = acme_client.acme.update_registration(
        acme_client.regr.update(body=acme_client.regr.body.update(terms_of_service_agreed=True))
    )
    # The account object does not say it agreed: Let's Encrypt's shows key, createdAt and
    # status only (core/objects.go:84-101). The next order shows it.
    assert regr.body.status == "valid"
    assert acme_client.new_order("b.example").body.status == messages.STATUS_PENDING


@pytest.fixture
def eab_required(fake_acme: FakeACME) -> tuple[str, str]:
    fake_acme.configure(external_account_required=True)
    return fake_acme.eab.add()


def _register(fake: FakeACME, kid: str | None, hmac_key: str | None) -> AcmeTestClient:
    client = AcmeTestClient(fake)
    binding = None
    if kid is not None and hmac_key is not None:
        binding = messages.ExternalAccountBinding.from_data(
            account_public_key=client.key.public_key(), kid=kid, hmac_key=hmac_key,
            directory=client.directory,
        )
    client.regr = client.acme.new_account(messages.NewRegistration.from_data(
        email="eab@a.example", terms_of_service_agreed=True,
        external_account_binding=binding,
    ))
    return client


def test_external_account_binding_registers_and_binds_once(
    fake_acme: FakeACME, eab_required: tuple[str, str]
) -> None:
    kid, hmac_key = eab_required
    meta = _directory(fake_acme)["meta"]
    assert isinstance(meta, dict)
    assert meta["externalAccountRequired"] is True
    client = _register(fake_acme, kid, hmac_key)
    assert client.new_order("a.example").body.status == messages.STATUS_PENDING
    assert fake_acme.eab.bound_account(kid) == fake_acme.accounts[0].id
    with pytest.raises(messages.Error) as caught:
        _register(fake_acme, kid, hmac_key)
    assert caught.value.code == "unauthorized"
    assert "already bound" in str(caught.value.detail)


@pytest.mark.parametrize(
    ("how", "code"),
    [("missing", "externalAccountRequired"), ("unknown-kid", "unauthorized"),
     ("wrong-key", "unauthorized")],
)
def test_external_account_binding_failures(
    fake_acme: FakeACME, eab_required: tuple[str, str], how: str, code: str
) -> None:
    kid, hmac_key = eab_required
    _, other_key = fake_acme.eab.add()
    args = {
        "missing": (None, None),
        "unknown-kid": ("no-such-kid", hmac_key),
        "wrong-key": (kid, other_key),
    }[how]
    with pytest.raises(messages.Error) as caught:
        _register(fake_acme, *args)
    assert caught.value.typ == f"urn:ietf:params:acme:error:{code}"
    assert fake_acme.accounts == []


def test_eab_refuses_bad_keys(fake_acme: FakeACME) -> None:
    with pytest.raises(FakeACMEUsageError, match="16 bytes"):
        fake_acme.eab.add("k", b"short")
    with pytest.raises(FakeACMEUsageError, match="key ID"):
        fake_acme.eab.add("", None)
