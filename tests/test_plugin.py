"""The pytest glue, driven through pytester: every option, ini key, marker and fixture.

Inner sessions run in-process (``runpytest``) unless what is tested is the process itself (the
environment a fresh ``pytest --fake-acme`` exports before collection). Inner tests that talk ACME
use certbot's ``acme`` library through the small ``inner_acme`` module written next to them.
"""

from __future__ import annotations

import os

import pytest

from pytest_fakeacme import FakeACME
from pytest_fakeacme.plugin import (
    ENV_CA_BUNDLE,
    ENV_DIRECTORY_URL,
    ENV_DNS,
    ENV_HTTP01_PORT,
    ENV_MANAGEMENT_URL,
    ENV_ROOTS,
    ENV_TLS_ALPN01_PORT,
)

#: Every variable ``--fake-acme`` exports.
EXPORTED = (ENV_DIRECTORY_URL, ENV_CA_BUNDLE, ENV_ROOTS, ENV_MANAGEMENT_URL, ENV_DNS,
            ENV_HTTP01_PORT, ENV_TLS_ALPN01_PORT)

#: A minimal ACME client for inner sessions (no responder: validations rely on the VA default
#: or a script). Requests-based, so inner files clear REQUESTS_CA_BUNDLE themselves.
INNER_ACME = '''
"""A minimal ACME client for inner test sessions."""
import josepy as jose
import pytest
from acme import challenges, client, crypto_util, messages
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


@pytest.fixture(autouse=True)
def _trust_exactly_the_given_bundle(monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


def order(directory_url, ca_bundle, *names):
    """Register an account and order ``names``: (client, account key, order resource)."""
    key = jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
    net = client.ClientNetwork(key, alg=jose.ES256, verify_ssl=ca_bundle)
    acme = client.ClientV2(client.ClientV2.get_directory(directory_url, net), net)
    acme.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True))
    csr_key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return acme, key, acme.new_order(crypto_util.make_csr(csr_key, list(names)))


def answer_http01(acme, key, order):
    """Ask for http-01 validation of the first authorization; its status at the next poll."""
    authz = order.authorizations[0]
    chall = next(c for c in authz.body.challenges if isinstance(c.chall, challenges.HTTP01))
    acme.answer_challenge(chall, chall.response(key))
    return acme.poll(authz)[0].body.status.name
'''

#: Run in a child of the inner test: fetch the directory named by the environment, trusting the
#: exported bundle only, and print the directory's newOrder URL.
FETCH_FROM_ENV = (
    "import json, os, ssl, urllib.request; "
    "ctx = ssl.create_default_context(cafile=os.environ['FAKE_ACME_CA_BUNDLE']); "
    "url = os.environ['FAKE_ACME_DIRECTORY_URL']; "
    "print(json.load(urllib.request.urlopen(url, context=ctx, timeout=10))['newOrder'])"
)

#: An inner test file for a run with the session fake (``--fake-acme`` or ``fake_acme = true``).
SESSION_FAKE_TESTS = f'''
import os
import subprocess
import sys

# Read at import, i.e. during collection: the fake must already be running and exported.
URL_AT_COLLECTION = os.environ.get("FAKE_ACME_DIRECTORY_URL")
BUNDLE_AT_COLLECTION = os.environ.get("FAKE_ACME_CA_BUNDLE")
ROOTS_AT_COLLECTION = os.environ.get("FAKE_ACME_ROOTS")
MANAGEMENT_AT_COLLECTION = os.environ.get("FAKE_ACME_MANAGEMENT_URL")
DNS_AT_COLLECTION = os.environ.get("FAKE_ACME_DNS")
HTTP01_AT_COLLECTION = os.environ.get("FAKE_ACME_HTTP01_PORT")
TLS_ALPN01_AT_COLLECTION = os.environ.get("FAKE_ACME_TLS_ALPN01_PORT")


def test_collection_saw_the_fake_that_the_fixtures_give(fake_acme, acme_directory_url):
    assert URL_AT_COLLECTION == fake_acme.directory_url == acme_directory_url
    assert URL_AT_COLLECTION.startswith("https://127.0.0.1:")
    assert BUNDLE_AT_COLLECTION == fake_acme.ca_bundle
    with open(ROOTS_AT_COLLECTION) as f:
        assert f.read() == fake_acme.roots
    assert MANAGEMENT_AT_COLLECTION == fake_acme.management_url
    assert DNS_AT_COLLECTION == "%s:%d" % fake_acme.dns.address
    # Where a subprocess serves its http-01 and tls-alpn-01 responders.
    assert HTTP01_AT_COLLECTION == str(fake_acme.http01_port)
    assert TLS_ALPN01_AT_COLLECTION == str(fake_acme.tls_alpn01_port)


def test_a_subprocess_reaches_the_fake(fake_acme):
    child = subprocess.run(
        [sys.executable, "-c", {FETCH_FROM_ENV!r}],
        capture_output=True, text=True, timeout=60,
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.startswith(fake_acme.base_url + "/")
'''


