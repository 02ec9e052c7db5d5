"""Identifier policy (Boulder ``policy/pa.go``): which names and addresses newOrder (and the
contacts of newAccount) accept, with Boulder's problem for each refusal.

The fake is more lenient than Let's Encrypt on purpose: names under special-use TLDs
(``.example``, ``.test``) and loopback IP addresses are accepted, because tests need them.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from typing import Any

from .. import problems
from .._gofmt import go_quote
from ..model import Identifier

#: Boulder's ``maxNames``: identifiers per order.
MAX_IDENTIFIERS = 100
_DNS_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")
_LDH_LABEL = re.compile(r"^[a-z0-9-]+$")
_IDENTIFIERS_CONTEXT = "Invalid identifiers requested :: "


def _non_wildcard_problem(domain: str) -> tuple[str, str] | None:
    """Boulder ``policy.validNonWildcardDomain``: ``(problem type, detail)`` or None.

    The public-suffix checks are left out on purpose: tests use names under ``.example``,
    ``.test`` and ``.localhost``, which Let's Encrypt would refuse."""
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


def _domain_problem(domain: str) -> tuple[str, str] | None:
    """Boulder ``policy.ValidDomain``: wildcard rules, then the name's own."""
    if "*" not in domain:
        return _non_wildcard_problem(domain)
    if domain.count("*") > 1:
        return "malformed", "Domain name has more than one wildcard"
    if not domain.startswith("*."):
        return (
            "malformed",
            "Domain name contains an invalid wildcard. A wildcard is only permitted before the "
            "first dot in a domain name",
        )
    return _non_wildcard_problem(domain[2:])


def dns_name_problem(name: str, wildcard_allowed: bool = True) -> str | None:
    """Why Let's Encrypt would refuse ``name`` as a DNS name (Boulder's detail), or None."""
    found = _domain_problem(name) if wildcard_allowed else _non_wildcard_problem(name)
    return None if found is None else found[1]


def _go_ip_string(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    # netip.Addr.String(): RFC 5952, with IPv4-mapped IPv6 written as ::ffff:a.b.c.d.
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return f"::ffff:{addr.ipv4_mapped}"
    return str(addr)


def _ip_problem(value: str) -> tuple[str, str] | None:
    """Boulder ``policy.ValidIP``: the RFC 8738 textual form. The IANA special-purpose check
    is left out on purpose, so that tests can validate loopback addresses."""
    if "%" in value:
        return "malformed", "IP address is invalid"
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        return "malformed", "IP address is invalid"
    if _go_ip_string(addr) != value:
        return "malformed", "IP address is invalid"
    return None


def _identifiers_problem(
    failures: list[tuple[Identifier, str, str]],
) -> problems.AcmeProblem:
    """Boulder ``combineSubErrors`` under the WFE's ``Invalid identifiers requested`` context:
    one bad identifier is the problem; several are subproblems, each with its identifier."""
    ident, _, detail = failures[0]
    head = f"{_IDENTIFIERS_CONTEXT}Cannot issue for {go_quote(ident.value)}: {detail}"
    if len(failures) == 1:
        # The identifier member is this fake's addition (Boulder names it in the detail only).
        return problems.rejected_identifier(head, identifier=ident.to_json())
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


def check_identifiers(idents: list[Identifier]) -> None:
    """Boulder ``policy.WellFormedIdentifiers``: every bad identifier, in one problem."""
    failures: list[tuple[Identifier, str, str]] = []
    for ident in idents:
        found = _domain_problem(ident.value) if ident.type == "dns" else _ip_problem(ident.value)
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
