"""Let's Encrypt's profiles and their dated schedule: each profile's certificate (subject CN,
key usages, subject key identifier, EKU, lifetime), its authorizations' and orders' lifetimes
and reuse period, on each side of each published date (``policy_date``), through certbot's
``acme`` library and real certificates."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from boulder_table import expect, reproduces
from client import AcmeTestClient
from jwsclient import RawClient, challenge_of
from pytest_fakeacme import FakeACME, FakeACMEUsageError
from pytest_fakeacme.profiles import lets_encrypt_profiles

pytestmark = pytest.mark.fake_acme(va_default="valid")

DAY = _dt.timedelta(days=1)
HOUR = _dt.timedelta(hours=1)


def _csr(names: Sequence[str], common_name: str | None = None, rsa_key: bool = False) -> bytes:
    key = (rsa.generate_private_key(public_exponent=65537, key_size=2048) if rsa_key
           else ec.generate_private_key(ec.SECP256R1()))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
                        if common_name else [])
    csr = (x509.CertificateSigningRequestBuilder().subject_name(subject)
           .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                          critical=False)
           .sign(key, hashes.SHA256()))
    return csr.public_bytes(serialization.Encoding.PEM)


def _issue(client: AcmeTestClient, csr: bytes, profile: str | None = None
           ) -> tuple[x509.Certificate, str]:
    order = client.acme.new_order(csr, profile=profile)
    client.answer_http01(order)
    done = client.poll_and_finalize(order)
    leaf = x509.load_pem_x509_certificates(done.fullchain_pem.encode())[0]
    return leaf, order.uri


def _lifetime(leaf: x509.Certificate) -> _dt.timedelta:
    # Boulder's notAfter is notBefore + validity - 1 s (issuance/cert.go:132-135).
    return leaf.not_valid_after_utc - leaf.not_valid_before_utc + _dt.timedelta(seconds=1)


def _ekus(leaf: x509.Certificate) -> list[x509.ObjectIdentifier]:
    return list(leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def _has(leaf: x509.Certificate, kind: type[x509.ExtensionType]) -> bool:
    try:
        leaf.extensions.get_extension_for_class(kind)
    except x509.ExtensionNotFound:
        return False
    return True


@reproduces("misc-03", "misc-05")
def test_classic_today(fake_acme: FakeACME, acme_client: AcmeTestClient) -> None:
    # The pinned policy date (2026-12-07): 90 days, a CN, keyEncipherment for RSA, a subject
    # key identifier, serverAuth only (letsencrypt.org/docs/profiles).
    leaf, _ = _issue(acme_client, _csr(["b.example", "a.example"], rsa_key=True))
    assert _lifetime(leaf) == 90 * DAY
    # No CN in the CSR: its first DNS name is promoted, in the CSR's order (csr/csr.go:116-124).
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "b.example"
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature
    assert usage.key_encipherment
    assert _has(leaf, x509.SubjectKeyIdentifier)
    assert _ekus(leaf) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert not leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).critical


@reproduces("misc-05")
def test_classic_common_name_rules(fake_acme: FakeACME, acme_client: AcmeTestClient) -> None:
    # The CSR's own CN is kept, lower-cased (csr/csr.go:108-113).
    leaf, _ = _issue(acme_client, _csr(["a.example", "www.a.example"], "WWW.A.example"))
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "www.a.example"
    # A name too long for a CN is skipped; the next short one is promoted.
    long_name = "x" * 60 + ".a.example"
    leaf, _ = _issue(acme_client, _csr([long_name, "b.a.example"]))
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "b.a.example"
    # Only long names: no CN at all, and the SAN extension is critical (RFC 5280 4.2.1.6).
    leaf, _ = _issue(acme_client, _csr([long_name]))
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME) == []
    assert leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).critical


@reproduces("misc-03", "misc-05")
def test_tlsserver_and_shortlived(fake_acme: FakeACME, acme_client: AcmeTestClient) -> None:
    for profile, lifetime in (("tlsserver", 45 * DAY), ("shortlived", 160 * HOUR)):
        leaf, _ = _issue(acme_client, _csr([f"{profile}.example"], f"{profile}.example",
                                           rsa_key=True), profile)
        assert _lifetime(leaf) == lifetime, profile
        # No CN even when asked, no keyEncipherment, no subject key identifier.
        assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME) == []
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
        assert usage.digital_signature
        assert not usage.key_encipherment
        assert not _has(leaf, x509.SubjectKeyIdentifier)
        assert _ekus(leaf) == [ExtendedKeyUsageOID.SERVER_AUTH]


@reproduces("misc-04")
def test_lifetimes_and_reuse_by_profile(fake_acme: FakeACME,
                                        acme_client: AcmeTestClient) -> None:
    fake_acme.clock.freeze("2026-12-07T12:00:00Z")
    fake_acme.configure(order_reuse=False)  # each newOrder a new order, to read its authzs
    start = fake_acme.clock.now()
    # tlsserver: authorizations pending for 1 hour, orders for 8 (bounded by the
    # authorizations: ra/ra.go:2306-2342, so 1 hour), reuse for 7 hours.
    order = acme_client.acme.new_order(_csr(["a.example"]), profile="tlsserver")
    view = fake_acme.orders[-1]
    assert view.authorizations[0].expires == start + HOUR
    assert view.expires == start + HOUR
    acme_client.answer_http01(order)
    acme_client.poll_and_finalize(order)
    validated = fake_acme.authorizations[-1]
    assert validated.status == "valid"
    assert validated.expires == start + 7 * HOUR
    # A new tlsserver order reuses it while it has more than an hour left (Boulder's cutoff,
    # an eighth of the order's 8 hours, at least 1 hour: ra/ra.go:2187-2199), and lives no
    # longer than it.
    fake_acme.clock.advance(hours=5, minutes=59)
    acme_client.acme.new_order(_csr(["a.example"]), profile="tlsserver")
    again = fake_acme.orders[-1]
    assert again.authorizations[0].id == validated.id
    assert again.expires == start + 7 * HOUR
    # ... but a classic order does not (Boulder reuses within a profile: ra/ra.go:2225-2231),
    # and gets classic's 7-day lifetimes.
    acme_client.acme.new_order(_csr(["a.example"]))
    classic = fake_acme.orders[-1]
    assert classic.authorizations[0].id != validated.id
    assert classic.authorizations[0].expires == fake_acme.clock.now() + 7 * DAY
    assert classic.expires == fake_acme.clock.now() + 7 * DAY
    # With an hour left, a tlsserver order needs a new authorization.
    fake_acme.clock.advance(minutes=1)
    acme_client.acme.new_order(_csr(["a.example"]), profile="tlsserver")
    assert fake_acme.orders[-1].authorizations[0].id != validated.id


def test_classic_reuses_only_authorizations_with_a_day_left(
        fake_acme: FakeACME, acme_client: AcmeTestClient) -> None:
    # Classic's 7-day orders: an eighth is 21 hours (ra/ra.go:2187-2193).
    fake_acme.clock.freeze("2026-12-07T12:00:00Z")
    fake_acme.configure(order_reuse=False)
    _issue(acme_client, _csr(["a.example"]))
    validated = fake_acme.authorizations[-1]
    fake_acme.clock.freeze(validated.expires - 21 * HOUR - _dt.timedelta(minutes=1))
    acme_client.acme.new_order(_csr(["a.example"]))
    assert fake_acme.orders[-1].authorizations[0].id == validated.id
    fake_acme.clock.advance(minutes=2)                      # 20 h 59 min left
    acme_client.acme.new_order(_csr(["a.example"]))
    assert fake_acme.orders[-1].authorizations[0].id != validated.id


def _validated_expiry(fake: FakeACME, client: AcmeTestClient) -> _dt.timedelta:
    """How long classic's authorization lives once valid."""
    fake.clock.freeze("2026-12-07T12:00:00Z")
    _issue(client, _csr(["reuse.example"]))
    authz = fake.authorizations[-1]
    validated = authz.challenges[0].validated
    assert validated is not None
    return authz.expires - validated


