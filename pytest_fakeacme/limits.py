"""Let's Encrypt's rate limits and account pausing, counted on the fake's clock.

Boulder's ``ratelimits`` package in Python. Each limit is a token bucket kept as one
theoretical arrival time (GCRA, ``ratelimits/gcra.go``): ``burst`` tokens, one back every
``period / count``. Requests are checked and spent in batches as Boulder's transaction builder
makes them (``ratelimits/transaction.go``): the strictest refusal of a batch answers
(``ratelimits/limiter.go`` ``stricter``), and nothing is spent unless the whole batch is
allowed. The values are Let's Encrypt's published ones (letsencrypt.org/docs/rate-limits);
Boulder's 0-3 % random jitter on the retry time is left out, so a test can pin the answer.

Pausing (``FailedAuthorizationsForPausingPerDomainPerAccount``): each failed validation of an
identifier spends a token from the account's bucket for it, a success fills it again, and a
failure that finds it empty pauses the account for the identifier (``ra/ra.go:1382-1435``).
newOrder then answers with a link to an unpause page (``wfe2/wfe.go:2432-2451``), which the
fake serves itself, with Boulder's JWT (``unpause/unpause.go``).

Off unless the setting ``rate_limits`` is on; ``fake_acme.limits`` adjusts, shows and unpauses.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import ipaddress
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from publicsuffixlist import PublicSuffixList

from . import problems
from ._gofmt import go_duration, go_quote
from .clock import Clock
from .config import Settings
from .errors import FakeACMEUsageError
from .model import Identifier
from .problems import AcmeProblem
from .store import Store
from .unpause_tokens import UnpauseTokens

_HOUR, _DAY = _dt.timedelta(hours=1), _dt.timedelta(days=1)
_ZERO = _dt.timedelta(0)


@dataclass(frozen=True)
class Limit:
    """One of Boulder's limits: ``burst`` tokens, ``count`` of them back per ``period``."""

    name: str
    burst: int
    count: int
    period: _dt.timedelta
    #: Boulder's sentence for a refusal, before ``, retry after ...`` (``{name}`` is the
    #: identifier or registered domain, Go-quoted); empty for the pausing limit, which pauses.
    message: str = ""
    #: The section of Let's Encrypt's rate-limits page the refusal links to.
    anchor: str = ""

    @property
    def interval(self) -> _dt.timedelta:
        """How often one token comes back (Boulder's ``emissionInterval``)."""
        return self.period / self.count

    def refusal(self, key: str, now: _dt.datetime, wait: _dt.timedelta) -> AcmeProblem:
        """Boulder's answer when bucket ``key`` is empty (``Decision.Result``). It names what
        follows the key's last colon: an identifier, a registered domain, and of an IPv6
        address only its end (ratelimits/limiter.go:136-140, 152-156)."""
        text = self.message.format(burst=self.burst, period=go_duration(self.period),
                                   name=go_quote(key.rsplit(":", 1)[-1]))
        return problems.rate_limit_exceeded(text, self.anchor, now, wait)


NEW_REGISTRATIONS = "NewRegistrationsPerIPAddress"
NEW_REGISTRATIONS_IPV6 = "NewRegistrationsPerIPv6Range"
NEW_ORDERS = "NewOrdersPerAccount"
FAILED_AUTHORIZATIONS = "FailedAuthorizationsPerDomainPerAccount"
CERTIFICATES_PER_DOMAIN = "CertificatesPerDomain"
CERTIFICATES_PER_DOMAIN_PER_ACCOUNT = "CertificatesPerDomainPerAccount"
CERTIFICATES_PER_FQDN_SET = "CertificatesPerFQDNSet"
PAUSING = "FailedAuthorizationsForPausingPerDomainPerAccount"

_REGISTERED_DOMAIN_TEXT = ("too many certificates ({burst}) already issued for {name} in the "
                           "last {period}")

