"""Property-based fuzzing (hypothesis) of every ACME endpoint of the session's fake, over JWS
envelopes, protected headers, payloads, the documents embedded in requests (JWKs, the keyChange
inner JWS, externalAccountBinding), and methods and paths.

Whatever arrives, the answer is never a 500 (nor anything else from 500 up); a 4xx is an
``application/problem+json`` document whose ``type`` is an ACME error URN of a known type and
whose ``status`` is the HTTP status; every answer to a POST carries a ``Replay-Nonce``; and the
server thread raises nothing. Examples are derandomized (a fixed seed per test) and bounded;
the number run is printed in pytest's terminal summary.

Inputs are mostly right with a few parts wrong (a wholly random request stops at the first
check), and draw on values that broke the fake before (see tests/corpus/malformed.json): with
the fixes of commit 1314b7a reverted, this file finds the JWK, nesting and digit bugs again.
Requests that would leave the shared world unusable are not generated: the main account is
never deactivated and the keyChange inner JWS never names the account's current key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import hypothesis.strategies as st
import josepy as jose
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from test_corpus import (
    Answer,
    Built,
    World,
    build_csr,
    current_world,
    robustness_summary,
    rsa_key,
    send,
    take_server_errors,
    world_holder,
)

from jwsclient import JOSE_JSON, PROBLEM_JSON, b64, natural_alg, new_key, public_jwk
from pytest_fakeacme import FakeACME
from pytest_fakeacme.problems import ACME_ERROR_PREFIX, KNOWN_TYPES

#: Examples per test and endpoint (or place): 731 in all, some 16 s on two cores (an example
#: costs about 5 ms of HTTPS and 15 ms of hypothesis).
EXAMPLES = {"envelope": 10, "header": 20, "payload": 25, "embedded": 16, "http": 30}

# When a hypothesis test fails, hypothesis's pytest plugin imports libcst (to suggest an
# @example patch), which warns about mypy_extensions.TypedDict; under filterwarnings=error that
# warning, raised inside pytest_runtest_makereport, is an INTERNALERROR that hides the failure.
pytestmark = pytest.mark.filterwarnings(
    "ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning")

FUZZ_BASE = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # the autouse environment fixture; harmless
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


def fuzz_settings(kind: str) -> settings:
    """The bounded, derandomized settings of one fuzz test."""
    return settings(FUZZ_BASE, max_examples=EXAMPLES[kind])


POST_ENDPOINTS = ("newAccount", "newOrder", "account", "orders", "order", "authz", "challenge",
                  "finalize", "certificate", "revokeCert", "keyChange")


# Strategies


def pick(*options: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """One of ``options``, each as likely as the others (repeat one to weight it). ``a | b``
    flattens unions, so a one-branch strategy next to JSON's many would hardly ever be drawn."""
    return st.sampled_from(options).flatmap(lambda chosen: chosen)


#: Characters that matter to parsers: delimiters, escapes, NUL, DEL, non-ASCII, U+FFFD.
CHARS = "aZ09-._~:/@ \x00\x7f\u00e9\u00ff\ufffd\u2603{}[]\"\\,=+*!%"
JSON_LEAVES = (st.none() | st.booleans() | st.integers()
               | st.sampled_from([2 ** 70, -1, 0.5, 1e308, -0.0, "", "\x00" * 3])
               | st.text(alphabet=CHARS, max_size=16))
_KEYS = st.text(alphabet=CHARS, max_size=6)
_FLAT = (JSON_LEAVES | st.lists(JSON_LEAVES, max_size=3)
         | st.dictionaries(_KEYS, JSON_LEAVES, max_size=3))
#: Any JSON value, two levels deep (hypothesis's st.recursive costs ~15 ms an example here).
JSON: st.SearchStrategy[Any] = (_FLAT | st.lists(_FLAT, max_size=3)
                                | st.dictionaries(_KEYS, _FLAT, max_size=3))
B64_JSON = JSON.map(lambda v: b64(json.dumps(v).encode()))
B64_BYTES = st.binary(max_size=64).map(b64)
#: Nesting around the recursion limit (hypothesis would mostly draw small depths).
DEEP = st.sampled_from([2, 100, 1100, 3000, 3000]).flatmap(
    lambda n: st.sampled_from([b"[" * n + b"]" * n, b'{"a":' * n + b"1" + b"}" * n]))
