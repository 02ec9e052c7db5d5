"""Let's Encrypt's rate limits and pausing, counted on the fake's clock (``rate_limits=True``):
each limit's refusal byte for byte with its Retry-After and help link, the refill as the clock
moves, the renewal exemptions, pausing and unpausing (by API, by the unpause page, by the
management API), over the fake's HTTPS server with raw JWS and certbot's ``acme`` library."""

from __future__ import annotations

import base64
import datetime as _dt
import json
from typing import Any

import pytest
import requests
from acme import messages
from cryptography import x509

from boulder_table import expect, reproduces
from client import AcmeTestClient, make_csr
from jwsclient import RawClient, challenge_of
from pytest_fakeacme import FakeACME, FakeACMEUsageError, outcomes
from pytest_fakeacme._gofmt import go_duration
from pytest_fakeacme.renewal import cert_id

pytestmark = pytest.mark.fake_acme(rate_limits=True, va_default="valid")

START = "2026-12-07T12:00:00Z"
HELP = '<https://letsencrypt.org/docs/rate-limits>;rel="help"'


@pytest.fixture(autouse=True)
def _frozen(fake_acme: FakeACME) -> None:
    # Frozen before any client registers (autouse fixtures come first), so every bucket is
    # counted on the same clock, and the waits in details are exact.
    fake_acme.clock.freeze(START)
    # Issuance without a processing answer, whose Retry-After the clients wait on the fake's
    # clock: the clock moves only when a test moves it.
    fake_acme.configure(async_finalize=False)


def _when(fake: FakeACME, **wait: float) -> str:
    return (fake.clock.now() + _dt.timedelta(**wait)).strftime("%Y-%m-%d %H:%M:%S UTC")


def _at(moment: _dt.datetime, **later: float) -> str:
    return (moment + _dt.timedelta(**later)).strftime("%Y-%m-%d %H:%M:%S UTC")


def _finalized(fake: FakeACME) -> list[_dt.datetime]:
    """When each finalize was answered: when its certificate counted."""
    return [entry.at for entry in fake.journal.requests("finalize")]


def _order(raw: RawClient, *names: str) -> requests.Response:
    return raw.post(raw.url("newOrder"), {
        "identifiers": [{"type": "dns", "value": n} for n in names]})


def _fail(raw: RawClient, fake: FakeACME, name: str) -> None:
    """One failed validation of ``name`` (a 404 on http-01)."""
    order = _order(raw, name)
    assert order.status_code == 201, order.text
    url = order.json()["authorizations"][0]
    authz = raw.post_as_get(url).json()
    fake.va.script(name, outcomes.http_status(404))
    raw.post(challenge_of(authz, "http-01")["url"], {})
    assert raw.post_as_get(url).json()["status"] == "invalid"


def _registered(fake: FakeACME, ip: str | None = None) -> requests.Response:
    """newAccount for a new key, from ``ip`` as Boulder's proxy reports it (X-Real-IP)."""
    other = RawClient(fake)
    url = other.url("newAccount")
    envelope = other.envelope(other.protected(url, jwk=True),
                              other.payload_bytes({"termsOfServiceAgreed": True}))
    return other.send(url, envelope, headers={"X-Real-IP": ip} if ip else None)


@reproduces("rl-14", "rl-15")
def test_new_orders_per_account_with_lets_encrypts_values(raw: RawClient,
                                                          fake_acme: FakeACME) -> None:
    # 300 orders per account every 3 hours, one back every 36 s (letsencrypt.org/docs/
    # rate-limits#new-orders-per-account; ratelimits/gcra.go).
    for n in range(300):
        assert _order(raw, f"n{n}.example").status_code == 201
    refused = _order(raw, "more.example")
    expect("rl-03", refused, 300, "3h0m0s", _when(fake_acme, seconds=36))
    assert refused.headers["Retry-After"] == "36"
    assert HELP in refused.headers["Link"]
    # Another account is not affected.
    other = RawClient(fake_acme)
    other.register()
    assert _order(other, "more.example").status_code == 201
    # 36 s on the fake's clock bring one order back, and only one.
    fake_acme.clock.advance(seconds=36)
    assert _order(raw, "more.example").status_code == 201
    assert _order(raw, "again.example").status_code == 429


