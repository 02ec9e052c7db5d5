"""Request authentication over real HTTPS: every way a JWS can be wrong, answered as Let's
Encrypt answers it (problem type, HTTP status, Boulder's detail), and the server keeps serving.

Boulder prefixes JWS errors with ``Unable to validate JWS :: `` (``web.ProblemDetailsForError``)
and replaces every badNonce detail by ``JWS has an invalid anti-replay nonce``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import josepy as jose
import pytest
import requests
from cryptography import x509

from client import AcmeTestClient
from jwsclient import (
    JOSE_JSON,
    RawClient,
    assert_problem,
    b64,
    make_csr,
    new_key,
    public_jwk,
)
from pytest_fakeacme import FakeACME
from responder import Responder

V = "Unable to validate JWS :: "
PARSE = V + "Parse error reading JWS"
BAD_NONCE = "JWS has an invalid anti-replay nonce"
ALGORITHMS = ["RS256", "ES256", "ES384", "ES512"]
ORDER = {"identifiers": [{"type": "dns", "value": "a.example"}]}
TERMS = {"termsOfServiceAgreed": True}


def _unb64(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


@pytest.fixture(autouse=True)
def _still_serving(fake_acme: FakeACME) -> Iterator[None]:
    """After every test here, however it abused the server, a new client still registers and
    orders (and the fake_acme fixture re-raises anything the server thread raised)."""
    yield
    probe = RawClient(fake_acme)
    probe.register()
    probe.new_order("still-serving.example")


def _retry_works(raw: RawClient, refused: requests.Response, url: str, payload: Any,
                 **header: Any) -> requests.Response:
    """RFC 8555 6.5: the badNonce answer's own Replay-Nonce is good for the retry."""
    nonce = refused.headers["Replay-Nonce"]
    retry = raw.post(url, payload, nonce=nonce, **header)
    assert retry.status_code in (200, 201), retry.text
    return retry


# Nonces (RFC 8555 6.5)


def test_reused_nonce_is_bad_nonce_and_its_answer_carries_a_nonce_for_the_retry(
    raw: RawClient,
) -> None:
    nonce = raw.new_nonce()
    first = raw.post(raw.url("newOrder"), ORDER, nonce=nonce)
    assert first.status_code == 201

    replayed = raw.post(raw.url("newOrder"), ORDER, nonce=nonce)

    assert_problem(replayed, "badNonce", 400, BAD_NONCE)
    assert replayed.headers["Replay-Nonce"] not in (nonce, first.headers["Replay-Nonce"])
    retry = _retry_works(raw, replayed, raw.url("newOrder"), ORDER)
    # The retry found the pending order the first request made (Boulder reuses it).
    assert retry.headers["Location"] == first.headers["Location"]


@pytest.mark.parametrize(
    "nonce",
    [None, "", "AAAAAAAAAAAAAAAAAAAAAAAA", "not base64url!", "0" * 2000],
    ids=["missing", "empty", "never-issued", "not-base64url", "huge"],
)
def test_missing_or_unknown_nonce_is_bad_nonce(raw: RawClient, nonce: str | None) -> None:
    refused = raw.post(raw.url("newOrder"), ORDER, nonce=nonce)

    assert_problem(refused, "badNonce", 400, BAD_NONCE)
    _retry_works(raw, refused, raw.url("newOrder"), ORDER)


def test_a_nonce_is_refused_once_consumed_even_by_a_request_that_failed_later(
    raw: RawClient,
) -> None:
    # The nonce is redeemed before the url check (Boulder's order), so it is spent.
    nonce = raw.new_nonce()
    wrong_url = raw.post(raw.url("newOrder"), ORDER, nonce=nonce, header_url=raw.kid)
    assert_problem(wrong_url, "malformed", 400)

    assert_problem(raw.post(raw.url("newOrder"), ORDER, nonce=nonce), "badNonce", 400, BAD_NONCE)