TEXTISH = (st.text(alphabet=CHARS, max_size=40) | B64_BYTES
           | st.sampled_from(["", "\x00", "ES256", "\ufffd"]))
LABELS = st.sampled_from(["a", "b0", "example", "xn--bcher-kva", "xn--zz", "-x", "x-", "*",
                         "", "a" * 64, "UPPER", "a_b", "ab--c", "\u00fc"])
NAMES = (
    st.lists(LABELS, min_size=1, max_size=4).map(".".join)
    | st.sampled_from(["127.0.0.1", "::1", "::ffff:127.0.0.1", "xn--bcher-kva.example",
                       "xn--zz.example", "a..example", "-a.example", "*.*.example",
                       "a" * 64 + ".example", "192.0.2.1"])
    | st.text(alphabet=CHARS, max_size=40)
)
IDENTIFIER = st.fixed_dictionaries({}, optional={
    "type": pick(st.sampled_from(["dns", "ip", "email", "DNS", ""]), JSON),
    "value": pick(NAMES, NAMES, JSON),
})
CONTACTS = pick(st.lists(pick(
    st.sampled_from(["mailto:a@example.com", "mailto:", "tel:+1555", "mailto:a@b"]),
    st.text(alphabet=CHARS, max_size=30).map(lambda t: "mailto:" + t), JSON), max_size=4),
    JSON)
TIMES = pick(st.sampled_from(["2030-01-01T00:00:00Z", "2030-01-01T00:00:00",
                              "9999-12-31T23:59:59Z", "9999-12-31T23:59:59-14:00",
                              "0001-01-01T00:00:00+14:00", "2030-02-30T00:00:00Z", "yesterday",
                              ""]), JSON)
#: Numbers as text that str.isdigit() accepts and int() refuses, or that int() refuses to
#: convert (over 4300 digits), and ordinary ones.
_ODD_DIGITS = st.sampled_from(["\u00b2", "\u0661", "9" * 5000, "9" * 5000, "-1", "1e3", ""])
DIGITS = pick(_ODD_DIGITS, _ODD_DIGITS, _ODD_DIGITS, st.integers(-5, 10 ** 40).map(str),
              st.text(alphabet=CHARS, max_size=8))


def _jwk_variants(base: Callable[[], dict[str, Any]]) -> st.SearchStrategy[Any]:
    """A public JWK with members replaced, dropped or added (``d``, ``alg``, ...)."""

    def mutate(changes: dict[str, Any]) -> dict[str, Any]:
        jwk = base()
        for name, value in changes.items():
            if value is _DROP:
                jwk.pop(name, None)
            else:
                jwk[name] = value
        return jwk

    member = st.sampled_from(["x", "y", "n", "e", "crv", "kty", "d", "alg", "use", "kid"])
    value = (st.just(_DROP) | JSON_LEAVES | JSON | B64_BYTES
             | st.sampled_from(["EC", "RSA", "oct", "OKP", "P-256", "P-521", "ES256"]))
    return st.dictionaries(member, value, min_size=1, max_size=3).map(mutate)


_DROP = object()


def _check_all(answer: Answer, method: str, fake: FakeACME, config: pytest.Config) -> None:
    """The fuzz properties, for one answer, and nothing raised in the server thread."""
    errors = take_server_errors(fake)
    _check(answer, method, config)
    assert errors == [], f"the server thread raised {errors!r}"


def _check(answer: Answer, method: str, config: pytest.Config) -> None:
    """The fuzz properties, for one answer."""
    body = answer.body[:400]
    assert answer.status < 500, f"{answer.status} answer: {body!r}"
    if answer.status == 404 and answer.headers.get("Content-Type", "").startswith("text/plain"):
        # A path no ACME resource serves: Boulder's Index answers Go's http.NotFound, outside
        # HandleFunc, so with no problem document and no nonce (wfe2/wfe.go:500-505).
        assert answer.body in (b"404 page not found\n", b""), body
        robustness_summary(config).add("fuzz_examples")
        return
    if method == "POST":
        assert answer.headers.get("Replay-Nonce"), f"no Replay-Nonce: {dict(answer.headers)}"
    if 400 <= answer.status < 500:
        assert answer.headers.get("Content-Type", "").split(";")[0] == PROBLEM_JSON, body
        if method != "HEAD":
            problem = json.loads(answer.body)
            assert isinstance(problem, dict), body
            urn = problem.get("type", "")
            assert isinstance(urn, str), body
            assert urn.startswith(ACME_ERROR_PREFIX), body
            assert urn[len(ACME_ERROR_PREFIX):] in KNOWN_TYPES, body
            assert problem.get("status") == answer.status, body
    robustness_summary(config).add("fuzz_examples")