@pytest.fixture(autouse=True)
def _inner_sessions_start_clean(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    # This suite may itself run under --fake-acme; inner sessions must start from a clean slate.
    for name in EXPORTED:
        monkeypatch.delenv(name, raising=False)
    # Unrelated plugins of the test environment stay out of inner sessions: hypothesis' would
    # import (and assertion-rewrite) its whole package in every one, about a second each, and
    # pytest-benchmark warns under xdist (an error under this suite's filterwarnings). Set after
    # pytester started, as it clears PYTEST_ADDOPTS.
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:hypothesispytest -p no:benchmark")


def _inner_client(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(inner_acme=INNER_ACME)


# The fake_acme fixture


def test_fake_acme_needs_no_conftest_and_gives_fresh_state_on_one_server(
    pytester: pytest.Pytester,
) -> None:
    _inner_client(pytester)
    pytester.makepyfile(
        """
        from inner_acme import _trust_exactly_the_given_bundle, answer_http01, order
        from pytest_fakeacme import FakeACME, outcomes

        import pytest

        FIRST = {}

        @pytest.mark.fake_acme(unused_scripts="ignore")  # b.example is never validated
        def test_first_makes_state(fake_acme, fake_acme_session):
            assert isinstance(fake_acme, FakeACME) and fake_acme.running
            assert fake_acme is fake_acme_session
            acme, key, new = order(fake_acme.directory_url, fake_acme.ca_bundle, "a.example")
            fake_acme.va.script("b.example", outcomes.valid())
            fake_acme.configure(order_reuse=False)
            fake_acme.clock.advance(hours=1)
            assert len(fake_acme.accounts) == 1 and len(fake_acme.orders) == 1
            FIRST.update(url=fake_acme.directory_url, order=new.uri, now=fake_acme.clock.now())

        def test_second_finds_none_of_it_on_the_same_server(fake_acme):
            assert fake_acme.directory_url == FIRST["url"]
            assert fake_acme.accounts == [] and fake_acme.orders == []
            assert fake_acme.va.scripted() == {}
            assert fake_acme.settings.order_reuse is True
            assert fake_acme.clock.now() < FIRST["now"]
            acme, key, new = order(fake_acme.directory_url, fake_acme.ca_bundle, "a.example")
            assert [o.status for o in fake_acme.orders] == ["pending"]
            # Nothing listens on http01_port: the default VA really tries, and fails.
            assert answer_http01(acme, key, new) == "invalid"
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)


# The fake_acme marker


def test_marker_configures_that_test_only(pytester: pytest.Pytester) -> None:
    _inner_client(pytester)
    pytester.makepyfile(
        """
        import pytest
        from inner_acme import _trust_exactly_the_given_bundle, answer_http01, order
        from pytest_fakeacme import outcomes

        @pytest.mark.fake_acme(flavor="rfc", va_default="valid", async_finalize=False)
        def test_by_name(fake_acme):
            assert fake_acme.flavor == "rfc"
            assert fake_acme.va.default == outcomes.valid()
            assert fake_acme.settings.async_finalize is False
            # No responder anywhere: the default outcome decides.
            acme, key, new = order(fake_acme.directory_url, fake_acme.ca_bundle, "a.example")
            assert answer_http01(acme, key, new) == "valid"

        @pytest.mark.fake_acme(va_default=outcomes.http_status(404))
        def test_by_outcome_object(fake_acme):
            assert fake_acme.va.default == outcomes.http_status(404)
            acme, key, new = order(fake_acme.directory_url, fake_acme.ca_bundle, "a.example")
            assert answer_http01(acme, key, new) == "invalid"
            error = fake_acme.challenges[0].error
            assert error is not None and "404" in error.detail

        def test_next_test_is_back_to_defaults(fake_acme):
            assert fake_acme.flavor == "boulder"
            assert fake_acme.va.default == outcomes.real()
            assert fake_acme.settings.async_finalize is True
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=3)


def test_markers_on_module_class_and_test_combine_closest_first(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import pytest
        from pytest_fakeacme import outcomes

        pytestmark = pytest.mark.fake_acme(flavor="rfc", authz_reuse=False)

        @pytest.mark.fake_acme(va_default="valid", authz_reuse=True)
        class TestMarked:
            @pytest.mark.fake_acme(va_default="dns_nxdomain")
            def test_closest_wins(self, fake_acme):
                assert fake_acme.flavor == "rfc"
                assert fake_acme.settings.authz_reuse is True
                assert fake_acme.va.default == outcomes.dns_nxdomain()

            def test_class_over_module(self, fake_acme):
                assert fake_acme.flavor == "rfc"
                assert fake_acme.settings.authz_reuse is True
                assert fake_acme.va.default == outcomes.valid()

        def test_module_only(fake_acme):
            assert fake_acme.flavor == "rfc"
            assert fake_acme.settings.authz_reuse is False
            assert fake_acme.va.default == outcomes.real()
        """
    )
    pytester.runpytest().assert_outcomes(passed=3)


def test_marker_misuse_is_a_usage_error_and_changes_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from pytest_fakeacme import outcomes

        @pytest.mark.fake_acme("rfc")
        def test_positional(fake_acme):
            pass

        @pytest.mark.fake_acme(va_default="valid", bogus=1)
        def test_unknown_setting(fake_acme):
            pass

        @pytest.mark.fake_acme(va_default="nope")
        def test_unknown_outcome(fake_acme):
            pass

        @pytest.mark.fake_acme(va_default=404)
        def test_not_an_outcome(fake_acme):
            pass

        @pytest.mark.fake_acme(flavor="pebble")
        def test_unknown_flavor(fake_acme):
            pass

        def test_after_the_errors(fake_acme):
            assert fake_acme.va.default == outcomes.real()
            assert fake_acme.flavor == "boulder"
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=5)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_positional*",
            "E*UsageError: @pytest.mark.fake_acme takes keyword arguments only, not ('rfc',)*",
            "*ERROR at setup of test_unknown_setting*",
            # (fnmatch reads [...] as a character class; ? stands for the brackets)
            "E*UsageError: @pytest.mark.fake_acme: unknown setting(s) ?'bogus'?; known: *",
            "*ERROR at setup of test_unknown_outcome*",
            "E*UsageError: @pytest.mark.fake_acme: unknown outcome 'nope'; use one of *valid*",
            "*ERROR at setup of test_not_an_outcome*",
            "E*UsageError: @pytest.mark.fake_acme: va_default takes an outcome or its name*404",
            "*ERROR at setup of test_unknown_flavor*",
            "E*UsageError: @pytest.mark.fake_acme: unknown flavor 'pebble'; use one of boulder, *",
        ]
    )
    # The message, not the plugin's fixture code that found the mistake.
    for internal in ("*def fake_acme(*", "*_apply_markers*", "*plugin.py*", "*fake.reset()*"):
        result.stdout.no_fnmatch_line(internal)


def test_marker_on_a_test_without_the_fixture_is_an_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.fixture
        def my_client(fake_acme):
            return fake_acme.flavor

        @pytest.mark.fake_acme(flavor="rfc")
        def test_forgot_the_fixture():
            pass

        @pytest.mark.fake_acme(flavor="rfc")
        def test_through_a_fixture_of_its_own(my_client):
            assert my_client == "rfc"

        @pytest.mark.fake_acme(flavor="rfc")
        def test_through_the_directory_url(acme_directory_url, fake_acme):
            assert fake_acme.flavor == "rfc"
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_forgot_the_fixture*",
            "@pytest.mark.fake_acme configures the fake_acme fixture, which "
            "test_forgot_the_fixture does not use: add fake_acme (or acme_directory_url) to its "
            "arguments",
        ]
    )
    result.stdout.no_fnmatch_line("*plugin.py*")


def test_a_module_marker_leaves_tests_without_the_fixture_alone(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import pytest

        pytestmark = pytest.mark.fake_acme(flavor="rfc")

        def test_pure_python():
            assert 1 + 1 == 2

        def test_with_the_fake(fake_acme):
            assert fake_acme.flavor == "rfc"
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_a_usage_error_is_shown_from_the_tests_own_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_advances_by_a_bare_number(fake_acme):
            fake_acme.clock.advance(3600)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            ">       fake_acme.clock.advance(3600)",
            "E       pytest_fakeacme.errors.FakeACMEUsageError: clock.advance() takes a timedelta*"
            "for 3600 seconds write clock.advance(seconds=3600)",
            "test_a_usage_error_is_shown_from_the_tests_own_line.py:2: FakeACMEUsageError",
        ]
    )
    result.stdout.no_fnmatch_line("*clock.py*")
    # --full-trace still shows everything, for whoever debugs the library.
    full = pytester.runpytest("--full-trace")
    full.stdout.fnmatch_lines(["*pytest_fakeacme/clock.py:*"])


def test_marker_is_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(
        ["@pytest.mark.fake_acme(flavor=None, va_default=None, **settings): configure the *"]
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.fake_acme(flavor="rfc")
        def test_strict(fake_acme):
            assert fake_acme.flavor == "rfc"
        """
    )
    pytester.runpytest("--strict-markers").assert_outcomes(passed=1)


# Errors inside the server thread


def test_an_error_in_the_server_fails_the_test_that_caused_it(pytester: pytest.Pytester) -> None:
    _inner_client(pytester)
    pytester.makepyfile(
        """
        from inner_acme import _trust_exactly_the_given_bundle, answer_http01, order
        from pytest_fakeacme import outcomes

        def test_scripts_an_outcome_that_cannot_apply(fake_acme):
            fake_acme.va.script("x.example", outcomes.txt_missing())
            acme, key, new = order(fake_acme.directory_url, fake_acme.ca_bundle, "x.example")
            # The client sees what Let's Encrypt would show for a VA failure...
            assert answer_http01(acme, key, new) == "invalid"
            assert fake_acme.challenges[0].error.type == "serverInternal"

        def test_next_test_does_not_inherit_it(fake_acme):
            assert fake_acme.errors == []
        """
    )
    result = pytester.runpytest()
    # ... and the test that scripted it fails at teardown, with the reason.
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_scripts_an_outcome_that_cannot_apply*",
            "E*ScriptError: *outcomes.txt_missing() cannot apply to *http-01*",
            "*- fake-acme transcript -*",
            "*VA http-01 x.example (*txt_missing*): serverInternal: *",
        ]
    )
    # The message, not the fixture's teardown or the VA thread it came from.
    for internal in ("*fake.check()*", "*raise_first*", "*_resolve_into*", "*plugin.py*"):
        result.stdout.no_fnmatch_line(internal)