def test_a_nonce_survives_a_request_refused_before_the_nonce_check(raw: RawClient) -> None:
    # A bad signature fails before the nonce is looked at: the nonce stays good.
    nonce = raw.new_nonce()
    envelope = raw.envelope(raw.protected(raw.url("newOrder"), nonce=nonce), b"{}")
    envelope["signature"] = b64(b"\x00" * 64)
    assert_problem(raw.send(raw.url("newOrder"), envelope), "malformed", 400)

    assert raw.post(raw.url("newOrder"), ORDER, nonce=nonce).status_code == 201


def test_nonce_from_before_reset_is_bad_nonce(fake_acme: FakeACME) -> None:
    client = RawClient(fake_acme)
    stale = client.new_nonce()
    fake_acme.reset()

    refused = client.post(client.url("newAccount"), TERMS, jwk=True, nonce=stale)

    assert_problem(refused, "badNonce", 400, BAD_NONCE)
    retry = _retry_works(client, refused, client.url("newAccount"), TERMS, jwk=True)
    assert retry.status_code == 201


def test_nonce_from_another_fake_acme_is_bad_nonce(fake_acme: FakeACME) -> None:
    client = RawClient(fake_acme)
    with FakeACME() as other:
        foreign = RawClient(other).new_nonce()

    refused = client.post(client.url("newAccount"), TERMS, jwk=True, nonce=foreign)

    assert_problem(refused, "badNonce", 400, BAD_NONCE)
    _retry_works(client, refused, client.url("newAccount"), TERMS, jwk=True)


# The url header parameter (RFC 8555 6.4)


def test_wrong_url_is_malformed_with_boulder_detail(raw: RawClient) -> None:
    target, claimed = raw.url("newOrder"), raw.url("newAccount")

    refused = raw.post(target, ORDER, header_url=claimed)

    assert_problem(
        refused, "malformed", 400,
        V + f"JWS header parameter 'url' incorrect. Expected \"{target}\" got \"{claimed}\"",
    )


def test_url_must_include_the_query_string(raw: RawClient) -> None:
    target = raw.url("newOrder") + "?x=1"

    refused = raw.post(target, ORDER, header_url=raw.url("newOrder"))

    assert_problem(
        refused, "malformed", 400,
        V + f"JWS header parameter 'url' incorrect. Expected \"{target}\" "
        f"got \"{raw.url('newOrder')}\"",
    )


@pytest.mark.parametrize("header_url", [None, "", 42], ids=["missing", "empty", "not-a-string"])
def test_missing_url_is_malformed(raw: RawClient, header_url: Any) -> None:
    refused = raw.post(raw.url("newOrder"), ORDER, header_url=header_url)

    assert_problem(refused, "malformed", 400, V + "JWS header parameter 'url' required")


# kid and jwk (RFC 8555 6.2)


def test_unknown_kid_is_account_does_not_exist(raw: RawClient) -> None:
    assert raw.kid is not None
    kid = raw.kid + "0"

    refused = raw.post(raw.url("newOrder"), ORDER, kid=kid)

    assert_problem(refused, "accountDoesNotExist", 400, V + f'Account "{kid}" not found')


def test_kid_of_an_account_forgotten_by_reset_is_account_does_not_exist(
    raw: RawClient, fake_acme: FakeACME
) -> None:
    fake_acme.reset()

    refused = raw.post(raw.url("newOrder"), ORDER)

    assert_problem(refused, "accountDoesNotExist", 400, V + f'Account "{raw.kid}" not found')


def test_kid_outside_the_account_path_is_malformed(raw: RawClient) -> None:
    kid = "https://elsewhere.example/acme/acct/1"

    refused = raw.post(raw.url("newOrder"), ORDER, kid=kid)

    assert_problem(
        refused, "malformed", 400,
        V + f'KeyID header contained an invalid account URL: "{kid}"',
    )


