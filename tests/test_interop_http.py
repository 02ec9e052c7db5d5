"""Real ACME CLI clients against the fake over http-01: certbot (``--standalone`` and
``--webroot``), acme-tiny, lego and dehydrated each obtain a certificate that verifies against the
fake's roots, renew it on the same account, and fail cleanly (non-zero exit, the fake's problem
detail in their output) when the fake scripts a 404, a connect timeout or a read timeout.

docs/interop.md holds the table of clients, versions and what passes; the last test checks it
against the clients and versions tested here, so it cannot drift.

In CI (``CI`` set) a missing client fails the test; elsewhere it is skipped.
"""

from __future__ import annotations

import functools
import http.server
import importlib.metadata
import os
import re
import subprocess
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from pytest_fakeacme import FakeACME, outcomes
from pytest_fakeacme.conformance.presets import DEHYDRATED_CONFIG, DEHYDRATED_HOOK
from pytest_fakeacme.outcomes import Outcome
from responder import unused_port
from tools import require_binary, verified_leaf

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = "www.example.com"
EMAIL = "ops@a.example"
#: Every variable through which a client could pick up trust from this machine; each client
#: gets exactly one of them, pointing at the fake's bundle.
TRUST_VARIABLES = (
    "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR",
    "LEGO_CA_CERTIFICATES",
)
#: A client run polls with real sleeps (Retry-After, fixed intervals): seconds, not minutes.
RUN_TIMEOUT = 120

#: What each failure test scripts, and how the fake's detail ends for it.
FAILURES: dict[str, tuple[Callable[[], Outcome], str]] = {
    "404": (lambda: outcomes.http_status(404), ": 404"),
    "connect timeout": (outcomes.connect_timeout,
                        ": Timeout during connect (likely firewall problem)"),
    "read timeout": (outcomes.read_timeout,
                     ": Timeout after connect (your server may be slow or overloaded)"),
}
#: Every scenario each client runs, in the order of docs/interop.md's "passes" column.
SCENARIOS = ("issue and renew", *FAILURES)
#: (client, scenario) -> reason, for a client that works against Let's Encrypt but not against
#: the fake: the test is marked xfail(strict=True) and the table leaves the scenario out.
KNOWN_FAKE_BUGS: dict[tuple[str, str], str] = {}


def _env(**trust: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in TRUST_VARIABLES}
    env.update(trust)
    return env


@dataclass(frozen=True)
class Run:
    """One run of a client: exit status and everything it printed."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """What a user sees: stdout, then stderr."""
        return self.stdout + self.stderr

    def __str__(self) -> str:
        return f"$ {' '.join(self.argv)}\nexit status {self.returncode}\n{self.output}"


def _run(argv: list[str], env: dict[str, str], cwd: Path) -> Run:
    result = subprocess.run(
        argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=RUN_TIMEOUT, check=False,
    )
    return Run(argv, result.returncode, result.stdout, result.stderr)


class _QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class StaticServer:
    """A plain static file server for a webroot, on a free loopback port: what a webroot
    client's web server would be."""

    def __init__(self, webroot: Path) -> None:
        self.webroot = webroot
        self.challenges = webroot / ".well-known" / "acme-challenge"
        self.challenges.mkdir(parents=True)
        handler = functools.partial(_QuietFiles, directory=str(webroot))
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class Client(ABC):
    """One ACME client as a user runs it against the fake: obtain, renew, find the chain."""

    #: The row's name in docs/interop.md.
    name: ClassVar[str]
    #: The executable on PATH.
    binary: ClassVar[str]
    #: Whether the client answers http-01 itself (else it writes files into a webroot that a
    #: static server publishes).
    standalone: ClassVar[bool] = False

    def __init__(self, fake: FakeACME, workdir: Path, webroot: StaticServer | None) -> None:
        self.fake = fake
        self.workdir = workdir
        self.webroot = webroot
        self.path = require_binary(self.binary)

    @abstractmethod
    def obtain(self, domain: str) -> Run:
        """Get a first certificate for ``domain`` (registering the account)."""

    @abstractmethod
    def renew(self, domain: str) -> Run:
        """Get the next certificate for ``domain``, as the client's renewal does."""

    @abstractmethod
    def fullchain(self, domain: str) -> bytes:
        """The PEM chain the client saved for ``domain``."""

    def run(self, *args: str, **trust: str) -> Run:
        return _run([self.path, *args], _env(**trust), self.workdir)