# Failure reports


def test_a_failing_test_that_used_the_fake_reports_the_transcript(
    pytester: pytest.Pytester,
) -> None:
    _inner_client(pytester)
    pytester.makepyfile(
        """
        from inner_acme import _trust_exactly_the_given_bundle, order

        def test_fails_after_talking_acme(fake_acme):
            order(fake_acme.directory_url, fake_acme.ca_bundle, "a.example")
            assert False, "the client under test got it wrong"

        def test_passes(fake_acme):
            order(fake_acme.directory_url, fake_acme.ca_bundle, "b.example")

        def test_fails_without_the_fake():
            assert False
        """
    )
    result = pytester.runpytest("-rA")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ test_fails_after_talking_acme _*",
            "*AssertionError: the client under test got it wrong*",
            "*- fake-acme transcript -*",
            "*GET  directory -> 200",
            "*POST newAccount -> 201",
            "*POST newOrder -> 201",
            "*_ test_fails_without_the_fake _*",
        ]
    )
    # Once, for the failing test only.
    assert result.stdout.str().count("fake-acme transcript") == 1


# --fake-acme and the fake_acme ini key


def test_fake_acme_option_exports_a_fake_before_collection(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SESSION_FAKE_TESTS)
    # A fresh process: the environment seen at collection is the plugin's doing alone.
    result = pytester.runpytest_subprocess("--fake-acme", timeout=120)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            f"fake-acme: directory https://127.0.0.1:*/directory (exported as {ENV_DIRECTORY_URL})",
            f"fake-acme: CA bundle *ca-bundle.pem (exported as {ENV_CA_BUNDLE})",
            f"fake-acme: management API https://127.0.0.1:* (exported as {ENV_MANAGEMENT_URL})",
            "fake-acme: the VA connects to http-01 port * and tls-alpn-01 port * (exported as "
            f"{ENV_HTTP01_PORT}, {ENV_TLS_ALPN01_PORT})",
        ]
    )