def test_bad_signature_is_malformed(raw: RawClient) -> None:
    url = raw.url("newOrder")
    envelope = raw.envelope(raw.protected(url), json.dumps(ORDER).encode())
    signature = bytearray(_unb64(envelope["signature"]))
    signature[-1] ^= 0x01
    envelope["signature"] = b64(bytes(signature))

    assert_problem(raw.send(url, envelope), "malformed", 400, V + "JWS verification error")


def test_payload_changed_after_signing_is_malformed(raw: RawClient) -> None:
    url = raw.url("newOrder")
    envelope = raw.envelope(raw.protected(url), json.dumps(ORDER).encode())
    envelope["payload"] = b64(b'{"identifiers":[{"type":"dns","value":"evil.example"}]}')

    assert_problem(raw.send(url, envelope), "malformed", 400, V + "JWS verification error")


def test_right_kid_signed_by_another_key_of_the_same_type_is_malformed(raw: RawClient) -> None:
    refused = raw.post(raw.url("newOrder"), ORDER, key=new_key("ES256"), kid=raw.kid)

    assert_problem(refused, "malformed", 400, V + "JWS verification error")


def test_right_kid_signed_by_a_key_of_another_type_is_malformed(raw: RawClient) -> None:
    refused = raw.post(raw.url("newOrder"), ORDER, key=new_key("RS256"), kid=raw.kid)

    assert_problem(
        refused, "malformed", 400,
        V + 'JWS signature header algorithm "RS256" does not match expected algorithm "ES256" '
        "for JWK",
    )


@pytest.mark.parametrize(
    ("endpoint", "kid", "jwk", "detail"),
    [
        ("newOrder", None, True, "No Key ID in JWS header"),
        ("newOrder", None, None, "No Key ID in JWS header"),
        ("newOrder", True, True, "jwk and kid header fields are mutually exclusive"),
        ("newAccount", True, None, "No embedded JWK in JWS header"),
        ("newAccount", None, None, "No embedded JWK in JWS header"),
        ("newAccount", True, True, "jwk and kid header fields are mutually exclusive"),
    ],
    ids=[
        "jwk-on-kid-endpoint", "neither-on-kid-endpoint", "both-on-kid-endpoint",
        "kid-on-newAccount", "neither-on-newAccount", "both-on-newAccount",
    ],
)
def test_wrong_key_reference_is_malformed(
    raw: RawClient, endpoint: str, kid: Any, jwk: Any, detail: str
) -> None:
    payload = TERMS if endpoint == "newAccount" else ORDER

    refused = raw.post(raw.url(endpoint), payload, kid=kid, jwk=jwk)

    assert_problem(refused, "malformed", 400, V + detail)


def test_empty_kid_counts_as_no_kid(raw: RawClient) -> None:
    refused = raw.post(raw.url("newOrder"), ORDER, kid="")

    assert_problem(refused, "malformed", 400, V + "No Key ID in JWS header")


# Algorithms (RFC 8555 6.2, RFC 7518)


@pytest.mark.parametrize("alg", ["none", "HS256", "RS512", "PS256", "EdDSA", "es256", ""])
def test_unsupported_algorithm_is_bad_signature_algorithm(raw: RawClient, alg: str) -> None:
    refused = raw.post(raw.url("newOrder"), ORDER, alg=alg)

    body = assert_problem(
        refused, "badSignatureAlgorithm", 400,
        V + f'JWS signature header contains unsupported algorithm "{alg}", expected one of '
        "[RS256 ES256 ES384 ES512]",
    )
    assert body["algorithms"] == ALGORITHMS


def test_missing_algorithm_is_bad_signature_algorithm(raw: RawClient) -> None:
    refused = raw.post(raw.url("newOrder"), ORDER, alg=None)

    body = assert_problem(
        refused, "badSignatureAlgorithm", 400,
        V + 'JWS signature header contains unsupported algorithm "", expected one of '
        "[RS256 ES256 ES384 ES512]",
    )
    assert body["algorithms"] == ALGORITHMS


