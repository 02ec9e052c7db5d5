"""Certificate revocation lists, as Let's Encrypt publishes them since it turned OCSP off
(August 2025): sharded by serial, signed by the issuing intermediate, served over plain HTTP,
dated by the fake's clock.

Boulder's shapes (``issuance/crl.go``, ``crl/idp/idp.go``, ``ca/crl.go``): a leaf carries one
distribution point, ``<base><shard>.crl`` with ``shard = serial mod shards + 1``; each CRL has
``thisUpdate`` (when it was made), ``nextUpdate = thisUpdate - 1s + validity``, a CRL number
of ``thisUpdate`` in nanoseconds, and a critical issuing distribution point naming its own URL
with ``onlyContainsUserCerts``. An entry's reason code is left out when it is 0.

CRLs are published every ``crl_update_interval`` on the fake's clock, counted from when the
fake started: a CRL's ``thisUpdate`` is the latest such tick, and it lists what was revoked by
then, so a revocation shows on the *next* CRL, as with Let's Encrypt. :meth:`CRLs.update`
publishes now.
"""

from __future__ import annotations

import datetime as _dt
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from .ca import CertificateAuthority, crl_shard
from .clock import Clock
from .config import Settings
from .reads import Reads
from .store import Store
from .transport import InThread

#: Let's Encrypt divides each issuer's CRLs into 128 shards.
SHARDS = 128
#: ``nextUpdate - thisUpdate + 1s``: Boulder refuses 10 days or more; its test value.
VALIDITY = _dt.timedelta(hours=216)
#: Expired certificates stay listed this long (Boulder's ``lookbackPeriod`` test value).
LOOKBACK = _dt.timedelta(hours=24)


class CRLs:
    """The CRLs of one issuing intermediate: ``fake_acme.crl(cert)`` reads them."""

    def __init__(self, ca: CertificateAuthority, store: Store, reads: Reads, clock: Clock,
                 settings: Settings, shards: int = SHARDS) -> None:
        self._ca = ca
        self._store = store
        self._reads = reads
        self._clock = clock
        self._settings = settings
        self.shards = shards
        self._lock = threading.Lock()
        self._epoch: _dt.datetime | None = None
        self._made: dict[int, x509.CertificateRevocationList] = {}
        # The last CRL number given: numbers only grow (RFC 5280 5.2.3), even when two CRLs
        # share a thisUpdate (a forced update on a frozen clock) or the clock is set back.
        self._last_number = 0

    def clear(self) -> None:
        """Forget what was published (the fake's reset): the next read publishes anew."""
        with self._lock:
            self._epoch = None
            self._made.clear()

    def _tick(self, now: _dt.datetime) -> _dt.datetime:
        """The latest publication time at or before ``now``."""
        if self._epoch is None or now < self._epoch:
            self._epoch = now.replace(microsecond=0)  # the first, or the clock was set back
        interval = self._settings.crl_update_interval
        return self._epoch + interval * ((now - self._epoch) // interval)

    def current(self, shard: int) -> x509.CertificateRevocationList:
        """Shard ``shard`` as a client fetching it now gets it: the one published at the
        latest tick, listing what was revoked by then."""
        if not 1 <= shard <= self.shards:
            raise ValueError(f"no shard {shard}; shards are 1-{self.shards}")
        with self._lock:
            tick = self._tick(self._clock.now())
            made = self._made.get(shard)
            if made is None or made.last_update_utc != tick:
                made = self._made[shard] = self._make(shard, tick)
            return made

    def issuer_der(self) -> bytes:
        """The issuing intermediate, DER."""
        return self._ca.intermediate.public_bytes(serialization.Encoding.DER)

    def update(self) -> None:
        """Publish now: the next CRLs list every revocation so far."""
        with self._lock:
            self._epoch = self._clock.now().replace(microsecond=0)
            self._made.clear()

    def _next_number(self, this_update: _dt.datetime) -> int:
        # Boulder: thisUpdate in nanoseconds since the epoch (crl/crl.go:17-24).
        self._last_number = max(int(this_update.timestamp()) * 1_000_000_000,
                                self._last_number + 1)
        return self._last_number

    def _make(self, shard: int, this_update: _dt.datetime) -> x509.CertificateRevocationList:
        self._reads.catch_up()
        now = this_update
        with self._store.lock:
            revoked = [
                c for c in self._store.certificates.values()
                if c.revoked_at is not None and c.revoked_at.replace(microsecond=0) <= now
                and crl_shard(c.serial, self.shards) == shard
                and c.not_after > now - LOOKBACK
            ]
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self._ca.intermediate.subject)
            .last_update(this_update)
            .next_update(this_update - _dt.timedelta(seconds=1) + VALIDITY)
            .add_extension(x509.CRLNumber(self._next_number(this_update)), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                self._ca.intermediate_key.public_key()), critical=False)
            .add_extension(x509.IssuingDistributionPoint(
                full_name=[x509.UniformResourceIdentifier(self._ca.crl_url(shard))],
                relative_name=None, only_contains_user_certs=True,
                only_contains_ca_certs=False, only_some_reasons=None, indirect_crl=False,
                only_contains_attribute_certs=False), critical=True)
        )
        for cert in revoked:
            assert cert.revoked_at is not None
            entry = (x509.RevokedCertificateBuilder().serial_number(cert.serial)
                     .revocation_date(cert.revoked_at.replace(microsecond=0)))
            if cert.revoked_reason:
                entry = entry.add_extension(
                    x509.CRLReason(_REASONS[cert.revoked_reason]), critical=False)
            builder = builder.add_revoked_certificate(entry.build())
        return builder.sign(self._ca.intermediate_key, hashes.SHA256())


