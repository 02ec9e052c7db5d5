"""The newOrder rows (``ord-*``) and the identifier policy rows (``pol-*``) of the Boulder table,
over the fake's HTTPS server with raw JWS, each identifier rule on both sides of the
``strict_identifiers`` setting."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from boulder_table import ACME_ERROR, expect, go_format, reproduces, row
from jwsclient import RawClient
from pytest_fakeacme import FakeACME

IDENTS = "Invalid identifiers requested :: "
#: A second bad identifier, to see a rule's subproblem.
OTHER = {"type": "dns", "value": "x_y.example"}


def order(raw: RawClient, *identifiers: dict[str, str], **extra: Any) -> requests.Response:
    return raw.post(raw.url("newOrder"), {"identifiers": list(identifiers), **extra})


def dns(value: str) -> dict[str, str]:
    return {"type": "dns", "value": value}


def ip(value: str) -> dict[str, str]:
    return {"type": "ip", "value": value}


# newOrder's own checks (wfe2/wfe.go NewOrder)


def test_payload_and_identifier_objects(raw: RawClient) -> None:
    url = raw.url("newOrder")
    expect("ord-01", raw.post(url, {"identifiers": "a.example"}))
    expect("ord-01", raw.post(url, {"identifiers": [{"type": "dns", "value": 7}]}))
    expect("ord-01", raw.post(url, {"identifiers": [dns("a.example")], "profile": 1}))
    expect("ord-01", raw.post(url, None))
    expect("ord-02", raw.post(url, {"identifiers": []}))
    expect("ord-02", raw.post(url, {}))
    expect("ord-03", order(raw, dns("a.example"), notAfter="2030-01-01T00:00:00Z"))
    expect("ord-05", order(raw, dns("a.example"), {"type": "email", "value": "a@a.example"}),
           "email", "a@a.example")
    expect("ord-06", order(raw, dns("a.example"), dns("")))
    assert raw.fake.orders == []


@reproduces("ord-04")
def test_keys_in_any_case(raw: RawClient) -> None:
    created = raw.post(raw.url("newOrder"), {"Identifiers": [{"TYPE": "dns",
                                                              "Value": "a.example"}]})
    assert created.status_code == 201, created.text
    assert created.json()["identifiers"] == [dns("a.example")]
    expect("ord-03", raw.post(raw.url("newOrder"), {"identifiers": [dns("b.example")],
                                                    "NOTAFTER": "2030-01-01T00:00:00Z"}))


def test_several_bad_identifiers_are_subproblems(raw: RawClient) -> None:
    answer = order(raw, dns("good.example"), ip("1.2.3"), dns("bad_name.example"))

    body = expect("ord-09", answer, "bad_name.example",
                  "Domain name contains an invalid character", 1)
    assert body["subproblems"] == [
        {"type": ACME_ERROR + "malformed",
         "detail": IDENTS + "Domain name contains an invalid character", "status": 400,
         "identifier": dns("bad_name.example")},
        {"type": ACME_ERROR + "malformed", "detail": IDENTS + "IP address is invalid",
         "status": 400, "identifier": ip("1.2.3")},
    ]


def test_profiles(raw: RawClient) -> None:
    expect("ord-11", order(raw, dns("a.example"), profile="forever"), "forever")
    many = [dns(f"n{i}.example") for i in range(101)]
    expect("ord-14", order(raw, *many), 100)
    expect("ord-14", order(raw, *many[:26], profile="shortlived"), 25)
    assert order(raw, *many[:100]).status_code == 201
    expect("ord-15", order(raw, ip("127.0.0.1")), "Default profile", "IP address")
    expect("ord-15", order(raw, dns("a.example"), ip("127.0.0.1"), profile="tlsserver"),
           'Profile "tlsserver"', "IP address")
    assert order(raw, ip("127.0.0.1"), profile="shortlived").status_code == 201


def test_a_name_a_wildcard_covers(raw: RawClient) -> None:
    expect("ord-18", order(raw, dns("*.a.example"), dns("b.a.example")), "b.a.example")
    # Only the first label is replaced: a deeper name is no redundancy.
    assert order(raw, dns("*.a.example"), dns("c.b.a.example")).status_code == 201


@reproduces("ord-20")
def test_check_order_at_new_order(raw: RawClient, fake_acme: FakeACME) -> None:
    # The identifier's type before the emptiness of a later one.
    expect("ord-05", order(raw, {"type": "email", "value": ""}, dns("")), "email", "")
    # Well-formedness before the profile's name.
    expect("ord-08", order(raw, dns("a_b.example"), profile="forever"), "a_b.example",
           "Domain name contains an invalid character")
    # replaces before the profile's name.
    expect("ari-09a", order(raw, dns("a.example"), replaces="x", profile="forever"))
    # The profile's name before its size and types.
    expect("ord-11", order(raw, ip("127.0.0.1"), profile="forever"), "forever")
    # Size before identifier types.
    addresses = [ip(f"127.0.0.{i}") for i in range(1, 102)]
    expect("ord-14", order(raw, *addresses), 100)
    # Types before redundant wildcards.
    expect("ord-15", order(raw, dns("*.a.example"), dns("b.a.example"), ip("127.0.0.1")),
           "Default profile", "IP address")


@reproduces("pol-24")
def test_normalization(raw: RawClient) -> None:
    created = order(raw, ip("127.0.0.1"), dns("B.Example"), dns("a.example"), dns("b.example"),
                    ip("2A00:1450::ABCD"), profile="shortlived")

    assert created.status_code == 201, created.text
    assert created.json()["identifiers"] == [
        dns("a.example"), dns("b.example"), ip("127.0.0.1"), ip("2a00:1450::abcd")]


# The identifier policy (policy/pa.go), in both modes

#: (row, identifier, the rule's detail arguments): refused in both modes, with one detail.
BOTH = [
    ("pol-03", dns("under_score.example"), ()),
    ("pol-03", dns("caf\u00e9.example"), ()),
    ("pol-04", dns(("a" * 62 + ".") * 4 + "example"), ()),
    ("pol-05", dns("192.0.2.1"), ()),
    ("pol-03", dns("::1"), ()),  # the character check comes before the address check
    ("pol-06", dns("a.example."), ()),
    ("pol-07", dns("a.b.c.d.e.f.g.h.i.j.example"), ()),
    ("pol-08", dns("localhost"), ()),
    ("pol-09", dns("a..example"), ()),
    ("pol-09", dns(".a.example"), ()),
    ("pol-10", dns("a" * 64 + ".example"), ()),
    ("pol-11", dns("-lead.example"), ()),
    ("pol-11", dns("trail-.example"), ()),
    ("pol-12", dns("ab--cd.example"), ()),
    ("pol-13", dns("xn--99999999.example"), ()),
    ("pol-15", dns("co.uk"), ()),
    ("pol-15", dns("com.au"), ()),
    ("pol-08", dns("com"), ()),  # one label: the dot rule comes first
    ("pol-16", dns("*.*.example"), ()),
    ("pol-17", dns("a.*.example"), ()),
    ("pol-17", dns("*a.example"), ()),
    ("pol-18", dns("*.com"), ()),
    ("pol-18", dns("*.co.uk"), ()),
    ("pol-20", ip("001.2.3.4"), ()),
    ("pol-20", ip("1.2.3"), ()),
    ("pol-20", ip("2001:db8:0:0:0:0:0:1"), ()),
    ("pol-20", ip("fe80::1%eth0"), ()),
    ("pol-20", ip("a.example"), ()),
    ("pol-21", ip("10.0.0.1"), ("[RFC1918]", "Private-Use")),
    ("pol-21", ip("0.0.0.0"), ("[RFC1122], Section 3.2.1.3", '"This host on this network"')),
    ("pol-21", ip("2001:db8::1"), ("[RFC3849]", "Documentation")),
    ("pol-21", ip("::ffff:127.0.0.1"), ("[RFC4291]", "IPv4-mapped Address")),
    ("pol-21", ip("192.88.99.2"), ("[RFC6751]", "6a44-relay anycast address")),
    ("pol-21", ip("192.88.99.1"), ("[RFC7526]", "Deprecated (6to4 Relay Anycast)")),
    ("pol-21", ip("2001:1::3"), ("[RFC9665]", "DNS-SD Service Registration Protocol Anycast")),
    ("pol-21", ip("255.255.255.255"), ("[RFC8190] [RFC919], Section 7", "Limited Broadcast")),
]

#: (row, identifier, detail arguments, what the default says instead: None for accepted).
STRICT_ONLY = [
    ("pol-14", dns("a.test"), (), None),
    ("pol-14", dns("host.localhost"), (), None),
    ("pol-14", dns("a.internal"), (), None),
    ("pol-14", dns("a.example"), (), None),
    ("pol-19", dns("*.a.test"), (), None),
    ("pol-19", dns("*.a_b.test"), (), "Domain name contains an invalid character"),
    ("pol-21", ip("127.0.0.1"), ("[RFC1122], Section 3.2.1.3", "Loopback"), None),
    ("pol-21", ip("127.1.2.3"), ("[RFC1122], Section 3.2.1.3", "Loopback"), None),
    ("pol-21", ip("::1"), ("[RFC4291]", "Loopback Address"), None),
]


def _rule(row_id: str, args: tuple[str, ...]) -> str:
    return go_format(row(row_id).detail, *args)


def _order_anything(raw: RawClient, ident: dict[str, str]) -> requests.Response:
    profile = {"profile": "shortlived"} if ident["type"] == "ip" else {}
    return order(raw, ident, **profile)


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
@pytest.mark.parametrize(("rule", "ident", "args"), BOTH,
                         ids=[f"{r}:{i['value'][:20]}" for r, i, _ in BOTH])
def test_rules_of_both_modes(raw: RawClient, fake_acme: FakeACME, strict: bool, rule: str,
                             ident: dict[str, str], args: tuple[str, ...]) -> None:
    fake_acme.configure(strict_identifiers=strict)
    value = ident["value"].lower()

    expect("ord-08", _order_anything(raw, ident), value, _rule(rule, args))
    # Beside another bad identifier, the rule is a subproblem of its own type.
    body = order(raw, ident, OTHER, profile="shortlived").json()
    (sub,) = [s for s in body["subproblems"] if s["identifier"]["value"] == value]
    assert sub == {"type": ACME_ERROR + row(rule).type, "detail": IDENTS + _rule(rule, args),
                   "status": 400, "identifier": {"type": ident["type"], "value": value}}


@pytest.mark.parametrize(("rule", "ident", "args", "default"), STRICT_ONLY,
                         ids=[f"{r}:{i['value'][:20]}" for r, i, _, _ in STRICT_ONLY])
def test_rules_of_the_strict_mode(raw: RawClient, fake_acme: FakeACME, rule: str,
                                  ident: dict[str, str], args: tuple[str, ...],
                                  default: str | None) -> None:
    value = ident["value"]
    lenient = _order_anything(raw, ident)
    if default is None:
        assert lenient.status_code == 201, lenient.text
    else:
        expect("ord-08", lenient, value, default)

    fake_acme.configure(strict_identifiers=True)
    expect("ord-08", _order_anything(raw, ident), value, _rule(rule, args))


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
def test_names_both_modes_accept(raw: RawClient, fake_acme: FakeACME, strict: bool) -> None:
    fake_acme.configure(strict_identifiers=strict)
    for name in ("a.co.uk", "xn--bcher-kva.com", "*.a.com", "a.blogspot.com", "a.b.ck"):
        assert order(raw, dns(name)).status_code == 201, name
    assert order(raw, ip("198.51.99.1"), profile="shortlived").status_code == 201


@reproduces("pol-22")
def test_the_special_purpose_blocks_are_boulders(raw: RawClient, fake_acme: FakeACME) -> None:
    # Boulder's registries have no multicast block: a multicast address is no reserved one.
    assert order(raw, ip("224.0.0.1"), profile="shortlived").status_code == 201
    fake_acme.configure(strict_identifiers=True)
    assert order(raw, ip("ff02::1"), profile="shortlived").status_code == 201
    # The most specific block wins.
    expect("ord-08", order(raw, ip("192.88.99.2"), profile="shortlived"), "192.88.99.2",
           _rule("pol-21", ("[RFC6751]", "6a44-relay anycast address")))


def test_a_contact_domain_that_is_a_wildcard(fake_acme: FakeACME) -> None:
    for strict in (False, True):
        fake_acme.configure(strict_identifiers=strict)
        client = RawClient(fake_acme)
        answer = client.post(client.url("newAccount"), {
            "termsOfServiceAgreed": True, "contact": ["mailto:a@*.a.com"]}, jwk=True)
        expect("pol-02", answer)
