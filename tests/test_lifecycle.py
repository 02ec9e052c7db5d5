"""After issuance: key rollover, revocation, ARI and replaces, profiles, alternate chains."""

from __future__ import annotations

import datetime
import itertools
import json

import josepy as jose
import pytest
import requests
from acme import client as acme_client_mod
from acme import crypto_util, messages
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from client import AcmeTestClient, ec_key, key_pem, make_csr
from jwsclient import RawClient, b64, new_key, public_jwk
from pytest_fakeacme import FakeACME, FakeACMEUsageError, outcomes
from pytest_fakeacme.renewal import cert_id

pytestmark = pytest.mark.fake_acme(va_default="valid")


def _issue(client: AcmeTestClient, *names: str, profile: str | None = None) -> x509.Certificate:
    order = client.acme.new_order(make_csr(names), profile=profile)
    client.answer_http01(order)
    pem = client.poll_and_finalize(order).fullchain_pem
    return x509.load_pem_x509_certificates(pem.encode())[0]


def test_key_rollover_then_an_order_with_the_new_key(fake_acme: FakeACME, raw: RawClient) -> None:
    old_jwk = public_jwk(raw.key)
    newer = new_key("ES256")
    url = raw.url("keyChange")
    inner = raw.envelope({"alg": "ES256", "jwk": public_jwk(newer), "url": url},
                         json.dumps({"account": raw.kid, "oldKey": old_jwk}).encode(), key=newer)
    answer = raw.post(url, inner)
    assert answer.status_code == 200, answer.text
    assert fake_acme.accounts[0].thumbprint == b64(newer.thumbprint())
    old_key = raw.key
    raw.key = newer
    assert raw.post(raw.url("newOrder"), {"identifiers": [
        {"type": "dns", "value": "a.example"}]}).status_code == 201
    # The old key no longer signs for the account.
    refused = raw.post(raw.url("newOrder"), {"identifiers": [
        {"type": "dns", "value": "b.example"}]}, key=old_key)
    assert refused.status_code == 400
    assert refused.json()["type"] == "urn:ietf:params:acme:error:malformed"


def test_key_rollover_to_a_key_in_use_is_a_conflict(fake_acme: FakeACME) -> None:
    first, second = RawClient(fake_acme), RawClient(fake_acme)
    first.register()
    second.register()
    url = first.url("keyChange")
    inner = first.envelope(
        {"alg": "ES256", "jwk": public_jwk(second.key), "url": url},
        json.dumps({"account": first.kid, "oldKey": public_jwk(first.key)}).encode(),
        key=second.key,
    )
    answer = first.post(url, inner)
    assert answer.status_code == 409
    assert answer.json()["type"] == "urn:ietf:params:acme:error:conflict"
    assert answer.headers["Location"] == second.kid


def test_key_rollover_with_a_wrong_old_key_is_refused(fake_acme: FakeACME, raw: RawClient) -> None:
    newer = new_key("ES256")
    url = raw.url("keyChange")
    inner = raw.envelope(
        {"alg": "ES256", "jwk": public_jwk(newer), "url": url},
        json.dumps({"account": raw.kid, "oldKey": public_jwk(new_key("ES256"))}).encode(),
        key=newer,
    )
    answer = raw.post(url, inner)
    # 400 malformed: Boulder's validKeyRollover returns a MalformedError (wfe2/verify.go:815-831).
    assert answer.status_code == 400
    assert fake_acme.accounts[0].thumbprint == b64(raw.key.thumbprint())


