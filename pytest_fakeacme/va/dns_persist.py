"""dns-persist-01 (draft-ietf-acme-dns-persist), as Boulder's ``va/dns_persist.go`` reads a
standing TXT record at ``_validation-persist.<name>``::

    letsencrypt.org; accounturi=https://.../acme/acct/1234; policy=wildcard; persistUntil=1767225600

An issuer domain name (RFC 8659 ``issue-value`` syntax), then ``tag=value`` parameters:
``accounturi`` (mandatory, compared byte for byte), ``policy`` (``wildcard`` matters for wildcard
names), ``persistUntil`` (Unix seconds). Records naming another CA are skipped. The texts are
Boulder's (``parseDNSPersistRecord``, ``checkDNSPersistRecord``, ``validateDNSPersist01``).
"""

from __future__ import annotations

import datetime as _dt
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from .._gofmt import go_quote

_WSP = " \t"


@dataclass(frozen=True)
class Params:
    """A record's parameters."""

    account_uri: str
    policy: str
    persist_until: _dt.datetime | None


class RecordError(ValueError):
    """A record whose parameters cannot be parsed: Boulder's text, and the issuer it names."""

    def __init__(self, text: str, issuer: str) -> None:
        super().__init__(text)
        self.issuer = issuer


def normalize_issuer(name: str) -> str | None:
    """``core.NormalizeIssuerDomainName``: lower case, NFC, A-labels, no trailing dot, at most
    253 octets; None when it cannot be normalized."""
    name = unicodedata.normalize("NFC", name.lower())
    try:
        ascii_name = name.encode("idna").decode("ascii") if name else ""
    except UnicodeError:
        return None
    ascii_name = ascii_name.removesuffix(".")
    return ascii_name if len(ascii_name) <= 253 else None


class _UnnamedError(ValueError):
    """A record without an issuer the VA can read: skipped silently, as Boulder skips it."""


def parse(record: str) -> tuple[str, Params]:
    """``parseDNSPersistRecord``: the record's issuer and its parameters; a
    :class:`RecordError` when the parameters are malformed, ``_UnnamedError`` when the record names
    no issuer the VA can read."""
    parts = record.split(";")
    raw_issuer = parts[0].strip(_WSP)
    issuer = normalize_issuer(raw_issuer) if raw_issuer else None
    if issuer is None:
        raise _UnnamedError()
    account_uri = policy = ""
    persist_until: _dt.datetime | None = None
    seen: set[str] = set()

    def fail(text: str) -> RecordError:
        return RecordError(text, issuer)

    for param in parts[1:]:
        param = param.strip(_WSP)
        if not param:
            raise fail("empty parameter or trailing semicolon provided")
        if "=" not in param:
            raise fail(f"malformed parameter {go_quote(param)} should be tag=value pair")
        raw_tag, raw_value = param.split("=", 1)
        tag, value = raw_tag.strip(_WSP), raw_value.strip(_WSP)
        if not tag:
            raise fail(f"malformed parameter {go_quote(param)}, empty tag")
        if any(not (0x21 <= ord(c) <= 0x3A or 0x3C <= ord(c) <= 0x7E) for c in value):
            raise fail(f"malformed value {go_quote(value)} for tag {go_quote(tag)}")
        canonical = tag.lower()
        if canonical not in ("accounturi", "policy", "persistuntil"):
            continue  # unknown tags are ignored (draft -01)
        if canonical in seen:
            raise fail(f"duplicate parameter {go_quote(tag)}")
        seen.add(canonical)
        if canonical == "accounturi":
            if not value:
                raise fail("empty value provided for mandatory accounturi")
            account_uri = value
        elif canonical == "policy":
            policy = value
        else:
            persist_until = _unix(value)
            if persist_until is None:
                raise fail(f"malformed persistUntil timestamp {go_quote(value)}")
    if not account_uri:
        raise fail("missing mandatory accounturi parameter")
    return issuer, Params(account_uri, policy, persist_until)


def _unix(text: str) -> _dt.datetime | None:
    # Go's strconv.ParseInt(value, 10, 64): an optional sign and decimal digits, in range.
    digits = text[1:] if text[:1] in "+-" else text
    if not digits or not digits.isascii() or not digits.isdigit():
        return None
    seconds = int(text)
    if not -(2**63) <= seconds < 2**63:
        return None
    epoch = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
    try:
        return epoch + _dt.timedelta(seconds=seconds)
    except OverflowError:  # beyond Python's years: as good as never (or always) for the check
        return _dt.datetime.max.replace(tzinfo=_dt.timezone.utc) if seconds > 0 else (
            _dt.datetime.min.replace(tzinfo=_dt.timezone.utc))


def _rfc3339(value: _dt.datetime) -> str:
    return value.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def check(params: Params, account_uri: str, wildcard: bool, at: _dt.datetime) -> str | None:
    """``checkDNSPersistRecord``: why the record does not authorize this account now (None
    when it does)."""
    if params.account_uri != account_uri:
        return (f"accounturi mismatch: expected {go_quote(account_uri)}, "
                f"got {go_quote(params.account_uri)}")
    if wildcard and params.policy.lower() != "wildcard":
        return f'policy mismatch: expected "wildcard", got {go_quote(params.policy)}'
    if params.persist_until is not None and at > params.persist_until:
        until = _rfc3339(params.persist_until)
        return f"validation time {_rfc3339(at)} is after persistUntil {until}"
    return None


def judge(records: Sequence[str], issuer: str, account_uri: str, wildcard: bool,
          at: _dt.datetime) -> tuple[str, str] | None:
    """``validateDNSPersist01`` once the TXT records are in: None when one authorizes, else
    ``(problem type, detail)``. Any authorizing record wins; otherwise syntax errors
    (``malformed``) before authorization errors (``unauthorized``)."""
    if not records:
        return "unauthorized", "No TXT record found for DNS-PERSIST-01 challenge"
    syntax: list[str] = []
    refusals: list[str] = []
    for record in records:
        try:
            named, params = parse(record)
        except _UnnamedError:
            continue
        except RecordError as error:
            if error.issuer == issuer:
                syntax.append(f"Parsing DNS-PERSIST-01 challenge TXT record with "
                              f"issuer-domain-name {go_quote(issuer)}: {error}")
            continue
        if named != issuer:
            continue  # a record for another CA
        reason = check(params, account_uri, wildcard, at)
        if reason is None:
            return None
        refusals.append(f"Checking DNS-PERSIST-01 challenge TXT record with issuer-domain-name "
                        f"{go_quote(issuer)}: {reason}")
    if syntax:
        return "malformed", "; ".join(syntax)
    if refusals:
        return "unauthorized", "; ".join(refusals)
    return "unauthorized", "No valid TXT record found for DNS-PERSIST-01 challenge"
