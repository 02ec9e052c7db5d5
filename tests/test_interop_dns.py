"""Real CLI clients publish dns-01 records through the fake's DNS server (RFC 2136 + TSIG) and
get wildcard certificates: certbot with certbot-dns-rfc2136, and lego with its rfc2136 provider.

In CI (``CI`` set) a missing client fails the test; elsewhere it is skipped.
"""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path

import pytest

from pytest_fakeacme import FakeACME
from tools import require_binary, verified_leaf

pytestmark = pytest.mark.interop

SECRET = base64.b64encode(b"fake-acme-tsig-secret-0123456789").decode()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    env.update(extra)
    return env


def test_certbot_dns_rfc2136_gets_a_wildcard(fake_acme: FakeACME, tmp_path: Path) -> None:
    certbot = require_binary("certbot")
    fake_acme.dns.add_tsig_key("acme-key", SECRET)
    assert fake_acme.dns.address is not None
    host, port = fake_acme.dns.address
    creds = tmp_path / "rfc2136.ini"
    creds.write_text(
        f"dns_rfc2136_server = {host}\ndns_rfc2136_port = {port}\n"
        f"dns_rfc2136_name = acme-key.\ndns_rfc2136_secret = {SECRET}\n"
        "dns_rfc2136_algorithm = HMAC-SHA256\n"
    )
    creds.chmod(0o600)
    result = subprocess.run(
        [certbot, "certonly", "--non-interactive", "--agree-tos", "-m", "ops@a.example",
         "--server", fake_acme.directory_url, "--dns-rfc2136",
         "--dns-rfc2136-credentials", str(creds), "--dns-rfc2136-propagation-seconds", "0",
         "-d", "*.example.com", "--config-dir", str(tmp_path / "conf"),
         "--work-dir", str(tmp_path / "work"), "--logs-dir", str(tmp_path / "logs")],
        env=_env(REQUESTS_CA_BUNDLE=fake_acme.ca_bundle),
        capture_output=True, text=True, timeout=180, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    pem = (tmp_path / "conf" / "live" / "example.com" / "fullchain.pem").read_bytes()
    verified_leaf(fake_acme, pem, "*.example.com")
    [attempt] = fake_acme.journal.validations("*.example.com")
    assert (attempt.challenge_type, attempt.problem) == ("dns-01", None)
    # certbot removed its record again, through an RFC 2136 delete.
    assert fake_acme.dns.lookup_txt("_acme-challenge.example.com") == []


def test_lego_rfc2136_gets_a_wildcard(fake_acme: FakeACME, tmp_path: Path) -> None:
    lego = require_binary("lego")
    fake_acme.dns.add_tsig_key("acme-key", SECRET)
    assert fake_acme.dns.address is not None
    host, port = fake_acme.dns.address
    result = subprocess.run(
        [lego, "--server", fake_acme.directory_url, "--email", "ops@a.example",
         "--accept-tos", "--dns", "rfc2136", "--dns.resolvers", f"{host}:{port}",
         "--dns.disable-cp", "--domains", "*.example.com", "--path", str(tmp_path), "run"],
        env=_env(
            LEGO_CA_CERTIFICATES=fake_acme.ca_bundle,
            RFC2136_NAMESERVER=f"{host}:{port}",
            RFC2136_TSIG_KEY="acme-key",
            RFC2136_TSIG_SECRET=SECRET,
            RFC2136_TSIG_ALGORITHM="hmac-sha256.",
            RFC2136_PROPAGATION_TIMEOUT="10",
            RFC2136_POLLING_INTERVAL="1",
        ),
        capture_output=True, text=True, timeout=180, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    pem = (tmp_path / "certificates" / "_.example.com.crt").read_bytes()
    verified_leaf(fake_acme, pem, "*.example.com")
    assert fake_acme.dns.lookup_txt("_acme-challenge.example.com") == []
