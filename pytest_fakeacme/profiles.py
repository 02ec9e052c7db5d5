"""Certificate profiles, and Let's Encrypt's profiles as its published schedule changes them.

A :class:`Profile` is what ``profile`` in newOrder selects (draft-ietf-acme-profiles): the
certificate's contents (validity, subject Common Name, key usages, subject key identifier,
extended key usages), the order's rules (how many identifiers, of which types) and the
lifetimes of its authorizations and order. Boulder splits these between the CA's
``certProfiles`` (``issuance/cert.go``) and the RA's ``validationProfiles``
(``ra/ra.go:242-305``); the fake keeps them in one object.

:func:`lets_encrypt_profiles` gives Let's Encrypt's profiles as they stand on a date
(letsencrypt.org/docs/profiles, and the dated plan in letsencrypt.org/2025/12/02/from-90-to-45):

- ``classic``: a subject CN, keyEncipherment for RSA keys, a subject key identifier, 90 days,
  100 names, DNS names only, authorizations reused for 30 days; serverAuth only since
  2026-02-11 (serverAuth and clientAuth before); 64 days with 10-day reuse from 2027-02-10;
  45 days with 7-hour reuse from 2028-02-16.
- ``tlsserver``: no CN, no keyEncipherment, no subject key identifier, 25 names, DNS names
  only, pending authorizations for 1 hour, reuse for 7 hours, orders for 8 hours; 90 days
  until 2026-05-12, 45 days from 2026-05-13.
- ``shortlived``: as ``tlsserver``, 160 hours, and the only one that takes IP addresses.
- ``tlsclient`` (serverAuth and clientAuth, otherwise classic) from 2025-10-01 until its
  removal on 2026-07-08; from 2026-05-13 only for accounts that used it before.
"""

from __future__ import annotations

import datetime as _dt
import functools
from dataclasses import dataclass, replace

_DAY = _dt.timedelta(days=1)
_HOUR = _dt.timedelta(hours=1)
#: Boulder's ``validAuthzLifetime`` for Let's Encrypt's classic profile until 2027-02-10, and
#: the reuse period of an order outside any profile.
AUTHZ_REUSE = 30 * _DAY


@dataclass(frozen=True)
class Profile:
    """A certificate profile (the ACME profiles draft): what ``profile`` in newOrder selects."""

    description: str
    validity: _dt.timedelta
    #: Extended key usages: ``serverAuth`` always; ``clientAuth`` too when True, as Let's
    #: Encrypt's classic profile had it until 2026-02-11.
    client_auth: bool = False
    #: The identifier types an order may hold (Boulder's ``identifierTypes``).
    identifier_types: tuple[str, ...] = ("dns",)
    #: The most identifiers an order may hold (Boulder's ``maxNames``).
    max_names: int = 100
    #: A subject Common Name (Boulder's ``omitCommonName`` is the opposite).
    common_name: bool = True
    #: keyEncipherment in the key usage of certificates for RSA keys (``omitKeyEncipherment``).
    key_encipherment: bool = True
    #: A subject key identifier extension (``omitSKID``).
    subject_key_id: bool = True
    #: How long a validated authorization is reused for new orders (``validAuthzLifetime``).
    authz_reuse: _dt.timedelta = AUTHZ_REUSE
    #: How long a new authorization stays pending (``pendingAuthzLifetime``); None: the
    #: setting ``pending_authz_lifetime``.
    pending_authz_lifetime: _dt.timedelta | None = None
    #: How long a new order lives (``orderLifetime``); None: the setting ``order_lifetime``.
    order_lifetime: _dt.timedelta | None = None
    #: Only accounts that ordered with this profile before may (Boulder's ``allowList``, as
    #: Let's Encrypt kept tlsclient for its existing users from 2026-05-13).
    prior_users_only: bool = False


#: What Let's Encrypt's directory says of each profile in ``meta.profiles``: a link to its
#: section of the profiles page.
_DOCS = "https://letsencrypt.org/docs/profiles#"
_CLASSIC = Profile(_DOCS + "classic", 90 * _DAY)
_TLSSERVER = Profile(_DOCS + "tlsserver", 45 * _DAY, max_names=25, common_name=False,
                     key_encipherment=False, subject_key_id=False, authz_reuse=7 * _HOUR,
                     pending_authz_lifetime=_HOUR, order_lifetime=8 * _HOUR)
_SHORTLIVED = replace(_TLSSERVER, description=_DOCS + "shortlived", validity=160 * _HOUR,
                      identifier_types=("dns", "ip"))
_TLSCLIENT = Profile(_DOCS + "tlsclient", 90 * _DAY, client_auth=True)

#: The dates of Let's Encrypt's published changes, for :func:`lets_encrypt_profiles`.
CLASSIC_SERVER_AUTH_ONLY = _dt.date(2026, 2, 11)
TLSSERVER_45_DAYS = _dt.date(2026, 5, 13)
CLASSIC_64_DAYS = _dt.date(2027, 2, 10)
CLASSIC_45_DAYS = _dt.date(2028, 2, 16)
TLSCLIENT_FROM = _dt.date(2025, 10, 1)
TLSCLIENT_UNTIL = _dt.date(2026, 7, 8)

#: The policy date this release pins by default (the setting ``policy_date``), so a suite's
#: results never change with the wall date.
RELEASE_POLICY_DATE = "2026-12-07"


def lets_encrypt_profiles(day: _dt.date) -> dict[str, Profile]:
    """Let's Encrypt's profiles as they stand on ``day``, by name."""
    return dict(_profiles_on(day))


@functools.lru_cache(maxsize=64)
def _profiles_on(day: _dt.date) -> dict[str, Profile]:
    # Asked at every newOrder, finalize and directory read: built once per day.
    classic = _CLASSIC
    if day < CLASSIC_SERVER_AUTH_ONLY:
        classic = replace(classic, client_auth=True)
    if day >= CLASSIC_64_DAYS:
        classic = replace(classic, validity=64 * _DAY, authz_reuse=10 * _DAY)
    if day >= CLASSIC_45_DAYS:
        classic = replace(classic, validity=45 * _DAY, authz_reuse=7 * _HOUR)
    tlsserver = _TLSSERVER if day >= TLSSERVER_45_DAYS else replace(_TLSSERVER,
                                                                    validity=90 * _DAY)
    found = {"classic": classic, "tlsserver": tlsserver, "shortlived": _SHORTLIVED}
    if TLSCLIENT_FROM <= day < TLSCLIENT_UNTIL:
        found["tlsclient"] = replace(_TLSCLIENT, prior_users_only=day >= TLSSERVER_45_DAYS)
    return found


def policy_day(policy_date: str, today: _dt.datetime) -> _dt.date:
    """The day whose rules apply: ``policy_date`` (``YYYY-MM-DD``), or the fake's ``today``
    when it is ``"clock"``."""
    if policy_date == "clock":
        return today.date()
    return _dt.date.fromisoformat(policy_date)