class _Certbot(Client):
    binary = "certbot"

    def _common(self) -> list[str]:
        return [
            "--non-interactive", "--config-dir", str(self.workdir / "conf"),
            "--work-dir", str(self.workdir / "work"), "--logs-dir", str(self.workdir / "logs"),
        ]

    @abstractmethod
    def _authenticator(self) -> list[str]: ...

    def obtain(self, domain: str) -> Run:
        return self.run(
            "certonly", *self._common(), "--agree-tos", "-m", EMAIL,
            "--server", self.fake.directory_url, *self._authenticator(), "-d", domain,
            REQUESTS_CA_BUNDLE=self.fake.ca_bundle,
        )

    def renew(self, domain: str) -> Run:
        # The server and the authenticator come from the lineage's renewal configuration.
        return self.run(
            "renew", *self._common(), "--cert-name", domain, "--force-renewal",
            "--no-random-sleep-on-renew", REQUESTS_CA_BUNDLE=self.fake.ca_bundle,
        )

    def fullchain(self, domain: str) -> bytes:
        return (self.workdir / "conf" / "live" / domain / "fullchain.pem").read_bytes()


class CertbotStandalone(_Certbot):
    name = "certbot --standalone"
    standalone = True

    def _authenticator(self) -> list[str]:
        return ["--standalone", "--http-01-address", "127.0.0.1",
                "--http-01-port", str(self.fake.http01_port)]


class CertbotWebroot(_Certbot):
    name = "certbot --webroot"

    def _authenticator(self) -> list[str]:
        assert self.webroot is not None
        return ["--webroot", "-w", str(self.webroot.webroot)]


class AcmeTiny(Client):
    name = "acme-tiny"
    binary = "acme-tiny"

    def __init__(self, fake: FakeACME, workdir: Path, webroot: StaticServer | None) -> None:
        super().__init__(fake, workdir, webroot)
        account = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (workdir / "account.key").write_bytes(account.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ))

    def _csr(self, domain: str) -> Path:
        key = ec.generate_private_key(ec.SECP256R1())
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)]))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
            .sign(key, hashes.SHA256())
        )
        path = self.workdir / f"{domain}.csr"
        path.write_bytes(csr.public_bytes(serialization.Encoding.PEM))
        return path

    def obtain(self, domain: str) -> Run:
        assert self.webroot is not None
        # --disable-check: acme-tiny's self-check fetches http://<domain>/ through this
        # machine's resolver, where the example names do not exist (the fake's VA resolves
        # every name to 127.0.0.1).
        run = self.run(
            "--account-key", str(self.workdir / "account.key"), "--csr", str(self._csr(domain)),
            "--acme-dir", str(self.webroot.challenges), "--directory-url",
            self.fake.directory_url, "--contact", f"mailto:{EMAIL}", "--disable-check",
            SSL_CERT_FILE=self.fake.ca_bundle,
        )
        if run.returncode == 0:
            # acme-tiny writes the chain on stdout, its log on stderr.
            (self.workdir / f"{domain}.crt").write_text(run.stdout)
        return run

    def renew(self, domain: str) -> Run:
        # acme-tiny has no state of its own: renewing is running it again with the same
        # account key (the fake answers newAccount with the existing account).
        return self.obtain(domain)

    def fullchain(self, domain: str) -> bytes:
        return (self.workdir / f"{domain}.crt").read_bytes()


