#!/usr/bin/env python
"""Benchmarks: pytest-fakeacme against Pebble and against the transport floor.

Run from the repository root::

    python benchmarks/bench.py                    # full run, most of it the 10,000-issuance
                                                  # memory run
    python benchmarks/bench.py --issuances 3000   # the same, 3,000 for memory
    python benchmarks/bench.py --quick            # fewer repetitions, 1,000 for memory

Measured side by side in one run, medians over repeated runs, printed as a table with ratios
and the targets (start-up within 30 ms and at least 20x faster than Pebble; ``reset()`` within
1 ms; an issuance no slower than Pebble and within 1.3x the floor; memory bounded when the fake
is reset every 1,000 issuances):

1. start-up: a fresh ``FakeACME()`` (keys included) until its directory answers over HTTPS,
   against the Debian ``pebble`` binary started as a subprocess until its ``/dir`` answers;
2. ``reset()`` of a fake that holds state;
3. one full issuance with certbot's ``acme`` library (ES256 account, P-256 certificate key,
   http-01 answered by an in-process responder, HTTPS with ``verify=`` the CA bundle, account
   reused, polling without sleeping), against the fake and against Pebble (sleeps off, authz
   reuse off, so that every issuance validates);
4. the transport floor: the same client code making the same HTTPS round trips to a werkzeug
   server on loopback (the fake's own server class and handler: persistent connections, TLS,
   TCP_NODELAY) that replays bytes recorded from the fake and does nothing else;
5. throughput with 1 and 4 client threads, and N issuances in one process with RSS sampled.

Then a cProfile of the fake's server-side work per issuance (the WSGI application, in the
connection threads, and the VA's validation threads).

Every socket is on 127.0.0.1. Pebble is installed with apt-get when it is missing and the
script runs as root; otherwise its columns are skipped with a note.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import cProfile
import datetime
import gc
import http.client
import http.server
import io
import json
import os
import platform
import pstats
import resource
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import josepy as jose
import trustme
from acme import challenges, client, crypto_util, messages
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pytest_fakeacme import Clock, FakeACME  # noqa: E402
from pytest_fakeacme.transport import Server  # noqa: E402  (the fake's own transport)

HOST = "127.0.0.1"
USER_AGENT = "pytest-fakeacme-bench"
PAGE = os.sysconf("SC_PAGE_SIZE")


# Small helpers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def rss_mb() -> float:
    """Current resident set size of this process (not the peak), in MB."""
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def directory_answers(url: str, cafile: str, timeout: float = 30.0) -> None:
    """GET the directory over HTTPS (verified against ``cafile``) until it answers 200."""
    parts = urlsplit(url)
    context = ssl.create_default_context(cafile=cafile)
    deadline = time.monotonic() + timeout
    while True:
        conn = http.client.HTTPSConnection(parts.hostname or HOST, parts.port, context=context,
                                           timeout=5)
        try:
            conn.request("GET", parts.path, headers={"User-Agent": USER_AGENT})
            response = conn.getresponse()
            body = response.read()
            if response.status == 200 and b"newNonce" in body:
                return
        except OSError:
            pass
        finally:
            conn.close()
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {timeout} s")
        time.sleep(0.002)


# The http-01 responder (stdlib, in-process, like tests/responder.py)


class Responder:
    """Answers ``/.well-known/acme-challenge/<token>`` from a dict, on 127.0.0.1:``port``."""

    def __init__(self) -> None:
        self.tokens: dict[str, bytes] = {}
        self.gets = 0
        self._lock = threading.Lock()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_GET(self) -> None:
                with owner._lock:
                    owner.gets += 1
                body = owner.tokens.get(self.path.rsplit("/", 1)[-1])
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, format: str, *args: object) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def server_bind(self) -> None:  # no getfqdn() lookup
                http.server.socketserver.TCPServer.server_bind(self)  # type: ignore[attr-defined]
                self.server_name, self.server_port = "localhost", self.server_address[1]

        self._server = Server((HOST, 0), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# The client: certbot's acme library, no sleeps


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class Issuer:
    """One ACME account (ES256) that issues P-256 certificates, answering http-01."""

    def __init__(self, directory_url: str, ca_bundle: str, responder: Responder) -> None:
        self.key = jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
        self.net = client.ClientNetwork(
            self.key, alg=jose.ES256, verify_ssl=ca_bundle,  # type: ignore[arg-type]
            user_agent=USER_AGENT,
        )
        self.directory = client.ClientV2.get_directory(directory_url, self.net)
        self.acme = client.ClientV2(self.directory, self.net)
        self.acme.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True))
        self.responder = responder

    def issue(self, name: str) -> str:
        csr = crypto_util.make_csr(_key_pem(ec.generate_private_key(ec.SECP256R1())), [name])
        order = self.acme.new_order(csr)
        tokens = []
        for authzr in order.authorizations:
            if authzr.body.status != messages.STATUS_PENDING:
                continue
            chall = next(c for c in authzr.body.challenges
                         if isinstance(c.chall, challenges.HTTP01))
            response, validation = chall.response_and_validation(self.key)
            token = chall.chall.encode("token")
            self.responder.tokens[token] = validation.encode()
            tokens.append(token)
            self.acme.answer_challenge(chall, response)
        done = []
        for authzr in order.authorizations:
            # client.poll, again and again, without the library's time.sleep(1).
            while authzr.body.status in (messages.STATUS_PENDING, messages.STATUS_PROCESSING):
                authzr, _ = self.acme.poll(authzr)
            if authzr.body.status != messages.STATUS_VALID:
                raise RuntimeError(f"authorization {authzr.uri} is {authzr.body.status}")
            done.append(authzr)
        order = self.acme.begin_finalization(order.update(authorizations=done))
        # POST-as-GET the order until it is valid, instead of poll_finalization's sleeps.
        while order.body.status != messages.STATUS_VALID:
            if order.body.status == messages.STATUS_INVALID:
                raise RuntimeError(f"order {order.uri} is invalid: {order.body.error}")
            body = self.acme._post_as_get(order.uri).json()
            order = order.update(body=messages.Order.from_json(body))
        pem = self.acme._post_as_get(order.body.certificate).text
        for token in tokens:
            self.responder.tokens.pop(token, None)
        if "BEGIN CERTIFICATE" not in pem:
            raise RuntimeError("no certificate in the answer")
        return pem


class Names:
    """Unique names (no authorization or order reuse), thread-safe."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._n = 0
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            self._n += 1
            return f"i{self._n}.{self._label}.bench.example"


