"""Identifier policy (Boulder ``policy/pa.go``): which names and addresses newOrder (and the
contacts of newAccount) accept, with Boulder's problem for each refusal.

Two modes. ``strict`` (the setting ``strict_identifiers``) is Boulder's whole policy: a name
must end in a public suffix of the ICANN section of the Public Suffix List (from the
``publicsuffixlist`` package) without being one, and an IP address must lie outside the IANA
special-purpose registries. The default is Boulder's policy with two leniencies that tests
need: names under a top-level domain the Public Suffix List does not know (``a.example``,
``*.test``, ``host.localhost``) and loopback addresses (``127.0.0.0/8``, ``::1``) are accepted.
Every other rule holds in both modes, and whenever a name is refused, the detail is the one
Boulder gives for it.

Boulder's block lists (its ``HighRiskBlockedNames`` and the like) are Let's Encrypt's private
configuration and are not reproduced.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from typing import Any

from publicsuffixlist import PublicSuffixList

from .. import problems
from .._gofmt import go_quote
from ..model import Identifier
from ..va.policy import reserved_reason

_DNS_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")
_LDH_LABEL = re.compile(r"^[a-z0-9-]+$")
_IDENTIFIERS_CONTEXT = "Invalid identifiers requested :: "
#: The ICANN section of the Public Suffix List (Boulder ``iana.ExtractSuffix`` reads only it).
_PSL = PublicSuffixList(only_icann=True, accept_unknown=False)
#: Boulder's ``forbiddenMailDomains`` (policy/pa.go:376-385): RFC 2606's example domains.
FORBIDDEN_MAIL_DOMAINS = frozenset({"example.com", "example.net", "example.org"})

NON_PUBLIC = "Domain name does not end with a valid public suffix (TLD)"


def icann_suffix(domain: str) -> str | None:
    """Boulder ``iana.ExtractSuffix``: the ICANN public suffix ``domain`` ends in, or None
    when its top-level domain is not in the list."""
    return _PSL.publicsuffix(domain)


def _suffix_problem(domain: str, strict: bool, wildcard: bool) -> tuple[str, str] | None:
    """The public-suffix rules of ``validNonWildcardDomain`` and ``ValidDomain``."""
    suffix = icann_suffix(domain)
    if suffix is None:
        # The default's leniency: a top-level domain the list does not know (a special-use
        # name such as .example or .test) is accepted.
        return ("malformed", NON_PUBLIC) if strict else None
    if suffix == domain:
        return ("malformed", "Domain name is a wildcard for an ICANN TLD" if wildcard
                else "Domain name is an ICANN TLD")
    return None


def _label_problem(label: str) -> tuple[str, str] | None:
    if not label:
        return "malformed", "Domain name can not have two dots in a row"
    if len(label) > 63:
        return "malformed", "Domain has a label (component between dots) longer than 63 bytes"
    if not _LDH_LABEL.fullmatch(label) or label[0] == "-" or label[-1] == "-":
        return "malformed", "Domain name contains an invalid character"
    if len(label) >= 4 and label[2:4] == "--":
        if label[:2] != "xn":
            return (
                "rejectedIdentifier",
                "Domain name contains an invalid label in a reserved format (R-LDH: '??--')",
            )
        try:
            ulabel = label[4:].encode("ascii").decode("punycode")
        except UnicodeError:
            return "malformed", "Domain name contains malformed punycode"
        if not unicodedata.is_normalized("NFC", ulabel):
            return "malformed", "Domain name contains malformed punycode"
    return None


def _non_wildcard_problem(domain: str, strict: bool) -> tuple[str, str] | None:
    """Boulder ``policy.validNonWildcardDomain`` (policy/pa.go:223-310): ``(problem type,
    detail)`` or None."""
    if domain == "":
        return "malformed", "Identifier value (name) is empty"
    if domain.startswith("*."):
        return "malformed", "Wildcard domain names are not supported"
    if any(ch not in _DNS_CHARACTERS for ch in domain):
        return "malformed", "Domain name contains an invalid character"
    if len(domain) > 253:
        return "malformed", "Domain name is longer than 253 bytes"
    try:
        ipaddress.ip_address(domain)
    except ValueError:
        pass
    else:
        return "malformed", "Identifier type is DNS but value is an IP address"
    if domain.endswith("."):
        return "malformed", "Domain name ends in a dot"
    labels = domain.split(".")
    if len(labels) > 10:
        return "malformed", "Domain name has more than 10 labels (parts)"
    if len(labels) < 2:
        return "malformed", "Domain name needs at least one dot"
    for label in labels:
        found = _label_problem(label)
        if found is not None:
            return found
    return _suffix_problem(domain, strict, wildcard=False)


def _domain_problem(domain: str, strict: bool) -> tuple[str, str] | None:
    """Boulder ``policy.ValidDomain`` (policy/pa.go:315-345): wildcard rules, the suffix of a
    wildcard's base before its syntax, then the base's own rules."""
    if "*" not in domain:
        return _non_wildcard_problem(domain, strict)
    if domain.count("*") > 1:
        return "malformed", "Domain name has more than one wildcard"
    if not domain.startswith("*."):
        return (
            "malformed",
            "Domain name contains an invalid wildcard. A wildcard is only permitted before the "
            "first dot in a domain name",
        )
    base = domain[2:]
    found = _suffix_problem(base, strict, wildcard=True)
    if found is not None:
        return found
    return _non_wildcard_problem(base, strict)


def dns_name_problem(name: str, strict: bool = False) -> str | None:
    """Why Let's Encrypt would refuse ``name`` as a wildcard-free DNS name (Boulder's
    detail), or None."""
    found = _non_wildcard_problem(name, strict)
    return None if found is None else found[1]


def _go_ip_string(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    # netip.Addr.String(): RFC 5952, with IPv4-mapped IPv6 written as ::ffff:a.b.c.d.
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return f"::ffff:{addr.ipv4_mapped}"
    return str(addr)


def _is_loopback(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return addr in ipaddress.ip_network("127.0.0.0/8") or str(addr) == "::1"


def _ip_problem(value: str, strict: bool) -> tuple[str, str] | None:
    """Boulder ``policy.ValidIP`` (policy/pa.go:347-369): the RFC 8738 textual form, outside
    the IANA special-purpose registries. Boulder's registry error is not one of its own
    typed errors, so the problem type is rejectedIdentifier (``subError``, pa.go:404-420)."""
    if value == "":
        return "malformed", "Identifier value (name) is empty"
    try:
        addr = ipaddress.ip_address(value.split("%", 1)[0])
    except ValueError:
        return "malformed", "IP address is invalid"
    if "%" in value or _go_ip_string(addr) != value:
        return "malformed", "IP address is invalid"
    if not strict and _is_loopback(addr):
        return None  # the default's leniency: tests validate loopback addresses
    reason = reserved_reason(value)
    if reason is not None:
        return "rejectedIdentifier", reason
    return None


def email_domain_problem(domain: str, strict: bool = False) -> str | None:
    """The domain rules of Boulder ``policy.ValidEmail`` (policy/pa.go:386-401) for the
    domain of a contact address (lower case): a valid name, not a forbidden one."""
    reason = dns_name_problem(domain, strict)
    if reason is not None:
        return f"contact email has invalid domain: {reason}"
    if domain in FORBIDDEN_MAIL_DOMAINS:
        return f"contact email has forbidden domain {go_quote(domain)}"
    return None


def _identifiers_problem(
    failures: list[tuple[Identifier, str, str]],
) -> problems.AcmeProblem:
    """Boulder ``combineSubErrors`` under the WFE's ``Invalid identifiers requested`` context:
    one bad identifier is the problem; several are subproblems, each with its identifier."""
    ident, _, detail = failures[0]
    head = f"{_IDENTIFIERS_CONTEXT}Cannot issue for {go_quote(ident.value)}: {detail}"
    if len(failures) == 1:
        # Boulder names the identifier in the detail only (policy/pa.go:525-531).
        return problems.rejected_identifier(head)
    subs = [
        problems.problem(kind, _IDENTIFIERS_CONTEXT + sub_detail, 400, identifier=i.to_json())
        for i, kind, sub_detail in failures
    ]
    return problems.problem(
        "rejectedIdentifier",
        f"{head} (and {len(failures) - 1} more problems. Refer to sub-problems for more "
        "information.)",
        400,
        subproblems=subs,
    )


def normalize_identifiers(raw: list[dict[str, str]]) -> list[Identifier]:
    """Boulder ``identifier.Normalize``: values lowercased, duplicates dropped, sorted by
    value with DNS names before IP addresses."""
    idents = {Identifier(r["type"], r["value"].lower()) for r in raw}
    return sorted(idents, key=lambda i: (i.type != "dns", i.value))


def check_identifiers(idents: list[Identifier], strict: bool = False) -> None:
    """Boulder ``policy.WellFormedIdentifiers``: every bad identifier, in one problem."""
    failures: list[tuple[Identifier, str, str]] = []
    for ident in idents:
        if ident.type == "dns":
            found = _domain_problem(ident.value, strict)
        else:
            found = _ip_problem(ident.value, strict)
        if found is not None:
            failures.append((ident, found[0], found[1]))
    if failures:
        raise _identifiers_problem(failures)


def check_type_and_value(raw: dict[str, Any]) -> None:
    """Boulder's NewOrder checks of one identifier object: a supported type, a value."""
    kind, value = raw.get("type") or "", raw.get("value") or ""
    if kind not in ("dns", "ip"):
        raise problems.unsupported_identifier(
            f"NewOrder request included unsupported identifier: type {go_quote(kind)}, "
            f"value {go_quote(value)}"
        )
    if value == "":
        raise problems.malformed("NewOrder request included empty identifier")


def wildcard_overlap(idents: list[Identifier]) -> None:
    """Boulder ``wildcardOverlap`` (ra/ra.go:2365-2386): a name and a wildcard that covers it
    in one order. Only the first label is replaced by ``*``."""
    wildcards = {i.value for i in idents if i.type == "dns" and i.value.startswith("*.")}
    for ident in idents:
        if ident.type != "dns" or ident.value.startswith("*."):
            continue
        labels = ident.value.split(".")
        labels[0] = "*"
        if ".".join(labels) in wildcards:
            raise problems.malformed(
                f"Error creating new order :: Domain name {go_quote(ident.value)} is redundant "
                "with a wildcard domain in the same request. Remove one or the other from the "
                "certificate request."
            )
