"""From an outcome to what the client sees: Boulder's problem type, status, detail and record.

This is the one place that knows Let's Encrypt's wording (``va/va.go`` ``detailedError``,
``va/http.go``, ``va/dns.go``, ``va/tlsalpn.go``, ``va/caa.go``; reference/boulder-va.md). Both
the scripted outcomes and the real VA's observations come through :func:`render`, so they cannot
drift apart.

Layouts: http-01 ``<IP>: Fetching <url>: <reason>`` (but ``<IP>: Invalid response from <url>:
<status>`` for statuses and no prefix for a wrong body); tls-alpn-01 ``<IP>: <reason>`` (no
prefix for a wrong certificate); dns-01 no prefix; CAA ``While processing CAA for <ident>: ...``.

Validation records follow Boulder too: an http-01 attempt leaves one record per fetch (none when
the name did not resolve), a tls-alpn-01 attempt one record, a dns-01 attempt a record only when
the TXT check passed.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from .. import problems
from .._gofmt import go_quote
from ..errors import ScriptError
from ..model import DNS_ACCOUNT_01, DNS_TYPES, HTTP_01, TLS_ALPN_01, Identifier
from ..outcomes import Outcome

#: Boulder's ``maxResponseSize``: http-01 bodies of this many bytes or more are refused.
MAX_BODY = 128
#: Boulder's ``maxRedirect``: the 11th redirect is followed, the 12th refused.
MAX_REDIRECTS = 10
#: The default bodies and targets of the scripted redirect outcomes name their hops so.
_HOP = "{url}?hop={n}"


def account_label(account_uri: str) -> str:
    """draft-ietf-acme-dns-account-label: base32 of the first 10 bytes of SHA-256 of the
    account URL, lower case."""
    digest = hashlib.sha256(account_uri.encode("utf-8")).digest()[:10]
    return base64.b32encode(digest).decode("ascii").lower()


@dataclass(frozen=True)
class AttemptContext:
    """Everything about one validation attempt that its rendering needs."""

    challenge_type: str
    identifier: Identifier
    wildcard: bool
    token: str
    key_authorization: str
    #: The port the VA connects to (the fake's stand-in for 80, or for 443 for tls-alpn-01).
    port: int
    #: The addresses the name resolved to (IPv6 first, as Boulder tries them).
    addresses: tuple[str, ...]
    started: _dt.datetime
    #: The URL of the account asking (dns-account-01 derives its record name from it).
    account_uri: str = ""

    @property
    def hostname(self) -> str:
        """The name (or IP) being validated, without a wildcard's ``*.``."""
        return self.identifier.value

    @property
    def address(self) -> str:
        """The address a connection goes to (the first resolved one)."""
        return self.addresses[0] if self.addresses else "127.0.0.1"

    @property
    def resolved(self) -> list[str]:
        """``addressesResolved`` as Boulder lists it: the A records, then the AAAA records
        (``bdns`` ``LookupHost``)."""
        addresses = list(self.addresses) or [self.address]
        return [a for a in addresses if ":" not in a] + [a for a in addresses if ":" in a]

    @property
    def host_for_url(self) -> str:
        """The host as written in a URL (IPv6 literals bracketed)."""
        host = self.hostname
        if self.identifier.type == "ip" and ":" in host:
            return f"[{host}]"
        return host

    @property
    def url(self) -> str:
        """The http-01 challenge URL (RFC 8555 8.3); port 80 is left implicit."""
        netloc = self.host_for_url if self.port == 80 else f"{self.host_for_url}:{self.port}"
        return f"http://{netloc}/.well-known/acme-challenge/{self.token}"

    @property
    def txt_name(self) -> str:
        """The TXT record name: ``_acme-challenge.<name>`` (RFC 8555 8.4), and for
        dns-account-01 ``_<label>._acme-challenge.<name>`` with the account's label."""
        if self.challenge_type == DNS_ACCOUNT_01:
            return f"_{account_label(self.account_uri)}._acme-challenge.{self.hostname}"
        return f"_acme-challenge.{self.hostname}"

    @property
    def account_suffix(self) -> str:
        """Boulder's ``" (account: %q)"`` on dns-account-01 unauthorized details."""
        if self.challenge_type == DNS_ACCOUNT_01:
            return f" (account: {go_quote(self.account_uri)})"
        return ""


