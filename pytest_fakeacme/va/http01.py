"""The real http-01 check (RFC 8555 8.3), following Boulder's ``va/http.go``.

A GET of ``/.well-known/acme-challenge/<token>`` on the fake's stand-in for port 80, redirects
followed under Boulder's rules (301/302/307/308 only, at most 10 followed past the first,
ports 80 and 443 only, loop detection, scheme and host checks), a 128-byte body limit and
trailing whitespace trimmed. What it observes is reported as an :class:`Outcome`, rendered by
the same code as a scripted outcome.

Every connection goes to an address from the fake's host map (loopback unless a test says
otherwise), never to what a name resolves to in the real world.
"""

from __future__ import annotations

import errno
import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from .. import outcomes
from ..dnsdata import DNSData
from ..outcomes import Outcome
from .render import MAX_BODY, AttemptContext, http_record

#: Boulder's ``maxRedirect``: the 11th redirect is followed, the 12th refused.
MAX_REDIRECTS = 10
#: Boulder's ``maxPathSize`` for redirect targets.
MAX_PATH = 2000
#: Sent as Boulder sends it (``va/http.go``): a configured User-Agent and ``Accept: */*``.
USER_AGENT = "pytest-fakeacme VA (imitating Let's Encrypt validation)"
_REDIRECT_CODES = (301, 302, 303, 307, 308)
_ALLOWED_REDIRECT_CODES = (301, 302, 307, 308)
#: TLDs that Boulder's public-suffix check refuses and that tests reach for.
_NOT_IANA_TLDS = frozenset({"invalid", "local", "localdomain", "internal", "lan", "home", "corp"})

# OpenSSL alert reasons (``SSLV3_ALERT_*`` / ``TLSV1_ALERT_*``) to Go's alert texts.
_ALERTS = {
    "HANDSHAKE_FAILURE": "handshake failure",
    "NO_APPLICATION_PROTOCOL": "no application protocol",
    "INTERNAL_ERROR": "internal error",
    "PROTOCOL_VERSION": "protocol version not supported",
    "UNRECOGNIZED_NAME": "unrecognized name",
    "ACCESS_DENIED": "access denied",
    "BAD_CERTIFICATE": "bad certificate",
    "UNSUPPORTED_CERTIFICATE": "unsupported certificate",
    "CERTIFICATE_UNKNOWN": "unknown certificate",
    "UNKNOWN_CA": "unknown certificate authority",
    "ILLEGAL_PARAMETER": "illegal parameter",
    "DECODE_ERROR": "error decoding message",
    "DECRYPT_ERROR": "error decrypting message",
    "INSUFFICIENT_SECURITY": "insufficient security level",
    "UNEXPECTED_MESSAGE": "unexpected message",
    "USER_CANCELLED": "user canceled",
    "CERTIFICATE_REQUIRED": "certificate required",
    "MISSING_EXTENSION": "missing extension",
    "UNSUPPORTED_EXTENSION": "unsupported extension",
}


def go_alert(error: ssl.SSLError) -> str | None:
    """Go's text for the TLS alert an OpenSSL error reports, if it reports one."""
    reason = getattr(error, "reason", None) or ""
    for prefix in ("TLSV1_ALERT_", "SSLV3_ALERT_", "TLSV13_ALERT_"):
        if reason.startswith(prefix):
            name = reason[len(prefix) :]
            return _ALERTS.get(name, name.lower().replace("_", " "))
    return None


@dataclass
class Observation:
    """What the real VA saw: an outcome in the shared vocabulary, records, the address used."""

    outcome: Outcome
    records: list[dict[str, Any]]
    address: str


