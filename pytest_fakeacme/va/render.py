"""From an outcome to what the client sees: Boulder's problem type, status, detail and record.

This is the one place that knows Let's Encrypt's wording (``va/va.go`` ``detailedError``,
``va/http.go``, ``va/dns.go``, ``va/tlsalpn.go``, ``va/caa.go``). Both the scripted outcomes and
the real VA's observations come through :func:`render`, so they cannot drift apart. Each kind of
:data:`~pytest_fakeacme.outcomes.KINDS` has one renderer in :data:`RENDERERS` (``real`` excepted:
it is not a finding but a request to look).

Layouts: http-01 ``<IP>: Fetching <url>: <reason>`` (but ``<IP>: Invalid response from <url>:
<status>`` for statuses and no prefix for a wrong body); tls-alpn-01 ``<IP>: <reason>`` (no
prefix for a wrong certificate); dns-01 no prefix; CAA ``While processing CAA for <ident>: ...``.

Validation records follow Boulder too: an http-01 attempt leaves one record per fetch (none when
the name did not resolve), a tls-alpn-01 attempt one record, a dns-01 attempt a record only when
the TXT check passed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .. import outcomes, problems
from .._gofmt import go_quote
from ..errors import ScriptError
from ..model import DNS_PERSIST_01, DNS_TYPES, HTTP_01, TLS_ALPN_01
from ..outcomes import Outcome
from . import dns_persist
from .attempt import AttemptContext, Finding, default_records, http_record
from .policy import (
    MAX_BODY,
    MAX_REDIRECTS,
    dns_lookup_failure,
    reserved_reason,
    split_host_port,
    trim_right_space,
    url_port,
)

#: The default bodies and targets of the scripted redirect outcomes name their hops so.
_HOP = "{url}?hop={n}"


@dataclass
class _Job:
    """One rendering: the attempt, the outcome's parameters, and the records to show (a
    renderer may replace the default records of a scripted outcome)."""

    ctx: AttemptContext
    params: Mapping[str, Any]
    address: str
    observed: bool
    records: tuple[dict[str, Any], ...]

    def fetching(self, url: str, reason: str) -> str:
        return f"{self.address}: Fetching {url}: {reason}"

    def connect_reason(self, reason: str) -> str:
        # detailedError: ipError adds "<IP>: ", a url.Error (http-01 only) "Fetching <url>: ".
        if self.ctx.challenge_type == HTTP_01:
            return self.fetching(self.params.get("url") or self.ctx.url, reason)
        return f"{self.address}: {reason}"

    def default(self, *records: dict[str, Any]) -> None:
        """Show ``records`` unless the real VA observed its own."""
        if not self.observed:
            self.records = records


Render = Callable[[_Job], problems.AcmeProblem | None]


@dataclass(frozen=True)
class Renderer:
    """How one kind of outcome reads: its problem, and what the records of a scripted one
    default to (``name_failed``: the name did not resolve, so http-01 leaves no record;
    ``txt_passed``: a dns-01 attempt's TXT check passed, so it leaves its record)."""

    render: Render
    name_failed: bool = False
    txt_passed: bool = False


def _http_status(job: _Job) -> problems.AcmeProblem:
    url = job.params.get("url") or job.ctx.url
    return problems.unauthorized(f"{job.address}: Invalid response from {url}: "
                                 f"{job.params['code']}")


def _wrong_body(job: _Job) -> problems.AcmeProblem:
    got = trim_right_space(bytes(job.params["body"]))
    return problems.unauthorized(
        "The key authorization file from the server did not match this challenge. "
        f"Expected {go_quote(job.ctx.key_authorization)} (got {go_quote(got)})"
    )


def _body_too_large(job: _Job) -> problems.AcmeProblem:
    url = job.params.get("url") or job.ctx.url
    return problems.unauthorized(
        f"{job.address}: Invalid response from {url}: "
        f"{go_quote(bytes(job.params['body'])[:MAX_BODY])}"
    )


def _connection(reason: str) -> Render:
    return lambda job: problems.connection(job.connect_reason(reason))


def _tls_alert(job: _Job) -> problems.AcmeProblem:
    ctx = job.ctx
    if ctx.challenge_type != HTTP_01:
        alert = job.params.get("alert") or "no application protocol"
        return problems.tls(f"{job.address}: remote error: tls: {alert}")
    # Only a redirect reaches https (on 443): by default, the challenge path there.
    url = job.params.get("url") or (
        f"https://{ctx.host_for_url}/.well-known/acme-challenge/{ctx.token}"
    )
    job.default(http_record(ctx.url, ctx), http_record(url, ctx))
    alert = job.params.get("alert") or "handshake failure"
    return problems.tls(job.fetching(url, f"remote error: tls: {alert}"))


def _redirect_loop(job: _Job) -> problems.AcmeProblem:
    # The redirects came back to a URL already fetched: by default the challenge URL, after one
    # redirect away from it; else ``url``, reached from the challenge URL.
    ctx = job.ctx
    url = job.params.get("url") or ctx.url
    away = _HOP.format(url=ctx.url, n=1) if url == ctx.url else url
    job.default(http_record(ctx.url, ctx), http_record(away, ctx))
    return problems.connection(job.fetching(url, "Redirect loop detected"))


def _too_many_redirects(job: _Job) -> problems.AcmeProblem:
    # Boulder follows 11 redirects (12 fetches, 12 records) and refuses the 12th target.
    ctx = job.ctx
    url = job.params.get("url") or _HOP.format(url=ctx.url, n=MAX_REDIRECTS + 2)
    hops = [http_record(_HOP.format(url=ctx.url, n=n), ctx) for n in range(1, MAX_REDIRECTS + 2)]
    job.default(http_record(ctx.url, ctx), *hops)
    return problems.connection(job.fetching(url, "Too many redirects"))


_DEFAULT_REDIRECT_TARGETS = {
    "status": None,
    "scheme": "gopher://{host}/.well-known/acme-challenge/{token}",
    "port": "http://{host}:8080/.well-known/acme-challenge/{token}",
    "empty_host": "http:///.well-known/acme-challenge/{token}",
    "well_known_host": "http://{host}.well-known/acme-challenge/{token}",
    "tld": "http://invalid.invalid/.well-known/acme-challenge/{token}",
    "reserved_ip": "http://10.0.0.1/.well-known/acme-challenge/{token}",
    "scope_zone": "http://[fe80::1%25eth0]/.well-known/acme-challenge/{token}",
    "too_long": "http://{host}/" + "a" * 2001,
}


def _redirect_text(reason: str, target: str) -> str:
    """Why Boulder refuses a redirect (``va/http.go`` ``processRedirect`` and
    ``extractRequestTarget``)."""
    parts = urlsplit(target)
    host = split_host_port(parts.netloc)[0]
    texts: dict[str, Callable[[], str]] = {
        "status": lambda: "received disallowed redirect status code",
        "scheme": lambda: (
            'Invalid protocol scheme in redirect target. Only "http" and "https" protocol '
            f"schemes are supported, not {go_quote(parts.scheme)}"
        ),
        "port": lambda: (
            "Invalid port in redirect target. Only ports 80 and 443 are supported, not "
            f"{url_port(target)}"
        ),
        "empty_host": lambda: "Invalid empty host in redirect target",
        "well_known_host": lambda: (
            f"Invalid host in redirect target {go_quote(host)}. Check webserver "
            "config for missing '/' in redirect target."
        ),
        "scope_zone": lambda: "Invalid host in redirect target: contains scope zone",
        "tld": lambda: "Invalid host in redirect target, must end in IANA registered TLD",
        "reserved_ip": lambda: "Invalid host in redirect target: " + (
            reserved_reason(host) or "IP address is in a reserved address block"
        ),
        "too_long": lambda: "Redirect target too long",
    }
    return texts[reason]()


def _bad_redirect(job: _Job) -> problems.AcmeProblem:
    ctx, reason = job.ctx, job.params["reason"]
    template = _DEFAULT_REDIRECT_TARGETS[reason]
    target = job.params.get("to") or (
        template.format(host=ctx.host_for_url, token=ctx.token) if template else ctx.url
    )
    # Go wraps a CheckRedirect refusal in a url.Error naming the redirect target.
    shown = job.params.get("url") or target
    return problems.connection(job.fetching(shown, _redirect_text(reason, target)))


#: va/dns_persist.go: a lookup error is wrapped so.
_PERSIST_LOOKUP = "Retrieving TXT records for DNS-PERSIST-01 challenge: "


def _dns_lookup(how: str) -> Render:
    # Boulder bdns: "DNS problem: <what> looking up <type> for <name><suffix>"; A and AAAA are
    # looked up in parallel and both errors are joined with "; " (getAddrs).
    def render(job: _Job) -> problems.AcmeProblem:
        ctx = job.ctx
        if ctx.challenge_type in DNS_TYPES:
            prefix = _PERSIST_LOOKUP if ctx.challenge_type == DNS_PERSIST_01 else ""
            return problems.dns(prefix + dns_lookup_failure(how, ctx.txt_name, ("TXT",)))
        return problems.dns(dns_lookup_failure(how, ctx.hostname))
    return render


def _no_addresses(job: _Job) -> problems.AcmeProblem:
    name = job.ctx.hostname
    return problems.dns(f"no valid A records found for {name}; "
                        f"no valid AAAA records found for {name}")


def _txt_missing(job: _Job) -> problems.AcmeProblem:
    if job.ctx.challenge_type == DNS_PERSIST_01:
        return problems.unauthorized("No TXT record found for DNS-PERSIST-01 challenge")
    return problems.unauthorized(
        f"No TXT record found at {job.ctx.txt_name}{job.ctx.account_suffix}"
    )


def _txt_wrong(job: _Job) -> problems.AcmeProblem:
    if job.ctx.challenge_type == DNS_PERSIST_01:
        return problems.unauthorized("No valid TXT record found for DNS-PERSIST-01 challenge")
    values = list(job.params["values"])
    # Go slices the string's bytes: invalidRecord[0:100] + "...".
    first = values[0].encode("utf-8", "surrogateescape")
    if len(first) > 100:
        first = first[:100] + b"..."
    more = f" (and {len(values) - 1} more)" if len(values) > 1 else ""
    return problems.unauthorized(
        f"Incorrect TXT record {go_quote(first)}{more} found at {job.ctx.txt_name}"
        f"{job.ctx.account_suffix}"
    )


def _persist_txt(job: _Job) -> problems.AcmeProblem | None:
    ctx = job.ctx
    found = dns_persist.judge(list(job.params["records"]), ctx.issuer_domain, ctx.account_uri,
                              ctx.wildcard, ctx.started)
    if found is None:
        job.default({"hostname": ctx.hostname, "addressUsed": ""})
        return None
    job.default()
    kind, detail = found
    return problems.problem(kind, detail, 400 if kind == "malformed" else 403)


_ACME_IDENTIFIER_OID = "1.3.6.1.5.5.7.1.31"

_ALPN_REASONS = {
    "not_self_signed": "Received certificate which is not self-signed.",
    "missing_extension": "Received certificate with unexpected extensions: "
    + go_quote(f"Required extension OID {_ACME_IDENTIFIER_OID} is not present"),
    "missing_san": "Received certificate with unexpected extensions: "
    + go_quote("Required extension OID 2.5.29.17 is not present"),
    "not_critical": "Received certificate with acmeValidationV1 extension that is not Critical.",
    "malformed_extension": "Received certificate with malformed acmeValidationV1 extension "
    "value.",
}


def _alpn_bad_cert(job: _Job) -> problems.AcmeProblem:
    ctx, params, variant = job.ctx, job.params, job.params["variant"]
    if variant == "no_alpn":
        return problems.unauthorized(
            f'Cannot negotiate ALPN protocol "acme-tls/1" for {TLS_ALPN_01} challenge'
        )
    if variant == "plain_http":
        # A tls.RecordHeaderError reading "HTTP/": detailedError's malformed branch.
        return problems.malformed(f"{job.address}: Server only speaks HTTP, not TLS")
    if variant == "duplicate_extension":
        # Go's TLS client (1.19 on) refuses to parse such a certificate and ends the handshake;
        # detailedError has nothing better to say (va/tlsalpn_test.go:768-807).
        return problems.connection(f"{job.address}: Error getting validation data")
    if variant == "wrong_san":
        names = params.get("names") or f"wrong.{ctx.hostname}"
        why = params.get("why") or "identifier does not match expected identifier"
        reason = (
            f"Received certificate with unexpected identifiers ({go_quote(names)}): "
            + go_quote(why)
        )
    elif variant == "wrong_digest":
        expected = hashlib.sha256(ctx.key_authorization.encode()).hexdigest()
        got = params.get("got") or hashlib.sha256(b"not the key authorization").hexdigest()
        reason = (
            f"Received certificate with acmeValidationV1 extension value {got} but expected "
            f"{expected}."
        )
    else:
        reason = _ALPN_REASONS[variant]
    # badCertErr: net.JoinHostPort(AddressUsed, Port); no "<IP>: " prefix (a bare Unauthorized).
    host = f"[{job.address}]" if ":" in job.address else job.address
    return problems.unauthorized(
        f"Incorrect validation certificate for {TLS_ALPN_01} challenge. Requested "
        f"{ctx.hostname} from {host}:{ctx.port}. {reason}"
    )


def _caa_forbids(job: _Job) -> problems.AcmeProblem:
    ctx = job.ctx
    ident = ("*." if ctx.wildcard else "") + ctx.hostname
    found_at = job.params.get("found_at") or ctx.hostname
    return problems.caa(
        f"While processing CAA for {ident}: CAA record for {found_at} prevents issuance"
    )


def _default_secondary(ctx: AttemptContext) -> Outcome:
    if ctx.challenge_type == HTTP_01:
        return outcomes.http_status(404)
    if ctx.challenge_type in DNS_TYPES:
        return outcomes.txt_missing()
    return outcomes.connection_refused()


def _secondary_fails(job: _Job) -> problems.AcmeProblem:
    inner = job.params.get("inner") or _default_secondary(job.ctx)
    found = render(inner, job.ctx)
    if found.usage_error is not None:
        raise found.usage_error
    assert found.problem is not None, "secondary_fails() takes failing inner outcomes only"
    return problems.problem(found.problem.type,
                            "During secondary validation: " + found.problem.detail,
                            found.problem.status)


def _va_unreachable(job: _Job) -> problems.AcmeProblem:
    job.records = ()
    return problems.server_internal("Could not communicate with VA")


#: One renderer per kind of outcome (``real`` is not rendered: the VA looks instead).
RENDERERS: Mapping[str, Renderer] = {
    "valid": Renderer(lambda job: None, txt_passed=True),
    "http_status": Renderer(_http_status),
    "wrong_body": Renderer(_wrong_body),
    "body_too_large": Renderer(_body_too_large),
    "connect_timeout": Renderer(_connection("Timeout during connect (likely firewall problem)")),
    "read_timeout": Renderer(
        _connection("Timeout after connect (your server may be slow or overloaded)")
    ),
    "connection_refused": Renderer(_connection("Connection refused")),
    "connection_reset": Renderer(_connection("Connection reset by peer")),
    "tls_alert": Renderer(_tls_alert),
    "redirect_loop": Renderer(_redirect_loop),
    "too_many_redirects": Renderer(_too_many_redirects),
    "bad_redirect": Renderer(_bad_redirect),
    "dns_nxdomain": Renderer(_dns_lookup("nxdomain"), name_failed=True),
    "dns_servfail": Renderer(_dns_lookup("servfail"), name_failed=True),
    "dns_timeout": Renderer(_dns_lookup("timeout"), name_failed=True),
    "no_addresses": Renderer(_no_addresses, name_failed=True),
    "txt_missing": Renderer(_txt_missing),
    "txt_wrong": Renderer(_txt_wrong),
    "persist_txt": Renderer(_persist_txt),
    "alpn_bad_cert": Renderer(_alpn_bad_cert),
    "caa_forbids": Renderer(_caa_forbids, txt_passed=True),
    "secondary_fails": Renderer(_secondary_fails, txt_passed=True),
    "va_unreachable": Renderer(_va_unreachable),
    "problem": Renderer(lambda job: job.params["problem"]),
}
_UNRENDERED = set(outcomes.KINDS) - set(RENDERERS) - {"real"}
assert not _UNRENDERED, f"outcome kinds without a renderer: {sorted(_UNRENDERED)}"


def misuse(message: str) -> Finding:
    """A script that cannot apply: ``serverInternal`` for the client, the message for the test."""
    return Finding(
        problems.server_internal("Unable to update challenge :: " + message),
        (),
        ScriptError(message),
    )


def _scripted_records(renderer: Renderer, outcome: Outcome, ctx: AttemptContext
                      ) -> tuple[dict[str, Any], ...]:
    if ctx.challenge_type in DNS_TYPES and not renderer.txt_passed:
        return ()
    # A custom "dns" problem (e.g. REFUSED from the fake's DNS data) is a lookup failure.
    name_failed = renderer.name_failed or (
        outcome.kind == "problem" and outcome.params["problem"].type == "dns"
    )
    return default_records(ctx, resolved=not name_failed)


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
        return misuse(
            f"the scripted outcome {outcome!r} cannot apply to the {ctx.challenge_type} "
            f"challenge the client chose for {ctx.hostname} (it applies to "
            f"{', '.join(sorted(outcome.challenge_types))} only)"
        )
    if outcome.kind == "caa_forbids" and ctx.identifier.type != "dns":
        return misuse(
            f"the scripted outcome {outcome!r} cannot apply to the IP identifier "
            f"{ctx.hostname}: Let's Encrypt checks CAA for DNS names only"
        )
    renderer = RENDERERS[outcome.kind]
    observed = records is not None
    job = _Job(
        ctx=ctx,
        params=outcome.params,
        address=address or ctx.address,
        observed=observed,
        records=tuple(records) if records is not None
        else _scripted_records(renderer, outcome, ctx),
    )
    try:
        problem = renderer.render(job)
    except ScriptError as exc:
        return Finding(problems.server_internal("Unable to update challenge :: " + str(exc)),
                       (), exc)
    return Finding(problem, job.records)