def test_alg_none_without_signature_is_bad_signature_algorithm_on_new_account(
    fake_acme: FakeACME,
) -> None:
    client = RawClient(fake_acme)

    refused = client.post(client.url("newAccount"), TERMS, jwk=True, alg="none", signature=b"")

    body = assert_problem(refused, "badSignatureAlgorithm", 400)
    assert body["algorithms"] == ALGORITHMS


@pytest.mark.parametrize(
    ("key_alg", "header_alg"),
    [("ES384", "ES256"), ("ES256", "ES512"), ("ES256", "RS256"), ("RS256", "ES256")],
    ids=["P-384-as-ES256", "P-256-as-ES512", "P-256-as-RS256", "RSA-as-ES256"],
)
def test_header_algorithm_that_does_not_fit_the_key_is_malformed(
    fake_acme: FakeACME, key_alg: str, header_alg: str
) -> None:
    client = RawClient(fake_acme, new_key(key_alg))

    refused = client.post(client.url("newAccount"), TERMS, jwk=True, alg=header_alg)

    assert_problem(
        refused, "malformed", 400,
        V + f'JWS signature header algorithm "{header_alg}" does not match expected algorithm '
        f'"{key_alg}" for JWK',
    )
    assert fake_acme.accounts == []


def test_jwk_alg_member_must_fit_the_key(fake_acme: FakeACME) -> None:
    client = RawClient(fake_acme)
    jwk = public_jwk(client.key) | {"alg": "ES384"}

    refused = client.post(client.url("newAccount"), TERMS, jwk=jwk)

    assert_problem(
        refused, "malformed", 400,
        V + 'JWK key header algorithm "ES384" does not match expected algorithm "ES256" for JWK',
    )
    # The same key with a fitting alg member registers.
    accepted = client.post(client.url("newAccount"), TERMS, jwk=public_jwk(client.key)
                           | {"alg": "ES256"})
    assert accepted.status_code == 201


# Keys (Boulder's GoodKey policy for account keys)


def test_rsa_1024_account_key_is_bad_public_key(fake_acme: FakeACME) -> None:
    client = RawClient(fake_acme, new_key("RS256", rsa_bits=1024))

    refused = client.post(client.url("newAccount"), TERMS, jwk=True)

    assert_problem(
        refused, "badPublicKey", 400,
        V + "invalid request signing key: key size not supported: 1024",
    )
    assert fake_acme.accounts == []


def test_ed25519_account_key_is_bad_public_key(fake_acme: FakeACME) -> None:
    client = RawClient(fake_acme)
    okp = {"kty": "OKP", "crv": "Ed25519", "x": b64(b"\x01" * 32)}

    refused = client.post(client.url("newAccount"), TERMS, jwk=okp, alg="ES256")

    assert_problem(
        refused, "badPublicKey", 400,
        V + "JWK contains unsupported key type (expected RSA, or ECDSA P-256, P-384, or P-521)",
    )


def _off_curve(client: RawClient) -> dict[str, Any]:
    return public_jwk(client.key) | {"y": b64(b"\x01" * 32)}


def _private(client: RawClient) -> dict[str, Any]:
    return dict(client.key.to_partial_json())


@pytest.mark.parametrize(
    "jwk",
    [
        lambda c: _private(c),
        lambda c: {"kty": "oct", "k": b64(b"secret" * 6)},
        lambda c: _off_curve(c),
        lambda c: {"kty": "XYZ", "x": "AA"},
        lambda c: public_jwk(c.key) | {"crv": "P-224"},
        lambda c: {"kty": "RSA"},
        lambda c: "not an object",
        lambda c: [1, 2],
    ],
    ids=[
        "private-key", "symmetric-key", "point-off-curve", "unknown-kty", "unknown-curve",
        "rsa-without-modulus", "string", "array",
    ],
)
def test_unreadable_jwk_is_malformed(
    fake_acme: FakeACME, jwk: Callable[[RawClient], Any]
) -> None:
    client = RawClient(fake_acme)

    refused = client.post(client.url("newAccount"), TERMS, jwk=jwk(client))

    assert_problem(refused, "malformed", 400, PARSE)
    assert fake_acme.accounts == []


