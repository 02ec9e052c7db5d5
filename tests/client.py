"""Drive the fake with certbot's ``acme`` library, unmodified.

The helpers only sequence the library's own calls. ``virtual_sleep`` replaces the library's
``time.sleep`` (its fixed one-second poll interval and Retry-After waits) with a move of the
fake's clock by the same amount, and records what was asked: the client still "waits", on the
fake's time, and tests stay fast and deterministic.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
from collections.abc import Iterator, Sequence
from typing import Any

import josepy as jose
import requests
from acme import challenges, client, crypto_util, messages
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from pytest_fakeacme import FakeACME
from responder import Responder


def ec_key(curve: ec.EllipticCurve | None = None) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(curve or ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def make_csr(names: Sequence[str], key: ec.EllipticCurvePrivateKey | None = None) -> bytes:
    return crypto_util.make_csr(key_pem(key or ec_key()), list(names))


def make_ip_csr(address: str) -> bytes:
    """A CSR for one IP address identifier (RFC 8738), as a fresh P-256 key asks for it."""
    return crypto_util.make_csr(key_pem(ec_key()), ipaddrs=[ipaddress.ip_address(address)])


class AcmeTestClient:
    """One ACME account driven through ``acme.client.ClientV2``."""

    def __init__(
        self,
        fake: FakeACME,
        key: jose.JWK | None = None,
        alg: jose.JWASignature = jose.ES256,
    ) -> None:
        self.fake = fake
        self.key = key or jose.JWKEC(key=ec_key())
        # ClientNetwork passes verify_ssl to requests' verify=, which takes a CA bundle path.
        self.net = client.ClientNetwork(
            self.key, alg=alg, verify_ssl=fake.ca_bundle  # type: ignore[arg-type]
        )
        self.directory = client.ClientV2.get_directory(fake.directory_url, self.net)
        self.acme = client.ClientV2(self.directory, self.net)
        self.regr: messages.RegistrationResource | None = None
        self.slept: list[float] = []

    def register(self, email: str | None = None) -> messages.RegistrationResource:
        reg = messages.NewRegistration.from_data(email=email, terms_of_service_agreed=True)
        self.regr = self.acme.new_account(reg)
        return self.regr

    def new_order(self, *names: str) -> messages.OrderResource:
        return self.acme.new_order(make_csr(names))

    def post_as_get(self, url: str) -> requests.Response:
        """Read ``url`` by POST-as-GET (RFC 8555 6.3), signed by this account.

        The one place the tests reach into the library's private ``ClientV2._post_as_get``:
        ``acme`` has no public POST-as-GET for an arbitrary URL (its public reads, ``poll`` and
        friends, parse into resources, retry or sleep), and tests want the raw answer.
        """
        response: requests.Response = self.acme._post_as_get(url)
        return response

    def read(self, url: str) -> dict[str, Any]:
        """The JSON body of a POST-as-GET of ``url``."""
        body: dict[str, Any] = self.post_as_get(url).json()
        return body

    @staticmethod
    def challenge(
        authzr: messages.AuthorizationResource,
        kind: type[challenges.Challenge] = challenges.HTTP01,
    ) -> messages.ChallengeBody:
        for chall in authzr.body.challenges:
            if isinstance(chall.chall, kind):
                return chall
        raise AssertionError(f"no {kind.typ} challenge in {authzr.body.to_json()}")

    def answer_http01(
        self, order: messages.OrderResource, responder: Responder | None = None
    ) -> list[messages.ChallengeResource]:
        """Serve each authorization's http-01 key authorization (if a responder is given) and
        tell the server to validate."""
        answered = []
        for authzr in order.authorizations:
            if authzr.body.status != messages.STATUS_PENDING:
                continue
            chall = self.challenge(authzr)
            response, validation = chall.response_and_validation(self.key)
            if responder is not None:
                responder.serve(chall.chall.encode("token"), validation)
            answered.append(self.acme.answer_challenge(chall, response))
        return answered

    @contextlib.contextmanager
    def virtual_sleep(self) -> Iterator[list[float]]:
        """Make the library's sleeps advance the fake's clock instead of waiting."""
        import acme.client as acme_client

        real_time = acme_client.time

        class _Time:
            def __getattr__(inner, name: str) -> object:
                return getattr(real_time, name)

            def sleep(inner, seconds: float) -> None:
                self.slept.append(seconds)
                if seconds > 0:
                    self.fake.clock.advance(seconds=seconds)

        acme_client.time = _Time()  # type: ignore[assignment]
        try:
            yield self.slept
        finally:
            acme_client.time = real_time

    def poll_and_finalize(self, order: messages.OrderResource) -> messages.OrderResource:
        deadline = datetime.datetime.now() + datetime.timedelta(seconds=30)
        with self.virtual_sleep():
            return self.acme.poll_and_finalize(order, deadline)

    def poll_authorizations(self, order: messages.OrderResource) -> messages.OrderResource:
        deadline = datetime.datetime.now() + datetime.timedelta(seconds=30)
        with self.virtual_sleep():
            return self.acme.poll_authorizations(order, deadline)

    def issue(self, *names: str, responder: Responder) -> messages.OrderResource:
        order = self.new_order(*names)
        self.answer_http01(order, responder)
        return self.poll_and_finalize(order)