# Pebble


def ensure_pebble() -> tuple[str | None, str]:
    """Paths of ``pebble`` (or None) and a note on how it was found."""
    found = shutil.which("pebble")
    if found:
        return found, "found on PATH"
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None, "pebble not installed and not root (or no apt-get): Pebble columns skipped"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    quiet: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL,
                             "env": env, "check": False}
    subprocess.run(["apt-get", "install", "-y", "pebble"], **quiet)
    if not shutil.which("pebble"):
        subprocess.run(["apt-get", "update"], **quiet)
        subprocess.run(["apt-get", "install", "-y", "pebble"], **quiet)
    found = shutil.which("pebble")
    if found:
        return found, "installed with apt-get"
    return None, "apt-get install pebble failed: Pebble columns skipped"


def pebble_version() -> str:
    with contextlib.suppress(Exception):
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "pebble"],
                             capture_output=True, text=True, check=False)
        if out.returncode == 0 and out.stdout:
            return out.stdout
    return "unknown version"


class Pebble:
    """Pebble as a subprocess on 127.0.0.1 with its own trustme TLS certificate.

    ``httpPort`` is the responder's port. Names resolve through ``pebble-challtestsrv`` (every
    A query answers 127.0.0.1, no AAAA), started once; without it every validation is skipped
    with ``PEBBLE_VA_ALWAYS_VALID=1`` instead (noted).
    """

    def __init__(self, binary: str, workdir: str, http_port: int) -> None:
        self.binary = binary
        self.workdir = workdir
        tls_ca = trustme.CA(organization_name="bench Pebble TLS")
        leaf = tls_ca.issue_cert("127.0.0.1", "localhost")
        self.ca_bundle = os.path.join(workdir, "pebble-ca.pem")
        tls_ca.cert_pem.write_to_path(self.ca_bundle)
        cert = os.path.join(workdir, "pebble-cert.pem")
        key = os.path.join(workdir, "pebble-key.pem")
        with open(cert, "wb") as f:
            for blob in leaf.cert_chain_pems:
                f.write(blob.bytes())
        leaf.private_key_pem.write_to_path(key)
        self.port = free_port()
        self.config = os.path.join(workdir, "pebble-config.json")
        with open(self.config, "w", encoding="ascii") as f:
            json.dump({"pebble": {
                "listenAddress": f"{HOST}:{self.port}",
                "managementListenAddress": f"{HOST}:{free_port()}",
                "certificate": cert,
                "privateKey": key,
                "httpPort": http_port,
                "tlsPort": free_port(),
                "ocspResponderURL": "",
                "externalAccountBindingRequired": False,
            }}, f, indent=2)
        self.env = dict(os.environ, PEBBLE_VA_NOSLEEP="1", PEBBLE_WFE_NONCEREJECT="0",
                        PEBBLE_AUTHZREUSE="0")
        self.dns: subprocess.Popen[bytes] | None = None
        self.dns_address: str | None = None
        self.note = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = os.path.join(workdir, "pebble.log")

    @property
    def directory_url(self) -> str:
        return f"https://{HOST}:{self.port}/dir"

    def start_dns(self) -> None:
        challtestsrv = shutil.which("pebble-challtestsrv")
        if challtestsrv is None:
            self.env["PEBBLE_VA_ALWAYS_VALID"] = "1"
            self.note = "no pebble-challtestsrv: PEBBLE_VA_ALWAYS_VALID=1 (no http-01 fetch)"
            return
        port = free_port()
        self.dns_address = f"{HOST}:{port}"
        self.dns = subprocess.Popen(
            [challtestsrv, "-dns01", self.dns_address, "-http01", "", "-https01", "",
             "-tlsalpn01", "", "-management", f"{HOST}:{free_port()}",
             "-defaultIPv4", HOST, "-defaultIPv6", ""],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        # Ready when it answers DNS over TCP (it serves UDP and TCP on the same port).
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection((HOST, port), 0.2):
                break
            time.sleep(0.01)
        self.note = "http-01 really fetched (3 GETs per challenge); DNS: pebble-challtestsrv"

    def start(self) -> None:
        args = [self.binary, "-config", self.config]
        if self.dns_address:
            args += ["-dnsserver", self.dns_address]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(args, env=self.env, stdout=log, stderr=log,
                                         cwd=self.workdir)
        try:
            directory_answers(self.directory_url, self.ca_bundle)
        except RuntimeError:
            self.stop()
            with open(self.log, encoding="utf-8", errors="replace") as f:
                sys.stderr.write(f.read()[-2000:])
            raise

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def close(self) -> None:
        self.stop()
        if self.dns is not None:
            self.dns.terminate()
            self.dns.wait(timeout=10)
            self.dns = None


# The transport floor: the fake's server class answering recorded bytes


class Recorder:
    """Keeps every request and response of a ``requests`` session (a response hook)."""

    def __init__(self) -> None:
        self.exchanges: list[tuple[str, str, int, list[tuple[str, str]], bytes]] = []
        self.on = False

    def hook(self, response: Any, *args: Any, **kwargs: Any) -> None:
        if self.on:
            request = response.request
            headers = [(k, v) for k, v in response.headers.items()
                       if k.lower() not in ("content-length", "date", "server", "connection")]
            self.exchanges.append((request.method, urlsplit(request.url).path,
                                   response.status_code, headers, response.content))


class Floor:
    """A werkzeug server on 127.0.0.1 (the fake's own ``transport.Server`` and handler: persistent
    connections, TLS in the connection thread, TCP_NODELAY) whose WSGI app does nothing but
    answer pre-built bytes.

    Requests before the first issuance (directory, newNonce, newAccount) are answered by
    method and path; each issuance's requests by position in the recorded sequence, checked
    against the recorded method and path (a mismatch answers 500 and is counted).
    """

    def __init__(self, fake_base: str, setup: list[Any], issuance: list[Any]) -> None:
        tls_ca = trustme.CA(organization_name="bench floor TLS")
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_ca.issue_cert(HOST, "localhost").configure_cert(tls)
        self._tmp = tempfile.mkdtemp(prefix="fakeacme-floor-")
        self.ca_bundle = os.path.join(self._tmp, "ca.pem")
        tls_ca.cert_pem.write_to_path(self.ca_bundle)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, 0))
        sock.listen(128)
        self.base = f"https://{HOST}:{sock.getsockname()[1]}"

        def build(exchange: Any) -> tuple[str, str, str, list[tuple[str, str]], list[bytes]]:
            method, path, status, headers, body = exchange
            body = body.replace(fake_base.encode(), self.base.encode())
            headers = [(k, v.replace(fake_base, self.base)) for k, v in headers]
            headers.append(("Content-Length", str(len(body))))
            reason = http.client.responses.get(status, "")
            return method, path, f"{status} {reason}", headers, [body]

        self._setup = {(m, p): (s, h, b) for m, p, s, h, b in map(build, setup)}
        self._script = [build(e) for e in issuance]
        self._step = 0
        self.mismatches = 0
        self.requests = 0
        self._lock = threading.Lock()
        self._server = Server(sock, self._app, tls, Clock().now)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()

    @property
    def directory_url(self) -> str:
        return self.base + "/directory"

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        stream = environ["wsgi.input"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length:
            stream.read(length)
        fixed = self._setup.get((method, path))
        if fixed is not None:
            status, headers, body = fixed
            start_response(status, headers)
            return body
        with self._lock:
            step = self._script[self._step % len(self._script)]
            self._step += 1
            self.requests += 1
            if (step[0], step[1]) != (method, path):
                self.mismatches += 1
                start_response("500 Internal Server Error", [("Content-Length", "0")])
                return [b""]
        start_response(step[2], step[3])
        return step[4]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        shutil.rmtree(self._tmp, ignore_errors=True)


def record_floor(fake: FakeACME, responder: Responder, names: Names) -> tuple[Floor, Any]:
    """Record one account set-up and one issuance against the fake, build the floor from it,
    and count the issuance's requests in the fake's journal (by method and endpoint)."""
    recorder = Recorder()
    fake.reset()
    recorder.on = True
    # The session's hook must exist before the first request: build the client by hand.
    original = client.ClientNetwork.__init__

    def init(self: client.ClientNetwork, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.session.hooks["response"].append(recorder.hook)

    client.ClientNetwork.__init__ = init  # type: ignore[method-assign]
    try:
        issuer = Issuer(fake.directory_url, fake.ca_bundle, responder)
    finally:
        client.ClientNetwork.__init__ = original  # type: ignore[method-assign]
    setup = list(recorder.exchanges)
    recorder.on = False
    issuer.issue(names())  # warm-up issuance, not recorded
    del recorder.exchanges[:]
    recorder.on = True
    before = len(fake.journal.requests())
    issuer.issue(names())
    journal = fake.journal.requests()[before:]
    recorder.on = False
    counts = collections.Counter(f"{e.method} {e.endpoint}" for e in journal)
    by_method = collections.Counter(e.method for e in journal)
    issuance = list(recorder.exchanges)
    if len(issuance) != len(journal):
        raise RuntimeError(f"recorded {len(issuance)} exchanges, journal has {len(journal)}")
    floor = Floor(fake.base_url, setup, issuance)
    return floor, {"total": len(journal), "by_method": dict(by_method),
                   "by_endpoint": dict(counts)}


# Measurements


# Measurements


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of another process (Pebble), from /proc."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Target:
    """Something to issue from: a label, the issuing function, and (for Pebble) the server
    process whose CPU time is counted."""

    def __init__(self, label: str, issue: Callable[[], str], responder: Responder,
                 pid: int | None = None) -> None:
        self.label = label
        self.issue = issue
        self.responder = responder
        self.pid = pid
        self.gets = 0  # http-01 GETs the responder answered
        self.wall: list[float] = []
        self.client_cpu = 0.0  # the issuing thread
        self.local_cpu = 0.0  # the rest of this process: in-process servers, VA, responder
        self.server_cpu = 0.0  # the server's own process (Pebble)

    def run_once(self) -> None:
        pid_cpu = process_cpu(self.pid) if self.pid else 0.0
        gets = self.responder.gets
        proc, thread = time.process_time(), time.thread_time()
        t0 = time.perf_counter()
        self.issue()
        self.wall.append(time.perf_counter() - t0)
        self.gets += self.responder.gets - gets
        thread_used = time.thread_time() - thread
        self.client_cpu += thread_used
        self.local_cpu += time.process_time() - proc - thread_used
        if self.pid:
            self.server_cpu += process_cpu(self.pid) - pid_cpu

    def cpu_ms(self) -> tuple[float, float, float]:
        n = len(self.wall) or 1
        return (self.client_cpu / n * 1000, self.local_cpu / n * 1000,
                self.server_cpu / n * 1000)


def measure_startup(runs: int, pebble: Pebble | None) -> dict[str, list[float]]:
    fake_times: list[float] = []
    pebble_times: list[float] = []
    for _ in range(runs):
        gc.collect()
        t0 = time.perf_counter()
        fake = FakeACME().start()
        directory_answers(fake.directory_url, fake.ca_bundle)
        fake_times.append(time.perf_counter() - t0)
        fake.stop()
        if pebble is not None:
            t0 = time.perf_counter()
            pebble.start()  # returns once /dir answers
            pebble_times.append(time.perf_counter() - t0)
            pebble.stop()
    return {"fake": fake_times, "pebble": pebble_times}


def measure_reset(fake: FakeACME, responder: Responder, names: Names, runs: int,
                  per_run: int) -> list[float]:
    times = []
    for _ in range(runs):
        issuer = Issuer(fake.directory_url, fake.ca_bundle, responder)
        for _ in range(per_run):
            issuer.issue(names())
        t0 = time.perf_counter()
        fake.reset()
        times.append(time.perf_counter() - t0)
    return times


def measure_issuance(targets: list[Target], runs: int, warmup: int = 5) -> None:
    """Interleaved: one issuance per target per round, so drift hits every column alike."""
    for target in targets:
        for _ in range(warmup):
            target.issue()
    for _ in range(runs):
        for target in targets:
            target.run_once()


def measure_throughput(make_issuer: Callable[[], Issuer], names: Names, threads: int,
                       per_thread: int) -> float:
    issuers = [make_issuer() for _ in range(threads)]
    for issuer in issuers:
        issuer.issue(names())
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads + 1)

    def work(issuer: Issuer) -> None:
        barrier.wait()
        try:
            for _ in range(per_thread):
                issuer.issue(names())
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(i,)) for i in issuers]
    for w in workers:
        w.start()
    barrier.wait()
    t0 = time.perf_counter()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return threads * per_thread / elapsed