@pytest.mark.parametrize(("policy_date", "validity", "reuse"), [
    ("2027-02-09", 90 * DAY, 30 * DAY),
    ("2027-02-10", 64 * DAY, 10 * DAY),
    ("2028-02-15", 64 * DAY, 10 * DAY),
    ("2028-02-16", 45 * DAY, 7 * HOUR),
])
def test_classic_on_each_side_of_each_date(fake_acme: FakeACME, acme_client: AcmeTestClient,
                                           policy_date: str, validity: _dt.timedelta,
                                           reuse: _dt.timedelta) -> None:
    # letsencrypt.org/2025/12/02/from-90-to-45: classic 64 days with 10-day authorization
    # reuse from 2027-02-10, 45 days with 7-hour reuse from 2028-02-16.
    fake_acme.configure(policy_date=policy_date)
    assert _validated_expiry(fake_acme, acme_client) == reuse
    leaf = x509.load_pem_x509_certificate(fake_acme.certificates[-1].pem.encode())
    assert _lifetime(leaf) == validity
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)  # still a CN


@pytest.mark.parametrize(("policy_date", "validity"), [
    ("2026-05-12", 90 * DAY), ("2026-05-13", 45 * DAY)])
def test_tlsserver_on_each_side_of_2026_05_13(fake_acme: FakeACME, acme_client: AcmeTestClient,
                                               policy_date: str,
                                               validity: _dt.timedelta) -> None:
    fake_acme.configure(policy_date=policy_date)
    leaf, _ = _issue(acme_client, _csr(["a.example"]), "tlsserver")
    assert _lifetime(leaf) == validity


