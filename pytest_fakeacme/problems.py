"""Every RFC 8555 problem document the fake can produce, and the one place that renders them.

Handlers, the JWS verifier, the VA and the CA never build a problem document by hand: they call
a constructor from this module (``problems.malformed("...")``) and either ``raise`` it (it is an
exception) or store it (a failed challenge keeps its problem). :func:`AcmeProblem.to_json`
is the single renderer, used for ``application/problem+json`` bodies and for ``challenge.error``.

HTTP statuses follow Let's Encrypt (Boulder's ``probs`` package), which is what clients meet in
production: for example ``connection``, ``dns`` and ``tls`` carry 400, ``unauthorized`` and
``caa`` 403, and "not found" is ``malformed`` with 404.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ._gofmt import go_quote

#: RFC 8555 section 6.7: every ACME error type lives under this URN namespace.
ACME_ERROR_PREFIX = "urn:ietf:params:acme:error:"

#: The error types RFC 8555 section 6.7 registers, plus the ones Boulder adds.
KNOWN_TYPES = frozenset(
    {
        "accountDoesNotExist",
        "alreadyReplaced",
        "alreadyRevoked",
        "badCSR",
        "badNonce",
        "badPublicKey",
        "badRevocationReason",
        "badSignatureAlgorithm",
        "caa",
        "compound",
        "conflict",
        "connection",
        "dns",
        "externalAccountRequired",
        "incorrectResponse",
        "invalidContact",
        "invalidProfile",
        "malformed",
        "orderNotReady",
        "rateLimited",
        "rejectedIdentifier",
        "serverInternal",
        "tls",
        "unauthorized",
        "unsupportedContact",
        "unsupportedIdentifier",
        "userActionRequired",
    }
)

_SURROGATE = re.compile("[\ud800-\udfff]")

#: The JWS algorithms the fake verifies; listed in badSignatureAlgorithm problems (RFC 8555 6.2).
SUPPORTED_ALGORITHMS = ("RS256", "ES256", "ES384", "ES512")


@dataclass(eq=False)
class AcmeProblem(Exception):  # noqa: N818 - the RFC's word for it is "problem"
    """An RFC 8555 / RFC 7807 problem document, usable as an exception.

    ``type`` is the short name (``"badNonce"``); :attr:`urn` gives the full URN. ``headers`` are
    response headers that belong with the problem (``Retry-After``, ``Link``); they are sent when
    the problem is the answer to a request and ignored when it is stored on a challenge.
    """

    type: str
    detail: str
    status: int
    identifier: Mapping[str, str] | None = None
    subproblems: tuple[AcmeProblem, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        Exception.__init__(self, f"{self.type}: {self.detail}")

    def __str__(self) -> str:
        return f"{self.urn} ({self.status}): {self.detail}"

    @property
    def urn(self) -> str:
        """The full type URN, ``urn:ietf:params:acme:error:<type>``, or the type when custom."""
        return self.type if ":" in self.type else ACME_ERROR_PREFIX + self.type

    def to_json(self) -> dict[str, Any]:
        """The problem document as a JSON object (RFC 7807 members plus RFC 8555's extras)."""
        body: dict[str, Any] = {"type": self.urn, "detail": self.detail, "status": self.status}
        if self.identifier is not None:
            body["identifier"] = dict(self.identifier)
        if self.subproblems:
            body["subproblems"] = [sub.to_json() for sub in self.subproblems]
        body.update(self.extra)
        return body

    def to_bytes(self) -> bytes:
        """The document as Boulder writes it (web/send_error.go): Go's ``json.Encoder`` with a
        two-space indent and no HTML escaping, its trailing newline trimmed."""
        text = json.dumps(self.to_json(), indent=2, ensure_ascii=False)
        # Go escapes these two even with SetEscapeHTML(false); Python leaves them raw.
        text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
        # Go writes invalid UTF-8 (here: lone surrogates) as U+FFFD.
        return _SURROGATE.sub("\ufffd", text).encode("utf-8")

    def with_headers(self, **headers: str) -> AcmeProblem:
        """A copy that also sends ``headers`` (keyword names use ``_`` for ``-``)."""
        merged = dict(self.headers)
        merged.update({k.replace("_", "-"): v for k, v in headers.items()})
        return replace(self, headers=merged)

    def prefixed(self, prefix: str) -> AcmeProblem:
        """A copy whose detail starts with ``prefix`` (Boulder's ``"<context> :: "`` style)."""
        return replace(self, detail=prefix + self.detail)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> AcmeProblem:
        """Parse a problem document (the inverse of :meth:`to_json`)."""
        urn = str(body.get("type", "about:blank"))
        short = urn[len(ACME_ERROR_PREFIX) :] if urn.startswith(ACME_ERROR_PREFIX) else urn
        ident = body.get("identifier")
        subs = tuple(cls.from_json(s) for s in body.get("subproblems", ()) or ())
        known = {"type", "detail", "status", "identifier", "subproblems"}
        return cls(
            type=short,
            detail=str(body.get("detail", "")),
            status=int(body.get("status", 500)),
            identifier=dict(ident) if isinstance(ident, Mapping) else None,
            subproblems=subs,
            extra={k: v for k, v in body.items() if k not in known},
        )


def problem(
    type: str,
    detail: str,
    status: int,
    *,
    identifier: Mapping[str, str] | None = None,
    subproblems: Sequence[AcmeProblem] = (),
) -> AcmeProblem:
    """Any problem: an RFC 8555 short type (``"caa"``) or a full URN for a custom type."""
    if not isinstance(type, str) or not type:
        raise TypeError("problem type must be a non-empty string such as 'unauthorized'")
    if ":" not in type and type not in KNOWN_TYPES:
        raise ValueError(
            f"unknown ACME problem type {type!r}; use one of {sorted(KNOWN_TYPES)} "
            "or a full URN for a custom type"
        )
    if not isinstance(status, int) or not 400 <= status <= 599:
        raise ValueError(f"problem status must be an HTTP error status (400-599), not {status!r}")
    return AcmeProblem(
        type=type,
        detail=str(detail),
        status=status,
        identifier=identifier,
        subproblems=tuple(subproblems),
    )


# One constructor per type, with Boulder's HTTP status (probs/probs.go).


def malformed(detail: str) -> AcmeProblem:
    """400 malformed: the request message was malformed (RFC 8555 6.7)."""
    return problem("malformed", detail, 400)


def not_found(detail: str) -> AcmeProblem:
    """404, type malformed: Boulder's ``probs.NotFound`` (no such account, order, ...)."""
    return problem("malformed", detail, 404)


def method_not_allowed(detail: str = "Method not allowed") -> AcmeProblem:
    """405, type malformed: a method the resource does not serve (e.g. GET of a POST-as-GET)."""
    return problem("malformed", detail, 405)


def unsupported_media_type(detail: str) -> AcmeProblem:
    """415, type malformed: a POST that is not ``application/jose+json`` (RFC 8555 6.2)."""
    return problem("malformed", detail, 415)


def bad_nonce(detail: str = "JWS has an invalid anti-replay nonce") -> AcmeProblem:
    """400 badNonce: unknown, used or missing nonce (RFC 8555 6.5). The client retries."""
    return problem("badNonce", detail, 400)


def bad_signature_algorithm(alg: str, detail: str | None = None) -> AcmeProblem:
    """400 badSignatureAlgorithm, with the ``algorithms`` member RFC 8555 6.2 asks for."""
    if detail is None:
        detail = (
            f"JWS signature header contains unsupported algorithm {go_quote(alg)}, "
            "expected one of " + ", ".join(SUPPORTED_ALGORITHMS)
        )
    prob = problem("badSignatureAlgorithm", detail, 400)
    return replace(prob, extra={"algorithms": list(SUPPORTED_ALGORITHMS)})


def bad_public_key(detail: str) -> AcmeProblem:
    """400 badPublicKey: the JWS key is of an unsupported type or too weak."""
    return problem("badPublicKey", detail, 400)


def account_does_not_exist(detail: str) -> AcmeProblem:
    """400 accountDoesNotExist: a ``kid`` or ``onlyReturnExisting`` that matches no account."""
    return problem("accountDoesNotExist", detail, 400)


def unauthorized(detail: str) -> AcmeProblem:
    """403 unauthorized: the client lacks authorization; also a failed http-01/dns-01 check."""
    return problem("unauthorized", detail, 403)


def order_not_ready(detail: str) -> AcmeProblem:
    """403 orderNotReady: finalize of an order that is not ``ready`` (RFC 8555 7.4)."""
    return problem("orderNotReady", detail, 403)


def bad_csr(detail: str) -> AcmeProblem:
    """400 badCSR: the CSR is unacceptable (RFC 8555 7.4)."""
    return problem("badCSR", detail, 400)


def rejected_identifier(
    detail: str, *, identifier: Mapping[str, str] | None = None
) -> AcmeProblem:
    """400 rejectedIdentifier: the server will not issue for this identifier."""
    return problem("rejectedIdentifier", detail, 400, identifier=identifier)


def unsupported_identifier(detail: str) -> AcmeProblem:
    """400 unsupportedIdentifier: an identifier type the server does not know."""
    return problem("unsupportedIdentifier", detail, 400)


def invalid_contact(detail: str) -> AcmeProblem:
    """400 invalidContact: a contact URL the server rejects."""
    return problem("invalidContact", detail, 400)


def unsupported_contact(detail: str) -> AcmeProblem:
    """400 unsupportedContact: a contact URL scheme the server does not support."""
    return problem("unsupportedContact", detail, 400)


def conflict(detail: str) -> AcmeProblem:
    """409 conflict (Boulder's, not RFC 8555's): e.g. a key already in use."""
    return problem("conflict", detail, 409)


def server_internal(detail: str) -> AcmeProblem:
    """500 serverInternal, with the ``Retry-After: 60`` Boulder adds to every 500."""
    return problem("serverInternal", detail, 500).with_headers(Retry_After="60")


def connection(detail: str) -> AcmeProblem:
    """400 connection: the VA could not connect to or talk with the client's responder."""
    return problem("connection", detail, 400)


def dns(detail: str) -> AcmeProblem:
    """400 dns: a DNS lookup the VA made failed."""
    return problem("dns", detail, 400)


def tls(detail: str) -> AcmeProblem:
    """400 tls: the VA met a TLS error (an alert) talking to the responder."""
    return problem("tls", detail, 400)


def caa(detail: str) -> AcmeProblem:
    """403 caa: CAA records forbid issuance (RFC 8555 6.7, RFC 8659)."""
    return problem("caa", detail, 403)


def rate_limited(detail: str) -> AcmeProblem:
    """429 rateLimited."""
    return problem("rateLimited", detail, 429)


#: Let's Encrypt's rate-limit documentation, which details link to (errors/errors.go:205-267).
RATE_LIMIT_DOCS = "https://letsencrypt.org/docs/rate-limits/"
#: What Boulder's 429s link to as ``rel="help"``: the same page, without the trailing slash
#: (wfe2/wfe.go:668-670).
RATE_LIMIT_HELP = "https://letsencrypt.org/docs/rate-limits"


def rate_limit_exceeded(text: str, anchor: str, now: _dt.datetime,
                        wait: _dt.timedelta) -> AcmeProblem:
    """Boulder's refusal by a rate limit: ``text`` (the limiter's sentence), the time the
    client may retry (``ratelimits/limiter.go:100-103``, as Go formats it), the link to the
    section ``anchor`` of Let's Encrypt's page (``errors/errors.go:205-267``); ``Retry-After``
    (the wait rounded half away from zero) and the help link, neither when that rounds to 0
    (``wfe2/wfe.go:663-671``)."""
    when = (now + wait).astimezone(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return with_retry_after(
        rate_limited(f"{text}, retry after {when}: see {RATE_LIMIT_DOCS}#{anchor}"), wait)


def with_retry_after(refusal: AcmeProblem, wait: _dt.timedelta) -> AcmeProblem:
    """Boulder's headers on a refusal by a rate limit (wfe2/wfe.go:663-671): ``Retry-After``,
    the wait rounded half away from zero, and the help link; neither when that is 0."""
    seconds = math.floor(wait.total_seconds() + 0.5)
    if seconds <= 0:
        return refusal
    return refusal.with_headers(Retry_After=str(seconds), Link=f'<{RATE_LIMIT_HELP}>;rel="help"')


def paused(identifiers: Sequence[str], unpause_url: str) -> AcmeProblem:
    """newOrder for identifiers the account is paused for (wfe2/wfe.go:2432-2451): 429
    rateLimited, no Retry-After, no help link."""
    return rate_limited(
        f"Your account is temporarily prevented from requesting certificates for "
        f"{', '.join(identifiers)} and possibly others. Please visit: {unpause_url}")


def internal_error_detail(exc: BaseException) -> str:
    """The detail of the serverInternal answered when the fake itself raised ``exc``."""
    return f"The fake ACME server raised {type(exc).__name__}: {exc} (this is a bug in the fake)"
