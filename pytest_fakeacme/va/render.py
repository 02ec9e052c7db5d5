"""From an outcome to what the client sees: Boulder's problem type, status, detail and record.

This is the one place that knows Let's Encrypt's wording (``va/va.go`` ``detailedError``,
``va/http.go``, ``va/dns.go``, ``va/tlsalpn.go``, ``va/caa.go``; reference/boulder-va.md). Both
the scripted outcomes and the real VA's observations come through :func:`render`, so they cannot
drift apart.

Layouts: http-01 ``<IP>: Fetching <url>: <reason>`` (but ``<IP>: Invalid response from <url>:
<status>`` for statuses and no prefix for a wrong body); tls-alpn-01 ``<IP>: <reason>``; dns-01
no prefix; CAA ``While processing CAA for <ident>: ...``.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .. import problems
from .._gofmt import go_quote
from ..errors import ScriptError
from ..model import DNS_01, HTTP_01, TLS_ALPN_01, Identifier
from ..outcomes import Outcome

#: Boulder's ``maxResponseSize``: http-01 bodies of this many bytes or more are refused.
MAX_BODY = 128


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

    @property
    def hostname(self) -> str:
        """The name (or IP) being validated, without a wildcard's ``*.``."""
        return self.identifier.value

    @property
    def address(self) -> str:
        """The address a connection goes to (the first resolved one)."""
        return self.addresses[0] if self.addresses else "127.0.0.1"

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
        """The dns-01 record name (RFC 8555 8.4)."""
        return f"_acme-challenge.{self.hostname}"


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


def http_record(
    url: str, ctx: AttemptContext, address: str | None = None, resolved: bool = True
) -> dict[str, Any]:
    """An http-01 validationRecord entry (Boulder ``core.ValidationRecord``)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    record: dict[str, Any] = {"url": url, "hostname": parts.hostname or ctx.hostname,
                              "port": str(port)}
    if resolved:
        record["addressesResolved"] = list(ctx.addresses) or [ctx.address]
        record["addressUsed"] = address or ctx.address
    return record


def default_records(ctx: AttemptContext, resolved: bool = True) -> tuple[dict[str, Any], ...]:
    """The record a single, direct attempt leaves, by challenge type."""
    if ctx.challenge_type == HTTP_01:
        return (http_record(ctx.url, ctx, resolved=resolved),)
    if ctx.challenge_type == TLS_ALPN_01:
        record: dict[str, Any] = {"hostname": ctx.hostname, "port": str(ctx.port)}
        if resolved:
            record["addressesResolved"] = list(ctx.addresses) or [ctx.address]
            record["addressUsed"] = ctx.address
        return (record,)
    return ({"hostname": ctx.hostname, "addressUsed": ""},)


def _fetching(ctx: AttemptContext, url: str, reason: str, address: str | None = None) -> str:
    return f"{address or ctx.address}: Fetching {url}: {reason}"


def _connect_reason(ctx: AttemptContext, reason: str, url: str | None = None) -> str:
    if ctx.challenge_type == HTTP_01:
        return _fetching(ctx, url or ctx.url, reason)
    return f"{ctx.address}: {reason}"


def _dns_lookup_detail(ctx: AttemptContext, what: str, suffix: str) -> str:
    # Boulder bdns: "DNS problem: <what> looking up <type> for <name><suffix>"; A and AAAA are
    # looked up in parallel and both errors are joined with "; " (va/dns.go getAddrs).
    if ctx.challenge_type == DNS_01:
        return f"DNS problem: {what} looking up TXT for {ctx.txt_name}{suffix}"
    return "; ".join(
        f"DNS problem: {what} looking up {rr} for {ctx.hostname}{suffix}" for rr in ("A", "AAAA")
    )


def _alpn_bad_cert(ctx: AttemptContext, reason: str) -> str:
    host = f"[{ctx.address}]" if ":" in ctx.address else ctx.address
    return (
        f"Incorrect validation certificate for {TLS_ALPN_01} challenge. Requested "
        f"{ctx.hostname} from {host}:{ctx.port}. {reason}"
    )


_ALPN_REASONS = {
    "not_self_signed": "Received certificate which is not self-signed.",
    "missing_extension": 'Received certificate with unexpected extensions: "Required extension '
    'OID 1.3.6.1.5.5.7.1.31 is not present"',
    "duplicate_extension": 'Received certificate with unexpected extensions: "Extension OID '
    '1.3.6.1.5.5.7.1.31 seen twice"',
    "not_critical": "Received certificate with acmeValidationV1 extension that is not Critical.",
    "malformed_extension": "Received certificate with malformed acmeValidationV1 extension "
    "value.",
}


def redirect_problem(ctx: AttemptContext, reason: str, target: str, url: str,
                     code: int = 303, address: str | None = None) -> problems.AcmeProblem:
    """The problem for a redirect the VA refuses (``va/http.go`` ``extractRequestTarget`` and
    the redirect checker). ``url`` is the URL shown after ``Fetching``."""
    parts = urlsplit(target)
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
            f"{parts.port}"
        )
    elif reason == "empty_host":
        text = "Invalid empty host in redirect target"
    elif reason == "well_known_host":
        text = (
            f"Invalid host in redirect target {go_quote(parts.hostname or '')}. Check webserver "
            "config for missing '/' in redirect target."
        )
    elif reason == "tld":
        text = "Invalid host in redirect target, must end in IANA registered TLD"
    elif reason == "reserved_ip":
        text = "Invalid host in redirect target: " + reserved_reason(parts.hostname or "")
    elif reason == "too_long":
        text = "Redirect target too long"
    else:  # pragma: no cover - reasons are checked by outcomes.bad_redirect
        raise ValueError(reason)
    return problems.connection(_fetching(ctx, url, text, address))


def reserved_reason(host: str) -> str:
    """Boulder's ``iana.IsReservedAddr`` wording for a reserved address."""
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return "IP address is in a reserved address block"
    for net, label in _RESERVED:
        if ip.version == net.version and ip in net:
            return f"IP address is in a reserved address block: {label}"
    return "IP address is in a reserved address block"