@dataclass(frozen=True)
class Finding:
    """The result of one attempt: a problem (None when valid) and the validation records."""

    problem: problems.AcmeProblem | None
    records: tuple[dict[str, Any], ...] = ()
    #: A misuse to re-raise in the test (the problem is then serverInternal).
    usage_error: ScriptError | None = field(default=None, compare=False)

    @property
    def valid(self) -> bool:
        """Whether the challenge passed."""
        return self.problem is None


# URLs, parsed the way Go's net/url reads them where it matters.


def split_host_port(netloc: str) -> tuple[str, str | None]:
    """``(host, port)`` of a URL's authority, the port as written (None when absent or empty,
    which Go treats alike). Unlike :attr:`urllib.parse.SplitResult.port` it never raises: a port
    of ``99999`` or ``abc`` comes back as written, for the caller to judge."""
    hostport = netloc.rsplit("@", 1)[-1]
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            return hostport, None
        host, rest = hostport[1:end], hostport[end + 1 :]
        port = rest[1:] if rest.startswith(":") else None
    elif ":" in hostport:
        host, port = hostport.rsplit(":", 1)
    else:
        host, port = hostport, None
    return host.lower(), (port or None)


def url_port(url: str) -> int | None:
    """The explicit port of ``url`` (None when it has none); a non-number is a ValueError."""
    port = split_host_port(urlsplit(url).netloc)[1]
    if port is None:
        return None
    if not port.isascii() or not port.isdigit():
        raise ValueError(f"invalid port {port!r} in {url!r}")
    return int(port)


def default_port(url: str) -> int:
    """The port a fetch of ``url`` goes to: its explicit port, else 80 or 443 by scheme."""
    try:
        port = url_port(url)
    except ValueError:
        port = None
    if port is not None:
        return port
    return 443 if urlsplit(url).scheme == "https" else 80


# Go's text helpers.

#: ``unicode.IsSpace``: what ``strings.TrimRightFunc(body, unicode.IsSpace)`` removes.
_GO_SPACE = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)


def trim_right_space(body: bytes) -> bytes:
    """Boulder's ``strings.TrimRightFunc(string(body), unicode.IsSpace)``: trailing white space
    (Go's definition, not Python's) goes, the left end stays; invalid UTF-8 is kept as is."""
    text = body.decode("utf-8", "surrogateescape")
    end = len(text)
    while end and text[end - 1] in _GO_SPACE:
        end -= 1
    return text[:end].encode("utf-8", "surrogateescape")


# Records.


def http_record(
    url: str, ctx: AttemptContext, address: str | None = None, resolved: bool = True
) -> dict[str, Any]:
    """An http-01 validationRecord entry (Boulder ``core.ValidationRecord``): the URL fetched,
    its host and port, the addresses the host resolved to and the one used."""
    record: dict[str, Any] = {
        "url": url,
        "hostname": urlsplit(url).hostname or ctx.hostname,
        "port": str(default_port(url)),
    }
    if resolved:
        record["addressesResolved"] = ctx.resolved
        record["addressUsed"] = address or ctx.address
    return record


def alpn_record(ctx: AttemptContext, address: str | None = None,
                resolved: bool = True) -> dict[str, Any]:
    """A tls-alpn-01 validationRecord entry (``va/tlsalpn.go`` ``tryGetChallengeCert``)."""
    record: dict[str, Any] = {"hostname": ctx.hostname, "port": str(ctx.port)}
    if resolved:
        record["addressesResolved"] = ctx.resolved
        record["addressUsed"] = address or ctx.address
    return record


def default_records(ctx: AttemptContext, resolved: bool = True) -> tuple[dict[str, Any], ...]:
    """The records a single, direct attempt leaves, by challenge type.

    Boulder: an http-01 attempt whose name does not resolve leaves none (``processHTTPValidation``
    fails before its first record); a tls-alpn-01 attempt always leaves its one record; a dns-01
    attempt leaves a record only when it passes (``validateDNS`` returns none with an error).
    """
    if ctx.challenge_type == HTTP_01:
        return (http_record(ctx.url, ctx),) if resolved else ()
    if ctx.challenge_type == TLS_ALPN_01:
        return (alpn_record(ctx, resolved=resolved),)
    return ({"hostname": ctx.hostname, "addressUsed": ""},)


# Details.


