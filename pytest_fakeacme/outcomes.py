"""What the validation authority finds: one constructor per responder behaviour.

Script them with ``fake_acme.va.script("a.example", outcomes.http_status(404))``; the next
validation of ``a.example`` then fails exactly as Let's Encrypt fails a responder that answered
404: same problem type, HTTP status, detail layout and validation record. Every outcome knows the
challenge types it can apply to; scripting one that cannot apply to the challenge the client
picked (``txt_missing()`` on http-01) fails that validation with ``serverInternal`` and raises a
:class:`~pytest_fakeacme.errors.ScriptError` in the test.

Any outcome can be held back: ``outcomes.valid().after(polls=2)`` keeps the authorization
pending for two polls; ``.after(seconds=30)`` until the fake's clock has moved 30 s on.

The real VA reports what it observed as these same outcomes, so a scripted outcome and the real
responder behaviour it names render identically.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from . import problems as _problems
from .errors import FakeACMEUsageError
from .model import CHALLENGE_TYPES, DNS_PERSIST_01, DNS_TYPES, HTTP_01, TLS_ALPN_01
from .va.policy import redirect_refusal

__all__ = [
    "ALPN_CERT_VARIANTS",
    "BAD_REDIRECT_REASONS",
    "KINDS",
    "Outcome",
    "OutcomeKind",
    "alpn_bad_cert",
    "bad_redirect",
    "body_too_large",
    "caa_forbids",
    "connect_timeout",
    "connection_refused",
    "connection_reset",
    "dns_nxdomain",
    "dns_servfail",
    "dns_timeout",
    "http_status",
    "no_addresses",
    "persist_txt",
    "problem",
    "read_timeout",
    "real",
    "redirect_loop",
    "secondary_fails",
    "tls_alert",
    "too_many_redirects",
    "txt_missing",
    "txt_wrong",
    "va_unreachable",
    "valid",
    "wrong_body",
]

_ALL = frozenset(CHALLENGE_TYPES)
_HTTP = frozenset({HTTP_01})
_DNS = frozenset(DNS_TYPES)
_ALPN = frozenset({TLS_ALPN_01})
_PERSIST = frozenset({DNS_PERSIST_01})
_CONNECTS = frozenset({HTTP_01, TLS_ALPN_01})


@dataclass(frozen=True)
class Outcome:
    """One thing the VA can find when it validates a challenge.

    Build outcomes with this module's functions, not with the constructor. ``kind`` names the
    behaviour (the constructor's name), ``params`` its arguments, ``challenge_types`` the
    challenge types it can apply to.
    """

    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    challenge_types: frozenset[str] = _ALL
    delay_polls: int = 0
    delay: _dt.timedelta = _dt.timedelta(0)

    def after(
        self, polls: int = 0, seconds: float = 0, *, delay: _dt.timedelta | None = None
    ) -> Outcome:
        """The same outcome, held back: the authorization (and challenge) stay pending for the
        next ``polls`` reads, and until the fake's clock has moved ``seconds`` (or ``delay``)
        past the attempt's start. A client's polling and Retry-After handling become testable
        without sleeping: advance ``fake_acme.clock`` instead."""
        if not isinstance(polls, int) or isinstance(polls, bool) or polls < 0:
            raise FakeACMEUsageError(f"after(polls=...) takes a whole number >= 0, not {polls!r}")
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
            raise FakeACMEUsageError(
                f"after(seconds=...) takes a number of seconds >= 0, not {seconds!r}"
            )
        total = _dt.timedelta(seconds=seconds) + (delay or _dt.timedelta(0))
        return replace(self, delay_polls=polls, delay=total)

    def applies_to(self, challenge_type: str) -> bool:
        """Whether this outcome can be what the VA finds for ``challenge_type``."""
        return challenge_type in self.challenge_types

    def with_params(self, **changes: Any) -> Outcome:
        """The same outcome with some parameters changed, unchecked: for what the real VA
        observed (a redirect to its own port, the URL of the hop that failed), which can lie
        outside what a test may script."""
        return replace(self, params={**self.params, **changes})

    @property
    def is_real(self) -> bool:
        """Whether this is :func:`real`: a check of the client's responder, not a script."""
        return self.kind == "real"

    @property
    def is_held(self) -> bool:
        """Whether :meth:`after` holds this outcome back."""
        return self.delay_polls > 0 or self.delay > _dt.timedelta(0)

    def __repr__(self) -> str:
        # The call that builds this outcome, without the arguments left at their defaults:
        # ``outcomes.http_status(code=404)``, not ``...(code=404, url=None)``.
        text = f"outcomes.{self.kind}({', '.join(_arguments(self.kind, self.params))})"
        if self.is_held:
            held = []
            if self.delay_polls:
                held.append(f"polls={self.delay_polls}")
            if self.delay:
                held.append(f"seconds={self.delay.total_seconds():g}")
            text += f".after({', '.join(held)})"
        return text


_NO_DEFAULT = object()


@functools.cache
def _defaults(kind: str) -> Mapping[str, Any]:
    """The default of each parameter of the constructor of ``kind`` (none for unknown kinds)."""
    constructor = CONSTRUCTORS.get(kind)
    if constructor is None:
        return {}
    return {
        name: p.default
        for name, p in inspect.signature(constructor).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def _is_default(value: Any, defaults: Mapping[str, Any], name: str) -> bool:
    default = defaults.get(name, _NO_DEFAULT)
    if isinstance(default, str) and isinstance(value, bytes):
        default = default.encode("utf-8")  # bodies are kept as bytes
    return default is not _NO_DEFAULT and bool(value == default)


def _arguments(kind: str, params: Mapping[str, Any]) -> list[str]:
    """The arguments of the call that builds an outcome of ``kind`` with ``params``."""
    prob = params.get("problem")
    if kind == "problem" and isinstance(prob, _problems.AcmeProblem):
        return [repr(prob.type), repr(prob.detail)] + (
            [f"status={prob.status}"] if prob.status != 403 else [])
    defaults = _defaults(kind)
    found = []
    for name, value in params.items():
        if _is_default(value, defaults, name):
            continue
        if isinstance(value, bytes):
            with contextlib.suppress(UnicodeDecodeError):
                value = value.decode("utf-8")  # wrong_body("hello") shows as it was written
        if name == "values" and kind == "txt_wrong":
            found += [repr(v) for v in value]  # txt_wrong(*values)
        else:
            found.append(f"{name}={value!r}")
    return found


def _outcome(kind: str, types: frozenset[str], **params: Any) -> Outcome:
    return Outcome(kind=kind, params=params, challenge_types=types)


def _url_or_none(value: str | None, name: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise FakeACMEUsageError(f"{name} must be a URL string or None, not {value!r}")
    return value


# The two that are not failures.


def valid() -> Outcome:
    """The responder answered correctly: the challenge and authorization become valid."""
    return _outcome("valid", _ALL)


def real() -> Outcome:
    """Do the real validation against the client's responder (the default, as Let's Encrypt)."""
    return _outcome("real", _ALL)


# http-01 responses.


def http_status(code: int, *, url: str | None = None) -> Outcome:
    """The responder answered with HTTP status ``code`` (anything but 200 fails; 404 is not
    special). ``url`` overrides the URL shown (by default, the challenge URL)."""
    if not isinstance(code, int) or isinstance(code, bool) or not 100 <= code <= 599:
        raise FakeACMEUsageError(f"http_status() takes an HTTP status code (100-599), not {code!r}")
    if code == 200:
        raise FakeACMEUsageError(
            "http_status(200) is not a failure: use outcomes.valid(), or wrong_body() for a 200 "
            "with the wrong content"
        )
    return _outcome("http_status", _HTTP, code=code, url=_url_or_none(url, "url"))


def wrong_body(body: str | bytes = "this is not the key authorization") -> Outcome:
    """A 200 whose body is not the key authorization (after trimming trailing whitespace)."""
    if not isinstance(body, (str, bytes)):
        raise FakeACMEUsageError(f"wrong_body(body=...) takes str or bytes, not {body!r}")
    data = body.encode("utf-8") if isinstance(body, str) else body
    if len(data) >= 128:
        raise FakeACMEUsageError(
            "a body of 128 bytes or more is not compared at all: use outcomes.body_too_large()"
        )
    return _outcome("wrong_body", _HTTP, body=data)


_DEFAULT_BIG_BODY = (
    b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1>"
    b"<p>The requested URL was not found on this server.</p></body></html>\n"
)


def body_too_large(body: str | bytes = _DEFAULT_BIG_BODY) -> Outcome:
    """A 200 whose body is 128 bytes or more (Boulder reads at most 128 bytes)."""
    if not isinstance(body, (str, bytes)):
        raise FakeACMEUsageError(f"body_too_large(body=...) takes str or bytes, not {body!r}")
    data = body.encode("utf-8") if isinstance(body, str) else body
    if len(data) < 128:
        raise FakeACMEUsageError(
            f"body_too_large() needs a body of at least 128 bytes (got {len(data)}); a shorter "
            "one is compared: use outcomes.wrong_body()"
        )
    return _outcome("body_too_large", _HTTP, body=data)


# Connection failures (http-01 and tls-alpn-01).


def connect_timeout() -> Outcome:
    """The TCP connection attempt timed out (a firewall dropping packets). Does not wait."""
    return _outcome("connect_timeout", _CONNECTS)


def read_timeout() -> Outcome:
    """The responder accepted the connection, then sent nothing before the deadline (for
    tls-alpn-01: the handshake stalled). Does not wait."""
    return _outcome("read_timeout", _CONNECTS)


def connection_refused() -> Outcome:
    """Nothing listens on the port: the connection was refused."""
    return _outcome("connection_refused", _CONNECTS)


def connection_reset() -> Outcome:
    """The responder reset the connection."""
    return _outcome("connection_reset", _CONNECTS)


def tls_alert(alert: str | None = None, *, url: str | None = None) -> Outcome:
    """The peer sent a TLS alert: for tls-alpn-01 during the handshake (default
    ``"no application protocol"``), for http-01 after a redirect to https (default
    ``"handshake failure"``). ``alert`` is Go's alert text, e.g. ``"internal error"``."""
    if alert is not None and (not isinstance(alert, str) or alert not in GO_TLS_ALERTS):
        raise FakeACMEUsageError(
            f"unknown TLS alert {alert!r}; use Go's text for it, one of {sorted(GO_TLS_ALERTS)}"
        )
    return _outcome("tls_alert", _CONNECTS, alert=alert, url=_url_or_none(url, "url"))


# Redirects (http-01).


def redirect_loop(*, url: str | None = None) -> Outcome:
    """The redirects came back to a URL already fetched. ``url`` is the repeated URL (by
    default the challenge URL)."""
    return _outcome("redirect_loop", _HTTP, url=_url_or_none(url, "url"))


def too_many_redirects(*, url: str | None = None) -> Outcome:
    """More than 10 redirects: the 11th is followed and the 12th refused. ``url`` is the
    refused redirect's target."""
    return _outcome("too_many_redirects", _HTTP, url=_url_or_none(url, "url"))


#: What :func:`bad_redirect` can object to, with an example target for each.
BAD_REDIRECT_REASONS: Mapping[str, str] = {
    "status": "a redirect status other than 301, 302, 307 or 308 (e.g. 303)",
    "scheme": "a scheme other than http or https (e.g. gopher://...)",
    "port": "an explicit port other than 80 or 443",
    "empty_host": "a target without a host",
    "well_known_host": "a host ending in .well-known (a missing '/')",
    "scope_zone": "an IPv6 address with a scope zone (e.g. [fe80::1%25eth0])",
    "tld": "a host not under an IANA-registered top-level domain",
    "reserved_ip": "a bare IP address in a reserved block (e.g. 10.0.0.1)",
    "too_long": "a path longer than 2000 bytes",
}


def bad_redirect(
    reason: str,
    *,
    to: str | None = None,
    code: int = 303,
    url: str | None = None,
) -> Outcome:
    """The responder redirected somewhere Let's Encrypt will not follow.

    ``reason`` is one of :data:`BAD_REDIRECT_REASONS` (``"status"``, ``"scheme"``,
    ``"port"``, ...); ``to`` the redirect target (a fitting example by default); ``code`` the
    status for ``"status"``; ``url`` the URL shown after ``Fetching`` (by default the URL Boulder
    shows for this case).
    """
    if not isinstance(reason, str) or reason not in BAD_REDIRECT_REASONS:
        raise FakeACMEUsageError(
            f"unknown bad_redirect reason {reason!r}; use one of {sorted(BAD_REDIRECT_REASONS)}"
        )
    if not isinstance(code, int) or isinstance(code, bool) or not 300 <= code <= 399:
        raise FakeACMEUsageError(f"bad_redirect(code=...) takes a 3xx status code, not {code!r}")
    if code in (301, 302, 307, 308):
        raise FakeACMEUsageError(
            f"{code} is a redirect status Let's Encrypt follows; the refused one is 303"
        )
    if to is not None and reason != "status":
        _check_redirect_target(reason, _url_or_none(to, "to"))
    return _outcome(
        "bad_redirect",
        _HTTP,
        reason=reason,
        to=_url_or_none(to, "to"),
        code=code,
        url=_url_or_none(url, "url"),
    )


def _check_redirect_target(reason: str, to: str | None) -> None:
    # The target must be one the real VA refuses for this very reason (and not for an earlier
    # one in Boulder's order), so that the scripted problem is one Let's Encrypt can produce.
    assert to is not None
    try:
        actual = redirect_refusal(to)
    except ValueError:
        found = "cannot even parse that target (its port is not a number)"
    else:
        if actual == reason:
            return
        found = (f"refuses that target for {actual!r}" if actual is not None
                 else "follows that target")
    raise FakeACMEUsageError(
        f"bad_redirect({reason!r}, to={to!r}): Let's Encrypt {found}; give a target that "
        f"shows {reason!r} ({BAD_REDIRECT_REASONS[reason]}), or leave to= out for a fitting "
        "example"
    )


# DNS (every challenge type; dns-01 looks up TXT, the others A and AAAA).


def dns_nxdomain() -> Outcome:
    """The name does not exist (NXDOMAIN)."""
    return _outcome("dns_nxdomain", _ALL)


def dns_servfail() -> Outcome:
    """The name's nameservers failed (SERVFAIL)."""
    return _outcome("dns_servfail", _ALL)


def dns_timeout() -> Outcome:
    """The DNS query timed out. Does not wait."""
    return _outcome("dns_timeout", _ALL)


def no_addresses() -> Outcome:
    """The name has no usable A or AAAA record (none, or only reserved addresses)."""
    return _outcome("no_addresses", _CONNECTS)


def txt_missing() -> Outcome:
    """dns-01: no TXT record at ``_acme-challenge.<name>``."""
    return _outcome("txt_missing", _DNS)


def txt_wrong(*values: str) -> Outcome:
    """dns-01: TXT records exist, none with the expected digest. ``values`` are the records
    found (one wrong value by default)."""
    if not values:
        values = ("this-is-not-the-digest",)
    if not all(isinstance(v, str) for v in values):
        raise FakeACMEUsageError(f"txt_wrong() takes TXT values as strings, not {values!r}")
    return _outcome("txt_wrong", _DNS, values=tuple(values))


def persist_txt(*records: str) -> Outcome:
    """dns-persist-01: the TXT records at ``_validation-persist.<name>`` are ``records``,
    judged as Let's Encrypt judges them (the issuer domain, ``accounturi``, ``policy=wildcard``,
    ``persistUntil`` on the fake's clock), e.g. ``persist_txt("fake-acme.test;
    accounturi=https://other/acme/acct/1")`` for an account mismatch."""
    if not records or not all(isinstance(r, str) for r in records):
        raise FakeACMEUsageError(
            f"persist_txt() takes the TXT records as strings (at least one), not {records!r}"
        )
    return _outcome("persist_txt", _PERSIST, records=tuple(records))


#: The tls-alpn-01 certificate faults :func:`alpn_bad_cert` can name.
ALPN_CERT_VARIANTS: Mapping[str, str] = {
    "not_self_signed": "the certificate is not self-signed",
    "missing_extension": "no acmeIdentifier (1.3.6.1.5.5.7.1.31) extension",
    "missing_san": "no subjectAltName (2.5.29.17) extension",
    "duplicate_extension": "an extension appears twice (Go's TLS client refuses to parse "
    "such a certificate)",
    "wrong_san": "the SAN is not exactly the identifier",
    "not_critical": "the acmeIdentifier extension is not critical",
    "malformed_extension": "the acmeIdentifier value is not a 32-byte OCTET STRING",
    "wrong_digest": "the acmeIdentifier digest is not SHA-256 of the key authorization",
    "no_alpn": "the handshake completed without negotiating acme-tls/1",
    "plain_http": "the port speaks plain HTTP, not TLS",
}


def alpn_bad_cert(
    variant: str = "wrong_digest", *, names: str | None = None, got: str | None = None
) -> Outcome:
    """tls-alpn-01: the responder's validation certificate is wrong in the way ``variant``
    names (see :data:`ALPN_CERT_VARIANTS`).

    ``names`` (``"wrong_san"``) is what the certificate named, its CN and SANs joined by
    ``", "``; ``got`` (``"wrong_digest"``) the hex digest it carried."""
    if not isinstance(variant, str) or variant not in ALPN_CERT_VARIANTS:
        raise FakeACMEUsageError(
            f"unknown alpn_bad_cert variant {variant!r}; use one of {sorted(ALPN_CERT_VARIANTS)}"
        )
    if names is not None and (variant != "wrong_san" or not isinstance(names, str)):
        raise FakeACMEUsageError(
            f"alpn_bad_cert(names=...) takes a string, for the 'wrong_san' variant only; "
            f"got variant {variant!r}, names={names!r}"
        )
    if got is not None and (
        variant != "wrong_digest"
        or not isinstance(got, str)
        or len(got) != 64
        or any(c not in "0123456789abcdef" for c in got)
    ):
        raise FakeACMEUsageError(
            "alpn_bad_cert(got=...) takes the 64 lower-case hex digits of a SHA-256 digest, "
            f"for the 'wrong_digest' variant only; got variant {variant!r}, got={got!r}"
        )
    params: dict[str, Any] = {"variant": variant}
    if names is not None:
        params["names"] = names
    if got is not None:
        params["got"] = got
    return _outcome("alpn_bad_cert", _ALPN, **params)


# After a successful check.


def caa_forbids(*, found_at: str | None = None) -> Outcome:
    """The challenge passed, but CAA records (at ``found_at``, by default the name itself)
    forbid issuance: the authorization becomes invalid with a ``caa`` problem. DNS
    identifiers only (Let's Encrypt does not check CAA for IP addresses)."""
    if found_at is not None and (not isinstance(found_at, str) or not found_at.strip(". ")):
        raise FakeACMEUsageError(
            f"caa_forbids(found_at=...) takes the DNS name holding the CAA records, "
            f"not {found_at!r}"
        )
    return _outcome("caa_forbids", _ALL, found_at=found_at)


def secondary_fails(inner: Outcome | None = None) -> Outcome:
    """The primary VA passed, but the remote perspectives lost quorum: the client sees the
    first failing perspective's problem (``inner``, a 404 by default on http-01) prefixed
    ``During secondary validation:``."""
    if inner is not None and not isinstance(inner, Outcome):
        raise FakeACMEUsageError(f"secondary_fails() takes an Outcome, not {inner!r}")
    if inner is not None and inner.kind in ("valid", "real", "secondary_fails", "va_unreachable"):
        raise FakeACMEUsageError(
            f"secondary_fails() needs a failure a remote perspective can see, not {inner!r}"
        )
    if inner is not None and inner.is_held:
        raise FakeACMEUsageError(
            f"secondary_fails() takes the inner outcome without .after(); hold the whole "
            f"outcome back instead: secondary_fails(...).after(...), not {inner!r}"
        )
    types = inner.challenge_types if inner is not None else _ALL
    return _outcome("secondary_fails", types, inner=inner)


def va_unreachable() -> Outcome:
    """The RA could not reach the VA: ``serverInternal`` ``Could not communicate with VA``."""
    return _outcome("va_unreachable", _ALL)


def problem(type: str, detail: str, status: int = 403) -> Outcome:
    """Any problem, verbatim, as the challenge's error (``type`` a short RFC 8555 name such as
    ``"unauthorized"``, its full ``urn:ietf:params:acme:error:`` URN, or any other URN for a
    custom type; ``status`` an HTTP error status)."""
    if not isinstance(type, str) or not isinstance(detail, str):
        raise FakeACMEUsageError(
            f"problem() takes a type and a detail as strings, not {type!r} and {detail!r}"
        )
    if type.startswith(_problems.ACME_ERROR_PREFIX):
        short = type[len(_problems.ACME_ERROR_PREFIX) :]
        if short in _problems.KNOWN_TYPES:
            type = short
    if not isinstance(status, int) or isinstance(status, bool):
        raise FakeACMEUsageError(f"problem(status=...) takes an HTTP status code, not {status!r}")
    try:
        prob = _problems.problem(type, detail, status)
    except (TypeError, ValueError) as exc:
        raise FakeACMEUsageError(f"problem(): {exc}") from None
    return _outcome("problem", _ALL, problem=prob)


#: Go's texts for TLS alerts (``crypto/tls`` ``alert.go``), as ``remote error: tls: <text>``.
GO_TLS_ALERTS = frozenset(
    {
        "close notify",
        "unexpected message",
        "bad record MAC",
        "decryption failed",
        "record overflow",
        "decompression failure",
        "handshake failure",
        "bad certificate",
        "unsupported certificate",
        "revoked certificate",
        "expired certificate",
        "unknown certificate",
        "illegal parameter",
        "unknown certificate authority",
        "access denied",
        "error decoding message",
        "error decrypting message",
        "export restriction",
        "protocol version not supported",
        "insufficient security level",
        "internal error",
        "inappropriate fallback",
        "user canceled",
        "no renegotiation",
        "missing extension",
        "unsupported extension",
        "certificate unobtainable",
        "unrecognized name",
        "bad certificate status response",
        "bad certificate hash value",
        "unknown PSK identity",
        "certificate required",
        "no application protocol",
        "encrypted client hello required",
    }
)

@dataclass(frozen=True)
class OutcomeKind:
    """One kind of outcome: its name (the constructor's), the public constructor, and how an
    outcome of this kind is built again from its ``params`` (for the management API's JSON)."""

    name: str
    constructor: Callable[..., Outcome]
    rebuild: Callable[[Mapping[str, Any]], Outcome]


def _rebuild_txt_wrong(params: Mapping[str, Any]) -> Outcome:
    values = params.get("values", ())
    if set(params) - {"values"} or not isinstance(values, (list, tuple)):
        raise FakeACMEUsageError('txt_wrong takes {"values": ["...", ...]}')
    return txt_wrong(*values)


def _rebuild_problem(params: Mapping[str, Any]) -> Outcome:
    inner = params.get("problem")
    if isinstance(inner, _problems.AcmeProblem) and set(params) == {"problem"}:
        return problem(inner.type, inner.detail, inner.status)
    return problem(**params)


def _rebuild_persist_txt(params: Mapping[str, Any]) -> Outcome:
    records = params.get("records", ())
    if set(params) - {"records"} or not isinstance(records, (list, tuple)):
        raise FakeACMEUsageError('persist_txt takes {"records": ["...", ...]}')
    return persist_txt(*records)


_REBUILD: Mapping[str, Callable[[Mapping[str, Any]], Outcome]] = {
    "persist_txt": _rebuild_persist_txt,
    "txt_wrong": _rebuild_txt_wrong,
    "problem": _rebuild_problem,
}


def _keywords(constructor: Callable[..., Outcome]) -> Callable[[Mapping[str, Any]], Outcome]:
    return lambda params: constructor(**params)


#: The one registry of outcome kinds, by name. The VA's renderer has an entry for each kind
#: but ``real`` (checked when it is imported), and the JSON forms go through ``rebuild``.
KINDS: Mapping[str, OutcomeKind] = {
    name: OutcomeKind(name, globals()[name], _REBUILD.get(name) or _keywords(globals()[name]))
    for name in __all__
    if name[0].islower()
}

#: Every constructor, by name (for the management API and for docs).
CONSTRUCTORS: Mapping[str, Any] = {name: kind.constructor for name, kind in KINDS.items()}


def as_outcome(value: object, where: str) -> Outcome:
    """``value`` as an outcome: an :class:`Outcome`, or the name of a constructor that takes no
    arguments (``"valid"``, as the marker, the options and the management API take it); else
    a usage error naming ``where`` it was given."""
    if isinstance(value, Outcome):
        return value
    if isinstance(value, str):
        return by_name(value)
    name = getattr(value, "__name__", None)
    hint = f"; call it: outcomes.{name}()" if callable(value) and name in CONSTRUCTORS else ""
    raise FakeACMEUsageError(
        f"{where} takes outcomes such as outcomes.http_status(404) or outcomes.valid() (or "
        f"the name of one that takes no arguments, such as 'valid'), not {value!r}{hint}"
    )


def by_name(name: str) -> Outcome:
    """An outcome from its constructor's name, for options and markers (``"valid"``)."""
    kind = KINDS.get(name)
    if kind is None:
        raise FakeACMEUsageError(
            f"unknown outcome {name!r}; use one of {', '.join(sorted(KINDS))}"
        )
    try:
        return kind.constructor()
    except TypeError:
        raise FakeACMEUsageError(
            f"outcome {name!r} needs arguments; script it from Python instead"
        ) from None
