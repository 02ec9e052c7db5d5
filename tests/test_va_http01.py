"""The real http-01 check against responders on loopback, detail by detail as Boulder does it.

Every expected detail is written from Boulder's ``va/http.go`` (its fetch errors, and
``processRedirect``'s checks of each redirect), not derived from the fake's code, with the
fake's stand-ins: the http-01 port for 80 (it shows in the challenge URL) and
``fake_acme.va.https_port`` for 443.

Tests change ``http01_port``, ``va.timeout`` and ``va.https_port`` on ``fake_acme`` freely: the
fixture's ``reset()`` puts all three back after each test.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from boulder_table import expect, reproduces
from client import URN, AcmeTestClient, Info, http_record, validate
from pytest_fakeacme import FakeACME
from pytest_fakeacme.va.http01 import USER_AGENT
from responder import Behaviour, Responder, alert_context, tls_context, unused_port

KEY_MISMATCH = "The key authorization file from the server did not match this challenge. "
NAME = "a.example"


def record(url: str, address: str = "127.0.0.1", *, port: int,
           resolved: list[str] | None = None, host: str = NAME) -> dict[str, Any]:
    """:func:`client.http_record`, for ``NAME`` unless said otherwise."""
    return http_record(url, host, port, address, resolved)


@pytest.fixture
def ipv6_responder(fake_acme: FakeACME) -> Iterator[Responder]:
    """A second responder on [::1], same port; skipped where ::1 cannot be bound."""
    try:
        responder = Responder(fake_acme.http01_port, host="::1")
    except OSError as exc:
        pytest.skip(f"cannot bind [::1]:{fake_acme.http01_port}: {exc}")
    yield responder
    responder.close()


@pytest.fixture
def second_loopback() -> str:
    """127.0.0.2: loopback too, with nothing listening (skipped where it is not configured)."""
    try:
        with socket.socket() as probe:
            probe.bind(("127.0.0.2", 0))
    except OSError as exc:
        pytest.skip(f"127.0.0.2 is not a loopback address here: {exc}")
    return "127.0.0.2"


# The body.


def test_trailing_whitespace_is_trimmed(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    result = validate(fake_acme, acme_client, NAME,
                      setup=lambda i: responder.serve(i.token, i.key_authz + " \r\n\t\n"))

    result.passed()
    assert result.records == [record(result.info.url, port=fake_acme.http01_port)]


def test_leading_whitespace_is_not_trimmed(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    result = validate(fake_acme, acme_client, NAME,
                      setup=lambda i: responder.serve(i.token, " " + i.key_authz + "\n"))

    ka = result.info.key_authz
    result.failed("unauthorized", 403, KEY_MISMATCH + f'Expected "{ka}" (got " {ka}")')
    assert result.records == [record(result.info.url, port=fake_acme.http01_port)]


def test_white_space_is_gos_not_pythons(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    # U+001C is white space to Python's str.strip, not to Go's unicode.IsSpace.
    result = validate(fake_acme, acme_client, NAME,
                      setup=lambda i: responder.serve(i.token, i.key_authz + "\x1c\n"))

    ka = result.info.key_authz
    result.failed("unauthorized", 403, KEY_MISMATCH + f'Expected "{ka}" (got "{ka}\\x1c")')


def test_a_127_byte_body_is_compared(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    def serve(i: Info) -> None:
        body = i.key_authz.ljust(127)
        assert len(body) == 127
        responder.serve(i.token, body)

    validate(fake_acme, acme_client, NAME, setup=serve).passed()


def test_a_128_byte_body_is_refused_unread(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    result = validate(fake_acme, acme_client, NAME,
                      setup=lambda i: responder.serve(i.token, i.key_authz.ljust(128) + "more"))

    quoted = result.info.key_authz.ljust(128)
    result.failed("unauthorized", 403,
                  f'127.0.0.1: Invalid response from {result.info.url}: "{quoted}"')


def test_a_short_body_is_a_read_error(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    short = b"HTTP/1.0 200 OK\r\nContent-Length: 500\r\n\r\nonly this"
    result = validate(fake_acme, acme_client, NAME,
                      setup=lambda i: responder.set(i.path, Behaviour(raw=short)))

    result.failed("unauthorized", 403,
                  "127.0.0.1: Error reading HTTP response body: unexpected EOF")
    assert result.error is not None
    expect("h01-04", result.error, "127.0.0.1", "unexpected EOF")


def test_a_body_that_stalls_is_a_read_error(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    fake_acme.va.timeout = 0.5
    result = validate(fake_acme, acme_client, NAME, setup=lambda i: responder.set(
        i.path, Behaviour(body=b"x" * 50, stall_body=True)))

    result.failed("unauthorized", 403,
                  "127.0.0.1: Error reading HTTP response body: context deadline exceeded")


# Broken servers.


@pytest.mark.parametrize(("raw", "row_id"), [
    (b"this is not HTTP\r\n\r\n", "h01-12"),
    (b"", "h01-12"),
    # An HTTP/2 server's SETTINGS frame where the status line should be.
    (b"\x00\x00\x12\x04\x00\x00\x00\x00\x00" + b"\x00" * 18, "h01-11"),
], ids=["garbage", "closed-without-answer", "http2-settings"])
def test_non_http_answers(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder, raw: bytes,
    row_id: str,
) -> None:
    result = validate(fake_acme, acme_client, NAME,
                      setup=lambda i: responder.set(i.path, Behaviour(raw=raw)))

    assert result.error is not None
    expect(row_id, result.error, "127.0.0.1", result.info.url)
    result.invalid()


def test_a_stalled_server_times_out_after_connect(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    fake_acme.va.timeout = 0.5
    result = validate(fake_acme, acme_client, NAME,
                      setup=lambda i: responder.set(i.path, Behaviour(stall=True)))

    result.failed("connection", 400, f"127.0.0.1: Fetching {result.info.url}: Timeout after "
                                     "connect (your server may be slow or overloaded)")


# Redirects.


def test_11_redirects_are_followed(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    def setup(i: Info) -> None:
        targets = responder.redirect_chain(i.path, i.base, hops=11)
        responder.set("/hop/11", Behaviour(body=i.key_authz.encode()))
        assert len(targets) == 11

    result = validate(fake_acme, acme_client, NAME, setup=setup)

    result.passed()
    port = fake_acme.http01_port
    hops = [f"{result.info.base}/hop/{n}" for n in range(1, 12)]
    assert result.records == [record(u, port=port) for u in [result.info.url, *hops]]


def test_the_12th_redirect_is_refused_with_12_records(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    result = validate(fake_acme, acme_client, NAME,
                      setup=lambda i: responder.redirect_chain(i.path, i.base, hops=12))

    base = result.info.base
    result.failed("connection", 400, f"127.0.0.1: Fetching {base}/hop/12: Too many redirects")
    hops = [f"{base}/hop/{n}" for n in range(1, 12)]
    assert result.records == [record(u, port=fake_acme.http01_port)
                              for u in [result.info.url, *hops]]
    assert "/hop/12" not in [path for path, _ in responder.seen]


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_allowed_redirects_are_followed(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder, status: int
) -> None:
    def setup(i: Info) -> None:
        responder.redirect(i.path, "/moved", status)  # relative, resolved against the URL
        responder.set("/moved", Behaviour(body=i.key_authz.encode()))

    result = validate(fake_acme, acme_client, NAME, setup=setup)

    result.passed()
    port = fake_acme.http01_port
    assert result.records == [record(result.info.url, port=port),
                              record(f"{result.info.base}/moved", port=port)]


def test_303_is_refused(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    result = validate(fake_acme, acme_client, NAME,
                      setup=lambda i: responder.redirect(i.path, "http://b.example/see-other", 303))

    result.failed("connection", 400, "127.0.0.1: Fetching http://b.example/see-other: received "
                                     "disallowed redirect status code")
    assert result.records == [record(result.info.url, port=fake_acme.http01_port)]


def test_a_refused_redirect_is_named_by_its_raw_location(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    # Go's client overwrites the url.Error's URL with the Location header as sent.
    result = validate(fake_acme, acme_client, NAME,
                      setup=lambda i: responder.redirect(i.path, "/see-other", 303))

    result.failed("connection", 400,
                  "127.0.0.1: Fetching /see-other: received disallowed redirect status code")


def test_redirect_to_port_8080_is_refused(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    result = validate(fake_acme, acme_client, NAME,
                      setup=lambda i: responder.redirect(i.path, f"http://{i.name}:8080{i.path}"))

    info = result.info
    result.failed("connection", 400,
                  f"127.0.0.1: Fetching http://{info.name}:8080{info.path}: Invalid port in "
                  "redirect target. Only ports 80 and 443 are supported, not 8080")


def test_redirect_to_explicit_port_80_is_followed(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    def setup(i: Info) -> None:
        responder.redirect(i.path, f"http://{i.name}:80/moved")
        responder.set("/moved", Behaviour(body=i.key_authz.encode()))

    result = validate(fake_acme, acme_client, NAME, setup=setup)

    result.passed()
    assert result.records[1] == record(f"http://{NAME}:80/moved", port=80)


def test_redirect_loop(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    def setup(i: Info) -> None:
        responder.redirect(i.path, "/loop")
        responder.redirect("/loop", i.url)

    result = validate(fake_acme, acme_client, NAME, setup=setup)

    info = result.info
    result.failed("connection", 400, f"127.0.0.1: Fetching {info.url}: Redirect loop detected")
    port = fake_acme.http01_port
    assert result.records == [record(info.url, port=port), record(info.base + "/loop", port=port)]


def test_unparseable_location_is_named_after_the_url_that_sent_it(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    result = validate(fake_acme, acme_client, NAME,
                      setup=lambda i: responder.redirect(i.path, "http://b.example:port/x"))

    result.failed("connection", 400,
                  f"127.0.0.1: Fetching {result.info.url}: Error getting validation data")


# https, reached only through a redirect, on the stand-in for 443.


def _to_https(responder: Responder) -> Callable[[Info], None]:
    return lambda i: responder.redirect(i.path, f"https://{i.name}{i.path}")


def test_redirect_to_https_on_443_validates_with_any_certificate(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    with Responder(0, tls=tls_context("not-the-name.example")) as https:
        fake_acme.va.https_port = https.port

        def setup(i: Info) -> None:
            _to_https(responder)(i)
            https.serve(i.token, i.key_authz)

        result = validate(fake_acme, acme_client, NAME, setup=setup)

    result.passed()
    info = result.info
    assert result.records == [record(info.url, port=info.http_port),
                              record(f"https://{info.name}{info.path}", port=443)]
    assert [p for p, _ in https.seen] == [info.path]


@pytest.mark.parametrize(("alert", "text"), [
    (ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE, "handshake failure"),
    (ssl.ALERT_DESCRIPTION_INTERNAL_ERROR, "internal error"),
    (ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME, "unrecognized name"),
    (ssl.ALERT_DESCRIPTION_ACCESS_DENIED, "access denied"),
    (ssl.ALERT_DESCRIPTION_BAD_RECORD_MAC, "bad record MAC"),
])
def test_tls_alert_on_443(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder,
    alert: ssl.AlertDescription, text: str,
) -> None:
    with Responder(0, tls=alert_context(alert)) as https:
        fake_acme.va.https_port = https.port
        result = validate(fake_acme, acme_client, NAME, setup=_to_https(responder))

    info = result.info
    result.failed("tls", 400, f"127.0.0.1: Fetching https://{info.name}{info.path}: remote "
                              f"error: tls: {text}")


def test_plain_http_on_443(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    with Responder(0) as plain:
        fake_acme.va.https_port = plain.port
        result = validate(fake_acme, acme_client, NAME, setup=_to_https(responder))

    info = result.info
    result.failed("connection", 400, f"127.0.0.1: Fetching https://{info.name}{info.path}: "
                                     "Error getting validation data")


# Addresses: the host map, IPv6 first, the fallback, loopback only.


def test_ipv6(
    fake_acme: FakeACME, acme_client: AcmeTestClient, ipv6_responder: Responder
) -> None:
    fake_acme.dns.add_aaaa(NAME, "::1")

    result = validate(fake_acme, acme_client, NAME,
                      setup=lambda i: ipv6_responder.serve(i.token, i.key_authz))

    result.passed()
    assert result.records == [record(result.info.url, "::1", port=fake_acme.http01_port)]


def test_ipv6_failure_after_connecting_does_not_fall_back(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder,
    ipv6_responder: Responder,
) -> None:
    fake_acme.dns.add_aaaa(NAME, "::1")
    fake_acme.dns.add_a(NAME, "127.0.0.1")

    def setup(i: Info) -> None:
        ipv6_responder.set(i.path, Behaviour(status=404))
        responder.serve(i.token, i.key_authz)  # never asked

    result = validate(fake_acme, acme_client, NAME, setup=setup)

    result.failed("unauthorized", 403, f"::1: Invalid response from {result.info.url}: 404")
    assert result.records == [record(result.info.url, "::1", port=fake_acme.http01_port,
                                     resolved=["::1", "127.0.0.1"])]  # va/dns.go:86
    assert responder.seen == []


@reproduces("h01-34", "h01-39")
def test_refused_ipv6_falls_back_to_ipv4(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    fake_acme.dns.add_aaaa(NAME, "::1")  # nothing listens on [::1] at the http-01 port
    fake_acme.dns.add_a(NAME, "127.0.0.1")

    result = validate(fake_acme, acme_client, NAME,
                      setup=lambda i: responder.serve(i.token, i.key_authz))

    result.passed()
    both = ["::1", "127.0.0.1"]  # AAAA first: getAddrs (va/dns.go:86)
    port = fake_acme.http01_port
    assert result.records == [record(result.info.url, "::1", port=port, resolved=both),
                              record(result.info.url, "127.0.0.1", port=port, resolved=both)]


def test_when_both_addresses_refuse_the_ipv4_error_is_shown(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    fake_acme.http01_port = unused_port()
    fake_acme.dns.add_aaaa(NAME, "::1")
    fake_acme.dns.add_a(NAME, "127.0.0.1")

    result = validate(fake_acme, acme_client, NAME)

    result.failed("connection", 400,
                  f"127.0.0.1: Fetching {result.info.url}: Connection refused")
    assert [r["addressUsed"] for r in result.records] == ["::1", "127.0.0.1"]


def test_a_redirect_hop_that_refuses_names_its_own_address(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder,
    second_loopback: str,
) -> None:
    fake_acme.dns.add_a("other.example", second_loopback)
    result = validate(fake_acme, acme_client, NAME, setup=lambda i: responder.redirect(
        i.path, f"http://other.example:{i.http_port}/x"))

    target = f"http://other.example:{fake_acme.http01_port}/x"
    result.failed("connection", 400, f"127.0.0.2: Fetching {target}: Connection refused")
    assert result.records[1] == record(target, "127.0.0.2", port=fake_acme.http01_port,
                                       host="other.example")


def test_a_dial_error_on_a_redirect_hop_replays_over_ipv4_as_boulder_does(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder,
    ipv6_responder: Responder, second_loopback: str,
) -> None:
    # Boulder's fallbackErr takes any dial error, even on a redirect hop, for an IPv6 failure
    # and replays the initial URL over IPv4, keeping its records: the redirect then meets its
    # own earlier record.
    fake_acme.dns.add_aaaa(NAME, "::1")
    fake_acme.dns.add_a(NAME, "127.0.0.1")
    fake_acme.dns.add_a("other.example", second_loopback)

    def setup(i: Info) -> None:
        for server in (ipv6_responder, responder):
            server.redirect(i.path, f"http://other.example:{i.http_port}/x")

    result = validate(fake_acme, acme_client, NAME, setup=setup)

    target = f"http://other.example:{fake_acme.http01_port}/x"
    result.failed("connection", 400, f"127.0.0.1: Fetching {target}: Redirect loop detected")
    assert [(r["url"], r["addressUsed"]) for r in result.records] == [
        (result.info.url, "::1"), (target, "127.0.0.2"), (result.info.url, "127.0.0.1")]


def test_a_redirect_target_whose_dns_fails(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    fake_acme.dns.fail("other.example", "nxdomain")
    result = validate(fake_acme, acme_client, NAME, setup=lambda i: responder.redirect(
        i.path, "http://other.example/x"))

    assert result.error is not None
    nxdomain = " for other.example - check that a DNS record exists for this domain"
    expect("h01-33", result.error, "127.0.0.1", "http://other.example/x",
           f"NXDOMAIN looking up A{nxdomain}; DNS problem: NXDOMAIN looking up AAAA{nxdomain}")
    result.invalid()
    assert result.records == [record(result.info.url, port=fake_acme.http01_port)]


def test_redirect_to_a_public_address_is_not_followed(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    result = validate(fake_acme, acme_client, NAME,
                      setup=lambda i: responder.redirect(i.path, "http://8.8.8.8/x"))

    error = result.error
    assert error is not None
    assert (error["type"], error["status"]) == (URN + "serverInternal", 500)
    assert "does not contact 8.8.8.8, which is not a loopback address" in error["detail"]
    assert "allow_non_loopback" in error["detail"]
    assert result.records == [record(result.info.url, port=fake_acme.http01_port)]


def test_redirect_to_a_reserved_address_is_refused_as_boulder_does(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    result = validate(fake_acme, acme_client, NAME,
                      setup=lambda i: responder.redirect(i.path, "http://192.168.1.1/x"))

    result.failed("connection", 400,
                  "127.0.0.1: Fetching http://192.168.1.1/x: Invalid host in redirect target: "
                  "IP address is in a reserved address block: [RFC1918]: Private-Use")


# The request itself.


def test_request_headers(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    result = validate(fake_acme, acme_client, NAME,
                      setup=lambda i: responder.serve(i.token, i.key_authz))

    result.passed()
    ((path, headers),) = responder.seen
    assert path == result.info.path
    assert headers["User-Agent"] == USER_AGENT
    assert headers["Accept"] == "*/*"
    assert headers["Host"] == f"{NAME}:{fake_acme.http01_port}"