def test_set_changes_a_limit_and_the_clock_refills_it(raw: RawClient,
                                                      fake_acme: FakeACME) -> None:
    fake_acme.limits.set("NewOrdersPerAccount", burst=2, period=_dt.timedelta(hours=1))
    assert _order(raw, "a.example").status_code == 201
    assert _order(raw, "b.example").status_code == 201
    refused = _order(raw, "c.example")
    expect("rl-03", refused, 2, "1h0m0s", _when(fake_acme, minutes=30))
    assert refused.headers["Retry-After"] == "1800"
    fake_acme.clock.advance(minutes=29, seconds=59)
    assert _order(raw, "c.example").status_code == 429
    fake_acme.clock.advance(seconds=1)
    assert _order(raw, "c.example").status_code == 201
    # state() shows the empty bucket and when it is full again.
    bucket = next(b for b in fake_acme.limits.state() if b.limit == "NewOrdersPerAccount")
    assert bucket.remaining == 0
    assert bucket.full_at == fake_acme.clock.now() + _dt.timedelta(hours=1)


def test_registrations_per_address(fake_acme: FakeACME) -> None:
    # 10 accounts per address every 3 hours, one back every 18 minutes.
    for _ in range(10):
        assert _registered(fake_acme).status_code == 201
    refused = _registered(fake_acme)
    expect("rl-01", refused, 10, "3h0m0s", _when(fake_acme, minutes=18))
    assert refused.headers["Retry-After"] == str(18 * 60)
    # Another address (Boulder reads X-Real-IP, as its proxy sets it) is not affected.
    assert _registered(fake_acme, "192.0.2.7").status_code == 201
    fake_acme.clock.advance(minutes=18)
    assert _registered(fake_acme).status_code == 201


def test_registrations_per_ipv6_range(fake_acme: FakeACME) -> None:
    fake_acme.limits.set("NewRegistrationsPerIPv6Range", burst=2,
                         period=_dt.timedelta(hours=3))
    assert _registered(fake_acme, "2001:db8:1:1::1").status_code == 201
    assert _registered(fake_acme, "2001:db8:1:2::1").status_code == 201
    # A third address of the same /48: the range is spent, the address is not.
    refused = _registered(fake_acme, "2001:db8:1:3::1")
    expect("rl-02", refused, 2, "3h0m0s", _when(fake_acme, minutes=90))
    assert refused.headers["Retry-After"] == "5400"
    # Another /48 is fine; 90 minutes on, the range has room again.
    assert _registered(fake_acme, "2001:db8:2::1").status_code == 201
    fake_acme.clock.advance(minutes=90)
    assert _registered(fake_acme, "2001:db8:1:3::1").status_code == 201


def test_an_existing_key_is_never_refused(raw: RawClient, fake_acme: FakeACME) -> None:
    # The limit comes after the lookup of the key (wfe2/wfe.go:776-887).
    fake_acme.limits.set("NewRegistrationsPerIPAddress", burst=1)
    again = raw.post(raw.url("newAccount"), {"termsOfServiceAgreed": True}, jwk=True)
    assert again.status_code == 200
    assert _registered(fake_acme).status_code == 429


def test_failed_authorizations_per_identifier(raw: RawClient, fake_acme: FakeACME) -> None:
    # 5 failures per identifier per account per hour, one back every 12 minutes.
    fake_acme.configure(order_reuse=False)
    for _ in range(5):
        _fail(raw, fake_acme, "a.example")
    refused = _order(raw, "a.example", "b.example")
    expect("rl-04", refused, 5, "a.example", "1h0m0s", _when(fake_acme, minutes=12))
    assert refused.headers["Retry-After"] == "720"
    # Another identifier, another account: not refused.
    assert _order(raw, "b.example").status_code == 201
    other = RawClient(fake_acme)
    other.register()
    assert _order(other, "a.example").status_code == 201
    fake_acme.clock.advance(minutes=12)
    assert _order(raw, "a.example").status_code == 201


