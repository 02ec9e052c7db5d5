"""The fake's DNS server, real dns-01, CAA, wildcards and IP identifiers."""

from __future__ import annotations

import base64
import hashlib
import ipaddress

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.tsigkeyring
import dns.update
import pytest
from acme import challenges, messages
from cryptography import x509

from boulder_table import expect
from client import AcmeTestClient, make_csr, make_ip_csr
from jwsclient import RawClient
from pytest_fakeacme import FakeACME, outcomes
from responder import Responder

SECRET = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def _query(fake: FakeACME, name: str, rtype: str, tcp: bool = False) -> dns.message.Message:
    assert fake.dns.address is not None
    host, port = fake.dns.address
    query = dns.message.make_query(name, rtype)
    send = dns.query.tcp if tcp else dns.query.udp
    return send(query, host, port=port, timeout=2)


def _update(fake: FakeACME, build: object, signed: bool = True) -> int:
    assert fake.dns.address is not None
    host, port = fake.dns.address
    keyring = dns.tsigkeyring.from_text({"acme-key": ("hmac-sha256", SECRET)}) if signed else None
    keyname = dns.name.from_text("acme-key") if signed else None
    update = dns.update.Update("example.com.", keyring=keyring, keyname=keyname,
                               keyalgorithm="hmac-sha256")
    build(update)  # type: ignore[operator]
    return dns.query.tcp(update, host, port=port, timeout=2).rcode()


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_dns_server_answers_from_the_fakes_data(fake_acme: FakeACME, tcp: bool) -> None:
    fake_acme.dns.add_txt("_acme-challenge.a.example", "v1")
    fake_acme.dns.add_aaaa("b.example", "::1")
    fake_acme.dns.add_caa("a.example", 0, "issue", "fake-acme.test")
    fake_acme.dns.add_cname("www.a.example", "a.example")
    a = _query(fake_acme, "a.example", "A", tcp)
    assert [r.to_text() for r in a.answer[0]] == ["127.0.0.1"]
    assert [r.to_text() for r in _query(fake_acme, "b.example", "AAAA", tcp).answer[0]] == ["::1"]
    txt = _query(fake_acme, "_acme-challenge.a.example", "TXT", tcp)
    assert [r.to_text() for r in txt.answer[0]] == ['"v1"']
    caa = _query(fake_acme, "a.example", "CAA", tcp)
    assert [r.to_text() for r in caa.answer[0]] == ['0 issue "fake-acme.test"']
    aliased = _query(fake_acme, "www.a.example", "CAA", tcp)
    assert [rrset.rdtype.name for rrset in aliased.answer] == ["CNAME", "CAA"]
    assert _query(fake_acme, "anything.example", "SOA", tcp).answer


def test_dns_server_failures(fake_acme: FakeACME) -> None:
    fake_acme.dns.fail("nx.example", "nxdomain")
    fake_acme.dns.fail("sf.example", "servfail")
    fake_acme.dns.fail("rf.example", "refused")
    fake_acme.dns.fail("to.example", "timeout")
    assert _query(fake_acme, "nx.example", "A").rcode() == dns.rcode.NXDOMAIN
    assert _query(fake_acme, "sf.example", "TXT").rcode() == dns.rcode.SERVFAIL
    assert _query(fake_acme, "rf.example", "A").rcode() == dns.rcode.REFUSED
    assert fake_acme.dns.address is not None
    host, port = fake_acme.dns.address
    with pytest.raises(dns.exception.Timeout):
        dns.query.udp(dns.message.make_query("to.example", "A"), host, port=port, timeout=0.2)


def test_rfc2136_updates_with_tsig(fake_acme: FakeACME) -> None:
    fake_acme.dns.add_tsig_key("acme-key", SECRET)
    name = "_acme-challenge.example.com."
    assert _update(fake_acme, lambda u: u.add(name, 60, "TXT", '"one"')) == dns.rcode.NOERROR
    assert _update(fake_acme, lambda u: u.add(name, 60, "TXT", '"two"')) == dns.rcode.NOERROR
    assert fake_acme.dns.lookup_txt(name) == ["one", "two"]
    assert _update(fake_acme, lambda u: u.delete(name, "TXT", '"one"')) == dns.rcode.NOERROR
    assert fake_acme.dns.lookup_txt(name) == ["two"]
    unsigned = _update(fake_acme, lambda u: u.delete(name, "TXT"), signed=False)
    assert unsigned == dns.rcode.REFUSED
    assert fake_acme.dns.lookup_txt(name) == ["two"]
    # A record pointing away from this machine is stored and served (a suite may only resolve
    # it); the VA still never connects there (test_a_name_resolving_beyond_loopback...).
    stored = _update(fake_acme, lambda u: u.add("x.example.com.", 60, "A", "192.0.2.1"))
    assert stored == dns.rcode.NOERROR
    assert fake_acme.dns.lookup_addresses("x.example.com") == ([], ["192.0.2.1"])
    assert _update(fake_acme, lambda u: u.delete(name, "TXT")) == dns.rcode.NOERROR
    assert fake_acme.dns.lookup_txt(name) == []


