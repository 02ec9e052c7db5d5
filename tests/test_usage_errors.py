"""What a misused call says: the clock, settings and DNS data refuse wrong input with a message
that names the call to write instead, and change nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from pytest_fakeacme import Clock, FakeACME, FakeACMEUsageError, Settings

UTC = dt.timezone.utc


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(lambda c: c.advance(3600),
                     "not a bare number: for 3600 seconds write clock.advance(seconds=3600)",
                     id="bare-number"),
        pytest.param(lambda c: c.advance("1h"), "not '1h', e.g. clock.advance(hours=1)",
                     id="string"),
        pytest.param(lambda c: c.advance(hour=1), "not hour=1; did you mean hours=?",
                     id="singular-unit"),
        pytest.param(lambda c: c.advance(fortnights=1), "not fortnights=1",
                     id="unknown-unit"),
        pytest.param(lambda c: c.advance(hours="1"), "hours= takes a number, not '1'",
                     id="unit-as-string"),
        pytest.param(lambda c: c.advance(days=-1), "only moves forward", id="backwards"),
        pytest.param(lambda c: c.freeze("2030-01-01"),
                     "'2030-01-01' has no UTC offset; add one, e.g. '2030-01-01T00:00:00Z'",
                     id="iso-without-offset"),
        pytest.param(lambda c: c.freeze("next tuesday"), "is not an ISO 8601 time",
                     id="not-iso"),
        pytest.param(lambda c: c.freeze(dt.datetime(2030, 1, 1)), "timezone-aware",
                     id="naive-datetime"),
        pytest.param(lambda c: c.set(1893456000), "ISO 8601 strings", id="timestamp"),
    ],
)
def test_clock_misuse_names_the_call_to_write_and_changes_nothing(
    call: Callable[[Clock], object], message: str
) -> None:
    clock = Clock(dt.datetime(2026, 1, 1, tzinfo=UTC), frozen=True)
    with pytest.raises(FakeACMEUsageError) as info:
        call(clock)
    assert message in str(info.value)
    assert clock.now() == dt.datetime(2026, 1, 1, tzinfo=UTC)
    assert "got {}" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2030-01-01T00:00:00Z", dt.datetime(2030, 1, 1, tzinfo=UTC)),
        ("2030-01-01T02:00:00+02:00", dt.datetime(2030, 1, 1, tzinfo=UTC)),
        ("2030-01-01 00:00:00.5z", dt.datetime(2030, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)),
    ],
)
def test_the_clock_takes_iso_8601_strings_as_the_management_api_does(
    text: str, expected: dt.datetime
) -> None:
    clock = Clock()
    assert clock.freeze(text) == expected
    clock.set(text)
    assert clock.now() == expected
    assert Clock(text, frozen=True).now() == expected


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"authz_reuse": "no"}, "authz_reuse must be True or False, not 'no'"),
        ({"async_finalize": 0}, "async_finalize must be True or False, not 0"),
        ({"validity_requests": "yes"}, "validity_requests must be True, False or None, not 'yes'"),
        ({"caa_identity": None}, "caa_identity must be a string, not None"),
        ({"default_profile": 5}, "default_profile must be a string or None, not 5"),
        ({"flavor": "pebble"}, "unknown flavor 'pebble'; use one of boulder, rfc"),
    ],
)
def test_a_setting_of_the_wrong_type_is_refused_and_changes_nothing(
    fake_acme: FakeACME, changes: dict[str, object], message: str
) -> None:
    before = Settings(**vars(fake_acme.settings))
    with pytest.raises(FakeACMEUsageError) as info:
        fake_acme.configure(**changes)
    assert str(info.value) == message
    assert fake_acme.settings == before
    with pytest.raises(FakeACMEUsageError, match=r"must be|unknown"):
        FakeACME(**changes)  # type: ignore[arg-type]


def test_a_misspelt_setting_names_the_one_meant(fake_acme: FakeACME) -> None:
    with pytest.raises(FakeACMEUsageError) as info:
        fake_acme.configure(authz_resue=False)
    assert str(info.value).startswith(
        "unknown setting(s) ['authz_resue'] (did you mean 'authz_reuse'?); known: ['async_final")


def test_settings_of_the_right_type_are_taken(fake_acme: FakeACME) -> None:
    fake_acme.configure(authz_reuse=False, validity_requests=None, default_profile=None,
                        caa_identity="ca.example")
    assert (fake_acme.settings.authz_reuse, fake_acme.settings.caa_identity) == (
        False, "ca.example")


def test_add_txt_with_its_arguments_swapped_says_so(fake_acme: FakeACME) -> None:
    digest = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"  # a valid single DNS label
    with pytest.raises(FakeACMEUsageError) as info:
        fake_acme.dns.add_txt(digest, "_acme-challenge.a.example")
    assert str(info.value) == (
        f"dns.add_txt(name, value) takes the record's name first, and "
        f"'_acme-challenge.a.example' looks like the name, {digest!r} like the value. Did you "
        f"mean dns.add_txt('_acme-challenge.a.example', {digest!r})?"
    )
    with pytest.raises(FakeACMEUsageError, match=r"'a b\.example' is not a DNS name"):
        fake_acme.dns.add_txt("a b.example", digest)
    assert fake_acme.dns.lookup_txt("_acme-challenge.a.example") == []
    # The right order, and values that merely contain dots, are taken.
    fake_acme.dns.add_txt("_acme-challenge.a.example", digest)
    fake_acme.dns.add_txt("info.a.example", "v=spf1 include:mail.example ~all")
    assert fake_acme.dns.lookup_txt("_acme-challenge.a.example") == [digest]
