"""The revocation (``rev-*``), renewal information (``ari-*``) and key rollover (``kc-*``) rows
of the Boulder table, over the fake's HTTPS server with raw JWS."""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any

import josepy as jose
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from boulder_table import expect, reproduces
from jwsclient import RawClient, b64, issued, new_key, public_jwk, ready_order
from pytest_fakeacme import FakeACME
from pytest_fakeacme.renewal import cert_id

#: The serial part of a certificate id for a serial the fake never issued.
NEVER_ISSUED = b64((12345).to_bytes(2, "big"))


def _certificate(raw: RawClient, fake: FakeACME, name: str = "a.example",
                 key: jose.JWK | None = None) -> tuple[x509.Certificate, str]:
    """A certificate issued to ``raw`` (for ``key`` when given): the leaf, and its DER in
    base64url."""
    fake.configure(async_finalize=False)
    issued(raw, fake, name, csr_key=key)
    view = next(c for c in fake.certificates if name in c.names)
    leaf = view.x509
    return leaf, b64(leaf.public_bytes(serialization.Encoding.DER))


def _serial(leaf: x509.Certificate) -> str:
    return f"{leaf.serial_number:036x}"


def _revoke(client: RawClient, payload: Any, **header: Any) -> requests.Response:
    return client.post(client.url("revokeCert"), payload, **header)


def _self_signed(subject: x509.Name | None = None, issuer: x509.Name | None = None
                 ) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "a.example")])
    now = _dt.datetime.now(_dt.timezone.utc)
    return (x509.CertificateBuilder().subject_name(subject or name)
            .issuer_name(issuer or name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + _dt.timedelta(days=1)).sign(key, hashes.SHA256()))


# revokeCert (wfe2/wfe.go RevokeCertificate, ra/ra.go)


def test_revocation_request_checks(raw: RawClient, fake_acme: FakeACME) -> None:
    leaf, der = _certificate(raw, fake_acme)
    request = {"certificate": der}
    expect("rev-01", _revoke(raw, request, content_type=None),
           'No Content-Type header on POST. Content-Type must be "application/jose+json"')
    expect("rev-02", _revoke(raw, request, jwk=True, kid=True))
    expect("rev-03", _revoke(raw, request, jwk=None, kid=None))
    expect("rev-04", _revoke(raw, request, signature=b"\x01" * 64), "JWS verification error")
    cert_key = RawClient(fake_acme)
    wrong = raw.url("newOrder")
    expect("rev-05", _revoke(cert_key, request, jwk=True, header_url=wrong),
           f'JWS header parameter \'url\' incorrect. Expected "{raw.url("revokeCert")}" got '
           f'"{wrong}"')
    expect("rev-06", _revoke(raw, None))
    expect("rev-06", _revoke(raw, {"certificate": "@@@"}))
    expect("rev-06", _revoke(raw, {"certificate": der, "reason": "1"}))
    expect("rev-06", _revoke(raw, {"certificate": der, "reason": 1.5}))
    expect("rev-07", _revoke(raw, {}))
    expect("rev-07", _revoke(raw, {"certificate": b64(b"not DER")}))
    foreign = _self_signed()
    expect("rev-08", _revoke(raw, {"certificate": b64(foreign.public_bytes(
        serialization.Encoding.DER))}))
    forged = _self_signed(issuer=leaf.issuer)
    expect("rev-09", _revoke(raw, {"certificate": b64(forged.public_bytes(
        serialization.Encoding.DER))}))
    for reason in (2, 3, 6, 8, 9, 10):
        expect("rev-11", _revoke(raw, {"certificate": der, "reason": reason}), reason)
    expect("rev-12", _revoke(cert_key, request, jwk=True))
    assert not fake_acme.certificates[0].revoked


def test_expired_certificate(raw: RawClient, fake_acme: FakeACME) -> None:
    _, der = _certificate(raw, fake_acme)
    fake_acme.clock.advance(days=91)
    raw.forget_nonce()  # the last answer's nonce expired with the clock

    # Before the reason is looked at.
    expect("rev-10", _revoke(raw, {"certificate": der, "reason": 3}))


@reproduces("rev-15", "rev-20")
def test_revocation_by_accounts(raw: RawClient, fake_acme: FakeACME) -> None:
    leaf, der = _certificate(raw, fake_acme)
    other = RawClient(fake_acme)
    other.register()
    expect("rev-14", _revoke(other, {"certificate": der}), _serial(leaf))
    ready_order(other, fake_acme, "a.example")  # the other account now controls a.example

    revoked = _revoke(other, {"certificate": der, "reason": 4})

    assert revoked.status_code == 200
    assert revoked.content == b""
    assert "Content-Type" not in revoked.headers
    (cert,) = fake_acme.store.certificates.values()
    assert cert.revoked_reason == 5  # cessationOfOperation, not the 4 asked for
    expect("rev-16", _revoke(raw, {"certificate": der}), _serial(leaf))