#: Let's Encrypt's production values (letsencrypt.org/docs/rate-limits), under Boulder's names
#: (``ratelimits/names.go``) with Boulder's sentences (``ratelimits/limiter.go:107-186``).
LETS_ENCRYPT_LIMITS: dict[str, Limit] = {limit.name: limit for limit in (
    Limit(NEW_REGISTRATIONS, 10, 10, 3 * _HOUR,
          "too many new registrations ({burst}) from this IP address in the last {period}",
          "new-registrations-per-ip-address"),
    Limit(NEW_REGISTRATIONS_IPV6, 500, 500, 3 * _HOUR,
          "too many new registrations ({burst}) from this /48 subnet of IPv6 addresses in the "
          "last {period}", "new-registrations-per-ipv6-range"),
    Limit(NEW_ORDERS, 300, 300, 3 * _HOUR,
          "too many new orders ({burst}) from this account in the last {period}",
          "new-orders-per-account"),
    Limit(FAILED_AUTHORIZATIONS, 5, 5, _HOUR,
          "too many failed authorizations ({burst}) for {name} in the last {period}",
          "authorization-failures-per-identifier-per-account"),
    Limit(CERTIFICATES_PER_DOMAIN, 50, 50, 7 * _DAY, _REGISTERED_DOMAIN_TEXT,
          "new-certificates-per-registered-domain"),
    Limit(CERTIFICATES_PER_FQDN_SET, 5, 5, 7 * _DAY,
          "too many certificates ({burst}) already issued for this exact set of identifiers in "
          "the last {period}", "new-certificates-per-exact-set-of-identifiers"),
    # "Up to 1,152 consecutive failures; refills 1 per identifier per day" (the docs' table).
    Limit(PAUSING, 1152, 1, _DAY),
)}
#: Boulder has no default for it, only overrides for some accounts: off until ``set()``.
_PER_ACCOUNT = Limit(CERTIFICATES_PER_DOMAIN_PER_ACCOUNT, 50, 50, 7 * _DAY,
                     _REGISTERED_DOMAIN_TEXT, "new-certificates-per-registered-domain")
LIMIT_NAMES = (*LETS_ENCRYPT_LIMITS, CERTIFICATES_PER_DOMAIN_PER_ACCOUNT)

#: Boulder's non-ARI renewal window: the same identifiers issued within it are a renewal
#: (``FQDNSetTimestampsForWindow``, wfe2/wfe.go:2461-2476).
RENEWAL_WINDOW = 120 * _DAY
#: Boulder's unpause form (``unpause.GetForm``, unpause/unpause.go:21-23), served by the fake.
UNPAUSE_PATH = "/sfe/v1/unpause"
#: A pair unpaused this recently is not paused again (sa/sa.go:1388-1390).
REPAUSE_GRACE = 14 * _DAY
#: The most paused identifiers newOrder names (sa/saro.go:932-990).
MOST_PAUSED_SHOWN = 15

# Go's publicsuffix.Domain: the whole list (private domains too), and an unknown top-level
# domain is a suffix of its own (the "*" rule), so a.example's registered domain is a.example.
_PSL = PublicSuffixList(only_icann=False, accept_unknown=True)

Kind = Literal["check-and-spend", "check", "spend"]


@dataclass(frozen=True)
class _Txn:
    limit: Limit
    key: str
    kind: Kind


@dataclass(frozen=True)
class _Decision:
    allowed: bool
    retry_in: _dt.timedelta
    remaining: int
    new_tat: _dt.datetime


