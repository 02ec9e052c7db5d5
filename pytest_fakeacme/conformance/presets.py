"""Presets: the command lines of well-known clients, as their users run them against Let's
Encrypt (``--client certbot``). Each is a :class:`~pytest_fakeacme.conformance.clients.
CommandClient` with the case's values as placeholders, what it needs written into its working
directory first, the command its scheduled renewal runs, and how to ask its version.

What the interop tests learned applies: certbot and lego bind the http-01 port themselves
(``--standalone``, ``--http``); acme-tiny and dehydrated write into a webroot the runner
serves; ``lego renew`` needs ``--no-random-sleep``; acme-tiny's own check of the token goes
through the machine's resolver, so it runs with ``--disable-check``.
"""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from .clients import CommandClient, Http01Mode
from .situations import Target

EMAIL = "ops@a.example"


@dataclass(frozen=True)
class Preset:
    """A well-known client's command line."""

    name: str
    #: The executable, looked up on PATH.
    binary: str
    argv: tuple[str, ...]
    http01: Http01Mode
    #: The command of a later run (its scheduled renewal); None: ``argv`` again.
    renew: tuple[str, ...] | None = None
    prepare: Callable[[Target], None] | None = None
    version: Callable[[str], str] | None = None
    #: How the client trusts the fake, for the docs (every trust variable is set anyway).
    trust: str = ""

    def installed(self) -> str | None:
        """The executable's path, or None when it is not installed."""
        return shutil.which(self.binary)

    def client(self) -> CommandClient:
        """The client to hand to the runner (the executable resolved on PATH)."""
        path = self.installed() or self.binary
        return CommandClient(self.name, (path, *self.argv[1:]), self.http01,
                             (path, *self.renew[1:]) if self.renew else None, self.prepare)

    def client_version(self) -> str:
        """The installed client's version, as it reports it ("" when unknown)."""
        path = self.installed()
        if path is None or self.version is None:
            return ""
        return self.version(path)


def _output(*argv: str) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False,
                              stdin=subprocess.DEVNULL)
    except OSError:
        return ""
    return done.stdout + done.stderr


def _reported(pattern: str) -> Callable[[str], str]:
    def version(path: str) -> str:
        found = re.search(pattern, _output(path, "--version"))
        return found.group(1) if found else ""
    return version


def _lego_version(path: str) -> str:
    found = re.search(r"lego version (\S+)", _output(path, "--version"))
    if found and found.group(1) != "dev":
        return found.group(1)
    # Debian builds lego without a version stamp ("dev"): the package's version, without its
    # Debian revision.
    text = _output("dpkg-query", "-W", "-f=${Version}", "lego").strip()
    return re.sub(r"-[^-]*$", "", text)


def _acme_tiny_version(path: str) -> str:
    # acme-tiny has no --version; it is the Python package of that name.
    try:
        return importlib.metadata.version("acme-tiny")
    except importlib.metadata.PackageNotFoundError:
        return ""


def _write_once(path: Path, make: Callable[[], bytes], mode: int = 0o600) -> None:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(make())
        path.chmod(mode)


def _acme_tiny_files(target: Target) -> None:
    """An RSA account key (acme-tiny needs RSA) kept for the case, and a CSR for the domain."""
    def account() -> bytes:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return key.private_bytes(serialization.Encoding.PEM,
                                 serialization.PrivateFormat.TraditionalOpenSSL,
                                 serialization.NoEncryption())

    def csr() -> bytes:
        key = ec.generate_private_key(ec.SECP256R1())
        request = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, target.domain)]))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(target.domain)]),
                           critical=False)
            .sign(key, hashes.SHA256())
        )
        return request.public_bytes(serialization.Encoding.PEM)

    _write_once(target.workdir / "account.key", account)
    _write_once(target.workdir / "domain.csr", csr, 0o644)


DEHYDRATED_HOOK = """#!/bin/sh
# dehydrated's http-01 hook: publish the key authorization in the served webroot.
case "$1" in
  deploy_challenge) printf '%s' "$4" > "{challenges}/$3" ;;
  clean_challenge) rm -f "{challenges}/$3" ;;
esac
"""

DEHYDRATED_CONFIG = """CA="{directory}"
CHALLENGETYPE="http-01"
BASEDIR="{base}"
WELLKNOWN="{base}/wellknown"
HOOK="{base}/hook.sh"
CONTACT_EMAIL="{email}"
KEYSIZE="2048"
KEY_ALGO="prime256v1"
"""


def _dehydrated_files(target: Target) -> None:
    """dehydrated's configuration and its http-01 hook, in the case's working directory."""
    base = target.workdir / "dehydrated"
    # WELLKNOWN must exist, but nothing serves it: the hook alone publishes the token.
    (base / "wellknown").mkdir(parents=True, exist_ok=True)
    _write_once(base / "hook.sh", lambda: DEHYDRATED_HOOK.replace(
        "{challenges}", str(target.challenge_dir)).encode(), 0o755)
    _write_once(base / "config", lambda: DEHYDRATED_CONFIG.format(
        directory=target.directory_url, base=base, email=EMAIL).encode(), 0o644)


_CERTBOT = ("certbot", "certonly", "--non-interactive", "--agree-tos", "-m", EMAIL,
            "--server", "{directory}", "-d", "{domain}", "--config-dir", "{workdir}/conf",
            "--work-dir", "{workdir}/work", "--logs-dir", "{workdir}/logs")
_LEGO = ("lego", "--server", "{directory}", "--email", EMAIL, "--accept-tos", "--http",
         "--http.port", "127.0.0.1:{http01_port}", "--domains", "{domain}",
         "--path", "{workdir}/lego")

PRESETS: dict[str, Preset] = {p.name: p for p in (
    # certbot certonly run again is its renewal: it keeps a certificate until it is due,
    # asking ARI first.
    Preset("certbot", "certbot", (*_CERTBOT, "--standalone", "--http-01-address", "127.0.0.1",
                                  "--http-01-port", "{http01_port}"),
           "standalone", version=_reported(r"certbot (\S+)"), trust="REQUESTS_CA_BUNDLE"),
    Preset("certbot-webroot", "certbot", (*_CERTBOT, "--webroot", "-w", "{webroot}"),
           "webroot", version=_reported(r"certbot (\S+)"), trust="REQUESTS_CA_BUNDLE"),
    Preset("lego", "lego", (*_LEGO, "run"), "standalone",
           renew=(*_LEGO, "renew", "--no-random-sleep"), version=_lego_version,
           trust="LEGO_CA_CERTIFICATES"),
    Preset("acme-tiny", "acme-tiny",
           ("acme-tiny", "--account-key", "{workdir}/account.key", "--csr",
            "{workdir}/domain.csr", "--acme-dir", "{challenge_dir}", "--directory-url",
            "{directory}", "--contact", f"mailto:{EMAIL}", "--disable-check"),
           "webroot", prepare=_acme_tiny_files, version=_acme_tiny_version,
           trust="SSL_CERT_FILE"),
    Preset("dehydrated", "dehydrated",
           ("dehydrated", "--config", "{workdir}/dehydrated/config", "--cron",
            "--accept-terms", "--domain", "{domain}"),
           "webroot", prepare=_dehydrated_files,
           version=_reported(r"Dehydrated version: (\S+)"), trust="CURL_CA_BUNDLE"),
)}
