"""Boulder's validation policy: the limits, the URL rules and the IANA special-purpose address
table the VA applies, with no knowledge of outcomes or wording.

``va/http.go`` (``maxResponseSize``, ``maxRedirect``, ``maxPathSize``, ``processRedirect``,
``extractRequestTarget``), ``iana/ip.go`` and its registry data. URLs are read the way Go's
``net/url`` reads them where the difference shows in a detail.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import unquote, urlsplit

#: Boulder's ``maxResponseSize``: http-01 bodies of this many bytes or more are refused.
MAX_BODY = 128
#: Boulder's ``maxRedirect``: the 11th redirect is followed, the 12th refused.
MAX_REDIRECTS = 10
#: Boulder's ``maxPathSize`` for redirect targets.
MAX_PATH = 2000
#: The statuses Go's client treats as redirects (``redirectBehavior``); others are answers.
REDIRECT_CODES = (301, 302, 303, 307, 308)
#: The ones Boulder follows (BRs 3.2.2.4.19); a 303 is refused.
ALLOWED_REDIRECT_CODES = (301, 302, 307, 308)


# URLs, parsed the way Go's net/url reads them where it matters.


#: How a failed lookup reads (bdns ``Error.Error``, bdns/problem.go:112-185): the rcode or
#: cause, and the explanation Boulder adds to NXDOMAIN and SERVFAIL.
DNS_FAILURE_TEXT = {
    "nxdomain": ("NXDOMAIN", " - check that a DNS record exists for this domain"),
    "servfail": ("SERVFAIL", " - the domain's nameservers may be malfunctioning"),
    "refused": ("REFUSED", ""),
    "timeout": ("query timed out", ""),
}


def dns_lookup_failure(how: str, name: str, rr_types: tuple[str, ...] = ("A", "AAAA")) -> str:
    """Boulder's text for lookups of ``name`` failing ``how`` (a key of
    :data:`DNS_FAILURE_TEXT`): one ``DNS problem: ...`` per record type, joined with ``"; "``
    as ``getAddrs`` joins its A and AAAA errors (va/dns.go:81-83)."""
    what, suffix = DNS_FAILURE_TEXT[how]
    return "; ".join(f"DNS problem: {what} looking up {rr} for {name}{suffix}"
                     for rr in rr_types)


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



# Boulder iana/data/iana-{ipv4,ipv6}-special-registry-1.csv (Address Block, Name, RFC with runs
# of white space collapsed, footnotes dropped), which iana/ip.go reads; most specific first.
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
    ("192.88.99.2/32", "6a44-relay anycast address", "[RFC6751]"),
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
    ("2001:1::3/128", "DNS-SD Service Registration Protocol Anycast", "[RFC9665]"),
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


def redirect_refusal(target: str, allowed_ports: tuple[int, ...] = (80, 443)) -> str | None:
    """Which of :data:`~pytest_fakeacme.outcomes.BAD_REDIRECT_REASONS` (other than
    ``"status"``) Boulder refuses the redirect target ``target`` for, in Boulder's order
    (``extractRequestTarget``: scheme, port, empty host, ``.well-known`` host, a scope zone,
    reserved IP, TLD; then the path length); None when it follows it. Loopback addresses stand
    in for the client's public ones, so they are not refused. A port that is not a number raises
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
        if "%" in host:
            return "scope_zone"  # an IPv6 scope zone (RFCs 4007, 6874), before the address
        if not ip.is_loopback and reserved_reason(host) is not None:
            return "reserved_ip"
    if len(unquote(parts.path)) > MAX_PATH:
        return "too_long"
    return None