@reproduces("rl-22")
def test_deactivating_a_pending_authorization_counts_as_a_failure(
        raw: RawClient, fake_acme: FakeACME) -> None:
    fake_acme.limits.set("FailedAuthorizationsPerDomainPerAccount", burst=1)
    fake_acme.configure(order_reuse=False)
    url = _order(raw, "a.example").json()["authorizations"][0]
    assert raw.post(url, {"status": "deactivated"}).status_code == 200
    assert _order(raw, "a.example").status_code == 429


def test_certificates_per_registered_domain(fake_acme: FakeACME,
                                            acme_client: AcmeTestClient) -> None:
    fake_acme.limits.set("CertificatesPerDomain", burst=2, period=_dt.timedelta(days=7))
    acme_client.issue("www.a.example")
    acme_client.issue("mail.a.example")
    # Spent at each finalize (the library's polls move the fake's clock a second at a time).
    first = _finalized(fake_acme)[0]
    raw = RawClient(fake_acme)
    raw.register()
    # Counted by registered domain (the Public Suffix List: a.example), across accounts;
    # one token is back 3.5 days after the first.
    refused = _order(raw, "shop.a.example")
    expect("rl-05", refused, 2, "a.example", "168h0m0s", _at(first, days=3.5))
    wait = first + _dt.timedelta(days=3.5) - fake_acme.clock.now()
    assert refused.headers["Retry-After"] == str(round(wait.total_seconds()))
    assert _order(raw, "b.example").status_code == 201
    # A renewal of the same names within 120 days is exempt from this limit.
    assert _order(raw, "www.a.example").status_code == 201
    # 3.5 days after the first certificate, one is back.
    fake_acme.clock.advance(days=3.5)
    raw.forget_nonce()
    assert _order(raw, "shop.a.example").status_code == 201


def test_certificates_per_domain_per_account_override(fake_acme: FakeACME,
                                                      acme_client: AcmeTestClient) -> None:
    # Set, it is checked instead of CertificatesPerDomain, for the account's own issuance.
    fake_acme.limits.set("CertificatesPerDomainPerAccount", burst=1)
    acme_client.issue("www.a.example")
    with pytest.raises(messages.Error) as caught:
        acme_client.acme.new_order(make_csr(["shop.a.example"]))
    assert caught.value.typ == "urn:ietf:params:acme:error:rateLimited"
    other = RawClient(fake_acme)
    other.register()
    assert _order(other, "shop.a.example").status_code == 201


@reproduces("rl-16")
def test_certificates_per_exact_set_and_the_renewal_exemption(
        fake_acme: FakeACME, acme_client: AcmeTestClient) -> None:
    # 5 per exact set every 7 days, one back every 33.6 hours; a renewal (the same set
    # within 120 days) skips the new-orders limit but not this one.
    fake_acme.limits.set("NewOrdersPerAccount", burst=1)
    # One account: its single new order is spent by the first; the next four are renewals.
    for _ in range(5):
        acme_client.issue("a.example", "b.example")
    spent = _finalized(fake_acme)
    raw = RawClient(fake_acme, key=acme_client.key)
    raw.register()
    refused = _order(raw, "b.example", "a.example")
    expect("rl-06", refused, 5, "168h0m0s", _at(spent[0], hours=33.6))
    wait = spent[0] + _dt.timedelta(hours=33.6) - fake_acme.clock.now()
    assert refused.headers["Retry-After"] == str(round(wait.total_seconds()))
    # The account's new orders are spent, yet a renewal is refused by the exact set only
    # (rl-16); an order for other names is refused by new orders.
    assert "new orders" not in refused.json()["detail"]
    assert "too many new orders (1)" in _order(raw, "c.example").json()["detail"]
    fake_acme.clock.advance(hours=33.6)
    raw.forget_nonce()
    assert _order(raw, "b.example", "a.example").status_code == 201