@pytest.mark.parametrize(("policy_date", "client_auth"), [
    ("2026-02-10", True), ("2026-02-11", False)])
def test_classic_client_auth_until_2026_02_11(fake_acme: FakeACME, acme_client: AcmeTestClient,
                                              policy_date: str, client_auth: bool) -> None:
    fake_acme.configure(policy_date=policy_date)
    leaf, _ = _issue(acme_client, _csr(["a.example"]))
    expected = [ExtendedKeyUsageOID.SERVER_AUTH] + (
        [ExtendedKeyUsageOID.CLIENT_AUTH] if client_auth else [])
    assert _ekus(leaf) == expected


@pytest.mark.parametrize(("policy_date", "offered"), [
    ("2025-09-30", False), ("2025-10-01", True), ("2026-07-07", True), ("2026-07-08", False)])
def test_tlsclient_offered_only_in_its_window(fake_acme: FakeACME, policy_date: str,
                                              offered: bool) -> None:
    fake_acme.configure(policy_date=policy_date)
    meta = requests.get(fake_acme.directory_url, verify=fake_acme.ca_bundle,
                        timeout=10).json()["meta"]
    assert ("tlsclient" in meta["profiles"]) is offered
    assert {"classic", "tlsserver", "shortlived"} <= set(meta["profiles"])


def test_tlsclient_certificates_carry_client_auth(fake_acme: FakeACME,
                                                  acme_client: AcmeTestClient) -> None:
    fake_acme.configure(policy_date="2026-03-01")
    leaf, _ = _issue(acme_client, _csr(["a.example"]), "tlsclient")
    assert _ekus(leaf) == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    assert _lifetime(leaf) == 90 * DAY


def test_policy_date_clock_follows_the_fakes_clock(fake_acme: FakeACME,
                                                   acme_client: AcmeTestClient) -> None:
    fake_acme.configure(policy_date="clock")
    fake_acme.clock.freeze("2028-02-15T23:00:00Z")
    leaf, _ = _issue(acme_client, _csr(["a.example"]))
    assert _lifetime(leaf) == 64 * DAY
    fake_acme.clock.advance(hours=1)
    leaf, _ = _issue(acme_client, _csr(["b.example"]))
    assert _lifetime(leaf) == 45 * DAY


def test_the_default_policy_date_ignores_the_clock(fake_acme: FakeACME,
                                                   acme_client: AcmeTestClient) -> None:
    # Pinned to the release's date: a clock in 2029 changes nothing.
    fake_acme.clock.freeze("2029-01-01T00:00:00Z")
    leaf, _ = _issue(acme_client, _csr(["a.example"]))
    assert _lifetime(leaf) == 90 * DAY
    assert fake_acme.settings.policy_date == "2026-12-07"


def test_policy_date_is_checked() -> None:
    fake = FakeACME()
    with pytest.raises(FakeACMEUsageError, match="policy_date takes a date such as"):
        fake.configure(policy_date="next year")
    with pytest.raises(FakeACMEUsageError, match="policy_date must be a string"):
        fake.configure(policy_date=_dt.date(2028, 2, 16))