_RESERVED = [
    (ipaddress.ip_network(n), label)
    for n, label in (
        ("10.0.0.0/8", "[RFC1918]: Private-Use"),
        ("172.16.0.0/12", "[RFC1918]: Private-Use"),
        ("192.168.0.0/16", "[RFC1918]: Private-Use"),
        ("100.64.0.0/10", "[RFC6598]: Shared Address Space"),
        ("169.254.0.0/16", "[RFC3927]: Link Local"),
        ("0.0.0.0/8", '[RFC791]: "This network"'),
        ("127.0.0.0/8", "[RFC1122]: Loopback"),
        ("192.0.2.0/24", "[RFC5737]: Documentation (TEST-NET-1)"),
        ("198.51.100.0/24", "[RFC5737]: Documentation (TEST-NET-2)"),
        ("203.0.113.0/24", "[RFC5737]: Documentation (TEST-NET-3)"),
        ("224.0.0.0/4", "[RFC3171]: Multicast Address Space"),
        ("240.0.0.0/4", "[RFC1112]: Reserved"),
        ("::1/128", "[RFC4291]: Loopback Address"),
        ("fc00::/7", "[RFC4193]: Unique-Local"),
        ("fe80::/10", "[RFC4291]: Link-Local Unicast"),
        ("2001:db8::/32", "[RFC3849]: Documentation"),
    )
]

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