def test_an_ari_renewal_in_its_window_is_exempt_from_every_limit(
        fake_acme: FakeACME, acme_client: AcmeTestClient) -> None:
    fake_acme.limits.set("CertificatesPerFQDNSet", burst=1)
    acme_client.issue("a.example")
    issued = _finalized(fake_acme)[0]
    cert = fake_acme.certificates[-1]
    raw = RawClient(fake_acme, key=acme_client.key)
    raw.register()
    replacing = {"identifiers": [{"type": "dns", "value": "a.example"}],
                 "replaces": cert_id(x509.load_pem_x509_certificate(cert.pem.encode()))}
    # Before its window, replacing it is no exemption (wfe2/wfe.go:2299-2303).
    refused = raw.post(raw.url("newOrder"), replacing)
    expect("rl-06", refused, 1, "168h0m0s", _at(issued, days=7))
    # Inside the suggested window, an order that replaces it is not limited at all.
    now = fake_acme.clock.now()
    fake_acme.ari.force(cert, now - _dt.timedelta(hours=1), now + _dt.timedelta(hours=1))
    renewal = raw.post(raw.url("newOrder"), replacing)
    assert renewal.status_code == 201, renewal.text


@reproduces("rl-13")
def test_the_strictest_refusal_answers(raw: RawClient, fake_acme: FakeACME) -> None:
    # Two limits empty: the one that frees up last answers (ratelimits/limiter.go:241-262).
    fake_acme.configure(order_reuse=False)
    fake_acme.limits.set("FailedAuthorizationsPerDomainPerAccount", burst=1,
                         period=_dt.timedelta(hours=1))
    fake_acme.limits.set("NewOrdersPerAccount", burst=2, period=_dt.timedelta(hours=4))
    _fail(raw, fake_acme, "a.example")
    assert _order(raw, "b.example").status_code == 201
    # New orders free up in 2 hours, failed authorizations in 1: new orders answer.
    refused = _order(raw, "a.example")
    expect("rl-03", refused, 2, "4h0m0s", _when(fake_acme, hours=2))


def test_an_order_refused_after_the_limits_gives_its_token_back(
        raw: RawClient, fake_acme: FakeACME) -> None:
    # Boulder refunds when the RA then refuses the order (wfe2/wfe.go:2508-2518): 26 names
    # are one too many for tlsserver (ra/ra.go:2116-2119).
    fake_acme.limits.set("NewOrdersPerAccount", burst=1)
    too_many = raw.post(raw.url("newOrder"), {
        "identifiers": [{"type": "dns", "value": f"n{n}.example"} for n in range(26)],
        "profile": "tlsserver"})
    assert too_many.status_code == 400, too_many.text
    assert "more than 25 identifiers" in too_many.json()["detail"]
    assert _order(raw, "a.example").status_code == 201
    assert _order(raw, "b.example").status_code == 429


def test_off_by_default(fake_acme: FakeACME, raw: RawClient) -> None:
    fake_acme.configure(rate_limits=False)
    fake_acme.limits.set("NewOrdersPerAccount", burst=1)
    for name in ("a.example", "b.example", "c.example"):
        assert _order(raw, name).status_code == 201
    assert "NewOrdersPerAccount" not in {b.limit for b in fake_acme.limits.state()}


def test_a_real_client_reads_the_refusal(fake_acme: FakeACME,
                                         acme_client: AcmeTestClient) -> None:
    fake_acme.limits.set("NewOrdersPerAccount", burst=1)
    acme_client.issue("a.example")
    with pytest.raises(messages.Error) as caught:
        acme_client.acme.new_order(make_csr(["b.example"]))
    assert caught.value.typ == "urn:ietf:params:acme:error:rateLimited"
    assert caught.value.detail == (
        "too many new orders (1) from this account in the last 3h0m0s, retry after "
        f"{_at(fake_acme.journal.requests('newOrder')[0].at, hours=3)}: see "
        "https://letsencrypt.org/docs/rate-limits/#new-orders-per-account")