def _maybe_spend(limit: Limit, stored: _dt.datetime | None, now: _dt.datetime) -> _Decision:
    """``maybeSpend`` for a cost of 1 (ratelimits/gcra.go:12-60): a missing bucket is full."""
    interval = limit.interval
    burst_offset = interval * limit.burst
    tat = max(now, stored) if stored is not None else now
    new_tat = tat + interval
    diff = now - (new_tat - burst_offset)
    if diff < _ZERO:
        remaining = (now - (tat - burst_offset)) // interval
        return _Decision(False, -diff, int(remaining), tat)
    retry_in = interval - diff if diff < interval else _ZERO
    return _Decision(True, retry_in, int(diff // interval), new_tat)


def _stricter(a: _Decision, b: _Decision) -> _Decision:
    """Boulder's ``stricter`` (ratelimits/limiter.go:241-262)."""
    if a.allowed != b.allowed:
        return b if a.allowed else a
    if a.retry_in != b.retry_in:
        return a if a.retry_in > b.retry_in else b
    return a if a.remaining < b.remaining else b


def covering(ident: Identifier) -> str:
    """Boulder's covering identifier (``ratelimits/utilities.go:26-121``): a name's registered
    domain (eTLD+1; a public suffix stays itself), an IPv4 address's /32, an IPv6 one's /64."""
    if ident.type == "ip":
        address = ipaddress.ip_address(ident.value)
        prefix = 32 if address.version == 4 else 64
        return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
    name = ident.value.lower().removeprefix("*.")
    return _PSL.privatesuffix(name) or name


def _fqdn_set(idents: Iterable[Identifier]) -> str:
    """Boulder's ``core.HashIdentifiers`` (core/util.go:365-373): SHA-256 of the values
    joined by commas, as ``identifier.Normalize`` leaves them: lower-cased, DNS names before
    IP addresses, each sorted, unique."""
    unique = {(i.type != "dns", i.value.lower()) for i in idents}
    return hashlib.sha256(",".join(v for _, v in sorted(unique)).encode()).hexdigest()


@dataclass(frozen=True)
class Bucket:
    """One bucket as :meth:`RateLimits.state` shows it."""

    limit: str
    key: str
    #: Tokens left now.
    remaining: int
    #: When the bucket is full again.
    full_at: _dt.datetime


@dataclass(frozen=True)
class Pause:
    """An account paused for an identifier."""

    account: str
    identifier: str
    since: _dt.datetime


class Pauses:
    """Accounts paused for identifiers (Boulder's ``paused`` table, sa/sa.go:1328-1471)."""

    def __init__(self, clock: Clock, tokens: UnpauseTokens) -> None:
        self._clock = clock
        self._tokens = tokens
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        """Nothing paused, nothing unpaused."""
        with self._lock:
            self._paused: dict[tuple[str, str], _dt.datetime] = {}
            self._unpaused: dict[tuple[str, str], _dt.datetime] = {}

    def pause(self, account: str, identifier: str) -> None:
        """Pause the pair, unless it was unpaused in the last 14 days (sa/sa.go:1388-1390)."""
        now = self._clock.now()
        with self._lock:
            unpaused = self._unpaused.get((account, identifier))
            if unpaused is None or now - unpaused >= REPAUSE_GRACE:
                self._paused.setdefault((account, identifier), now)

    def paused(self) -> list[Pause]:
        """The pairs paused now."""
        with self._lock:
            return [Pause(a, i, since) for (a, i), since in sorted(self._paused.items())]

    def unpause(self, account: str, identifier: str | None = None) -> int:
        """Unpause ``account`` (id or URL) for ``identifier``, or for all; how many."""
        account = account.rstrip("/").rsplit("/", 1)[-1]
        now = self._clock.now()
        with self._lock:
            keys = [k for k in self._paused
                    if k[0] == account and (identifier is None or k[1] == identifier.lower())]
            for key in keys:
                del self._paused[key]
                self._unpaused[key] = now
            return len(keys)

    def refusal(self, account: str, identifiers: Sequence[Identifier],
                base_url: str) -> AcmeProblem | None:
        """newOrder for identifiers the account is paused for (wfe2/wfe.go:2432-2451): at
        most 15 named, and a link to the fake's unpause page carrying Boulder's JWT."""
        with self._lock:
            values = [i.value for i in identifiers if (account, i.value) in self._paused]
        values = values[:MOST_PAUSED_SHOWN]
        if not values:
            return None
        jwt = self._tokens.issue(account, values)
        return problems.paused(values, f"{base_url}{UNPAUSE_PATH}?jwt={jwt}")


class RateLimits:
    """``fake_acme.limits``: Let's Encrypt's limits and pausing, counted on the fake's clock
    when the setting ``rate_limits`` is on."""

    def __init__(self, clock: Clock, settings: Settings, store: Store) -> None:
        self._clock = clock
        self._settings = settings
        self._store = store
        self._lock = threading.Lock()
        #: The unpause links' JWTs, made and checked.
        self.tokens = UnpauseTokens(clock)
        #: The accounts paused, and for what.
        self.pauses = Pauses(clock, self.tokens)
        self.reset()

    def reset(self) -> None:
        """Let's Encrypt's values again, every bucket full, nothing paused."""
        with self._lock:
            self._limits: dict[str, Limit] = dict(LETS_ENCRYPT_LIMITS)
            self._buckets: dict[tuple[str, str], _dt.datetime] = {}
        self.pauses.clear()

    @property
    def on(self) -> bool:
        """Whether limits are counted (the setting ``rate_limits``)."""
        return self._settings.rate_limits

    # The test's side.

    def set(self, name: str, *, burst: int | None = None, count: int | None = None,
            period: _dt.timedelta | None = None) -> Limit:
        """Change one limit, by Boulder's name (``"NewOrdersPerAccount"``): ``burst`` tokens,
        ``count`` of them back per ``period``. ``count`` follows ``burst`` when only ``burst``
        is given (as Let's Encrypt's limits have it), except for the pausing limit, which
        refills one a day. Setting ``CertificatesPerDomainPerAccount`` turns it on, as an
        override does at Let's Encrypt: it is then counted instead of
        ``CertificatesPerDomain`` at newOrder. Buckets keep what they hold."""
        if name not in LIMIT_NAMES:
            raise FakeACMEUsageError(f"unknown limit {name!r}; use one of "
                                     f"{', '.join(LIMIT_NAMES)}")
        for label, value in (("burst", burst), ("count", count)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                      or value < 1):
                raise FakeACMEUsageError(f"{label} must be a whole number >= 1, not {value!r}")
        if period is not None and (not isinstance(period, _dt.timedelta) or period <= _ZERO):
            raise FakeACMEUsageError(
                f"period must be a positive timedelta such as timedelta(hours=3), not "
                f"{period!r}")
        with self._lock:
            current = self._limits.get(name, _PER_ACCOUNT)
            if count is None and burst is not None and name != PAUSING:
                count = burst
            changed = replace(current, burst=burst or current.burst,
                              count=count or current.count, period=period or current.period)
            self._limits[name] = changed
            return changed

    def limit(self, name: str) -> Limit | None:
        """The limit called ``name`` as it stands (None: ``CertificatesPerDomainPerAccount``
        before it is set)."""
        with self._lock:
            return self._limits.get(name)

    def state(self) -> list[Bucket]:
        """Every bucket that has been spent from and is not full again: its tokens left now,
        and when it is full."""
        now = self._clock.now()
        with self._lock:
            found = []
            for (name, key), tat in sorted(self._buckets.items()):
                limit = self._limits.get(name, _PER_ACCOUNT)
                if tat <= now:
                    continue
                used = (tat - now) / limit.interval
                found.append(Bucket(name, key, max(0, int(limit.burst - used)), tat))
            return found

    def paused(self) -> list[Pause]:
        """The accounts paused now, and for what."""
        return self.pauses.paused()

    def unpause(self, account: str, identifier: str | None = None) -> int:
        """Unpause ``account`` (its id or URL) for ``identifier``, or for every identifier
        (as Let's Encrypt's unpause page does); how many were unpaused. As at Let's Encrypt,
        the pausing bucket stays as it is, and the pair is not paused again for 14 days
        (sa/sa.go:1388-1390, 1435-1471)."""
        return self.pauses.unpause(account, identifier)

    # The front end's side.

    def new_account(self, ip: str) -> AcmeProblem | None:
        """newAccount from ``ip`` (``NewAccountLimitTransactions``): registrations per
        address, and from an IPv6 address per /48 too; spent when allowed."""
        if not self.on:
            return None
        txns = [self._txn(NEW_REGISTRATIONS, ip, "check-and-spend")]
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            address = None
        if address is not None and address.version == 6:
            network = ipaddress.ip_network(f"{address}/48", strict=False)
            txns.append(self._txn(NEW_REGISTRATIONS_IPV6, str(network), "check-and-spend"))
        return self._batch(txns)

    def new_order(self, account: str, identifiers: Sequence[Identifier],
                  ari_renewal: bool) -> AcmeProblem | None:
        """newOrder (``NewOrderLimitTransactions``): new orders per account (spent), failed
        authorizations per identifier, certificates per registered domain and per exact set
        (checked). An ARI renewal in its window is exempt from all; a renewal of the same
        identifiers within 120 days skips new orders and registered domains
        (wfe2/wfe.go:2455-2506)."""
        if not self.on or ari_renewal:
            return None
        renewal = self._recently_issued(identifiers)
        if not renewal and len(identifiers) > 100:
            # Boulder will not build more than 100 registered-domain transactions; the error
            # is not a refusal, so the order goes on with no limit counted
            # (ratelimits/transaction.go:474-476; wfe2/wfe.go:2500-2504).
            return None
        txns: list[_Txn] = []
        if not renewal:
            txns.append(self._txn(NEW_ORDERS, account, "check-and-spend"))
        for ident in identifiers:
            txns.append(self._txn(FAILED_AUTHORIZATIONS, f"{account}:{ident.value}", "check"))
        if not renewal:
            per_account = self.limit(CERTIFICATES_PER_DOMAIN_PER_ACCOUNT) is not None
            for domain in sorted({covering(i) for i in identifiers}):
                txns.append(self._txn(CERTIFICATES_PER_DOMAIN_PER_ACCOUNT, f"{account}:{domain}",
                                      "check") if per_account else
                            self._txn(CERTIFICATES_PER_DOMAIN, domain, "check"))
        txns.append(self._txn(CERTIFICATES_PER_FQDN_SET, _fqdn_set(identifiers), "check"))
        return self._batch(txns)

    def refund_new_order(self, account: str, identifiers: Sequence[Identifier],
                         ari_renewal: bool) -> None:
        """Give back what :meth:`new_order` spent, when the order is then refused (Boulder's
        ``BatchRefund``, ratelimits/gcra.go:66-107: the bucket's time moves back one token,
        never before now)."""
        if not self.on or ari_renewal or self._recently_issued(identifiers):
            return
        now = self._clock.now()
        with self._lock:
            limit = self._limits[NEW_ORDERS]
            tat = self._buckets.get((NEW_ORDERS, account))
            if tat is not None and tat > now:
                self._buckets[(NEW_ORDERS, account)] = max(tat - limit.interval, now)

    def issued(self, account: str, identifiers: Sequence[Identifier]) -> None:
        """A certificate is about to be stored (``countCertificateIssued``, ra/ra.go:1242-1265):
        spend its registered domains (not for a renewal) and its exact set."""
        if not self.on:
            return
        txns = [self._txn(CERTIFICATES_PER_FQDN_SET, _fqdn_set(identifiers), "spend")]
        if not self._recently_issued(identifiers):
            per_account = self.limit(CERTIFICATES_PER_DOMAIN_PER_ACCOUNT) is not None
            for domain in sorted({covering(i) for i in identifiers}):
                txns.append(self._txn(CERTIFICATES_PER_DOMAIN, domain, "spend"))
                if per_account:
                    txns.append(self._txn(CERTIFICATES_PER_DOMAIN_PER_ACCOUNT,
                                          f"{account}:{domain}", "spend"))
        self._spend(txns)

    def observe(self, kind: str, object_id: str, status: str, cause: str, **about: str) -> None:
        """The store's listener: a validation that failed (or a pending authorization given
        up, ra/ra.go:2082-2092) counts against the identifier; one that succeeded fills its
        pausing bucket again (ra/ra.go:1566-1580)."""
        if kind != "authorization" or not self.on:
            return
        # Only the changes themselves: the store also tells of statuses shown at reads.
        if not ((status in ("invalid", "valid") and cause.startswith("validation"))
                or (status == "deactivated" and cause == "deactivation")):
            return
        authz = self._store.authorizations.get(object_id)
        if authz is None:
            return
        if status == "deactivated" and authz.challenges and authz.challenges[0].validated:
            return  # a valid authorization given up is no failure
        value = ("*." if authz.wildcard else "") + authz.identifier.value
        key = f"{authz.account_id}:{value}"
        if status == "valid":
            with self._lock:
                self._buckets.pop((PAUSING, key), None)
            return
        self._spend([self._txn(FAILED_AUTHORIZATIONS, key, "spend")])
        # Check-and-spend; a denial pauses instead of answering (ra/ra.go:1393-1417).
        if self._spend([self._txn(PAUSING, key, "check-and-spend")]) is not None:
            self.pauses.pause(authz.account_id, value)

    def paused_refusal(self, account: str, identifiers: Sequence[Identifier],
                       base_url: str) -> AcmeProblem | None:
        """newOrder for identifiers the account is paused for (none when limits are off)."""
        return self.pauses.refusal(account, identifiers, base_url) if self.on else None

    # Inside.

    def _txn(self, name: str, key: str, kind: Kind) -> _Txn:
        with self._lock:
            return _Txn(self._limits.get(name, _PER_ACCOUNT), key, kind)

    def _batch(self, txns: Sequence[_Txn]) -> AcmeProblem | None:
        """:meth:`_spend`, and Boulder's refusal when it denies."""
        now = self._clock.now()
        denied = self._spend(txns, now)
        if denied is None:
            return None
        decision, txn = denied
        return txn.limit.refusal(txn.key, now, decision.retry_in)

    def _spend(self, txns: Sequence[_Txn],
               now: _dt.datetime | None = None) -> tuple[_Decision, _Txn] | None:
        """Boulder's ``BatchSpend`` (ratelimits/limiter.go:269-371): every transaction decided
        on the buckets as they are; the strictest decision of those that are not spend-only
        answers; the spending ones are spent only if it allows. Returns the denying decision
        and its transaction, or None."""
        now = now or self._clock.now()
        with self._lock:
            verdict: tuple[_Decision, _Txn] | None = None
            spends: list[tuple[_Txn, _Decision]] = []
            for txn in txns:
                decision = _maybe_spend(txn.limit, self._buckets.get((txn.limit.name, txn.key)),
                                        now)
                if decision.allowed and txn.kind != "check":
                    spends.append((txn, decision))
                if txn.kind != "spend" and (
                        verdict is None or _stricter(verdict[0], decision) is decision):
                    verdict = (decision, txn)
            if verdict is not None and not verdict[0].allowed:
                return verdict
            for txn, decision in spends:
                self._buckets[(txn.limit.name, txn.key)] = decision.new_tat
        return None

    def _recently_issued(self, identifiers: Sequence[Identifier]) -> bool:
        """Whether a certificate for exactly these identifiers was issued in the last 120
        days, by any account (``FQDNSetTimestampsForWindow``)."""
        wanted = _fqdn_set(identifiers)
        since = self._clock.now() - RENEWAL_WINDOW
        with self._store.lock:
            for cert in self._store.certificates.values():
                order = self._store.orders.get(cert.order_id)
                issued = cert.issued_at or cert.not_before
                if order is not None and issued >= since and _fqdn_set(
                        order.identifiers) == wanted:
                    return True
        return False