def render(
    outcome: Outcome,
    ctx: AttemptContext,
    records: Sequence[dict[str, Any]] | None = None,
    address: str | None = None,
) -> Finding:
    """The finding for ``outcome`` in ``ctx``.

    ``records`` and ``address`` are the real VA's observations; a scripted outcome gets the
    records a direct attempt would leave.
    """
    if not outcome.applies_to(ctx.challenge_type):
        message = (
            f"scripted outcome {outcome!r} cannot apply to a {ctx.challenge_type} challenge "
            f"(it applies to {', '.join(sorted(outcome.challenge_types))}); the client chose "
            f"{ctx.challenge_type} for {ctx.hostname}"
        )
        return Finding(
            problems.server_internal("Unable to update challenge :: " + message),
            (),
            ScriptError(message),
        )
    kind, params = outcome.kind, outcome.params
    resolved = kind not in ("dns_nxdomain", "dns_servfail", "dns_timeout", "no_addresses")
    recs = tuple(records) if records is not None else default_records(ctx, resolved)
    prob: problems.AcmeProblem | None

    if kind == "valid":
        prob = None
    elif kind == "http_status":
        url = params.get("url") or ctx.url
        prob = problems.unauthorized(
            f"{address or ctx.address}: Invalid response from {url}: {params['code']}"
        )
    elif kind == "wrong_body":
        got = bytes(params["body"]).decode("utf-8", "surrogateescape").rstrip()
        prob = problems.unauthorized(
            "The key authorization file from the server did not match this challenge. "
            f"Expected {go_quote(ctx.key_authorization)} "
            f"(got {go_quote(got.encode('utf-8', 'surrogateescape'))})"
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
                            params.get("url"))
        )
    elif kind == "read_timeout":
        prob = problems.connection(
            _connect_reason(ctx, "Timeout after connect (your server may be slow or overloaded)",
                            params.get("url"))
        )
    elif kind == "connection_refused":
        prob = problems.connection(_connect_reason(ctx, "Connection refused", params.get("url")))
    elif kind == "connection_reset":
        prob = problems.connection(
            _connect_reason(ctx, "Connection reset by peer", params.get("url"))
        )
    elif kind == "tls_alert":
        if ctx.challenge_type == HTTP_01:
            url = params.get("url") or ctx.url.replace("http://", "https://", 1).replace(
                f":{ctx.port}/", "/", 1
            )
            alert = params.get("alert") or "handshake failure"
            prob = problems.tls(_fetching(ctx, url, f"remote error: tls: {alert}", address))
        else:
            alert = params.get("alert") or "no application protocol"
            prob = problems.tls(f"{ctx.address}: remote error: tls: {alert}")
    elif kind == "redirect_loop":
        # The hop that came back: the responder redirected to a URL already fetched (by
        # default the challenge URL itself, after one redirect).
        url = params.get("url") or ctx.url
        if records is None:
            recs = (http_record(ctx.url, ctx), http_record(f"{ctx.url}?hop=1", ctx))
        prob = problems.connection(_fetching(ctx, url, "Redirect loop detected", address))
    elif kind == "too_many_redirects":
        # Boulder follows 11 redirects (12 fetches, 12 records) and refuses the 12th target.
        url = params.get("url") or f"{ctx.url}?hop=12"
        if records is None:
            hops = [http_record(f"{ctx.url}?hop={n}", ctx) for n in range(1, 12)]
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
        prob = problems.unauthorized(f"No TXT record found at {ctx.txt_name}")
    elif kind == "txt_wrong":
        values = list(params["values"])
        first = values[0] if len(values[0]) <= 100 else values[0][:100] + "..."
        more = f" (and {len(values) - 1} more)" if len(values) > 1 else ""
        prob = problems.unauthorized(
            f"Incorrect TXT record {go_quote(first)}{more} found at {ctx.txt_name}"
        )
    elif kind == "alpn_bad_cert":
        prob = _render_alpn(ctx, params["variant"], params)
    elif kind == "caa_forbids":
        ident = ("*." if ctx.wildcard else "") + ctx.hostname
        found_at = params.get("found_at") or ctx.hostname
        prob = problems.caa(
            f"While processing CAA for {ident}: CAA record for {found_at} prevents issuance"
        )
    elif kind == "secondary_fails":
        inner = params.get("inner") or _default_secondary(ctx)
        inner_finding = render(inner, ctx)
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
    if ctx.challenge_type == DNS_01:
        return outcomes.txt_missing()
    return outcomes.connection_refused()


def _render_alpn(ctx: AttemptContext, variant: str, params: Any) -> problems.AcmeProblem:
    if variant == "no_alpn":
        return problems.unauthorized(
            f'Cannot negotiate ALPN protocol "acme-tls/1" for {TLS_ALPN_01} challenge'
        )
    if variant == "plain_http":
        return problems.malformed(f"{ctx.address}: Server only speaks HTTP, not TLS")
    if variant == "wrong_san":
        names = params.get("names") or f"wrong.{ctx.hostname}"
        reason = (
            f"Received certificate with unexpected identifiers ({go_quote(names)}): "
            + go_quote("identifier does not match expected identifier")
        )
        return problems.unauthorized(_alpn_bad_cert(ctx, reason))
    if variant == "wrong_digest":
        import hashlib

        expected = hashlib.sha256(ctx.key_authorization.encode()).hexdigest()
        got = params.get("got") or hashlib.sha256(b"not the key authorization").hexdigest()
        reason = (
            f"Received certificate with acmeValidationV1 extension value {got} but expected "
            f"{expected}."
        )
        return problems.unauthorized(_alpn_bad_cert(ctx, reason))
    return problems.unauthorized(_alpn_bad_cert(ctx, _ALPN_REASONS[variant]))
