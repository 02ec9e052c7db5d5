"""Account policies the CA can impose: terms-of-service versions (RFC 8555 7.3.3) and external
account binding (RFC 8555 7.3.4).

``fake_acme.terms.change()`` publishes a new version; accounts that agreed to an older one get
``userActionRequired`` (with the ``instance`` URL a person would visit and a
``terms-of-service`` link) for anything but reads until they agree again by posting
``{"termsOfServiceAgreed": true}`` to their account URL.

``fake_acme.eab.add()`` registers an HMAC key for a key ID; with
``fake_acme.configure(external_account_required=True)`` the directory says so and newAccount
demands a binding signed with a registered key, each key binding one account.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from typing import Any, cast

import josepy

from . import problems
from .errors import FakeACMEUsageError
from .jws import b64decode

#: RFC 8555 7.3.4: the MAC algorithms a binding may use.
EAB_ALGORITHMS = ("HS256", "HS384", "HS512")


class Terms:
    """``fake_acme.terms``: the current terms-of-service version (starts at 1)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.version = 1

    def change(self) -> int:
        """Publish a new version; accounts must agree again. Returns the new version."""
        with self._lock:
            self.version += 1
            return self.version

    def reset(self) -> None:
        """Back to version 1."""
        with self._lock:
            self.version = 1

    def user_action_required(self, terms_url: str, instance_url: str) -> problems.AcmeProblem:
        """The problem of RFC 8555 7.3.3's example, for an account behind on the terms."""
        prob = problems.problem("userActionRequired", "Terms of service have changed", 403)
        prob.extra = {"instance": instance_url}
        return prob.with_headers(Link=f'<{terms_url}>;rel="terms-of-service"')


class ExternalAccounts:
    """``fake_acme.eab``: HMAC keys by key ID, as a CA hands them out to its customers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, bytes] = {}
        self._bound: dict[str, str] = {}

    def add(self, kid: str | None = None, key: bytes | str | None = None) -> tuple[str, str]:
        """Register a key ID and its HMAC key (random ones by default). Returns ``(kid,
        key)`` with the key base64url-encoded, as clients take it (certbot's
        ``--eab-hmac-key``)."""
        if kid is not None and (not isinstance(kid, str) or not kid):
            raise FakeACMEUsageError(f"an EAB key ID must be a non-empty string, not {kid!r}")
        if isinstance(key, str):
            raw = b64decode(key, "EAB HMAC key") if key else b""
        elif key is None:
            raw = secrets.token_bytes(32)
        elif isinstance(key, bytes):
            raw = key
        else:
            raise FakeACMEUsageError(f"an EAB key is bytes or base64url text, not {key!r}")
        if len(raw) < 16:
            raise FakeACMEUsageError("an EAB HMAC key needs at least 16 bytes")
        kid = kid or "kid-" + secrets.token_hex(6)
        with self._lock:
            self._keys[kid] = raw
        return kid, base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    def clear(self) -> None:
        """Forget every key and binding."""
        with self._lock:
            self._keys.clear()
            self._bound.clear()

    def bound_account(self, kid: str) -> str | None:
        """The account a key ID was used for, if any."""
        with self._lock:
            return self._bound.get(kid)

    def verify(self, binding: Any, account_jwk: dict[str, Any], url: str) -> str:
        """Check an ``externalAccountBinding`` (RFC 8555 7.3.4) for a new account with
        ``account_jwk`` at newAccount ``url``; returns the key ID, or raises the problem."""
        if not isinstance(binding, dict) or set(binding) != {"protected", "payload",
                                                              "signature"}:
            raise problems.malformed(
                "externalAccountBinding must be a flattened JWS (protected, payload, signature)"
            )
        try:
            protected = json.loads(b64decode(binding["protected"], "EAB protected header"))
            payload = json.loads(b64decode(binding["payload"], "EAB payload"))
        except (ValueError, RecursionError):
            raise problems.malformed("externalAccountBinding is not valid JSON") from None
        signature = b64decode(binding["signature"], "EAB signature")
        if not isinstance(protected, dict):
            raise problems.malformed("externalAccountBinding protected header is not an object")
        alg = protected.get("alg")
        if alg not in EAB_ALGORITHMS:
            raise problems.bad_signature_algorithm(
                str(alg), f"externalAccountBinding must use one of {', '.join(EAB_ALGORITHMS)}"
            )
        if "nonce" in protected:
            raise problems.malformed("externalAccountBinding must not carry a nonce")
        if protected.get("url") != url:
            raise problems.malformed("externalAccountBinding url must be the newAccount URL")
        kid = protected.get("kid")
        with self._lock:
            key = self._keys.get(kid) if isinstance(kid, str) else None
            bound = self._bound.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise problems.unauthorized(f"the external account key ID {kid!r} is unknown")
        if bound is not None:
            raise problems.unauthorized(
                f"the external account key ID {kid!r} is already bound to an account"
            )
        mac = josepy.JWASignature.from_json(alg)
        signing_input = f"{binding['protected']}.{binding['payload']}".encode("ascii")
        if not mac.verify(key, signing_input, signature):
            raise problems.unauthorized("externalAccountBinding signature is invalid")
        try:
            inner = cast(josepy.JWK, josepy.JWK.from_json(payload)).thumbprint()
            outer = cast(josepy.JWK, josepy.JWK.from_json(account_jwk)).thumbprint()
        except (josepy.DeserializationError, TypeError, ValueError, KeyError, AttributeError):
            raise problems.malformed("externalAccountBinding payload is not a JWK") from None
        if inner != outer:
            raise problems.malformed(
                "externalAccountBinding payload must be the key the account is created with"
            )
        assert isinstance(kid, str)
        return kid

    def bind(self, kid: str, account_id: str) -> None:
        """Record that ``kid`` now belongs to ``account_id``."""
        with self._lock:
            self._bound[kid] = account_id
