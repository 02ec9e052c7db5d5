"""The fake's DNS server: the fake's DNS data over real DNS, on loopback UDP and TCP.

Answers A, AAAA, TXT, CAA, CNAME and SOA queries from :class:`~pytest_fakeacme.dnsdata.DNSData`
(authoritatively, for every name), and accepts RFC 2136 dynamic updates, TSIG-signed (RFC
8945) when a key is configured, so DNS plugins (certbot-dns-rfc2136, lego's rfc2136 provider)
publish and remove their ``_acme-challenge`` records exactly as against a real nameserver.
dnspython does the wire format.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.tsigkeyring

from .dnsdata import DNSData
from .errors import FakeACMEUsageError

_TTL = 60
_SUPPORTED_UPDATE_TYPES = ("A", "AAAA", "TXT", "CAA", "CNAME")


class DNSServer:
    """Serves :class:`DNSData` on ``host:port`` over UDP and TCP from daemon threads."""

    def __init__(self, data: DNSData, host: str = "127.0.0.1", port: int = 0) -> None:
        self.data = data
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # UDP and TCP share one port number. With port 0 the UDP port is free, but the same
        # TCP port may not be: try again with another (a few tries are always enough).
        for attempt in range(50):
            self._udp = socket.socket(family, socket.SOCK_DGRAM)
            self._tcp = socket.socket(family, socket.SOCK_STREAM)
            try:
                self._udp.bind((host, port))
                bound = self._udp.getsockname()[1]
                self._tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                self._tcp.bind((host, bound))
                self._tcp.listen(16)
                break
            except OSError:
                self._udp.close()
                self._tcp.close()
                if port != 0 or attempt == 49:
                    raise
        self.address: tuple[str, int] = (host, bound)
        self._stopping = threading.Event()
        self._threads = [
            threading.Thread(target=self._serve_udp, name="fakeacme-dns-udp", daemon=True),
            threading.Thread(target=self._serve_tcp, name="fakeacme-dns-tcp", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop both listeners and join their threads."""
        self._stopping.set()
        for sock in (self._udp, self._tcp):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in self._threads:
            thread.join()

    # Transport

    def _serve_udp(self) -> None:
        while not self._stopping.is_set():
            try:
                wire, peer = self._udp.recvfrom(65535)
            except OSError:
                return
            answer = self.answer(wire)
            if answer is not None:
                with contextlib.suppress(OSError):
                    self._udp.sendto(answer, peer)

    def _serve_tcp(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._tcp.accept()
            except OSError:
                return
            threading.Thread(target=self._tcp_conn, args=(conn,), daemon=True).start()

    def _tcp_conn(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        with conn:
            while True:
                header = _recv_exact(conn, 2)
                if header is None:
                    return
                wire = _recv_exact(conn, struct.unpack("!H", header)[0])
                if wire is None:
                    return
                answer = self.answer(wire)
                if answer is None:
                    return
                conn.sendall(struct.pack("!H", len(answer)) + answer)

    # Protocol

    def _keyring(self) -> dict[dns.name.Name, dns.tsig.Key] | None:
        keys = dict(self.data.tsig_keys)
        if not keys:
            return None
        return {
            dns.name.from_text(name): dns.tsig.Key(name, secret, algorithm)
            for name, (secret, algorithm) in keys.items()
        }

    def answer(self, wire: bytes) -> bytes | None:
        """The wire answer to one DNS message (None: stay silent, like a timed-out server)."""
        keyring = self._keyring()
        try:
            query = dns.message.from_wire(wire, keyring=keyring)
        except (dns.tsig.BadSignature, dns.tsig.BadTime, dns.tsig.PeerError,
                dns.message.UnknownTSIGKey):
            return self._refuse_tsig(wire)
        except dns.exception.DNSException:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if query.opcode() == dns.opcode.UPDATE:
            self._update(query, response, keyring is not None)
        elif query.opcode() == dns.opcode.QUERY:
            if self._query(query, response) is None:
                return None
        else:
            response.set_rcode(dns.rcode.NOTIMP)
        return response.to_wire()

    def _refuse_tsig(self, wire: bytes) -> bytes | None:
        try:
            query = dns.message.from_wire(wire, keyring=False)
        except dns.exception.DNSException:
            return None
        response = dns.message.make_response(query)
        response.set_rcode(dns.rcode.NOTAUTH)
        return response.to_wire()

    def _query(self, query: dns.message.Message, response: dns.message.Message) -> bool | None:
        for question in query.question:
            name = question.name.to_text().rstrip(".")
            rtype = dns.rdatatype.to_text(question.rdtype)
            self.data.observe(question.name.to_text(), int(question.rdtype))
            failure = self.data.failure(name)
            if failure == "timeout":
                return None
            if failure is not None:
                response.set_rcode({
                    "nxdomain": dns.rcode.NXDOMAIN,
                    "servfail": dns.rcode.SERVFAIL,
                    "refused": dns.rcode.REFUSED,
                }[failure])
                return True
            target = self.data.cname(name)
            if target is not None and rtype != "CNAME":
                response.answer.append(dns.rrset.from_text(
                    question.name, _TTL, "IN", "CNAME", target + "."))
                name = self.data.canonical(name)
            for value in self._records(name, rtype):
                owner = dns.name.from_text(name) if target else question.name
                response.answer.append(dns.rrset.from_text(owner, _TTL, "IN", rtype, value))
        return True

    def _records(self, name: str, rtype: str) -> list[str]:
        if rtype == "A":
            return self.data.lookup_addresses(name)[1]
        if rtype == "AAAA":
            return self.data.lookup_addresses(name)[0]
        if rtype == "TXT":
            # One string per record: long values are split into 255-byte strings.
            return [" ".join(_quote(v[i:i + 255]) for i in range(0, max(len(v), 1), 255))
                    for v in self.data.lookup_txt(name)]
        if rtype == "CAA":
            return [f'{r.flags} {r.tag} {_quote(r.value)}' for r in self.data.lookup_caa(name)]
        if rtype == "CNAME":
            target = self.data.cname(name)
            return [target + "."] if target else []
        if rtype == "SOA":
            # Authoritative for every name: whatever zone a client looks for exists here.
            return [f"ns.fake-acme.test. hostmaster.fake-acme.test. 1 3600 600 86400 {_TTL}"]
        if rtype == "NS":
            return ["ns.fake-acme.test."]
        return []

    def _update(
        self, query: dns.message.Message, response: dns.message.Message, signed_required: bool
    ) -> None:
        # RFC 2136 3: the zone section names the zone; prerequisites are accepted as met;
        # the update section adds RRs (class IN), deletes RRsets (class ANY) or single RRs
        # (class NONE).
        if signed_required and not query.had_tsig:
            response.set_rcode(dns.rcode.REFUSED)
            return
        changes: list[Callable[[], None]] = []
        for rrset in query.update:  # type: ignore[attr-defined]
            name = rrset.name.to_text().rstrip(".")
            rtype = dns.rdatatype.to_text(rrset.rdtype)
            # dnspython keeps the RFC 2136 2.5 class of a delete in ``deleting``.
            deleting = getattr(rrset, "deleting", None)
            if rtype not in _SUPPORTED_UPDATE_TYPES and rrset.rdtype != dns.rdatatype.ANY:
                response.set_rcode(dns.rcode.NOTIMP)
                return
            if deleting == dns.rdataclass.ANY:
                if rrset.rdtype == dns.rdatatype.ANY:
                    changes.extend(self._deleter(t, name) for t in _SUPPORTED_UPDATE_TYPES)
                else:
                    changes.append(self._deleter(rtype, name))
            elif deleting == dns.rdataclass.NONE:
                changes.extend(self._deleter(rtype, name, _text(rd)) for rd in rrset)
            else:
                changes.extend(self._adder(rtype, name, rd) for rd in rrset)
        try:
            for change in changes:
                change()
        except FakeACMEUsageError:
            # e.g. an A record for a non-loopback address: the fake will not point there.
            response.set_rcode(dns.rcode.REFUSED)

    def _deleter(self, rtype: str, name: str, value: str | None = None) -> Callable[[], None]:
        return lambda: self.data.remove_record(rtype, name, value)

    def _adder(self, rtype: str, name: str, rdata: dns.rdata.Rdata) -> Callable[[], None]:
        def add() -> None:
            if rtype == "TXT":
                self.data.add_txt(name, _text(rdata))
            elif rtype == "A":
                self.data.add_a(name, rdata.to_text())
            elif rtype == "AAAA":
                self.data.add_aaaa(name, rdata.to_text())
            elif rtype == "CNAME":
                self.data.add_cname(name, rdata.to_text().rstrip("."))
            elif rtype == "CAA":
                flags, tag, value = rdata.to_text().split(" ", 2)
                self.data.add_caa(name, int(flags), tag, value.strip('"'))
        return add


def _text(rdata: dns.rdata.Rdata) -> str:
    """A TXT record's strings concatenated (RFC 8555 8.4 compares the concatenation); other
    types in text form."""
    strings = getattr(rdata, "strings", None)
    if strings is not None:
        return b"".join(strings).decode("utf-8", "replace")
    return str(rdata.to_text())


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _recv_exact(conn: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        try:
            chunk = conn.recv(size - len(data))
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return data