# Pausing


def _jwt_claims(url: str) -> dict[str, Any]:
    token = url.split("?jwt=", 1)[1]
    header, claims, _ = token.split(".")
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {"alg": "HS256"}
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    return decoded


def _pause(raw: RawClient, fake: FakeACME, name: str = "a.example", burst: int = 2) -> None:
    fake.configure(order_reuse=False)
    fake.limits.set("FailedAuthorizationsForPausingPerDomainPerAccount", burst=burst)
    for _ in range(burst + 1):
        _fail(raw, fake, name)
        fake.clock.advance(hours=1)  # the hourly failures limit refills meanwhile
        raw.forget_nonce()


@reproduces("rl-19")
def test_persistent_failures_pause_the_account_for_the_identifier(
        raw: RawClient, fake_acme: FakeACME) -> None:
    _pause(raw, fake_acme)
    account = str(raw.kid).rsplit("/", 1)[-1]
    assert [(p.account, p.identifier) for p in fake_acme.limits.paused()] == [
        (account, "a.example")]
    refused = _order(raw, "a.example", "b.example")
    url = fake_acme.base_url + "/sfe/v1/unpause?jwt=" + refused.json()["detail"].split(
        "?jwt=", 1)[1]
    expect("rl-18", refused, "a.example", url)
    # No Retry-After and no help link (wfe2/wfe.go:2448).
    assert "Retry-After" not in refused.headers
    assert "Link" not in refused.headers or HELP not in refused.headers["Link"]
    # Boulder's JWT (unpause/unpause.go:43-94): claims in Go's order, 14 days.
    claims = _jwt_claims(url)
    now = int(fake_acme.clock.now().timestamp())
    assert claims == {"aud": "SFE Unpause", "exp": now + 14 * 86400, "iat": now,
                      "identifiers": "a.example", "iss": "WFE", "sub": account,
                      "version": "v1"}
    assert list(claims) == sorted(claims)
    # Other identifiers and other accounts are not paused.
    assert _order(raw, "b.example").status_code == 201


def test_a_success_resets_the_count(raw: RawClient, fake_acme: FakeACME) -> None:
    fake_acme.configure(order_reuse=False)
    fake_acme.limits.set("FailedAuthorizationsForPausingPerDomainPerAccount", burst=2)
    _fail(raw, fake_acme, "a.example")
    _fail(raw, fake_acme, "a.example")
    # A success fills the bucket (ra/ra.go:1575-1580): two more failures do not pause.
    order = _order(raw, "a.example").json()
    authz = raw.post_as_get(order["authorizations"][0]).json()
    raw.post(challenge_of(authz, "http-01")["url"], {})
    assert raw.post_as_get(order["authorizations"][0]).json()["status"] == "valid"
    fake_acme.clock.advance(hours=1)
    raw.forget_nonce()
    fake_acme.configure(authz_reuse=False)
    _fail(raw, fake_acme, "a.example")
    _fail(raw, fake_acme, "a.example")
    assert fake_acme.limits.paused() == []
    _fail(raw, fake_acme, "a.example")
    assert len(fake_acme.limits.paused()) == 1


def test_unpause_from_python_and_the_grace_period(raw: RawClient, fake_acme: FakeACME) -> None:
    _pause(raw, fake_acme)
    assert fake_acme.limits.unpause(str(raw.kid), "a.example") == 1
    assert _order(raw, "a.example").status_code == 201
    # The bucket stays empty, but a pair unpaused in the last 14 days is not paused again
    # (sa/sa.go:1388-1390) ...
    _fail(raw, fake_acme, "a.example")
    assert fake_acme.limits.paused() == []
    # ... after which the next failure pauses it again.
    fake_acme.clock.advance(days=14)
    raw.forget_nonce()
    fake_acme.limits.set("FailedAuthorizationsForPausingPerDomainPerAccount", burst=1,
                         count=1, period=_dt.timedelta(days=365))
    _fail(raw, fake_acme, "a.example")
    fake_acme.clock.advance(hours=1)
    raw.forget_nonce()
    _fail(raw, fake_acme, "a.example")
    assert len(fake_acme.limits.paused()) == 1