def _fetching(ctx: AttemptContext, url: str, reason: str, address: str | None = None) -> str:
    return f"{address or ctx.address}: Fetching {url}: {reason}"


def _connect_reason(
    ctx: AttemptContext, reason: str, url: str | None = None, address: str | None = None
) -> str:
    # detailedError: ipError adds "<IP>: ", a url.Error (http-01 only) "Fetching <url>: ".
    if ctx.challenge_type == HTTP_01:
        return _fetching(ctx, url or ctx.url, reason, address)
    return f"{address or ctx.address}: {reason}"


def _dns_lookup_detail(ctx: AttemptContext, what: str, suffix: str) -> str:
    # Boulder bdns: "DNS problem: <what> looking up <type> for <name><suffix>"; A and AAAA are
    # looked up in parallel and both errors are joined with "; " (bdns LookupHost).
    if ctx.challenge_type in DNS_TYPES:
        return f"DNS problem: {what} looking up TXT for {ctx.txt_name}{suffix}"
    return "; ".join(
        f"DNS problem: {what} looking up {rr} for {ctx.hostname}{suffix}" for rr in ("A", "AAAA")
    )


def _alpn_bad_cert(ctx: AttemptContext, reason: str, address: str | None = None) -> str:
    # badCertErr: net.JoinHostPort(AddressUsed, Port); no "<IP>: " prefix (a bare Unauthorized).
    used = address or ctx.address
    host = f"[{used}]" if ":" in used else used
    return (
        f"Incorrect validation certificate for {TLS_ALPN_01} challenge. Requested "
        f"{ctx.hostname} from {host}:{ctx.port}. {reason}"
    )


_ACME_IDENTIFIER_OID = "1.3.6.1.5.5.7.1.31"

_ALPN_REASONS = {
    "not_self_signed": "Received certificate which is not self-signed.",
    "missing_extension": "Received certificate with unexpected extensions: "
    + go_quote(f"Required extension OID {_ACME_IDENTIFIER_OID} is not present"),
    "duplicate_extension": "Received certificate with unexpected extensions: "
    + go_quote(f"Extension OID {_ACME_IDENTIFIER_OID} seen twice"),
    "not_critical": "Received certificate with acmeValidationV1 extension that is not Critical.",
    "malformed_extension": "Received certificate with malformed acmeValidationV1 extension "
    "value.",
}


def redirect_problem(ctx: AttemptContext, reason: str, target: str, url: str,
                     code: int = 303, address: str | None = None) -> problems.AcmeProblem:
    """The problem for a redirect the VA refuses (``va/http.go`` ``processRedirect`` and
    ``extractRequestTarget``). ``target`` is the redirect target, ``url`` the URL shown after
    ``Fetching`` (Go shows the raw ``Location`` of a refused redirect)."""
    parts = urlsplit(target)
    host = split_host_port(parts.netloc)[0]
    if reason == "status":
        text = "received disallowed redirect status code"
    elif reason == "scheme":
        text = (
            'Invalid protocol scheme in redirect target. Only "http" and "https" protocol '
            f"schemes are supported, not {go_quote(parts.scheme)}"
        )
    elif reason == "port":
        text = (
            "Invalid port in redirect target. Only ports 80 and 443 are supported, not "
            f"{url_port(target)}"
        )
    elif reason == "empty_host":
        text = "Invalid empty host in redirect target"
    elif reason == "well_known_host":
        text = (
            f"Invalid host in redirect target {go_quote(host)}. Check webserver "
            "config for missing '/' in redirect target."
        )
    elif reason == "tld":
        text = "Invalid host in redirect target, must end in IANA registered TLD"
    elif reason == "reserved_ip":
        text = "Invalid host in redirect target: " + (
            reserved_reason(host) or "IP address is in a reserved address block"
        )
    elif reason == "too_long":
        text = "Redirect target too long"
    else:  # pragma: no cover - reasons are checked by outcomes.bad_redirect
        raise ValueError(reason)
    return problems.connection(_fetching(ctx, url, text, address))