# The world


@pytest.fixture(scope="module")
def fuzz_worlds(fake_acme_session: FakeACME) -> Iterator[list[World]]:
    """This module's worlds; each example takes :func:`current_world` (rebuilt if a reset
    between tests, say, changed it)."""
    yield from world_holder(fake_acme_session)


@pytest.fixture(autouse=True)
def _summary_line(pytestconfig: pytest.Config) -> None:
    summary = robustness_summary(pytestconfig)
    summary.counts.setdefault("fuzz_examples", 0)
    summary.lines["fuzz"] = (
        "fuzz: {fuzz_examples} hypothesis examples over every endpoint (JWS envelopes, "
        "protected headers, payloads, embedded JWKs and JWSs, methods and paths), each checked "
        "for no 5xx, a problem document and a Replay-Nonce"
    )


def _target(world: World, endpoint: str) -> str:
    # finalize: the ready order, so that CSRs get checked (none the fuzzer makes can match it).
    return world.urls["readyFinalize" if endpoint == "finalize" else endpoint]


def _post(world: World, url: str, body: bytes, content_type: str | None = JOSE_JSON) -> Answer:
    headers = {"Content-Type": content_type} if content_type is not None else {}
    answer = send(world, Built("POST", url, body, headers))
    nonce = answer.headers.get("Replay-Nonce")
    if nonce:
        world.spare_nonce = nonce
    return answer


def _signed(world: World, url: str, payload: bytes, *, key: jose.JWK | None = None,
            kid: str | None = None) -> dict[str, str]:
    """A correct flattened JWS (the main account's, unless ``key``/``kid`` say otherwise)."""
    key = key or world.main.key
    header: dict[str, Any] = {"alg": natural_alg(key), "nonce": world.nonce(), "url": url}
    if kid is not None:
        header["kid"] = kid
    elif key is world.main.key:
        header["kid"] = world.main.kid
    else:
        header["jwk"] = public_jwk(key)
    protected = b64(json.dumps(header).encode())
    encoded = b64(payload)
    signature = jose.JWASignature.from_json(natural_alg(key)).sign(
        key.key, f"{protected}.{encoded}".encode())
    return {"protected": protected, "payload": encoded, "signature": b64(signature)}


def _mostly_right(data: st.DataObject, base: dict[str, Any],
                  wrong: dict[str, st.SearchStrategy[Any]], label: str,
                  changes: int = 2) -> dict[str, Any]:
    """``base`` with up to ``changes`` members made wrong (or dropped): mostly-valid input
    reaches the deep checks, where a wholly random one stops at the first."""
    result = dict(base)
    names = data.draw(st.lists(st.sampled_from(sorted(wrong)), unique=True, max_size=changes),
                      label=label)
    for name in names:
        value = data.draw(wrong[name], label=f"{label}: {name}")
        if value is _DROP:
            result.pop(name, None)
        else:
            result[name] = value
    return result


# 1. The envelope: members dropped, replaced, added; or no envelope at all.


@pytest.mark.parametrize("endpoint", POST_ENDPOINTS)
@fuzz_settings("envelope")
@given(data=st.data())
def test_fuzz_jws_envelope(fuzz_worlds: list[World], fake_acme_session: FakeACME,
                           pytestconfig: pytest.Config, endpoint: str, data: st.DataObject
                           ) -> None:
    world = current_world(fuzz_worlds, fake_acme_session)
    url = _target(world, endpoint)
    kind = data.draw(st.sampled_from(["mutated", "json", "bytes", "deep"]), label="kind")
    if kind == "mutated":
        envelope: dict[str, Any] = dict(_signed(world, url, b"{}"))
        for member in ("protected", "payload", "signature"):
            action = data.draw(st.sampled_from(["keep", "keep", "drop", "replace"]), label=member)
            if action == "drop":
                del envelope[member]
            elif action == "replace":
                envelope[member] = data.draw(JSON | B64_JSON | TEXTISH, label=member)
        envelope.update(data.draw(st.dictionaries(
            st.sampled_from(["header", "signatures", "unprotected"]) | _KEYS,
            JSON, max_size=2), label="extra"))
        body = json.dumps(envelope).encode()
    elif kind == "json":
        body = json.dumps(data.draw(JSON, label="body")).encode()
    elif kind == "bytes":
        body = data.draw(st.binary(max_size=200), label="body")
    else:
        body = data.draw(DEEP, label="body")
    _check_all(_post(world, url, body), "POST", fake_acme_session, pytestconfig)


