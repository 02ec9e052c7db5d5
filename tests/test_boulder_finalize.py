"""The finalize, CSR and certificate rows (``fin-*``, ``csr-*``) of the Boulder table, over the
fake's HTTPS server with raw JWS and CSRs built with ``cryptography``."""

from __future__ import annotations

import datetime as _dt
import ipaddress
from collections.abc import Sequence
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.x509.oid import NameOID

import rawkeys
from boulder_table import ACME_ERROR, expect, reproduces
from jwsclient import RawClient, b64, issued, make_csr, new_key, ready_order, validate_all
from pytest_fakeacme import FakeACME


def csr(names: Sequence[str] = ("a.example",), key: Any = None, *, common_name: str | None = None,
        extra: Sequence[x509.GeneralName] = (), email_attribute: bool = False,
        rsa_padding: padding.PSS | None = None,
        extensions: Sequence[x509.ExtensionType] = ()) -> bytes:
    """A DER CSR: ``names`` in the SAN (and the first as CN unless ``common_name`` says
    otherwise) and ``extensions``, signed by ``key`` (default a fresh P-256 key)."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    attributes = []
    cn = names[0] if common_name is None and names else common_name
    if cn:
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    if email_attribute:
        attributes.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, "a@a.example"))
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attributes))
    sans: list[x509.GeneralName] = []
    for name in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            sans.append(x509.DNSName(name))
    sans += extra
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    for extension in extensions:
        builder = builder.add_extension(extension, critical=False)
    algorithm = None if isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)) \
        else hashes.SHA256()
    return builder.sign(key, algorithm, rsa_padding=rsa_padding).public_bytes(
        serialization.Encoding.DER)


def finalize(raw: RawClient, order: dict[str, Any], der: bytes) -> requests.Response:
    return raw.finalize(order, der)


@pytest.fixture
def ready(raw: RawClient, fake_acme: FakeACME) -> dict[str, Any]:
    """A ready order for a.example."""
    fake_acme.configure(async_finalize=False)
    return ready_order(raw, fake_acme, "a.example")[1]


def test_finalize_payload_and_parse(raw: RawClient, ready: dict[str, Any]) -> None:
    expect("fin-08", raw.post(ready["finalize"], {"csr": 5}))
    expect("fin-08", raw.post(ready["finalize"], {"csr": "@@@"}))
    expect("fin-09a", raw.post(ready["finalize"], {}))
    expect("fin-09b", finalize(raw, ready, csr() + b"\x00"))


def test_unknown_and_unready_orders(raw: RawClient, fake_acme: FakeACME) -> None:
    finalize_url = raw.url("newOrder").replace("new-order", "finalize/nothing")
    expect("fin-03", raw.post(finalize_url, {"csr": b64(csr())}), "nothing")
    pending = raw.new_order("b.example").json()
    expect("fin-05", finalize(raw, pending, csr(["b.example"])), "pending")
    reader = raw.url("newOrder").replace("new-order", "order/nothing")
    expect("fin-21", raw.post_as_get(reader), "nothing")


def test_another_accounts_order(raw: RawClient, fake_acme: FakeACME) -> None:
    url, order = ready_order(raw, fake_acme, "a.example")
    other = RawClient(fake_acme)
    other.register()
    assert raw.kid is not None
    assert other.kid is not None
    owner, signer = raw.kid.rsplit("/", 1)[1], other.kid.rsplit("/", 1)[1]

    expect("fin-04", finalize(other, order, csr()), signer)
    expect("fin-22", other.post_as_get(url), owner)


@pytest.mark.parametrize(("row", "key", "args"), [
    ("csr-01", lambda: ed25519.Ed25519PrivateKey.generate(), ("ed25519.PublicKey",)),
    ("csr-02", lambda: ed448.Ed448PrivateKey.generate(), ()),
    ("csr-03", lambda: rsa.generate_private_key(65537, 2560), (2560,)),
    ("csr-04", lambda: rsa.generate_private_key(3, 2048), ()),
    ("csr-05a", lambda: rawkeys.small_factor_key().private_key(), ()),
    ("csr-05b", lambda: rawkeys.roca_key().private_key(), ()),
    ("csr-06", lambda: ec.generate_private_key(ec.SECP521R1()), ("P-521",)),
    ("csr-06", lambda: ec.generate_private_key(ec.SECP224R1()), ("P-224",)),
])
def test_csr_keys(raw: RawClient, ready: dict[str, Any], row: str, key: Any,
                  args: tuple[Any, ...]) -> None:
    expect(row, finalize(raw, ready, csr(key=key())), *args)
    assert raw.post_as_get(ready["finalize"].replace("finalize", "order")).json()[
        "status"] == "ready"


def test_csr_with_neighbouring_primes(raw: RawClient, ready: dict[str, Any]) -> None:
    key, p, q = rawkeys.close_factors_key()

    expect("csr-05c", finalize(raw, ready, csr(key=key.private_key())), 1, p, q)


def test_csr_signatures(raw: RawClient, ready: dict[str, Any]) -> None:
    key = rsa.generate_private_key(65537, 2048)
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    expect("csr-08", finalize(raw, ready, csr(key=key, rsa_padding=pss)))
    good = bytearray(csr())
    good[-2] ^= 0x01  # inside the ECDSA signature
    expect("csr-09", finalize(raw, ready, bytes(good)))


def test_csr_contents(raw: RawClient, ready: dict[str, Any]) -> None:
    expect("csr-10", finalize(raw, ready, csr(extra=[x509.RFC822Name("a@a.example")])))
    expect("csr-12", finalize(raw, ready, csr(extra=[
        x509.UniformResourceIdentifier("https://a.example/")])))
    expect("csr-13", finalize(raw, ready, csr(["a.example"], common_name="127.0.0.1")))
    expect("csr-14", finalize(raw, ready, csr([], common_name="")))
    expect("csr-15", finalize(raw, ready, csr(["a.example", "under_score.example"])),
           "under_score.example", "Domain name contains an invalid character")
    expect("csr-17", finalize(raw, ready, csr(["b.example"])))
    expect("csr-17", finalize(raw, ready, csr(["a.example"], common_name="c.example")))
    expect("csr-18", finalize(raw, ready, make_csr(["a.example"], raw.key)))


_MUST_STAPLE = x509.TLSFeature([x509.TLSFeatureType.status_request])


def test_a_csr_asking_for_must_staple_is_refused(raw: RawClient, ready: dict[str, Any]) -> None:
    # ra/ra.go:1059-1063: refused in the RA before the CSR's own checks, so even a CSR that
    # would fail them (here, an e-mail address in the SAN: csr-10) gets this answer.
    expect("fin-11", finalize(raw, ready, csr(extensions=[_MUST_STAPLE])))
    expect("fin-11", finalize(raw, ready, csr(extra=[x509.RFC822Name("a@a.example")],
                                              extensions=[_MUST_STAPLE])))
    # The refusal leaves the order ready: the same order then issues for a CSR without it.
    answer = finalize(raw, ready, csr())
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "valid"


@pytest.mark.parametrize("features", [[], [x509.TLSFeatureType.status_request_v2]],
                         ids=["no-tls-feature", "status_request_v2-only"])
def test_a_csr_without_must_staple_issues(raw: RawClient, ready: dict[str, Any],
                                          features: list[x509.TLSFeatureType]) -> None:
    # Boulder refuses only the exact status_request value (ra/ra.go:1006-1009).
    extensions = [x509.TLSFeature(features)] if features else []
    answer = finalize(raw, ready, csr(extensions=extensions))

    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "valid"


@reproduces("csr-11")
def test_an_email_attribute_in_the_subject_is_accepted(raw: RawClient,
                                                       ready: dict[str, Any]) -> None:
    answer = finalize(raw, ready, csr(email_attribute=True))

    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "valid"


def test_more_names_than_the_profile_allows(raw: RawClient, fake_acme: FakeACME) -> None:
    names = [f"n{i}.example" for i in range(25)]
    created = raw.new_order(*names, profile="shortlived")
    order = created.json()
    validate_all(raw, order, fake_acme)

    expect("csr-16", finalize(raw, order, csr([*names, "extra.example"])), 25)


def test_a_blocked_key(raw: RawClient, fake_acme: FakeACME) -> None:
    fake_acme.configure(async_finalize=False)
    key = new_key("ES256")
    _, first = issued(raw, fake_acme, "a.example", csr_key=key)
    der = x509.load_pem_x509_certificate(raw.post_as_get(first["certificate"]).content)
    holder = RawClient(fake_acme, key=key)
    revoked = holder.post(holder.url("revokeCert"), {"certificate": b64(der.public_bytes(
        serialization.Encoding.DER))}, jwk=True)
    assert revoked.status_code == 200
    _, order = ready_order(raw, fake_acme, "b.example")

    expect("csr-07", finalize(raw, order, make_csr(["b.example"], key)))


@reproduces("fin-20")
def test_the_finalize_answer_and_finalizing_again(raw: RawClient, fake_acme: FakeACME) -> None:
    fake_acme.configure(finalize_processing_polls=1)  # one more read shows processing
    url, order = ready_order(raw, fake_acme, "a.example")

    answer = finalize(raw, order, csr())

    assert answer.status_code == 200
    assert answer.json()["status"] == "processing"
    assert answer.headers["Retry-After"] == "3"
    assert answer.headers["Location"] == url
    expect("fin-16", finalize(raw, order, csr()), "processing")
    assert raw.post_as_get(url).json()["status"] == "processing"
    assert raw.post_as_get(url).json()["status"] == "valid"
    expect("fin-16", finalize(raw, order, csr()), "valid")


def test_caa_checked_again_at_finalize(raw: RawClient, fake_acme: FakeACME) -> None:
    fake_acme.configure(async_finalize=False)
    ready_order(raw, fake_acme, "a.example")
    ready_order(raw, fake_acme, "b.example")
    fake_acme.clock.advance(hours=8)  # the authorizations' CAA check is now stale
    raw.forget_nonce()
    for name in ("a.example", "b.example"):
        fake_acme.dns.add_caa(name, 0, "issue", "other-ca.example")
    _, one = ready_order(raw, fake_acme, "a.example")
    detail = ("While processing CAA for a.example: CAA record for a.example prevents "
              "issuance")

    expect("fin-12", finalize(raw, one, csr(["a.example"])), detail)
    assert raw.post_as_get(one["finalize"].replace("finalize", "order")).json()[
        "status"] == "ready"
    _, both = ready_order(raw, fake_acme, "a.example", "b.example")
    body = expect("fin-13", finalize(raw, both, csr(["a.example", "b.example"])), "a.example",
                  1)
    assert body["subproblems"] == [
        {"type": ACME_ERROR + "caa",
         "detail": f"Error finalizing order :: rechecking caa: While processing CAA for {n}: "
                   f"CAA record for {n} prevents issuance",
         "status": 403, "identifier": {"type": "dns", "value": n}}
        for n in ("a.example", "b.example")
    ]


def test_certificates(raw: RawClient, fake_acme: FakeACME) -> None:
    fake_acme.configure(async_finalize=False)
    _, order = issued(raw, fake_acme, "a.example")
    url = order["certificate"]
    other = RawClient(fake_acme)
    other.register()
    expect("fin-24", raw.post_as_get(url.rsplit("/", 1)[0] + "/nothing"))
    expect("fin-25", other.post_as_get(url))
    expect("fin-26", raw.post_as_get(url + "/abc"))
    expect("fin-26", raw.post_as_get(url + "/-1"))
    expect("fin-27", raw.post_as_get(url + "/9"))
    assert raw.post_as_get(url + "/0").content == raw.post_as_get(url).content


@reproduces("misc-01", "misc-02")
def test_not_before_is_backdated_58m30s(raw: RawClient, fake_acme: FakeACME) -> None:
    fake_acme.clock.freeze(_dt.datetime(2027, 3, 1, 12, 0, 0, 750_000, tzinfo=_dt.timezone.utc))
    raw.forget_nonce()
    fake_acme.configure(async_finalize=False)
    _, order = issued(raw, fake_acme, "a.example")

    leaf = x509.load_pem_x509_certificate(raw.post_as_get(order["certificate"]).content)

    assert leaf.not_valid_before_utc == _dt.datetime(2027, 3, 1, 11, 1, 30,
                                                     tzinfo=_dt.timezone.utc)
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc == _dt.timedelta(
        days=90, seconds=-1)
