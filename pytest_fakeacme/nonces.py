"""Anti-replay nonces (RFC 8555 6.5): issued on every POST answer and by newNonce, each good
for exactly one request.

Nonces carry a per-instance prefix, so a nonce from another fake (or from before a
:meth:`NoncePool.reset`) is recognisably foreign and refused like any unknown nonce. The pool
is bounded: the oldest outstanding nonces are forgotten first, as a real CA forgets them.
"""

from __future__ import annotations

import base64
import datetime as _dt
import secrets
import threading
from collections import OrderedDict

from .clock import Clock


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class NoncePool:
    """Issues and redeems single-use nonces."""

    #: Outstanding nonces kept before the oldest are dropped.
    capacity = 20_000

    def __init__(self, clock: Clock, lifetime: _dt.timedelta = _dt.timedelta(hours=1)) -> None:
        self._clock = clock
        self.lifetime = lifetime
        self._lock = threading.Lock()
        self._outstanding: OrderedDict[str, _dt.datetime] = OrderedDict()
        self._prefix = _b64(secrets.token_bytes(3))

    def issue(self) -> str:
        """A fresh nonce (base64url, as RFC 8555 6.5.1 requires)."""
        body = _b64(secrets.token_bytes(12))
        now = self._clock.now()
        with self._lock:
            # The prefix is read under the lock: a nonce issued while reset() runs must carry
            # either the old prefix and be forgotten, or the new one and be kept.
            nonce = self._prefix + body
            self._outstanding[nonce] = now
            while len(self._outstanding) > self.capacity:
                self._outstanding.popitem(last=False)
        return nonce

    def redeem(self, nonce: str) -> bool:
        """Consume ``nonce``; False if it was never issued here, already used, or expired."""
        with self._lock:
            issued = self._outstanding.pop(nonce, None)
        if issued is None:
            return False
        return self._clock.now() - issued < self.lifetime

    def reset(self) -> None:
        """Forget every outstanding nonce, and change prefix so old ones read as foreign."""
        with self._lock:
            self._outstanding.clear()
            self._prefix = _b64(secrets.token_bytes(3))

    def __len__(self) -> int:
        with self._lock:
            return len(self._outstanding)