# 2. The protected header: right, with up to three members wrong, of the wrong type, dropped
# or added; signed by the key it names, mostly.


@pytest.mark.parametrize("endpoint", POST_ENDPOINTS)
@fuzz_settings("header")
@given(data=st.data())
def test_fuzz_protected_header(fuzz_worlds: list[World], fake_acme_session: FakeACME,
                               pytestconfig: pytest.Config, endpoint: str,
                               data: st.DataObject) -> None:
    world = current_world(fuzz_worlds, fake_acme_session)
    url = _target(world, endpoint)
    fresh = new_key()
    keys = {"main": world.main.key, "fresh": fresh, "rsa": rsa_key(2048)}
    key_name = data.draw(st.sampled_from(sorted(keys)), label="signing key")
    key = keys[key_name]
    # A correct header for the key, with up to three members wrong, dropped or added.
    base: dict[str, Any] = {"alg": natural_alg(key), "nonce": world.nonce(), "url": url}
    if key_name == "main":
        base["kid"] = world.main.kid
    else:
        base["jwk"] = public_jwk(key)
    header = _mostly_right(data, base, {
        "alg": st.sampled_from(["ES256", "ES384", "ES512", "RS256", "none", "HS256", "PS256",
                                "", _DROP]) | JSON,
        "kid": st.sampled_from([world.main.kid, world.other.kid, world.deactivated.kid,
                                world.urls["base"] + "/acme/acct/0", "", _DROP])
        | TEXTISH | JSON,
        "jwk": pick(st.sampled_from([public_jwk(key), public_jwk(world.main.key), _DROP]),
                    _jwk_variants(lambda: public_jwk(key)), _jwk_variants(lambda: public_jwk(key)),
                    JSON),
        "nonce": st.just(_DROP) | TEXTISH | JSON,
        "url": st.sampled_from([world.urls["newOrder"], url + "/", _DROP]) | TEXTISH | JSON,
        "crit": JSON,
        "b64": JSON,
        "extra": JSON,
    }, "header", changes=3)
    payload = data.draw(st.sampled_from([b"", b"{}"]) | JSON.map(lambda v: json.dumps(v).encode()),
                        label="payload")
    protected, encoded = b64(json.dumps(header).encode()), b64(payload)
    if data.draw(st.integers(0, 3), label="real signature") > 0:
        signature = jose.JWASignature.from_json(natural_alg(key)).sign(
            key.key, f"{protected}.{encoded}".encode())
    else:
        signature = data.draw(st.binary(max_size=600), label="signature")
    body = json.dumps({"protected": protected, "payload": encoded,
                       "signature": b64(signature)}).encode()
    _check_all(_post(world, url, body), "POST", fake_acme_session, pytestconfig)


# 3. Payloads: correctly signed requests with endpoint-shaped, hostile payloads.


def _eab(world: World, data: st.DataObject, jwk: dict[str, Any]) -> Any:
    """An externalAccountBinding MACed with a new EAB key (so that none is already bound),
    mostly right, its key sometimes mangled."""
    kid, key = world.fake.eab.add()
    header = _mostly_right(data, {"alg": "HS256", "kid": kid, "url": world.urls["newAccount"]}, {
        "alg": st.sampled_from(["HS512", "RS256", "none", _DROP]) | JSON,
        "kid": TEXTISH | JSON | st.just(_DROP),
        "url": TEXTISH | st.just(_DROP),
        "nonce": TEXTISH,
    }, "eab header")
    payload = data.draw(pick(st.just(jwk), _jwk_variants(lambda: dict(jwk)), JSON),
                        label="eab payload")
    protected = b64(json.dumps(header).encode())
    encoded = b64(json.dumps(payload).encode())
    mac_key = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
    mac = hmac.new(mac_key, f"{protected}.{encoded}".encode(), hashlib.sha256).digest()
    envelope: dict[str, Any] = {"protected": protected, "payload": encoded, "signature": b64(mac)}
    if data.draw(st.integers(0, 3), label="eab members mangled") == 0:
        envelope.update(data.draw(st.dictionaries(
            st.sampled_from(["protected", "payload", "signature", "extra"]),
            JSON | B64_JSON | TEXTISH | DEEP.map(b64), max_size=2), label="eab members"))
    return envelope