# Boulder iana/data/iana-{ipv4,ipv6}-special-registry-1.csv (Address Block, Name, RFC with runs
# of white space collapsed), plus the multicast blocks iana/ip.go adds; most specific first.
_IANA_SPECIAL = (
    ("0.0.0.0/8", '"This network"', "[RFC791], Section 3.2"),
    ("0.0.0.0/32", '"This host on this network"', "[RFC1122], Section 3.2.1.3"),
    ("10.0.0.0/8", "Private-Use", "[RFC1918]"),
    ("100.64.0.0/10", "Shared Address Space", "[RFC6598]"),
    ("127.0.0.0/8", "Loopback", "[RFC1122], Section 3.2.1.3"),
    ("169.254.0.0/16", "Link Local", "[RFC3927]"),
    ("172.16.0.0/12", "Private-Use", "[RFC1918]"),
    ("192.0.0.0/24", "IETF Protocol Assignments", "[RFC6890], Section 2.1"),
    ("192.0.0.0/29", "IPv4 Service Continuity Prefix", "[RFC7335]"),
    ("192.0.0.8/32", "IPv4 dummy address", "[RFC7600]"),
    ("192.0.0.9/32", "Port Control Protocol Anycast", "[RFC7723]"),
    ("192.0.0.10/32", "Traversal Using Relays around NAT Anycast", "[RFC8155]"),
    ("192.0.0.170/32", "NAT64/DNS64 Discovery", "[RFC8880][RFC7050], Section 2.2"),
    ("192.0.0.171/32", "NAT64/DNS64 Discovery", "[RFC8880][RFC7050], Section 2.2"),
    ("192.0.2.0/24", "Documentation (TEST-NET-1)", "[RFC5737]"),
    ("192.31.196.0/24", "AS112-v4", "[RFC7535]"),
    ("192.52.193.0/24", "AMT", "[RFC7450]"),
    ("192.88.99.0/24", "Deprecated (6to4 Relay Anycast)", "[RFC7526]"),
    ("192.168.0.0/16", "Private-Use", "[RFC1918]"),
    ("192.175.48.0/24", "Direct Delegation AS112 Service", "[RFC7534]"),
    ("198.18.0.0/15", "Benchmarking", "[RFC2544]"),
    ("198.51.100.0/24", "Documentation (TEST-NET-2)", "[RFC5737]"),
    ("203.0.113.0/24", "Documentation (TEST-NET-3)", "[RFC5737]"),
    ("240.0.0.0/4", "Reserved", "[RFC1112], Section 4"),
    ("255.255.255.255/32", "Limited Broadcast", "[RFC8190] [RFC919], Section 7"),
    ("::1/128", "Loopback Address", "[RFC4291]"),
    ("::/128", "Unspecified Address", "[RFC4291]"),
    ("::ffff:0:0/96", "IPv4-mapped Address", "[RFC4291]"),
    ("64:ff9b::/96", "IPv4-IPv6 Translat.", "[RFC6052]"),
    ("64:ff9b:1::/48", "IPv4-IPv6 Translat.", "[RFC8215]"),
    ("100::/64", "Discard-Only Address Block", "[RFC6666]"),
    ("100:0:0:1::/64", "Dummy IPv6 Prefix", "[RFC9780]"),
    ("2001::/23", "IETF Protocol Assignments", "[RFC2928]"),
    ("2001::/32", "TEREDO", "[RFC4380] [RFC8190]"),
    ("2001:1::1/128", "Port Control Protocol Anycast", "[RFC7723]"),
    ("2001:1::2/128", "Traversal Using Relays around NAT Anycast", "[RFC8155]"),
    ("2001:1::3/128", "DNS-SD Service Registration Protocol Anycast", "[RFC-ietf-dnssd-srp-25]"),
    ("2001:2::/48", "Benchmarking", "[RFC5180][RFC Errata 1752]"),
    ("2001:3::/32", "AMT", "[RFC7450]"),
    ("2001:4:112::/48", "AS112-v6", "[RFC7535]"),
    ("2001:10::/28", "Deprecated (previously ORCHID)", "[RFC4843]"),
    ("2001:20::/28", "ORCHIDv2", "[RFC7343]"),
    ("2001:30::/28", "Drone Remote ID Protocol Entity Tags (DETs) Prefix", "[RFC9374]"),
    ("2001:db8::/32", "Documentation", "[RFC3849]"),
    ("2002::/16", "6to4", "[RFC3056]"),
    ("2620:4f:8000::/48", "Direct Delegation AS112 Service", "[RFC7534]"),
    ("3fff::/20", "Documentation", "[RFC9637]"),
    ("5f00::/16", "Segment Routing (SRv6) SIDs", "[RFC9602]"),
    ("fc00::/7", "Unique-Local", "[RFC4193] [RFC8190]"),
    ("fe80::/10", "Link-Local Unicast", "[RFC4291]"),
    ("224.0.0.0/4", "Multicast Addresses", "[RFC3171]"),
    ("ff00::/8", "Multicast Addresses", "[RFC4291]"),
)
_RESERVED = sorted(
    ((ipaddress.ip_network(block), f"{rfc}: {name}") for block, name, rfc in _IANA_SPECIAL),
    key=lambda entry: -entry[0].prefixlen,
)