def test_unpause_through_the_page(raw: RawClient, fake_acme: FakeACME) -> None:
    _pause(raw, fake_acme)
    _pause(raw, fake_acme, "b.example")
    link = _order(raw, "a.example").json()["detail"].split("Please visit: ", 1)[1]
    session = requests.Session()
    session.verify = fake_acme.ca_bundle
    form = session.get(link, timeout=10)
    assert form.status_code == 200
    assert "a.example" in form.text
    assert "<form" in form.text
    action = link.replace("/sfe/v1/unpause?", "/sfe/v1/do-unpause?")
    done = session.post(action, timeout=10, allow_redirects=False)
    assert done.status_code == 302
    assert done.headers["Location"] == "/sfe/v1/unpause-status?count=2"
    status = session.get(fake_acme.base_url + done.headers["Location"], timeout=10)
    assert "2 identifiers were unpaused" in status.text
    assert fake_acme.limits.paused() == []
    assert _order(raw, "a.example").status_code == 201
    # A link cut short, or not this fake's, unpauses nothing.
    cut = link[:link.index("?jwt=") + 5] + "only-one-part"
    assert "incomplete" in session.get(cut, timeout=10).text
    forged = link[:-4] + "AAAA"
    assert "could not be verified" in session.post(
        forged.replace("/unpause?", "/do-unpause?"), timeout=10).text


def test_an_expired_unpause_link(raw: RawClient, fake_acme: FakeACME) -> None:
    _pause(raw, fake_acme)
    link = _order(raw, "a.example").json()["detail"].split("Please visit: ", 1)[1]
    fake_acme.clock.advance(days=15)
    page = requests.get(link, verify=fake_acme.ca_bundle, timeout=10)
    assert "expired" in page.text
    assert len(fake_acme.limits.paused()) == 1


def test_limits_through_the_management_api(raw: RawClient, fake_acme: FakeACME) -> None:
    api = fake_acme.management_url
    verify = fake_acme.ca_bundle
    _pause(raw, fake_acme)
    assert requests.get(f"{api}/limits", verify=verify, timeout=10).json()["paused"][0][
        "identifier"] == "a.example"
    unpaused = requests.post(f"{api}/limits/unpause", json={"account": raw.kid},
                             verify=verify, timeout=10)
    assert unpaused.json() == {"unpaused": 1}
    answer = requests.post(f"{api}/limits/set", json={"name": "NewOrdersPerAccount",
                                                      "burst": 1, "period": 3600},
                           verify=verify, timeout=10)
    assert answer.json() == {"name": "NewOrdersPerAccount", "burst": 1, "count": 1,
                             "period": 3600.0}
    assert _order(raw, "c.example").status_code == 201
    assert _order(raw, "d.example").status_code == 429
    shown = requests.get(f"{api}/limits", verify=verify, timeout=10).json()
    assert shown["on"] is True
    assert shown["limits"]["CertificatesPerDomain"] == {"burst": 50, "count": 50,
                                                        "period": 604800.0}
    assert "CertificatesPerDomainPerAccount" not in shown["limits"]
    assert "NewOrdersPerAccount" in {b["limit"] for b in shown["buckets"]}
    bad = requests.post(f"{api}/limits/set", json={"name": "NewOrders"}, verify=verify,
                        timeout=10)
    assert bad.status_code == 400
    assert "unknown limit 'NewOrders'" in bad.text


def test_usage_errors() -> None:
    fake = FakeACME()
    with pytest.raises(FakeACMEUsageError, match="unknown limit 'NewOrders'; use one of"):
        fake.limits.set("NewOrders", burst=1)
    with pytest.raises(FakeACMEUsageError, match="burst must be a whole number >= 1"):
        fake.limits.set("NewOrdersPerAccount", burst=0)
    with pytest.raises(FakeACMEUsageError, match="period must be a positive timedelta"):
        fake.limits.set("NewOrdersPerAccount", period=3600)  # type: ignore[arg-type]
    with pytest.raises(FakeACMEUsageError, match="rate_limits must be True or False"):
        fake.configure(rate_limits="yes")