def _inner_jws(world: World, data: st.DataObject) -> dict[str, Any]:
    """A keyChange inner JWS, mostly right, that never names the account's current key as
    oldKey (so that it never succeeds and changes the shared world)."""
    new = new_key()
    header = _mostly_right(data, {"alg": natural_alg(new), "jwk": public_jwk(new),
                                  "url": world.urls["keyChange"]}, {
        "alg": st.sampled_from(["ES384", "none", "HS256", _DROP]) | JSON,
        "jwk": pick(_jwk_variants(lambda: public_jwk(new)), JSON, st.just(_DROP)),
        "kid": TEXTISH,
        "nonce": TEXTISH,
        "url": TEXTISH | JSON | st.just(_DROP),
    }, "inner header")
    payload = _mostly_right(data, {"account": world.keychanger.kid,
                                   "oldKey": public_jwk(world.main.key)}, {
        "account": st.sampled_from([world.main.kid, _DROP]) | TEXTISH | JSON,
        "oldKey": pick(_jwk_variants(lambda: public_jwk(world.main.key)), JSON,
                       st.just(_DROP)),
    }, "inner payload")
    protected = b64(json.dumps(header).encode())
    encoded = b64(json.dumps(payload).encode())
    signature = jose.JWASignature.from_json(natural_alg(new)).sign(
        new.key, f"{protected}.{encoded}".encode())
    inner: dict[str, Any] = {"protected": protected, "payload": encoded,
                             "signature": b64(signature)}
    if data.draw(st.integers(0, 3), label="inner members mangled") == 0:
        inner.update(data.draw(st.dictionaries(
            st.sampled_from(["protected", "payload", "signature"]),
            JSON | B64_JSON | TEXTISH | DEEP.map(b64), max_size=2), label="inner members"))
    return inner


def _csr_b64(data: st.DataObject) -> str:
    names = data.draw(st.lists(st.sampled_from(["a.example", "b.example", "corpus-valid.example",
                                                "corpus-other.example"]), max_size=3),
                      label="csr names")
    csr = build_csr(names, ec.generate_private_key(ec.SECP256R1()))
    return b64(csr.public_bytes(serialization.Encoding.DER))


def _payload(world: World, endpoint: str, data: st.DataObject, jwk: dict[str, Any]) -> Any:
    """A payload for ``endpoint``: its own members with hostile values, or anything at all."""
    if data.draw(st.integers(0, 5), label="shaped") == 0:
        return data.draw(JSON | st.binary(max_size=100) | DEEP, label="payload")
    fields: dict[str, st.SearchStrategy[Any]]
    if endpoint == "newAccount":
        fields = {"termsOfServiceAgreed": pick(st.booleans(), JSON), "contact": CONTACTS,
                  "onlyReturnExisting": pick(st.booleans(), JSON),
                  "externalAccountBinding": pick(st.just("$eab"), st.just("$eab"), JSON)}
    elif endpoint == "newOrder":
        fields = {"identifiers": pick(st.lists(IDENTIFIER, max_size=4), JSON),
                  "notBefore": TIMES, "notAfter": TIMES,
                  "profile": pick(st.sampled_from(["classic", "nope"]), JSON),
                  "replaces": pick(TEXTISH, JSON)}
    elif endpoint == "account":
        # Never "deactivated": the main account must survive.
        fields = {"contact": CONTACTS,
                  "status": pick(st.sampled_from(["valid", "", "revoked", "pending"]),
                                 JSON_LEAVES),
                  "termsOfServiceAgreed": JSON}
    elif endpoint == "authz":
        fields = {"status": pick(st.sampled_from(["deactivated", "valid", "pending", ""]), JSON)}
    elif endpoint == "finalize":
        fields = {"csr": pick(st.just("$csr"), st.just("$csr"), B64_BYTES, TEXTISH, JSON)}
    elif endpoint == "revokeCert":
        fields = {"certificate": pick(
                      st.sampled_from([b64(world.cert_der), b64(world.selfsigned)]),
                      st.sampled_from([b64(world.cert_der), b64(world.selfsigned)]),
                      B64_BYTES, JSON),
                  "reason": pick(st.integers(-3, 12), st.integers(-3, 12), JSON)}
    elif endpoint == "keyChange":
        return _inner_jws(world, data)
    else:
        fields = {"status": JSON, "csr": JSON}
    shaped = data.draw(st.fixed_dictionaries({}, optional=fields), label="payload")
    if shaped.get("externalAccountBinding") == "$eab":
        shaped["externalAccountBinding"] = _eab(world, data, jwk)
    if shaped.get("csr") == "$csr":
        shaped["csr"] = _csr_b64(data)
    shaped.update(data.draw(st.dictionaries(_KEYS, JSON, max_size=2),
                            label="unknown members"))
    return shaped


