"""CRLs as Let's Encrypt publishes them: a distribution point in every leaf, sharded, signed by
the issuing intermediate, served over HTTP, dated by the fake's clock; a revocation shows on
the next CRL."""

from __future__ import annotations

import datetime
import hashlib

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID

from client import AcmeTestClient
from pytest_fakeacme import FakeACME, FakeACMEError, FakeACMEUsageError
from responder import Responder


def _issue(acme_client: AcmeTestClient, responder: Responder) -> list[x509.Certificate]:
    order = acme_client.issue("a.example", responder=responder)
    return x509.load_pem_x509_certificates(order.fullchain_pem.encode())


def _crl_url(leaf: x509.Certificate) -> str:
    points = leaf.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    [point] = list(points)
    [name] = point.full_name or []
    return str(name.value)


def test_a_revocation_shows_on_the_next_crl(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    leaf, intermediate = _issue(acme_client, responder)[:2]
    url = _crl_url(leaf)
    assert url == f"{fake_acme.crl_base}{leaf.serial_number % 128 + 1}.crl"
    before = x509.load_der_x509_crl(requests.get(url, timeout=10).content)
    assert before.get_revoked_certificate_by_serial_number(leaf.serial_number) is None

    acme_client.acme.revoke(leaf, 1)  # keyCompromise
    assert fake_acme.crl(fake_acme.certificates[0]) == before  # published before it
    fake_acme.clock.advance(fake_acme.settings.crl_update_interval)
    answer = requests.get(url, timeout=10)
    assert answer.headers["Content-Type"] == "application/pkix-crl"
    after = x509.load_der_x509_crl(answer.content)
    entry = after.get_revoked_certificate_by_serial_number(leaf.serial_number)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == (
        x509.ReasonFlags.key_compromise)

    # Signed by the issuing intermediate, dated by the fake's clock (Boulder issuance/crl.go).
    assert after.issuer == intermediate.subject
    issuer_key = intermediate.public_key()
    assert isinstance(issuer_key, ec.EllipticCurvePublicKey)
    assert after.is_signature_valid(issuer_key)
    assert after.last_update_utc <= fake_acme.clock.now()
    assert after.next_update_utc == (after.last_update_utc + datetime.timedelta(hours=216)
                                     - datetime.timedelta(seconds=1))
    number = after.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    assert number == int(after.last_update_utc.timestamp()) * 10**9
    assert number > before.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    idp = after.extensions.get_extension_for_class(x509.IssuingDistributionPoint)
    assert idp.critical
    assert idp.value.only_contains_user_certs
    assert [n.value for n in idp.value.full_name or []] == [url]


def test_update_publishes_at_once_and_reason_zero_has_no_extension(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    leaf = _issue(acme_client, responder)[0]
    fake_acme.crl(leaf.serial_number)  # published before the revocation
    acme_client.acme.revoke(leaf, 0)
    assert fake_acme.crl(leaf.serial_number).get_revoked_certificate_by_serial_number(
        leaf.serial_number) is None
    entry = fake_acme.crl(leaf.serial_number, update=True).get_revoked_certificate_by_serial_number(
        leaf.serial_number)
    assert entry is not None
    with pytest.raises(x509.ExtensionNotFound):  # Go leaves out reason 0 (unspecified)
        entry.extensions.get_extension_for_class(x509.CRLReason)


def test_crl_numbers_only_grow_and_a_reset_forgets_what_was_published(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    fake_acme.clock.freeze()
    leaf = _issue(acme_client, responder)[0]

    def number(crl: x509.CertificateRevocationList) -> int:
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number

    first = fake_acme.crl(leaf.serial_number)
    acme_client.acme.revoke(leaf, 1)
    # A forced update on a frozen clock: the same thisUpdate, a higher number (RFC 5280 5.2.3).
    second = fake_acme.crl(leaf.serial_number, update=True)
    assert second.last_update_utc == first.last_update_utc
    assert number(second) == number(first) + 1
    assert second.get_revoked_certificate_by_serial_number(leaf.serial_number) is not None
    # The clock set back: still higher.
    fake_acme.clock.freeze(fake_acme.clock.now() - datetime.timedelta(days=1))
    assert number(fake_acme.crl(leaf.serial_number, update=True)) > number(second)
    # After reset(), the revocation is gone from the CRLs with the certificate.
    fake_acme.reset()
    shard = leaf.serial_number % 128 + 1
    fresh = x509.load_der_x509_crl(
        requests.get(f"{fake_acme.crl_base}{shard}.crl", timeout=10).content)
    assert fresh.get_revoked_certificate_by_serial_number(leaf.serial_number) is None


def test_leaves_name_their_issuer_and_no_ocsp_url(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    # Boulder's template (issuance/cert.go:196-207): caIssuers only, the DV policy.
    leaf, intermediate = _issue(acme_client, responder)[:2]
    aia = leaf.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert [d.access_method for d in aia] == [AuthorityInformationAccessOID.CA_ISSUERS]
    answer = requests.get(str(aia[0].access_location.value), timeout=10)
    assert answer.headers["Content-Type"] == "application/pkix-cert"
    assert x509.load_der_x509_certificate(answer.content) == intermediate
    policies = leaf.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier.dotted_string for p in policies] == ["2.23.140.1.2.1"]
    # The subject key identifier as Boulder computes it (core/util.go:171-192): SHA-256 of
    # the key's bit string, its first 160 bits (for an EC key, the uncompressed point).
    public = leaf.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    point = public.public_bytes(serialization.Encoding.X962,
                                serialization.PublicFormat.UncompressedPoint)
    skid = leaf.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert skid.digest == hashlib.sha256(point).digest()[:20]


def test_unknown_shards_and_a_fake_without_crls() -> None:
    with FakeACME(dns_port=None) as fake:
        assert fake.crl_base is not None
        assert requests.get(fake.crl_base + "129.crl", timeout=10).status_code == 404
        assert requests.get(fake.crl_base + "nope", timeout=10).status_code == 404
        with pytest.raises(FakeACMEUsageError, match=r"certificate from fake_acme\.certificates"):
            fake.crl("1")  # type: ignore[arg-type]
    with FakeACME(dns_port=None, crl_port=None) as fake:
        assert fake.crl_base is None
        with pytest.raises(FakeACMEError, match="serves no CRLs"):
            fake.crl()


@pytest.mark.fake_acme(va_default="valid")
def test_a_mass_revocation_reaches_the_crls(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    leaf = _issue(acme_client, responder)[0]
    fake_acme.ari.mass_revocation(revoke_after=datetime.timedelta(hours=2), reason=4)
    fake_acme.clock.advance(hours=3)
    entry = fake_acme.crl(leaf.serial_number).get_revoked_certificate_by_serial_number(
        leaf.serial_number)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == (
        x509.ReasonFlags.superseded)
