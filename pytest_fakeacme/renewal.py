"""ACME Renewal Information (ARI, RFC 9773): certificate identifiers, suggested windows, and
``fake_acme.ari``, with which a test forces a window ("renew now", as after a revocation) or
runs a mass revocation drill (:meth:`RenewalControl.mass_revocation`).

The window is Let's Encrypt's: centred two thirds through the certificate's validity (Boulder
``core.RenewalInfoSimple``), and in the past for a revoked certificate or when forced to renew
now (``RenewalInfoImmediate``), so a client renews at once.
"""

from __future__ import annotations

import base64
import datetime as _dt
import threading
from dataclasses import dataclass, field

from cryptography import x509

from .clock import Clock
from .errors import FakeACMEUsageError
from .journal import Journal
from .model import Certificate
from .store import Store

#: Seconds in the Retry-After of a renewalInfo answer (Boulder: 6 hours).
RETRY_AFTER = 6 * 60 * 60
#: What a drill's renewalInfo answers link to as ``explanationURL``: Boulder sends an incident's
#: URL for the certificates it covers (wfe2/wfe.go:2219), and nothing for a certificate that is
#: merely revoked (wfe2/wfe.go:2230).
EXPLANATION_URL = "https://letsencrypt.org/docs/integration-guide/#ari-renewal-information"


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


#: The reasons a drill may revoke for, by CRL reason code (RFC 5280 5.3.1): those Boulder lets
#: Let's Encrypt's staff give when they revoke (``AdminAllowedReason``,
#: revocation/reasons.go:84-94, checked in ra/ra.go:1941): what a subscriber may give
#: (``UserAllowedReason``, 67-78) and privilegeWithdrawn. The others RFC 5280 defines the
#: Baseline Requirements forbid, and 7 is no reason at all.
DRILL_REASONS: dict[int, str] = {
    0: "unspecified", 1: "keyCompromise", 4: "superseded", 5: "cessationOfOperation",
    9: "privilegeWithdrawn",
}


def check_drill_reason(reason: object) -> int:
    """``reason`` if a drill may revoke for it (:data:`DRILL_REASONS`); a usage error naming
    the allowed ones otherwise."""
    if isinstance(reason, int) and not isinstance(reason, bool) and reason in DRILL_REASONS:
        return reason
    allowed = ", ".join(f"{code} ({name})" for code, name in DRILL_REASONS.items())
    raise FakeACMEUsageError(f"reason takes a revocation reason code Let's Encrypt revokes "
                             f"with: {allowed}; not {reason!r}")


@dataclass
class Drill:
    """A mass revocation under way (:meth:`RenewalControl.mass_revocation`), and the questions
    a test asks of the client after it: did it fetch renewal information, renew inside the
    window, say which certificate it replaced? Certificates are named by their ARI
    identifiers (RFC 9773 4.1)."""

    started: _dt.datetime
    revoke_at: _dt.datetime
    reason: int
    #: The ARI identifiers of the certificates the drill revokes.
    certificates: tuple[str, ...]
    _store: Store = field(repr=False)
    _journal: Journal = field(repr=False)
    applied: bool = False

    def fetched_renewal_info(self) -> list[str]:
        """The drilled certificates whose renewalInfo a client fetched since the drill began."""
        asked = {e.url.rsplit("/", 1)[-1] for e in self._journal.requests("renewalInfo")
                 if e.at >= self.started and e.status == 200}
        return [c for c in self.certificates if c in asked]

    def _renewals(self) -> dict[str, Certificate]:
        """Each drilled certificate's first successor: a certificate the drill does not cover,
        issued to the same account for the same names at or after the drill began, from an
        order created before the revocation. Its issuance time, not its backdated notBefore,
        says when it was issued."""
        with self._store.lock:
            certs = list(self._store.certificates.values())
            orders = dict(self._store.orders)
        drilled = set(self.certificates)
        found: dict[str, Certificate] = {}
        for old in certs:
            if old.ari_id not in drilled:
                continue
            names = {i.value for i in orders[old.order_id].identifiers}
            for new in certs:
                order = orders[new.order_id]
                if (new.account_id == old.account_id and new.ari_id not in drilled
                        and (new.issued_at or new.not_before) >= self.started
                        and order.created < self.revoke_at
                        and names <= {i.value for i in order.identifiers}):
                    found.setdefault(old.ari_id, new)
        return found

    def renewed(self) -> list[str]:
        """The drilled certificates a client renewed before they were revoked."""
        renewals = self._renewals()
        return [c for c in self.certificates if c in renewals]

    def missed(self) -> list[str]:
        """The drilled certificates not renewed before their revocation."""
        renewals = self._renewals()
        return [c for c in self.certificates if c not in renewals]

    def sent_replaces(self) -> list[str]:
        """The drilled certificates a renewal order named in ``replaces`` (RFC 9773 5)."""
        with self._store.lock:
            named = {o.replaces for o in self._store.orders.values()
                     if o.replaces is not None and o.created >= self.started}
        return [c for c in self.certificates if c in named]