@pytest.mark.parametrize("endpoint", POST_ENDPOINTS)
@fuzz_settings("payload")
@given(data=st.data())
def test_fuzz_payload(fuzz_worlds: list[World], fake_acme_session: FakeACME,
                      pytestconfig: pytest.Config, endpoint: str, data: st.DataObject) -> None:
    world = current_world(fuzz_worlds, fake_acme_session)
    url = _target(world, endpoint)
    key: jose.JWK | None = None
    kid: str | None = None
    if endpoint == "newAccount":
        key = new_key()
    elif endpoint == "keyChange":
        key, kid = world.keychanger.key, world.keychanger.kid
    elif endpoint == "revokeCert":
        signer = data.draw(st.sampled_from(["main", "other", "certkey"]), label="signer")
        if signer == "other":
            key, kid = world.other.key, world.other.kid
        elif signer == "certkey":
            key = jose.JWKEC(key=world.cert_key)
    elif endpoint == "orders":
        cursor = data.draw(DIGITS, label="cursor")
        url += "?cursor=" + quote(cursor, safe="-._~")
    elif endpoint == "certificate":
        chain = data.draw(pick(st.none(), DIGITS, DIGITS), label="chain")
        if chain is not None:
            url += "/" + quote(chain, safe="-._~")
    value = _payload(world, endpoint, data, public_jwk(key or world.main.key))
    if isinstance(value, bytes):
        payload = value
    elif endpoint in ("orders", "order", "certificate") and data.draw(
            st.integers(0, 3), label="post-as-get") > 0:
        payload = b""
    else:
        payload = json.dumps(value).encode()
    body = json.dumps(_signed(world, url, payload, key=key, kid=kid)).encode()
    # newOrder's notBefore/notAfter are read only in the rfc flavor (Boulder refuses them).
    flavor = data.draw(st.sampled_from(["boulder", "rfc"]), label="flavor") if (
        endpoint == "newOrder") else "boulder"
    world.fake.configure(flavor=flavor)
    try:
        answer = _post(world, url, body)
    finally:
        world.fake.configure(flavor="boulder")
    _check_all(answer, "POST", fake_acme_session, pytestconfig)


# 4. Documents inside requests: the embedded JWK, the keyChange inner JWS and its oldKey, the
# externalAccountBinding; everything else right, so that each is parsed.


EMBEDDED = ("jwk", "inner-jwk", "old-key", "eab-jwk", "inner-member", "eab-member")