@reproduces("rev-18", "rev-19")
def test_revocation_by_the_certificate_key(raw: RawClient, fake_acme: FakeACME) -> None:
    cert_key = new_key("ES256")
    leaf, der = _certificate(raw, fake_acme, key=cert_key)
    holder = RawClient(fake_acme, key=cert_key)
    assert _revoke(raw, {"certificate": der, "reason": 4}).status_code == 200
    (cert,) = fake_acme.store.certificates.values()
    first = cert.revoked_at

    # Re-revoked for key compromise, the date kept; the key blocked from then on.
    assert _revoke(holder, {"certificate": der, "reason": 4}, jwk=True).status_code == 200
    assert (cert.revoked_reason, cert.revoked_at) == (1, first)
    expect("wfe-40", holder.post(holder.url("newAccount"), {"termsOfServiceAgreed": True},
                                 jwk=True))
    expect("rev-17", _revoke(holder, {"certificate": der}, jwk=True), _serial(leaf))


def test_a_serial_the_store_forgot(raw: RawClient, fake_acme: FakeACME) -> None:
    cert_key = new_key("ES256")
    leaf, der = _certificate(raw, fake_acme, key=cert_key)
    fake_acme.reset()  # the CA, and so the issuer, stays
    newcomer = RawClient(fake_acme)
    newcomer.register()

    expect("rev-13", _revoke(newcomer, {"certificate": der}), _serial(leaf))
    holder = RawClient(fake_acme, key=cert_key)
    expect("rev-21", _revoke(holder, {"certificate": der}, jwk=True), _serial(leaf),
           _serial(leaf))


# renewalInfo (wfe2/wfe.go RenewalInfo, parseARICertID)


def _renewal_info(raw: RawClient, cert_id_: str) -> requests.Response:
    return raw.get(f"{raw.url('renewalInfo')}/{cert_id_}")


def test_renewal_info_refusals(raw: RawClient, fake_acme: FakeACME) -> None:
    leaf, _ = _certificate(raw, fake_acme)
    aki = cert_id(leaf).split(".")[0]
    expect("ari-01", raw.get(raw.url("renewalInfo") + "/"), nonce=False)
    expect("ari-02", _renewal_info(raw, "abc"), nonce=False)
    expect("ari-02", _renewal_info(raw, f"{aki}."), nonce=False)
    expect("ari-03", _renewal_info(raw, "a$.AA"), "illegal base64 data at input byte 1",
           nonce=False)
    expect("ari-03", _renewal_info(raw, "AAAAA.AA"), "illegal base64 data at input byte 4",
           nonce=False)
    expect("ari-04", _renewal_info(raw, "AAAA.AAAA"), nonce=False)
    expect("ari-05", _renewal_info(raw, f"{aki}.A="), "illegal base64 data at input byte 1",
           nonce=False)
    expect("ari-06", _renewal_info(raw, f"{aki}.{NEVER_ISSUED}"), nonce=False)