class Lego(Client):
    name = "lego"
    binary = "lego"
    standalone = True

    def _common(self, domain: str) -> list[str]:
        return [
            "--server", self.fake.directory_url, "--email", EMAIL, "--accept-tos",
            "--http", "--http.port", f"127.0.0.1:{self.fake.http01_port}",
            "--domains", domain, "--path", str(self.workdir / "lego"),
        ]

    def obtain(self, domain: str) -> Run:
        return self.run(*self._common(domain), "run", LEGO_CA_CERTIFICATES=self.fake.ca_bundle)

    def renew(self, domain: str) -> Run:
        # --days 100: more than the 90-day lifetime, so lego renews now.
        return self.run(*self._common(domain), "renew", "--days", "100", "--no-random-sleep",
                        LEGO_CA_CERTIFICATES=self.fake.ca_bundle)

    def fullchain(self, domain: str) -> bytes:
        return (self.workdir / "lego" / "certificates" / f"{domain}.crt").read_bytes()


class Dehydrated(Client):
    name = "dehydrated"
    binary = "dehydrated"

    def __init__(self, fake: FakeACME, workdir: Path, webroot: StaticServer | None) -> None:
        super().__init__(fake, workdir, webroot)
        assert webroot is not None
        base = workdir / "dehydrated"
        # WELLKNOWN must exist, but nothing serves it: the hook alone publishes the token.
        (base / "wellknown").mkdir(parents=True)
        hook = base / "hook.sh"
        hook.write_text(DEHYDRATED_HOOK.format(challenges=webroot.challenges))
        hook.chmod(0o755)
        self.config = base / "config"
        self.config.write_text(DEHYDRATED_CONFIG.format(
            directory=fake.directory_url, base=base, email=EMAIL))

    def _run(self, *args: str) -> Run:
        return self.run("--config", str(self.config), *args, CURL_CA_BUNDLE=self.fake.ca_bundle)

    def obtain(self, domain: str) -> Run:
        # With --accept-terms, the first --cron registers the account too.
        return self._run("--cron", "--accept-terms", "--domain", domain)

    def renew(self, domain: str) -> Run:
        return self._run("--cron", "--force", "--domain", domain)

    def fullchain(self, domain: str) -> bytes:
        return (self.workdir / "dehydrated" / "certs" / domain / "fullchain.pem").read_bytes()


CLIENTS: dict[str, type[Client]] = {
    c.name: c for c in (CertbotStandalone, CertbotWebroot, AcmeTiny, Lego, Dehydrated)
}


def _params(scenarios: tuple[str, ...]) -> list[Any]:
    """(client, scenario) pairs; a known fake bug is marked xfail(strict=True)."""
    return [
        pytest.param(
            client, scenario, id=f"{client}-{scenario}".replace(" ", "_"),
            marks=[pytest.mark.xfail(strict=True, reason=KNOWN_FAKE_BUGS[(client, scenario)])]
            if (client, scenario) in KNOWN_FAKE_BUGS else [],
        )
        for client in CLIENTS for scenario in scenarios
    ]


@pytest.fixture
def make_client(fake_acme: FakeACME, tmp_path: Path) -> Iterator[Callable[[str], Client]]:
    """Build a client by name, with the fake's http01_port pointing at what answers for it."""
    servers: list[StaticServer] = []

    def make(name: str) -> Client:
        cls = CLIENTS[name]
        webroot = None
        if cls.standalone:
            # The client binds the port itself. Not the fake's first port: the suite's session
            # responder may hold it (reset() restores it after the test).
            fake_acme.http01_port = unused_port()
        else:
            webroot = StaticServer(tmp_path / "webroot")
            servers.append(webroot)
            fake_acme.http01_port = webroot.port
        workdir = tmp_path / "client"
        workdir.mkdir()
        return cls(fake_acme, workdir, webroot)

    yield make
    for server in servers:
        server.close()