def test_fake_acme_ini_key_does_the_same_and_withdraws_the_environment(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\nfake_acme = true\n")
    pytester.makepyfile(SESSION_FAKE_TESTS)
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["fake-acme: directory https://127.0.0.1:*/directory (*"])
    for name in EXPORTED:
        assert name not in os.environ


def test_fake_acme_option_wins_over_the_ini_key(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nfake_acme = false\n")
    pytester.makepyfile(
        """
        import os

        def test_exported(fake_acme):
            assert os.environ["FAKE_ACME_DIRECTORY_URL"] == fake_acme.directory_url
        """
    )
    pytester.runpytest("--fake-acme").assert_outcomes(passed=1)


def test_without_fake_acme_nothing_is_exported(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import os

        def test_not_exported(fake_acme):
            assert "FAKE_ACME_DIRECTORY_URL" not in os.environ
            assert "FAKE_ACME_CA_BUNDLE" not in os.environ
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("fake-acme:*")


def test_fake_acme_restores_variables_it_found(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An in-process run under an outer --fake-acme run must hand the outer fake's URL back.
    monkeypatch.setenv(ENV_DIRECTORY_URL, "https://outer.example/directory")
    pytester.makepyfile(
        """
        import os

        def test_own_fake_exported(fake_acme):
            assert os.environ["FAKE_ACME_DIRECTORY_URL"] == fake_acme.directory_url
        """
    )
    pytester.runpytest("--fake-acme").assert_outcomes(passed=1)
    assert os.environ[ENV_DIRECTORY_URL] == "https://outer.example/directory"
    assert ENV_CA_BUNDLE not in os.environ


# acme_directory_url


def test_acme_directory_url_is_the_per_test_fake_by_default(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import json
        import ssl
        import urllib.request

        def test_url(acme_directory_url, request):
            fake = request.getfixturevalue("fake_acme")
            assert acme_directory_url == fake.directory_url
            ctx = ssl.create_default_context(cafile=fake.ca_bundle)
            with urllib.request.urlopen(acme_directory_url, context=ctx, timeout=10) as answer:
                assert json.load(answer)["newOrder"].startswith(fake.base_url)
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_acme_directory_option_points_elsewhere_and_starts_no_fake(
    pytester: pytest.Pytester,
) -> None:
    url = "https://acme-staging-v02.api.letsencrypt.org/directory"
    pytester.makepyfile(
        f"""
        def test_url(acme_directory_url, request):
            assert acme_directory_url == {url!r}
            assert "fake_acme" not in request.fixturenames
            assert "fake_acme_session" not in request.fixturenames
        """
    )
    result = pytester.runpytest(f"--acme-directory={url}", "--setup-show")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*SETUP    F acme_directory_url*"])
    result.stdout.no_fnmatch_line("*SETUP*fake_acme*")


# strict_identifiers: option and ini key


@pytest.mark.parametrize(
    ("args", "ini"),
    [
        pytest.param(["--fake-acme-strict-identifiers"], None, id="option"),
        pytest.param([], "fake_acme_strict_identifiers = true\n", id="ini"),
    ],
)
def test_strict_identifiers_by_option_or_ini_key(
    pytester: pytest.Pytester, args: list[str], ini: str | None
) -> None:
    if ini is not None:
        pytester.makeini("[pytest]\n" + ini)
    pytester.makepyfile(
        """
        import pytest

        def test_configured(fake_acme):
            assert fake_acme.settings.strict_identifiers is True

        @pytest.mark.fake_acme(strict_identifiers=False)
        def test_marker_overrides(fake_acme):
            assert fake_acme.settings.strict_identifiers is False

        def test_reset_returns_to_configured(fake_acme):
            assert fake_acme.settings.strict_identifiers is True
        """
    )
    pytester.runpytest(*args).assert_outcomes(passed=3)


def test_strict_identifiers_is_off_by_default(fake_acme: FakeACME) -> None:
    assert fake_acme.settings.strict_identifiers is False


# Default flavor and VA outcome: options and ini keys


@pytest.mark.parametrize(
    ("args", "ini"),
    [
        pytest.param(
            ["--fake-acme-flavor=rfc", "--fake-acme-va-default=valid"], None, id="options"
        ),
        pytest.param(
            [], "fake_acme_flavor = rfc\nfake_acme_va_default = valid\n", id="ini"
        ),
        pytest.param(
            ["--fake-acme-flavor=rfc", "--fake-acme-va-default=valid"],
            "fake_acme_flavor = boulder\nfake_acme_va_default = dns_servfail\n",
            id="options-over-ini",
        ),
    ],
)
def test_default_flavor_and_va_outcome(
    pytester: pytest.Pytester, args: list[str], ini: str | None
) -> None:
    if ini is not None:
        pytester.makeini("[pytest]\n" + ini)
    _inner_client(pytester)
    pytester.makepyfile(
        """
        import pytest
        from inner_acme import _trust_exactly_the_given_bundle, answer_http01, order
        from pytest_fakeacme import outcomes

        def test_configured(fake_acme):
            assert fake_acme.flavor == "rfc"
            assert fake_acme.va.default == outcomes.valid()
            acme, key, new = order(fake_acme.directory_url, fake_acme.ca_bundle, "a.example")
            assert answer_http01(acme, key, new) == "valid"

        @pytest.mark.fake_acme(flavor="boulder", va_default="real")
        def test_marker_overrides(fake_acme):
            assert fake_acme.flavor == "boulder"
            assert fake_acme.va.default == outcomes.real()

        def test_reset_returns_to_configured(fake_acme):
            assert fake_acme.flavor == "rfc"
            assert fake_acme.va.default == outcomes.valid()
        """
    )
    pytester.runpytest(*args).assert_outcomes(passed=3)


@pytest.mark.parametrize(
    ("args", "ini", "message"),
    [
        pytest.param(
            ["--fake-acme-va-default=nope"], None,
            "ERROR: pytest-fakeacme: unknown outcome 'nope'; use one of *real*valid*",
            id="option-unknown-outcome",
        ),
        pytest.param(
            ["--fake-acme-va-default=http_status"], None,
            "ERROR: pytest-fakeacme: outcome 'http_status' needs arguments*",
            id="option-outcome-needs-arguments",
        ),
        pytest.param(
            [], "fake_acme_va_default = nope\n",
            "ERROR: pytest-fakeacme: unknown outcome 'nope'*",
            id="ini-unknown-outcome",
        ),
        pytest.param(
            [], "fake_acme_flavor = pebble\n",
            "ERROR: pytest-fakeacme: unknown flavor 'pebble'; use one of boulder, rfc",
            id="ini-unknown-flavor",
        ),
        pytest.param(
            ["--fake-acme-flavor=pebble"], None,
            "*argument --fake-acme-flavor: invalid choice: 'pebble'*",
            id="option-unknown-flavor",
        ),
    ],
)
def test_bad_defaults_are_usage_errors(
    pytester: pytest.Pytester, args: list[str], ini: str | None, message: str
) -> None:
    if ini is not None:
        pytester.makeini("[pytest]\n" + ini)
    pytester.makepyfile("def test_never_runs(): pass\n")
    result = pytester.runpytest("--fake-acme", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert ENV_DIRECTORY_URL not in os.environ


# pytest-xdist


def test_runs_under_xdist(pytester: pytest.Pytester) -> None:
    _inner_client(pytester)
    pytester.makepyfile(
        """
        import pytest
        from inner_acme import _trust_exactly_the_given_bundle, order

        @pytest.mark.parametrize("n", range(4))
        def test_issue(fake_acme, n):
            order(fake_acme.directory_url, fake_acme.ca_bundle, f"{n}.example")
            assert [o.identifiers[0].value for o in fake_acme.orders] == [f"{n}.example"]
        """
    )
    result = pytester.runpytest("-p", "xdist", "-n", "2")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["created: 2/2 workers"])


def test_fake_acme_option_under_xdist_exports_each_workers_fake(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        f"""
        import os
        import subprocess
        import sys

        import pytest

        URL_AT_COLLECTION = os.environ.get("FAKE_ACME_DIRECTORY_URL")

        @pytest.mark.parametrize("n", range(4))
        def test_worker_fake(fake_acme, acme_directory_url, n):
            # The fake a test scripts is the one its subprocesses reach.
            assert URL_AT_COLLECTION == fake_acme.directory_url == acme_directory_url
            child = subprocess.run(
                [sys.executable, "-c", {FETCH_FROM_ENV!r}],
                capture_output=True, text=True, timeout=60,
            )
            assert child.returncode == 0, child.stderr
            assert child.stdout.startswith(fake_acme.base_url + "/")
        """
    )
    result = pytester.runpytest("-p", "xdist", "-n", "2", "--fake-acme")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["fake-acme: one fake CA per xdist worker*"])


# Faults from the command line, the ini file and the marker

_FAULT_CHECK = """
import pytest
from inner_acme import _trust_exactly_the_given_bundle
from pytest_fakeacme.demo import MiniClient


def first_new_order_status(fake_acme):
    client = MiniClient(fake_acme.directory_url, fake_acme.ca_bundle)
    client.register()
    answer = client.post(client.directory["newOrder"],
                         {"identifiers": [{"type": "dns", "value": "a.example"}]}, retry=False)
    return answer.status


def test_first(fake_acme):
    assert first_new_order_status(fake_acme) == EXPECTED


def test_again_in_the_next_test(fake_acme):
    assert first_new_order_status(fake_acme) == EXPECTED
"""


@pytest.mark.parametrize("where", ["option", "ini"])
def test_faults_every_test_starts_with(pytester: pytest.Pytester, where: str) -> None:
    _inner_client(pytester)
    pytester.makepyfile(_FAULT_CHECK.replace("EXPECTED", "400"))
    args: list[str] = []
    if where == "option":
        args = ["--fake-acme-fault", "bad_nonce endpoint=newOrder"]
    else:
        pytester.makeini("[pytest]\nfake_acme_faults =\n    bad_nonce endpoint=newOrder\n")
    pytester.runpytest(*args).assert_outcomes(passed=2)


def test_faults_from_the_marker_for_one_test(pytester: pytest.Pytester) -> None:
    _inner_client(pytester)
    pytester.makepyfile(
        _FAULT_CHECK.replace("EXPECTED", "STATUS").replace(
            "def test_first(fake_acme):\n    assert first_new_order_status(fake_acme) == STATUS",
            "@pytest.mark.fake_acme(faults=['server_error endpoint=newOrder'])\n"
            "def test_first(fake_acme):\n    assert first_new_order_status(fake_acme) == 500",
        ).replace("== STATUS", "== 201")
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_a_bad_fault_spec_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(fake_acme):\n    pass\n")
    result = pytester.runpytest("--fake-acme-fault", "explode now")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown fault 'explode'*"])


_FAILING_WITH_A_PROBLEM = """
from inner_acme import _trust_exactly_the_given_bundle
from pytest_fakeacme import outcomes
from pytest_fakeacme.demo import MiniClient


def test_fails(fake_acme):
    fake_acme.va.script("a.example", outcomes.http_status(404))
    client = MiniClient(fake_acme.directory_url, fake_acme.ca_bundle)
    client.register()
    order = client.post(client.directory["newOrder"],
                        {"identifiers": [{"type": "dns", "value": "a.example"}]})
    authz_url = order.json()["authorizations"][0]
    chall = client.post(authz_url, None).json()["challenges"][0]
    client.post(chall["url"], {})
    client.post(authz_url, None)
    assert False, "the client gave up"


def test_passes(fake_acme):
    MiniClient(fake_acme.directory_url, fake_acme.ca_bundle).register()
"""


def test_transcript_section_off_and_verbose(pytester: pytest.Pytester) -> None:
    _inner_client(pytester)
    pytester.makepyfile(_FAILING_WITH_A_PROBLEM)
    off = pytester.runpytest("--fake-acme-transcript=off")
    off.assert_outcomes(passed=1, failed=1)
    assert "fake-acme transcript" not in off.stdout.str()
    verbose = pytester.runpytest("--fake-acme-transcript=verbose")
    verbose.assert_outcomes(passed=1, failed=1)
    verbose.stdout.fnmatch_lines([
        "*- fake-acme transcript -*",
        "*challenge * pending -> invalid*validation: unauthorized*",
    ])
    # (brackets would be character classes to fnmatch)
    assert 'payload: {"identifiers": [{"type": "dns", "value": "a.example"}]}' in (
        verbose.stdout.str())


def test_transcript_files_per_test(pytester: pytest.Pytester) -> None:
    _inner_client(pytester)
    pytester.makepyfile(_FAILING_WITH_A_PROBLEM)
    folder = pytester.path / "transcripts"
    pytester.runpytest(f"--fake-acme-transcript-dir={folder}").assert_outcomes(
        passed=1, failed=1)
    files = sorted(p.name for p in folder.iterdir())
    assert files == ["test_transcript_files_per_test.py_test_fails.txt",
                     "test_transcript_files_per_test.py_test_passes.txt"]
    assert "POST newAccount -> 201" in (folder / files[1]).read_text()
    assert "pending -> invalid  [validation: unauthorized]" in (folder / files[0]).read_text()


def test_bad_transcript_ini_value(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nfake_acme_transcript = loud\n")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR


# Outcomes scripted and never used

_UNUSED = """
import pytest
from pytest_fakeacme import outcomes
from pytest_fakeacme.demo import MiniClient


def validate(fake, name):
    client = MiniClient(fake.directory_url, fake.ca_bundle)
    client.register()
    order = client.post(client.directory["newOrder"],
                        {"identifiers": [{"type": "dns", "value": name}]}).json()
    authz = client.post(order["authorizations"][0], None).json()
    client.post(authz["challenges"][0]["url"], {})
    return client.post(order["authorizations"][0], None).json()["status"]


@pytest.mark.fake_acme(va_default="valid")
def test_typo(fake_acme):
    fake_acme.va.script("www.exmaple.com", outcomes.http_status(404))
    assert validate(fake_acme, "www.example.com") == "valid"


def test_all_used(fake_acme):
    fake_acme.va.script("www.example.com", outcomes.http_status(404))
    assert validate(fake_acme, "www.example.com") == "invalid"


@pytest.mark.fake_acme(unused_scripts="ignore")
def test_leftovers_allowed(fake_acme):
    fake_acme.va.script("*", outcomes.valid(), outcomes.valid())
"""


def test_outcomes_never_used_are_a_warning_at_the_tests_line(
    pytester: pytest.Pytester,
) -> None:
    _inner_client(pytester)
    pytester.makepyfile(_UNUSED)
    result = pytester.runpytest("-p", "no:randomly", "-W", "default")
    result.assert_outcomes(passed=3, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "*warnings summary*",
            "test_outcomes_never_used_are_a_warning_at_the_tests_line.py::test_typo",
            "  *test_outcomes_never_used_are_a_warning_at_the_tests_line.py:16: "
            "UnusedScriptWarning: scripted outcomes never used: 'www.exmaple.com': "
            "outcomes.http_status(code=404). No validation took them (the names validated "
            "were 'www.example.com'): is each name the one the client orders*",
        ]
    )
    result.stdout.no_fnmatch_line("*test_all_used*")
    result.stdout.no_fnmatch_line("*test_leftovers_allowed*")


def test_outcomes_never_used_can_fail_a_strict_suite(pytester: pytest.Pytester) -> None:
    _inner_client(pytester)
    pytester.makeini("[pytest]\nfake_acme_unused_scripts = error\n")
    pytester.makepyfile(_UNUSED)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_typo*",
            "E   pytest_fakeacme.errors.UnusedScriptError: scripted outcomes never used: "
            "'www.exmaple.com': outcomes.http_status(code=404)*",
            "*- fake-acme transcript -*",
            "*VA http-01 www.example.com (outcomes.valid()): valid",
            "*!! scripted, never used: 'www.exmaple.com': outcomes.http_status(code=404)",
        ]
    )
    result.stdout.no_fnmatch_line("*plugin.py*")
    bad = pytester.makeini("[pytest]\nfake_acme_unused_scripts = loud\n")
    assert bad.exists()
    refused = pytester.runpytest()
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    refused.stderr.fnmatch_lines(
        ["ERROR: pytest-fakeacme: unknown unused_scripts 'loud'; use one of warn, error, ignore"])


def test_outcomes_never_used_at_the_end_of_a_with_block() -> None:
    from pytest_fakeacme import FakeACME, UnusedScriptError, UnusedScriptWarning, outcomes

    unused = r"'a\.example': outcomes\.valid\(\)"
    with pytest.warns(UnusedScriptWarning, match=unused) as seen, FakeACME() as fake:
        fake.va.script("a.example", outcomes.valid())
    assert seen[0].filename == __file__  # the user's `with`, not the library
    with pytest.raises(UnusedScriptError, match="no validation happened at all"), FakeACME(
        unused_scripts="error"
    ) as strict:
        strict.va.script("a.example", outcomes.valid())


# TLS handshakes a client failed

_UNTRUSTING_CLIENT = """
import certifi
import requests


def test_session_verify_overridden_by_the_environment(fake_acme, monkeypatch):
    # The trap: requests lets REQUESTS_CA_BUNDLE override a Session's verify.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    session = requests.Session()
    session.verify = fake_acme.ca_bundle
    session.get(fake_acme.directory_url, timeout=10)
"""


def test_a_client_that_does_not_trust_the_fake_gets_a_report_that_says_so(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(_UNTRUSTING_CLIENT)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E   *SSLError*CERTIFICATE_VERIFY_FAILED*",
            "*- fake-acme transcript -*",
            "* TLS  handshake from 127.0.0.1:* failed: the client does not trust the fake's "
            'certificate (it sent TLS alert "unknown ca"): give it the fake\'s CA bundle',
            "",
            "!! A client failed the TLS handshake with the fake (the TLS line above). A client",
            "   that does not trust the fake must be given fake_acme.ca_bundle:",
            "   - requests: verify=fake_acme.ca_bundle on each call (REQUESTS_CA_BUNDLE and",
            "     CURL_CA_BUNDLE in the environment override a Session's verify)",
            "   - httpx, aiohttp, urllib, asyncio: fake_acme.ssl_context()",
            "*",
            "   REQUESTS_CA_BUNDLE is set here, to *cacert.pem",
        ]
    )


def test_a_client_that_trusts_the_fake_gets_no_such_advice(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        _UNTRUSTING_CLIENT.replace("session.get(", "session.get(verify=fake_acme.ca_bundle, "
                                   "url=").replace("timeout=10)", "timeout=10)\n    assert False")
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*- fake-acme transcript -*", "*GET  directory -> 200"])
    result.stdout.no_fnmatch_line("*TLS handshake*")
    result.stdout.no_fnmatch_line("*!! A client failed*")


# Tests that use only the environment (--fake-acme)

_ENVIRONMENT_ONLY = """
import os
import subprocess
import sys

import pytest
from pytest_fakeacme import outcomes
from pytest_fakeacme.remote import RemoteFake


def test_scripts_through_the_environment():
    fake = RemoteFake.from_env()
    fake.script("x.example", outcomes.http_status(404))
    fake.configure(flavor="rfc")
    assert fake.http01_port == int(os.environ["FAKE_ACME_HTTP01_PORT"])


def test_the_next_one_starts_fresh():
    fake = RemoteFake.from_env()
    va = fake._call("GET", "/va")
    assert va["scripted"] == {}
    assert fake.info()["flavor"] == "boulder"


@pytest.mark.fake_acme(flavor="rfc")
def test_a_marker_configures_the_session_fake():
    assert RemoteFake.from_env().info()["flavor"] == "rfc"


def test_a_subprocess_client_that_fails_gets_a_transcript():
    code = ("import os, urllib.request; "
            "urllib.request.urlopen(os.environ['FAKE_ACME_DIRECTORY_URL'], timeout=10)")
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={**os.environ, "SSL_CERT_FILE": os.devnull})
    assert child.returncode == 0, "the child does not trust the fake"
"""


def test_tests_that_use_only_the_environment_get_a_fresh_fake_each(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(_ENVIRONMENT_ONLY)
    result = pytester.runpytest("--fake-acme", "-p", "no:randomly", "-W", "default")
    result.assert_outcomes(passed=3, failed=1, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_a_subprocess_client_that_fails_gets_a_transcript _*",
            "*AssertionError: the child does not trust the fake",
            "*- fake-acme transcript -*",
            "* TLS  handshake from 127.0.0.1:* failed: the client does not trust the fake's*",
            "*!! A client failed the TLS handshake with the fake*",
        ]
    )
    # The first test's script, left for no one, is a warning of that test, not the next's.
    result.stdout.fnmatch_lines(
        ["*::test_scripts_through_the_environment", "*UnusedScriptWarning: *'x.example'*"])