@pytest.mark.parametrize("where", EMBEDDED)
@fuzz_settings("embedded")
@given(data=st.data())
def test_fuzz_embedded_documents(fuzz_worlds: list[World], fake_acme_session: FakeACME,
                                 pytestconfig: pytest.Config, where: str,
                                 data: st.DataObject) -> None:
    world = current_world(fuzz_worlds, fake_acme_session)
    key, kid = new_key(), None
    variants = _jwk_variants(lambda: public_jwk(key))
    hostile_jwk = pick(variants, variants, variants, JSON)
    hostile_member = pick(DEEP.map(b64), DEEP.map(b64), B64_JSON, B64_BYTES, JSON, TEXTISH)
    if where == "jwk":
        url = world.urls["newAccount"]
        header = {"alg": natural_alg(key), "jwk": data.draw(hostile_jwk, label="jwk"),
                  "nonce": world.nonce(), "url": url}
        protected = b64(json.dumps(header).encode())
        encoded = b64(b'{"termsOfServiceAgreed": true}')
        signature = jose.JWASignature.from_json(natural_alg(key)).sign(
            key.key, f"{protected}.{encoded}".encode())
        envelope = {"protected": protected, "payload": encoded, "signature": b64(signature)}
    elif where in ("inner-jwk", "old-key", "inner-member"):
        url = world.urls["keyChange"]
        new = new_key()
        header = {"alg": natural_alg(new), "jwk": public_jwk(new), "url": url}
        payload: dict[str, Any] = {"account": world.keychanger.kid,
                                   "oldKey": public_jwk(world.main.key)}
        if where == "inner-jwk":
            new_variants = _jwk_variants(lambda: public_jwk(new))
            header["jwk"] = data.draw(pick(new_variants, new_variants, JSON), label="jwk")
        elif where == "old-key":
            old_variants = _jwk_variants(lambda: public_jwk(world.main.key))
            payload["oldKey"] = data.draw(pick(old_variants, old_variants, JSON), label="oldKey")
        inner_protected = b64(json.dumps(header).encode())
        inner_payload = b64(json.dumps(payload).encode())
        inner = {"protected": inner_protected, "payload": inner_payload,
                 "signature": b64(jose.JWASignature.from_json(natural_alg(new)).sign(
                     new.key, f"{inner_protected}.{inner_payload}".encode()))}
        if where == "inner-member":
            member = data.draw(st.sampled_from(["protected", "payload"]), label="member")
            inner[member] = data.draw(hostile_member, label=member)
        key, kid = world.keychanger.key, world.keychanger.kid
        envelope = _signed(world, url, json.dumps(inner).encode(), key=key, kid=kid)
    else:
        url = world.urls["newAccount"]
        eab_kid, eab_key = world.fake.eab.add()
        eab_header = b64(json.dumps({"alg": "HS256", "kid": eab_kid, "url": url}).encode())
        eab_payload = b64(json.dumps(data.draw(hostile_jwk, label="eab jwk") if (
            where == "eab-jwk") else public_jwk(key)).encode())
        binding = {"protected": eab_header, "payload": eab_payload}
        if where == "eab-member":
            member = data.draw(st.sampled_from(["protected", "payload"]), label="member")
            binding[member] = data.draw(hostile_member, label=member)
        mac_key = base64.urlsafe_b64decode(eab_key + "=" * (-len(eab_key) % 4))
        binding["signature"] = b64(hmac.new(
            mac_key, f"{binding['protected']}.{binding['payload']}".encode(),
            hashlib.sha256).digest())
        request = {"termsOfServiceAgreed": True, "externalAccountBinding": binding}
        envelope = _signed(world, url, json.dumps(request).encode(), key=key)
    answer = _post(world, url, json.dumps(envelope).encode())
    _check_all(answer, "POST", fake_acme_session, pytestconfig)


# 5. Methods, paths, content types and bodies at the HTTP level, on every route.


PATHS = ("/directory", "/acme/new-nonce", "/acme/new-acct", "/acme/new-order",
         "/acme/revoke-cert", "/acme/key-change", "/acme/acct/", "/acme/order/",
         "/acme/finalize/", "/acme/authz/", "/acme/chall/", "/acme/cert/",
         "/acme/renewal-info/", "/terms/", "/")


@fuzz_settings("http")
@given(
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
    path=st.sampled_from(PATHS),
    suffix=st.text(max_size=20),
    content_type=st.none() | st.sampled_from([JOSE_JSON, "application/json", "text/plain", ""])
    | st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=20),
    body=st.binary(max_size=300),
)
def test_fuzz_methods_and_paths(fuzz_worlds: list[World], fake_acme_session: FakeACME,
                                pytestconfig: pytest.Config, method: str, path: str,
                                suffix: str, content_type: str | None, body: bytes) -> None:
    world = current_world(fuzz_worlds, fake_acme_session)
    url = world.urls["base"] + path + quote(suffix, safe="-._~/")
    headers = {"Content-Type": content_type} if content_type is not None else {}
    answer = send(world, Built(method, url, body if method not in ("GET", "HEAD") else b"",
                               headers))
    _check_all(answer, method, fake_acme_session, pytestconfig)