# The envelope (RFC 8555 6.2: flattened JSON serialization only; RFC 7515)


def _parts(raw: RawClient, url: str, **header: Any) -> dict[str, str]:
    return raw.envelope(raw.protected(url, **header), json.dumps(ORDER).encode())


_DROP = object()


def _body_for(raw: RawClient, url: str, **header: Any) -> bytes:
    envelope = raw.envelope(raw.protected(url, **header), json.dumps(ORDER).encode())
    return json.dumps(envelope).encode()


def _with(envelope: dict[str, str], **members: Any) -> bytes:
    changed: dict[str, Any] = dict(envelope)
    for name, value in members.items():
        if value is _DROP:
            changed.pop(name)
        else:
            changed[name] = value
    return json.dumps(changed).encode()


Case = Callable[[RawClient, str], bytes]

_SIGNATURES = (
    V + 'JWS "signatures" field not allowed. Only the "signature" field should contain a '
    "signature"
)
_HEADER = V + 'JWS "header" field not allowed. All headers must be in "protected" field'

STRUCTURE_CASES: dict[str, tuple[Case, str]] = {
    "compact-serialization": (
        lambda r, u: ".".join(_parts(r, u)[k] for k in ("protected", "payload", "signature"))
        .encode(),
        PARSE,
    ),
    "general-serialization": (
        lambda r, u: json.dumps({
            "payload": _parts(r, u)["payload"],
            "signatures": [{"protected": _parts(r, u)["protected"],
                            "signature": _parts(r, u)["signature"]}],
        }).encode(),
        _SIGNATURES,
    ),
    "flattened-plus-signatures": (
        lambda r, u: _with(env := _parts(r, u), signatures=[
            {"protected": env["protected"], "signature": env["signature"]}]),
        _SIGNATURES,
    ),
    "unprotected-header": (
        lambda r, u: _with(_parts(r, u), header={"kid": r.kid}),
        _HEADER,
    ),
    "empty-unprotected-header": (lambda r, u: _with(_parts(r, u), header={}), _HEADER),
    "unprotected-header-not-strings": (lambda r, u: _with(_parts(r, u), header={"a": 1}), PARSE),
    # A missing "protected" is an empty header to go-jose, whose algorithm "" is then refused
    # as badSignatureAlgorithm (go-jose jws.go:243-282): row wfe-13 of tests/boulder_rows.py.
    "missing-payload": (lambda r, u: _with(_parts(r, u), payload=_DROP), PARSE),
    # A missing "signature" decodes to no bytes, as an empty one does (go-jose
    # encoding.go:181-187, wfe2/verify.go:398-401).
    "missing-signature": (lambda r, u: _with(_parts(r, u), signature=_DROP),
                          V + "POST JWS not signed"),
    "protected-not-base64url": (lambda r, u: _with(_parts(r, u), protected="e30!"), PARSE),
    "protected-standard-base64": (lambda r, u: _with(_parts(r, u), protected="e3+/"), PARSE),
    "payload-not-base64url": (lambda r, u: _with(_parts(r, u), payload="@@@@"), PARSE),
    "signature-not-base64url": (lambda r, u: _with(_parts(r, u), signature="a b"), PARSE),
    "signature-impossible-length": (lambda r, u: _with(_parts(r, u), signature="A"), PARSE),
    "protected-not-a-string": (lambda r, u: _with(_parts(r, u), protected={"alg": "ES256"}),
                               PARSE),
    "protected-not-json": (lambda r, u: _with(_parts(r, u), protected=b64(b"not json")), PARSE),
    "protected-json-array": (lambda r, u: _with(_parts(r, u), protected=b64(b"[]")), PARSE),
    "protected-not-utf8": (lambda r, u: _with(_parts(r, u), protected=b64(b"\xff\xfe{")), PARSE),
    "body-not-json": (lambda r, u: b"hello", PARSE),
    "body-json-array": (lambda r, u: b"[]", PARSE),
    "body-json-string": (lambda r, u: b'"jws"', PARSE),
    "body-not-utf8": (lambda r, u: b"\xff\xfe\x00{", PARSE),
    "body-empty": (lambda r, u: b"", PARSE),
    "body-nan": (lambda r, u: b'{"protected": NaN, "payload": "", "signature": "AA"}', PARSE),
    "body-deeply-nested": (lambda r, u: b"[" * 20_000 + b"]" * 20_000, PARSE),
    "empty-signature": (lambda r, u: _with(_parts(r, u), signature=""), V + "POST JWS not signed"),
    "nonce-not-a-string": (lambda r, u: _body_for(r, u, nonce=123), PARSE),
    "kid-not-a-string": (lambda r, u: _body_for(r, u, kid=42), PARSE),
    "alg-not-a-string": (lambda r, u: _body_for(r, u, alg=256), PARSE),
    "critical-extension": (
        lambda r, u: _body_for(r, u, extra={"crit": ["b64"], "b64": False}),
        V + "JWS verification error",
    ),
    "payload-not-json": (
        lambda r, u: json.dumps(r.envelope(r.protected(u), b"not json")).encode(),
        V + "Request payload did not parse as JSON",
    ),
    "payload-json-array": (
        lambda r, u: json.dumps(r.envelope(r.protected(u), b"[]")).encode(),
        V + "Request payload did not parse as JSON",
    ),
    "payload-json-number": (
        lambda r, u: json.dumps(r.envelope(r.protected(u), b"42")).encode(),
        V + "Request payload did not parse as JSON",
    ),
}


