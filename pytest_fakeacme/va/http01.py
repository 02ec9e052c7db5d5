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
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from .. import outcomes
from .._gofmt import go_alert
from ..dnsdata import DNSData
from ..outcomes import Outcome
from .attempt import AttemptContext, Observation, http_record
from .policy import (
    ALLOWED_REDIRECT_CODES,
    MAX_BODY,
    MAX_REDIRECTS,
    REDIRECT_CODES,
    default_port,
    dns_lookup_failure,
    redirect_refusal,
    split_host_port,
    trim_right_space,
)

__all__ = ["USER_AGENT", "Http01Prober"]

#: Sent as Boulder sends it (``va/http.go``): a configured User-Agent and ``Accept: */*``.
USER_AGENT = "pytest-fakeacme VA (imitating Let's Encrypt validation)"

class _DialError(Exception):
    """A failure to connect (Boulder falls back from IPv6 to IPv4 only on these)."""

    def __init__(self, observation: Observation) -> None:
        super().__init__(observation.outcome.kind)
        self.observation = observation


@dataclass
class _Chain:
    """One attempt's state, kept across the IPv6-to-IPv4 replay as Boulder keeps it (the
    ``records`` and ``numRedirects`` of ``processHTTPValidation``'s closure)."""

    records: list[dict[str, Any]] = field(default_factory=list)
    redirects: int = 0


def _connection_problem(address: str, url: str, text: str) -> Outcome:
    return outcomes.problem("connection", f"{address}: Fetching {url}: {text}", 400)


def _with_url(outcome: Outcome, url: str) -> Outcome:
    """The outcome, showing ``url`` after ``Fetching`` (the hop that failed)."""
    return outcome.with_params(url=url)


def _refused(reason: str, target: str, location: str, code: int = 303) -> Outcome:
    # What the VA saw, as the scripted outcome names it (the target needs no re-checking: the
    # VA's own port, allowed here, is not one bad_redirect(to=...) knows about).
    return outcomes.bad_redirect(reason).with_params(to=target, code=code, url=location)


def _resolve_location(base: str, location: str) -> str | None:
    """Go's ``req.URL.Parse(location)``: an absolute target as it is (scheme and host
    lower-cased, as Go and ``processRedirect`` do), a relative one against ``base``; None when
    Go could not parse it."""
    try:
        parts = urlsplit(location)
        if not parts.scheme:
            parts = urlsplit(urljoin(base, location))
        port = split_host_port(parts.netloc)[1]
    except ValueError:
        return None
    if port is not None and not (port.isascii() and port.isdigit()):
        return None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    netloc = (userinfo + "@" if userinfo else "") + hostport.lower()
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, parts.fragment))


def _read_body(response: http.client.HTTPResponse) -> bytes:
    """Go's ``io.ReadAll(&io.LimitedReader{R: body, N: 128})``: up to 128 bytes; a body that
    ends before its ``Content-Length`` is an error (Go's ``unexpected EOF``), where Python's
    client would quietly return the bytes it got."""
    data = b""
    while len(data) < MAX_BODY:
        chunk = response.read(MAX_BODY - len(data))
        if not chunk:
            if response.length:  # bytes promised by Content-Length, never sent
                raise http.client.IncompleteRead(data, response.length)
            break
        data += chunk
    return data


