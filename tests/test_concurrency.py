"""Load, isolation and survival: many certbot ``acme`` clients issuing at once against
one fake with a badNonce rate on; two fakes side by side; clients that hang up mid-request or
send less body than announced; a body above the cap; and the VA's loopback fence.

Every socket is on 127.0.0.1 and every HTTPS request trusts exactly the fake's bundle. Nothing
sleeps: polling is a bounded number of reads (scripted outcomes and the fake's clock make the
answers immediate), and waiting for a server thread is ``FakeACME.stop()``, which joins them.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import pytest
from acme import crypto_util, messages
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError
from test_corpus import robustness_summary

from client import AcmeTestClient, key_pem, make_ip_csr
from jwsclient import RawClient
from pytest_fakeacme import FakeACME, FakeACMEUsageError, outcomes
from pytest_fakeacme.problems import ACME_ERROR_PREFIX

THREADS = 8
ISSUANCES = 25
NONCE_REJECT_RATE = 0.1
#: Test-level retries of one step after the library's own single badNonce retry.
MAX_RETRIES = 6
#: How many reads a client makes before it calls a status final (none should be needed).
MAX_POLLS = 5

T = TypeVar("T")


# Issuing with certbot's acme library, without its sleeps.


@dataclass
class Issued:
    """One certificate a client thread obtained."""

    names: list[str]
    account_url: str
    fullchain_pem: str


@dataclass
class ClientRun:
    """What one client thread did."""

    issued: list[Issued] = field(default_factory=list)
    retries: int = 0
    error: BaseException | None = None


def _retrying(run: ClientRun, step: Callable[[], T]) -> T:
    """Run an ``acme`` library step, again while it fails with badNonce: the library retries
    once itself, and two rejections in a row happen at a 10% rate. Anything else is raised."""
    for _ in range(MAX_RETRIES):
        try:
            return step()
        except messages.Error as exc:
            if exc.code != "badNonce":
                raise
            run.retries += 1
    raise AssertionError(f"badNonce {MAX_RETRIES} times in a row")


def _status(run: ClientRun, client: AcmeTestClient, url: str) -> dict[str, Any]:
    """POST-as-GET of a resource (the library's own low-level read, no sleeping)."""
    return _retrying(run, lambda: client.read(url))


def _poll(run: ClientRun, client: AcmeTestClient, url: str, want: str) -> dict[str, Any]:
    for _ in range(MAX_POLLS):
        body = _status(run, client, url)
        if body["status"] != "pending" and body["status"] != "processing":
            break
    assert body["status"] == want, body
    return body


def issue(run: ClientRun, client: AcmeTestClient, names: list[str]) -> Issued:
    """newOrder (which reads the authorizations), answer http-01 (the VA's default outcome is
    valid, found at once), finalize (which settles the authorizations; synchronous here, so the
    answer is ``valid``), download the chain: each step the library's, each retried on a
    second badNonce. The authorizations are not polled: five requests an issuance keep 200 of
    them affordable on two cores."""
    csr = crypto_util.make_csr(key_pem(ec.generate_private_key(ec.SECP256R1())), names)
    order = _retrying(run, lambda: client.acme.new_order(csr))
    for authzr in order.authorizations:
        chall = client.challenge(authzr)
        answer = partial(client.acme.answer_challenge, chall, chall.response(client.key))
        _retrying(run, answer)
    finalized = _retrying(run, lambda: client.acme.begin_finalization(order))
    body = finalized.body.to_json()
    if body["status"] != "valid":
        body = _poll(run, client, order.uri, "valid")
    chain = _retrying(run, lambda: client.post_as_get(body["certificate"])).text
    assert client.regr is not None
    return Issued(names, client.regr.uri, chain)


def _names(thread: int, index: int) -> list[str]:
    base = f"t{thread}-{index}.load.example"
    # Every fifth order has two names (two authorizations).
    return [base, "www." + base] if index % 5 == 4 else [base]


def _client_thread(fake: FakeACME, thread: int, issuances: int, run: ClientRun,
                   start: threading.Barrier) -> None:
    try:
        client = AcmeTestClient(fake)
        client.net.session.trust_env = False  # no proxy or netrc lookups: 10% less CPU
        _retrying(run, client.register)
        start.wait(timeout=60)
        for index in range(issuances):
            run.issued.append(issue(run, client, _names(thread, index)))
    except BaseException as exc:  # reported by the test, with its traceback
        run.error = exc
        start.abort()  # the others need not wait for this one


def run_clients(fake: FakeACME, threads: int, issuances: int,
                thread_base: int = 0) -> list[ClientRun]:
    """``threads`` clients, each with its own account, issuing ``issuances`` certificates at
    once (a barrier starts them together)."""
    runs = [ClientRun() for _ in range(threads)]
    start = threading.Barrier(threads)
    workers = [
        threading.Thread(target=_client_thread,
                         args=(fake, thread_base + i, issuances, runs[i], start),
                         name=f"load-client-{thread_base + i}")
        for i in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    assert not any(w.is_alive() for w in workers), "a client thread is stuck"
    return runs


def verify_chain(fake: FakeACME, issued: Issued) -> x509.Certificate:
    """The chain verifies, for its first name, against ``fake``'s roots, and the leaf names
    exactly the names asked for; returns the leaf."""
    leaf, *intermediates = x509.load_pem_x509_certificates(issued.fullchain_pem.encode())
    verifier = (
        PolicyBuilder()
        .store(Store(x509.load_pem_x509_certificates(fake.roots.encode())))
        .time(fake.clock.now())
        .build_server_verifier(x509.DNSName(issued.names[0]))
    )
    verifier.verify(leaf, intermediates)
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(san.get_values_for_type(x509.DNSName)) == sorted(issued.names)
    return leaf


def _fake_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    return [t for t in threading.enumerate()
            if t not in before and t.name.startswith("fakeacme") and t.is_alive()]


@pytest.fixture
def loaded_fake() -> Iterator[FakeACME]:
    """A fake of its own: the VA finds every challenge valid, finalization is synchronous, and a
    seeded 10% of nonces are refused."""
    before = set(threading.enumerate())
    fake = FakeACME(va_default=outcomes.valid(), dns_port=None, async_finalize=False)
    with fake:
        fake.faults.nonce_reject_rate(NONCE_REJECT_RATE, seed=8555)
        yield fake
    assert _fake_threads(before) == []


def test_eight_clients_issue_25_certificates_each_with_nonces_refused(
    loaded_fake: FakeACME, pytestconfig: pytest.Config
) -> None:
    fake = loaded_fake
    (fault,) = fake.faults.active

    runs = run_clients(fake, THREADS, ISSUANCES)

    errors = [run.error for run in runs if run.error is not None]
    if errors:
        raise errors[0]
    issued = [item for run in runs for item in run.issued]
    assert len(issued) == THREADS * ISSUANCES
    leaves = {tuple(sorted(item.names)): verify_chain(fake, item) for item in issued}
    serials = {leaf.serial_number for leaf in leaves.values()}
    assert len(serials) == THREADS * ISSUANCES

    # Exact state: one account per client, one valid order and certificate per issuance,
    # each owned by the account that asked for it.
    accounts = {a.url: a for a in fake.accounts}
    assert sorted(accounts) == sorted(run.issued[0].account_url for run in runs)
    orders = fake.orders
    assert len(orders) == THREADS * ISSUANCES
    assert {o.status for o in orders} == {"valid"}
    names_per_order = sum(len(_names(t, i)) for t in range(THREADS) for i in range(ISSUANCES))
    assert len(fake.authorizations) == names_per_order
    assert {a.status for a in fake.authorizations} == {"valid"}
    certificates = fake.certificates
    assert len(certificates) == THREADS * ISSUANCES
    assert {c.serial for c in certificates} == serials
    owner = {tuple(sorted(item.names)): item.account_url for item in issued}
    by_id = {a.id: a.url for a in fake.accounts}
    for order in orders:
        names = tuple(sorted(i.value for i in order.identifiers))
        assert by_id[order.account_id] == owner[names]
        # The certificate the client downloaded is the one issued for this order.
        assert order.certificate is not None
        assert by_id[order.certificate.account_id] == owner[names]
        assert order.certificate.serial == leaves[names].serial_number
    # The fault was on, and only badNonce ever needed handling.
    assert fault.fired > 0
    fake.check()
    summary = robustness_summary(pytestconfig)
    summary.counts.update(load_issued=len(issued), load_rejected=fault.fired,
                          load_retries=sum(run.retries for run in runs))
    summary.lines["load"] = (
        f"load: {THREADS} certbot acme clients x {ISSUANCES} issuances at once: "
        "{load_issued} certificates, {load_rejected} nonces refused (badNonce), "
        "{load_retries} second refusals retried by the test"
    )


def test_two_fakes_side_by_side_keep_their_own_state_and_roots() -> None:
    before = set(threading.enumerate())
    with FakeACME(va_default=outcomes.valid(), dns_port=None, async_finalize=False) as one, \
            FakeACME(va_default=outcomes.valid(), dns_port=None, async_finalize=False) as two:
        one.faults.nonce_reject_rate(NONCE_REJECT_RATE, seed=1)
        results: dict[str, list[ClientRun]] = {}

        def drive(name: str, fake: FakeACME, base: int) -> None:
            results[name] = run_clients(fake, 2, 5, thread_base=base)

        threads = [threading.Thread(target=drive, args=("one", one, 0)),
                   threading.Thread(target=drive, args=("two", two, 10))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)

        for name, fake, other in (("one", one, two), ("two", two, one)):
            runs = results[name]
            assert [run.error for run in runs] == [None, None]
            issued = [item for run in runs for item in run.issued]
            assert len(issued) == 10
            for item in issued:
                verify_chain(fake, item)
                with pytest.raises(VerificationError):
                    verify_chain(other, item)
            assert len(fake.accounts) == 2
            assert len(fake.orders) == 10
            assert len(fake.certificates) == 10
            assert {a.url for a in fake.accounts} == {run.issued[0].account_url for run in runs}
        assert one.roots != two.roots
        assert one.faults.active
        assert not two.faults.active
    assert _fake_threads(before) == []


# Clients that misbehave at the HTTP level.


def _tls(fake: FakeACME) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=fake.ca_bundle)
    raw = socket.create_connection(("127.0.0.1", fake.port), timeout=10)
    return context.wrap_socket(raw, server_hostname="127.0.0.1")


class HalfClosingClient:
    """A TLS client that can stop sending (a TCP half-close, no close_notify, as a client that
    crashed mid-request) and still read and decrypt what the server answers. ``ssl.SSLSocket``
    cannot: its ``shutdown()`` drops the TLS layer."""

    def __init__(self, fake: FakeACME) -> None:
        context = ssl.create_default_context(cafile=fake.ca_bundle)
        self._in, self._out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._in, self._out, server_hostname="127.0.0.1")
        self._sock = socket.create_connection(("127.0.0.1", fake.port), timeout=10)
        while True:
            try:
                self._tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush()
                self._in.write(self._sock.recv(65536))
        self._flush()

    def _flush(self) -> None:
        pending = self._out.read()
        if pending:
            self._sock.sendall(pending)

    def send(self, data: bytes) -> None:
        self._tls.write(data)
        self._flush()

    def stop_sending(self) -> None:
        self._sock.shutdown(socket.SHUT_WR)

    def read_all(self) -> bytes:
        """Everything the server sends until it closes (bounded by the 10 s timeout). A
        server's OpenSSL that meets the half-close mid-record ends with a fatal alert (it calls
        the EOF unexpected): that ends the answer too."""
        received = b""
        while True:
            try:
                received += self._tls.read(65536)
                continue
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError:
                return received
            try:
                data = self._sock.recv(65536)
            except ConnectionResetError:
                return received
            if not data:
                return received
            self._in.write(data)

    def close(self) -> None:
        self._sock.close()