def reserved_reason(host: str) -> str | None:
    """Boulder's ``iana.IsReservedAddr`` text for a reserved IP address (e.g. ``IP address is
    in a reserved address block: [RFC1918]: Private-Use``); None when ``host`` is not one."""
    try:
        ip = ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    for net, label in _RESERVED:
        if ip.version == net.version and ip in net:
            return f"IP address is in a reserved address block: {label}"
    return None


#: Top-level domains that Boulder's public-suffix check refuses and that tests reach for. The
#: fake accepts every other TLD (``.example``, ``.test`` ...) so that tests can use them.
NOT_IANA_TLDS = frozenset({"invalid", "local", "localdomain", "internal", "lan", "home", "corp"})
#: Boulder's ``maxPathSize`` for redirect targets.
MAX_PATH = 2000


def redirect_refusal(target: str, allowed_ports: tuple[int, ...] = (80, 443)) -> str | None:
    """Which of :data:`~pytest_fakeacme.outcomes.BAD_REDIRECT_REASONS` (other than
    ``"status"``) Boulder refuses the redirect target ``target`` for, in Boulder's order
    (``extractRequestTarget``: scheme, port, empty host, ``.well-known`` host, reserved IP,
    TLD; then the path length); None when it follows it. Loopback addresses stand in for the
    client's public ones, so they are not refused. A port that is not a number raises
    ValueError (Go cannot parse such a ``Location`` at all)."""
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https"):
        return "scheme"
    port = url_port(target)
    if port is not None and port not in allowed_ports:
        return "port"
    host = split_host_port(parts.netloc)[0]
    if not host:
        return "empty_host"
    if host.endswith(".well-known"):
        return "well_known_host"
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        labels = host.rstrip(".").split(".")
        if host != "localhost" and (len(labels) < 2 or labels[-1] in NOT_IANA_TLDS):
            return "tld"
    else:
        if not ip.is_loopback and reserved_reason(host) is not None:
            return "reserved_ip"
    if len(unquote(parts.path)) > MAX_PATH:
        return "too_long"
    return None


_DEFAULT_REDIRECT_TARGETS = {
    "status": None,
    "scheme": "gopher://{host}/.well-known/acme-challenge/{token}",
    "port": "http://{host}:8080/.well-known/acme-challenge/{token}",
    "empty_host": "http:///.well-known/acme-challenge/{token}",
    "well_known_host": "http://{host}.well-known/acme-challenge/{token}",
    "tld": "http://invalid.invalid/.well-known/acme-challenge/{token}",
    "reserved_ip": "http://10.0.0.1/.well-known/acme-challenge/{token}",
    "too_long": "http://{host}/" + "a" * 2001,
}

#: Outcomes after which a dns-01 attempt still shows its record: the TXT check itself passed.
_DNS01_PASSED = frozenset({"valid", "caa_forbids", "secondary_fails"})
_NAME_FAILURES = frozenset({"dns_nxdomain", "dns_servfail", "dns_timeout", "no_addresses"})


def _misuse(message: str) -> Finding:
    return Finding(
        problems.server_internal("Unable to update challenge :: " + message),
        (),
        ScriptError(message),
    )


