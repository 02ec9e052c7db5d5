"""The settings of the 2025-26 protocol surface and of Let's Encrypt's limits and profiles
(``dns_persist_01``, ``crl_update_interval``, ``retry_after_format``, ``require_user_agent``,
``rate_limits``, ``policy_date``) reach the fake from every place a user sets things: the
marker, the ini key ``fake_acme_settings``, the management API (as JSON values and as text)
and ``serve --set`` (in tests/test_serve.py). Each is then seen working, not only stored."""

from __future__ import annotations

import datetime as _dt
from typing import Any

import pytest
import requests

from pytest_fakeacme import FakeACME

#: Each setting's text form (as ini lines and ``serve --set`` take it) and its value.
TEXT_FORMS: dict[str, tuple[str, Any]] = {
    "dns_persist_01": ("true", True),
    "crl_update_interval": ("2h", _dt.timedelta(hours=2)),
    "retry_after_format": ("date", "date"),
    "require_user_agent": ("true", True),
    "rate_limits": ("true", True),
    "policy_date": ("2028-02-16", "2028-02-16"),
}

_CHECKS = '''
import datetime, requests, urllib3
from pytest_fakeacme import FakeACME

EXPECTED = EXPECTED_VALUES

def check(fake_acme):
    for name, value in EXPECTED.items():
        got = getattr(fake_acme.settings, name)
        if isinstance(got, datetime.timedelta):
            got = got.total_seconds()
        assert got == value, name
    # Seen working: a request without User-Agent is refused, the directory offers the
    # profiles of 2028 (classic 45 days), limits count.
    answer = requests.get(fake_acme.directory_url, verify=fake_acme.ca_bundle, timeout=10,
                          headers={"User-Agent": urllib3.util.SKIP_HEADER})
    assert answer.status_code == 400, answer.text
    assert fake_acme.settings.profiles_on(fake_acme.clock.now())["classic"].validity == (
        datetime.timedelta(days=45))
    assert fake_acme.limits.on
'''


def _expected() -> dict[str, Any]:
    return {name: value.total_seconds() if isinstance(value, _dt.timedelta) else value
            for name, (_, value) in TEXT_FORMS.items()}


def test_the_marker(pytester: pytest.Pytester) -> None:
    marker = ", ".join(f"{name}={value!r}" for name, (_, value) in TEXT_FORMS.items())
    pytester.makepyfile(_CHECKS.replace("EXPECTED_VALUES", repr(_expected())) + f'''
import pytest

@pytest.mark.fake_acme({marker})
def test_marked(fake_acme):
    check(fake_acme)

def test_unmarked_is_back_to_defaults(fake_acme):
    assert fake_acme.settings.rate_limits is False
    assert fake_acme.settings.policy_date == "2026-12-07"
''')
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_the_ini_key(pytester: pytest.Pytester) -> None:
    lines = "".join(f"    {name}={text}\n" for name, (text, _) in TEXT_FORMS.items())
    pytester.makeini(f"[pytest]\nfake_acme_settings =\n{lines}")
    pytester.makepyfile(_CHECKS.replace("EXPECTED_VALUES", repr(_expected())) + '''
import pytest

def test_configured(fake_acme):
    check(fake_acme)

@pytest.mark.fake_acme(rate_limits=False)
def test_marker_overrides(fake_acme):
    assert fake_acme.settings.rate_limits is False

def test_reset_returns_to_the_ini(fake_acme):
    check(fake_acme)
''')
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=3)


@pytest.mark.parametrize(("line", "message"), [
    ("rate_limits", "fake_acme_settings takes NAME=VALUE lines such as rate_limits=true"),
    ("rate_limit=true", "did you mean 'rate_limits'"),
    ("flavor=rfc", "flavor has an ini key of its own: fake_acme_flavor"),
    ("policy_date=soon", "policy_date takes a date such as '2028-02-16', or 'clock'"),
])
def test_the_ini_key_refuses_bad_lines(pytester: pytest.Pytester, line: str,
                                       message: str) -> None:
    pytester.makeini(f"[pytest]\nfake_acme_settings = {line}\n")
    pytester.makepyfile("def test_any(fake_acme):\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])


@pytest.mark.parametrize("as_text", [True, False], ids=["text", "json"])
def test_the_management_api(fake_acme: FakeACME, as_text: bool) -> None:
    body = {name: text if as_text else (
        value.total_seconds() if isinstance(value, _dt.timedelta) else value)
        for name, (text, value) in TEXT_FORMS.items()}
    answer = requests.post(f"{fake_acme.management_url}/settings", json=body,
                           verify=fake_acme.ca_bundle, timeout=10,
                           headers={"User-Agent": "test"})
    assert answer.status_code == 200, answer.text
    for name, (_, value) in TEXT_FORMS.items():
        assert getattr(fake_acme.settings, name) == value, name
    shown = requests.get(f"{fake_acme.management_url}/settings", verify=fake_acme.ca_bundle,
                         timeout=10).json()
    assert {name: shown[name] for name in TEXT_FORMS} == _expected()