@reproduces("ari-08", "ari-14", "ari-15")
def test_renewal_windows(raw: RawClient, fake_acme: FakeACME) -> None:
    fake_acme.clock.freeze(_dt.datetime(2027, 3, 1, 12, 0, 0, 250_000, tzinfo=_dt.timezone.utc))
    raw.forget_nonce()  # the last answer's nonce expired with the clock
    leaf, der = _certificate(raw, fake_acme)
    answers = [_renewal_info(raw, cert_id(leaf)) for _ in range(20)]
    delays = {int(a.headers["Retry-After"]) for a in answers}
    assert all(17280 <= d <= 25920 for d in delays)
    assert len(delays) > 1  # jittered
    # Issued at 12:00:00.25, backdated 58m30s, 90 days: a third of (notAfter + 1 s - issued)
    # before notAfter, give or take a hundredth, truncated to the second.
    issued_at = _dt.datetime(2027, 3, 1, 12, 0, 0, 250_000, tzinfo=_dt.timezone.utc)
    not_after = leaf.not_valid_after_utc
    validity = not_after + _dt.timedelta(seconds=1) - issued_at
    ideal = not_after - validity / 3
    start = (ideal - validity / 100).replace(microsecond=0)
    end = (ideal + validity / 100).replace(microsecond=0)
    assert answers[0].json() == {"suggestedWindow": {
        "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "end": end.strftime("%Y-%m-%dT%H:%M:%SZ")}}
    assert _revoke(raw, {"certificate": der}).status_code == 200
    hour_ago = _dt.datetime(2027, 3, 1, 11, 0, 0, tzinfo=_dt.timezone.utc)
    assert _renewal_info(raw, cert_id(leaf)).json() == {"suggestedWindow": {
        "start": hour_ago.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": (hour_ago + _dt.timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")}}


# newOrder's replaces (wfe2/wfe.go validateReplacementOrder)


def _replacing(raw: RawClient, name: str, replaces: str) -> requests.Response:
    return raw.post(raw.url("newOrder"), {"identifiers": [{"type": "dns", "value": name}],
                                          "replaces": replaces})


@reproduces("ari-16")
def test_replaces(raw: RawClient, fake_acme: FakeACME) -> None:
    leaf, _ = _certificate(raw, fake_acme)
    ident = cert_id(leaf)
    aki = ident.split(".")[0]
    expect("ari-09a", _replacing(raw, "a.example", "x"))
    expect("ari-09b", _replacing(raw, "a.example", "a$.AA"),
           "illegal base64 data at input byte 1")
    expect("ari-09c", _replacing(raw, "a.example", "AAAA.AAAA"))
    expect("ari-09d", _replacing(raw, "a.example", f"{aki}.A="),
           "illegal base64 data at input byte 1")
    never = int.from_bytes(b"\x30\x39", "big")
    expect("ari-11", _replacing(raw, "a.example", f"{aki}.{NEVER_ISSUED}"), f"{never:036x}")
    expect("ari-13", _replacing(raw, "b.example", ident))
    other = RawClient(fake_acme)
    other.register()
    expect("ari-12", _replacing(other, "a.example", ident))
    first = _replacing(raw, "a.example", ident)
    assert first.status_code == 201, first.text
    # Checked before the owner: the other account hears of the replacement first.
    expect("ari-10", _replacing(other, "a.example", ident), _serial(leaf))
    # The replacement fails (its reused authorization deactivated): the certificate may be
    # replaced again.
    deactivated = raw.post(first.json()["authorizations"][0], {"status": "deactivated"})
    assert deactivated.status_code == 200
    assert raw.post_as_get(first.headers["Location"]).json()["status"] == "invalid"
    assert _replacing(raw, "a.example", ident).status_code == 201


# keyChange (wfe2/wfe.go KeyRollover, wfe2/verify.go validKeyRollover)


def _key_change(raw: RawClient, new: jose.JWK, *, protected: dict[str, Any] | None = None,
                payload: Any = None, sign_with: jose.JWK | None = None,
                drop: str | None = None) -> requests.Response:
    url = raw.url("keyChange")
    header = {"alg": "ES256", "jwk": public_jwk(new), "url": url}
    header.update(protected or {})
    header = {k: v for k, v in header.items() if v is not None}
    body = payload if payload is not None else {"account": raw.kid,
                                                "oldKey": public_jwk(raw.key)}
    inner: dict[str, Any] = raw.envelope(header, json.dumps(body).encode(),
                                         key=sign_with or new)
    if drop is not None:
        inner.pop(drop)
    return raw.post(url, inner)


def test_key_change_refusals(raw: RawClient, fake_acme: FakeACME) -> None:
    new = new_key("ES256")
    order_url = raw.url("newOrder")
    expect("kc-01", raw.post(raw.url("keyChange"), {}, header_url=order_url),
           f'JWS header parameter \'url\' incorrect. Expected "{raw.url("keyChange")}" got '
           f'"{order_url}"')
    expect("kc-02", _key_change(raw, new, drop="payload"))
    expect("kc-03", _key_change(raw, new, protected={"alg": "none"}), "none")
    expect("kc-04a", _key_change(raw, new, protected={"kid": raw.kid}))
    expect("kc-04b", _key_change(raw, new, protected={"kid": raw.kid, "jwk": None}))
    p521 = new_key("ES512")
    expect("kc-05", _key_change(raw, p521, protected={"alg": "ES512"}),
           "ECDSA curve P-521 not allowed")
    expect("kc-06", _key_change(raw, new, protected={"alg": "ES384"}), "ES384", "ES256")
    expect("kc-07", _key_change(raw, new, sign_with=new_key("ES256")))
    expect("kc-08a", _key_change(raw, new, protected={"url": None}))
    expect("kc-08b", _key_change(raw, new, protected={"url": order_url}),
           raw.url("keyChange"), order_url)
    expect("kc-10", _key_change(raw, new, payload={"account": 5}))
    expect("kc-11", _key_change(raw, new, payload={"account": raw.kid}))
    expect("kc-11", _key_change(raw, new, payload={"account": "elsewhere",
                                                   "oldKey": public_jwk(new_key("ES256"))}))
    expect("kc-12", _key_change(raw, new, payload={"account": "elsewhere",
                                                   "oldKey": public_jwk(raw.key)}),
           "elsewhere", raw.kid)
    expect("kc-13", _key_change(raw, raw.key))
    other = RawClient(fake_acme)
    other.register()
    taken = _key_change(raw, other.key)
    expect("kc-14", taken)
    assert taken.headers["Location"] == other.kid
    assert fake_acme.accounts[0].jwk == public_jwk(raw.key)


@reproduces("kc-09", "kc-15")
def test_key_change_succeeds_with_an_inner_nonce(raw: RawClient, fake_acme: FakeACME) -> None:
    new = new_key("ES256")

    changed = _key_change(raw, new, protected={"nonce": "ignored"})

    assert changed.status_code == 200, changed.text
    assert "Location" not in changed.headers
    (account,) = fake_acme.accounts
    assert account.jwk == public_jwk(new)


@pytest.fixture(autouse=True)
def _sync_finalize(fake_acme: FakeACME) -> None:
    fake_acme.configure(async_finalize=False)
