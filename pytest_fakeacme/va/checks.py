"""The real checks: what an attempt amounts to when the VA looks at the client's responder or
DNS for itself (``outcomes.real()``), and CAA, checked after a successful challenge in the same
validation as Boulder does (``ra.checkDCVAndCAA``)."""

from __future__ import annotations

import base64
import hashlib
import ipaddress

from .. import outcomes, problems
from ..config import Settings
from ..dnsdata import DNSData
from ..errors import ScriptError
from ..model import DNS_PERSIST_01, DNS_TYPES, HTTP_01, Authorization
from ..outcomes import Outcome
from . import caa
from .attempt import AttemptContext, Finding
from .http01 import Http01Prober
from .policy import dns_lookup_failure
from .render import render
from .tlsalpn01 import TlsAlpn01Prober

#: RR type numbers (RFC 1035 3.2.2, RFC 3596 2.1) for the request history.
_A, _AAAA, _TXT = 1, 28, 16


class Checks:
    """Real validation against responders and DNS data on this machine."""

    def __init__(self, dns: DNSData, settings: Settings) -> None:
        self._dns = dns
        self._settings = settings
        self._http01 = Http01Prober(dns)
        self._tlsalpn01 = TlsAlpn01Prober()

    def resolve(self, outcome: Outcome, ctx: AttemptContext) -> Finding:
        """What ``outcome`` amounts to for this attempt (a real check when it is ``real``)."""
        if not outcome.is_real:
            return render(outcome, ctx)
        broken = self._dns_failure(ctx)
        if broken is not None:
            return render(broken, ctx)
        if ctx.identifier.type == "ip" and not self._dns.allow_non_loopback:
            address = ipaddress.ip_address(ctx.hostname)
            if not address.is_loopback:
                # The fake never connects beyond this machine unless a test says so.
                message = (
                    f"the fake's VA does not contact {address}: it is not a loopback address. "
                    "Order a loopback address, script the outcome, or set "
                    "fake_acme.dns.allow_non_loopback = True"
                )
                return Finding(
                    problems.server_internal("Unable to update challenge :: " + message),
                    (),
                    ScriptError(message),
                )
        refused = self._beyond_loopback(ctx)
        if refused is not None:
            return refused
        if ctx.challenge_type == HTTP_01:
            seen = self._http01.probe(ctx)
            finding = render(seen.outcome, ctx, seen.records, seen.address)
        elif ctx.challenge_type == DNS_PERSIST_01:
            finding = render(self._probe_dns_persist(ctx), ctx)
        elif ctx.challenge_type in DNS_TYPES:
            finding = render(self._probe_dns01(ctx), ctx)
        else:
            if ctx.identifier.type == "dns":
                self._dns.observe(ctx.hostname, _AAAA, _A)
            seen = self._tlsalpn01.probe(ctx)
            finding = render(seen.outcome, ctx, seen.records, seen.address)
        if finding.valid and ctx.identifier.type == "dns":
            forbidden = self._caa(ctx.hostname, ctx.wildcard, ctx.challenge_type,
                                  ctx.account_uri)
            if forbidden is not None:
                return render(forbidden, ctx, finding.records)
        return finding

    def _beyond_loopback(self, ctx: AttemptContext) -> Finding | None:
        """The VA's promise: it connects only to this machine unless a test allows more. A
        name resolving to another address is refused with a clear problem, and the test
        hears of it (a ScriptError)."""
        if ctx.challenge_type in DNS_TYPES:
            return None
        if not ctx.addresses:
            return render(outcomes.no_addresses(), ctx)
        if self._dns.allow_non_loopback:
            return None
        outside = [a for a in ctx.addresses if not ipaddress.ip_address(a).is_loopback]
        if not outside:
            return None
        message = (
            f"the fake's VA does not contact {outside[0]} ({ctx.hostname} resolves to it): it is "
            "not a loopback address. Point the name at a loopback address, script the outcome, "
            "or set fake_acme.dns.allow_non_loopback = True"
        )
        return Finding(problems.server_internal("Unable to update challenge :: " + message),
                       (), ScriptError(message))

    def recheck_caa(self, authz: Authorization, ctx: AttemptContext
                    ) -> problems.AcmeProblem | None:
        """Boulder's CAA recheck at finalize (``ra.recheckCAA``): the problem CAA gives now
        for ``authz``, or None when it still permits issuance."""
        forbidden = self._caa(authz.identifier.value, authz.wildcard, ctx.challenge_type,
                              ctx.account_uri)
        return None if forbidden is None else render(forbidden, ctx).problem

    def _caa(self, name: str, wildcard: bool, challenge_type: str, account_uri: str
             ) -> Outcome | None:
        return caa.check(self._dns, caa.CAAContext(
            name=name,
            wildcard=wildcard,
            challenge_type=challenge_type,
            account_uri=account_uri,
            identity=self._settings.caa_identity,
        ))

    def _dns_failure(self, ctx: AttemptContext) -> Outcome | None:
        """A lookup failure the fake's DNS data sets up for this name (``dns.fail``)."""
        if ctx.identifier.type != "dns":
            return None
        names = [ctx.txt_name, ctx.hostname] if ctx.challenge_type in DNS_TYPES else [ctx.hostname]
        for name in names:
            how = self._dns.failure(name)
            if how == "nxdomain":
                return outcomes.dns_nxdomain()
            if how == "servfail":
                return outcomes.dns_servfail()
            if how == "timeout":
                return outcomes.dns_timeout()
            if how == "refused":
                detail = (dns_lookup_failure(how, ctx.txt_name, ("TXT",))
                          if ctx.challenge_type in DNS_TYPES
                          else dns_lookup_failure(how, ctx.hostname))
                return outcomes.problem("dns", detail, 400)
        return None

    def _probe_dns_persist(self, ctx: AttemptContext) -> Outcome:
        # va/dns_persist.go: the records at _validation-persist.<name>, judged in render.
        self._dns.observe(ctx.txt_name, _TXT)
        values = self._dns.lookup_txt(ctx.txt_name)
        return outcomes.persist_txt(*values) if values else outcomes.txt_missing()

    def _probe_dns01(self, ctx: AttemptContext) -> Outcome:
        # RFC 8555 8.4: the TXT value is base64url(SHA-256(key authorization)), unpadded.
        digest = hashlib.sha256(ctx.key_authorization.encode("utf-8")).digest()
        expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
        self._dns.observe(ctx.txt_name, _TXT)
        values = self._dns.lookup_txt(ctx.txt_name)
        if not values:
            return outcomes.txt_missing()
        if expected in values:
            return outcomes.valid()
        return outcomes.txt_wrong(*values)