def render(
    outcome: Outcome,
    ctx: AttemptContext,
    records: Sequence[dict[str, Any]] | None = None,
    address: str | None = None,
) -> Finding:
    """The finding for ``outcome`` in ``ctx``.

    ``records`` and ``address`` are the real VA's observations (the records it left, the address
    of its last connection); a scripted outcome gets the records a direct attempt would leave.
    """
    if not outcome.applies_to(ctx.challenge_type):
        return _misuse(
            f"the scripted outcome {outcome!r} cannot apply to the {ctx.challenge_type} "
            f"challenge the client chose for {ctx.hostname} (it applies to "
            f"{', '.join(sorted(outcome.challenge_types))} only)"
        )
    kind, params = outcome.kind, outcome.params
    if kind == "caa_forbids" and ctx.identifier.type != "dns":
        return _misuse(
            f"the scripted outcome {outcome!r} cannot apply to the IP identifier "
            f"{ctx.hostname}: Let's Encrypt checks CAA for DNS names only"
        )
    if records is not None:
        recs = tuple(records)
    elif ctx.challenge_type in DNS_TYPES and kind not in _DNS01_PASSED:
        recs = ()
    else:
        # A custom "dns" problem (e.g. REFUSED from the fake's DNS data) is a lookup failure.
        name_failed = kind in _NAME_FAILURES or (
            kind == "problem" and params["problem"].type == "dns"
        )
        recs = default_records(ctx, resolved=not name_failed)
    prob: problems.AcmeProblem | None

    if kind == "valid":
        prob = None
    elif kind == "http_status":
        url = params.get("url") or ctx.url
        prob = problems.unauthorized(
            f"{address or ctx.address}: Invalid response from {url}: {params['code']}"
        )
    elif kind == "wrong_body":
        got = trim_right_space(bytes(params["body"]))
        prob = problems.unauthorized(
            "The key authorization file from the server did not match this challenge. "
            f"Expected {go_quote(ctx.key_authorization)} (got {go_quote(got)})"
        )
    elif kind == "body_too_large":
        url = params.get("url") or ctx.url
        prob = problems.unauthorized(
            f"{address or ctx.address}: Invalid response from {url}: "
            f"{go_quote(bytes(params['body'])[:MAX_BODY])}"
        )
    elif kind == "connect_timeout":
        prob = problems.connection(
            _connect_reason(ctx, "Timeout during connect (likely firewall problem)",
                            params.get("url"), address)
        )
    elif kind == "read_timeout":
        prob = problems.connection(
            _connect_reason(ctx, "Timeout after connect (your server may be slow or overloaded)",
                            params.get("url"), address)
        )
    elif kind == "connection_refused":
        prob = problems.connection(
            _connect_reason(ctx, "Connection refused", params.get("url"), address)
        )
    elif kind == "connection_reset":
        prob = problems.connection(
            _connect_reason(ctx, "Connection reset by peer", params.get("url"), address)
        )
    elif kind == "tls_alert":
        if ctx.challenge_type == HTTP_01:
            # Only a redirect reaches https (on 443): by default, the challenge path there.
            url = params.get("url") or (
                f"https://{ctx.host_for_url}/.well-known/acme-challenge/{ctx.token}"
            )
            if records is None:
                recs = (http_record(ctx.url, ctx), http_record(url, ctx))
            alert = params.get("alert") or "handshake failure"
            prob = problems.tls(_fetching(ctx, url, f"remote error: tls: {alert}", address))
        else:
            alert = params.get("alert") or "no application protocol"
            prob = problems.tls(f"{address or ctx.address}: remote error: tls: {alert}")
    elif kind == "redirect_loop":
        # The redirects came back to a URL already fetched: by default the challenge URL, after
        # one redirect away from it; else ``url``, reached from the challenge URL.
        url = params.get("url") or ctx.url
        if records is None:
            away = _HOP.format(url=ctx.url, n=1) if url == ctx.url else url
            recs = (http_record(ctx.url, ctx), http_record(away, ctx))
        prob = problems.connection(_fetching(ctx, url, "Redirect loop detected", address))
    elif kind == "too_many_redirects":
        # Boulder follows 11 redirects (12 fetches, 12 records) and refuses the 12th target.
        url = params.get("url") or _HOP.format(url=ctx.url, n=MAX_REDIRECTS + 2)
        if records is None:
            hops = [
                http_record(_HOP.format(url=ctx.url, n=n), ctx)
                for n in range(1, MAX_REDIRECTS + 2)
            ]
            recs = (http_record(ctx.url, ctx), *hops)
        prob = problems.connection(_fetching(ctx, url, "Too many redirects", address))
    elif kind == "bad_redirect":
        reason = params["reason"]
        template = _DEFAULT_REDIRECT_TARGETS[reason]
        target = params.get("to") or (
            template.format(host=ctx.host_for_url, token=ctx.token) if template else ctx.url
        )
        # Go wraps a CheckRedirect refusal in a url.Error naming the redirect target.
        shown = params.get("url") or target
        prob = redirect_problem(ctx, reason, target, shown, params.get("code", 303), address)
    elif kind == "dns_nxdomain":
        prob = problems.dns(
            _dns_lookup_detail(ctx, "NXDOMAIN",
                               " - check that a DNS record exists for this domain")
        )
    elif kind == "dns_servfail":
        prob = problems.dns(
            _dns_lookup_detail(ctx, "SERVFAIL", " - the domain's nameservers may be malfunctioning")
        )
    elif kind == "dns_timeout":
        prob = problems.dns(_dns_lookup_detail(ctx, "query timed out", ""))
    elif kind == "no_addresses":
        prob = problems.dns(
            f"no valid A records found for {ctx.hostname}; "
            f"no valid AAAA records found for {ctx.hostname}"
        )
    elif kind == "txt_missing":
        prob = problems.unauthorized(f"No TXT record found at {ctx.txt_name}{ctx.account_suffix}")
    elif kind == "txt_wrong":
        values = list(params["values"])
        # Go slices the string's bytes: invalidRecord[0:100] + "...".
        first = values[0].encode("utf-8", "surrogateescape")
        if len(first) > 100:
            first = first[:100] + b"..."
        more = f" (and {len(values) - 1} more)" if len(values) > 1 else ""
        prob = problems.unauthorized(
            f"Incorrect TXT record {go_quote(first)}{more} found at {ctx.txt_name}"
            f"{ctx.account_suffix}"
        )
    elif kind == "alpn_bad_cert":
        prob = _render_alpn(ctx, params["variant"], params, address)
    elif kind == "caa_forbids":
        ident = ("*." if ctx.wildcard else "") + ctx.hostname
        found_at = params.get("found_at") or ctx.hostname
        prob = problems.caa(
            f"While processing CAA for {ident}: CAA record for {found_at} prevents issuance"
        )
    elif kind == "secondary_fails":
        inner = params.get("inner") or _default_secondary(ctx)
        inner_finding = render(inner, ctx)
        if inner_finding.usage_error is not None:
            return inner_finding
        if inner_finding.problem is None:  # pragma: no cover - excluded by secondary_fails()
            raise ValueError("secondary_fails needs a failing inner outcome")
        inner_prob = inner_finding.problem
        prob = problems.problem(
            inner_prob.type,
            "During secondary validation: " + inner_prob.detail,
            inner_prob.status,
        )
    elif kind == "va_unreachable":
        prob = problems.server_internal("Could not communicate with VA")
        recs = ()
    elif kind == "problem":
        prob = params["problem"]
    else:  # pragma: no cover - every constructor's kind is handled above
        raise ValueError(f"no rendering for outcome kind {kind!r}")
    return Finding(prob, recs)


