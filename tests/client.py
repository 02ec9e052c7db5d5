"""Drive the fake with certbot's ``acme`` library, unmodified.

The helpers only sequence the library's own calls. ``virtual_sleep`` replaces the library's
``time.sleep`` (its fixed one-second poll interval and Retry-After waits) with a move of the
fake's clock by the same amount, and records what was asked: the client still "waits", on the
fake's time, and tests stay fast and deterministic.

:func:`validate` drives one order to one validation and reads back what the client sees
(:class:`Validation`, with the :class:`Info` expected details are written from): the one
helper of the VA test modules.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import josepy as jose
import requests
from acme import challenges, client, crypto_util, messages
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from pytest_fakeacme import FakeACME, Outcome
from responder import Responder


def ec_key(curve: ec.EllipticCurve | None = None) -> ec.EllipticCurvePrivateKey:
    """A fresh EC key (P-256 unless ``curve`` says otherwise)."""
    return ec.generate_private_key(curve or ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    """``key`` as unencrypted PKCS#8 PEM, as acme's crypto_util takes it."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def make_csr(names: Sequence[str], key: ec.EllipticCurvePrivateKey | None = None) -> bytes:
    """A CSR (PEM) for DNS ``names``, by ``key`` or a fresh P-256 key."""
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
        """Create the account, agreeing to the terms."""
        reg = messages.NewRegistration.from_data(email=email, terms_of_service_agreed=True)
        self.regr = self.acme.new_account(reg)
        return self.regr

    def new_order(self, *names: str) -> messages.OrderResource:
        """A new order for DNS ``names`` (with a fresh key's CSR)."""
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
        """The authorization's challenge of the library's class ``kind``."""
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
        """The library's poll_and_finalize, its sleeps on the fake's clock."""
        deadline = datetime.datetime.now() + datetime.timedelta(seconds=30)
        with self.virtual_sleep():
            return self.acme.poll_and_finalize(order, deadline)

    def poll_authorizations(self, order: messages.OrderResource) -> messages.OrderResource:
        """The library's poll_authorizations, its sleeps on the fake's clock."""
        deadline = datetime.datetime.now() + datetime.timedelta(seconds=30)
        with self.virtual_sleep():
            return self.acme.poll_authorizations(order, deadline)

    def issue(self, *names: str, responder: Responder | None = None) -> messages.OrderResource:
        """Order ``names``, answer http-01 (served by ``responder``, if given; else the VA's
        default or script decides) and poll and finalize: the finished order."""
        order = self.new_order(*names)
        self.answer_http01(order, responder)
        return self.poll_and_finalize(order)


# One validation, driven to its end and read back (the VA test modules).

HTTP01, DNS01, TLSALPN01 = "http-01", "dns-01", "tls-alpn-01"
URN = "urn:ietf:params:acme:error:"


class _TLSALPN01Response(challenges.KeyAuthorizationChallengeResponse):
    """The ``{}`` a client POSTs to start a tls-alpn-01 validation (the acme library no longer
    ships a tls-alpn-01 class; the challenge itself parses as an unrecognized one). It carries
    a field so that the library sends ``{}`` rather than an empty POST-as-GET body."""

    typ = TLSALPN01


@dataclass(frozen=True)
class Info:
    """What an expected detail is written from: the identifier's name (a wildcard's without
    ``*.``), the challenge's token and key authorization, and the fake's stand-ins for ports 80
    (``http_port``, it shows in the challenge URL) and 443 (``alpn_port``, for tls-alpn-01)."""

    name: str
    token: str
    key_authz: str
    http_port: int
    alpn_port: int

    @property
    def path(self) -> str:
        """The http-01 challenge's path."""
        return f"/.well-known/acme-challenge/{self.token}"

    @property
    def base(self) -> str:
        """Where the VA's http-01 requests go: ``http://name:http_port``."""
        return f"http://{self.name}:{self.http_port}"

    @property
    def url(self) -> str:
        """The http-01 challenge URL the VA fetches first."""
        return self.base + self.path

    @property
    def https_url(self) -> str:
        """The challenge URL redirected to https (port 443, so none shown)."""
        return f"https://{self.name}{self.path}"


