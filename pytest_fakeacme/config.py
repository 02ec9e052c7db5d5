"""The fake's behaviour settings (flavor, lifetimes, reuse, finalization), with Let's Encrypt's
values as defaults. ``FakeACME`` owns one :class:`Settings`; ``reset()`` restores the values the
instance was created with."""

from __future__ import annotations

import datetime as _dt
import difflib
import functools
import types
import typing
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

from .errors import FakeACMEUsageError
from .profiles import RELEASE_POLICY_DATE, Profile, lets_encrypt_profiles, policy_day

Flavor = Literal["boulder", "rfc"]
#: What becomes of outcomes scripted and never used, when a test ends.
UnusedScripts = Literal["warn", "error", "ignore"]

#: The fake's CAA identity (RFC 8555 7.1.1 ``caaIdentities``): what CAA records must name.
DEFAULT_CAA_IDENTITY = "fake-acme.test"
FLAVORS: tuple[Flavor, ...] = ("boulder", "rfc")


#: Let's Encrypt's profiles on the date this release pins (see :mod:`pytest_fakeacme.profiles`).
DEFAULT_PROFILES: dict[str, Profile] = lets_encrypt_profiles(
    _dt.date.fromisoformat(RELEASE_POLICY_DATE))


@dataclass
class Settings:
    """Knobs of the protocol's behaviour. Every one is also settable on a running instance."""

    #: ``"boulder"``: Let's Encrypt's state machine (challenge stays ``pending`` while
    #: validating); ``"rfc"``: RFC 8555's reading (challenge ``processing`` with Retry-After).
    flavor: Flavor = "boulder"
    #: Finalization answers ``processing`` with Retry-After, then ``valid`` at the next read
    #: (Boulder's ``AsyncFinalize``); False answers ``valid`` at once.
    async_finalize: bool = True
    #: Reads of the order, after the finalize answer, that still show ``processing``.
    finalize_processing_polls: int = 0
    #: Seconds in the Retry-After of a ``processing`` order (Boulder's ``orderRetryAfter``).
    finalize_retry_after: int = 3
    #: Seconds in the Retry-After of a ``processing`` challenge (``rfc`` flavor).
    challenge_retry_after: int = 1
    #: Reuse a valid authorization of the same account for the same identifier.
    authz_reuse: bool = True
    #: Return an existing pending/ready order for the same identifiers (Boulder does).
    order_reuse: bool = True
    order_lifetime: _dt.timedelta = _dt.timedelta(days=7)
    pending_authz_lifetime: _dt.timedelta = _dt.timedelta(days=7)
    certificate_validity: _dt.timedelta = _dt.timedelta(days=90)
    #: Profiles offered in the directory's ``meta.profiles``, by name ({} for none; None:
    #: Let's Encrypt's, as they stand on ``policy_date``).
    profiles: dict[str, Profile] | None = None
    #: Which of Let's Encrypt's dated rules apply (its profiles' contents): a date
    #: ``"YYYY-MM-DD"``, or ``"clock"`` for the fake's clock. Pinned to this release's date,
    #: so a suite's results do not change with the wall date.
    policy_date: str = RELEASE_POLICY_DATE
    #: Count Let's Encrypt's rate limits on the fake's clock, and pause an account for an
    #: identifier after persistent failures (``fake_acme.limits``).
    rate_limits: bool = False
    #: The profile an order without ``profile`` gets (None: ``certificate_validity``).
    default_profile: str | None = "classic"
    #: Whether newAccount needs an external account binding (RFC 8555 7.3.4; keys from
    #: ``fake_acme.eab.add()``).
    external_account_required: bool = False
    #: Offer dns-account-01 (draft-ietf-acme-dns-account-label) beside dns-01.
    dns_account_01: bool = False
    #: Offer dns-persist-01 (draft-ietf-acme-dns-persist, as Boulder implements it): a standing
    #: TXT record at ``_validation-persist.<name>`` naming the CA and the account.
    dns_persist_01: bool = False
    #: Accept ``notBefore``/``notAfter`` in newOrder (None: as the flavor does, refused by
    #: ``boulder`` as Let's Encrypt does, accepted by ``rfc``).
    validity_requests: bool | None = None
    #: Serve ``newAuthz`` for pre-authorization (RFC 8555 7.4.1; Let's Encrypt does not).
    pre_authorization: bool = False
    #: Whether newAccount requires ``termsOfServiceAgreed: true``.
    terms_required: bool = True
    #: Outcomes scripted but never used when the test ends (the fixture's teardown, or the
    #: end of ``with FakeACME()``): ``"warn"`` (an ``UnusedScriptWarning``), ``"error"`` (an
    #: ``UnusedScriptError``) or ``"ignore"``.
    unused_scripts: UnusedScripts = "warn"
    #: Orders per page in an account's orders list.
    orders_page_size: int = 100
    #: What CAA ``issue``/``issuewild`` records must name to allow the fake (RFC 8659 4.2);
    #: listed in the directory's ``meta.caaIdentities``.
    caa_identity: str = DEFAULT_CAA_IDENTITY
    #: ``"seconds"``: ``Retry-After`` as delta-seconds (Boulder, always); ``"date"``: as an
    #: HTTP-date on the fake's clock (RFC 9110 10.2.3 allows both; Pebble sends either), to
    #: test a client that reads only one form.
    retry_after_format: Literal["seconds", "date"] = "seconds"
    #: Refuse a request without ``User-Agent`` with Pebble's problem (Pebble 2.10 does; Let's
    #: Encrypt logs and accepts it, so off by default).
    require_user_agent: bool = False
    #: How often CRLs are published again (a revocation shows on the next one).
    crl_update_interval: _dt.timedelta = _dt.timedelta(hours=1)
    #: Largest request body accepted, in bytes.
    max_request_body: int = 50_000  # Boulder's limit
    #: Apply Boulder's whole identifier policy: names must end in an ICANN public suffix
    #: (``a.example`` and ``*.test`` are refused) and IP addresses must be outside the IANA
    #: special-purpose registries (loopback too). False keeps the fake's leniencies for tests.
    strict_identifiers: bool = False

    def validate(self) -> None:
        """Raise :class:`FakeACMEUsageError` if a value is of the wrong type or out of range."""
        for item in fields(self):
            _check_type(item.name, getattr(self, item.name))
        for name in ("finalize_processing_polls", "finalize_retry_after",
                     "challenge_retry_after", "orders_page_size", "max_request_body"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise FakeACMEUsageError(f"{name} must be a whole number >= 0, not {value!r}")
        if self.profiles is not None and (not isinstance(self.profiles, dict) or not all(
            isinstance(k, str) and isinstance(v, Profile) for k, v in self.profiles.items()
        )):
            raise FakeACMEUsageError(
                "profiles must map names to pytest_fakeacme.config.Profile, or be None for "
                "Let's Encrypt's")
        if self.policy_date != "clock":
            try:
                _dt.date.fromisoformat(self.policy_date)
            except ValueError:
                raise FakeACMEUsageError(
                    f"policy_date takes a date such as '2028-02-16', or 'clock', not "
                    f"{self.policy_date!r}") from None
        offered = self.profiles if self.profiles is not None else (
            DEFAULT_PROFILES if self.policy_date == "clock"
            else lets_encrypt_profiles(_dt.date.fromisoformat(self.policy_date)))
        if self.default_profile is not None and self.default_profile not in offered:
            raise FakeACMEUsageError(
                f"default_profile {self.default_profile!r} is not one of the profiles "
                f"{sorted(offered)}"
            )
        for name in ("order_lifetime", "pending_authz_lifetime", "certificate_validity",
                     "crl_update_interval"):
            value = getattr(self, name)
            if not isinstance(value, _dt.timedelta) or value <= _dt.timedelta(0):
                raise FakeACMEUsageError(f"{name} must be a positive timedelta, not {value!r}")

    def profiles_on(self, now: _dt.datetime) -> dict[str, Profile]:
        """The profiles in force when the fake's clock reads ``now``: ``profiles`` as set, or
        Let's Encrypt's on ``policy_date``."""
        if self.profiles is not None:
            return self.profiles
        return lets_encrypt_profiles(policy_day(self.policy_date, now))

    def copy(self, **changes: Any) -> Settings:
        """A validated copy with ``changes`` applied (unknown names are an error)."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            near = [m for name in sorted(unknown)
                    for m in difflib.get_close_matches(name, known, n=1)]
            hint = f" (did you mean {', '.join(map(repr, near))}?)" if near else ""
            raise FakeACMEUsageError(
                f"unknown setting(s) {sorted(unknown)}{hint}; known: {sorted(known)}"
            )
        new = replace(self, **changes)
        new.validate()
        return new


@dataclass
class Ports:
    """Where the VA connects on this machine: the fake's stand-ins for ports 80 (http-01) and
    443 (tls-alpn-01, and https after an http-01 redirect). Owned by the fake's core, read by the
    VA at each attempt; :meth:`reset` restores the ports it was created with."""

    http01: int
    tls_alpn01: int
    https: int = 443

    def __post_init__(self) -> None:
        self._initial = (self.http01, self.tls_alpn01, self.https)

    def reset(self) -> None:
        """Back to the ports this object was created with."""
        self.http01, self.tls_alpn01, self.https = self._initial

    def reset_https(self) -> None:
        """Back to the https port this object was created with."""
        self.https = self._initial[2]


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _duration(text: str) -> _dt.timedelta:
    # Seconds ("3600"), or a number with a unit: "90s", "15m", "12h", "7d", "2w".
    unit = _DURATION_UNITS.get(text[-1:].lower())
    number = text[:-1] if unit else text
    return _dt.timedelta(seconds=float(number) * (unit or 1))


def parse_setting(name: str, text: str) -> Any:
    """A :class:`Settings` value from its text form (the command line's ``--set NAME=VALUE``
    and ``FAKE_ACME_<NAME>``): ``true``/``false``, whole numbers, durations in seconds or with
    a unit (``7d``, ``12h``), ``none`` for an unset optional value, other text as it is.
    The value is then checked as :meth:`Settings.copy` checks any."""
    known = {f.name: f for f in fields(Settings)}
    if name not in known:
        near = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise FakeACMEUsageError(f"unknown setting {name!r}{hint}; known: {sorted(known)}")
    default = known[name].default
    annotation = str(known[name].type)
    lowered = text.strip().lower()
    if "None" in annotation and lowered in ("none", "null", ""):
        return None
    try:
        if "bool" in annotation:
            if lowered in _TRUE or lowered in _FALSE:
                return lowered in _TRUE
            raise ValueError
        if isinstance(default, int):
            return int(text)
        if isinstance(default, _dt.timedelta):
            return _duration(text.strip())
    except ValueError:
        raise FakeACMEUsageError(
            f"setting {name} takes {annotation.replace('_dt.', '')}, not {text!r}"
        ) from None
    if "Profile" in annotation:
        raise FakeACMEUsageError(f"setting {name} is set from Python (configure()), not as text")
    return text


@functools.cache
def _setting_types() -> dict[str, Any]:
    return typing.get_type_hints(Settings)


def _check_type(name: str, value: Any) -> None:
    """A usage error unless ``value`` fits the type the field ``name`` declares, for the types
    that settings have: bool, str, a Literal of names, and ``X | None`` of those (int, timedelta
    and profiles are checked with their ranges in :meth:`Settings.validate`)."""
    hint = _setting_types()[name]
    choices = typing.get_args(hint)
    optional = type(None) in choices and typing.get_origin(hint) in (typing.Union, types.UnionType)
    if optional:
        if value is None:
            return
        hint = next(c for c in choices if c is not type(None))
    if typing.get_origin(hint) is Literal:
        names = typing.get_args(hint)
        if value not in names or not isinstance(value, str):
            raise FakeACMEUsageError(
                f"unknown {name} {value!r}; use one of {', '.join(names)}"
            )
    elif hint is bool and not isinstance(value, bool):
        either = "True, False or None" if optional else "True or False"
        raise FakeACMEUsageError(f"{name} must be {either}, not {value!r}")
    elif hint is str and not isinstance(value, str):
        none = " or None" if optional else ""
        raise FakeACMEUsageError(f"{name} must be a string{none}, not {value!r}")