def measure_memory(fake: FakeACME, responder: Responder, names: Names, total: int,
                   every: int, reset: bool, log: Callable[[str], None]) -> dict[str, Any]:
    """``total`` issuances from one account; RSS sampled every ``every // 10`` issuances;
    with ``reset``, ``reset()`` (and a new account, as the next test would make) every
    ``every``."""
    fake.reset()
    gc.collect()
    issuer = Issuer(fake.directory_url, fake.ca_bundle, responder)
    step = max(every // 10, 1)
    samples = [(0, rss_mb())]
    blocks = [(0, sys.getallocatedblocks())]  # live Python objects, whatever RSS does
    block_ms: list[tuple[int, float]] = []  # ms per issuance over each step
    b0 = time.perf_counter()
    # n, RSS before reset(), RSS after reset() + gc, live Python blocks after reset() + gc
    block_ends: list[tuple[int, float, float, int]] = []
    resets: list[float] = []
    t0 = time.perf_counter()
    for n in range(1, total + 1):
        issuer.issue(names())
        if n % step == 0:
            samples.append((n, rss_mb()))
            blocks.append((n, sys.getallocatedblocks()))
            block_ms.append((n, (time.perf_counter() - b0) / step * 1000))
            b0 = time.perf_counter()
        if n % every == 0:
            before = rss_mb()
            if reset:
                r0 = time.perf_counter()
                fake.reset()
                resets.append(time.perf_counter() - r0)
                issuer = Issuer(fake.directory_url, fake.ca_bundle, responder)
            gc.collect()
            block_ends.append((n, before, rss_mb(), sys.getallocatedblocks()))
            b0 = time.perf_counter()
            elapsed = time.perf_counter() - t0
            log(f"    {n:>6}/{total} issuances  RSS {before:6.1f} MB"
                + (f", {block_ends[-1][2]:6.1f} MB after reset()" if reset else "")
                + f"  ({elapsed / n * 1000:.1f} ms each, "
                f"{(total - n) * elapsed / n:.0f} s to go)")
    xs = [n for n, _ in samples]
    ys = [mb for _, mb in samples]
    slope = statistics.linear_regression(xs, ys).slope if len(set(xs)) > 1 else 0.0
    late = [(n, mb) for n, mb in samples if n >= total // 2]
    late_slope = (statistics.linear_regression([n for n, _ in late], [mb for _, mb in late])
                  .slope if len(late) > 1 else 0.0)
    return {"samples": samples, "block_ends": block_ends, "resets": resets,
            "blocks_per_issuance": (blocks[-1][1] - blocks[0][1]) / max(total, 1),
            "block_ms": block_ms, "peak_rss": peak_rss_mb(),
            "seconds": time.perf_counter() - t0, "kb_per_issuance": slope * 1024,
            "kb_per_issuance_late": late_slope * 1024,
            "journal_len": len(fake.journal), "journal_cap": fake.journal.cap,
            "store": fake.store.count()}


class ServerSide:
    """Wraps the fake's WSGI app (run in the connection threads) and its VA's validation work
    (pool threads): wall time, and optionally one cProfile per thread.

    Reaches into ``fake._serving.server.app`` and ``fake.va._resolve_into`` on this instance only;
    the package is not modified.
    """

    def __init__(self, fake: FakeACME) -> None:
        self.fake = fake
        self.app_seconds = 0.0
        self.va_seconds = 0.0
        self.profiling = False
        self._lock = threading.Lock()
        self._local = threading.local()
        self.profiles: list[cProfile.Profile] = []
        assert fake._serving is not None
        server = fake._serving.server
        assert server is not None
        self._app = server.app
        server.app = self._timed_app
        self._resolve_into = fake.va._resolve_into
        fake.va._resolve_into = self._timed_va  # type: ignore[method-assign,assignment]

    def _profile(self) -> cProfile.Profile:
        prof = getattr(self._local, "profile", None)
        if prof is None:
            prof = self._local.profile = cProfile.Profile()
            with self._lock:
                self.profiles.append(prof)
        return prof

    @contextlib.contextmanager
    def _measured(self, kind: str) -> Iterator[None]:
        prof = self._profile() if self.profiling else None
        t0 = time.perf_counter()
        if prof is not None:
            prof.enable()
        try:
            yield
        finally:
            if prof is not None:
                prof.disable()
            elapsed = time.perf_counter() - t0
            with self._lock:
                if kind == "app":
                    self.app_seconds += elapsed
                else:
                    self.va_seconds += elapsed

    def _timed_app(self, environ: Any, start_response: Any) -> Any:
        with self._measured("app"):
            # The body is built here (werkzeug then only iterates a list of bytes).
            return list(self._app(environ, start_response))

    def _timed_va(self, *args: Any) -> None:
        with self._measured("va"):
            self._resolve_into(*args)

    def restore(self) -> None:
        assert self.fake._serving is not None
        server = self.fake._serving.server
        assert server is not None
        server.app = self._app
        self.fake.va._resolve_into = self._resolve_into  # type: ignore[method-assign]

    def stats(self) -> pstats.Stats:
        stats = pstats.Stats(self.profiles[0], stream=io.StringIO())
        for prof in self.profiles[1:]:
            stats.add(prof)
        return stats


def profile_fake(fake: FakeACME, responder: Responder, names: Names,
                 runs: int) -> dict[str, Any]:
    fake.reset()
    issuer = Issuer(fake.directory_url, fake.ca_bundle, responder)
    for _ in range(5):
        issuer.issue(names())
    side = ServerSide(fake)
    try:
        # Wall time on the server per issuance, without the profiler's overhead.
        t0 = time.perf_counter()
        for _ in range(runs):
            issuer.issue(names())
        total = time.perf_counter() - t0
        app_ms, va_ms = side.app_seconds / runs * 1000, side.va_seconds / runs * 1000
        side.profiling = True
        for _ in range(runs):
            issuer.issue(names())
    finally:
        side.restore()
    return {"client_ms": total / runs * 1000, "app_ms": app_ms, "va_ms": va_ms,
            "stats": side.stats(), "runs": runs}


def _short(filename: str) -> str:
    for marker in (str(ROOT) + "/", "site-packages/", "/lib/python3"):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
    return filename


def top_costs(stats: pstats.Stats, runs: int) -> list[tuple[str, float, float, float]]:
    """(function, own ms per issuance, cumulative ms per issuance, calls per issuance)."""
    rows = []
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, line, func), (_cc, nc, tt, ct, _callers) in raw.items():
        where = f"{_short(filename)}:{line}({func})" if filename != "~" else func
        rows.append((where, tt / runs * 1000, ct / runs * 1000, nc / runs))
    return rows


_AREAS = [
    ("cryptography/", "cryptography (Python side)"),
    ("josepy/", "josepy (JWK parsing, thumbprints)"),
    ("werkzeug/", "werkzeug helpers (host, content type, input stream)"),
    ("http/client", "http.client (the VA's http-01 GET)"),
    ("json/", "json"),
    ("threading.py", "threading"),
    ("socket.py", "socket"),
    ("ssl.py", "ssl"),
    ("concurrent/", "concurrent.futures"),
    ("datetime", "datetime"),
]


def by_area(stats: pstats.Stats, runs: int) -> list[tuple[str, float]]:
    """Own time per issuance, grouped by where the code lives."""
    areas: dict[str, float] = collections.defaultdict(float)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, func), (_cc, _nc, tt, _ct, _callers) in raw.items():
        if filename == "~":
            if "cryptography" in func or "_rust" in func:
                area = "cryptography, Rust/OpenSSL (sign, verify, parse, build)"
            elif "urandom" in func:
                area = "os.urandom (nonces, ids, serials)"
            elif "_ssl." in func:
                area = "TLS record I/O (C)"
            elif "socket" in func or "select" in func or "poll" in func:
                area = "socket I/O and waits (C)"
            elif "acquire" in func or "wait" in func:
                area = "lock waits (C)"
            else:
                area = "other C builtins (isinstance, dict, str, re)"
        elif "pytest_fakeacme/" in filename:
            module = filename.split("pytest_fakeacme/", 1)[1].removesuffix(".py")
            area = f"fake: {module}"
        else:
            area = next((label for marker, label in _AREAS if marker in filename),
                        "other Python (stdlib)")
        areas[area] += tt / runs * 1000
    return sorted(areas.items(), key=lambda kv: -kv[1])


