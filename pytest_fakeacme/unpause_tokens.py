"""The JWTs in unpause links, as Boulder makes and checks them (``unpause/unpause.go``).

A paused account's newOrder refusal links to an unpause page with a JWT naming the account and
the identifiers; the page accepts only a token this fake signed, not expired on its clock.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from typing import Any

from .clock import Clock

#: The JWT's lifetime: the least Boulder allows (cmd/boulder-wfe2/main.go:196-200); Let's
#: Encrypt's own is not published.
JWT_LIFETIME = _dt.timedelta(days=14)
#: go-jose's default leeway when it checks expiry.
_LEEWAY = 60


class UnpauseTokens:
    """Makes and checks unpause JWTs with a secret of this fake's own."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._secret = secrets.token_bytes(32)

    def issue(self, account: str, identifiers: Sequence[str]) -> str:
        """Boulder's ``GenerateJWT`` (unpause/unpause.go:43-94): HS256, a header of ``alg``
        only, the claims in Go's (alphabetical) order."""
        now = int(self._clock.now().timestamp())
        claims = {"aud": "SFE Unpause", "exp": now + int(JWT_LIFETIME.total_seconds()),
                  "iat": now, "identifiers": ",".join(identifiers), "iss": "WFE",
                  "sub": account, "version": "v1"}
        signing = f"{_b64json({'alg': 'HS256'})}.{_b64json(claims)}"
        return f"{signing}.{_b64(self._mac(signing))}"

    def redeem(self, jwt: str) -> dict[str, Any] | None:
        """The claims of an unpause JWT if it is this fake's, as Boulder's ``RedeemJWT``
        checks it (unpause/unpause.go:112-160): signature, issuer, audience, version, a
        subject and identifiers, not expired (a minute's leeway); None otherwise, and
        ``{"expired": True}`` for one that only expired."""
        parts = jwt.split(".")
        if len(parts) != 3:
            return None
        if not hmac.compare_digest(_b64(self._mac(f"{parts[0]}.{parts[1]}")), parts[2]):
            return None
        try:
            claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        except ValueError:
            return None
        if not isinstance(claims, dict) or not (
                claims.get("iss") == "WFE" and claims.get("aud") == "SFE Unpause"
                and claims.get("version") == "v1" and claims.get("sub")
                and claims.get("identifiers")):
            return None
        if claims.get("exp", 0) + _LEEWAY < self._clock.now().timestamp():
            return {"expired": True}
        return claims

    def _mac(self, signing: str) -> bytes:
        return hmac.new(self._secret, signing.encode("ascii"), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64json(value: dict[str, Any]) -> str:
    # Go's json.Marshal of a map: compact, keys sorted.
    return _b64(json.dumps(value, separators=(",", ":"), sort_keys=True).encode("utf-8"))
