"""The JWS and front-end rows (``wfe-*``) and the header rows (``hdr-*``) of the Boulder table,
reproduced over the fake's real HTTPS server with raw JWS.

Each test names the rows it pins; ``expect`` compares type, status and the detail, byte for
byte, with Boulder's format string from ``tests/boulder_rows.py``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import josepy as jose
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

import rawkeys
from boulder_table import expect, reproduces
from jwsclient import (
    RawClient,
    b64,
    issued,
    new_key,
    public_jwk,
)
from pytest_fakeacme import FakeACME
from pytest_fakeacme.renewal import cert_id

ORDER = {"identifiers": [{"type": "dns", "value": "a.example"}]}
TERMS = {"termsOfServiceAgreed": True}
CT = "application/jose+json"


def envelope_bytes(raw: RawClient, url: str, **members: Any) -> bytes:
    """A correct newOrder JWS from ``raw`` with ``members`` of the envelope replaced (None
    removes one)."""
    envelope: dict[str, Any] = raw.envelope(raw.protected(url), json.dumps(ORDER).encode())
    for name, value in members.items():
        if value is None:
            envelope.pop(name, None)
        else:
            envelope[name] = value
    return json.dumps(envelope).encode()


def new_account_with(raw: RawClient, key: rawkeys.RawRSA) -> requests.Response:
    """newAccount signed (RS256) by a key built from numbers."""
    url = raw.url("newAccount")
    protected = b64(json.dumps({"alg": "RS256", "jwk": key.jwk(), "nonce": raw.nonce(),
                                "url": url}).encode())
    payload = b64(json.dumps(TERMS).encode())
    signature = b64(key.sign(f"{protected}.{payload}".encode()))
    return raw.send(url, {"protected": protected, "payload": payload, "signature": signature})


# Content-Type, body, envelope (wfe2/verify.go validPOSTRequest, parseJWS)


@pytest.mark.parametrize(("row", "content_type"), [
    ("wfe-01", None),
    ("wfe-02", "application/json"),
    ("wfe-03", "application/jose+json; charset=utf-8"),
    ("wfe-03", "Application/JOSE+JSON"),
    ("wfe-04", ""),
])
def test_content_type(raw: RawClient, row: str, content_type: str | None) -> None:
    answer = raw.post(raw.url("newOrder"), ORDER, content_type=content_type)

    expect(row, answer, CT)
    assert raw.fake.orders == []


def test_replay_nonce_request_header(raw: RawClient) -> None:
    body = envelope_bytes(raw, raw.url("newOrder"))

    answer = raw.send(raw.url("newOrder"), body, headers={"Replay-Nonce": raw.new_nonce()})

    expect("wfe-05", answer)


def test_body_size_limit_is_50000_bytes(raw: RawClient) -> None:
    url = raw.url("newOrder")
    body = envelope_bytes(raw, url)
    # JSON allows white space after the value: the same JWS, padded to the size wanted.
    exactly = body + b" " * (50_000 - len(body))

    assert raw.send(url, exactly).status_code == 201
    expect("wfe-06", raw.send(url, envelope_bytes(raw, url) + b" " * (50_001 - len(body))))


@pytest.mark.parametrize(("row", "make"), [
    ("wfe-08", lambda raw, url: ".".join(json.loads(envelope_bytes(raw, url)).values()).encode()),
    ("wfe-09", lambda raw, url: envelope_bytes(raw, url, header={"kid": raw.kid})),
    ("wfe-10", lambda raw, url: json.dumps({"payload": b64(b"{}"), "signatures": [
        {"protected": b64(b"{}"), "signature": "AAAA"}]}).encode()),
    ("wfe-11", lambda raw, url: envelope_bytes(raw, url, payload=None)),
    ("wfe-13", lambda raw, url: envelope_bytes(raw, url, protected=None)),
    ("wfe-13", lambda raw, url: envelope_bytes(raw, url, protected="")),
    ("wfe-14", lambda raw, url: envelope_bytes(raw, url, signature=None)),
    ("wfe-17", lambda raw, url: envelope_bytes(raw, url, signature="")),
])
def test_envelope(raw: RawClient, row: str, make: Any) -> None:
    url = raw.url("newOrder")

    expect(row, raw.send(url, make(raw, url)))


def test_padded_members_and_jwk_coordinates(raw: RawClient, fake_acme: FakeACME) -> None:
    url = raw.url("newOrder")
    fields = json.loads(envelope_bytes(raw, url))
    padded = fields["signature"] + "=" * (-len(fields["signature"]) % 4 or 4)
    expect("wfe-12", raw.send(url, envelope_bytes(raw, url, signature=padded)))
    # A JWK coordinate with padding: go-jose's byteBuffer refuses it too.
    fresh = RawClient(fake_acme)
    jwk = public_jwk(fresh.key)
    jwk["x"] += "=" * (-len(jwk["x"]) % 4 or 4)
    expect("wfe-12", fresh.post(fresh.url("newAccount"), TERMS, jwk=jwk))


def test_private_jwk(fake_acme: FakeACME) -> None:
    client = RawClient(fake_acme)
    private = dict(client.key.to_partial_json())  # the private key, "d" included
    assert "d" in private

    expect("wfe-15", client.post(client.url("newAccount"), TERMS, jwk=private, alg="HS256"),
           "HS256")
    # With an algorithm Boulder supports, the key's privacy is what go-jose refuses.
    expect("wfe-11", client.post(client.url("newAccount"), TERMS, jwk=private))


@pytest.mark.parametrize("alg", ["none", "HS256", "EdDSA", ""])
def test_unsupported_algorithm(raw: RawClient, alg: str) -> None:
    answer = raw.post(raw.url("newOrder"), ORDER, alg=alg)

    body = expect("wfe-16", answer, alg, "[RS256 ES256 ES384 ES512]")
    assert body["algorithms"] == ["RS256", "ES256", "ES384", "ES512"]


@reproduces("hdr-10")
def test_algorithms_member(raw: RawClient) -> None:
    answer = raw.post(raw.url("newOrder"), ORDER, alg="none")

    assert answer.json()["algorithms"] == ["RS256", "ES256", "ES384", "ES512"]


# Key references and accounts (wfe2/verify.go lookupJWK, extractJWK)


def test_key_references(raw: RawClient, fake_acme: FakeACME) -> None:
    order = raw.url("newOrder")
    expect("wfe-18", raw.post(order, ORDER, kid=True, jwk=True))
    expect("wfe-19", raw.post(order, ORDER, kid=None, jwk=True))
    expect("wfe-19", raw.post(order, ORDER, kid=None, jwk=None))
    expect("wfe-20", raw.post(raw.url("newAccount"), TERMS, kid=raw.kid, jwk=None))
    elsewhere = "https://elsewhere.example/acct/1"
    expect("wfe-21", raw.post(order, ORDER, kid=elsewhere), elsewhere)
    assert raw.kid is not None
    nobody = raw.kid.rsplit("/", 1)[0] + "/999999"
    expect("wfe-23", raw.post(order, ORDER, kid=nobody), nobody)


def test_deactivated_account(raw: RawClient) -> None:
    assert raw.kid is not None
    assert raw.post(raw.kid, {"status": "deactivated"}).status_code == 200

    expect("wfe-25", raw.post(raw.url("newOrder"), ORDER), "deactivated")


def test_keys_boulder_cannot_sign_with(fake_acme: FakeACME) -> None:
    client = RawClient(fake_acme)
    okp = {"kty": "OKP", "crv": "Ed25519",
           "x": b64(ed25519.Ed25519PrivateKey.generate().public_key().public_bytes_raw())}

    expect("wfe-26", client.post(client.url("newAccount"), TERMS, jwk=okp))


def test_algorithm_against_the_key(raw: RawClient, fake_acme: FakeACME) -> None:
    expect("wfe-27", raw.post(raw.url("newOrder"), ORDER, alg="ES384"), "ES384", "ES256")
    fresh = RawClient(fake_acme)
    jwk = dict(public_jwk(fresh.key), alg="ES384")
    expect("wfe-28", fresh.post(fresh.url("newAccount"), TERMS, jwk=jwk), "ES384", "ES256")


def test_signature_nonce_url_payload(raw: RawClient, fake_acme: FakeACME) -> None:
    order = raw.url("newOrder")
    nonce = raw.new_nonce()
    expect("wfe-29", raw.post(order, ORDER, nonce=nonce, signature=b"\x01" * 64))
    # The refused signature left the nonce unused.
    assert raw.post(order, ORDER, nonce=nonce).status_code == 201
    expect("wfe-30", raw.post(order, ORDER, nonce=nonce))
    expect("wfe-32", raw.post(order, ORDER, header_url=None))
    wrong = raw.url("newAccount")
    expect("wfe-33", raw.post(order, ORDER, header_url=wrong), order, wrong)
    expect("wfe-34", raw.post(order, b"[]"))


def test_bad_nonce_fault(raw: RawClient, fake_acme: FakeACME) -> None:
    fake_acme.faults.bad_nonce()

    expect("wfe-30", raw.post(raw.url("newOrder"), ORDER))


# The key policy for new accounts (goodkey/good_key.go under LetsEncryptCPS)


def test_rsa_key_size(raw: RawClient) -> None:
    expect("wfe-35", new_account_with(raw, rawkeys.odd_size_key(2560)), 2560)


def test_p521_account_key(fake_acme: FakeACME) -> None:
    client = RawClient(fake_acme, key=new_key("ES512"))

    expect("wfe-36", client.post(client.url("newAccount"), TERMS, jwk=True))
    assert fake_acme.accounts == []


def test_rsa_exponent(fake_acme: FakeACME) -> None:
    key = jose.JWKRSA(key=rsa.generate_private_key(public_exponent=3, key_size=2048))
    client = RawClient(fake_acme, key=key)

    expect("wfe-37", client.post(client.url("newAccount"), TERMS, jwk=True))


def test_weak_rsa_keys(raw: RawClient, fake_acme: FakeACME) -> None:
    expect("wfe-38a", new_account_with(raw, rawkeys.small_factor_key()))
    expect("wfe-38b", new_account_with(raw, rawkeys.roca_key()))
    key, p, q = rawkeys.close_factors_key()
    expect("wfe-38c", new_account_with(raw, key), 1, p, q)
    assert len(fake_acme.accounts) == 1  # only raw's own


def test_ec_point_off_the_curve(fake_acme: FakeACME) -> None:
    client = RawClient(fake_acme)
    jwk = public_jwk(client.key)
    y = bytearray(base64.urlsafe_b64decode(jwk["y"] + "=" * (-len(jwk["y"]) % 4)))
    y[-1] ^= 1
    jwk["y"] = b64(bytes(y))

    expect("wfe-39", client.post(client.url("newAccount"), TERMS, jwk=jwk))


def test_a_key_revoked_for_compromise_is_blocked(raw: RawClient, fake_acme: FakeACME) -> None:
    cert_key = new_key("ES256")
    _, order = issued(raw, fake_acme, "a.example", csr_key=cert_key)
    pem = raw.post_as_get(order["certificate"]).text
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
    revoker = RawClient(fake_acme, key=cert_key)
    revoked = revoker.post(revoker.url("revokeCert"), {"certificate": b64(der)}, jwk=True)
    assert revoked.status_code == 200, revoked.text

    expect("wfe-40", revoker.post(revoker.url("newAccount"), TERMS, jwk=True))


# Resources, methods and paths (wfe2/wfe.go Handler, HandleFunc, Index)


def test_payload_to_a_post_as_get_resource(raw: RawClient, fake_acme: FakeACME) -> None:
    order_url = raw.new_order("a.example").headers["Location"]
    for url in (order_url, order_url + "0", fake_acme.directory_url, raw.url("newNonce")):
        expect("wfe-41", raw.post(url, {}))


@reproduces("wfe-42")
@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
@pytest.mark.parametrize("path", ["/acme/no-such-thing", "/acme/new-order/", "/directory/"])
def test_unknown_paths(raw: RawClient, fake_acme: FakeACME, method: str, path: str) -> None:
    url = fake_acme.directory_url.replace("/directory", path)

    answer = raw.session.request(method, url, data=b"{}", headers={"Content-Type": CT},
                                 verify=raw.verify, timeout=30)

    assert answer.status_code == 404
    assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert answer.content == b"404 page not found\n"
    for absent in ("Replay-Nonce", "Link", "Cache-Control"):
        assert absent not in answer.headers


@reproduces("hdr-12")
def test_method_not_allowed(raw: RawClient, fake_acme: FakeACME) -> None:
    put = raw.session.put(fake_acme.directory_url, verify=raw.verify, timeout=30)
    assert expect("wfe-43", put)
    assert put.headers["Allow"] == "GET, POST, HEAD"
    put = raw.session.put(raw.url("newAccount"), verify=raw.verify, timeout=30)
    expect("wfe-43", put)
    assert put.headers["Allow"] == "POST"
    get = raw.get(raw.url("newOrder"))
    expect("wfe-43", get, nonce=False)  # a GET gets no nonce (hdr-01)
    assert get.headers["Allow"] == "POST"
    put = raw.session.put(raw.url("newNonce"), verify=raw.verify, timeout=30)
    assert put.headers["Allow"] == "GET, POST, HEAD"


@reproduces("wfe-44", "wfe-45")
def test_post_as_get_of_the_directory_and_new_nonce(raw: RawClient, fake_acme: FakeACME) -> None:
    directory = raw.post_as_get(fake_acme.directory_url)
    assert directory.status_code == 200
    assert directory.json()["newOrder"] == raw.url("newOrder")
    nonce = raw.post_as_get(raw.url("newNonce"))
    assert nonce.status_code == 200
    assert nonce.content == b""
    assert nonce.headers["Replay-Nonce"]


@reproduces("wfe-46")
def test_plain_get_of_resources(raw: RawClient, fake_acme: FakeACME) -> None:
    order_url, order = issued(raw, fake_acme, "a.example")
    authz_url = order["authorizations"][0]
    authz = raw.post_as_get(authz_url).json()
    chall_url = authz["challenges"][0]["url"]
    plain = requests.Session()
    plain.trust_env = False

    for url in (order_url, authz_url, chall_url, order["certificate"]):
        answer = plain.get(url, verify=raw.verify, timeout=30)
        assert answer.status_code == 200, (url, answer.text)
        assert "Replay-Nonce" not in answer.headers
    assert plain.get(order_url, verify=raw.verify, timeout=30).json()["status"] == "valid"
    assert plain.get(chall_url, verify=raw.verify, timeout=30).headers["Link"].count(
        'rel="up"') == 1


@reproduces("wfe-47")
def test_renewal_info_answers_a_post_without_a_jws(raw: RawClient, fake_acme: FakeACME) -> None:
    issued(raw, fake_acme, "a.example")
    (cert,) = fake_acme.certificates
    url = f"{raw.url('renewalInfo')}/{cert_id(cert.x509)}"

    answer = raw.session.post(url, data=b"not a JWS", verify=raw.verify, timeout=30)

    assert answer.status_code == 200, answer.text
    assert "suggestedWindow" in answer.json()


@reproduces("wfe-48", "hdr-13")
def test_options_and_cors(raw: RawClient) -> None:
    url = raw.url("newOrder")
    plain = raw.session.options(url, verify=raw.verify, timeout=30)
    assert plain.status_code == 200
    assert plain.content == b""
    assert plain.headers["Allow"] == "POST"
    assert plain.headers["Replay-Nonce"]
    assert "Cache-Control" not in plain.headers
    assert "Access-Control-Allow-Origin" not in plain.headers
    # A preflight from a page: the CORS headers, with the methods.
    preflight = raw.session.options(url, headers={
        "Origin": "https://page.example", "Access-Control-Request-Method": "POST",
    }, verify=raw.verify, timeout=30)
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert preflight.headers["Access-Control-Allow-Methods"] == "POST"
    assert preflight.headers["Access-Control-Allow-Headers"] == "Content-Type"
    assert preflight.headers["Access-Control-Expose-Headers"] == (
        "Link, Replay-Nonce, Location, Retry-After")
    assert preflight.headers["Access-Control-Max-Age"] == "86400"
    # A method the resource does not serve gets no CORS headers.
    refused = raw.session.options(url, headers={
        "Origin": "https://page.example", "Access-Control-Request-Method": "GET",
    }, verify=raw.verify, timeout=30)
    assert "Access-Control-Allow-Origin" not in refused.headers
    # An actual request from a page, errors included: no Allow-Methods.
    nonce = raw.new_nonce()
    envelope = raw.envelope(raw.protected(url, nonce=nonce), json.dumps(ORDER).encode())
    actual = raw.send(url, envelope, headers={"Origin": "https://page.example"})
    assert actual.status_code == 201
    assert actual.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Methods" not in actual.headers
    failed = raw.send(url, envelope, headers={"Origin": "https://page.example"})  # nonce used
    assert failed.status_code == 400
    assert failed.headers["Access-Control-Allow-Origin"] == "*"


@reproduces("wfe-49a")
def test_index_page(raw: RawClient, fake_acme: FakeACME) -> None:
    page = raw.get(fake_acme.directory_url.replace("/directory", "/"))

    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html"
    assert "/directory" in page.text
    assert "Replay-Nonce" not in page.headers


def test_other_methods_at_the_index(raw: RawClient, fake_acme: FakeACME) -> None:
    answer = raw.session.post(fake_acme.directory_url.replace("/directory", "/"),
                              verify=raw.verify, timeout=30)

    expect("wfe-49b", answer, nonce=False)
    assert answer.headers["Allow"] == "GET"
    assert "Link" not in answer.headers


# Which check runs first (wfe2/verify.go)


@reproduces("wfe-55")
def test_check_order_for_an_accounts_request(raw: RawClient, fake_acme: FakeACME) -> None:
    url = raw.url("newOrder")
    nonce = raw.new_nonce()
    # Content-Type before anything in the body.
    expect("wfe-02", raw.send(url, b"not json", content_type="text/plain"), CT)
    # The body's size before its syntax.
    expect("wfe-06", raw.send(url, b"x" * 50_001))
    # The unprotected header before the algorithm.
    expect("wfe-09", raw.send(url, envelope_bytes(raw, url, header={"a": "b"},
                                                  protected=b64(b'{"alg":"none"}'))))
    # The algorithm before the key reference.
    expect("wfe-16", raw.post(url, ORDER, alg="none", kid=None, jwk=None),
           "none", "[RS256 ES256 ES384 ES512]")
    # The account's status before the signature.
    other = RawClient(fake_acme)
    other.register()
    assert other.kid is not None
    assert other.post(other.kid, {"status": "deactivated"}).status_code == 200
    expect("wfe-25", other.post(url, ORDER, signature=b"\x00" * 64), "deactivated")
    # The signature before the nonce, which stays unused.
    expect("wfe-29", raw.post(url, ORDER, nonce=nonce, signature=b"\x00" * 64))
    # The nonce before the url.
    expect("wfe-30", raw.post(url, ORDER, nonce="unknown", header_url=raw.url("newAccount")))
    # The url before the payload.
    expect("wfe-33", raw.post(url, b"[]", nonce=nonce, header_url=raw.url("newAccount")),
           url, raw.url("newAccount"))


@reproduces("wfe-56")
def test_check_order_for_new_account(raw: RawClient) -> None:
    weak = rawkeys.odd_size_key(2560)
    url = raw.url("newAccount")
    protected = b64(json.dumps({"alg": "RS256", "jwk": weak.jwk(), "nonce": "stale",
                                "url": url}).encode())
    payload = b64(json.dumps(TERMS).encode())
    signature = b64(weak.sign(f"{protected}.{payload}".encode()))
    # The key policy runs last: a weak key with a bad nonce gets badNonce.
    expect("wfe-30", raw.send(url, {"protected": protected, "payload": payload,
                                    "signature": signature}))


# Headers on every answer (wfe2/wfe.go HandleFunc)


@reproduces("hdr-01", "hdr-02", "hdr-03", "hdr-20")
def test_handle_func_headers(raw: RawClient, fake_acme: FakeACME) -> None:
    index = f'<{fake_acme.directory_url}>;rel="index"'
    directory = fake_acme.directory_url
    answers = {
        "GET directory": raw.get(directory),
        "HEAD directory": raw.head(directory),
        "OPTIONS newOrder": raw.session.options(raw.url("newOrder"), verify=raw.verify,
                                                timeout=30),
        "PUT newNonce": raw.session.put(raw.url("newNonce"), verify=raw.verify, timeout=30),
        "POST newOrder": raw.post(raw.url("newOrder"), ORDER),
        "POST refused": raw.post(raw.url("newOrder"), ORDER, nonce="stale"),
        "GET newNonce": raw.get(raw.url("newNonce")),
        "GET renewalInfo": raw.get(raw.url("renewalInfo") + "/x.y"),
    }
    for name, answer in answers.items():
        method = name.split()[0]
        nonce = answer.headers.get("Replay-Nonce")
        assert bool(nonce) == (method != "GET" or name == "GET newNonce"), name
        assert (index in answer.headers.get("Link", "")) == ("directory" not in name), name
        cache = answer.headers.get("Cache-Control")
        assert cache == (None if method == "OPTIONS" else "public, max-age=0, no-cache"), name
    head, get = answers["HEAD directory"], answers["GET directory"]
    assert head.content == b""
    assert head.headers["Content-Length"] == get.headers["Content-Length"]


@reproduces("hdr-04", "hdr-05")
def test_new_nonce_answers(raw: RawClient) -> None:
    url = raw.url("newNonce")
    answers = [raw.get(url), raw.head(url), raw.post_as_get(url)]

    assert [a.status_code for a in answers] == [204, 200, 200]
    for answer in answers:
        assert answer.content == b""
        assert "Content-Type" not in answer.headers
        assert answer.headers["Cache-Control"] == "public, max-age=0, no-cache"


@reproduces("hdr-06", "hdr-07")
def test_problem_bytes(raw: RawClient) -> None:
    value = "caf\u00e9<&>.example"
    answer = raw.post(raw.url("newOrder"), {"identifiers": [{"type": "dns", "value": value}]})

    assert answer.headers["Content-Type"] == "application/problem+json"
    # Go's encoder: two-space indent, UTF-8 as is, no HTML escaping, no trailing newline.
    expected = (
        "{\n"
        '  "type": "urn:ietf:params:acme:error:rejectedIdentifier",\n'
        '  "detail": "Invalid identifiers requested :: Cannot issue for \\"caf\u00e9<&>.example'
        '\\": Domain name contains an invalid character",\n'
        '  "status": 400\n'
        "}"
    )
    assert answer.content == expected.encode("utf-8")


@reproduces("hdr-09")
def test_retry_after_on_a_500(raw: RawClient, fake_acme: FakeACME) -> None:
    fake_acme.faults.server_error(endpoint="newOrder")

    answer = raw.post(raw.url("newOrder"), ORDER)

    assert answer.status_code == 500
    assert answer.headers["Retry-After"] == "60"


@reproduces("hdr-11")
def test_boulder_requester(raw: RawClient, fake_acme: FakeACME) -> None:
    assert raw.kid is not None
    account_id = raw.kid.rsplit("/", 1)[1]
    assert raw.post(raw.url("newOrder"), ORDER).headers["Boulder-Requester"] == account_id
    refused = raw.post(raw.url("newOrder"), ORDER, nonce="stale")
    assert refused.status_code == 400
    assert refused.headers["Boulder-Requester"] == account_id
    # Not before the account is known: a bad signature from no account.
    stranger = raw.post(raw.url("newOrder"), ORDER, kid=raw.kid.replace(account_id, "nobody"))
    assert "Boulder-Requester" not in stranger.headers
    again = raw.post(raw.url("newAccount"), TERMS, jwk=True, kid=None)
    assert again.status_code == 200
    assert again.headers["Boulder-Requester"] == account_id
    fresh = RawClient(fake_acme)
    created = fresh.register()
    assert created.headers["Boulder-Requester"] == created.headers["Location"].rsplit("/", 1)[1]
    # Not on the resources Boulder does not name the requester on (reads of orders).
    order = raw.new_order("b.example").headers["Location"]
    assert "Boulder-Requester" not in raw.post_as_get(order).headers


@reproduces("hdr-14", "hdr-15", "hdr-16")
def test_location_and_links(raw: RawClient, fake_acme: FakeACME) -> None:
    assert raw.kid is not None
    order_url, order = issued(raw, fake_acme, "a.example")
    authz_url = order["authorizations"][0]
    chall_url = raw.post_as_get(authz_url).json()["challenges"][0]["url"]
    terms = f'<{fake_acme.directory_url.replace("/directory", "/terms/v1")}>;' \
            'rel="terms-of-service"'
    account = raw.post_as_get(raw.kid)
    assert "Location" not in account.headers
    assert terms in account.headers["Link"]
    again = raw.post(raw.url("newAccount"), TERMS, jwk=True, kid=None)
    assert again.headers["Location"] == raw.kid
    assert "terms-of-service" not in again.headers["Link"]
    assert "Location" not in raw.post_as_get(authz_url).headers
    assert raw.post_as_get(order_url).headers["Location"] == order_url
    chall = raw.post_as_get(chall_url)
    assert chall.headers["Location"] == chall_url
    assert f'<{authz_url}>;rel="up"' in chall.headers["Link"]
    created = raw.post(raw.url("newOrder"), {"identifiers": [{"type": "dns",
                                                              "value": "c.example"}]})
    assert created.headers["Location"].startswith(order_url.rsplit("/", 1)[0])
    fresh = RawClient(fake_acme)
    made = fresh.register()
    assert terms in made.headers["Link"]


@reproduces("hdr-17")
def test_certificate_answer(fake_acme: FakeACME, raw: RawClient) -> None:
    fake_acme.configure(async_finalize=False)
    _, order = issued(raw, fake_acme, "a.example")
    answer = raw.post_as_get(order["certificate"])

    assert answer.headers["Content-Type"] == "application/pem-certificate-chain"
    assert answer.headers["Content-Length"] == str(len(answer.content))


@reproduces("hdr-21")
def test_directory_random_entry(raw: RawClient, fake_acme: FakeACME) -> None:
    first, second = raw.get(fake_acme.directory_url).json(), raw.get(
        fake_acme.directory_url).json()
    link = "https://community.letsencrypt.org/t/adding-random-entries-to-the-directory/33417"
    keys = [next(k for k, v in d.items() if v == link) for d in (first, second)]

    assert keys[0] != keys[1]
    assert all(len(k) == 11 for k in keys)
    standard = {"newAccount", "newNonce", "newOrder", "revokeCert", "keyChange", "renewalInfo",
                "meta"}
    assert set(first) - {keys[0]} == standard
    assert set(first["meta"]) == {"termsOfService", "caaIdentities", "profiles", "website"}


@reproduces("hdr-19")
def test_a_host_with_port_443_or_80_names_the_fake_without_it(raw: RawClient,
                                                              fake_acme: FakeACME) -> None:
    # web/context.go:182-183: ":443" then ":80" are trimmed from Host whatever the scheme,
    # before the directory's URLs are built and before the JWS url is compared.
    plain = raw.get(fake_acme.directory_url).json()
    base = fake_acme.directory_url.removesuffix("/directory")
    host = base.removeprefix("https://")
    name = host.rsplit(":", 1)[0]
    for port in ("443", "80"):
        shown = raw.get(fake_acme.directory_url, headers={"Host": f"{name}:{port}"}).json()
        assert shown["newNonce"] == plain["newNonce"].replace(base, f"https://{name}")
        assert shown["newOrder"] == plain["newOrder"].replace(base, f"https://{name}")
    # The negative: any other port stays in the URLs.
    kept = raw.get(fake_acme.directory_url, headers={"Host": f"{name}:8443"}).json()
    assert kept["newNonce"] == plain["newNonce"].replace(base, f"https://{name}:8443")
    # A JWS whose url has no port is the URL of a request sent with Host name:443.
    fresh, new_account = RawClient(fake_acme), plain["newAccount"]
    protected = fresh.protected(new_account,
                                header_url=new_account.replace(base, f"https://{name}"))
    made = fresh.send(new_account, fresh.envelope(protected, fresh.payload_bytes(
        {"termsOfServiceAgreed": True})), headers={"Host": f"{name}:443"})
    assert made.status_code == 201, made.text
    assert made.headers["Location"].startswith(f"https://{name}/")