def test_revocation_by_account_then_already_revoked(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    leaf = _issue(acme_client, "a.example")
    acme_client.acme.revoke(leaf, 4)
    [cert] = fake_acme.certificates
    assert cert.revoked
    with pytest.raises(messages.Error) as caught:
        acme_client.acme.revoke(leaf, 4)
    assert caught.value.code == "alreadyRevoked"


def test_revocation_by_certificate_key(fake_acme: FakeACME, acme_client: AcmeTestClient) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    order = acme_client.acme.new_order(crypto_util.make_csr(pem, ["a.example"]))
    acme_client.answer_http01(order)
    leaf = x509.load_pem_x509_certificates(
        acme_client.poll_and_finalize(order).fullchain_pem.encode())[0]
    # A client with no account, signing with the certificate's own key (jwk).
    net = acme_client_mod.ClientNetwork(jose.JWKEC(key=key), alg=jose.ES256,
                                        verify_ssl=fake_acme.ca_bundle)  # type: ignore[arg-type]
    by_key = acme_client_mod.ClientV2(acme_client.directory, net)
    by_key.revoke(leaf, 1)
    assert fake_acme.certificates[0].revoked


def test_revocation_refusals(fake_acme: FakeACME, acme_client: AcmeTestClient) -> None:
    leaf = _issue(acme_client, "a.example")
    stranger = AcmeTestClient(fake_acme)
    stranger.register()
    with pytest.raises(messages.Error) as caught:
        stranger.acme.revoke(leaf, 0)
    assert caught.value.code == "unauthorized"
    with pytest.raises(messages.Error) as caught:
        acme_client.acme.revoke(leaf, 2)
    assert caught.value.code == "badRevocationReason"
    assert not fake_acme.certificates[0].revoked
    # An account holding valid authorizations for every name may revoke.
    stranger_order = stranger.new_order("a.example")
    stranger.answer_http01(stranger_order)
    stranger.poll_authorizations(stranger_order)
    stranger.acme.revoke(leaf, 0)
    assert fake_acme.certificates[0].revoked


def _renewal_info(fake: FakeACME, leaf: x509.Certificate) -> dict[str, str]:
    directory = requests.get(fake.directory_url, verify=fake.ca_bundle, timeout=10).json()
    answer = requests.get(f"{directory['renewalInfo']}/{cert_id(leaf)}", verify=fake.ca_bundle,
                          timeout=10)
    assert answer.status_code == 200
    # Six hours, give or take 20%: Boulder's jitterRetryHeader (wfe2/wfe.go:2823, 2835-2842).
    assert 17280 <= int(answer.headers["Retry-After"]) <= 25920
    window: dict[str, str] = answer.json()["suggestedWindow"]
    return window


def _parse(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_a_must_staple_csr_is_refused_and_the_order_stays_ready(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    # Certbot's own CSR helper with --must-staple; Boulder refuses it in the RA, 403
    # unauthorized (ra/ra.go:1059-1063; the extension compared as ra/ra.go:996-1014), and the
    # order stays ready for a CSR without it.
    key = key_pem(ec_key())
    stapled = crypto_util.make_csr(key, ["a.example"], must_staple=True)
    order = acme_client.acme.new_order(stapled)
    acme_client.answer_http01(order)
    order = acme_client.poll_authorizations(order)
    deadline = datetime.datetime.now() + datetime.timedelta(seconds=30)
    with pytest.raises(messages.Error) as refused:
        acme_client.acme.finalize_order(order, deadline)
    assert (refused.value.typ, refused.value.detail) == (
        "urn:ietf:params:acme:error:unauthorized",
        "Error finalizing order :: OCSP must-staple extension is no longer available: see "
        "https://letsencrypt.org/2024/12/05/ending-ocsp")
    assert fake_acme.journal.requests("finalize")[-1].status == 403
    assert [o.status for o in fake_acme.orders] == ["ready"]
    assert fake_acme.certificates == []
    plain = order.update(csr_pem=crypto_util.make_csr(key, ["a.example"]))
    with acme_client.virtual_sleep():  # the library's polls, on the fake's clock
        done = acme_client.acme.finalize_order(plain, deadline)
    assert done.body.status == messages.STATUS_VALID
    leaf = x509.load_pem_x509_certificate(done.fullchain_pem.encode())
    with pytest.raises(x509.ExtensionNotFound):
        leaf.extensions.get_extension_for_class(x509.TLSFeature)


def test_ari_window_inside_validity_moving_with_the_clock(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    first = _issue(acme_client, "a.example")
    window = _renewal_info(fake_acme, first)
    start, end = _parse(window["start"]), _parse(window["end"])
    assert first.not_valid_before_utc < start < end < first.not_valid_after_utc
    lifetime = first.not_valid_after_utc - first.not_valid_before_utc
    assert abs((start - first.not_valid_before_utc) / lifetime - 0.66) < 0.02
    # The acme library agrees: its renewal time lies in the window.
    renew_at, _ = acme_client.acme.renewal_time(first.public_bytes(serialization.Encoding.PEM))
    assert renew_at is not None
    assert start <= renew_at.replace(tzinfo=datetime.timezone.utc) <= end
    fake_acme.clock.advance(days=30)
    later = _issue(acme_client, "b.example")
    later_start = _parse(_renewal_info(fake_acme, later)["start"])
    assert later_start - start >= datetime.timedelta(days=29)


def test_ari_forced_window_and_renew_now(fake_acme: FakeACME, acme_client: AcmeTestClient
                                         ) -> None:
    leaf = _issue(acme_client, "a.example")
    start = datetime.datetime(2027, 1, 1, tzinfo=datetime.timezone.utc)
    fake_acme.ari.force(fake_acme.certificates[0], start, start + datetime.timedelta(hours=2))
    assert _renewal_info(fake_acme, leaf) == {"start": "2027-01-01T00:00:00Z",
                                              "end": "2027-01-01T02:00:00Z"}
    fake_acme.ari.renew_now(fake_acme.certificates[0])
    assert _parse(_renewal_info(fake_acme, leaf)["end"]) < fake_acme.clock.now()
    with pytest.raises(FakeACMEUsageError, match="no certificate"):
        fake_acme.ari.renew_now(12345)


def test_revoked_certificates_should_be_renewed_now(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    leaf = _issue(acme_client, "a.example")
    acme_client.acme.revoke(leaf, 1)
    assert _parse(_renewal_info(fake_acme, leaf)["end"]) < fake_acme.clock.now()


def test_replaces_is_checked(fake_acme: FakeACME, acme_client: AcmeTestClient) -> None:
    leaf = _issue(acme_client, "a.example")
    raw = RawClient(fake_acme, key=acme_client.key)
    raw.kid = acme_client.regr.uri if acme_client.regr else None
    body = {"identifiers": [{"type": "dns", "value": "a.example"}], "replaces": cert_id(leaf)}
    assert raw.post(raw.url("newOrder"), body).status_code == 201
    again = raw.post(raw.url("newOrder"), {**body, "identifiers": [
        {"type": "dns", "value": "b.example"}]})
    assert (again.status_code, again.json()["type"]) == (
        409, "urn:ietf:params:acme:error:alreadyReplaced")
    unknown = raw.post(raw.url("newOrder"), {**body, "replaces": "AAAA.AAAA"})
    # 404: an AKI that names none of the fake's issuers is Boulder's NotFoundError
    # (wfe2/wfe.go:2776-2785).
    assert unknown.status_code == 404


def test_profiles_in_directory_and_shortlived_validity(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    meta = requests.get(fake_acme.directory_url, verify=fake_acme.ca_bundle, timeout=10).json()
    assert set(meta["meta"]["profiles"]) == {"classic", "tlsserver", "shortlived"}
    short = _issue(acme_client, "a.example", profile="shortlived")
    assert short.not_valid_after_utc - short.not_valid_before_utc < datetime.timedelta(days=7)
    classic = _issue(acme_client, "b.example")
    assert classic.not_valid_after_utc - classic.not_valid_before_utc > datetime.timedelta(
        days=89)
    with pytest.raises(messages.Error) as caught:
        acme_client.acme.new_order(make_csr(["c.example"]), profile="forever")
    assert "invalidProfile" in caught.value.typ


def test_alternate_chain_verifies_against_the_alternate_root() -> None:
    with FakeACME(alternate_chains=1, va_default=outcomes.valid()) as fake:
        client = AcmeTestClient(fake)
        client.register()
        order = client.new_order("a.example")
        client.answer_http01(order)
        deadline = datetime.datetime.now() + datetime.timedelta(seconds=30)
        with client.virtual_sleep():
            done = client.acme.finalize_order(client.acme.poll_authorizations(order, deadline),
                                              deadline, fetch_alternative_chains=True)
        [alternate] = done.alternative_fullchains_pem
        leaf, cross = x509.load_pem_x509_certificates(alternate.encode())
        [alt_root_pem] = fake.alternate_roots
        alt_root = x509.load_pem_x509_certificate(alt_root_pem.encode())
        leaf.verify_directly_issued_by(cross)
        cross.verify_directly_issued_by(alt_root)
        main_root = x509.load_pem_x509_certificate(fake.roots.encode())
        with pytest.raises(ValueError):  # noqa: PT011 - cryptography's error for a mismatch
            cross.verify_directly_issued_by(main_root)


@pytest.mark.parametrize(("key_type", "intermediates"), [("rsa", 1), ("ecdsa", 3)])
def test_rsa_hierarchies_and_longer_chains(key_type: str, intermediates: int) -> None:
    with FakeACME(ca_key_type=key_type, intermediates=intermediates, alternate_chains=1,
                  va_default=outcomes.valid()) as fake:
        client = AcmeTestClient(fake)
        client.register()
        chain = x509.load_pem_x509_certificates(client.issue("a.example").fullchain_pem.encode())
        assert len(chain) == 1 + intermediates
        for child, parent in itertools.pairwise(chain):
            child.verify_directly_issued_by(parent)
        chain[-1].verify_directly_issued_by(x509.load_pem_x509_certificate(fake.roots.encode()))
        assert fake.ca is not None
        alternate = x509.load_pem_x509_certificates(
            (fake.certificates[0].pem + fake.ca.alternate_chain_pems[0]).encode())
        assert len(alternate) == 1 + intermediates
        alternate[-1].verify_directly_issued_by(
            x509.load_pem_x509_certificate(fake.alternate_roots[0].encode()))


@pytest.mark.fake_acme(pre_authorization=True)
def test_pre_authorization(raw: RawClient) -> None:
    assert "newAuthz" in raw.directory
    created = raw.post(raw.url("newAuthz"), {"identifier": {"type": "dns", "value": "a.example"}})
    assert created.status_code == 201
    assert created.json()["status"] == "pending"
    chall = next(c for c in created.json()["challenges"] if c["type"] == "http-01")
    raw.post(chall["url"], {})
    assert raw.post_as_get(created.headers["Location"]).json()["status"] == "valid"
    order = raw.new_order("a.example").json()
    assert order["status"] == "ready"  # the pre-authorization is reused
    wildcard = raw.post(raw.url("newAuthz"), {"identifier": {"type": "dns",
                                                             "value": "*.example.com"}})
    assert wildcard.status_code == 400


def test_no_pre_authorization_by_default(raw: RawClient) -> None:
    assert "newAuthz" not in raw.directory


@pytest.mark.fake_acme(validity_requests=True)
def test_not_before_and_not_after_when_accepted(fake_acme: FakeACME, raw: RawClient) -> None:
    start = fake_acme.clock.now().replace(microsecond=0) + datetime.timedelta(days=1)
    end = start + datetime.timedelta(days=10)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    order = raw.post(raw.url("newOrder"), {
        "identifiers": [{"type": "dns", "value": "a.example"}],
        "notBefore": start.strftime(fmt), "notAfter": end.strftime(fmt)}).json()
    assert order["notBefore"] == start.strftime(fmt)
    for authz in raw.authorizations(order):
        chall = next(c for c in authz["challenges"] if c["type"] == "http-01")
        raw.post(chall["url"], {})
        raw.post_as_get(authz["challenges"][0]["url"])
    from jwsclient import make_csr as raw_csr

    done = raw.finalize(raw.post_as_get(order["finalize"].replace("finalize", "order")).json(),
                        raw_csr(["a.example"]))
    assert done.status_code == 200
    [cert] = fake_acme.certificates
    assert cert.not_before == start
    assert cert.not_after == end
