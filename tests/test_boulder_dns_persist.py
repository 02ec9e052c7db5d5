"""The dns-persist-01 rows (``dp-*``) of the Boulder table: the challenge as the WFE shows it
(wfe2/wfe.go prepChallengeForDisplay), every answer of ``validateDNSPersist01`` and
``parseDNSPersistRecord`` (va/dns_persist.go), and the RA's refusal to reuse such an
authorization (ra/ra.go:2255-2273), over the fake's HTTPS server with ``dns_persist_01=True``."""

from __future__ import annotations

from typing import Any

import pytest

from boulder_table import expect, reproduces
from pytest_fakeacme import FakeACME, outcomes
from pytest_fakeacme.demo import MiniClient

PERSIST = "dns-persist-01"
#: The fake's CAA identity: the issuer-domain-name its records must carry.
ISSUER = "fake-acme.test"

pytestmark = pytest.mark.fake_acme(dns_persist_01=True)


def _client(fake: FakeACME) -> MiniClient:
    client = MiniClient(fake.directory_url, fake.ca_bundle)
    client.register()
    return client


def _authz(client: MiniClient, *names: str) -> list[dict[str, Any]]:
    payload = {"identifiers": [{"type": "dns", "value": n} for n in names]}
    order = client.post(client.directory["newOrder"], payload).json()
    return [client.post(url, None).json() | {"url": url} for url in order["authorizations"]]


def _persist(authz: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in authz["challenges"] if c["type"] == PERSIST)


def _validate(fake: FakeACME, client: MiniClient, name: str) -> dict[str, Any]:
    """Order ``name``, answer its dns-persist-01 challenge, read the challenge back (the read
    of the authorization settles the validation)."""
    [authz] = _authz(client, name)
    chall = _persist(authz)
    client.post(chall["url"], {})
    client.post(authz["url"], None)
    return dict(client.post(chall["url"], None).json())


def _error(fake: FakeACME, name: str, *records: str,
           client: MiniClient | None = None) -> dict[str, Any]:
    """The error of a dns-persist-01 validation of ``name`` against ``records`` (``{account}``
    in them is the account's URL), for ``client`` (default a new account)."""
    client = client or _client(fake)
    account = client.kid
    for record in records:
        fake.dns.add_txt(f"_validation-persist.{name.removeprefix('*.')}",
                         record.format(account=account))
    chall = _validate(fake, client, name)
    assert chall["status"] == "invalid", chall
    return dict(chall["error"])


@reproduces("dp-01")
def test_the_challenge_is_offered_for_names_and_wildcards_only(fake_acme: FakeACME) -> None:
    client = _client(fake_acme)
    name, wildcard = _authz(client, "a.example", "*.b.example")
    for authz in (name, wildcard):
        chall = _persist(authz)
        # wfe2/wfe.go:1274-1291: no token; the account's URL and the CAA identity instead.
        assert "token" not in chall
        assert chall["accounturi"] == client.kid
        assert chall["issuer-domain-names"] == [ISSUER]
    payload = {"identifiers": [{"type": "ip", "value": "127.0.0.1"}], "profile": "shortlived"}
    order = client.post(client.directory["newOrder"], payload).json()
    ip = client.post(order["authorizations"][0], None).json()
    # policy/pa.go:607-650: never for an IP address.
    assert [c["type"] for c in ip["challenges"]] == ["http-01", "tls-alpn-01"]


def test_the_lookup_fails(fake_acme: FakeACME) -> None:
    fake_acme.dns.fail("_validation-persist.a.example", "nxdomain")
    expect("dp-04", _error(fake_acme, "a.example"),
           "DNS problem: NXDOMAIN looking up TXT for _validation-persist.a.example - check "
           "that a DNS record exists for this domain")


def test_no_record_and_no_record_for_this_ca(fake_acme: FakeACME) -> None:
    expect("dp-05", _error(fake_acme, "a.example"))
    # Records naming another CA, or no issuer the VA can read, are skipped.
    expect("dp-18", _error(fake_acme, "b.example", "other-ca.example; accounturi={account}",
                           "; accounturi={account}", "other-ca.example; accounturi"))