@pytest.mark.parametrize("case", sorted(STRUCTURE_CASES))
def test_malformed_envelope_is_malformed(raw: RawClient, case: str) -> None:
    build, detail = STRUCTURE_CASES[case]
    url = raw.url("newOrder")

    refused = raw.send(url, build(raw, url))

    assert_problem(refused, "malformed", 400, detail)
    assert refused.headers["Replay-Nonce"]
    assert raw.fake.orders == []


@pytest.mark.parametrize(
    "members",
    [{"header": None}, {"signatures": []}, {"unprotected": "ignored", "x-extra": {"a": 1}}],
    ids=["null-header", "empty-signatures", "unknown-members"],
)
def test_members_that_change_nothing_are_accepted(raw: RawClient, members: dict[str, Any]) -> None:
    # RFC 7515 7.2.1: members that are not understood are ignored; Boulder reads a null
    # "header" and an empty "signatures" as absent.
    url = raw.url("newOrder")

    accepted = raw.send(url, _with(_parts(raw, url), **members))

    assert accepted.status_code == 201, accepted.text


def test_padded_base64url_is_refused_like_go_jose(raw: RawClient) -> None:
    url = raw.url("newOrder")
    envelope = _parts(raw, url)
    padded = {k: v + "=" * (-len(v) % 4) for k, v in envelope.items()}
    assert padded != envelope  # the case needs at least one member that padding changes
    # The signature covers the members as sent, so sign the padded members.
    protected, payload = padded["protected"], padded["payload"]
    signer = jose.JWASignature.from_json("ES256")
    padded["signature"] = b64(signer.sign(raw.key.key, f"{protected}.{payload}".encode()))

    # go-jose decodes every member with base64.RawURLEncoding, for which "=" is not padding but
    # a byte outside the alphabet (vendor/github.com/go-jose/go-jose/v4/encoding.go:156-175),
    # and Boulder answers its parse error (wfe2/verify.go:375-389).
    refused = raw.send(url, json.dumps(padded).encode())
    assert_problem(refused, "malformed", 400, PARSE)


