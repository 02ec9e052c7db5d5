"""The fake's DNS data: the host map the VA resolves names through, and TXT and CAA records.

By default every name resolves to ``127.0.0.1`` and nothing else. ``add_a`` / ``add_aaaa``
replace that default for one name; any address can be stored and is served by the fake's DNS
server, but the VA connects only to loopback addresses unless ``allow_non_loopback`` is set, so
it never contacts a machine other than this one by accident.
"""

from __future__ import annotations

import ipaddress
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import FakeACMEUsageError

#: The ways a lookup can be made to fail, each with Boulder's detail (bdns: NXDOMAIN, SERVFAIL,
#: REFUSED, a timeout).
FAILURES = frozenset({"nxdomain", "servfail", "refused", "timeout"})

#: What every name resolves to unless the host map says otherwise.
DEFAULT_ADDRESS = "127.0.0.1"


@dataclass(frozen=True)
class CAARecord:
    """One CAA record (RFC 8659 4.1)."""

    flags: int
    tag: str
    value: str


def _default(ip: str, version: int) -> str | None:
    if ip == "":
        return None
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        raise FakeACMEUsageError(f"{ip!r} is not an IP address (or \"\" for none)") from None
    if addr.version != version:
        raise FakeACMEUsageError(f"{ip} is not an IPv{version} address")
    return str(addr)


def _name(name: str) -> str:
    if not isinstance(name, str) or not name.strip(". "):
        raise FakeACMEUsageError(f"a DNS name must be a non-empty string, not {name!r}")
    return name.strip().rstrip(".").lower()


#: A host name as records are kept under: labels of letters, digits, ``-`` and ``_`` (the
#: ``_acme-challenge`` label), dot-separated, with an optional leading ``*.``.
_HOST_NAME = re.compile(r"(\*\.)?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?")


def _check_txt_name(name: str, value: str) -> None:
    """A usage error when ``name`` cannot be the record's name, saying so when the arguments
    look swapped (a dns-01 digest is a valid single label, so a dotless name whose value is a
    dotted name reads as swapped too)."""
    _name(name)
    stripped = name.strip()
    dotted_value = "." in value.strip(". ") and _HOST_NAME.fullmatch(value.strip()) is not None
    is_name = _HOST_NAME.fullmatch(stripped) is not None
    if dotted_value and (not is_name or "." not in stripped.strip(".")):
        raise FakeACMEUsageError(
            f"dns.add_txt(name, value) takes the record's name first, and {value!r} looks "
            f"like the name, {name!r} like the value. Did you mean "
            f"dns.add_txt({value!r}, {name!r})?"
        )
    if not is_name:
        raise FakeACMEUsageError(
            f"{name!r} is not a DNS name; the TXT record of a dns-01 challenge for a.example is "
            "named '_acme-challenge.a.example'"
        )