_REASONS = {
    1: x509.ReasonFlags.key_compromise, 2: x509.ReasonFlags.ca_compromise,
    3: x509.ReasonFlags.affiliation_changed, 4: x509.ReasonFlags.superseded,
    5: x509.ReasonFlags.cessation_of_operation, 6: x509.ReasonFlags.certificate_hold,
    8: x509.ReasonFlags.remove_from_crl, 9: x509.ReasonFlags.privilege_withdrawn,
    10: x509.ReasonFlags.aa_compromise,
}


#: Where the CRL server also serves the issuing intermediate (DER), for leaves' caIssuers.
ISSUER_PATH = "issuer.der"


class CRLServer:
    """The CRLs over plain HTTP on loopback: ``GET /<shard>.crl`` is DER
    (``application/pkix-crl``), as a CDN serves Let's Encrypt's; ``GET /issuer.der`` the
    issuing intermediate (``application/pkix-cert``)."""

    def __init__(self, crls: CRLs, host: str, port: int) -> None:
        def answer(handler: BaseHTTPRequestHandler) -> None:
            name = handler.path.split("?", 1)[0].lstrip("/")
            shard = name.removesuffix(".crl")
            body = b""
            status, kind = 404, "text/plain; charset=utf-8"
            if name.endswith(".crl") and shard.isdigit() and 1 <= int(shard) <= crls.shards:
                body = crls.current(int(shard)).public_bytes(serialization.Encoding.DER)
                status, kind = 200, "application/pkix-crl"
            elif name == ISSUER_PATH:
                # What a leaf's caIssuers URL names (Let's Encrypt's http://<issuer>.i.lencr.org/).
                body = crls.issuer_der()
                status, kind = 200, "application/pkix-cert"
            handler.send_response(status)
            handler.send_header("Content-Type", kind)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(body)

        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                answer(self)

            def do_HEAD(self) -> None:
                answer(self)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        server = ThreadingHTTPServer((host, port), _Handler)
        server.daemon_threads = True
        self._running = InThread(server, "fakeacme-crl")
        self.port = self._running.port

    def stop(self) -> None:
        """Stop serving."""
        self._running.stop()