def _dns01(client: AcmeTestClient, name: str) -> tuple[messages.OrderResource, str]:
    order = client.acme.new_order(make_csr([name]))
    chall = client.challenge(order.authorizations[0], challenges.DNS01)
    return order, chall.validation(client.key)


def _answer_dns01(client: AcmeTestClient, order: messages.OrderResource) -> dict[str, object]:
    authzr = order.authorizations[0]
    chall = client.challenge(authzr, challenges.DNS01)
    client.acme.answer_challenge(chall, chall.response(client.key))
    authzr, _ = client.acme.poll(authzr)
    result: dict[str, object] = authzr.body.challenges[0].to_json()
    return result


def _http01_error(
    client: AcmeTestClient, responder: Responder, name: str
) -> messages.Error:
    """Order ``name``, serve and answer its http-01 challenge, and return the problem the
    challenge ends with (there must be one)."""
    order = client.new_order(name)
    client.answer_http01(order, responder)
    authzr, _ = client.acme.poll(order.authorizations[0])
    error = authzr.body.challenges[0].error
    assert error is not None
    return error


def test_dns01_published_over_rfc2136_validates_for_a_wildcard(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    order, value = _dns01(acme_client, "*.example.com")
    authz = order.authorizations[0].body
    assert [c.chall.typ for c in authz.challenges] == ["dns-01"]
    assert authz.wildcard is True
    assert authz.identifier.value == "example.com"
    _update(fake_acme, lambda u: u.add("_acme-challenge.example.com.", 60, "TXT", value),
            signed=False)
    assert _answer_dns01(acme_client, order)["status"] == "valid"
    done = acme_client.poll_and_finalize(order)
    leaf = x509.load_pem_x509_certificates(done.fullchain_pem.encode())[0]
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["*.example.com"]


def test_dns01_follows_cnames(fake_acme: FakeACME, acme_client: AcmeTestClient) -> None:
    order, value = _dns01(acme_client, "a.example")
    fake_acme.dns.add_cname("_acme-challenge.a.example", "a.validation.example")
    fake_acme.dns.add_txt("a.validation.example", value)
    assert _answer_dns01(acme_client, order)["status"] == "valid"


@pytest.mark.parametrize(
    ("setup", "kind", "detail"),
    [
        ("none", "unauthorized", "No TXT record found at _acme-challenge.a.example"),
        ("wrong", "unauthorized",
         'Incorrect TXT record "nope" (and 1 more) found at _acme-challenge.a.example'),
        ("long", "unauthorized",
         f'Incorrect TXT record "{"x" * 100}..." found at _acme-challenge.a.example'),
        ("nxdomain", "dns", "DNS problem: NXDOMAIN looking up TXT for _acme-challenge.a.example"
                            " - check that a DNS record exists for this domain"),
        ("servfail", "dns", "DNS problem: SERVFAIL looking up TXT for _acme-challenge.a.example"
                            " - the domain's nameservers may be malfunctioning"),
        ("timeout", "dns", "DNS problem: query timed out looking up TXT for "
                           "_acme-challenge.a.example"),
    ],
)
def test_dns01_rows_of_reference_1b_from_real_dns_data(
    fake_acme: FakeACME, acme_client: AcmeTestClient, setup: str, kind: str, detail: str
) -> None:
    order, _ = _dns01(acme_client, "a.example")
    txt = "_acme-challenge.a.example"
    if setup == "wrong":
        fake_acme.dns.add_txt(txt, "nope")
        fake_acme.dns.add_txt(txt, "still-nope")
    elif setup == "long":
        fake_acme.dns.add_txt(txt, "x" * 150)
    elif setup != "none":
        fake_acme.dns.fail(txt, setup)
    error = _answer_dns01(acme_client, order)["error"]
    assert isinstance(error, dict)
    assert error["type"] == f"urn:ietf:params:acme:error:{kind}"
    assert error["detail"] == detail
    [chall] = fake_acme.challenges
    assert chall.error is not None
    assert chall.error.status == (403 if kind == "unauthorized" else 400)
    assert chall.validation_record == ()  # Boulder's validateDNS records only a success


@pytest.mark.parametrize(
    ("records", "name", "forbidden_at", "row_id"),
    [
        ([("a.example", 0, "issue", "other-ca.example")], "a.example", "a.example", "caa-01"),
        ([("example", 0, "issue", "other-ca.example")], "a.example", "example", "caa-01"),
        ([("a.example", 0, "issue", "fake-acme.test")], "a.example", None, None),
        ([("a.example", 0, "issue", ";")], "a.example", "a.example", "caa-01"),
        ([("a.example", 0, "issue", "fake-acme.test; validationmethods=dns-01")],
         "a.example", "a.example", "caa-05"),
        ([("a.example", 0, "issue", "fake-acme.test; validationmethods=http-01")],
         "a.example", None, None),
        ([("a.example", 0, "issue", "fake-acme.test; accounturi=https://elsewhere/acct/1")],
         "a.example", "a.example", "caa-04"),
        ([("a.example", 128, "tbs", "x"), ("a.example", 0, "issue", "fake-acme.test")],
         "a.example", "a.example", "caa-02"),
        # Go's miekg/dns keeps the flag byte; Boulder treats bit 1 as critical too.
        ([("a.example", 1, "tbs", "x"), ("a.example", 0, "issue", "fake-acme.test")],
         "a.example", "a.example", "caa-02"),
        ([("a.example", 0, "issue", "fake-acme.test; x")], "a.example", "a.example", "caa-03"),
        ([("a.example", 0, "iodef", "mailto:x@a.example")], "a.example", None, None),
        ([("sub.a.example", 0, "issue", "fake-acme.test"),
          ("a.example", 0, "issue", "other-ca.example")], "sub.a.example", None, None),
    ],
)
def test_caa_after_a_successful_http01(
    fake_acme: FakeACME,
    acme_client: AcmeTestClient,
    responder: Responder,
    records: list[tuple[str, int, str, str]],
    name: str,
    forbidden_at: str | None,
    row_id: str | None,
) -> None:
    for owner, flags, tag, value in records:
        fake_acme.dns.add_caa(owner, flags, tag, value)
    order = acme_client.new_order(name)
    acme_client.answer_http01(order, responder)
    authz = acme_client.read(order.authorizations[0].uri)
    if row_id is None:
        assert authz["status"] == "valid"
        return
    assert authz["status"] == "invalid"
    expect(row_id, authz["challenges"][0]["error"], name, forbidden_at)
    # The successful fetch is still recorded.
    assert fake_acme.challenges[0].validation_record[0]["addressUsed"] == "127.0.0.1"


def test_caa_accounturi_of_this_account_permits(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    assert acme_client.regr is not None
    fake_acme.dns.add_caa("a.example", 0, "issue",
                          f"fake-acme.test; accounturi={acme_client.regr.uri}")
    assert acme_client.issue("a.example", responder=responder).fullchain_pem


def test_caa_lookup_failure_is_a_dns_problem(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    fake_acme.dns.fail("example", "servfail")
    error = _http01_error(acme_client, responder, "a.example")
    assert (error.typ, error.detail) == (
        "urn:ietf:params:acme:error:dns",
        "While processing CAA for a.example: DNS problem: SERVFAIL looking up CAA for example"
        " - the domain's nameservers may be malfunctioning",
    )


def test_issuewild_governs_wildcards(fake_acme: FakeACME, acme_client: AcmeTestClient) -> None:
    fake_acme.dns.add_caa("example.com", 0, "issue", "fake-acme.test")
    fake_acme.dns.add_caa("example.com", 0, "issuewild", ";")
    order, value = _dns01(acme_client, "*.example.com")
    fake_acme.dns.add_txt("_acme-challenge.example.com", value)
    error = _answer_dns01(acme_client, order)["error"]
    assert isinstance(error, dict)
    assert error["detail"] == (
        "While processing CAA for *.example.com: CAA record for example.com prevents issuance"
    )


def test_ip_identifier_over_http01(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    # shortlived: Let's Encrypt's default profile takes no IP addresses (ra/ra.go:2121-2137).
    order = acme_client.acme.new_order(make_ip_csr("127.0.0.1"), profile="shortlived")
    types = sorted(c.to_partial_json()["type"] for c in order.authorizations[0].body.challenges)
    assert types == ["http-01", "tls-alpn-01"]  # RFC 8738 7: no dns-01 for an IP
    acme_client.answer_http01(order, responder)
    done = acme_client.poll_and_finalize(order)
    leaf = x509.load_pem_x509_certificates(done.fullchain_pem.encode())[0]
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]


def test_caa_identity_is_configurable_and_in_the_directory(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    fake_acme.configure(caa_identity="ca.internal.test")
    import requests

    meta = requests.get(fake_acme.directory_url, verify=fake_acme.ca_bundle, timeout=10).json()
    assert meta["meta"]["caaIdentities"] == ["ca.internal.test"]
    fake_acme.dns.add_caa("a.example", 0, "issue", "ca.internal.test")
    assert acme_client.issue("a.example", responder=responder).fullchain_pem


@pytest.mark.fake_acme(dns_account_01=True)
def test_dns_account_01(fake_acme: FakeACME, raw: RawClient) -> None:
    order = raw.new_order("a.example", "b.example").json()
    a_authz, b_authz = raw.authorizations(order)
    label = base64.b32encode(hashlib.sha256(str(raw.kid).encode()).digest()[:10]).decode().lower()

    chall = next(c for c in a_authz["challenges"] if c["type"] == "dns-account-01")
    digest = hashlib.sha256(raw.key_authorization(chall["token"]).encode()).digest()
    fake_acme.dns.add_txt(f"_{label}._acme-challenge.a.example",
                          base64.urlsafe_b64encode(digest).rstrip(b"=").decode())
    raw.post(chall["url"], {})
    assert raw.post_as_get(chall["url"]).json()["status"] == "valid"

    fake_acme.va.script("b.example", outcomes.txt_missing())
    chall = next(c for c in b_authz["challenges"] if c["type"] == "dns-account-01")
    raw.post(chall["url"], {})
    error = raw.post_as_get(chall["url"]).json()["error"]
    assert error["detail"] == (
        f'No TXT record found at _{label}._acme-challenge.b.example (account: "{raw.kid}")'
    )


@pytest.mark.fake_acme(va_default="valid")
def test_caa_is_rechecked_at_finalize_for_old_authorizations(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    acme_client.issue("a.example", "b.example")
    fake_acme.clock.advance(hours=8)  # the authorizations are reused, but 8 hours old
    fake_acme.dns.add_caa("a.example", 0, "issue", "other-ca.example")
    single = acme_client.new_order("a.example")
    assert single.body.status == messages.STATUS_READY
    with pytest.raises(messages.Error) as caught:
        acme_client.acme.begin_finalization(single)
    assert caught.value.typ == "urn:ietf:params:acme:error:caa"
    assert caught.value.detail == (
        "Error finalizing order :: rechecking caa: While processing CAA for a.example: "
        "CAA record for a.example prevents issuance"
    )
    fake_acme.dns.add_caa("b.example", 0, "issue", "other-ca.example")
    both = acme_client.new_order("a.example", "b.example")
    with pytest.raises(messages.Error) as caught:
        acme_client.acme.begin_finalization(both)
    assert caught.value.detail == (
        'Error finalizing order :: Rechecking CAA for "a.example" and 1 more identifiers '
        "failed. Refer to sub-problems for more information"
    )
    assert [s.identifier.value if s.identifier else None
            for s in caught.value.subproblems or ()] == [
        "a.example", "b.example"]


@pytest.mark.fake_acme(va_default="valid")
def test_recent_authorizations_are_not_rechecked(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    acme_client.issue("a.example")
    fake_acme.dns.add_caa("a.example", 0, "issue", "other-ca.example")
    again = acme_client.new_order("a.example")
    assert acme_client.poll_and_finalize(again).fullchain_pem  # validated minutes ago


def test_caa_lookup_timeout_and_refused_dns01(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    fake_acme.dns.fail("a.example", "timeout")
    fake_acme.dns.add_a("a.example", "127.0.0.1")
    error = _http01_error(acme_client, responder, "a.example")
    assert str(error.detail).startswith(
        "DNS problem: query timed out looking up A for a.example")
    # A CAA lookup that times out (at the parent; the name itself answers).
    fake_acme.dns.fail("example", "timeout")
    error = _http01_error(acme_client, responder, "c.example")
    assert (error.typ, error.detail) == (
        "urn:ietf:params:acme:error:dns",
        "While processing CAA for c.example: DNS problem: query timed out looking up CAA for "
        "example",
    )
    refused_order, _ = _dns01(acme_client, "r.example")
    fake_acme.dns.fail("_acme-challenge.r.example", "refused")
    refused = _answer_dns01(acme_client, refused_order)["error"]
    assert isinstance(refused, dict)
    assert refused["detail"] == "DNS problem: REFUSED looking up TXT for _acme-challenge.r.example"