# Report


def machine() -> dict[str, str]:
    from importlib.metadata import version

    model = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "os": platform.platform(),
        "acme": version("acme"),
        "werkzeug": version("werkzeug"),
        "cryptography": version("cryptography"),
    }


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}x"


def pct(samples: list[float]) -> str:
    ordered = sorted(samples)
    p10 = ordered[len(ordered) // 10] * 1000
    p90 = ordered[len(ordered) * 9 // 10] * 1000
    return f"{p10:.1f}-{p90:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer repetitions; 1,000 issuances for the memory run")
    parser.add_argument("--no-pebble", action="store_true", help="skip the Pebble columns")
    parser.add_argument("--issuances", type=int, default=None,
                        help="issuances of the memory run (default 10,000; --quick 1,000)")
    parser.add_argument("--json", metavar="FILE", help="also write the raw results as JSON")
    args = parser.parse_args()
    # requests lets these override verify= (and this environment sets them); every client
    # here passes its CA bundle explicitly.
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        os.environ.pop(var, None)

    quick = args.quick
    startup_runs = 10 if quick else 20
    reset_runs = 20 if quick else 30
    issuance_runs = 40 if quick else 150
    per_thread = 15 if quick else 40
    memory_total = args.issuances or (1000 if quick else 10_000)
    # reset() every 1,000 issuances, as a suite would between tests (smaller runs: 5 blocks).
    memory_every = 1000 if memory_total >= 2000 else max(memory_total // 5, 10)
    noreset_total = min(memory_total, 300 if quick else 1000)
    profile_runs = 40 if quick else 150

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    info = machine()
    log(f"load average (1 min): {load_start:.2f}"
        + (" - this machine is busy; results will be noisy" if load_start > 0.5 else ""))
    log(f"machine: {info['nproc']} CPUs, {info['cpu']}, Python {info['python']}")
    pebble_bin, pebble_note = (None, "skipped (--no-pebble)") if args.no_pebble \
        else ensure_pebble()
    if pebble_bin is not None:
        pebble_note = f"Debian package {pebble_version()} ({pebble_note})"
    log(f"pebble: {pebble_note}")

    workdir = tempfile.mkdtemp(prefix="fakeacme-bench-")
    responder = Responder()
    pebble = Pebble(pebble_bin, workdir, responder.port) if pebble_bin else None
    fake: FakeACME | None = None
    floors: list[Floor] = []
    try:
        log(f"1. start-up: {startup_runs} runs each")
        startup = measure_startup(startup_runs, pebble)

        fake = FakeACME(http01_port=responder.port).start()
        names = Names("fake")
        log(f"2. reset() of a fake holding 5 issuances: {reset_runs} runs")
        resets = measure_reset(fake, responder, names, reset_runs, 5)

        log("3-4. one issuance: recording the floor's bytes from the fake")
        floor, trips = record_floor(fake, responder, names)
        floors.append(floor)
        log(f"    round trips per issuance (the fake's journal): {trips}")
        fake.reset()

        def issuing(directory_url: str, ca_bundle: str, label: str) -> Callable[[], str]:
            issuer = Issuer(directory_url, ca_bundle, responder)
            unique = Names(label)
            return lambda: issuer.issue(unique())

        targets = {
            "fake": Target("fake", issuing(fake.directory_url, fake.ca_bundle, "f"), responder),
            "floor": Target("floor", issuing(floor.directory_url, floor.ca_bundle, "l"),
                            responder),
        }
        pebble_names = Names("pebble")
        if pebble is not None:
            pebble.start_dns()
            pebble.start()
            assert pebble.proc is not None
            targets["pebble"] = Target(
                "pebble", issuing(pebble.directory_url, pebble.ca_bundle, "p"), responder,
                pebble.proc.pid)
        log(f"    {issuance_runs} issuances per target, interleaved: {', '.join(targets)}")
        measure_issuance(list(targets.values()), issuance_runs)
        for fl in floors:
            if fl.mismatches:
                raise RuntimeError(f"the floor saw {fl.mismatches} unexpected requests")

        log(f"5. throughput: 1 and 4 client threads, {per_thread} issuances per thread")
        throughput: dict[str, dict[int, float]] = {"fake": {}, "pebble": {}}
        for threads in (1, 4):
            fake.reset()
            throughput["fake"][threads] = measure_throughput(
                lambda: Issuer(fake.directory_url, fake.ca_bundle, responder),
                names, threads, per_thread)
            if pebble is not None:
                throughput["pebble"][threads] = measure_throughput(
                    lambda: Issuer(pebble.directory_url, pebble.ca_bundle, responder),
                    pebble_names, threads, per_thread)
        if pebble is not None:
            pebble.close()

        # Without reset() first: freed memory that pymalloc keeps would hide the growth.
        log(f"   memory: {noreset_total} issuances without reset()")
        noreset = measure_memory(fake, responder, names, noreset_total, noreset_total,
                                 False, log)
        log(f"   memory: {memory_total} issuances, reset() every {memory_every}")
        memory = measure_memory(fake, responder, names, memory_total, memory_every, True, log)

        log(f"profile: the fake's server side over {profile_runs} issuances")
        prof = profile_fake(fake, responder, names, profile_runs)
    finally:
        for fl in floors:
            fl.close()
        if fake is not None:
            fake.stop()
        if pebble is not None:
            pebble.close()
        responder.close()
        shutil.rmtree(workdir, ignore_errors=True)

    print(report(info, pebble_note, pebble, quick, startup, resets, trips, targets,
                 issuance_runs, throughput, per_thread, memory, noreset, prof,
                 time.perf_counter() - started, (load_start, os.getloadavg()[0])))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({
                "machine": info, "pebble": pebble_note, "quick": quick,
                "startup_ms": {k: [t * 1000 for t in v] for k, v in startup.items()},
                "reset_ms": [t * 1000 for t in resets],
                "issuance_ms": {k: [t * 1000 for t in t_.wall] for k, t_ in targets.items()},
                "cpu_ms": {k: t_.cpu_ms() for k, t_ in targets.items()},
                "round_trips": trips, "throughput": throughput,
                "memory": {k: v for k, v in memory.items()},
                "noreset": noreset,
                "server_ms": {k: prof[k] for k in ("app_ms", "va_ms", "client_ms")},
            }, out, indent=2, default=str)
    return 0


def report(info: dict[str, str], pebble_note: str, pebble: Pebble | None, quick: bool,
           startup: dict[str, list[float]], resets: list[float], trips: dict[str, Any],
           targets: dict[str, Target], runs: int, throughput: dict[str, dict[int, float]],
           per_thread: int, memory: dict[str, Any], noreset: dict[str, Any],
           prof: dict[str, Any], seconds: float, load: tuple[float, float]) -> str:
    fs, ps = startup["fake"], startup["pebble"]
    fake_start, pebble_start = median_ms(fs), (median_ms(ps) if ps else None)
    med = {k: median_ms(t.wall) for k, t in targets.items()}
    fi, fl, pi = med["fake"], med["floor"], med.get("pebble")
    tp = throughput
    pebble_tp = {n: f"{v:.1f}/s" for n, v in tp["pebble"].items()}
    ends = memory["block_ends"]
    after = [a for _, _, a, _ in ends]
    lines = [
        f"Machine: {info['nproc']} CPUs ({info['cpu']}), Python {info['python']}, "
        f"{info['os']}; acme {info['acme']}, werkzeug {info['werkzeug']}, cryptography "
        f"{info['cryptography']}. {'--quick' if quick else 'Full run'}, "
        f"{datetime.date.today().isoformat()}, {seconds / 60:.1f} min.",
        f"Pebble: {pebble_note}" + (f"; {pebble.note}" if pebble is not None else "") + ".",
        "",
        "| Measure | pytest-fakeacme | Pebble | Floor | fake vs Pebble | fake vs floor "
        "| Target |",
        "|---|---|---|---|---|---|---|",
        f"| Start-up to a directory answer (median of {len(fs)}) | {fake_start:.1f} ms | "
        + (f"{pebble_start:.0f} ms" if pebble_start else "-")
        + f" | - | {ratio(pebble_start, fake_start) + ' faster' if ps else '-'} | - "
        "| <= 30 ms, >= 20x faster |",
        f"| `reset()` holding 5 issuances (median of {len(resets)}) | {median_ms(resets):.2f} ms"
        " | - | - | - | - | <= 1 ms |",
        f"| One issuance (median of {runs}) | {fi:.1f} ms | "
        + (f"{pi:.1f} ms" if pi else "-")
        + f" | {fl:.1f} ms | {ratio(fi, pi)} | {ratio(fi, fl)} | <= Pebble; <= 1.3x floor |",
        f"| Throughput, 1 client thread | {tp['fake'][1]:.1f}/s | {pebble_tp.get(1, '-')} | - "
        f"| {ratio(tp['fake'][1], tp['pebble'].get(1))} | - | reported |",
        f"| Throughput, 4 client threads | {tp['fake'][4]:.1f}/s | {pebble_tp.get(4, '-')} | - "
        f"| {ratio(tp['fake'][4], tp['pebble'].get(4))} | - | reported |",
        f"| RSS, {memory_total_label(memory)} issuances, `reset()` every "
        f"{ends[0][0] if ends else '-'} | {after[0]:.0f} -> {after[-1]:.0f} MB after each "
        f"reset (max {max(b for _, b, _, _ in ends):.0f} MB) | - | - | - | - | bounded |",
        f"| RSS growth without `reset()` ({noreset['samples'][-1][0]:,} issuances) | "
        f"+{noreset['kb_per_issuance']:.1f} KB per issuance (second half: "
        f"+{noreset['kb_per_issuance_late']:.1f} KB); +{noreset['blocks_per_issuance']:.0f} "
        "live Python blocks per issuance | - | - | - | - | (reported) |",
        "",
        f"Round trips per issuance, counted in the fake's journal: {trips['total']} "
        f"({', '.join(f'{v} {k}' for k, v in sorted(trips['by_method'].items()))}: "
        + ", ".join(f"{k} x{v}" for k, v in trips["by_endpoint"].items())
        + "); the floor answers the same sequence, recorded from the fake.",
        "",
        "| Per issuance | median wall | p10-p90 | client thread CPU | other CPU in this "
        "process | server process CPU | http-01 GETs |",
        "|---|---|---|---|---|---|---|",
    ]
    names = {"fake": "pytest-fakeacme", "floor": "floor (werkzeug, TLS, fixed bytes)",
             "pebble": "Pebble"}
    for key, target in targets.items():
        client_ms, local_ms, server_ms = target.cpu_ms()
        lines.append(f"| {names[key]} | {med[key]:.1f} ms | {pct(target.wall)} ms | "
                     f"{client_ms:.1f} ms | {local_ms:.1f} ms | "
                     + (f"{server_ms:.1f} ms |" if target.pid else "- |")
                     + f" {target.gets / max(len(target.wall), 1):.0f} |")
    lines += [
        "",
        f"Start-up spread: fake {min(fs) * 1000:.1f}-{max(fs) * 1000:.1f} ms"
        + (f", Pebble {min(ps) * 1000:.0f}-{max(ps) * 1000:.0f} ms" if ps else "") + ".",
        f"Throughput: {per_thread} issuances per thread, one account per thread.",
    ]
    if memory["resets"]:
        lines.append(
            f"reset() holding {ends[0][0]} issuances: median {median_ms(memory['resets']):.1f} ms"
            f", max {max(memory['resets']) * 1000:.1f} ms.")
    lines += [
        "RSS (MB) at each reset, before -> after: "
        + ", ".join(f"{n}: {b:.0f}->{a:.0f}" for n, b, a, _ in ends)
        + f"; {memory['seconds']:.0f} s, {memory['seconds'] / ends[-1][0] * 1000:.1f} ms "
        f"per issuance; peak RSS of the process so far {memory['peak_rss']:.0f} MB; "
        "live Python blocks after each reset: "
        + ", ".join(f"{blk:,}" for _, _, _, blk in ends) + ".",
        "RSS (MB) without reset: " + ", ".join(f"{n}: {mb:.0f}" for n, mb in noreset["samples"])
        + f"; then the journal held {noreset['journal_len']} entries (cap "
        f"{noreset['journal_cap']}), the store {noreset['store']}.",
        "Issuance time as state accumulates (no reset; ms per issuance over each "
        f"{noreset['block_ms'][0][0] if noreset['block_ms'] else 0}): "
        + ", ".join(f"{n}: {ms:.0f}" for n, ms in noreset["block_ms"]) + ".",
        f"Load average (1 min) at start and end: {load[0]:.2f}, {load[1]:.2f}"
        + (" (this run adds about 1-1.5); other work was running at the start: treat "
           "absolute times with care, the interleaved ratios are fairer." if load[0] > 1.0
           else " (this run adds about 1-1.5)."),
        "",
        f"Server side per issuance (wall, {prof['runs']} issuances, no profiler): the WSGI app "
        f"{prof['app_ms']:.1f} ms (includes waiting for the VA), the VA thread "
        f"{prof['va_ms']:.1f} ms; the client saw {prof['client_ms']:.1f} ms.",
        "",
        "cProfile of the server side, own time per issuance by area (profiler overhead "
        "inflates Python code):",
    ]
    for area, ms in by_area(prof["stats"], prof["runs"])[:22]:
        lines.append(f"    {ms:6.2f} ms  {area}")
    rows = top_costs(prof["stats"], prof["runs"])
    lines += ["", "Top 25 by own time: own ms, cumulative ms, calls per issuance:"]
    for func, own, cum, calls in sorted(rows, key=lambda r: -r[1])[:25]:
        lines.append(f"    {own:6.2f} {cum:6.2f} {calls:6.1f}  {func}")
    lines += ["", "pytest_fakeacme, top 30 by cumulative time:"]
    ours = [r for r in rows if r[0].startswith("pytest_fakeacme")]
    for func, own, cum, calls in sorted(ours, key=lambda r: -r[2])[:30]:
        lines.append(f"    {own:6.2f} {cum:6.2f} {calls:6.1f}  {func}")
    return "\n".join(lines)


def memory_total_label(memory: dict[str, Any]) -> str:
    return f"{memory['block_ends'][-1][0]:,}" if memory["block_ends"] else "0"


if __name__ == "__main__":
    sys.exit(main())