@pytest.mark.parametrize(("client_name", "scenario"), _params(SCENARIOS[:1]))
def test_client_obtains_and_renews(
    make_client: Callable[[str], Client], fake_acme: FakeACME, client_name: str, scenario: str
) -> None:
    client = make_client(client_name)

    first = client.obtain(DOMAIN)
    assert first.returncode == 0, str(first)
    leaf = verified_leaf(fake_acme, client.fullchain(DOMAIN), DOMAIN)
    [attempt] = fake_acme.journal.validations(DOMAIN)
    # A real http-01 validation of what the client published, not a scripted pass.
    assert (attempt.challenge_type, attempt.outcome, attempt.problem) == (
        "http-01", "outcomes.real()", None)

    second = client.renew(DOMAIN)
    assert second.returncode == 0, str(second)
    renewed = verified_leaf(fake_acme, client.fullchain(DOMAIN), DOMAIN)
    assert renewed.serial_number != leaf.serial_number
    # Two orders, two certificates, one account: the renewal reused the account.
    [account] = fake_acme.accounts
    assert [o.account_id for o in fake_acme.orders] == [account.id, account.id]
    assert [c.serial for c in fake_acme.certificates] == [
        leaf.serial_number, renewed.serial_number]
    assert {c.account_id for c in fake_acme.certificates} == {account.id}


@pytest.mark.parametrize(("client_name", "scenario"), _params(tuple(FAILURES)))
def test_client_fails_cleanly(
    make_client: Callable[[str], Client], fake_acme: FakeACME, client_name: str, scenario: str
) -> None:
    client = make_client(client_name)
    outcome, ending = FAILURES[scenario]
    fake_acme.va.script(DOMAIN, outcome())

    run = client.obtain(DOMAIN)

    [attempt] = fake_acme.journal.validations(DOMAIN)
    assert attempt.problem is not None
    detail = attempt.problem.detail
    assert detail.endswith(ending)
    assert [c.error.detail for c in fake_acme.challenges if c.error] == [detail]
    assert run.returncode != 0, str(run)
    assert detail in run.output, str(run)
    assert fake_acme.certificates == []


# docs/interop.md: the table must name the clients tested here, at the versions installed.

@functools.cache
def _version(binary: str) -> str:
    """The installed client's version, as the client reports it."""
    path = require_binary(binary)
    if binary == "acme-tiny":
        # acme-tiny has no --version; it is the PyPI package of that name.
        return importlib.metadata.version("acme-tiny")
    text = _run([path, "--version"], _env(), ROOT).output
    if binary == "lego":
        reported = re.search(r"lego version (\S+)", text)
        assert reported is not None, text
        if reported.group(1) != "dev":
            return reported.group(1)
        # Debian builds lego without a version stamp ("dev"): the package's version it is.
        text = _run(["dpkg-query", "-W", "-f=${Version}", "lego"], _env(), ROOT).output
        return re.sub(r"-[^-]*$", "", text.strip())
    match = re.search(
        {"certbot": r"certbot (\S+)", "dehydrated": r"Dehydrated version: (\S+)"}[binary], text)
    assert match is not None, text
    return match.group(1)


def _table(markdown: str) -> dict[str, tuple[str, str]]:
    """docs/interop.md's client table: client -> (version, passes)."""
    rows: dict[str, tuple[str, str]] = {}
    lines = iter(markdown.splitlines())
    for line in lines:
        if re.match(r"\|\s*client\s*\|\s*version\s*\|\s*passes\s*\|", line):
            next(lines)  # the |---| line
            for row in lines:
                if not row.startswith("|"):
                    break
                cells = [c.strip().strip("`") for c in row.strip().strip("|").split("|")]
                rows[cells[0]] = (cells[1], cells[2])
            break
    return rows


def _passes(client: str) -> str:
    return ", ".join(s for s in SCENARIOS if (client, s) not in KNOWN_FAKE_BUGS)


def test_docs_table_matches_the_clients_tested() -> None:
    documented = _table((ROOT / "docs" / "interop.md").read_text(encoding="utf-8"))
    assert list(documented) == list(CLIENTS), "docs/interop.md's table must list every client"
    expected = {name: (_version(cls.binary), _passes(name)) for name, cls in CLIENTS.items()}
    regenerated = "\n".join(f"| `{n}` | {v} | {p} |" for n, (v, p) in expected.items())
    assert {n: row[:2] for n, row in documented.items()} == expected, (
        "docs/interop.md is out of date; its rows should start:\n" + regenerated
    )
