"""A Python client for the management API: drive a fake that runs in another process.

::

    from pytest_fakeacme import outcomes
    from pytest_fakeacme.remote import RemoteFake

    fake = RemoteFake.from_env()          # FAKE_ACME_MANAGEMENT_URL and FAKE_ACME_CA_BUNDLE
    fake.script("a.example", outcomes.http_status(404))
    fake.advance(days=8)

Outcomes travel in their JSON form (:mod:`pytest_fakeacme.jsonforms`), so the fake checks them
exactly as it checks the Python API's; a refusal raises :class:`RemoteError` with the fake's
message. Only the standard library is used.
"""

from __future__ import annotations

import json
import os
import ssl
import urllib.error
import urllib.request
from typing import Any

from . import jsonforms
from .errors import FakeACMEError
from .outcomes import Outcome


class RemoteError(FakeACMEError):
    """The management API refused a request; the message is the fake's."""


class RemoteFake:
    """The management API of a fake at ``management_url`` (``https://.../_fake`` with the
    fake's ``ca_bundle``, or the standalone server's plain-HTTP one)."""

    def __init__(self, management_url: str, ca_bundle: str | None = None,
                 timeout: float = 30.0) -> None:
        self.url = management_url.rstrip("/")
        self._timeout = timeout
        self._tls = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else None

    @classmethod
    def from_env(cls) -> RemoteFake:
        """The fake ``pytest --fake-acme`` exported (``FAKE_ACME_MANAGEMENT_URL`` and
        ``FAKE_ACME_CA_BUNDLE``)."""
        url = os.environ.get("FAKE_ACME_MANAGEMENT_URL")
        if not url:
            raise FakeACMEError(
                "FAKE_ACME_MANAGEMENT_URL is not set: run under `pytest --fake-acme`, or pass "
                "the management URL of `python -m pytest_fakeacme serve`"
            )
        return cls(url, os.environ.get("FAKE_ACME_CA_BUNDLE"))

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self._timeout,
                                        context=self._tls) as response:
                raw = response.read()
                kind = response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as error:
            detail = error.read()
            try:
                message = json.loads(detail)["error"]
            except (ValueError, KeyError, TypeError):
                message = detail.decode("utf-8", "replace")
            raise RemoteError(f"{method} {path}: {message}") from None
        if kind.startswith("application/json"):
            return json.loads(raw)
        return raw.decode() if kind.startswith("text/") else raw

    # Where the fake is

    def info(self) -> dict[str, Any]:
        """What the fake is and where (``GET /``): its directory URL, CA bundle, DNS server,
        the VA's ports and its flavor."""
        return dict(self._call("GET", "/"))

    @property
    def http01_port(self) -> int:
        """Where the fake's VA sends http-01 requests (``fake_acme.http01_port``), asked of
        the fake: serve your responder there."""
        return int(self.info()["http01_port"])

    @property
    def tls_alpn01_port(self) -> int:
        """Where the fake's VA connects for tls-alpn-01 (``fake_acme.tls_alpn01_port``)."""
        return int(self.info()["tls_alpn01_port"])

    # The knobs

    def script(self, identifier: str, *outcomes: Outcome | str) -> dict[str, Any]:
        """``fake_acme.va.script(identifier, *outcomes)``, remotely."""
        return dict(self._call("POST", "/va/script", {
            "identifier": identifier,
            "outcomes": [_outcome_json(o) for o in outcomes],
        }))

    def set_default(self, outcome: Outcome | str) -> dict[str, Any]:
        """``fake_acme.va.default = outcome``, remotely."""
        return dict(self._call("POST", "/va/default", {"outcome": _outcome_json(outcome)}))

    def fault(self, spec: str) -> dict[str, Any]:
        """``fake_acme.faults.add_spec(spec)``, e.g. ``"bad_nonce endpoint=newOrder"``."""
        return dict(self._call("POST", "/faults", {"spec": spec}))

    def clear_faults(self) -> None:
        """``fake_acme.faults.clear()``."""
        self._call("POST", "/faults/clear", {})

    def advance(self, **units: float) -> str:
        """``fake_acme.clock.advance(**units)``; returns the fake's new time (ISO 8601)."""
        return str(self._call("POST", "/clock/advance", units)["now"])

    def add_txt(self, name: str, value: str) -> None:
        """``fake_acme.dns.add_txt(name, value)``."""
        self._call("POST", "/dns/txt", {"name": name, "value": value})

    def add_a(self, name: str, ip: str) -> None:
        """``fake_acme.dns.add_a(name, ip)``."""
        self._call("POST", "/dns/a", {"name": name, "ip": ip})

    def configure(self, **settings: Any) -> None:
        """``fake_acme.configure(**settings)`` (JSON-compatible values)."""
        self._call("POST", "/settings", settings)

    def reset(self) -> None:
        """``fake_acme.reset()``."""
        self._call("POST", "/reset", {})

    def set_limit(self, name: str, *, burst: int | None = None, count: int | None = None,
                  period_seconds: float | None = None) -> dict[str, Any]:
        """``fake_acme.limits.set(name, ...)`` (the period in seconds); the limit as it is."""
        body: dict[str, Any] = {"name": name}
        for key, value in (("burst", burst), ("count", count), ("period", period_seconds)):
            if value is not None:
                body[key] = value
        return dict(self._call("POST", "/limits/set", body))

    def limits(self) -> dict[str, Any]:
        """Every limit, the buckets not full and what is paused (``GET /limits``)."""
        return dict(self._call("GET", "/limits"))

    def unpause(self, account: str, identifier: str | None = None) -> int:
        """``fake_acme.limits.unpause(account, identifier)``; how many were unpaused."""
        body = {"account": account} | ({"identifier": identifier} if identifier else {})
        return int(self._call("POST", "/limits/unpause", body)["unpaused"])

    def mass_revocation(self, revoke_after_seconds: float = 86400, reason: int = 0
                        ) -> dict[str, Any]:
        """``fake_acme.ari.mass_revocation(timedelta(seconds=revoke_after_seconds), reason)``;
        the drill as :meth:`drill` shows it."""
        return dict(self._call("POST", "/ari/mass-revocation",
                               {"revoke_after": revoke_after_seconds, "reason": reason}))

    def drill(self) -> dict[str, Any]:
        """The latest mass revocation drill and the answers to its questions (``GET
        /ari/drill``): ``certificates``, ``fetched_renewal_info``, ``renewed``,
        ``sent_replaces``, ``missed`` (ARI identifiers), ``revoke_at``, ``revoked``."""
        return dict(self._call("GET", "/ari/drill"))

    def update_crls(self) -> str:
        """Publish every CRL now (``fake_acme.crl(update=True)``); their ``thisUpdate``."""
        return str(self._call("POST", "/crl/update", {})["this_update"])

    def crl(self, serial: int | None = None) -> bytes:
        """The CRL a client fetching it now gets, DER: the shard of the certificate with this
        serial (as ``fake_acme.certificates[i].serial``), or shard 1 (``fake_acme.crl``)."""
        query = "" if serial is None else f"?serial={serial:x}"
        return bytes(self._call("GET", "/crl" + query))

    def state(self) -> dict[str, Any]:
        """Accounts, orders and certificates (``GET /state``)."""
        return dict(self._call("GET", "/state"))

    def transcript(self, verbose: bool = False) -> str:
        """``fake_acme.journal.transcript()``."""
        return str(self._call("GET", "/transcript" + ("?verbose=1" if verbose else "")))


def _outcome_json(outcome: Outcome | str) -> Any:
    # A name travels as it is, and the fake checks it as the Python API does.
    return outcome if isinstance(outcome, str) else jsonforms.outcome_to_json(outcome)