class RenewalControl:
    """``fake_acme.ari``: override the window ARI suggests for a certificate, or run a mass
    revocation drill."""

    def __init__(self, store: Store, clock: Clock, journal: Journal) -> None:
        self._store = store
        self._clock = clock
        self._journal = journal
        self._drills: list[Drill] = []
        self._lock = threading.Lock()
        self._forced: dict[int, Window | None] = {}
        self._verbatim: dict[int, str] = {}

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

    def answer_verbatim(self, serial: int, text: str) -> None:
        """Answer renewalInfo for the certificate with this serial with ``text`` as it is
        (Pebble's ``/set-renewal-info/``: it may be invalid JSON on purpose); ``""`` goes back
        to the computed window."""
        with self._lock:
            if text:
                self._verbatim[serial] = text
            else:
                self._verbatim.pop(serial, None)

    def verbatim(self, cert: Certificate) -> str | None:
        """The verbatim answer set for ``cert``, if any."""
        with self._lock:
            return self._verbatim.get(cert.serial)

    def mass_revocation(self, revoke_after: _dt.timedelta = _dt.timedelta(hours=24),
                        reason: int = 0) -> Drill:
        """A revocation drill, as Let's Encrypt ran one in March 2026: from now on every
        certificate issued so far and not expired or revoked is suggested for renewal at once
        (its window in the past, with an ``explanationURL``), and once ``revoke_after`` has
        passed on the fake's clock they are revoked with CRL ``reason``, one of
        :data:`DRILL_REASONS`. The returned :class:`Drill` answers what the client did about
        it."""
        if not isinstance(revoke_after, _dt.timedelta) or revoke_after < _dt.timedelta(0):
            raise FakeACMEUsageError(
                f"revoke_after takes a timedelta >= 0, e.g. timedelta(hours=6), not "
                f"{revoke_after!r}"
            )
        check_drill_reason(reason)
        now = self._clock.now()
        with self._store.lock:
            # An incident revokes what is still valid: an expired certificate needs no
            # revocation and no client renews it.
            chosen = [c for c in self._store.certificates.values()
                      if c.revoked_reason is None and c.not_after > now]
        drill = Drill(now, now + revoke_after, reason, tuple(c.ari_id for c in chosen),
                      self._store, self._journal)
        with self._lock:
            for cert in chosen:
                self._forced[cert.serial] = None
            self._drills.append(drill)
        self.revoke_due(now)
        return drill

    @property
    def drills(self) -> list[Drill]:
        """The drills started since the last reset, oldest first."""
        with self._lock:
            return list(self._drills)

    @property
    def pending(self) -> bool:
        """Whether a drill's revocations are still to come."""
        return any(not d.applied for d in self._drills)

    def revoke_due(self, now: _dt.datetime) -> None:
        """Revoke what a drill scheduled for ``now`` or earlier (applied when the fake is
        next read, like a validation's result)."""
        with self._lock:
            due = [d for d in self._drills if not d.applied and d.revoke_at <= now]
            for drill in due:
                drill.applied = True
        for drill in due:
            with self._store.lock:
                for cert in self._store.certificates.values():
                    if cert.ari_id in drill.certificates and cert.revoked_reason is None:
                        cert.revoked_reason = drill.reason
                        cert.revoked_at = drill.revoke_at

    def clear(self) -> None:
        """Forget every override and drill."""
        with self._lock:
            self._forced.clear()
            self._verbatim.clear()
            self._drills.clear()

    def explanation(self, cert: Certificate) -> str | None:
        """The ``explanationURL`` for ``cert``: a drill's, when one covers it."""
        with self._lock:
            drilled = any(cert.ari_id in d.certificates for d in self._drills)
        return EXPLANATION_URL if drilled else None

    def window(self, cert: Certificate, now: _dt.datetime) -> Window:
        """What ARI suggests for ``cert`` at ``now``."""
        with self._lock:
            if cert.serial in self._forced:
                forced = self._forced[cert.serial]
                return forced if forced is not None else immediate_window(now)
        if cert.revoked_reason is not None:
            return immediate_window(now)
        return simple_window(cert)