# HTTP-level rules (RFC 8555 6.2, 6.3, 6.5, 7.1, 7.2)


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "text/plain", None, "application/jose"],
    ids=["json", "text", "missing", "jose-without-json"],
)
def test_wrong_content_type_is_400_malformed(raw: RawClient, content_type: str | None) -> None:
    url = raw.url("newOrder")

    refused = raw.post(url, ORDER, content_type=content_type)

    # 400, not RFC 7231's 415: Boulder's validPOSTRequest returns a MalformedError
    # (wfe2/verify.go:161-168), which web.ProblemDetailsForError makes a 400.
    body = assert_problem(refused, "malformed", 400)
    assert "application/jose+json" in body["detail"]
    assert refused.headers["Replay-Nonce"]


def test_body_larger_than_the_limit_is_refused(raw: RawClient, fake_acme: FakeACME) -> None:
    fake_acme.configure(max_request_body=4096)
    url = raw.url("newOrder")

    refused = raw.send(url, b"{" + b" " * 5000 + b"}")

    assert_problem(refused, "unauthorized", 403)
    assert refused.headers["Replay-Nonce"]


def _resource_urls(raw: RawClient, fake_acme: FakeACME, responder: Responder) -> dict[str, str]:
    """One URL of every kind of resource, with a certificate issued."""
    fake_acme.configure(async_finalize=False)
    order = raw.new_order("a.example")
    order_url, body = order.headers["Location"], order.json()
    authz_url = body["authorizations"][0]
    authz = raw.post_as_get(authz_url).json()
    chall = next(c for c in authz["challenges"] if c["type"] == "http-01")
    responder.serve(chall["token"], raw.key_authorization(chall["token"]))
    assert raw.post(chall["url"], {}).status_code == 200
    assert raw.post_as_get(authz_url).json()["status"] == "valid"
    final = raw.finalize(body, make_csr(["a.example"])).json()
    assert final["status"] == "valid", final
    assert raw.kid is not None
    return {
        "account": raw.kid,
        # The fake serves the RFC's orders list at this URL; Let's Encrypt's account object
        # does not name it (core/objects.go:84-101).
        "orders": raw.kid + "/orders",
        "order": order_url,
        "authz": authz_url,
        "challenge": chall["url"],
        "finalize": body["finalize"],
        "certificate": final["certificate"],
        "newAccount": raw.url("newAccount"),
        "newOrder": raw.url("newOrder"),
    }


#: What Boulder also serves to a plain GET, unauthenticated (wfe2/wfe.go:464-470).
_GETTABLE = ("order", "authz", "challenge", "certificate")


def test_get_of_a_post_only_resource_is_405_malformed(
    raw: RawClient, fake_acme: FakeACME, responder: Responder
) -> None:
    for name, url in _resource_urls(raw, fake_acme, responder).items():
        answer = raw.get(url)

        if name in _GETTABLE:
            # Boulder registers these for GET as well as POST (wfe2/wfe.go:464-470) and serves
            # a plain GET without an owner check (1235-1237, 1597, 1714, 2552).
            assert answer.status_code == 200, (name, answer.text)
            continue
        assert_problem(answer, "malformed", 405)
        assert answer.headers["Allow"] == "POST", name
        assert f'<{fake_acme.directory_url}>;rel="index"' in answer.headers["Link"], name


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
def test_unknown_path_is_gos_plain_404(raw: RawClient, method: str) -> None:
    url = raw.url("newOrder").replace("new-order", "no-such-thing")

    answer = raw.session.request(
        method, url, data=b"{}", headers={"Content-Type": JOSE_JSON}, verify=raw.verify,
        timeout=30,
    )

    # Boulder's Index answers Go's http.NotFound, outside HandleFunc: plain text, no nonce, no
    # index link (wfe2/wfe.go:500-505).
    assert answer.status_code == 404
    assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert answer.content == b"404 page not found\n"
    assert "Link" not in answer.headers
    assert "Replay-Nonce" not in answer.headers


