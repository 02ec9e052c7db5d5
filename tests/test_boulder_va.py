"""The validation rows (``h01-*``, ``d01-*``, ``alpn-*``, ``caa-*``) of the Boulder table: each
failure as the client reads it in the challenge's error, produced by a scripted outcome or by
the fake's DNS data, driven through certbot's ``acme`` library. The rows only a real responder
can produce are pinned in ``test_va_http01.py``, ``test_va_tlsalpn01.py`` and ``test_dns.py``."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from boulder_table import expect, reproduces
from client import DNS01, HTTP01, TLSALPN01, AcmeTestClient, Info, validate
from pytest_fakeacme import FakeACME, Outcome, outcomes
from responder import Responder

Args = Callable[[Info], tuple[Any, ...]]


def _alpn_from(i: Info) -> str:
    return f"127.0.0.1:{i.alpn_port}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


#: (row, challenge type, scripted outcome, the detail's arguments from the attempt's facts).
SCRIPTED: list[tuple[str, str, Callable[[], Outcome], Args]] = [
    ("h01-01", HTTP01, lambda: outcomes.http_status(404), lambda i: ("127.0.0.1", i.url, 404)),
    ("h01-01", HTTP01, lambda: outcomes.http_status(500), lambda i: ("127.0.0.1", i.url, 500)),
    ("h01-02", HTTP01, lambda: outcomes.wrong_body("nope"), lambda i: (i.key_authz, "nope")),
    ("h01-03", HTTP01, lambda: outcomes.body_too_large("x" * 300),
     lambda i: ("127.0.0.1", i.url, "x" * 128)),
    ("h01-05", HTTP01, outcomes.connection_refused, lambda i: ("127.0.0.1", i.url)),
    ("h01-06", HTTP01, outcomes.connect_timeout, lambda i: ("127.0.0.1", i.url)),
    ("h01-08", HTTP01, outcomes.read_timeout, lambda i: ("127.0.0.1", i.url)),
    ("h01-09", HTTP01, outcomes.connection_reset, lambda i: ("127.0.0.1", i.url)),
    ("h01-13", HTTP01, lambda: outcomes.tls_alert("handshake failure"),
     lambda i: ("127.0.0.1", i.https_url, "handshake failure")),
    ("h01-15", HTTP01, lambda: outcomes.bad_redirect("status"), lambda i: ("127.0.0.1", i.url)),
    ("h01-16", HTTP01, lambda: outcomes.too_many_redirects(url="http://a.example/12"),
     lambda i: ("127.0.0.1", "http://a.example/12")),
    ("h01-17", HTTP01, lambda: outcomes.redirect_loop(url="http://a.example/loop"),
     lambda i: ("127.0.0.1", "http://a.example/loop")),
    ("h01-18", HTTP01, lambda: outcomes.bad_redirect("scheme", to="gopher://a.example/x"),
     lambda i: ("127.0.0.1", "gopher://a.example/x", "gopher")),
    ("h01-19", HTTP01, lambda: outcomes.bad_redirect("port", to="http://a.example:8080/x"),
     lambda i: ("127.0.0.1", "http://a.example:8080/x", 80, 443, 8080)),
    ("h01-20", HTTP01, lambda: outcomes.bad_redirect("empty_host", to="http:///x"),
     lambda i: ("127.0.0.1", "http:///x")),
    ("h01-21", HTTP01, lambda: outcomes.bad_redirect(
        "well_known_host", to="http://a.example.well-known/acme-challenge/x"),
     lambda i: ("127.0.0.1", "http://a.example.well-known/acme-challenge/x",
                "a.example.well-known")),
    ("h01-22", HTTP01, lambda: outcomes.bad_redirect("scope_zone", to="http://[fe80::1%25eth0]/"),
     lambda i: ("127.0.0.1", "http://[fe80::1%25eth0]/")),
    ("h01-23", HTTP01, lambda: outcomes.bad_redirect("reserved_ip", to="http://10.10.10.10/x"),
     lambda i: ("127.0.0.1", "http://10.10.10.10/x", "[RFC1918]", "Private-Use")),
    ("h01-23", HTTP01, lambda: outcomes.bad_redirect("reserved_ip", to="http://192.88.99.2/x"),
     lambda i: ("127.0.0.1", "http://192.88.99.2/x", "[RFC6751]",
                "6a44-relay anycast address")),
    ("h01-24", HTTP01, lambda: outcomes.bad_redirect("tld", to="http://invalid.invalid/x"),
     lambda i: ("127.0.0.1", "http://invalid.invalid/x")),
    ("h01-25", HTTP01, lambda: outcomes.bad_redirect("too_long", to="http://a.example/"
                                                     + "p" * 2001),
     lambda i: ("127.0.0.1", "http://a.example/" + "p" * 2001)),
    ("h01-26a", HTTP01, outcomes.dns_nxdomain, lambda i: (i.name, i.name)),
    ("h01-26b", HTTP01, outcomes.dns_servfail, lambda i: (i.name, i.name)),
    ("h01-26c", HTTP01, outcomes.dns_timeout, lambda i: (i.name, i.name)),
    ("h01-27", HTTP01, outcomes.no_addresses, lambda i: (i.name, i.name)),
    ("h01-37", HTTP01, outcomes.secondary_fails,
     lambda i: (f"127.0.0.1: Invalid response from {i.url}: 404",)),
    ("d01-01", DNS01, outcomes.txt_missing, lambda i: (f"_acme-challenge.{i.name}",)),
    ("d01-02", DNS01, lambda: outcomes.txt_wrong("abc", "def"),
     lambda i: ("abc", " (and 1 more)", f"_acme-challenge.{i.name}")),
    ("d01-03", DNS01, outcomes.dns_nxdomain, lambda i: (f"_acme-challenge.{i.name}",)),
    ("d01-04", DNS01, outcomes.dns_servfail, lambda i: (f"_acme-challenge.{i.name}",)),
    ("d01-05", DNS01, outcomes.dns_timeout, lambda i: (f"_acme-challenge.{i.name}",)),
    ("alpn-01", TLSALPN01, outcomes.connection_refused, lambda i: ("127.0.0.1",)),
    ("alpn-02", TLSALPN01, outcomes.connect_timeout, lambda i: ("127.0.0.1",)),
    ("alpn-03", TLSALPN01, outcomes.read_timeout, lambda i: ("127.0.0.1",)),
    ("alpn-04", TLSALPN01, lambda: outcomes.tls_alert("no application protocol"),
     lambda i: ("127.0.0.1", "no application protocol")),
    ("alpn-05", TLSALPN01, lambda: outcomes.alpn_bad_cert("plain_http"),
     lambda i: ("127.0.0.1",)),
    ("alpn-06", TLSALPN01, lambda: outcomes.alpn_bad_cert("duplicate_extension"),
     lambda i: ("127.0.0.1",)),
    ("alpn-07", TLSALPN01, lambda: outcomes.alpn_bad_cert("no_alpn"), lambda i: ()),
    ("alpn-09", TLSALPN01, lambda: outcomes.alpn_bad_cert("not_self_signed"),
     lambda i: (i.name, _alpn_from(i))),
    ("alpn-10", TLSALPN01, lambda: outcomes.alpn_bad_cert("duplicate_extension"),
     lambda i: ("127.0.0.1",)),
    ("alpn-11a", TLSALPN01, lambda: outcomes.alpn_bad_cert("missing_extension"),
     lambda i: (i.name, _alpn_from(i))),
    ("alpn-11b", TLSALPN01, lambda: outcomes.alpn_bad_cert("missing_san"),
     lambda i: (i.name, _alpn_from(i))),
    ("alpn-12", TLSALPN01, lambda: outcomes.alpn_bad_cert("wrong_san"),
     lambda i: (i.name, _alpn_from(i), f"wrong.{i.name}",
                "identifier does not match expected identifier")),
    ("alpn-13", TLSALPN01, lambda: outcomes.alpn_bad_cert("not_critical"),
     lambda i: (i.name, _alpn_from(i))),
    ("alpn-14", TLSALPN01, lambda: outcomes.alpn_bad_cert("malformed_extension"),
     lambda i: (i.name, _alpn_from(i))),
    ("alpn-15", TLSALPN01, lambda: outcomes.alpn_bad_cert("wrong_digest", got="ab" * 32),
     lambda i: (i.name, _alpn_from(i), "ab" * 32, _digest(i.key_authz))),
    ("caa-01", HTTP01, outcomes.caa_forbids, lambda i: (i.name, i.name)),
    ("caa-13", HTTP01, lambda: outcomes.secondary_fails(outcomes.caa_forbids()),
     lambda i: (i.name, i.name)),
]


@pytest.mark.parametrize(("row", "typ", "outcome", "args"), SCRIPTED,
                         ids=[f"{r}-{i}" for i, (r, *_) in enumerate(SCRIPTED)])
def test_scripted_failures(fake_acme: FakeACME, acme_client: AcmeTestClient, row: str,
                           typ: str, outcome: Callable[[], Outcome], args: Args) -> None:
    seen = validate(fake_acme, acme_client, "a.example", typ, outcome=lambda i: outcome())

    assert seen.error is not None
    expect(row, seen.error, *args(seen.info))
    assert seen.challenge["status"] == "invalid"


#: (row, challenge type, what fails in the fake's DNS data, arguments from the name).
Failing = Callable[[str], tuple[str, str]]
DNS_DATA: list[tuple[str, str, Failing, Callable[[str], tuple[Any, ...]]]] = [
    ("h01-26a", HTTP01, lambda n: (n, "nxdomain"), lambda n: (n, n)),
    ("h01-26b", HTTP01, lambda n: (n, "servfail"), lambda n: (n, n)),
    ("h01-26c", HTTP01, lambda n: (n, "timeout"), lambda n: (n, n)),
    ("h01-28", HTTP01, lambda n: (n, "refused"), lambda n: (n, n)),
    ("d01-06", DNS01, lambda n: (f"_acme-challenge.{n}", "refused"),
     lambda n: (f"_acme-challenge.{n}",)),
    ("caa-06", HTTP01, lambda n: ("example", "servfail"), lambda n: (n, "example")),
    ("caa-07", HTTP01, lambda n: ("example", "timeout"), lambda n: (n, "example")),
    ("caa-08", HTTP01, lambda n: ("example", "refused"), lambda n: (n, "example")),
]


def _publish(fake: FakeACME) -> Callable[[Info], None]:
    """A setup that publishes the dns-01 TXT record a real check will find."""
    def publish(i: Info) -> None:
        digest = hashlib.sha256(i.key_authz.encode()).digest()
        fake.dns.add_txt(f"_acme-challenge.{i.name}",
                         base64.urlsafe_b64encode(digest).rstrip(b"=").decode())

    return publish


@pytest.mark.parametrize(("row", "typ", "failing", "args"), DNS_DATA,
                         ids=[f"{r}-{f('a.example')[1]}" for r, _, f, _ in DNS_DATA])
def test_dns_data_failures(fake_acme: FakeACME, acme_client: AcmeTestClient,
                           responder: Responder, row: str, typ: str,
                           failing: Callable[[str], tuple[str, str]],
                           args: Callable[[str], tuple[Any, ...]]) -> None:
    name = "a.example"

    def setup(i: Info) -> None:
        # Where CAA is the point, the real check passes first (CAA comes after it).
        responder.serve(i.token, i.key_authz)
        fake.dns.fail(*failing(name))

    fake = fake_acme
    seen = validate(fake_acme, acme_client, name, typ, setup=setup)

    assert seen.error is not None
    expect(row, seen.error, *args(name))


@reproduces("d01-08", "d01-12")
def test_dns01_for_a_wildcard_and_its_record(fake_acme: FakeACME,
                                             acme_client: AcmeTestClient) -> None:
    missing = validate(fake_acme, acme_client, "*.w.example", DNS01,
                       outcome=lambda i: outcomes.txt_missing())
    assert missing.error is not None
    expect("d01-01", missing.error, "_acme-challenge.w.example")
    assert missing.records == []

    passed = validate(fake_acme, acme_client, "*.v.example", DNS01, setup=_publish(fake_acme))
    assert passed.challenge["status"] == "valid"
    assert passed.records == [{"hostname": "v.example", "addressUsed": ""}]


@pytest.mark.fake_acme(dns_account_01=True)
def test_dns_account_01_failure(fake_acme: FakeACME, acme_client: AcmeTestClient) -> None:
    seen = validate(fake_acme, acme_client, "a.example", "dns-account-01",
                    outcome=lambda i: outcomes.txt_missing())
    assert acme_client.regr is not None
    account = acme_client.regr.uri
    label = base64.b32encode(hashlib.sha256(account.encode()).digest()[:10]).decode().lower()

    assert seen.error is not None
    expect("d01-10", seen.error, f"No TXT record found at _{label}._acme-challenge.a.example",
           account)


@reproduces("caa-10", "caa-11")
def test_when_caa_is_checked(fake_acme: FakeACME, acme_client: AcmeTestClient) -> None:
    fake_acme.dns.add_caa("a.example", 0, "issue", "other-ca.example")
    # A failing challenge: the challenge's own problem, CAA unread.
    failed = validate(fake_acme, acme_client, "a.example", HTTP01,
                      outcome=lambda i: outcomes.http_status(404))
    assert failed.error is not None
    assert failed.error["type"].endswith(":unauthorized")
    # A passing one for a wildcard: issuewild, where present, is what counts.
    fake_acme.dns.add_caa("w.example", 0, "issue", "fake-acme.test")
    fake_acme.dns.add_caa("w.example", 0, "issuewild", "other-ca.example")
    wild = validate(fake_acme, acme_client, "*.w.example", DNS01, setup=_publish(fake_acme))
    assert wild.error is not None
    expect("caa-01", wild.error, "*.w.example", "w.example")