@dataclass
class Validation:
    """What the client reads back after one validation: the authorization, the attempted
    challenge and the order as JSON (``authz``, ``challenge``, ``order_json``), and the order
    resource for the library's own polling (``order``)."""

    info: Info
    order: messages.OrderResource
    authz: dict[str, Any]
    challenge: dict[str, Any]
    order_json: dict[str, Any]

    @property
    def error(self) -> dict[str, Any] | None:
        """The challenge's problem document, if any."""
        error: dict[str, Any] | None = self.challenge.get("error")
        return error

    @property
    def records(self) -> list[dict[str, Any]]:
        """The challenge's validationRecord ([] when it has none)."""
        records: list[dict[str, Any]] = self.challenge.get("validationRecord", [])
        return records

    def invalid(self) -> None:
        """The authorization and the order are invalid, the order with no error of its own
        (Boulder keeps the problem on the challenge)."""
        assert self.authz["status"] == "invalid"
        assert self.order_json["status"] == "invalid"
        assert "error" not in self.order_json

    def failed(self, kind: str, status: int, detail: str) -> None:
        """The challenge failed with exactly this problem, and left everything invalid."""
        assert self.error == {"type": URN + kind, "detail": detail, "status": status}
        assert self.challenge["status"] == "invalid"
        self.invalid()

    def passed(self) -> None:
        """The challenge passed: valid, no problem, the order ready to finalize."""
        assert "error" not in self.challenge, self.error
        assert self.challenge["status"] == "valid"
        assert self.authz["status"] == "valid"
        assert self.order_json["status"] == "ready"


def http_record(url: str, host: str, port: int, address: str = "127.0.0.1",
                resolved: list[str] | None = None) -> dict[str, Any]:
    """An http-01 validation record as Boulder serves it (core.ValidationRecord): one URL
    fetched from ``address`` (of ``resolved``, by default just that address)."""
    return {"url": url, "hostname": host, "port": str(port),
            "addressesResolved": resolved or [address], "addressUsed": address}


def pick_challenge(authzr: messages.AuthorizationResource, typ: str) -> messages.ChallengeBody:
    """The authorization's challenge of type ``typ`` (by its JSON type: tls-alpn-01 has no
    class in the acme library)."""
    for challb in authzr.body.challenges:
        if challb.to_partial_json()["type"] == typ:
            return challb
    raise AssertionError(f"no {typ} challenge in {authzr.body.to_json()}")


def challenge_response(key: jose.JWK, challb: messages.ChallengeBody
                       ) -> challenges.ChallengeResponse:
    """What a client POSTs to start the validation of ``challb`` (``{}`` in effect, whatever
    the challenge type; tls-alpn-01 too, which the acme library no longer models)."""
    if isinstance(challb.chall, challenges.KeyAuthorizationChallenge):
        return challb.chall.response(key)
    return _TLSALPN01Response(key_authorization="")


def answer(client: AcmeTestClient, challb: messages.ChallengeBody) -> None:
    """POST the challenge's response to start its validation; Boulder answers 200 with the
    challenge still pending."""
    challr = client.acme.answer_challenge(challb, challenge_response(client.key, challb))
    assert challr.body.status == messages.STATUS_PENDING


def validate(
    fake: FakeACME,
    client: AcmeTestClient,
    name: str,
    typ: str = HTTP01,
    *,
    setup: Callable[[Info], object] | None = None,
    outcome: Callable[[Info], Outcome] | None = None,
) -> Validation:
    """Order ``name``, let ``setup`` arrange things (responders, ports), script ``outcome``
    for ``name`` if given, answer the ``typ`` challenge and read everything back.

    A read waits for the attempt in flight, so what is read is the attempt's result. Boulder
    then lists only the attempted challenge on the authorization, which is checked here.
    """
    order = client.new_order(name)
    authzr = order.authorizations[0]
    challb = pick_challenge(authzr, typ)
    token = challb.to_partial_json().get("token", "")  # dns-persist-01 has none
    thumbprint = jose.b64encode(client.key.thumbprint()).decode()
    info = Info(name.removeprefix("*."), token, f"{token}.{thumbprint}",
                fake.http01_port, fake.tls_alpn01_port)
    if setup is not None:
        setup(info)
    if outcome is not None:
        fake.va.script(name, outcome(info))
    answer(client, challb)
    authz = client.read(authzr.uri)
    (challenge,) = authz["challenges"]
    assert challenge["type"] == typ
    return Validation(info, order, authz, challenge, client.read(order.uri))
