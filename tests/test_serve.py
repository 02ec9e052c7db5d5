"""``serve`` as Pebble's stand-in: settings from ``--set`` and ``FAKE_ACME_<NAME>``, Pebble's
``PEBBLE_*`` knobs, both management ports; and, in process, what the drop-in relies on:
URLs from the request's ``Host``, the fake's own tls-alpn-01 responder for IP identifiers,
settings as text through the management API."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import josepy as jose
import pytest
import requests
from cryptography import x509

from client import AcmeTestClient, answer, make_ip_csr, pick_challenge
from jwsclient import RawClient
from pytest_fakeacme import FakeACME
from pytest_fakeacme.__main__ import pebble_knobs

_ENV = {k: v for k, v in os.environ.items()
        if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE") and not k.startswith(
            ("PEBBLE_", "FAKE_ACME_"))}
_FREE = ["--port", "0", "--http01-port", "0", "--tls-alpn01-port", "0", "--https-port", "0",
         "--dns-port", "0", "--management-port", "0", "--https-management-port", "0", "--json"]


@pytest.fixture
def served(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """``serve`` started with the marker's ``args`` and ``env``; its printed addresses."""
    marker = request.node.get_closest_marker("serve")
    args, env = (marker.kwargs.get("args", []), marker.kwargs.get("env", {})) if marker else (
        [], {})
    proc = subprocess.Popen([sys.executable, "-m", "pytest_fakeacme", "serve", *_FREE, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**_ENV, **env})
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "serve printed nothing"
        yield json.loads(proc.stdout.readline())
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


def _get(info: dict[str, Any], path: str) -> requests.Response:
    return requests.get(info["management_http"] + path, timeout=10)


@pytest.mark.serve(
    args=["--set", "default_profile=tlsserver", "--set", "order_lifetime=2d", "--alternate-roots",
          "1"],
    env={"FAKE_ACME_FINALIZE_RETRY_AFTER": "7", "FAKE_ACME_DEFAULT_PROFILE": "shortlived"},
)
def test_settings_come_from_set_and_the_environment(served: dict[str, Any]) -> None:
    settings = _get(served, "/settings").json()
    assert settings["default_profile"] == "tlsserver"  # --set wins over FAKE_ACME_<NAME>
    assert settings["order_lifetime"] == 2 * 86400
    assert settings["finalize_retry_after"] == 7
    https = requests.get(served["management_https"] + "/roots/1", verify=served["ca_bundle"],
                         timeout=10)
    assert https.status_code == 200
    assert requests.get(served["management_https"] + "/roots/2", verify=served["ca_bundle"],
                        timeout=10).status_code == 404


@pytest.mark.serve(env={
    "PEBBLE_VA_NOSLEEP": "1", "PEBBLE_VA_ALWAYS_VALID": "true", "PEBBLE_AUTHZREUSE": "0",
    "PEBBLE_WFE_NONCEREJECT": "25", "PEBBLE_WFE_ORDERS_PER_PAGE": "2",
    "PEBBLE_ALTERNATE_ROOTS": "2", "PEBBLE_CHAIN_LENGTH": "2",
})
def test_pebble_environment_knobs_are_honoured(served: dict[str, Any]) -> None:
    settings = _get(served, "/settings").json()
    assert (settings["authz_reuse"], settings["orders_page_size"]) == (False, 2)
    assert _get(served, "/va").json()["default"] == {"kind": "valid", "params": {}}
    [fault] = _get(served, "/faults").json()["faults"]  # a seeded share of nonces refused
    assert fault["problem"]["type"] == "urn:ietf:params:acme:error:badNonce"
    assert fault["times"] is None
    verify = served["ca_bundle"]
    base = served["management_https"]
    assert requests.get(base + "/roots/2", verify=verify, timeout=10).status_code == 200
    # Two intermediates: the leaf-signing one is issued by the other, not by the root.
    root = x509.load_pem_x509_certificate(
        requests.get(base + "/roots/0", verify=verify, timeout=10).content)
    leaf_signer = x509.load_pem_x509_certificate(
        requests.get(base + "/intermediates/0", verify=verify, timeout=10).content)
    assert leaf_signer.issuer != root.subject


@pytest.mark.parametrize(
    ("env", "knobs"),
    [
        ({}, {}),
        ({"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_VA_SLEEPTIME": "3"}, {}),  # the fake never sleeps
        ({"PEBBLE_VA_ALWAYS_VALID": "yes"}, {}),  # only Pebble's truthy strings count
        ({"PEBBLE_VA_ALWAYS_VALID": "TRUE"}, {"va_default": "valid"}),
        ({"PEBBLE_AUTHZREUSE": "100"}, {"authz_reuse": True}),
        ({"PEBBLE_AUTHZREUSE": "0"}, {"authz_reuse": False}),
        ({"PEBBLE_AUTHZREUSE": "101"}, {}),  # out of range: Pebble keeps its 50
        ({"PEBBLE_WFE_NONCEREJECT": "0"}, {}),
        ({"PEBBLE_WFE_NONCEREJECT": "abc"}, {"faults": ["nonce_reject_rate 0.05"]}),
        ({"PEBBLE_WFE_NONCEREJECT": "150"}, {"faults": ["nonce_reject_rate 1"]}),
        ({"PEBBLE_WFE_NONCEREJECT": "100"}, {"faults": ["nonce_reject_rate 1"]}),
        ({"PEBBLE_WFE_NONCEREJECT": "99"}, {"faults": ["nonce_reject_rate 0.99"]}),
        ({"PEBBLE_WFE_ORDERS_PER_PAGE": "0"}, {}),
        ({"PEBBLE_ALTERNATE_ROOTS": "-1", "PEBBLE_CHAIN_LENGTH": "3"}, {"intermediates": 3}),
    ],
)
def test_pebble_knobs_map_as_pebble_reads_them(env: dict[str, str], knobs: dict[str, Any]
                                               ) -> None:
    # va/va.go, wfe/wfe.go and cmd/pebble/main.go: which strings count, ranges and clamps.
    assert pebble_knobs(env) == knobs