def _connect(address: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to an IP literal. ``socket.create_connection`` would first run
    ``getaddrinfo`` on it, a cost an IP literal need not pay."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect((address, port))
    except BaseException:
        sock.close()
        raise
    return sock


def _is_h2_settings(status_line: str) -> bool:
    # Boulder's h2SettingsFrameErrRegex: a SETTINGS frame header where a status line should be.
    raw = status_line.encode("latin-1", "replace")
    return len(raw) >= 9 and raw[:2] == b"\x00\x00" and raw[3:9] == b"\x04\x00\x00\x00\x00\x00"


class Http01Prober:
    """Runs real http-01 validations against responders on this machine."""

    def __init__(self, dns: DNSData) -> None:
        self._dns = dns

    def probe(self, ctx: AttemptContext) -> Observation:
        """Validate ``ctx``'s challenge for real."""
        deadline = time.monotonic() + ctx.timeout
        if ctx.identifier.type == "dns":
            self._dns.observe(ctx.hostname, 28, 1)  # AAAA, then A
            v6, v4 = self._dns.lookup_addresses(ctx.hostname)
        else:
            v6, v4 = ([ctx.hostname], []) if ":" in ctx.hostname else ([], [ctx.hostname])
        # Boulder (newHTTPValidationTarget): the first AAAA, then the first A as the fallback.
        candidates = v6[:1] + v4[:1]
        chain = _Chain()
        for index, first_address in enumerate(candidates):
            try:
                return self._follow(ctx, first_address, chain, deadline)
            except _DialError as dial:
                # Boulder (fallbackErr): a dial error (at any hop) on the IPv6 attempt replays
                # the whole request from the initial URL over IPv4, records and redirect count
                # kept; any other error, or a dial error over IPv4, is the result.
                if index + 1 < len(candidates):
                    continue
                return dial.observation
        raise AssertionError("no address to try")  # pragma: no cover - lookups never empty

    def _follow(
        self, ctx: AttemptContext, first_address: str, chain: _Chain, deadline: float
    ) -> Observation:
        records = chain.records
        url = ctx.url
        address = first_address
        while True:
            record = http_record(url, ctx, address)
            record["addressesResolved"] = self._resolved(urlsplit(url).hostname or "", address)
            records.append(record)
            status, location, body, failure, dial = self._fetch(ctx, url, address, deadline)
            if failure is not None:
                seen = Observation(failure, records, address)
                if dial:
                    raise _DialError(seen)
                return seen
            if status in REDIRECT_CODES and location:
                target = _resolve_location(url, location)
                if target is None:
                    # Go: "failed to parse Location header", named after the URL that answered.
                    return Observation(
                        _connection_problem(address, url, "Error getting validation data"),
                        records,
                        address,
                    )
                refused = self._check_redirect(ctx, chain, target, location, status)
                if refused is not None:
                    return Observation(refused, records, address)
                host = urlsplit(target).hostname or ""
                how = self._lookup_failure(host)
                if how is not None:
                    # newHTTPValidationTarget's lookup fails in CheckRedirect: no record for
                    # the hop, the DNS error named after the raw Location (va/http.go:578-583).
                    return Observation(
                        outcomes.problem("dns", f"{address}: Fetching {location}: "
                                                f"{dns_lookup_failure(how, host)}", 400),
                        records,
                        address,
                    )
                next_address = self._address_for(host)
                if next_address is None:
                    return Observation(
                        outcomes.problem(
                            "serverInternal",
                            f"the fake's VA does not contact {host}, which is not a loopback "
                            f"address (the responder at {url} redirected to {location}); set "
                            "fake_acme.dns.allow_non_loopback = True to let it",
                            500,
                        ),
                        records,
                        address,
                    )
                url, address = target, next_address
                continue
            if status != 200:
                return Observation(outcomes.http_status(status, url=url), records, address)
            assert body is not None
            if len(body) >= MAX_BODY:
                return Observation(
                    _with_url(outcomes.body_too_large(body), url), records, address
                )
            if trim_right_space(body) == ctx.key_authorization.encode("utf-8"):
                return Observation(outcomes.valid(), records, address)
            return Observation(outcomes.wrong_body(body), records, address)

    def _resolved(self, host: str, address: str) -> list[str]:
        # addressesResolved: the AAAA records, then the A records (getAddrs, va/dns.go:86).
        try:
            ipaddress.ip_address(host)
            return [host]
        except ValueError:
            pass
        v6, v4 = self._dns.lookup_addresses(host)
        return v6 + v4 or [address]

    def _lookup_failure(self, host: str) -> str | None:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return self._dns.failure(host)
        return None

    def _address_for(self, host: str) -> str | None:
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            self._dns.observe(host, 28, 1)  # AAAA, then A
            v6, v4 = self._dns.lookup_addresses(host)
            found = v6 + v4
            if not found:
                return None
            ip = ipaddress.ip_address(found[0])
        if ip.is_loopback or self._dns.allow_non_loopback:
            return str(ip)
        return None

    def _check_redirect(
        self, ctx: AttemptContext, chain: _Chain, target: str, location: str, status: int
    ) -> Outcome | None:
        """Boulder's redirect rules (``va/http.go`` ``processRedirect`` and
        ``extractRequestTarget``), in its order. Go names a refused redirect by the raw
        ``Location`` (``url.Error.URL = loc``)."""
        if chain.redirects > MAX_REDIRECTS:
            return outcomes.too_many_redirects(url=location)
        chain.redirects += 1
        if status not in ALLOWED_REDIRECT_CODES:
            return _refused("status", target, location, status)
        reason = redirect_refusal(target, (80, 443, ctx.port, ctx.https_port))
        if reason is not None:
            return _refused(reason, target, location)
        if any(r["url"] == target for r in chain.records):
            return outcomes.redirect_loop(url=location)
        return None

    def _fetch(
        self, ctx: AttemptContext, url: str, address: str, deadline: float
    ) -> tuple[int, str | None, bytes | None, Outcome | None, bool]:
        """One GET: ``(status, location, body, failure, failure_was_a_dial_error)``."""
        parts = urlsplit(url)
        https = parts.scheme == "https"
        port = default_port(url)
        # The fake's stand-ins: 80 is the http-01 port, 443 the VA's https_port.
        connect_port = {80: ctx.port, 443: ctx.https_port}.get(port, port)
        remaining = max(deadline - time.monotonic(), 0.001)
        try:
            sock = _connect(address, connect_port, remaining)
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
            return 0, None, None, _connection_problem(address, url, text), True
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
                    # Go: "server gave HTTP response to HTTPS client" and the like.
                    failure = _connection_problem(address, url, "Error getting validation data")
                    return 0, None, None, failure, False
            conn = http.client.HTTPConnection(parts.hostname or address, port)
            conn.sock = sock
            path = parts.path or "/"
            if parts.query:
                path += "?" + parts.query
            conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", parts.netloc.rsplit("@", 1)[-1])
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
                    body = _read_body(response)
                except (OSError, http.client.HTTPException) as exc:
                    # Boulder: "Error reading HTTP response body: %v", unauthorized, with the
                    # IP prefix; Go's texts for a deadline and for a short body.
                    reason = (
                        "context deadline exceeded"
                        if isinstance(exc, TimeoutError)
                        else "unexpected EOF"
                    )
                    failure = outcomes.problem(
                        "unauthorized",
                        f"{address}: Error reading HTTP response body: {reason}",
                        403,
                    )
                    return 0, None, None, failure, False
            return status, location, body, None, False
        except TimeoutError:
            return 0, None, None, _with_url(outcomes.read_timeout(), url), False
        except http.client.RemoteDisconnected:
            # Closed without an answer: Go's "EOF", which detailedError does not name.
            failure = _connection_problem(address, url, "Error getting validation data")
            return 0, None, None, failure, False
        except ConnectionResetError:
            return 0, None, None, _with_url(outcomes.connection_reset(), url), False
        except (OSError, http.client.HTTPException, ValueError) as exc:
            text = "Error getting validation data"
            line = str(exc.args[0]) if exc.args else ""
            if isinstance(exc, http.client.BadStatusLine) and _is_h2_settings(line):
                text = "Server is speaking HTTP/2 over HTTP"
            return 0, None, None, _connection_problem(address, url, text), False
        finally:
            sock.close()