class _DialError(Exception):
    """A failure to connect (Boulder falls back from IPv6 to IPv4 only on these)."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.kind)
        self.outcome = outcome


def _problem(ctx_type: str, detail: str, status: int = 400) -> Outcome:
    return outcomes.problem(ctx_type, detail, status)


class Http01Prober:
    """Runs real http-01 validations against responders on this machine."""

    def __init__(
        self,
        dns: DNSData,
        timeout: Callable[[], float],
        https_port: Callable[[], int],
    ) -> None:
        self._dns = dns
        self._timeout = timeout
        self._https_port = https_port

    def probe(self, ctx: AttemptContext) -> Observation:
        """Validate ``ctx``'s challenge for real."""
        deadline = time.monotonic() + self._timeout()
        v6, v4 = self._dns.lookup_addresses(ctx.hostname) if ctx.identifier.type == "dns" else (
            ([ctx.hostname], []) if ":" in ctx.hostname else ([], [ctx.hostname])
        )
        candidates = [a for a in (v6[:1] + v4[:1])]
        records: list[dict[str, Any]] = []
        observation: Observation | None = None
        for index, first_address in enumerate(candidates):
            try:
                return self._follow(ctx, first_address, records, deadline)
            except _DialError as dial:
                observation = Observation(dial.outcome, records, first_address)
                # Boulder (va/http.go fallbackErr): only a dial error on the IPv6 attempt
                # falls back to IPv4, replaying the whole request from the initial URL.
                if index == 0 and v6 and v4:
                    continue
                return observation
        assert observation is not None
        return observation

    def _follow(
        self,
        ctx: AttemptContext,
        first_address: str,
        records: list[dict[str, Any]],
        deadline: float,
    ) -> Observation:
        url = ctx.url
        address = first_address
        hops = 0
        while True:
            parts = urlsplit(url)
            host = parts.hostname or ""
            record = http_record(url, ctx, address)
            record["addressesResolved"] = self._resolved(host, ctx, address)
            records.append(record)
            status, location, body, outcome, dial = self._fetch(ctx, url, address, deadline)
            if outcome is not None:
                if dial and hops == 0:
                    raise _DialError(outcome)
                return Observation(outcome, records, address)
            if status in _REDIRECT_CODES and location:
                target = urljoin(url, location)
                refused = self._check_redirect(ctx, records, target, status, hops)
                if refused is not None:
                    return Observation(refused, records, address)
                hops += 1
                url = target
                next_address = self._address_for(urlsplit(target).hostname or "")
                if next_address is None:
                    return Observation(
                        _problem(
                            "serverInternal",
                            f"the fake's VA does not contact {urlsplit(target).hostname}: it is "
                            "not a loopback address (set fake_acme.dns.allow_non_loopback and map "
                            "it with fake_acme.dns.add_a to allow it)",
                            500,
                        ),
                        records,
                        records[-1]["addressUsed"],
                    )
                address = next_address
                continue
            if status != 200:
                return Observation(outcomes.http_status(status, url=url), records, address)
            assert body is not None
            if len(body) >= MAX_BODY:
                return Observation(
                    _with_url(outcomes.body_too_large(body), url), records, address
                )
            if body.decode("utf-8", "surrogateescape").rstrip() == ctx.key_authorization:
                return Observation(outcomes.valid(), records, address)
            return Observation(outcomes.wrong_body(body), records, address)

    def _resolved(self, host: str, ctx: AttemptContext, address: str) -> list[str]:
        try:
            ipaddress.ip_address(host)
            return [host]
        except ValueError:
            pass
        v6, v4 = self._dns.lookup_addresses(host)
        return v6 + v4 or [address]

    def _address_for(self, host: str) -> str | None:
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            v6, v4 = self._dns.lookup_addresses(host)
            return (v6 + v4)[0]
        if ip.is_loopback or self._dns.allow_non_loopback:
            return str(ip)
        return None

    def _check_redirect(
        self,
        ctx: AttemptContext,
        records: list[dict[str, Any]],
        target: str,
        status: int,
        hops: int,
    ) -> Outcome | None:
        """Boulder's redirect rules (``va/http.go`` ``setupHTTPValidation`` and
        ``extractRequestTarget``); the refusal names the redirect target."""
        if status not in _ALLOWED_REDIRECT_CODES:
            return outcomes.bad_redirect("status", to=target, code=status)
        if len(urlsplit(target).path) > MAX_PATH:
            return outcomes.bad_redirect("too_long", to=target)
        if hops >= MAX_REDIRECTS + 1:
            return outcomes.too_many_redirects(url=target)
        if any(r["url"] == target for r in records):
            return outcomes.redirect_loop(url=target)
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https"):
            return outcomes.bad_redirect("scheme", to=target)
        try:
            port = parts.port
        except ValueError:
            port = -1
        if port is not None and port not in (80, 443, ctx.port):
            return outcomes.bad_redirect("port", to=target)
        host = parts.hostname or ""
        if not host:
            return outcomes.bad_redirect("empty_host", to=target)
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            ip = None
        if ip is not None:
            if not ip.is_loopback and (ip.is_private or ip.is_reserved or ip.is_link_local
                                       or ip.is_multicast or ip.is_unspecified):
                return outcomes.bad_redirect("reserved_ip", to=target)
            return None
        if host.endswith(".well-known"):
            return outcomes.bad_redirect("well_known_host", to=target)
        labels = host.rstrip(".").split(".")
        if host != "localhost" and (len(labels) < 2 or labels[-1] in _NOT_IANA_TLDS):
            return outcomes.bad_redirect("tld", to=target)
        return None

    def _fetch(
        self, ctx: AttemptContext, url: str, address: str, deadline: float
    ) -> tuple[int, str | None, bytes | None, Outcome | None, bool]:
        """One GET: ``(status, location, body, failure, failure_was_a_dial_error)``."""
        parts = urlsplit(url)
        https = parts.scheme == "https"
        port = parts.port or (443 if https else 80)
        if https and port == 443:
            connect_port = self._https_port()
        elif not https and port == 80:
            connect_port = ctx.port
        else:
            connect_port = port
        remaining = max(deadline - time.monotonic(), 0.001)
        try:
            sock = socket.create_connection((address, connect_port), timeout=remaining)
        except ConnectionRefusedError:
            return 0, None, None, _with_url(outcomes.connection_refused(), url), True
        except TimeoutError:
            return 0, None, None, _with_url(outcomes.connect_timeout(), url), True
        except OSError as exc:
            text = (
                "Network unreachable"
                if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH)
                else "Error getting validation data"
            )
            return 0, None, None, _problem("connection", f"{address}: Fetching {url}: {text}"), True
        try:
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if https:
                tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                tls.check_hostname = False
                tls.verify_mode = ssl.CERT_NONE  # Boulder: InsecureSkipVerify after a redirect
                tls.minimum_version = ssl.TLSVersion.TLSv1_2
                try:
                    sock = tls.wrap_socket(sock, server_hostname=parts.hostname)
                except ssl.SSLError as exc:
                    alert = go_alert(exc)
                    if alert is not None:
                        return 0, None, None, _with_url(outcomes.tls_alert(alert), url), False
                    return 0, None, None, _problem(
                        "connection", f"{address}: Fetching {url}: Error getting validation data"
                    ), False
            conn = http.client.HTTPConnection(parts.hostname or address, port)
            conn.sock = sock
            path = parts.path or "/"
            if parts.query:
                path += "?" + parts.query
            host_header = parts.netloc.rsplit("@", 1)[-1]
            conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", host_header)
            conn.putheader("User-Agent", USER_AGENT)
            conn.putheader("Accept", "*/*")
            conn.putheader("Connection", "close")
            conn.endheaders()
            response = conn.getresponse()
            status = response.status
            location = response.getheader("Location")
            body: bytes | None = None
            if status == 200:
                try:
                    body = response.read(MAX_BODY)
                except (OSError, http.client.HTTPException) as exc:
                    reason = (
                        "context deadline exceeded (Client.Timeout or context cancellation "
                        "while reading body)"
                        if isinstance(exc, (socket.timeout, TimeoutError))
                        else "unexpected EOF"
                    )
                    return 0, None, None, _problem(
                        "unauthorized",
                        f"{address}: Error reading HTTP response body: {reason}",
                        403,
                    ), False
            return status, location, body, None, False
        except TimeoutError:
            return 0, None, None, _with_url(outcomes.read_timeout(), url), False
        except ConnectionResetError:
            return 0, None, None, _with_url(outcomes.connection_reset(), url), False
        except (OSError, http.client.HTTPException, ValueError) as exc:
            text = "Error getting validation data"
            if isinstance(exc, http.client.BadStatusLine) and b"PRI * HTTP/2" in str(exc).encode():
                text = "Server is speaking HTTP/2 over HTTP"
            failure = _problem("connection", f"{address}: Fetching {url}: {text}")
            return 0, None, None, failure, False
        finally:
            sock.close()


def _with_url(outcome: Outcome, url: str) -> Outcome:
    """The outcome, showing ``url`` after ``Fetching`` (the hop that failed)."""
    params = dict(outcome.params)
    params["url"] = url
    return Outcome(kind=outcome.kind, params=params, challenge_types=outcome.challenge_types)