@pytest.mark.parametrize(
    ("row_id", "parameters", "args"),
    [
        ("dp-07", "accounturi={account};", ()),
        ("dp-07", "accounturi={account}; ; policy=wildcard", ()),
        ("dp-08", "accounturi", ("accounturi",)),
        ("dp-09", "accounturi={account}; =x", ("=x",)),
        ("dp-10", "accounturi={account}; policy=wild card", ("wild card", "policy")),
        ("dp-10", "accounturi={account}; x-other=caf\u00e9", ("caf\u00e9", "x-other")),
        ("dp-11", "accounturi={account}; AccountURI={account}", ("AccountURI",)),
        ("dp-11", "accounturi={account}; policy=a; Policy=b", ("Policy",)),
        ("dp-11", "accounturi={account}; persistUntil=1; persistuntil=2", ("persistuntil",)),
        ("dp-12", "accounturi=", ()),
        ("dp-13", "accounturi={account}; persistUntil=soon", ("soon",)),
        ("dp-13", "accounturi={account}; persistUntil=9223372036854775808",
         ("9223372036854775808",)),
        ("dp-14", "policy=wildcard", ()),
    ],
)
def test_syntax_errors_of_a_record_for_this_ca(fake_acme: FakeACME, row_id: str,
                                               parameters: str, args: tuple[str, ...]) -> None:
    expect(row_id, _error(fake_acme, "a.example", f"{ISSUER}; {parameters}"), ISSUER, *args)


def test_syntax_errors_are_joined_and_win_over_refusals(fake_acme: FakeACME) -> None:
    # va/dns_persist.go:172-183, 202-204: every malformed record for this CA, in the records'
    # order, joined by "; "; they win over a record that parses but does not authorize.
    error = _error(fake_acme, "a.example",
                   f"{ISSUER}; accounturi=https://elsewhere.example/acct/1",
                   f"{ISSUER}; policy=wildcard",
                   f"{ISSUER}; accounturi={{account}};")
    second = ('Parsing DNS-PERSIST-01 challenge TXT record with issuer-domain-name '
              f'"{ISSUER}": empty parameter or trailing semicolon provided')
    expect("dp-06", error, ISSUER, f"missing mandatory accounturi parameter; {second}")


def test_records_that_do_not_authorize(fake_acme: FakeACME) -> None:
    fake_acme.clock.freeze()
    client = _client(fake_acme)
    mine = client.kid
    assert mine is not None
    other = "https://elsewhere.example/acme/acct/1"
    expect("dp-15", _error(fake_acme, "a.example", f"{ISSUER}; accounturi={other}",
                           client=client), ISSUER, mine, other)
    # The comparison is byte for byte: the same URL in another case is another account.
    expect("dp-15", _error(fake_acme, "b.example", f"{ISSUER}; accounturi={mine.upper()}",
                           client=client), ISSUER, mine, mine.upper())
    expect("dp-16", _error(fake_acme, "*.c.example", f"{ISSUER}; accounturi={{account}}",
                           client=client), ISSUER, "")
    expect("dp-16", _error(fake_acme, "*.d.example",
                           f"{ISSUER}; accounturi={{account}}; policy=wildcards",
                           client=client), ISSUER, "wildcards")
    now = fake_acme.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    expect("dp-17", _error(fake_acme, "e.example",
                           f"{ISSUER}; accounturi={{account}}; persistUntil=1000000000",
                           client=client), ISSUER, now, "2001-09-09T01:46:40Z")


def test_refusals_of_several_records_are_joined(fake_acme: FakeACME) -> None:
    # va/dns_persist.go:189-193, 205-206: one refusal per record for this CA, joined by "; ".
    client = _client(fake_acme)
    error = _error(fake_acme, "*.a.example",
                   f"{ISSUER}; accounturi=https://elsewhere.example/acct/1",
                   f"{ISSUER}; accounturi={{account}}; policy=other", client=client)
    check = f'Checking DNS-PERSIST-01 challenge TXT record with issuer-domain-name "{ISSUER}": '
    assert error == {
        "type": "urn:ietf:params:acme:error:unauthorized", "status": 403,
        "detail": f'{check}accounturi mismatch: expected "{client.kid}", got '
                  f'"https://elsewhere.example/acct/1"; '
                  f'{check}policy mismatch: expected "wildcard", got "other"'}


@reproduces("dp-19")
def test_a_persist_authorization_is_never_reused(fake_acme: FakeACME) -> None:
    fake_acme.configure(order_reuse=False)
    client = _client(fake_acme)
    fake_acme.dns.add_txt("_validation-persist.a.example", f"{ISSUER}; accounturi={client.kid}")
    assert _validate(fake_acme, client, "a.example")["status"] == "valid"
    [again] = _authz(client, "a.example")
    assert again["status"] == "pending"
    # The negative: an authorization won by dns-01 is reused (ra/ra.go:2275 onwards).
    fake_acme.va.script("b.example", outcomes.valid())
    [other] = _authz(client, "b.example")
    dns01 = next(c for c in other["challenges"] if c["type"] == "dns-01")
    client.post(dns01["url"], {})
    assert client.post(other["url"], None).json()["status"] == "valid"
    [reused] = _authz(client, "b.example")
    assert reused["status"] == "valid"
