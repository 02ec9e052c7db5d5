"""CAA (RFC 8659) from the fake's DNS data, as Boulder checks it after a successful validation
(``va/caa.go``): climb from the name towards the root to the closest non-empty CAA RRset, then
look for an ``issue`` (or, for a wildcard, ``issuewild``) record naming the fake, honouring the
``accounturi`` and ``validationmethods`` parameters (RFC 8657)."""

from __future__ import annotations

from dataclasses import dataclass

from .. import outcomes
from ..dnsdata import CAARecord, DNSData
from ..outcomes import Outcome

#: The CAA RR type number (RFC 8659 4.1).
_CAA = 257

_KNOWN_TAGS = frozenset({"issue", "issuewild", "iodef", "issuemail", "issuevmc"})


@dataclass(frozen=True)
class CAAContext:
    """What the CAA check needs to know about the attempt."""

    name: str
    wildcard: bool
    challenge_type: str
    account_uri: str
    identity: str


def _parse(value: str) -> tuple[str, dict[str, str]] | None:
    """``"ca.example; accounturi=https://...; validationmethods=dns-01"`` -> issuer, params;
    None when malformed (RFC 8659 4.2)."""
    issuer, _, rest = value.partition(";")
    params: dict[str, str] = {}
    for part in rest.split(";"):
        part = part.strip()
        if not part:
            continue
        key, sep, val = part.partition("=")
        if not sep or not key.strip() or key.strip() in params:
            return None  # Boulder: a malformed or duplicate parameter forbids issuance
        params[key.strip()] = val.strip()
    return issuer.strip(), params


def _permits(records: list[CAARecord], ctx: CAAContext) -> bool:
    for record in records:
        # RFC 8659 4.1's critical bit is 128; Boulder also takes 1 for it, as many record
        # owners misread the RFC (va/caa.go:214-222).
        if record.flags & (128 | 1) and record.tag.lower() not in _KNOWN_TAGS:
            return False  # an unknown critical property
    issuewild = [r for r in records if r.tag.lower() == "issuewild"]
    relevant = issuewild if ctx.wildcard and issuewild else [
        r for r in records if r.tag.lower() == "issue"
    ]
    if not relevant:
        return True  # no issue/issuewild property: CAA does not restrict issuance
    for record in relevant:
        parsed = _parse(record.value)
        if parsed is None:
            continue
        issuer, params = parsed
        if issuer.lower() != ctx.identity.lower():
            continue
        if "accounturi" in params and params["accounturi"] != ctx.account_uri:
            continue
        if "validationmethods" in params and ctx.challenge_type not in [
            m.strip() for m in params["validationmethods"].split(",")
        ]:
            continue
        return True
    return False


def check(dns: DNSData, ctx: CAAContext) -> Outcome | None:
    """None when CAA permits issuance; otherwise the outcome the client must see."""
    labels = ctx.name.split(".")
    for index in range(len(labels)):
        name = ".".join(labels[index:])
        failure = dns.failure(name)
        if failure in ("servfail", "timeout", "refused"):
            what = {
                "servfail": "SERVFAIL",
                "timeout": "query timed out",
                "refused": "REFUSED",
            }[failure]
            suffix = " - the domain's nameservers may be malfunctioning" if (
                failure == "servfail"
            ) else ""
            ident = ("*." if ctx.wildcard else "") + ctx.name
            return outcomes.problem(
                "dns",
                f"While processing CAA for {ident}: DNS problem: {what} looking up CAA for "
                f"{name}{suffix}",
                400,
            )
        dns.observe(name, _CAA)
        records = dns.lookup_caa(name) if failure != "nxdomain" else []
        if records:
            if _permits(records, ctx):
                return None
            return outcomes.caa_forbids(found_at=name)
    return None