def test_reset_restores_lets_encrypts_values(fake_acme: FakeACME) -> None:
    fake_acme.limits.set("NewOrdersPerAccount", burst=1)
    fake_acme.reset()
    limit = fake_acme.limits.limit("NewOrdersPerAccount")
    assert limit is not None
    assert limit.burst == 300


def test_more_than_100_names_are_not_counted(raw: RawClient, fake_acme: FakeACME) -> None:
    # Boulder builds no transactions for more than 100 names and lets the order go on
    # (ratelimits/transaction.go:474-476, wfe2/wfe.go:2500-2504): the RA then refuses it.
    fake_acme.limits.set("NewOrdersPerAccount", burst=1)
    assert _order(raw, "a.example").status_code == 201
    refused = _order(raw, *[f"n{n}.example" for n in range(101)])
    assert refused.status_code == 400
    assert "more than 100 identifiers" in refused.json()["detail"]


def test_the_per_account_override_answers_with_the_registered_domain(
        fake_acme: FakeACME, acme_client: AcmeTestClient) -> None:
    fake_acme.limits.set("CertificatesPerDomainPerAccount", burst=1,
                         period=_dt.timedelta(days=7))
    acme_client.issue("www.a.example")
    issued = _finalized(fake_acme)[0]
    raw = RawClient(fake_acme, key=acme_client.key)
    raw.register()
    refused = _order(raw, "shop.a.example")
    # The same sentence as CertificatesPerDomain (ratelimits/limiter.go:150-164).
    expect("rl-05", refused, 1, "a.example", "168h0m0s", _at(issued, days=7))
    wait = issued + _dt.timedelta(days=7) - fake_acme.clock.now()
    assert refused.headers["Retry-After"] == str(round(wait.total_seconds()))


def test_the_pausing_bucket_refills_one_a_day(raw: RawClient, fake_acme: FakeACME) -> None:
    fake_acme.configure(order_reuse=False)
    fake_acme.limits.set("FailedAuthorizationsForPausingPerDomainPerAccount", burst=2)
    _fail(raw, fake_acme, "a.example")
    _fail(raw, fake_acme, "a.example")
    # A day later one failure is allowed again, so the next one does not pause ...
    fake_acme.clock.advance(days=1)
    raw.forget_nonce()
    _fail(raw, fake_acme, "a.example")
    assert fake_acme.limits.paused() == []
    # ... and the one after it does.
    fake_acme.clock.advance(hours=1)
    raw.forget_nonce()
    _fail(raw, fake_acme, "a.example")
    assert len(fake_acme.limits.paused()) == 1


@pytest.mark.parametrize(("delta", "text"), [
    (_dt.timedelta(hours=3), "3h0m0s"),
    (_dt.timedelta(days=7), "168h0m0s"),
    (_dt.timedelta(minutes=90), "1h30m0s"),
    (_dt.timedelta(seconds=21.6), "21.6s"),
    (_dt.timedelta(milliseconds=1500), "1.5s"),
    (_dt.timedelta(milliseconds=500), "500ms"),
    (_dt.timedelta(microseconds=5), "5\u00b5s"),
    (_dt.timedelta(0), "0s"),
])
def test_periods_print_as_gos_durations(delta: _dt.timedelta, text: str) -> None:
    # Go's time.Duration.String, which Boulder's sentences use for the period.
    assert go_duration(delta) == text


def test_a_fractional_period_in_the_refusal(raw: RawClient, fake_acme: FakeACME) -> None:
    fake_acme.limits.set("NewOrdersPerAccount", burst=1, period=_dt.timedelta(seconds=90.5))
    assert _order(raw, "a.example").status_code == 201
    refused = _order(raw, "b.example")
    expect("rl-03", refused, 1, "1m30.5s", _when(fake_acme, seconds=90.5))
