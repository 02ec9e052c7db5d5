"""RSA keys with the weaknesses Boulder's key policy looks for, and raw RS256 signatures with
them (``cryptography`` refuses to build most of these keys, so the arithmetic is done here).

The primes come from OpenSSL (through ``cryptography``) where a key of the right size gives
them, and from Miller-Rabin where the weakness is in how they are chosen.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from jwsclient import b64

#: DER DigestInfo prefix of SHA-256 (RFC 8017 9.2, note 1).
_SHA256_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
#: The primes of the ROCA fingerprint's relations (github.com/titanous/rocacheck).
ROCA_PRIMES = (11, 13, 17, 19, 37, 53, 61, 71, 73, 79, 97, 103, 107, 109, 127, 151, 157)


_SIEVE = [p for p in range(3, 2000) if all(p % d for d in range(2, int(p ** 0.5) + 1))]
_SIEVE_PRODUCT = math.prod(_SIEVE)


def is_prime(n: int, rounds: int = 16) -> bool:
    """Trial division by the primes below 2000, then Miller-Rabin."""
    if n < 2000:
        return n == 2 or (n > 2 and n in _SIEVE)
    if n % 2 == 0 or math.gcd(n, _SIEVE_PRODUCT) != 1:
        return False
    d, r = n - 1, 0
    while d % 2 == 0:
        d //= 2
        r += 1
    for _ in range(rounds):
        a = secrets.randbelow(n - 3) + 2
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def next_prime(n: int) -> int:
    """The first prime above ``n``."""
    n += 1 if n % 2 == 0 else 2
    while not is_prime(n):
        n += 2
    return n


def random_prime(bits: int) -> int:
    """A random prime of exactly ``bits`` bits whose top two bits are set (so that two of them
    multiply to ``2 * bits`` bits)."""
    return next_prime(secrets.randbits(bits) | (3 << (bits - 2)))


@dataclass(frozen=True)
class RawRSA:
    """An RSA key as numbers: what a JWK carries and what an RS256 signature needs."""

    n: int
    e: int
    d: int
    p: int
    q: int

    @classmethod
    def from_primes(cls, p: int, q: int, e: int = 65537) -> RawRSA:
        """The key ``(p*q, e)``."""
        lam = math.lcm(p - 1, q - 1)
        return cls(p * q, e, pow(e, -1, lam), p, q)

    def private_key(self) -> rsa.RSAPrivateKey:
        """The key as ``cryptography`` holds it (its validation skipped: these keys are weak
        on purpose), to sign CSRs with."""
        numbers = rsa.RSAPrivateNumbers(
            self.p, self.q, self.d, self.d % (self.p - 1), self.d % (self.q - 1),
            pow(self.q, -1, self.p), rsa.RSAPublicNumbers(self.e, self.n))
        return numbers.private_key(unsafe_skip_rsa_key_validation=True)

    def jwk(self) -> dict[str, Any]:
        """The public JWK."""
        def number(value: int) -> str:
            return b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))

        return {"kty": "RSA", "n": number(self.n), "e": number(self.e)}

    def sign(self, message: bytes) -> bytes:
        """RS256 (RSASSA-PKCS1-v1_5 with SHA-256, RFC 8017 8.2)."""
        size = (self.n.bit_length() + 7) // 8
        info = _SHA256_INFO + hashlib.sha256(message).digest()
        encoded = b"\x00\x01" + b"\xff" * (size - len(info) - 3) + b"\x00" + info
        return pow(int.from_bytes(encoded, "big"), self.d, self.n).to_bytes(size, "big")


def coprime_prime(bits: int, e: int = 65537) -> int:
    """A prime ``p`` with ``gcd(p - 1, e) == 1``."""
    while True:
        p = random_prime(bits)
        if math.gcd(p - 1, e) == 1:
            return p


def small_factor_key() -> RawRSA:
    """A 2048-bit modulus ``3 * q``: divisible by a small prime. ``q`` is a prime of 2046 bits
    from OpenSSL (a prime of a 4092-bit key, whose top two bits are set)."""
    q = rsa.generate_private_key(public_exponent=65537, key_size=4092).private_numbers().p
    assert (3 * q).bit_length() == 2048
    return RawRSA.from_primes(3, q)


def close_factors_key() -> tuple[RawRSA, int, int]:
    """A 2048-bit key whose primes are neighbours, and its primes (larger first)."""
    q = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_numbers().q
    p = next_prime(q)
    while math.gcd(p - 1, 65537) != 1:  # pragma: no cover - one chance in 65537
        p = next_prime(p)
    return RawRSA.from_primes(p, q), p, q


def roca_key() -> RawRSA:
    """A 2048-bit key of the ROCA shape: primes ``k * M + 65537**a mod M`` with ``M`` the
    product of the fingerprint's primes, so that the modulus has the fingerprint."""
    m = math.prod(ROCA_PRIMES)
    primes: list[int] = []
    while len(primes) < 2:
        a = secrets.randbelow(m)
        base = pow(65537, a, m)
        k = (secrets.randbits(1024) | (3 << 1022)) // m
        candidate = k * m + base
        if candidate.bit_length() == 1024 and math.gcd(candidate - 1, 65537) == 1 and (
            is_prime(candidate)
        ):
            primes.append(candidate)
    return RawRSA.from_primes(*primes)


def odd_size_key(bits: int = 2560) -> RawRSA:
    """A key of ``bits`` bits (a size Boulder refuses), from OpenSSL."""
    numbers = rsa.generate_private_key(public_exponent=65537, key_size=bits).private_numbers()
    return RawRSA(numbers.public_numbers.n, numbers.public_numbers.e, numbers.d, numbers.p,
                  numbers.q)
