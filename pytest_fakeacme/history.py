"""What the fake's own challenge responders and DNS were asked, in pebble-challtestsrv's shape
(its ``/http-request-history``, ``/dns-request-history`` and ``/tlsalpn01-request-history``).

Events are kept per kind and key (an HTTP request's ``Host`` without its port, a DNS question's
name without its trailing dot, a TLS ClientHello's server name), oldest first, at most
:data:`MAX_EVENTS` per key.
"""

from __future__ import annotations

import threading
from typing import Any, Literal

EventKind = Literal["http", "dns", "tlsalpn"]
EVENT_KINDS: tuple[EventKind, ...] = ("http", "dns", "tlsalpn")
#: Events kept per kind and key (challtestsrv keeps them all; a test fake stays bounded).
MAX_EVENTS = 1000


def _host_key(host: str) -> str:
    # challtestsrv: the Host header through Go's net.SplitHostPort when it splits ("[::1]:80"
    # gives "::1"), else the header as it is.
    if host.startswith("["):
        inside, _, rest = host[1:].partition("]")
        return inside if rest.startswith(":") else host
    return host.split(":", 1)[0] if host.count(":") == 1 else host


class History:
    """Request events by kind and key. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[tuple[EventKind, str], list[dict[str, Any]]] = {}

    def _add(self, kind: EventKind, key: str, event: dict[str, Any]) -> None:
        with self._lock:
            events = self._events.setdefault((kind, key), [])
            events.append(event)
            del events[:-MAX_EVENTS]

    def http(self, url: str, host: str, https: bool, server_name: str, user_agent: str) -> None:
        """An HTTP request to an http-01 or https-01 responder."""
        self._add("http", _host_key(host), {"URL": url, "Host": host, "HTTPS": https,
                                            "ServerName": server_name, "UserAgent": user_agent})

    def dns(self, name: str, qtype: int) -> None:
        """A DNS question (``qtype`` as a number: A=1, AAAA=28, TXT=16, CNAME=5, CAA=257)."""
        key = name[:-1] if name.endswith(".") else name
        fqdn = name if name.endswith(".") else name + "."
        self._add("dns", key, {"Question": {"Name": fqdn, "Qtype": qtype, "Qclass": 1},
                               "UserAgent": ""})

    def tlsalpn(self, server_name: str, protocols: list[str] | None) -> None:
        """A TLS ClientHello to the tls-alpn-01 responder."""
        self._add("tlsalpn", server_name, {"ServerName": server_name,
                                           "SupportedProtos": protocols})

    def events(self, kind: EventKind, key: str) -> list[dict[str, Any]]:
        """The events of ``kind`` for ``key``, oldest first (empty when there are none)."""
        with self._lock:
            return [dict(e) for e in self._events.get((kind, key), ())]

    def clear(self, kind: EventKind | None = None, key: str | None = None) -> None:
        """Forget the events of one kind and key, or (no arguments) all of them."""
        with self._lock:
            if kind is None:
                self._events.clear()
            else:
                self._events.pop((kind, key or ""), None)