def test_a_bad_setting_is_a_clear_exit() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest_fakeacme", "serve", *_FREE, "--set", "order_reuse=maybe"],
        capture_output=True, text=True, timeout=60, env=_ENV, check=False,
    )
    assert result.returncode == 2
    assert "setting order_reuse takes bool" in result.stderr
    unknown = subprocess.run(
        [sys.executable, "-m", "pytest_fakeacme", "serve", *_FREE, "--set", "colour=blue"],
        capture_output=True, text=True, timeout=60, env=_ENV, check=False,
    )
    assert (unknown.returncode, "unknown setting 'colour'" in unknown.stderr) == (2, True)


# In process.


def test_every_url_follows_the_host_the_client_used(fake_acme: FakeACME) -> None:
    local = fake_acme.directory_url.replace("127.0.0.1", "localhost")
    directory = requests.get(local, verify=fake_acme.ca_bundle, timeout=10).json()
    base = local.rsplit("/", 1)[0]
    assert all(directory[k].startswith(base) for k in ("newNonce", "newAccount", "newOrder"))
    raw = RawClient(fake_acme)
    raw.directory = directory  # the client found the fake as localhost
    account = raw.register()
    assert account.headers["Location"].startswith(base + "/acme/acct/")
    assert f'<{base}/directory>;rel="index"' in account.headers["Link"]
    order = raw.post(raw.directory["newOrder"],
                     {"identifiers": [{"type": "dns", "value": "a.example"}]})
    assert order.status_code == 201, order.text  # the kid names the account under localhost
    assert order.json()["finalize"].startswith(base)
    assert all(url.startswith(base) for url in order.json()["authorizations"])


@pytest.mark.fake_acme(default_profile="shortlived")  # the profile that allows IP addresses
def test_the_fakes_own_tls_alpn01_responder_answers_an_ip_identifier(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    # RFC 8738 6: the SNI is the reverse-DNS name; the responder answers with the IP as SAN.
    order = acme_client.acme.new_order(make_ip_csr("127.0.0.1"))
    challb = pick_challenge(order.authorizations[0], "tls-alpn-01")
    token = challb.to_partial_json()["token"]
    key_authorization = f"{token}.{jose.b64encode(acme_client.key.thumbprint()).decode()}"
    mgmt = fake_acme.management_url
    assert requests.post(mgmt + "/add-tlsalpn01", json={
        "host": "1.0.0.127.in-addr.arpa", "content": key_authorization,
    }, verify=fake_acme.ca_bundle, timeout=10).status_code == 200
    answer(acme_client, challb)
    finished = acme_client.poll_and_finalize(order)
    assert finished.fullchain_pem


def test_settings_as_text_and_the_loopback_permission_through_the_management_api(
    fake_acme: FakeACME,
) -> None:
    mgmt, verify = fake_acme.management_url, fake_acme.ca_bundle
    changed = requests.post(mgmt + "/settings", json={"authz_reuse": "false",
                                                      "order_lifetime": "12h",
                                                      "pending_authz_lifetime": 60},
                            verify=verify, timeout=10)
    assert changed.status_code == 200
    assert (fake_acme.settings.authz_reuse, fake_acme.settings.order_lifetime.total_seconds(),
            fake_acme.settings.pending_authz_lifetime.total_seconds()) == (False, 43200, 60)
    shown = requests.get(mgmt + "/settings", verify=verify, timeout=10).json()
    assert (shown["authz_reuse"], shown["order_lifetime"]) == (False, 43200)
    refused = requests.post(mgmt + "/settings", json={"authz_reuse": "sometimes"},
                            verify=verify, timeout=10)
    assert refused.status_code == 400
    assert "takes bool" in refused.json()["error"]
    assert requests.post(mgmt + "/dns/allow-non-loopback", json={"allow": True}, verify=verify,
                         timeout=10).json() == {"allow": True}
    assert fake_acme.dns.allow_non_loopback is True


@pytest.mark.serve(args=["--set", "rate_limits=true", "--set", "policy_date=2028-02-16",
                         "--set", "dns_persist_01=true", "--set", "crl_update_interval=2h",
                         "--set", "retry_after_format=date", "--set", "require_user_agent=true"])
def test_the_settings_of_limits_profiles_and_the_2026_surface(served: dict[str, Any]) -> None:
    settings = _get(served, "/settings").json()
    assert {name: settings[name] for name in (
        "rate_limits", "policy_date", "dns_persist_01", "crl_update_interval",
        "retry_after_format", "require_user_agent")} == {
        "rate_limits": True, "policy_date": "2028-02-16", "dns_persist_01": True,
        "crl_update_interval": 7200.0, "retry_after_format": "date",
        "require_user_agent": True}
    assert settings["profiles"]["classic"]["validity"] == 45 * 86400
    assert _get(served, "/limits").json()["on"] is True