def _default_secondary(ctx: AttemptContext) -> Outcome:
    from .. import outcomes

    if ctx.challenge_type == HTTP_01:
        return outcomes.http_status(404)
    if ctx.challenge_type in DNS_TYPES:
        return outcomes.txt_missing()
    return outcomes.connection_refused()


def _render_alpn(
    ctx: AttemptContext, variant: str, params: Any, address: str | None
) -> problems.AcmeProblem:
    if variant == "no_alpn":
        return problems.unauthorized(
            f'Cannot negotiate ALPN protocol "acme-tls/1" for {TLS_ALPN_01} challenge'
        )
    if variant == "plain_http":
        # A tls.RecordHeaderError reading "HTTP/": detailedError's malformed branch.
        return problems.malformed(f"{address or ctx.address}: Server only speaks HTTP, not TLS")
    if variant == "wrong_san":
        names = params.get("names") or f"wrong.{ctx.hostname}"
        reason = (
            f"Received certificate with unexpected identifiers ({go_quote(names)}): "
            + go_quote("identifier does not match expected identifier")
        )
        return problems.unauthorized(_alpn_bad_cert(ctx, reason, address))
    if variant == "wrong_digest":
        expected = hashlib.sha256(ctx.key_authorization.encode()).hexdigest()
        got = params.get("got") or hashlib.sha256(b"not the key authorization").hexdigest()
        reason = (
            f"Received certificate with acmeValidationV1 extension value {got} but expected "
            f"{expected}."
        )
        return problems.unauthorized(_alpn_bad_cert(ctx, reason, address))
    return problems.unauthorized(_alpn_bad_cert(ctx, _ALPN_REASONS[variant], address))