def test_custom_profiles_replace_lets_encrypts(fake_acme: FakeACME,
                                               acme_client: AcmeTestClient) -> None:
    mine = lets_encrypt_profiles(_dt.date(2026, 12, 7))["tlsserver"]
    fake_acme.configure(profiles={"mine": mine}, default_profile="mine")
    meta = requests.get(fake_acme.directory_url, verify=fake_acme.ca_bundle,
                        timeout=10).json()["meta"]
    assert set(meta["profiles"]) == {"mine"}
    leaf, _ = _issue(acme_client, _csr(["a.example"]))
    assert _lifetime(leaf) == 45 * DAY


def test_policy_date_through_the_management_api(fake_acme: FakeACME) -> None:
    url = fake_acme.management_url
    answer = requests.post(f"{url}/settings", json={"policy_date": "2028-02-16"},
                           verify=fake_acme.ca_bundle, timeout=10)
    assert answer.status_code == 200, answer.text
    shown = requests.get(f"{url}/settings", verify=fake_acme.ca_bundle, timeout=10).json()
    assert shown["policy_date"] == "2028-02-16"
    assert shown["profiles"]["classic"]["validity"] == (45 * DAY).total_seconds()
    assert shown["profiles"]["classic"]["authz_reuse"] == (7 * HOUR).total_seconds()
    assert shown["profiles"]["shortlived"]["identifier_types"] == ["dns", "ip"]


def test_a_profile_withdrawn_before_finalize(fake_acme: FakeACME, raw: RawClient) -> None:
    # tlsclient is gone on 2026-07-08: an order made the day before cannot be finalized after
    # (Boulder checks the order's profile again at finalize: wfe2/wfe.go:2697-2705).
    fake_acme.configure(policy_date="clock")
    fake_acme.clock.freeze("2026-05-01T12:00:00Z")    # a prior user of tlsclient
    raw.forget_nonce()
    raw.new_order("z.example", profile="tlsclient")
    fake_acme.clock.freeze("2026-07-07T23:00:00Z")
    raw.forget_nonce()
    order = raw.new_order("a.example", profile="tlsclient").json()
    authz = raw.post_as_get(order["authorizations"][0]).json()
    raw.post(challenge_of(authz, "http-01")["url"], {})
    assert raw.post_as_get(order["authorizations"][0]).json()["status"] == "valid"
    fake_acme.clock.advance(hours=2)
    raw.forget_nonce()
    csr = x509.load_pem_x509_csr(_csr(["a.example"]))
    refused = raw.finalize(order, csr.public_bytes(serialization.Encoding.DER))
    expect("fin-07", refused, "tlsclient")


def test_default_profile_is_checked_against_the_policy_dates_profiles() -> None:
    fake = FakeACME()
    fake.configure(policy_date="2025-11-01", default_profile="tlsclient")
    with pytest.raises(FakeACMEUsageError, match="default_profile 'tlsclient' is not one of"):
        fake.configure(policy_date="2026-12-07")


def test_the_directory_links_each_profile_to_its_section() -> None:
    # Let's Encrypt's meta.profiles values: links to the profiles page's sections.
    profiles = lets_encrypt_profiles(_dt.date(2026, 3, 1))
    assert {name: p.description for name, p in profiles.items()} == {
        name: f"https://letsencrypt.org/docs/profiles#{name}"
        for name in ("classic", "tlsserver", "shortlived", "tlsclient")}


def test_tlsclient_kept_for_its_prior_users_from_2026_05_13(fake_acme: FakeACME,
                                                            raw: RawClient) -> None:
    # From 2026-05-13 Let's Encrypt kept tlsclient for accounts that already used it
    # (letsencrypt.org/2025/05/14/ending-tls-client-authentication): Boulder's allow list.
    fake_acme.clock.freeze("2026-05-01T12:00:00Z")
    raw.forget_nonce()
    fake_acme.configure(policy_date="clock", order_reuse=False)
    assert raw.new_order("a.example", profile="tlsclient").status_code == 201
    fake_acme.clock.advance(days=20)
    raw.forget_nonce()
    assert raw.new_order("b.example", profile="tlsclient").status_code == 201
    newcomer = RawClient(fake_acme)
    newcomer.register()
    refused = newcomer.post(newcomer.url("newOrder"), {
        "identifiers": [{"type": "dns", "value": "c.example"}], "profile": "tlsclient"})
    account_id = str(newcomer.kid).rsplit("/", 1)[-1]
    expect("ord-13", refused, account_id, "tlsclient")