def _parse(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines if ": " in line)
    return int(status_line.split()[1]), headers, body


def _request_head(fake: FakeACME, path: str, **headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{fake.port}",
             "Content-Type: application/jose+json"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _still_serves(fake: FakeACME) -> None:
    client = RawClient(fake)
    client.register()
    assert client.new_order("after.example").status_code == 201


@pytest.fixture
def own_fake() -> Iterator[FakeACME]:
    """A fake of its own, which the test stops itself: ``stop()`` joins the connection
    threads, so what they raised is known when it returns."""
    before = set(threading.enumerate())
    fake = FakeACME(dns_port=None).start()
    yield fake
    fake.stop()
    assert _fake_threads(before) == []


@pytest.mark.parametrize("sent", [b"", b"POST /acme/new-order HTTP/1.1\r\nHost: 127.0.0.1\r\nCont",
                                  b"POST /acme/new-ord"],
                         ids=["after-the-handshake", "mid-headers", "mid-request-line"])
def test_a_client_that_hangs_up_mid_request_leaves_the_server_serving(
    own_fake: FakeACME, sent: bytes
) -> None:
    sock = _tls(own_fake)
    sock.sendall(sent)
    sock.close()

    _still_serves(own_fake)
    own_fake.stop()  # joins the hung-up client's connection thread
    assert own_fake.errors == []


def test_a_client_that_hangs_up_mid_headers_gets_no_answer_it_cannot_read(
    own_fake: FakeACME,
) -> None:
    # Half-closed instead of closed: the client reads whatever the server makes of it.
    client = HalfClosingClient(own_fake)
    client.send(b"POST /acme/new-order HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty")
    client.stop_sending()
    answer = client.read_all()
    client.close()

    assert answer == b"" or _parse(answer)[0] < 500
    _still_serves(own_fake)
    own_fake.stop()
    assert own_fake.errors == []


def test_a_client_that_sends_a_partial_body_then_closes_leaves_the_server_serving(
    own_fake: FakeACME,
) -> None:
    sock = _tls(own_fake)
    sock.sendall(_request_head(own_fake, "/acme/new-order", Content_Length="1000") + b'{"pro')
    sock.close()

    _still_serves(own_fake)
    own_fake.stop()  # joins the connection thread that read the short body
    assert own_fake.errors == []


def test_a_partial_body_is_the_clients_fault_not_a_bug_of_the_fake(own_fake: FakeACME) -> None:
    # Found by this file: werkzeug's ClientDisconnected escaped as a 500 and was
    # reported as a bug of the fake, failing the test that used it.
    client = HalfClosingClient(own_fake)
    client.send(_request_head(own_fake, "/acme/new-order", Content_Length="1000") + b'{"pro')
    client.stop_sending()
    answer = client.read_all()
    client.close()
    own_fake.stop()

    assert answer == b"" or _parse(answer)[0] < 500, answer[:300]
    assert own_fake.errors == []


def test_a_body_above_the_cap_is_refused_without_being_read(own_fake: FakeACME) -> None:
    client = HalfClosingClient(own_fake)
    # Announce a gigabyte and send a little, and keep the connection open: the server must
    # answer without waiting for the rest (the 10 s timeout fails the test if it waits).
    client.send(_request_head(own_fake, "/acme/new-order", Content_Length=str(10 ** 9))
                + b"{" + b" " * 1000)
    answer = client.read_all()
    client.close()

    status, headers, body = _parse(answer)
    assert status == 403, answer[:300]
    assert headers["Content-Type"] == "application/problem+json"
    assert headers["Replay-Nonce"]
    assert headers["Connection"] == "close"
    problem = json.loads(body)
    assert problem["type"] == ACME_ERROR_PREFIX + "unauthorized"
    assert "too large" in problem["detail"]
    _still_serves(own_fake)


def test_a_chunked_body_above_the_cap_is_refused_once_the_cap_is_passed(
    own_fake: FakeACME,
) -> None:
    # Found by this file: a chunked body was read whole before the cap applied.
    cap = own_fake.settings.max_request_body
    client = HalfClosingClient(own_fake)
    # A 100 MB chunk is announced and only cap + 1 bytes of it are sent. A server that stops
    # at the cap answers 403; one that reads on meets the end of the stream (half-close).
    client.send(_request_head(own_fake, "/acme/new-order", Transfer_Encoding="chunked")
                + b"%x\r\n" % (100 * 2 ** 20) + b"a" * (cap + 1))
    client.stop_sending()
    answer = client.read_all()
    client.close()
    own_fake.stop()

    assert answer, "no answer"
    assert _parse(answer)[0] == 403, answer[:300]
    assert own_fake.errors == []


# The VA's loopback fence.


def test_the_host_map_stores_any_address_and_clears_the_permission(fake_acme: FakeACME) -> None:
    # Records pointing away from this machine are stored and served (suites written for
    # challtestsrv resolve such names); the VA's fence is at connect time (the tests below).
    dns = fake_acme.dns
    dns.add_a("x.example", "192.0.2.1")
    dns.add_aaaa("x.example", "2001:db8::1")
    assert dns.lookup_addresses("x.example") == (["2001:db8::1"], ["192.0.2.1"])
    with pytest.raises(FakeACMEUsageError, match="IPv6"):
        dns.add_a("x.example", "::1")
    with pytest.raises(FakeACMEUsageError, match="not an IP address"):
        dns.add_a("x.example", "nope")
    dns.allow_non_loopback = True
    dns.clear()
    assert dns.allow_non_loopback is False
    assert dns.lookup_addresses("x.example") == ([], ["127.0.0.1"])


@pytest.mark.parametrize("allowed", [False, True])
def test_the_va_dials_a_name_beyond_loopback_only_when_allowed(
    own_fake: FakeACME, allowed: bool
) -> None:
    # 0.0.0.0 is not a loopback address, yet Linux delivers a connection to it locally (see
    # below): a VA that dials it shows up as a connection waiting on this listener.
    own_fake.dns.add_a("far.example", "0.0.0.0")
    own_fake.dns.allow_non_loopback = allowed
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", own_fake.http01_port))
        listener.listen(8)
        listener.settimeout(10 if allowed else 0)
        client = AcmeTestClient(own_fake)
        client.register()
        order = client.new_order("far.example")
        client.answer_http01(order)
        if allowed:
            conn, _ = listener.accept()  # the VA came: answer nothing useful
            conn.close()
        (authz,) = own_fake.authorizations  # waits for the attempt
        if not allowed:
            with pytest.raises(BlockingIOError):
                listener.accept()  # nobody dialed
    (chall,) = authz.challenges
    assert chall.error is not None
    if allowed:
        assert "0.0.0.0: " in chall.error.detail, chall.error.detail
    else:
        assert [type(e).__name__ for e in own_fake.errors] == ["ScriptError"]
        assert chall.error.detail == (
            "Unable to update challenge :: the fake's VA does not contact 0.0.0.0 "
            "(far.example resolves to it): it is not a loopback address. Point the name at a "
            "loopback address, script the outcome, or set fake_acme.dns.allow_non_loopback = True"
        )


def test_the_va_does_not_dial_an_ip_identifier_outside_loopback(
    own_fake: FakeACME, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Found by this file: the fence covered names and redirects, not IP identifiers. The
    # address is a public one, as Let's Encrypt's policy refuses every IANA special-purpose
    # block (policy/pa.go:347-369; 0.0.0.0, which this test once used, is one of them); a
    # guard on connect() keeps anything from leaving this machine should the fence regress.
    dialed: list[Any] = []
    connect = socket.socket.connect

    def guarded(sock: socket.socket, address: Any) -> None:
        if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1", "localhost"):
            dialed.append(address)
            raise OSError("the test's guard: no connection beyond loopback")
        connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    client = AcmeTestClient(own_fake)
    client.register()
    order = client.acme.new_order(make_ip_csr("198.51.99.1"), profile="shortlived")
    client.answer_http01(order)
    (authz,) = own_fake.authorizations  # waits for the attempt

    assert dialed == []
    assert authz.status == "invalid"
    (chall,) = authz.challenges
    assert chall.error is not None
    assert "not a loopback address" in chall.error.detail, chall.error.detail
    assert "allow_non_loopback" in chall.error.detail
    with pytest.raises(messages.Error, match=r"\[RFC1122\], Section 3.2.1.3: "
                       r'"This host on this network"'):
        client.acme.new_order(make_ip_csr("0.0.0.0"), profile="shortlived")