class DNSData:
    """A, AAAA, TXT and CAA records by name. Thread-safe.

    ``address`` is where the fake's own DNS server listens, when one runs (``None`` otherwise).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.address: tuple[str, int] | None = None
        #: Told of each question a resolver would send (name, RR type number), for the
        #: request history; the core connects it.
        self.observer: Callable[[str, int], None] | None = None
        self.clear()

    def clear(self) -> None:
        """Forget every record (names resolve to the default address again)."""
        with self._lock:
            self._a: dict[str, list[str]] = {}
            self._aaaa: dict[str, list[str]] = {}
            self._txt: dict[str, list[str]] = {}
            self._caa: dict[str, list[CAARecord]] = {}
            self._cname: dict[str, str] = {}
            self._failures: dict[str, str] = {}
            self.tsig_keys: dict[str, tuple[str, str]] = {}
            self._default_v4: str | None = DEFAULT_ADDRESS
            self._default_v6: str | None = None
            #: Whether the VA may connect to addresses that are not loopback.
            self.allow_non_loopback = False

    def _add_address(self, table: dict[str, list[str]], name: str, ip: str, version: int) -> None:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            raise FakeACMEUsageError(f"{ip!r} is not an IP address") from None
        if addr.version != version:
            raise FakeACMEUsageError(
                f"{ip} is an IPv{addr.version} address; "
                f"use add_{'a' if addr.version == 4 else 'aaaa'}"
            )
        with self._lock:
            table.setdefault(_name(name), []).append(str(addr))

    def add_a(self, name: str, ip: str) -> None:
        """Resolve ``name`` to the IPv4 address ``ip`` (in addition to earlier add_a calls)."""
        self._add_address(self._a, name, ip, 4)

    def add_aaaa(self, name: str, ip: str) -> None:
        """Resolve ``name`` to the IPv6 address ``ip``; the VA tries IPv6 first, as Boulder."""
        self._add_address(self._aaaa, name, ip, 6)

    def add_txt(self, name: str, value: str) -> None:
        """Add a TXT record (e.g. ``_acme-challenge.example.com``) with one string."""
        if not isinstance(value, str):
            raise FakeACMEUsageError(f"a TXT value must be a string, not {value!r}")
        _check_txt_name(name, value)
        with self._lock:
            self._txt.setdefault(_name(name), []).append(value)

    def remove_txt(self, name: str, value: str | None = None) -> None:
        """Remove one TXT value at ``name``, or all of them when ``value`` is None."""
        with self._lock:
            values = self._txt.get(_name(name), [])
            if value is None:
                values.clear()
            elif value in values:
                values.remove(value)

    def add_caa(self, name: str, flags: int, tag: str, value: str) -> None:
        """Add a CAA record, e.g. ``add_caa("example.com", 0, "issue", "other-ca.example")``."""
        if not isinstance(flags, int) or not 0 <= flags <= 255:
            raise FakeACMEUsageError(f"CAA flags must be an integer 0-255, not {flags!r}")
        with self._lock:
            self._caa.setdefault(_name(name), []).append(CAARecord(flags, tag, value))

    def set_default_address(self, ip: str) -> None:
        """What names without A or AAAA records resolve to: an IPv4 address, or ``""`` for
        nothing (challtestsrv's ``-defaultIPv4``)."""
        with self._lock:
            self._default_v4 = _default(ip, 4)

    def set_default_ipv6(self, ip: str) -> None:
        """What names without A or AAAA records also resolve to over IPv6 (none by default;
        ``""`` for none again); the VA tries it first, as Boulder tries IPv6 first."""
        with self._lock:
            self._default_v6 = _default(ip, 6)

    def observe(self, name: str, *qtypes: int) -> None:
        """Note questions a resolver sends for ``name`` (see :attr:`observer`)."""
        if self.observer is not None:
            for qtype in qtypes:
                self.observer(name, qtype)

    def add_cname(self, name: str, target: str) -> None:
        """Make ``name`` an alias of ``target`` (lookups of ``name`` follow it, RFC 1034 3.6.2)."""
        with self._lock:
            self._cname[_name(name)] = _name(target)

    def fail(self, name: str, how: str) -> None:
        """Make lookups of ``name`` fail: ``"nxdomain"``, ``"servfail"``, ``"refused"`` or
        ``"timeout"`` (the server does not answer). ``how=None``-like ``"ok"`` undoes it."""
        if how not in FAILURES and how != "ok":
            raise FakeACMEUsageError(
                f"unknown DNS failure {how!r}; use one of {', '.join(sorted(FAILURES))} or 'ok'"
            )
        with self._lock:
            if how == "ok":
                self._failures.pop(_name(name), None)
            else:
                self._failures[_name(name)] = how

    def failure(self, name: str) -> str | None:
        """How lookups of ``name`` fail, if they do (after following CNAMEs)."""
        key = self.canonical(name)
        with self._lock:
            return self._failures.get(key) or self._failures.get(_name(name))

    def canonical(self, name: str) -> str:
        """``name`` after following CNAMEs (at most 8, like a resolver's chain limit)."""
        key = _name(name)
        with self._lock:
            for _ in range(8):
                target = self._cname.get(key)
                if target is None:
                    break
                key = target
        return key

    def cname(self, name: str) -> str | None:
        """The CNAME target of exactly ``name``, if it is an alias."""
        with self._lock:
            return self._cname.get(_name(name))

    def add_tsig_key(self, name: str, secret: str, algorithm: str = "hmac-sha256") -> None:
        """Require TSIG (RFC 8945) with this key (base64 ``secret``) for dynamic updates to the
        fake's DNS server."""
        with self._lock:
            self.tsig_keys[_name(name)] = (secret, algorithm)

    def remove_record(self, rtype: str, name: str, value: str | None = None) -> None:
        """Remove records of ``rtype`` (A, AAAA, TXT, CAA, CNAME) at ``name``: all of them, or
        the one whose text form is ``value`` (an RFC 2136 delete)."""
        key = _name(name)
        with self._lock:
            if rtype == "CNAME":
                self._cname.pop(key, None)
                return
            tables: dict[str, dict[str, list[Any]]] = {
                "A": self._a, "AAAA": self._aaaa, "TXT": self._txt, "CAA": self._caa,
            }
            table = tables[rtype]
            if value is None:
                table.pop(key, None)
                return
            for item in list(table.get(key, ())):
                text = f"{item.flags} {item.tag} {item.value}" if isinstance(
                    item, CAARecord) else str(item)
                if text == value:
                    table[key].remove(item)

    def lookup_addresses(self, name: str) -> tuple[list[str], list[str]]:
        """``(ipv6, ipv4)`` addresses for ``name``; the default address when none is set."""
        key = self.canonical(name)
        with self._lock:
            v6, v4 = list(self._aaaa.get(key, ())), list(self._a.get(key, ()))
            if not v6 and not v4:
                v6 = [self._default_v6] if self._default_v6 else []
                v4 = [self._default_v4] if self._default_v4 else []
        return v6, v4

    def lookup_txt(self, name: str) -> list[str]:
        """TXT values at ``name`` (empty when there are none)."""
        key = self.canonical(name)
        with self._lock:
            return list(self._txt.get(key, ()))

    def lookup_caa(self, name: str) -> list[CAARecord]:
        """CAA records at exactly ``name``."""
        key = self.canonical(name)
        with self._lock:
            return list(self._caa.get(key, ()))
