"""Every scripted VA outcome, seen through certbot's ``acme`` library as Let's Encrypt shows it.

Each case drives one validation (http-01, dns-01 or tls-alpn-01) with a scripted outcome and
checks what the client gets back: the challenge error's type URN, HTTP status and full detail,
the validationRecord, the authorization and order states. The expected details are written
here from the texts in Boulder's source (va/http.go, va/tlsalpn.go, va/dns.go, va/caa.go,
bdns/problem.go, and ra/ra.go for the unreachable VA), not derived from the fake's code.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from acme import errors, messages

from client import (
    DNS01,
    HTTP01,
    TLSALPN01,
    URN,
    AcmeTestClient,
    Info,
    Validation,
    answer,
    http_record,
    make_ip_csr,
    pick_challenge,
    validate,
)
from pytest_fakeacme import FakeACME, FakeACMEUsageError, Outcome, ScriptError, outcomes

HTTP, DNS, ALPN = HTTP01, DNS01, TLSALPN01
PERSIST = "dns-persist-01"
KEY_MISMATCH = "The key authorization file from the server did not match this challenge. "


def assert_failed(
    seen: Validation, client: AcmeTestClient, kind: str, status: int, detail: str
) -> None:
    """The client sees the attempt failed exactly so, and the state Boulder leaves."""
    # Through the library's own polling: it raises ValidationError with the problem.
    with pytest.raises(errors.ValidationError) as failure:
        client.poll_authorizations(seen.order)
    (failed,) = failure.value.failed_authzrs
    (challb,) = failed.body.challenges
    assert challb.error is not None
    assert (challb.error.typ, challb.error.detail) == (URN + kind, detail)
    # On the wire: the problem with its status on the only challenge left (validate() checks
    # it is the attempted one); the order invalid, with no error of its own.
    seen.failed(kind, status, detail)


def assert_valid(seen: Validation, client: AcmeTestClient) -> None:
    """The library's polling finds the authorization valid; on the wire the only challenge left
    (validate() checks it is the attempted one) is valid, the order ready."""
    polled = client.poll_authorizations(seen.order)
    assert [a.body.status for a in polled.authorizations] == [messages.STATUS_VALID]
    seen.passed()


# Expected validation records, in the JSON of Boulder's core.ValidationRecord
# (core/objects.go): an http-01 record per URL fetched, a tls-alpn-01 one for the address
# dialled (without addresses when the name did not resolve), a dns-01 one with an empty
# addressUsed.


def one_fetch(i: Info) -> list[dict[str, Any]]:
    return [http_record(i.url, i.name, i.http_port)]


def alpn_record(i: Info) -> list[dict[str, Any]]:
    return [{"hostname": i.name, "port": str(i.alpn_port),
             "addressesResolved": ["127.0.0.1"], "addressUsed": "127.0.0.1"}]


def alpn_unresolved(i: Info) -> list[dict[str, Any]]:
    return [{"hostname": i.name, "port": str(i.alpn_port)}]


def dns_record(i: Info) -> list[dict[str, Any]]:
    return [{"hostname": i.name, "addressUsed": ""}]


def no_records(i: Info) -> None:
    return None


def via_https(i: Info) -> list[dict[str, Any]]:
    return [http_record(i.url, i.name, i.http_port), http_record(i.https_url, i.name, 443)]


def digest_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def bad_cert(i: Info, reason: str) -> str:
    return (f"Incorrect validation certificate for tls-alpn-01 challenge. Requested {i.name} "
            f"from 127.0.0.1:{i.alpn_port}. {reason}")


def nx(i: Info, rr: str, name: str) -> str:
    return (f"DNS problem: NXDOMAIN looking up {rr} for {name} - check that a DNS record exists "
            "for this domain")


def servfail(i: Info, rr: str, name: str) -> str:
    return (f"DNS problem: SERVFAIL looking up {rr} for {name} - the domain's nameservers may be "
            "malfunctioning")


@dataclass(frozen=True)
class Case:
    id: str
    typ: str
    outcome: Callable[[Info], Outcome]
    kind: str
    status: int
    detail: Callable[[Info], str]
    records: Callable[[Info], list[dict[str, Any]] | None]
    name: str = "a.example"

    def param(self) -> Any:
        return pytest.param(self, id=self.id)


def _fetching(reason: str) -> Callable[[Info], str]:
    return lambda i: f"127.0.0.1: Fetching {i.url}: {reason}"


def _redirect(to: str, reason: str) -> Callable[[Info], str]:
    return lambda i: f"127.0.0.1: Fetching {to}: {reason}"


TIMEOUT_CONNECT = "Timeout during connect (likely firewall problem)"
TIMEOUT_AFTER = "Timeout after connect (your server may be slow or overloaded)"
LONG_TXT = "x" * 150

def _status_case(code: int) -> Case:
    return Case(f"http_status-{code}", HTTP, lambda i: outcomes.http_status(code),
                "unauthorized", 403,
                lambda i: f"127.0.0.1: Invalid response from {i.url}: {code}", one_fetch)


FAILURES = [
    # http-01 answers.
    *(_status_case(code) for code in (404, 500, 502)),
    Case("http_status-url-after-redirect", HTTP,
         lambda i: outcomes.http_status(503, url="http://b.example/moved"), "unauthorized", 403,
         lambda i: "127.0.0.1: Invalid response from http://b.example/moved: 503", one_fetch),
    Case("wrong_body", HTTP, lambda i: outcomes.wrong_body("nope\r\n\t "), "unauthorized", 403,
         lambda i: KEY_MISMATCH + f'Expected "{i.key_authz}" (got "nope")', one_fetch),
    Case("wrong_body-leading-space-and-escapes", HTTP,
         lambda i: outcomes.wrong_body(b' "x"\x00\xff\n'), "unauthorized", 403,
         lambda i: KEY_MISMATCH + f'Expected "{i.key_authz}" (got " \\"x\\"\\x00\\xff")',
         one_fetch),
    Case("body_too_large", HTTP, lambda i: outcomes.body_too_large(b"<html>\n" + b"x" * 200),
         "unauthorized", 403,
         lambda i: f'127.0.0.1: Invalid response from {i.url}: "<html>\\n{"x" * 121}"',
         one_fetch),
    # Connections.
    Case("connect_timeout-http", HTTP, lambda i: outcomes.connect_timeout(), "connection", 400,
         _fetching(TIMEOUT_CONNECT), one_fetch),
    Case("connect_timeout-alpn", ALPN, lambda i: outcomes.connect_timeout(), "connection", 400,
         lambda i: f"127.0.0.1: {TIMEOUT_CONNECT}", alpn_record),
    Case("read_timeout-http", HTTP, lambda i: outcomes.read_timeout(), "connection", 400,
         _fetching(TIMEOUT_AFTER), one_fetch),
    Case("read_timeout-alpn", ALPN, lambda i: outcomes.read_timeout(), "connection", 400,
         lambda i: f"127.0.0.1: {TIMEOUT_AFTER}", alpn_record),
    Case("connection_refused-http", HTTP, lambda i: outcomes.connection_refused(), "connection",
         400, _fetching("Connection refused"), one_fetch),
    Case("connection_refused-alpn", ALPN, lambda i: outcomes.connection_refused(), "connection",
         400, lambda i: "127.0.0.1: Connection refused", alpn_record),
    Case("connection_reset-http", HTTP, lambda i: outcomes.connection_reset(), "connection", 400,
         _fetching("Connection reset by peer"), one_fetch),
    Case("connection_reset-alpn", ALPN, lambda i: outcomes.connection_reset(), "connection",
         400, lambda i: "127.0.0.1: Connection reset by peer", alpn_record),
    # Redirects.
    Case("redirect_loop-url", HTTP,
         lambda i: outcomes.redirect_loop(url=f"http://{i.name}/loop"), "connection", 400,
         lambda i: f"127.0.0.1: Fetching http://{i.name}/loop: Redirect loop detected",
         lambda i: [http_record(i.url, i.name, i.http_port),
                    http_record(f"http://{i.name}/loop", i.name, 80)]),
    Case("too_many_redirects-url", HTTP,
         lambda i: outcomes.too_many_redirects(url=f"http://{i.name}/max-redirect/12"),
         "connection", 400,
         lambda i: f"127.0.0.1: Fetching http://{i.name}/max-redirect/12: Too many redirects",
         lambda i: None),  # 12 records: checked in test_too_many_redirects_leaves_12_records
    Case("bad_redirect-status", HTTP,
         lambda i: outcomes.bad_redirect("status", to="http://b.example/303-see-other"),
         "connection", 400,
         _redirect("http://b.example/303-see-other", "received disallowed redirect status code"),
         one_fetch),
    Case("bad_redirect-scheme", HTTP,
         lambda i: outcomes.bad_redirect("scheme", to="gopher://b.example"), "connection", 400,
         _redirect("gopher://b.example", 'Invalid protocol scheme in redirect target. Only "http" '
                   'and "https" protocol schemes are supported, not "gopher"'), one_fetch),
    Case("bad_redirect-port", HTTP,
         lambda i: outcomes.bad_redirect("port", to="https://b.example:1987"), "connection", 400,
         _redirect("https://b.example:1987", "Invalid port in redirect target. Only ports 80 and "
                   "443 are supported, not 1987"), one_fetch),
    Case("bad_redirect-empty_host", HTTP,
         lambda i: outcomes.bad_redirect("empty_host", to="http:///x"), "connection", 400,
         _redirect("http:///x", "Invalid empty host in redirect target"), one_fetch),
    Case("bad_redirect-well_known_host", HTTP,
         lambda i: outcomes.bad_redirect("well_known_host",
                                         to="https://b.example.well-known/acme-challenge/x"),
         "connection", 400,
         _redirect("https://b.example.well-known/acme-challenge/x",
                   'Invalid host in redirect target "b.example.well-known". Check webserver '
                   "config for missing '/' in redirect target."), one_fetch),
    Case("bad_redirect-tld", HTTP,
         lambda i: outcomes.bad_redirect("tld", to="http://invalid.invalid/path"), "connection",
         400, _redirect("http://invalid.invalid/path", "Invalid host in redirect target, must end "
                        "in IANA registered TLD"), one_fetch),
    Case("bad_redirect-reserved_ip", HTTP,
         lambda i: outcomes.bad_redirect("reserved_ip", to="http://10.10.10.10/x"),
         "connection", 400,
         _redirect("http://10.10.10.10/x", "Invalid host in redirect target: IP address is in a "
                   "reserved address block: [RFC1918]: Private-Use"), one_fetch),
    Case("bad_redirect-scope_zone", HTTP,
         lambda i: outcomes.bad_redirect("scope_zone", to="http://[fe80::1%25eth0]/x"),
         "connection", 400,
         _redirect("http://[fe80::1%25eth0]/x",
                   "Invalid host in redirect target: contains scope zone"), one_fetch),
    Case("bad_redirect-too_long", HTTP,
         lambda i: outcomes.bad_redirect("too_long", to="http://b.example/" + "p" * 2001),
         "connection", 400,
         _redirect("http://b.example/" + "p" * 2001, "Redirect target too long"), one_fetch),
    # TLS.
    Case("tls_alert-http", HTTP, lambda i: outcomes.tls_alert(), "tls", 400,
         lambda i: f"127.0.0.1: Fetching {i.https_url}: remote error: tls: handshake failure",
         via_https),
    Case("tls_alert-http-internal-error", HTTP, lambda i: outcomes.tls_alert("internal error"),
         "tls", 400,
         lambda i: f"127.0.0.1: Fetching {i.https_url}: remote error: tls: internal error",
         via_https),
    Case("tls_alert-alpn", ALPN, lambda i: outcomes.tls_alert(), "tls", 400,
         lambda i: "127.0.0.1: remote error: tls: no application protocol", alpn_record),
    # DNS: A and AAAA looked up together for http-01 and tls-alpn-01, TXT for dns-01.
    *(
        Case(f"dns_nxdomain-{typ}", typ, lambda i: outcomes.dns_nxdomain(), "dns", 400,
             lambda i: f"{nx(i, 'A', i.name)}; {nx(i, 'AAAA', i.name)}", records)
        for typ, records in ((HTTP, no_records), (ALPN, alpn_unresolved))
    ),
    Case("dns_nxdomain-dns-01", DNS, lambda i: outcomes.dns_nxdomain(), "dns", 400,
         lambda i: nx(i, "TXT", f"_acme-challenge.{i.name}"), no_records),
    *(
        Case(f"dns_servfail-{typ}", typ, lambda i: outcomes.dns_servfail(), "dns", 400,
             lambda i: f"{servfail(i, 'A', i.name)}; {servfail(i, 'AAAA', i.name)}", records)
        for typ, records in ((HTTP, no_records), (ALPN, alpn_unresolved))
    ),
    Case("dns_servfail-dns-01", DNS, lambda i: outcomes.dns_servfail(), "dns", 400,
         lambda i: servfail(i, "TXT", f"_acme-challenge.{i.name}"), no_records),
    Case("dns_timeout-http-01", HTTP, lambda i: outcomes.dns_timeout(), "dns", 400,
         lambda i: f"DNS problem: query timed out looking up A for {i.name}; "
                   f"DNS problem: query timed out looking up AAAA for {i.name}", no_records),
    Case("dns_timeout-dns-01", DNS, lambda i: outcomes.dns_timeout(), "dns", 400,
         lambda i: f"DNS problem: query timed out looking up TXT for _acme-challenge.{i.name}",
         no_records),
    *(
        Case(f"no_addresses-{typ}", typ, lambda i: outcomes.no_addresses(), "dns", 400,
             lambda i: f"no valid A records found for {i.name}; "
                       f"no valid AAAA records found for {i.name}", records)
        for typ, records in ((HTTP, no_records), (ALPN, alpn_unresolved))
    ),
    # dns-01 TXT.
    Case("txt_missing", DNS, lambda i: outcomes.txt_missing(), "unauthorized", 403,
         lambda i: f"No TXT record found at _acme-challenge.{i.name}", no_records),
    Case("txt_wrong-one", DNS, lambda i: outcomes.txt_wrong("a"), "unauthorized", 403,
         lambda i: f'Incorrect TXT record "a" found at _acme-challenge.{i.name}', no_records),
    Case("txt_wrong-several", DNS, lambda i: outcomes.txt_wrong("a", "b", "c", "d", "e"),
         "unauthorized", 403,
         lambda i: f'Incorrect TXT record "a" (and 4 more) found at _acme-challenge.{i.name}',
         no_records),
    Case("txt_wrong-long", DNS, lambda i: outcomes.txt_wrong(LONG_TXT, "b"), "unauthorized",
         403,
         lambda i: f'Incorrect TXT record "{"x" * 100}..." (and 1 more) found at '
                   f"_acme-challenge.{i.name}", no_records),
    # dns-persist-01 records (va/dns_persist.go).
    Case("persist_txt-other-ca", PERSIST,
         lambda i: outcomes.persist_txt("other-ca.example; accounturi=https://x/acme/acct/1"),
         "unauthorized", 403, lambda i: "No valid TXT record found for DNS-PERSIST-01 challenge",
         no_records),
    Case("persist_txt-malformed", PERSIST,
         lambda i: outcomes.persist_txt("fake-acme.test; policy=wildcard"), "malformed", 400,
         lambda i: 'Parsing DNS-PERSIST-01 challenge TXT record with issuer-domain-name '
                   '"fake-acme.test": missing mandatory accounturi parameter', no_records),
    # tls-alpn-01 certificates.
    Case("alpn_bad_cert-not_self_signed", ALPN, lambda i: outcomes.alpn_bad_cert(
        "not_self_signed"), "unauthorized", 403,
        lambda i: bad_cert(i, "Received certificate which is not self-signed."), alpn_record),
    Case("alpn_bad_cert-missing_extension", ALPN, lambda i: outcomes.alpn_bad_cert(
        "missing_extension"), "unauthorized", 403,
        lambda i: bad_cert(i, 'Received certificate with unexpected extensions: "Required '
                              'extension OID 1.3.6.1.5.5.7.1.31 is not present"'), alpn_record),
    # Go's TLS client (1.19 on) will not parse a certificate with an extension twice, so
    # Boulder's "seen twice" check is never reached (va/tlsalpn_test.go:768-807).
    Case("alpn_bad_cert-duplicate_extension", ALPN, lambda i: outcomes.alpn_bad_cert(
        "duplicate_extension"), "connection", 400,
        lambda i: "127.0.0.1: Error getting validation data", alpn_record),
    Case("alpn_bad_cert-missing_san", ALPN, lambda i: outcomes.alpn_bad_cert(
        "missing_san"), "unauthorized", 403,
        lambda i: bad_cert(i, 'Received certificate with unexpected extensions: "Required '
                              'extension OID 2.5.29.17 is not present"'), alpn_record),
    Case("alpn_bad_cert-wrong_san", ALPN, lambda i: outcomes.alpn_bad_cert(
        "wrong_san", names="acme-tls, other.example"), "unauthorized", 403,
        lambda i: bad_cert(i, 'Received certificate with unexpected identifiers ("acme-tls, '
                              'other.example"): "identifier does not match expected '
                              'identifier"'), alpn_record),
    Case("alpn_bad_cert-not_critical", ALPN, lambda i: outcomes.alpn_bad_cert("not_critical"),
         "unauthorized", 403,
         lambda i: bad_cert(i, "Received certificate with acmeValidationV1 extension that is "
                               "not Critical."), alpn_record),
    Case("alpn_bad_cert-malformed_extension", ALPN, lambda i: outcomes.alpn_bad_cert(
        "malformed_extension"), "unauthorized", 403,
        lambda i: bad_cert(i, "Received certificate with malformed acmeValidationV1 extension "
                              "value."), alpn_record),
    Case("alpn_bad_cert-wrong_digest", ALPN, lambda i: outcomes.alpn_bad_cert(
        "wrong_digest", got=digest_hex("something else")), "unauthorized", 403,
        lambda i: bad_cert(i, "Received certificate with acmeValidationV1 extension value "
                              f"{digest_hex('something else')} but expected "
                              f"{digest_hex(i.key_authz)}."), alpn_record),
    Case("alpn_bad_cert-no_alpn", ALPN, lambda i: outcomes.alpn_bad_cert("no_alpn"),
         "unauthorized", 403,
         lambda i: 'Cannot negotiate ALPN protocol "acme-tls/1" for tls-alpn-01 challenge',
         alpn_record),
    Case("alpn_bad_cert-plain_http", ALPN, lambda i: outcomes.alpn_bad_cert("plain_http"),
         "malformed", 400, lambda i: "127.0.0.1: Server only speaks HTTP, not TLS", alpn_record),
    # CAA, after a passing check: the check's record stays.
    Case("caa_forbids-http", HTTP, lambda i: outcomes.caa_forbids(), "caa", 403,
         lambda i: f"While processing CAA for {i.name}: CAA record for {i.name} prevents "
                   "issuance", one_fetch),
    Case("caa_forbids-found-at-parent", DNS,
         lambda i: outcomes.caa_forbids(found_at="a.example"), "caa", 403,
         lambda i: "While processing CAA for www.a.example: CAA record for a.example prevents "
                   "issuance", dns_record, name="www.a.example"),
    Case("caa_forbids-wildcard", DNS, lambda i: outcomes.caa_forbids(), "caa", 403,
         lambda i: "While processing CAA for *.a.example: CAA record for a.example prevents "
                   "issuance", dns_record, name="*.a.example"),
    # Multi-perspective: the primary passed (its record stays), a remote failed.
    Case("secondary_fails-default-http", HTTP, lambda i: outcomes.secondary_fails(),
         "unauthorized", 403,
         lambda i: f"During secondary validation: 127.0.0.1: Invalid response from {i.url}: 404",
         one_fetch),
    Case("secondary_fails-refused", HTTP,
         lambda i: outcomes.secondary_fails(outcomes.connection_refused()), "connection", 400,
         lambda i: f"During secondary validation: 127.0.0.1: Fetching {i.url}: Connection "
                   "refused", one_fetch),
    Case("secondary_fails-txt_wrong", DNS,
         lambda i: outcomes.secondary_fails(outcomes.txt_wrong("stale")), "unauthorized", 403,
         lambda i: 'During secondary validation: Incorrect TXT record "stale" found at '
                   f"_acme-challenge.{i.name}", dns_record),
    Case("secondary_fails-caa", DNS,
         lambda i: outcomes.secondary_fails(outcomes.caa_forbids()), "caa", 403,
         lambda i: f"During secondary validation: While processing CAA for {i.name}: CAA record "
                   f"for {i.name} prevents issuance", dns_record),
    Case("secondary_fails-dns-alpn", ALPN,
         lambda i: outcomes.secondary_fails(outcomes.dns_servfail()), "dns", 400,
         lambda i: "During secondary validation: "
                   f"{servfail(i, 'A', i.name)}; {servfail(i, 'AAAA', i.name)}", alpn_record),
    # The RA could not reach the VA.
    *(
        Case(f"va_unreachable-{typ}", typ, lambda i: outcomes.va_unreachable(),
             "serverInternal", 500, lambda i: "Could not communicate with VA", no_records)
        for typ in (HTTP, DNS)
    ),
    # Anything, verbatim.
    Case("problem-short-type", HTTP,
         lambda i: outcomes.problem("unauthorized", "custom words", 403), "unauthorized", 403,
         lambda i: "custom words", one_fetch),
    Case("problem-dns-lookup-http", HTTP,
         lambda i: outcomes.problem("dns", "DNS problem: REFUSED looking up A for a.example", 400),
         "dns", 400, lambda i: "DNS problem: REFUSED looking up A for a.example", no_records),
    Case("problem-full-urn", DNS,
         lambda i: outcomes.problem(URN + "rejectedIdentifier", "no thanks", 400),
         "rejectedIdentifier", 400, lambda i: "no thanks", no_records),
]


@pytest.mark.parametrize("case", [c.param() for c in FAILURES])
def test_scripted_failure_reaches_the_client_as_lets_encrypt_phrases_it(
    fake_acme: FakeACME, acme_client: AcmeTestClient, case: Case
) -> None:
    if case.typ == PERSIST:
        fake_acme.configure(dns_persist_01=True)  # offered only when asked for
    seen = validate(fake_acme, acme_client, case.name, case.typ, outcome=case.outcome)

    assert_failed(seen, acme_client, case.kind, case.status, case.detail(seen.info))
    expected_records = case.records(seen.info)
    if case.id != "too_many_redirects-url":
        assert seen.challenge.get("validationRecord") == expected_records
    assert fake_acme.va.scripted() == {}


def test_a_custom_problem_type_keeps_its_urn(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    teapot = outcomes.problem("urn:example:teapot", "short and stout", 418)
    seen = validate(fake_acme, acme_client, "a.example", HTTP, outcome=lambda i: teapot)

    assert seen.challenge["error"] == {
        "type": "urn:example:teapot", "detail": "short and stout", "status": 418
    }
    assert seen.authz["status"] == "invalid"


@pytest.mark.parametrize(
    ("typ", "records"), [(HTTP, one_fetch), (DNS, dns_record), (ALPN, alpn_record)]
)
def test_valid_passes_without_a_responder(
    fake_acme: FakeACME,
    acme_client: AcmeTestClient,
    typ: str,
    records: Callable[[Info], list[dict[str, Any]]],
) -> None:
    seen = validate(fake_acme, acme_client, "a.example", typ,
                    outcome=lambda i: outcomes.valid())

    assert_valid(seen, acme_client)
    assert seen.challenge["validationRecord"] == records(seen.info)


def test_every_constructor_is_covered() -> None:
    covered = {c.outcome(Info("a.example", "t", "t.k", 1, 2)).kind for c in FAILURES}
    covered |= {"valid", "real"}  # valid above; real in test_real_vs_scripted and test_issuance
    assert covered == {name for name in outcomes.__all__ if name[0].islower()}
    reasons = {c.id.split("-", 1)[1] for c in FAILURES if c.id.startswith("bad_redirect-")}
    assert reasons == set(outcomes.BAD_REDIRECT_REASONS)
    variants = {c.id.split("-", 1)[1] for c in FAILURES if c.id.startswith("alpn_bad_cert-")}
    assert variants == set(outcomes.ALPN_CERT_VARIANTS)


# Defaults that are examples rather than fixed texts: their shape is what Boulder's is.


def test_redirect_loop_by_default_comes_back_to_the_challenge_url(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    seen = validate(fake_acme, acme_client, "a.example", HTTP,
                    outcome=lambda i: outcomes.redirect_loop())

    detail = f"127.0.0.1: Fetching {seen.info.url}: Redirect loop detected"
    assert_failed(seen, acme_client, "connection", 400, detail)
    records = seen.challenge["validationRecord"]
    # A loop: the refused target is a URL already fetched in this chain.
    assert records[0] == http_record(seen.info.url, "a.example", seen.info.http_port)
    assert len(records) == 2


@pytest.mark.parametrize("url", [None, "http://a.example/max-redirect/12"])
def test_too_many_redirects_leaves_12_records(
    fake_acme: FakeACME, acme_client: AcmeTestClient, url: str | None
) -> None:
    seen = validate(fake_acme, acme_client, "a.example", HTTP,
                    outcome=lambda i: outcomes.too_many_redirects(url=url))

    error = seen.challenge["error"]
    shown = re.fullmatch(r"127\.0\.0\.1: Fetching (\S+): Too many redirects", error["detail"])
    assert shown is not None, error
    assert (error["type"], error["status"]) == (URN + "connection", 400)
    if url is not None:
        assert shown.group(1) == url
    records = seen.challenge["validationRecord"]
    # 11 redirects followed: the challenge URL and 11 targets; the 12th is refused unfetched.
    assert len(records) == 12
    assert records[0]["url"] == seen.info.url
    assert len({r["url"] for r in records}) == 12
    assert shown.group(1) not in {r["url"] for r in records}
    assert all(r["addressUsed"] == "127.0.0.1" for r in records)


@pytest.mark.parametrize("reason", sorted(outcomes.BAD_REDIRECT_REASONS))
def test_bad_redirect_default_targets_show_their_reason(
    fake_acme: FakeACME, acme_client: AcmeTestClient, reason: str
) -> None:
    seen = validate(fake_acme, acme_client, "a.example", HTTP,
                    outcome=lambda i: outcomes.bad_redirect(reason))

    error = seen.challenge["error"]
    assert (error["type"], error["status"]) == (URN + "connection", 400)
    assert error["detail"].startswith("127.0.0.1: Fetching ")
    texts = {
        "status": "received disallowed redirect status code",
        "scheme": "Invalid protocol scheme in redirect target.",
        "port": "Invalid port in redirect target. Only ports 80 and 443 are supported, not ",
        "empty_host": "Invalid empty host in redirect target",
        "well_known_host": "Check webserver config for missing '/' in redirect target.",
        "tld": "Invalid host in redirect target, must end in IANA registered TLD",
        "reserved_ip": "Invalid host in redirect target: IP address is in a reserved address "
                       "block: ",
        "scope_zone": "Invalid host in redirect target: contains scope zone",
        "too_long": "Redirect target too long",
    }
    assert texts[reason] in error["detail"]
    assert seen.challenge["validationRecord"] == one_fetch(seen.info)


@pytest.mark.parametrize(("variant", "reason"), [
    ("wrong_digest", r"Received certificate with acmeValidationV1 extension value [0-9a-f]{64} "
                     r"but expected {expected}\."),
    ("wrong_san", r'Received certificate with unexpected identifiers \("[^"]+"\): '
                  r'"identifier does not match expected identifier"'),
])
def test_alpn_bad_cert_defaults(
    fake_acme: FakeACME, acme_client: AcmeTestClient, variant: str, reason: str
) -> None:
    seen = validate(fake_acme, acme_client, "a.example", ALPN,
                    outcome=lambda i: outcomes.alpn_bad_cert(variant))

    detail = seen.challenge["error"]["detail"]
    expected = re.escape(bad_cert(seen.info, "")) + reason.replace(
        "{expected}", digest_hex(seen.info.key_authz))
    assert re.fullmatch(expected, detail), detail


# Outcomes that cannot apply to the challenge the client chose.


@pytest.mark.parametrize(("name", "typ", "outcome", "says"), [
    ("a.example", HTTP, outcomes.txt_missing(), "outcomes.txt_missing() cannot apply to the "
                                                "http-01 challenge"),
    ("a.example", HTTP, outcomes.alpn_bad_cert("no_alpn"), "cannot apply to the http-01"),
    ("a.example", DNS, outcomes.connection_refused(), "cannot apply to the dns-01"),
    ("a.example", ALPN, outcomes.http_status(404), "cannot apply to the tls-alpn-01"),
    ("a.example", DNS, outcomes.secondary_fails(outcomes.http_status(404)),
     "cannot apply to the dns-01"),
    ("127.0.0.1", HTTP, outcomes.caa_forbids(), "CAA for DNS names only"),
])
def test_outcome_for_another_challenge_type_fails_loudly(
    fake_acme: FakeACME,
    acme_client: AcmeTestClient,
    name: str,
    typ: str,
    outcome: Outcome,
    says: str,
) -> None:
    # IP addresses in shortlived, the only profile that takes them (ra/ra.go:2121-2137).
    order = acme_client.acme.new_order(make_ip_csr(name), profile="shortlived") if (
        name[0].isdigit()) else (
        acme_client.new_order(name))
    challb = pick_challenge(order.authorizations[0], typ)
    fake_acme.va.script(name, outcome)
    answer(acme_client, challb)
    authz = acme_client.read(order.authorizations[0].uri)

    error = authz["challenges"][0]["error"]
    assert (error["type"], error["status"]) == (URN + "serverInternal", 500)
    assert error["detail"].startswith("Unable to update challenge :: the scripted outcome ")
    assert says in error["detail"]
    assert authz["status"] == "invalid"
    with pytest.raises(ScriptError, match=re.escape(says)):
        fake_acme.check()


# Misuse of the API: a clear FakeACMEUsageError, and nothing changes.


MISUSE: list[tuple[str, Callable[[FakeACME], object], str]] = [
    ("http_status-200", lambda f: outcomes.http_status(200), r"outcomes\.valid\(\)"),
    ("http_status-str", lambda f: outcomes.http_status("404"),  # type: ignore[arg-type]
     "HTTP status code"),
    ("http_status-bool", lambda f: outcomes.http_status(True), "HTTP status code"),
    ("http_status-999", lambda f: outcomes.http_status(999), "HTTP status code"),
    ("http_status-url", lambda f: outcomes.http_status(404, url=5),  # type: ignore[arg-type]
     "URL string"),
    ("wrong_body-128", lambda f: outcomes.wrong_body(b"x" * 128), "body_too_large"),
    ("wrong_body-int", lambda f: outcomes.wrong_body(5), "str or bytes"),  # type: ignore[arg-type]
    ("body_too_large-short", lambda f: outcomes.body_too_large(b"short"), "wrong_body"),
    ("bad_redirect-unknown", lambda f: outcomes.bad_redirect("sideways"), "use one of"),
    ("bad_redirect-list", lambda f: outcomes.bad_redirect(["status"]),  # type: ignore[arg-type]
     "use one of"),
    ("bad_redirect-302", lambda f: outcomes.bad_redirect("status", code=302), "303"),
    ("bad_redirect-code-str",
     lambda f: outcomes.bad_redirect("status", code="303"),  # type: ignore[arg-type]
     "3xx status"),
    ("bad_redirect-port-without-port",
     lambda f: outcomes.bad_redirect("port", to="http://b.example/x"), "follows that target"),
    ("bad_redirect-scheme-http",
     lambda f: outcomes.bad_redirect("scheme", to="http://b.example/x"), "follows that"),
    ("bad_redirect-port-not-a-number",
     lambda f: outcomes.bad_redirect("port", to="http://b.example:http/x"), "cannot even parse"),
    ("bad_redirect-tld-but-port",
     lambda f: outcomes.bad_redirect("tld", to="http://x.invalid:8080/"), "for 'port'"),
    ("tls_alert-unknown", lambda f: outcomes.tls_alert("tls is sad"), "Go's text"),
    ("tls_alert-int", lambda f: outcomes.tls_alert(40), "Go's text"),  # type: ignore[arg-type]
    ("alpn_bad_cert-unknown", lambda f: outcomes.alpn_bad_cert("ugly"), "use one of"),
    ("alpn_bad_cert-got", lambda f: outcomes.alpn_bad_cert("wrong_digest", got="xyz"),
     "64 lower-case hex"),
    ("alpn_bad_cert-names", lambda f: outcomes.alpn_bad_cert("no_alpn", names="a"),
     "wrong_san"),
    ("txt_wrong-int", lambda f: outcomes.txt_wrong("a", 5), "strings"),  # type: ignore[arg-type]
    ("secondary_fails-valid", lambda f: outcomes.secondary_fails(outcomes.valid()),
     "failure a remote perspective can see"),
    ("secondary_fails-str", lambda f: outcomes.secondary_fails("404"),  # type: ignore[arg-type]
     "takes an Outcome"),
    ("secondary_fails-held",
     lambda f: outcomes.secondary_fails(outcomes.http_status(404).after(polls=1)), "after"),
    ("problem-unknown-type", lambda f: outcomes.problem("oops", "x"), "unknown ACME problem"),
    ("problem-status", lambda f: outcomes.problem("unauthorized", "x", 200), "400-599"),
    ("problem-type-int", lambda f: outcomes.problem(5, "x"), "strings"),  # type: ignore[arg-type]
    ("caa_forbids-found_at", lambda f: outcomes.caa_forbids(found_at=5),  # type: ignore[arg-type]
     "DNS name"),
    ("after-negative", lambda f: outcomes.valid().after(polls=-1), "whole number"),
    ("script-nothing", lambda f: f.va.script("a.example"), "at least one outcome"),
    # A name is taken for an outcome without arguments, as the marker and the options take it.
    ("script-string", lambda f: f.va.script("a.example", "http_status(404)"),
     r"unknown outcome 'http_status\(404\)'; use one of "),
    ("script-one-bad", lambda f: f.va.script("a.example", outcomes.valid(), 404),  # type: ignore
     "takes outcomes"),
    ("script-uncalled", lambda f: f.va.script("a.example", outcomes.valid),  # type: ignore
     r"call it: outcomes\.valid\(\)"),
    ("script-no-name", lambda f: f.va.script("", outcomes.valid()), "name or pattern"),
    # Never an identifier, so never used: refused at once rather than ignored.
    ("script-url", lambda f: f.va.script("https://www.example.com/", outcomes.valid()),
     "not a URL: 'www.example.com', not 'https://www.example.com/'"),
    ("script-port", lambda f: f.va.script("a.example:443", outcomes.valid()),
     "without a port: 'a.example', not 'a.example:443'"),
    ("default-unknown-name", lambda f: setattr(f.va, "default", "vaild"),
     "unknown outcome 'vaild'; use one of "),
    ("default-needs-arguments", lambda f: setattr(f.va, "default", "http_status"),
     "needs arguments"),
    ("default-number", lambda f: setattr(f.va, "default", 404), "takes outcomes"),
]


@pytest.mark.parametrize(("call", "message"), [pytest.param(c, m, id=i) for i, c, m in MISUSE])
@pytest.mark.fake_acme(unused_scripts="ignore")  # the script is there to show it stays
def test_misuse_is_a_usage_error_that_changes_nothing(
    fake_acme: FakeACME, call: Callable[[FakeACME], object], message: str
) -> None:
    fake_acme.va.script("a.example", outcomes.http_status(500))
    before, default = fake_acme.va.scripted(), fake_acme.va.default

    with pytest.raises(FakeACMEUsageError, match=message):
        call(fake_acme)

    assert fake_acme.va.scripted() == before
    assert fake_acme.va.default == default


# Scripts: queues, patterns, the default.


def test_queue_fails_then_passes_without_waiting(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    fake_acme.va.timeout = 30.0  # a scripted timeout ignores it (the fixture's reset() restores it)
    fake_acme.va.script("a.example", outcomes.connect_timeout(), outcomes.valid())
    began = time.monotonic()

    first = validate(fake_acme, acme_client, "a.example")
    assert_failed(first, acme_client, "connection", 400,
                  f"127.0.0.1: Fetching {first.info.url}: {TIMEOUT_CONNECT}")
    assert fake_acme.va.scripted() == {"a.example": [outcomes.valid()]}

    # A new order gets a new authorization (the invalid one is never reused).
    second = validate(fake_acme, acme_client, "a.example")
    assert second.order.uri != first.order.uri
    assert second.info.token != first.info.token
    assert_valid(second, acme_client)
    final = acme_client.poll_and_finalize(second.order)
    elapsed = time.monotonic() - began

    assert "BEGIN CERTIFICATE" in final.fullchain_pem
    assert fake_acme.certificates[0].names == ["a.example"]
    assert fake_acme.va.scripted() == {}
    assert elapsed < 10, "a scripted timeout waited"


def _error_detail(fake: FakeACME, client: AcmeTestClient, name: str) -> str:
    seen = validate(fake, client, name)
    detail: str = seen.challenge["error"]["detail"]
    return detail


def test_wildcard_pattern_matches_names_under_it(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    fake_acme.va.script("*.example.com", outcomes.http_status(404))
    fake_acme.va.default = outcomes.valid()

    seen = validate(fake_acme, acme_client, "sub.example.com")

    assert seen.challenge["error"]["detail"] == (
        f"127.0.0.1: Invalid response from {seen.info.url}: 404"
    )
    # The pattern's queue is used up; the next name under it gets the default.
    assert fake_acme.va.scripted() == {}
    assert_valid(validate(fake_acme, acme_client, "other.example.com"), acme_client)


def test_star_matches_any_name_and_exact_beats_pattern(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    fake_acme.va.script("*", outcomes.http_status(500), outcomes.http_status(502))
    fake_acme.va.script("exact.example", outcomes.http_status(404))

    assert _error_detail(fake_acme, acme_client, "exact.example").endswith(": 404")
    assert _error_detail(fake_acme, acme_client, "any.test").endswith(": 500")
    assert _error_detail(fake_acme, acme_client, "exact.example").endswith(": 502")
    assert fake_acme.va.scripted() == {}


def test_queue_is_consumed_one_attempt_at_a_time(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    fake_acme.va.script("a.example", outcomes.http_status(404), outcomes.http_status(500))
    fake_acme.va.script("a.example", outcomes.valid())
    assert fake_acme.va.scripted() == {"a.example": [
        outcomes.http_status(404), outcomes.http_status(500), outcomes.valid()]}

    assert _error_detail(fake_acme, acme_client, "a.example").endswith(": 404")
    assert fake_acme.va.scripted() == {"a.example": [outcomes.http_status(500), outcomes.valid()]}
    assert _error_detail(fake_acme, acme_client, "a.example").endswith(": 500")
    assert fake_acme.va.scripted() == {"a.example": [outcomes.valid()]}
    assert_valid(validate(fake_acme, acme_client, "a.example"), acme_client)
    assert fake_acme.va.scripted() == {}


def test_default_valid_issues_with_no_responder(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    fake_acme.va.default = outcomes.valid()

    order = acme_client.new_order("a.example", "b.example")
    for authzr in order.authorizations:
        answer(acme_client, acme_client.challenge(authzr))
    final = acme_client.poll_and_finalize(order)

    assert "BEGIN CERTIFICATE" in final.fullchain_pem
    assert fake_acme.certificates[0].names == ["a.example", "b.example"]


@pytest.mark.parametrize(
    ("outcome", "text"),
    [
        (outcomes.http_status(404), "outcomes.http_status(code=404)"),
        (outcomes.http_status(404, url="http://a.example/x"),
         "outcomes.http_status(code=404, url='http://a.example/x')"),
        (outcomes.valid().after(polls=2), "outcomes.valid().after(polls=2)"),
        (outcomes.valid().after(seconds=30), "outcomes.valid().after(seconds=30)"),
        (outcomes.valid().after(polls=1, seconds=1.5),
         "outcomes.valid().after(polls=1, seconds=1.5)"),
        (outcomes.wrong_body(), "outcomes.wrong_body()"),
        (outcomes.wrong_body("hello"), "outcomes.wrong_body(body='hello')"),
        (outcomes.wrong_body(b"\xff"), "outcomes.wrong_body(body=b'\\xff')"),
        (outcomes.bad_redirect("status"), "outcomes.bad_redirect(reason='status')"),
        (outcomes.bad_redirect("status", code=300),
         "outcomes.bad_redirect(reason='status', code=300)"),
        (outcomes.alpn_bad_cert(), "outcomes.alpn_bad_cert()"),
        (outcomes.tls_alert("internal error"), "outcomes.tls_alert(alert='internal error')"),
        (outcomes.txt_wrong("a", "b"), "outcomes.txt_wrong('a', 'b')"),
        (outcomes.secondary_fails(outcomes.dns_nxdomain()),
         "outcomes.secondary_fails(inner=outcomes.dns_nxdomain())"),
        (outcomes.problem("malformed", "no", 400),
         "outcomes.problem('malformed', 'no', status=400)"),
        (outcomes.caa_forbids(), "outcomes.caa_forbids()"),
    ],
)
def test_an_outcome_reads_as_the_call_that_builds_it_without_its_defaults(
    outcome: Outcome, text: str
) -> None:
    # What a transcript line or an assertion shows: only what the test set.
    assert repr(outcome) == text
    # ...and it is a call that builds the same outcome again (problems compare by identity).
    assert repr(eval(text, {"outcomes": outcomes})) == text


def test_an_outcome_without_arguments_can_be_named_wherever_one_is_taken() -> None:
    # As in the marker, the ini file, the command line and the management API.
    with FakeACME(va_default="valid") as fake:
        assert fake.va.default == outcomes.valid()
        fake.va.default = "dns_nxdomain"
        assert fake.va.default == outcomes.dns_nxdomain()
        fake.va.script("a.example", "connection_refused", outcomes.http_status(404))
        assert fake.va.scripted() == {
            "a.example": [outcomes.connection_refused(), outcomes.http_status(404)]}
        fake.va.clear()
        assert fake.va.default == outcomes.valid()  # the name given at construction
