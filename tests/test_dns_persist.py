"""dns-persist-01 (draft-ietf-acme-dns-persist) as Boulder implements it: offered with the
setting ``dns_persist_01``, validated from the TXT record at ``_validation-persist.<name>``, and
every refusal in Boulder's words (``va/dns_persist.go``)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from pytest_fakeacme import FakeACME, outcomes
from pytest_fakeacme.demo import MiniClient
from pytest_fakeacme.va import dns_persist

PERSIST = "dns-persist-01"
ISSUER = "fake-acme.test"  # the fake's CAA identity, which records must name


def _client(fake: FakeACME) -> MiniClient:
    client = MiniClient(fake.directory_url, fake.ca_bundle)
    client.register()
    return client


def _order(fake: FakeACME, *names: str, client: MiniClient | None = None
           ) -> tuple[MiniClient, dict[str, Any], list[dict[str, Any]]]:
    client = client or _client(fake)
    payload: dict[str, Any] = {"identifiers": [
        {"type": "ip" if n[0].isdigit() else "dns", "value": n} for n in names]}
    if any(n[0].isdigit() for n in names):
        payload["profile"] = "shortlived"  # the only profile that allows IP addresses
    order = client.post(client.directory["newOrder"], payload).json()
    authzs = [client.post(url, None).json() for url in order["authorizations"]]
    return client, order, authzs


def _persist(authz: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in authz["challenges"] if c["type"] == PERSIST)


def _validate(fake: FakeACME, name: str, client: MiniClient | None = None) -> dict[str, Any]:
    """Order ``name``, answer its dns-persist-01 challenge, read the challenge back."""
    client, order, [authz] = _order(fake, name, client=client)
    chall = _persist(authz)
    client.post(chall["url"], {})
    client.post(order["authorizations"][0], None)
    return dict(client.post(chall["url"], None).json())


def _record(fake: FakeACME, name: str, text: str) -> None:
    fake.dns.add_txt(f"_validation-persist.{name.removeprefix('*.')}", text)


@pytest.mark.fake_acme(dns_persist_01=True)
def test_offered_with_the_account_and_issuer_and_never_for_ip(fake_acme: FakeACME) -> None:
    _, _, authzs = _order(fake_acme, "a.example", "*.b.example", "127.0.0.1")
    by_name = {("*." if a.get("wildcard") else "") + a["identifier"]["value"]: a for a in authzs}
    name, wildcard, ip = by_name["a.example"], by_name["*.b.example"], by_name["127.0.0.1"]
    assert [c["type"] for c in name["challenges"]] == ["http-01", "dns-01", "tls-alpn-01", PERSIST]
    assert [c["type"] for c in wildcard["challenges"]] == ["dns-01", PERSIST]
    assert PERSIST not in [c["type"] for c in ip["challenges"]]
    chall = _persist(name)
    assert "token" not in chall  # Boulder blanks it: the record names the account instead
    assert chall["accounturi"] == fake_acme.accounts[0].url
    assert chall["issuer-domain-names"] == [ISSUER]


def test_not_offered_unless_enabled(fake_acme: FakeACME) -> None:
    _, _, [authz] = _order(fake_acme, "a.example")
    assert PERSIST not in [c["type"] for c in authz["challenges"]]


@pytest.mark.fake_acme(dns_persist_01=True, order_reuse=False)
def test_a_standing_record_validates_and_is_not_reused(fake_acme: FakeACME) -> None:
    client = _client(fake_acme)
    account = fake_acme.accounts[0].url
    _record(fake_acme, "a.example", f"{ISSUER.upper()}. ; accounturi={account}; x-other=1")
    chall = _validate(fake_acme, "a.example", client)
    assert chall["status"] == "valid", chall
    # Boulder's record: the name and Go's zero address (va/dns_persist.go:196,
    # core/objects.go:115).
    assert chall["validationRecord"] == [{"hostname": "a.example", "addressUsed": ""}]
    # Boulder never reuses an authorization won by dns-persist-01 for a new order (ra.go).
    _, _, [again] = _order(fake_acme, "a.example", client=client)
    assert again["status"] == "pending"


@pytest.mark.fake_acme(dns_persist_01=True)
@pytest.mark.parametrize(
    ("name", "record", "kind", "detail"),
    [
        ("a.example", None, "unauthorized", "No TXT record found for DNS-PERSIST-01 challenge"),
        ("a.example", "other-ca.example; accounturi={account}", "unauthorized",
         "No valid TXT record found for DNS-PERSIST-01 challenge"),
        ("a.example", "fake-acme.test; accounturi=https://elsewhere/acme/acct/1", "unauthorized",
         'Checking DNS-PERSIST-01 challenge TXT record with issuer-domain-name "fake-acme.test": '
         'accounturi mismatch: expected "{account}", got "https://elsewhere/acme/acct/1"'),
        ("*.a.example", "fake-acme.test; accounturi={account}", "unauthorized",
         'Checking DNS-PERSIST-01 challenge TXT record with issuer-domain-name "fake-acme.test": '
         'policy mismatch: expected "wildcard", got ""'),
        ("a.example", "fake-acme.test; accounturi={account}; persistUntil=1000000000",
         "unauthorized",
         'Checking DNS-PERSIST-01 challenge TXT record with issuer-domain-name "fake-acme.test": '
         "validation time {now} is after persistUntil 2001-09-09T01:46:40Z"),
        ("a.example", "fake-acme.test; accounturi={account};", "malformed",
         'Parsing DNS-PERSIST-01 challenge TXT record with issuer-domain-name "fake-acme.test": '
         "empty parameter or trailing semicolon provided"),
        ("a.example", "fake-acme.test; policy=wildcard", "malformed",
         'Parsing DNS-PERSIST-01 challenge TXT record with issuer-domain-name "fake-acme.test": '
         "missing mandatory accounturi parameter"),
    ],
    ids=["no-record", "other-ca", "account", "wildcard-policy", "persist-until",
         "trailing-semicolon", "no-accounturi"],
)
def test_refusals_read_as_boulder_writes_them(
    fake_acme: FakeACME, name: str, record: str | None, kind: str, detail: str
) -> None:
    fake_acme.clock.freeze()
    client = _client(fake_acme)
    account = fake_acme.accounts[0].url
    if record is not None:
        _record(fake_acme, name, record.format(account=account))
    chall = _validate(fake_acme, name, client)
    now = fake_acme.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    assert chall["status"] == "invalid"
    assert chall["error"] == {"type": f"urn:ietf:params:acme:error:{kind}",
                              "detail": detail.format(account=account, now=now),
                              "status": 400 if kind == "malformed" else 403}


@pytest.mark.fake_acme(dns_persist_01=True)
def test_persist_until_is_read_on_the_fake_clock(fake_acme: FakeACME) -> None:
    client = _client(fake_acme)
    until = fake_acme.clock.now() + datetime.timedelta(days=30)
    _record(fake_acme, "a.example", f"{ISSUER}; accounturi={fake_acme.accounts[0].url}; "
                                    f"persistUntil={int(until.timestamp())}")
    assert _validate(fake_acme, "a.example", client)["status"] == "valid"
    fake_acme.clock.advance(days=31)
    assert _validate(fake_acme, "a.example", client)["error"]["detail"].endswith(
        f"is after persistUntil {until.strftime('%Y-%m-%dT%H:%M:%SZ')}")


@pytest.mark.fake_acme(dns_persist_01=True)
def test_a_broken_lookup_and_scripted_outcomes(fake_acme: FakeACME) -> None:
    fake_acme.dns.fail("_validation-persist.a.example", "nxdomain")
    assert _validate(fake_acme, "a.example")["error"]["detail"] == (
        "Retrieving TXT records for DNS-PERSIST-01 challenge: DNS problem: NXDOMAIN looking up "
        "TXT for _validation-persist.a.example - check that a DNS record exists for this domain")
    # A scripted record is judged as the real one is.
    fake_acme.va.script("b.example", outcomes.persist_txt(
        "fake-acme.test; accounturi=https://elsewhere/acme/acct/9"))
    detail = _validate(fake_acme, "b.example")["error"]["detail"]
    assert detail.startswith('Checking DNS-PERSIST-01 challenge TXT record with '
                             'issuer-domain-name "fake-acme.test": accounturi mismatch')
    fake_acme.va.script("c.example", outcomes.txt_missing())
    assert _validate(fake_acme, "c.example")["error"]["detail"] == (
        "No TXT record found for DNS-PERSIST-01 challenge")


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ("x.example; accounturi=a; accounturi=b", 'duplicate parameter "accounturi"'),
        ("x.example; ACCOUNTURI=a; AccountUri=b", 'duplicate parameter "AccountUri"'),
        ("x.example; accounturi", 'malformed parameter "accounturi" should be tag=value pair'),
        ("x.example; =value", 'malformed parameter "=value", empty tag'),
        ("x.example; accounturi=a b", 'malformed value "a b" for tag "accounturi"'),
        ("x.example; accounturi=", "empty value provided for mandatory accounturi"),
        ("x.example; accounturi=a; persistUntil=soon", 'malformed persistUntil timestamp "soon"'),
    ],
)
def test_the_record_parser_answers_as_boulders(record: str, problem: str) -> None:
    with pytest.raises(dns_persist.RecordError) as caught:
        dns_persist.parse(record)
    assert str(caught.value) == problem
    assert caught.value.issuer == "x.example"


def test_unknown_tags_are_ignored_and_tags_match_without_case() -> None:
    issuer, params = dns_persist.parse("X.Example.; AccountURI=a; Policy=WILDCARD; z=1")
    assert issuer == "x.example"
    assert (params.account_uri, params.policy) == ("a", "WILDCARD")
    at = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    assert dns_persist.check(params, "a", True, at) is None  # the policy matches without case
