"""Fixtures shared by the test suite: a real http-01 responder and certbot's acme client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from client import AcmeTestClient
from pytest_fakeacme import FakeACME
from responder import Responder


@pytest.fixture(autouse=True)
def _no_ca_bundle_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's verify=; tests
    # must trust exactly the fake's bundle, whatever the machine's environment says.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


@pytest.fixture(scope="session")
def _session_responder(fake_acme_session: FakeACME) -> Iterator[Responder]:
    responder = Responder(fake_acme_session.http01_port)
    yield responder
    responder.close()


@pytest.fixture
def responder(_session_responder: Responder, fake_acme: FakeACME) -> Iterator[Responder]:
    """An http-01 responder on the fake's http01_port, emptied for each test."""
    _session_responder.clear()
    yield _session_responder
    _session_responder.clear()


@pytest.fixture
def acme_client(fake_acme: FakeACME) -> AcmeTestClient:
    """A registered account (ES256) on the fake, driven by certbot's acme library."""
    client = AcmeTestClient(fake_acme)
    client.register(email="tester@example.com")
    return client