def test_every_post_answer_has_a_nonce_and_every_answer_but_the_directory_an_index_link(
    raw: RawClient, fake_acme: FakeACME, responder: Responder
) -> None:
    index = f'<{fake_acme.directory_url}>;rel="index"'
    urls = _resource_urls(raw, fake_acme, responder)
    answers: list[requests.Response] = []
    for url in urls.values():
        answers.append(raw.post_as_get(url))  # successes, and errors for the POST-only ones
        answers.append(raw.post(url, ORDER, alg="none"))  # badSignatureAlgorithm
        answers.append(raw.post(url, ORDER, nonce="stale"))  # badNonce
        # 400: wfe2/verify.go:165-168.
        answers.append(raw.post(url, ORDER, content_type="application/json"))
    # 405 with a nonce: Boulder's HandleFunc sets Replay-Nonce before its method check
    # (wfe2/wfe.go:326-359).
    answers.append(raw.session.put(raw.url("newNonce"), verify=raw.verify, timeout=30))
    statuses = {a.status_code for a in answers}
    assert {200, 400, 403, 405} <= statuses, statuses
    for answer in answers:
        assert answer.headers.get("Replay-Nonce"), (answer.url, answer.status_code)
        assert index in answer.headers.get("Link", ""), (answer.url, answer.status_code)
    nonces = [a.headers["Replay-Nonce"] for a in answers]
    assert len(set(nonces)) == len(nonces)

    for extra in (raw.get(fake_acme.directory_url.replace("/directory", "/terms/v1")),
                  raw.head(raw.url("newNonce"))):
        assert index in extra.headers["Link"]
    directory = raw.get(fake_acme.directory_url)
    assert directory.status_code == 200
    assert "rel=\"index\"" not in directory.headers.get("Link", "")


def test_new_nonce_head_is_200_and_get_is_204_both_uncacheable(raw: RawClient) -> None:
    head, get = raw.head(raw.url("newNonce")), raw.get(raw.url("newNonce"))

    assert head.status_code == 200
    assert get.status_code == 204
    for answer in (head, get):
        # Boulder sets "no-store" after writing the status, so only HandleFunc's
        # addNoCacheHeader reaches the wire (wfe2/wfe.go:352-353, 632-637).
        assert answer.headers["Cache-Control"] == "public, max-age=0, no-cache"
        assert answer.headers["Replay-Nonce"]
        assert answer.content == b""
        assert f'<{raw.fake.directory_url}>;rel="index"' in answer.headers["Link"]
    assert head.headers["Replay-Nonce"] != get.headers["Replay-Nonce"]
    # Both nonces work, once each.
    for nonce in (head.headers["Replay-Nonce"], get.headers["Replay-Nonce"]):
        assert raw.post(raw.url("newOrder"), ORDER, nonce=nonce).status_code == 201


def test_post_as_get_to_new_nonce_is_200(raw: RawClient) -> None:
    answer = raw.post(raw.url("newNonce"), None)

    # Boulder registers newNonce for POST too and answers a POST-as-GET 200 with an empty
    # body (wfe2/wfe.go:466, 617-631).
    assert answer.status_code == 200
    assert answer.content == b""
    assert answer.headers["Replay-Nonce"]


# Account keys of every algorithm work end to end


# ES512 is not among them: Let's Encrypt's key policy refuses P-521 account keys
# (goodkey/good_key.go:76-84, 271-283); row wfe-36 of tests/boulder_rows.py pins the refusal.
@pytest.mark.parametrize("alg", [a for a in ALGORITHMS if a != "ES512"])
def test_every_supported_algorithm_registers_orders_and_gets_a_certificate(
    fake_acme: FakeACME, responder: Responder, alg: str
) -> None:
    client = AcmeTestClient(fake_acme, key=new_key(alg), alg=jose.JWASignature.from_json(alg))
    regr = client.register(email="alg@a.example")
    assert regr.body.status == "valid"

    order = client.issue(f"{alg.lower()}.example", responder=responder)

    leaf = x509.load_pem_x509_certificates(order.fullchain_pem.encode())[0]
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == [f"{alg.lower()}.example"]
    (account,) = fake_acme.accounts
    assert account.jwk == public_jwk(client.key)
