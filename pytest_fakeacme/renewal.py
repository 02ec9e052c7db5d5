"""ACME Renewal Information (ARI, RFC 9773): certificate identifiers, suggested windows, and
``fake_acme.ari``, with which a test forces a window ("renew now", as after a revocation).

The window is Let's Encrypt's: centred two thirds through the certificate's validity (Boulder
``core.RenewalInfoSimple``), and in the past for a revoked certificate or when forced to renew
now (``RenewalInfoImmediate``), so a client renews at once.
"""

from __future__ import annotations

import base64
import datetime as _dt
import threading
from dataclasses import dataclass

from cryptography import x509

from .errors import FakeACMEUsageError
from .model import Certificate
from .store import Store

#: Seconds in the Retry-After of a renewalInfo answer (Boulder: 6 hours).
RETRY_AFTER = 6 * 60 * 60


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def cert_id(cert: x509.Certificate, aki: x509.AuthorityKeyIdentifier | None = None) -> str:
    """RFC 9773 4.1: base64url(AKI keyIdentifier) "." base64url(serial, DER INTEGER bytes).

    ``aki``: the certificate's AKI when the caller already holds it (the CA, which just put it
    there), which spares parsing the extensions back out."""
    if aki is None:
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier is not None
    serial = cert.serial_number
    raw = serial.to_bytes((serial.bit_length() + 8) // 8, "big")  # DER: a leading 0 if needed
    return f"{_b64(aki.key_identifier)}.{_b64(raw)}"


@dataclass(frozen=True)
class Window:
    """A suggested renewal window."""

    start: _dt.datetime
    end: _dt.datetime

    def to_json(self) -> dict[str, str]:
        """RFC 9773 4.2's ``suggestedWindow``."""
        def fmt(value: _dt.datetime) -> str:
            return value.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"start": fmt(self.start), "end": fmt(self.end)}


def simple_window(cert: Certificate) -> Window:
    """Boulder's ``RenewalInfoSimple`` (core/objects.go:454-468): from issuance to one second
    after notAfter, renew a third of it before the end (half, under ten days), give or take a
    hundredth; both ends truncated to the second."""
    issued = cert.issued_at or cert.not_before
    validity = cert.not_after + _dt.timedelta(seconds=1) - issued
    offset = validity / 3 if validity >= _dt.timedelta(days=10) else validity / 2
    ideal = cert.not_after - offset
    margin = validity / 100
    return Window((ideal - margin).replace(microsecond=0), (ideal + margin).replace(microsecond=0))


def immediate_window(now: _dt.datetime) -> Window:
    """Boulder's ``RenewalInfoImmediate`` (core/objects.go:476-485): a window in the past,
    from an hour ago, half an hour long: renew now."""
    start = (now - _dt.timedelta(hours=1)).replace(microsecond=0)
    return Window(start, start + _dt.timedelta(minutes=30))


class RenewalControl:
    """``fake_acme.ari``: override the window ARI suggests for a certificate."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._forced: dict[int, Window | None] = {}

    def _serial(self, cert: object) -> int:
        serial = getattr(cert, "serial", cert)
        if not isinstance(serial, int) or isinstance(serial, bool):
            raise FakeACMEUsageError(
                "pass a certificate from fake_acme.certificates or its serial number, "
                f"not {cert!r}"
            )
        if serial not in self._store.certificates_by_serial:
            raise FakeACMEUsageError(f"no certificate with serial {serial:x} was issued here")
        return serial

    def force(self, cert: object, start: _dt.datetime, end: _dt.datetime) -> None:
        """Suggest ``start``-``end`` for this certificate from now on."""
        if start.tzinfo is None or end.tzinfo is None or end <= start:
            raise FakeACMEUsageError("a window needs timezone-aware start < end")
        with self._lock:
            self._forced[self._serial(cert)] = Window(start, end)

    def renew_now(self, cert: object) -> None:
        """Suggest renewing at once (a window in the past), as after a revocation."""
        with self._lock:
            self._forced[self._serial(cert)] = None

    def clear(self) -> None:
        """Forget every override."""
        with self._lock:
            self._forced.clear()

    def window(self, cert: Certificate, now: _dt.datetime) -> Window:
        """What ARI suggests for ``cert`` at ``now``."""
        with self._lock:
            if cert.serial in self._forced:
                forced = self._forced[cert.serial]
                return forced if forced is not None else immediate_window(now)
        if cert.revoked_reason is not None:
            return immediate_window(now)
        return simple_window(cert)
