"""The ACME protocol surface over real HTTPS (RFC 8555 7.3 - 7.5, RFC 8738), as Let's Encrypt
serves it: accounts, orders, authorizations, challenges, finalization and certificates, with
the problem type, HTTP status and Boulder detail of every refusal."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.verification import PolicyBuilder, Store

from jwsclient import (
    RawClient,
    assert_problem,
    b64,
    challenge_of,
    issued,
    make_csr,
    new_key,
    ready_order,
)
from pytest_fakeacme import FakeACME, outcomes
from responder import Responder

V = "Unable to validate JWS :: "
CONTACT = "Error validating contact(s) :: "
IDENTS = "Invalid identifiers requested :: "
FINALIZE = "Error finalizing order :: "


def dns(*names: str) -> dict[str, Any]:
    return {"identifiers": [{"type": "dns", "value": n} for n in names]}


def not_ready(status: str) -> str:
    return f'Order\'s status ("{status}") is not acceptable for finalization'


@pytest.fixture
def other(fake_acme: FakeACME) -> RawClient:
    """A second registered account."""
    client = RawClient(fake_acme)
    client.register()
    return client


def account_id(client: RawClient) -> str:
    assert client.kid is not None
    return client.kid.rsplit("/", 1)[1]


# Accounts (RFC 8555 7.3)


def test_new_account_is_201_and_the_same_key_again_200_with_the_same_location(
    fake_acme: FakeACME,
) -> None:
    client = RawClient(fake_acme)
    payload = {"termsOfServiceAgreed": True, "contact": ["mailto:admin@a.example"]}

    created = client.post(client.url("newAccount"), payload, jwk=True)
    again = client.post(client.url("newAccount"), payload, jwk=True)

    assert created.status_code == 201
    location = created.headers["Location"]
    assert location.startswith(fake_acme.base_url + "/acme/acct/")
    terms = fake_acme.directory_url.replace("/directory", "/terms/v1")
    assert f'<{terms}>;rel="terms-of-service"' in created.headers["Link"]
    body = created.json()
    assert body["status"] == "valid"
    # Let's Encrypt's account object: key, createdAt, status. Boulder no longer stores
    # contacts and lists no orders (core/objects.go:84-101, grpc/pb-marshalling.go
    # PbToRegistration); the rfc flavor keeps RFC 8555's members.
    assert set(body) == {"status", "key", "createdAt"}
    assert again.status_code == 200
    assert again.headers["Location"] == location
    assert again.json()["key"] == body["key"]
    assert [a.url for a in fake_acme.accounts] == [location]


def test_only_return_existing_finds_the_account_and_never_creates_one(
    fake_acme: FakeACME,
) -> None:
    client = RawClient(fake_acme)
    lookup = {"onlyReturnExisting": True}

    unknown = client.post(client.url("newAccount"), lookup, jwk=True)

    assert_problem(unknown, "accountDoesNotExist", 400, "No account exists with the provided key")
    assert fake_acme.accounts == []
    location = client.register().headers["Location"]
    found = client.post(client.url("newAccount"), lookup, jwk=True)
    assert found.status_code == 200
    assert found.headers["Location"] == location


@pytest.mark.parametrize(
    "payload",
    [{"termsOfServiceAgreed": False}, {}, {"contact": ["mailto:a@a.example"]}],
    ids=["false", "missing", "contact-only"],
)
def test_terms_not_agreed_is_malformed(fake_acme: FakeACME, payload: dict[str, Any]) -> None:
    client = RawClient(fake_acme)

    refused = client.post(client.url("newAccount"), payload, jwk=True)

    assert_problem(refused, "malformed", 400, "must agree to terms of service")
    assert fake_acme.accounts == []


def test_terms_agreement_can_be_made_optional(fake_acme: FakeACME) -> None:
    fake_acme.configure(terms_required=False)
    client = RawClient(fake_acme)

    assert client.post(client.url("newAccount"), {}, jwk=True).status_code == 201


@pytest.mark.parametrize(
    ("contact", "type_", "detail"),
    [
        ("tel:+15555550100", "unsupportedContact",
         "only contact scheme 'mailto:' is supported"),
        ("https://a.example/me", "unsupportedContact",
         "only contact scheme 'mailto:' is supported"),
        ("admin@a.example", "unsupportedContact", "only contact scheme 'mailto:' is supported"),
        ("", "invalidContact", "empty contact"),
        ("mailto:", "invalidContact", "unable to parse email address"),
        ("mailto:not-an-address", "invalidContact", "unable to parse email address"),
        ("mailto:two@@a.example", "invalidContact", "unable to parse email address"),
        ("mailto:a@b", "invalidContact",
         "contact email has invalid domain: Domain name needs at least one dot"),
        ("mailto:a@under_score.example", "invalidContact",
         "contact email has invalid domain: Domain name contains an invalid character"),
        ("mailto:a@1.2.3.4", "invalidContact",
         "contact email has invalid domain: Identifier type is DNS but value is an IP address"),
        ("mailto:a@a.example?subject=hi", "invalidContact",
         "contact email contains a question mark"),
        ("mailto:a@a.example#top", "invalidContact", "contact email contains a '#'"),
        ("mailto:jos\u00e9@a.example", "invalidContact",
         "contact email contains non-ASCII characters"),
        # No "too many/too long contact(s)" case: Boulder no longer has that check (the text
        # is absent from its source), so a long address is accepted.
    ],
    ids=[
        "tel", "https", "no-scheme", "empty", "mailto-nothing", "no-at", "two-ats",
        "single-label-domain", "bad-domain-character", "ip-domain", "query", "fragment",
        "non-ascii",
    ],
)
def test_contact_validation(fake_acme: FakeACME, contact: str, type_: str, detail: str) -> None:
    client = RawClient(fake_acme)
    payload = {"termsOfServiceAgreed": True, "contact": ["mailto:ok@a.example", contact]}

    refused = client.post(client.url("newAccount"), payload, jwk=True)

    assert_problem(refused, type_, 400, CONTACT + detail)
    assert fake_acme.accounts == []


def test_too_many_contacts_is_malformed(fake_acme: FakeACME) -> None:
    client = RawClient(fake_acme)
    payload = {"termsOfServiceAgreed": True, "contact": [f"mailto:{i}@a.ex" for i in range(11)]}

    refused = client.post(client.url("newAccount"), payload, jwk=True)

    assert_problem(refused, "malformed", 400, CONTACT + "too many contacts provided: 11 > 10")


@pytest.mark.parametrize(
    "payload",
    [
        {"termsOfServiceAgreed": True, "contact": "mailto:a@a.example"},
        {"termsOfServiceAgreed": True, "contact": [1]},
        {"termsOfServiceAgreed": "yes"},
        {"termsOfServiceAgreed": True, "onlyReturnExisting": 1},
    ],
    ids=["contact-string", "contact-number", "terms-string", "only-existing-number"],
)
def test_new_account_fields_of_the_wrong_type_are_malformed(
    fake_acme: FakeACME, payload: dict[str, Any]
) -> None:
    client = RawClient(fake_acme)

    refused = client.post(client.url("newAccount"), payload, jwk=True)

    assert_problem(refused, "malformed", 400, "Error unmarshaling JSON")


# The rfc flavor: Boulder ignores contact updates (wfe2/wfe.go:1509-1514) and its account
# object has neither contact nor orders (core/objects.go:84-101); RFC 8555 7.3.2 has both.
@pytest.mark.fake_acme(flavor="rfc")
def test_account_fetch_update_and_deactivate(raw: RawClient, fake_acme: FakeACME) -> None:
    assert raw.kid is not None
    fetched = raw.post_as_get(raw.kid)
    assert fetched.status_code == 200
    assert fetched.json()["status"] == "valid"
    assert fetched.json()["orders"] == raw.kid + "/orders"
    assert raw.post(raw.kid, {}).json() == fetched.json()

    updated = raw.post(raw.kid, {"contact": ["mailto:new@a.example", "mailto:ops@a.example"]})
    assert updated.status_code == 200
    assert updated.json()["contact"] == ["mailto:new@a.example", "mailto:ops@a.example"]
    assert fake_acme.accounts[0].contact == ("mailto:new@a.example", "mailto:ops@a.example")
    assert raw.post(raw.kid, {"status": "valid"}).json()["status"] == "valid"

    deactivated = raw.post(raw.kid, {"status": "deactivated", "contact": ["mailto:x@a.example"]})

    assert deactivated.status_code == 200
    assert deactivated.json()["status"] == "deactivated"
    # Deactivation wins over anything else in the same request.
    assert deactivated.json()["contact"] == ["mailto:new@a.example", "mailto:ops@a.example"]
    refusal = V + 'Account is not valid, has status "deactivated"'
    for url, payload in [(raw.kid, None), (raw.url("newOrder"), dns("a.example")),
                         (raw.kid, {"status": "deactivated"})]:
        answer = raw.post(url, payload)
        assert_problem(answer, "unauthorized", 403, refusal)
        assert answer.headers["Replay-Nonce"]
    again = raw.post(raw.url("newAccount"), {"termsOfServiceAgreed": True}, jwk=True)
    assert_problem(again, "unauthorized", 403,
                   "An account with the provided public key exists but is deactivated")
    assert [a.status for a in fake_acme.accounts] == ["deactivated"]


def test_deactivated_account_is_refused_even_with_a_bad_signature(raw: RawClient) -> None:
    # Boulder looks the account up (and refuses it) before it checks the signature.
    assert raw.kid is not None
    raw.post(raw.kid, {"status": "deactivated"})

    refused = raw.post(raw.kid, None, key=new_key("ES256"), kid=raw.kid)

    assert_problem(refused, "unauthorized", 403,
                   V + 'Account is not valid, has status "deactivated"')


@pytest.mark.parametrize("status", ["revoked", "pending", "DEACTIVATED"])
def test_account_update_to_another_status_is_malformed(raw: RawClient, status: str) -> None:
    assert raw.kid is not None

    refused = raw.post(raw.kid, {"status": status})

    assert_problem(
        refused, "malformed", 400,
        f'Unable to update account :: invalid status "{status}" for account update request, '
        'must be "valid" or "deactivated"',
    )


# The rfc flavor: Boulder ignores contact updates (wfe2/wfe.go:1509-1514).
@pytest.mark.fake_acme(flavor="rfc")
def test_account_update_with_a_bad_contact_is_refused(raw: RawClient) -> None:
    assert raw.kid is not None

    refused = raw.post(raw.kid, {"contact": ["tel:+15555550100"]})

    assert_problem(refused, "unsupportedContact", 400,
                   "Unable to update account :: only contact scheme 'mailto:' is supported")


def test_another_accounts_url_and_orders_are_refused(raw: RawClient, other: RawClient) -> None:
    assert other.kid is not None
    for url in (other.kid, other.kid + "/orders"):
        refused = raw.post_as_get(url)

        assert_problem(refused, "unauthorized", 403,
                       "Request signing key did not match account key")
    assert_problem(raw.post(other.kid, {"status": "deactivated"}), "unauthorized", 403)
    assert other.post_as_get(other.kid).json()["status"] == "valid"


def test_another_accounts_order_authz_challenge_and_certificate_are_refused(
    raw: RawClient, other: RawClient, fake_acme: FakeACME
) -> None:
    order_url, order = issued(other, fake_acme, "theirs.example")
    authz_url = order["authorizations"][0]
    chall_url = other.post_as_get(authz_url).json()["challenges"][0]["url"]
    not_mine = f"No order found for account ID {account_id(raw)}"
    # A read names the account of the order's URL, which Boulder's URLs make the owner
    # (wfe2/wfe.go:2594-2605); finalize names the signer (2677-2682).
    theirs = f"No order found for account ID {account_id(other)}"

    assert_problem(raw.post_as_get(order_url), "malformed", 404, theirs)
    assert_problem(raw.finalize(order, make_csr(["theirs.example"])), "malformed", 404, not_mine)
    assert_problem(raw.post_as_get(authz_url), "unauthorized", 403,
                   "Account ID doesn't match ID for authorization")
    assert_problem(raw.post(authz_url, {"status": "deactivated"}), "unauthorized", 403,
                   "Account ID doesn't match ID for authorization")
    assert_problem(raw.post(chall_url, {}), "unauthorized", 403,
                   "User account ID doesn't match account ID in authorization")
    assert_problem(raw.post_as_get(order["certificate"]), "unauthorized", 403,
                   "Account in use did not issue specified certificate")

    # The owner still sees everything unchanged.
    assert other.post_as_get(order_url).json()["status"] == "valid"
    assert other.post_as_get(authz_url).json()["status"] == "valid"
    assert other.post_as_get(order["certificate"]).status_code == 200


# The rfc flavor: the account object names its orders list there only (RFC 8555 7.1.2.1;
# Boulder lists none, core/objects.go:84-101).
@pytest.mark.fake_acme(flavor="rfc")
def test_orders_list_is_paginated_with_link_next(raw: RawClient, fake_acme: FakeACME) -> None:
    fake_acme.configure(orders_page_size=2)
    assert raw.kid is not None
    created = [raw.new_order(f"o{i}.example").headers["Location"] for i in range(5)]
    url: str | None = raw.post_as_get(raw.kid).json()["orders"]
    pages: list[list[str]] = []

    while url is not None:
        page = raw.post_as_get(url)
        assert page.status_code == 200
        pages.append(page.json()["orders"])
        url = page.links.get("next", {}).get("url")

    assert [len(p) for p in pages] == [2, 2, 1]
    assert [o for p in pages for o in p] == created


def test_orders_list_refuses_a_payload_and_a_bad_cursor(raw: RawClient) -> None:
    assert raw.kid is not None
    orders = raw.kid + "/orders"

    assert_problem(raw.post(orders, {}), "malformed", 400,
                   V + "POST-as-GET requests must have an empty payload")
    assert_problem(raw.post_as_get(orders + "?cursor=-1"), "malformed", 400)
    assert_problem(raw.post_as_get(orders + "?cursor=x"), "malformed", 400)
    assert raw.post_as_get(orders + "?cursor=7").json() == {"orders": []}


# newOrder (RFC 8555 7.4, RFC 8738)


@pytest.mark.parametrize(
    "payload", [{"identifiers": []}, {}, {"identifiers": None}], ids=["empty", "missing", "null"]
)
def test_order_without_identifiers_is_malformed(raw: RawClient, payload: dict[str, Any]) -> None:
    refused = raw.post(raw.url("newOrder"), payload)

    assert_problem(refused, "malformed", 400, "NewOrder request did not specify any identifiers")


@pytest.mark.parametrize(
    "payload",
    [
        {"identifiers": "a.example"},
        {"identifiers": ["a.example"]},
        {"identifiers": [{"type": "dns", "value": 7}]},
        {"identifiers": [{"type": ["dns"], "value": "a.example"}]},
        {"identifiers": [{"type": "dns", "value": "a.example"}], "notBefore": 5},
        {"identifiers": [{"type": "dns", "value": "a.example"}], "profile": {}},
    ],
    ids=["string", "list-of-strings", "value-number", "type-list", "notBefore-number",
         "profile-object"],
)
def test_order_of_the_wrong_shape_is_malformed(raw: RawClient, payload: dict[str, Any]) -> None:
    refused = raw.post(raw.url("newOrder"), payload)

    assert_problem(refused, "malformed", 400, "Unable to unmarshal NewOrder request body")


@pytest.mark.parametrize(
    ("identifier", "shown"),
    [
        ({"type": "email", "value": "a@a.example"}, 'type "email", value "a@a.example"'),
        ({"type": "DNS", "value": "a.example"}, 'type "DNS", value "a.example"'),
        ({"value": "a.example"}, 'type "", value "a.example"'),
    ],
    ids=["email", "uppercase-type", "missing-type"],
)
def test_unsupported_identifier_type(
    raw: RawClient, identifier: dict[str, str], shown: str
) -> None:
    refused = raw.post(raw.url("newOrder"), {"identifiers": [identifier]})

    assert_problem(refused, "unsupportedIdentifier", 400,
                   f"NewOrder request included unsupported identifier: {shown}")


@pytest.mark.parametrize("identifier", [{"type": "dns", "value": ""}, {"type": "ip"}])
def test_empty_identifier_is_malformed(raw: RawClient, identifier: dict[str, str]) -> None:
    refused = raw.post(raw.url("newOrder"), {"identifiers": [identifier]})

    assert_problem(refused, "malformed", 400, "NewOrder request included empty identifier")


INVALID_NAMES = [
    ("dns", "under_score.example", "Domain name contains an invalid character"),
    ("dns", "sp ace.example", "Domain name contains an invalid character"),
    ("dns", "caf\u00e9.example", "Domain name contains an invalid character"),
    ("dns", "-lead.example", "Domain name contains an invalid character"),
    ("dns", "trail-.example", "Domain name contains an invalid character"),
    ("dns", "example", "Domain name needs at least one dot"),
    ("dns", "a..example", "Domain name can not have two dots in a row"),
    ("dns", "a.example.", "Domain name ends in a dot"),
    ("dns", ".a.example", "Domain name can not have two dots in a row"),
    ("dns", "a.b.c.d.e.f.g.h.i.j.example", "Domain name has more than 10 labels (parts)"),
    ("dns", "x" * 64 + ".example",
     "Domain has a label (component between dots) longer than 63 bytes"),
    ("dns", ("x" * 60 + ".") * 5 + "example", "Domain name is longer than 253 bytes"),
    ("dns", "192.0.2.1", "Identifier type is DNS but value is an IP address"),
    ("dns", "*.*.example", "Domain name has more than one wildcard"),
    ("dns", "a.*.example",
     "Domain name contains an invalid wildcard. A wildcard is only permitted before the first "
     "dot in a domain name"),
    ("dns", "*a.example",
     "Domain name contains an invalid wildcard. A wildcard is only permitted before the first "
     "dot in a domain name"),
    ("dns", "*.example", "Domain name needs at least one dot"),
    ("dns", "ab--cd.example",
     "Domain name contains an invalid label in a reserved format (R-LDH: '??--')"),
    ("ip", "1.2.3", "IP address is invalid"),
    ("ip", "001.2.3.4", "IP address is invalid"),
    ("ip", "fe80::1%eth0", "IP address is invalid"),
    ("ip", "2001:db8:0:0:0:0:0:1", "IP address is invalid"),
    ("ip", "a.example", "IP address is invalid"),
]


@pytest.mark.parametrize(("kind", "value", "reason"), INVALID_NAMES,
                         ids=[f"{k}:{v[:24]}" for k, v, _ in INVALID_NAMES])
def test_invalid_identifier_is_rejected_identifier(
    raw: RawClient, fake_acme: FakeACME, kind: str, value: str, reason: str
) -> None:
    refused = raw.post(raw.url("newOrder"), {"identifiers": [{"type": kind, "value": value}]})

    body = assert_problem(refused, "rejectedIdentifier", 400,
                          IDENTS + f'Cannot issue for "{value}": {reason}')
    # Boulder names the identifier in the detail only, not as a member (policy/pa.go:525-531).
    assert "identifier" not in body
    assert fake_acme.orders == []


def test_several_invalid_identifiers_are_subproblems(raw: RawClient) -> None:
    payload = {"identifiers": [
        {"type": "dns", "value": "good.example"},
        {"type": "dns", "value": "bad_name.example"},
        {"type": "ip", "value": "1.2.3"},
        {"type": "dns", "value": "ab--cd.example"},
    ]}

    refused = raw.post(raw.url("newOrder"), payload)

    # Identifiers are normalized (sorted, DNS names first) before they are checked.
    body = assert_problem(
        refused, "rejectedIdentifier", 400,
        IDENTS + 'Cannot issue for "ab--cd.example": Domain name contains an invalid label in a '
        "reserved format (R-LDH: '??--') (and 2 more problems. Refer to sub-problems for more "
        "information.)",
    )
    assert body["subproblems"] == [
        {"type": "urn:ietf:params:acme:error:rejectedIdentifier",
         "detail": IDENTS + "Domain name contains an invalid label in a reserved format "
                            "(R-LDH: '??--')",
         "status": 400, "identifier": {"type": "dns", "value": "ab--cd.example"}},
        {"type": "urn:ietf:params:acme:error:malformed",
         "detail": IDENTS + "Domain name contains an invalid character",
         "status": 400, "identifier": {"type": "dns", "value": "bad_name.example"}},
        {"type": "urn:ietf:params:acme:error:malformed",
         "detail": IDENTS + "IP address is invalid",
         "status": 400, "identifier": {"type": "ip", "value": "1.2.3"}},
    ]
    assert "identifier" not in body


def test_identifiers_are_lowercased_deduplicated_and_sorted(raw: RawClient) -> None:
    # shortlived: Let's Encrypt's default profile takes no IP addresses (ra/ra.go:2121-2137);
    # 2a00:1450::abcd, not 2001:db8::1, which is in the IANA documentation block Boulder
    # refuses (policy/pa.go:347-369).
    payload = {"profile": "shortlived", "identifiers": [
        {"type": "ip", "value": "127.0.0.1"},
        {"type": "dns", "value": "B.Example"},
        {"type": "dns", "value": "a.example"},
        {"type": "dns", "value": "b.example"},
        {"type": "ip", "value": "2A00:1450::ABCD"},
    ]}

    created = raw.post(raw.url("newOrder"), payload)

    assert created.status_code == 201, created.text
    assert created.json()["identifiers"] == [
        {"type": "dns", "value": "a.example"},
        {"type": "dns", "value": "b.example"},
        {"type": "ip", "value": "127.0.0.1"},
        {"type": "ip", "value": "2a00:1450::abcd"},
    ]
    assert len(created.json()["authorizations"]) == 4


def test_too_many_identifiers_is_malformed(raw: RawClient) -> None:
    refused = raw.post(raw.url("newOrder"), dns(*(f"n{i}.example" for i in range(101))))

    assert_problem(refused, "malformed", 400,
                   "Error creating new order :: Order cannot contain more than 100 identifiers")


def test_not_before_and_not_after_are_refused_like_lets_encrypt(raw: RawClient) -> None:
    payload = dns("a.example") | {"notAfter": "2030-01-01T00:00:00Z"}

    refused = raw.post(raw.url("newOrder"), payload)

    assert_problem(refused, "malformed", 400, "NotBefore and NotAfter are not supported")


def test_unknown_profile_is_invalid_profile(raw: RawClient) -> None:
    refused = raw.post(raw.url("newOrder"), dns("a.example") | {"profile": "longlived"})

    assert_problem(refused, "invalidProfile", 400, 'profile name "longlived" not recognized')


def test_new_order_is_201_pending_with_an_authorization_per_name(
    raw: RawClient, fake_acme: FakeACME
) -> None:
    created = raw.post(raw.url("newOrder"), dns("a.example", "b.example"))

    assert created.status_code == 201
    order = created.json()
    assert created.headers["Location"].startswith(fake_acme.base_url + "/acme/order/")
    assert order["status"] == "pending"
    assert order["finalize"].startswith(fake_acme.base_url + "/acme/finalize/")
    assert "certificate" not in order
    authzs = raw.authorizations(order)
    assert [a["identifier"]["value"] for a in authzs] == ["a.example", "b.example"]
    for authz in authzs:
        assert authz["status"] == "pending"
        assert "wildcard" not in authz
        assert {c["type"] for c in authz["challenges"]} == {"http-01", "dns-01", "tls-alpn-01"}
        assert {c["status"] for c in authz["challenges"]} == {"pending"}
        assert len({c["token"] for c in authz["challenges"]}) == 1  # Boulder: one token


def test_wildcard_gets_dns_01_only_with_wildcard_true(raw: RawClient) -> None:
    order = raw.new_order("*.w.example", "w.example").json()

    wildcard, plain = raw.authorizations(order)

    assert order["identifiers"] == [{"type": "dns", "value": "*.w.example"},
                                    {"type": "dns", "value": "w.example"}]
    assert wildcard["identifier"] == {"type": "dns", "value": "w.example"}
    assert wildcard["wildcard"] is True
    assert [c["type"] for c in wildcard["challenges"]] == ["dns-01"]
    assert plain["identifier"] == {"type": "dns", "value": "w.example"}
    assert "wildcard" not in plain


def test_ip_identifier_gets_http_01_and_tls_alpn_01_and_a_certificate(
    raw: RawClient, fake_acme: FakeACME, responder: Responder
) -> None:
    # shortlived: the default profile takes no IP addresses (ra/ra.go:2121-2137).
    created = raw.new_order("127.0.0.1", profile="shortlived")
    order_url, order = created.headers["Location"], created.json()
    (authz,) = raw.authorizations(order)
    assert authz["identifier"] == {"type": "ip", "value": "127.0.0.1"}
    assert {c["type"] for c in authz["challenges"]} == {"http-01", "tls-alpn-01"}

    chall = challenge_of(authz, "http-01")
    responder.serve(chall["token"], raw.key_authorization(chall["token"]))
    raw.post(chall["url"], {})
    assert raw.post_as_get(order_url).json()["status"] == "ready"
    fake_acme.configure(async_finalize=False)
    final = raw.finalize(order, make_csr(["127.0.0.1"])).json()

    assert final["status"] == "valid"
    chain = raw.post_as_get(final["certificate"]).text
    leaf = x509.load_pem_x509_certificates(chain.encode())[0]
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]


def test_a_pending_order_for_the_same_names_is_returned_again(raw: RawClient) -> None:
    first = raw.new_order("a.example", "b.example")

    again = raw.new_order("b.example", "a.example")
    different = raw.new_order("a.example")

    assert again.status_code == 201
    assert again.headers["Location"] == first.headers["Location"]
    assert again.json() == first.json()
    assert different.headers["Location"] != first.headers["Location"]


def test_order_reuse_can_be_turned_off(raw: RawClient, fake_acme: FakeACME) -> None:
    fake_acme.configure(order_reuse=False)

    first, again = raw.new_order("a.example"), raw.new_order("a.example")

    assert again.headers["Location"] != first.headers["Location"]


def test_a_valid_authorization_is_reused_and_the_new_order_is_ready_at_once(
    raw: RawClient, fake_acme: FakeACME
) -> None:
    first_url, first = issued(raw, fake_acme, "a.example")

    second = raw.new_order("a.example")

    assert second.headers["Location"] != first_url
    assert second.json()["status"] == "ready"
    assert second.json()["authorizations"] == first["authorizations"]
    # Another account gets its own authorization.
    stranger = RawClient(fake_acme)
    stranger.register()
    theirs = stranger.new_order("a.example").json()
    assert theirs["status"] == "pending"
    assert theirs["authorizations"] != first["authorizations"]


def test_only_valid_authorizations_are_reused(raw: RawClient, fake_acme: FakeACME) -> None:
    order = raw.new_order("a.example").json()
    (authz_url,) = order["authorizations"]
    raw.post(authz_url, {"status": "deactivated"})

    fresh = raw.new_order("a.example").json()

    assert fresh["status"] == "pending"
    assert fresh["authorizations"] != [authz_url]


# Finalization (RFC 8555 7.4)


def test_finalize_before_ready_is_order_not_ready(raw: RawClient) -> None:
    order = raw.new_order("a.example").json()

    refused = raw.finalize(order, make_csr(["a.example"]))

    assert_problem(refused, "orderNotReady", 403, not_ready("pending"))


@pytest.mark.parametrize(
    ("csr_names", "order_names"),
    [(["other.example"], ["a.example"]),
     (["a.example"], ["a.example", "b.example"]),
     (["a.example", "b.example"], ["a.example"])],
    ids=["other-name", "missing-name", "extra-name"],
)
def test_csr_with_other_identifiers_is_unauthorized(
    raw: RawClient, fake_acme: FakeACME, csr_names: list[str], order_names: list[str]
) -> None:
    url, order = ready_order(raw, fake_acme, *order_names)

    refused = raw.finalize(order, make_csr(csr_names))

    assert_problem(refused, "unauthorized", 403,
                   FINALIZE + "CSR does not specify same identifiers as Order")
    assert raw.post_as_get(url).json()["status"] == "ready"


def _bad_signature_csr(names: list[str]) -> bytes:
    der = bytearray(make_csr(names))
    der[-1] ^= 0x01  # the last byte of the signature's s value
    return bytes(der)


@pytest.mark.parametrize(
    ("csr", "type_", "status", "detail"),
    [
        (lambda c: make_csr(["a.example"], c.key), "malformed", 400,
         FINALIZE + "certificate public key must be different than account key"),
        (lambda c: _bad_signature_csr(["a.example"]), "badCSR", 400,
         FINALIZE + "invalid signature on CSR"),
        (lambda c: make_csr(["a.example"], ec.generate_private_key(ec.SECP521R1())), "badCSR",
         400, None),
    ],
    ids=["account-key", "bad-signature", "p521-key"],
)
def test_unacceptable_csr_is_refused_and_the_order_stays_ready(
    raw: RawClient, fake_acme: FakeACME, csr: Any, type_: str, status: int, detail: str | None
) -> None:
    url, order = ready_order(raw, fake_acme, "a.example")

    refused = raw.finalize(order, csr(raw))

    body = assert_problem(refused, type_, status, detail)
    assert body["detail"].startswith(FINALIZE)
    assert raw.post_as_get(url).json()["status"] == "ready"
    assert raw.finalize(order, make_csr(["a.example"])).status_code == 200


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        ({"csr": b64(b"garbage")}, "Error parsing certificate request: "),
        ({}, "Error parsing certificate request: "),
        ({"csr": "not base64!"}, "Error unmarshaling finalize order request"),
        ({"csr": 42}, "Error unmarshaling finalize order request"),
        (None, "Error unmarshaling finalize order request"),
    ],
    ids=["garbage", "no-csr", "not-base64url", "number", "post-as-get"],
)
def test_unreadable_csr_is_malformed(
    raw: RawClient, fake_acme: FakeACME, payload: Any, detail: str
) -> None:
    url, order = ready_order(raw, fake_acme, "a.example")

    refused = raw.post(order["finalize"], payload)

    body = assert_problem(refused, "malformed", 400)
    assert body["detail"].startswith(detail), body
    assert raw.post_as_get(url).json()["status"] == "ready"


def test_async_finalization_answers_processing_then_valid(
    raw: RawClient, fake_acme: FakeACME
) -> None:
    url, order = ready_order(raw, fake_acme, "a.example")

    finalized = raw.finalize(order, make_csr(["a.example"]))

    assert finalized.status_code == 200
    assert finalized.headers["Location"] == url
    assert finalized.headers["Retry-After"] == "3"
    assert finalized.json()["status"] == "processing"
    assert "certificate" not in finalized.json()
    polled = raw.post_as_get(url)
    assert polled.json()["status"] == "valid"
    assert polled.json()["certificate"].startswith(fake_acme.base_url + "/acme/cert/")
    assert "Retry-After" not in polled.headers
    assert_problem(raw.finalize(order, make_csr(["a.example"])), "orderNotReady", 403,
                   not_ready("valid"))
    assert len(fake_acme.certificates) == 1


def test_processing_can_last_several_polls_and_a_second_finalize_is_refused(
    raw: RawClient, fake_acme: FakeACME
) -> None:
    fake_acme.configure(finalize_processing_polls=2)
    url, order = ready_order(raw, fake_acme, "a.example")
    raw.finalize(order, make_csr(["a.example"]))

    double = raw.finalize(order, make_csr(["a.example"]))
    polls = [raw.post_as_get(url) for _ in range(3)]

    assert_problem(double, "orderNotReady", 403, not_ready("processing"))
    assert [p.json()["status"] for p in polls] == ["processing", "processing", "valid"]
    assert [p.headers.get("Retry-After") for p in polls] == ["3", "3", None]
    assert len(fake_acme.certificates) == 1


def test_synchronous_finalization_answers_valid(raw: RawClient, fake_acme: FakeACME) -> None:
    fake_acme.configure(async_finalize=False)
    _, order = ready_order(raw, fake_acme, "a.example")

    finalized = raw.finalize(order, make_csr(["a.example"]))

    assert finalized.status_code == 200
    assert finalized.json()["status"] == "valid"
    assert finalized.json()["certificate"].startswith(fake_acme.base_url + "/acme/cert/")
    assert "Retry-After" not in finalized.headers


def test_finalize_of_an_invalid_order_is_order_not_ready(
    raw: RawClient, fake_acme: FakeACME
) -> None:
    _, order = ready_order(raw, fake_acme, "a.example")
    raw.post(order["authorizations"][0], {"status": "deactivated"})

    refused = raw.finalize(order, make_csr(["a.example"]))

    assert_problem(refused, "orderNotReady", 403, not_ready("invalid"))


def test_certificate_is_a_pem_chain_that_verifies_against_the_roots(
    raw: RawClient, fake_acme: FakeACME
) -> None:
    _, order = issued(raw, fake_acme, "a.example", "www.a.example")

    download = raw.post_as_get(order["certificate"])

    assert download.status_code == 200
    assert download.headers["Content-Type"] == "application/pem-certificate-chain"
    leaf, *intermediates = x509.load_pem_x509_certificates(download.content)
    assert len(intermediates) == 1
    roots = x509.load_pem_x509_certificates(fake_acme.roots.encode())
    verifier = (
        PolicyBuilder()
        .store(Store(roots))
        .time(fake_acme.clock.now())
        .build_server_verifier(x509.DNSName("www.a.example"))
    )
    path = verifier.verify(leaf, intermediates)
    assert path[-1] in roots
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(san.get_values_for_type(x509.DNSName)) == ["a.example", "www.a.example"]
    assert fake_acme.certificates[0].serial == leaf.serial_number


def test_certificate_is_read_only_by_post_as_get(raw: RawClient, fake_acme: FakeACME) -> None:
    _, order = issued(raw, fake_acme, "a.example")

    with_payload = raw.post(order["certificate"], {})
    unknown = raw.post_as_get(order["certificate"] + "0")

    assert_problem(with_payload, "malformed", 400,
                   V + "POST-as-GET requests must have an empty payload")
    assert_problem(unknown, "malformed", 404, "Certificate not found")


def test_order_is_read_only_by_post_as_get(raw: RawClient) -> None:
    url = raw.new_order("a.example").headers["Location"]

    assert_problem(raw.post(url, {}), "malformed", 400,
                   V + "POST-as-GET requests must have an empty payload")
    missing = url + "0"
    assert_problem(raw.post_as_get(missing), "malformed", 404,
                   f"No order for ID {missing.rsplit('/', 1)[1]}")


# Challenges and authorizations (RFC 8555 7.5)


def test_challenge_post_is_200_pending_and_the_next_poll_shows_the_result(
    raw: RawClient, responder: Responder
) -> None:
    created = raw.new_order("a.example")
    order_url, order = created.headers["Location"], created.json()
    authz_url = order["authorizations"][0]
    chall = challenge_of(raw.post_as_get(authz_url).json(), "http-01")
    responder.serve(chall["token"], raw.key_authorization(chall["token"]))

    answer = raw.post(chall["url"], {})

    assert answer.status_code == 200
    assert answer.json()["status"] == "pending"
    assert answer.json()["url"] == chall["url"]
    assert answer.headers["Location"] == chall["url"]
    assert answer.links["up"]["url"] == authz_url
    assert "Retry-After" not in answer.headers
    authz = raw.post_as_get(authz_url).json()
    assert authz["status"] == "valid"
    (validated,) = authz["challenges"]
    assert validated["type"] == "http-01"
    assert validated["status"] == "valid"
    assert "validated" in validated
    assert validated["validationRecord"][0]["url"].endswith(
        f"/.well-known/acme-challenge/{chall['token']}"
    )
    assert [p for p, _ in responder.seen] == [f"/.well-known/acme-challenge/{chall['token']}"]
    assert raw.post_as_get(order_url).json()["status"] == "ready"


def test_challenge_post_as_get_reads_without_validating(
    raw: RawClient, responder: Responder
) -> None:
    order = raw.new_order("a.example").json()
    authz_url = order["authorizations"][0]
    chall = challenge_of(raw.post_as_get(authz_url).json(), "http-01")

    read = raw.post_as_get(chall["url"])

    assert read.status_code == 200
    assert read.json() == chall
    assert read.links["up"]["url"] == authz_url
    assert raw.post_as_get(authz_url).json()["status"] == "pending"
    assert responder.seen == []


def test_post_to_a_challenge_removed_by_validation_is_404(
    raw: RawClient, fake_acme: FakeACME
) -> None:
    order = raw.new_order("a.example").json()
    authz_url = order["authorizations"][0]
    authz = raw.post_as_get(authz_url).json()
    fake_acme.va.default = outcomes.valid()
    raw.post(challenge_of(authz, "http-01")["url"], {})
    assert raw.post_as_get(authz_url).json()["status"] == "valid"

    for removed in ("dns-01", "tls-alpn-01"):
        answer = raw.post(challenge_of(authz, removed)["url"], {})
        assert_problem(answer, "malformed", 404, "No such challenge")
    # The attempted challenge still answers, unchanged.
    again = raw.post(challenge_of(authz, "http-01")["url"], {})
    assert again.status_code == 200
    assert again.json()["status"] == "valid"


def test_challenge_of_a_failed_authorization_cannot_be_retried(
    raw: RawClient, fake_acme: FakeACME
) -> None:
    fake_acme.va.script("a.example", outcomes.http_status(404))
    order = raw.new_order("a.example").json()
    authz_url = order["authorizations"][0]
    chall = challenge_of(raw.post_as_get(authz_url).json(), "http-01")
    raw.post(chall["url"], {})
    assert raw.post_as_get(authz_url).json()["status"] == "invalid"

    retry = raw.post(chall["url"], {})

    assert_problem(retry, "malformed", 400,
                   "Unable to update challenge :: authorization must be pending")


def test_unknown_challenge_and_authorization_are_404(raw: RawClient) -> None:
    order = raw.new_order("a.example").json()
    authz_url = order["authorizations"][0]
    chall_url = raw.post_as_get(authz_url).json()["challenges"][0]["url"]
    base, chall_id = chall_url.rsplit("/", 1)

    assert_problem(raw.post(f"{base}/{chall_id}0", {}), "malformed", 404, "No such challenge")
    assert_problem(raw.post(chall_url.replace("/chall/", "/chall/0"), {}), "malformed", 404,
                   "No such challenge")
    assert_problem(raw.post_as_get(authz_url + "0"), "malformed", 404, "No such authorization")


def test_authorization_deactivation(raw: RawClient, fake_acme: FakeACME) -> None:
    created = raw.new_order("a.example")
    order_url, order = created.headers["Location"], created.json()
    authz_url = order["authorizations"][0]

    assert_problem(raw.post(authz_url, {"status": "valid"}), "malformed", 400,
                   "Invalid status value")
    assert_problem(raw.post(authz_url, {"status": 1}), "malformed", 400, "Error unmarshaling JSON")
    deactivated = raw.post(authz_url, {"status": "deactivated"})

    assert deactivated.status_code == 200
    assert deactivated.json()["status"] == "deactivated"
    assert raw.post_as_get(authz_url).json()["status"] == "deactivated"
    assert raw.post_as_get(order_url).json()["status"] == "invalid"
    assert "error" not in raw.post_as_get(order_url).json()
    # Deactivating it again is answered like the first time: Boulder's SA changes only valid
    # and pending authorizations, silently (sa/sa.go:451-469), and the WFE shows the
    # authorization deactivated (wfe2/wfe.go:1557-1566).
    again = raw.post(authz_url, {"status": "deactivated"})
    assert again.status_code == 200
    assert again.json()["status"] == "deactivated"
    chall = raw.post_as_get(authz_url).json()["challenges"][0]
    assert_problem(raw.post(chall["url"], {}), "malformed", 400,
                   "Unable to update challenge :: authorization must be pending")
    assert raw.new_order("a.example").headers["Location"] != order_url


def test_a_valid_authorization_can_be_deactivated(raw: RawClient, fake_acme: FakeACME) -> None:
    url, order = ready_order(raw, fake_acme, "a.example")

    deactivated = raw.post(order["authorizations"][0], {"status": "deactivated"})

    assert deactivated.json()["status"] == "deactivated"
    assert raw.post_as_get(url).json()["status"] == "invalid"
    assert raw.new_order("a.example").json()["status"] == "pending"


def test_expired_authorization_is_404_like_lets_encrypt(
    raw: RawClient, fake_acme: FakeACME
) -> None:
    created = raw.new_order("a.example")
    authz_url = created.json()["authorizations"][0]
    chall_url = raw.post_as_get(authz_url).json()["challenges"][0]["url"]
    fake_acme.clock.advance(days=8)
    stale = raw.post_as_get(authz_url)
    # The nonce the client held expired too: a client retries with the one it was given.
    assert_problem(stale, "badNonce", 400)

    assert_problem(raw.post_as_get(authz_url), "malformed", 404, "Expired authorization")
    assert_problem(raw.post(chall_url, {}), "malformed", 404, "Expired authorization")
    assert raw.post_as_get(created.headers["Location"]).json()["status"] == "invalid"
    assert [a.status for a in fake_acme.authorizations] == ["expired"]


@pytest.mark.fake_acme(flavor="rfc")
def test_expired_authorization_reads_as_expired_in_the_rfc_flavor(
    raw: RawClient, fake_acme: FakeACME
) -> None:
    authz_url = raw.new_order("a.example").json()["authorizations"][0]
    fake_acme.clock.advance(datetime.timedelta(days=8))

    assert raw.post_as_get(authz_url, nonce=raw.new_nonce()).json()["status"] == "expired"


def test_every_answer_here_is_json_or_a_problem(raw: RawClient, fake_acme: FakeACME) -> None:
    # A sweep over the resources with odd but well-signed payloads: never a 500.
    _, order = issued(raw, fake_acme, "a.example")
    assert raw.kid is not None
    urls = [raw.kid, raw.kid + "/orders", raw.url("newOrder"), order["finalize"],
            order["authorizations"][0], order["certificate"]]
    payloads: list[Any] = [{}, None, {"status": None}, {"identifiers": [{}]}, {"csr": ""},
                           {"contact": None}, {"status": "deactivated", "x": [1, {"y": None}]}]
    for url in urls:
        for payload in payloads:
            answer: requests.Response = raw.post(url, payload)
            assert answer.status_code < 500, (url, payload, answer.text)
            assert answer.headers["Replay-Nonce"]
