"""Persistent connections on the fake's HTTPS server (RFC 9112 section 9).

HTTP/1.1 connections persist unless a side says ``close`` (RFC 9112 9.3), an HTTP/1.0 client
asks for persistence with ``Connection: keep-alive`` (9.3, and appendix C.2.2), and a server
closes after answering a request that said ``close`` (9.6). Persistence only works while both
sides agree where each message ends (RFC 9112 6.3): a HEAD answer's Content-Length announces a
body that is not sent, an unread request body must be consumed before the next request line.

Every test talks to the server over real TLS sockets on 127.0.0.1. Most write the request bytes
by hand and read the answers with the small parser below, so that a byte out of place on the
wire shows: a body after a HEAD answer, or an undrained request body, would be read as the
next status line and fail to parse.
"""

from __future__ import annotations

import email.utils
import http.client
import io
import json
import re
import select
import socket
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import urlsplit

import pytest
import urllib3.connection
from werkzeug.test import EnvironBuilder

from client import AcmeTestClient
from pytest_fakeacme import FakeACME
from pytest_fakeacme.transport import _BODY_READ_LIMIT, _DRAIN_LIMIT
from responder import Responder

#: Bounds every wait on a socket or a thread; answers on loopback take milliseconds.
TIMEOUT = 5.0

ACME_ERROR = "urn:ietf:params:acme:error:"
JOSE_JSON = "application/jose+json"
_STATUS_LINE = re.compile(rb"(HTTP/\d\.\d) (\d{3}) ([^\r\n]*)\r\n")


@dataclass
class Answer:
    """One HTTP answer as it came off the wire."""

    version: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        assert len(values) <= 1, f"{name} sent {len(values)} times: {values}"
        return values[0] if values else None

    def json(self) -> Any:
        return json.loads(self.body)


def read_answer(reader: IO[bytes], method: str = "GET") -> Answer:
    """Parse one answer from ``reader``: its head, then exactly the body its framing announces
    (RFC 9112 6.3): none for HEAD, 1xx, 204 and 304, else Content-Length bytes, else (with
    ``Connection: close``) everything up to the end of the connection."""
    line = reader.readline()
    assert line, "the connection ended before an answer"
    match = _STATUS_LINE.fullmatch(line)
    assert match is not None, f"not a status line: {line!r}"
    headers: list[tuple[str, str]] = []
    while (field := reader.readline()) != b"\r\n":
        assert field.endswith(b"\r\n"), f"header line cut short: {field!r}"
        name, sep, value = field.decode("latin-1").partition(":")
        assert sep, f"not a header line: {field!r}"
        headers.append((name, value.strip()))
    answer = Answer(match[1].decode(), int(match[2]), match[3].decode("latin-1"), headers, b"")
    length = answer.header("Content-Length")
    if method == "HEAD" or answer.status < 200 or answer.status in (204, 304):
        return answer
    if length is not None:
        answer.body = reader.read(int(length))
        assert len(answer.body) == int(length), "the body ended early"
    else:
        assert answer.header("Connection") == "close", "no Content-Length on a kept connection"
        answer.body = reader.read()
    return answer


def read_final_answer(reader: IO[bytes], method: str = "GET") -> tuple[list[Answer], Answer]:
    """The interim (1xx) answers, then the final one."""
    interim = []
    answer = read_answer(reader, method)
    while answer.status < 200:
        interim.append(answer)
        answer = read_answer(reader, method)
    return interim, answer


class Wire:
    """A raw TLS connection to the fake, for writing requests byte by byte."""

    def __init__(self, fake: FakeACME) -> None:
        context = ssl.create_default_context(cafile=fake.ca_bundle)
        raw = socket.create_connection(("127.0.0.1", fake.port), timeout=TIMEOUT)
        self.sock = context.wrap_socket(raw, server_hostname="127.0.0.1")
        self.reader = self.sock.makefile("rb")
        self.authority = f"127.0.0.1:{fake.port}"

    def send(
        self,
        method: str,
        path: str,
        *,
        version: str = "HTTP/1.1",
        headers: Sequence[tuple[str, str]] = (),
        body: bytes = b"",
    ) -> None:
        self.sock.sendall(request_bytes(self.authority, method, path, version, headers, body))

    def answer(self, method: str = "GET") -> Answer:
        return read_answer(self.reader, method)

    def rest(self) -> bytes:
        """Everything the server still sends, up to the end of the connection."""
        return self.reader.read()

    def close(self) -> None:
        self.reader.close()
        self.sock.close()

    def __enter__(self) -> Wire:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def request_bytes(
    authority: str,
    method: str,
    path: str,
    version: str = "HTTP/1.1",
    headers: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
) -> bytes:
    """A request message; Content-Length is added for a body unless the headers frame it."""
    fields = [("Host", authority), *headers]
    framed = {name.lower() for name, _ in fields} & {"content-length", "transfer-encoding"}
    if body and not framed:
        fields.append(("Content-Length", str(len(body))))
    head = f"{method} {path} {version}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields)
    return (head + "\r\n").encode("latin-1") + body


@pytest.fixture
def wire(fake_acme: FakeACME) -> Iterator[Wire]:
    with Wire(fake_acme) as connection:
        yield connection


def directory(fake: FakeACME) -> dict[str, Any]:
    """The directory, fetched on a connection of its own."""
    context = ssl.create_default_context(cafile=fake.ca_bundle)
    with urllib.request.urlopen(fake.directory_url, context=context, timeout=TIMEOUT) as answer:
        result: dict[str, Any] = json.load(answer)
    return result


def path_of(url: str) -> str:
    return urlsplit(url).path


def connection_threads(fake: FakeACME) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"fakeacme-conn-{fake.port}"]


def assert_directory(answer: Answer, fake: FakeACME) -> None:
    """A complete, parseable directory answer: proof the stream was in sync up to its end."""
    assert (answer.status, answer.header("Content-Type")) == (200, "application/json")
    assert answer.json()["newNonce"].startswith(fake.base_url + "/")


def assert_problem(answer: Answer, status: int, kind: str, detail: str | None = None) -> None:
    assert answer.status == status
    assert answer.header("Content-Type") == "application/problem+json"
    problem = answer.json()
    assert (problem["type"], problem["status"]) == (ACME_ERROR + kind, status)
    if detail is not None:
        assert problem["detail"] == detail


# 1. Several requests on one connection.


def test_one_connection_carries_several_requests() -> None:
    with FakeACME() as fake:
        context = ssl.create_default_context(cafile=fake.ca_bundle)
        conn = http.client.HTTPSConnection("127.0.0.1", fake.port, context=context,
                                           timeout=TIMEOUT)
        try:
            sockets: list[socket.socket | None] = []
            answers = []
            for method, path in [
                ("GET", "/directory"),
                ("HEAD", "/acme/new-nonce"),
                ("GET", "/directory"),
            ]:
                conn.request(method, path)
                answer = conn.getresponse()
                body = answer.read()
                answers.append((answer.version, answer.status, answer.getheader("Connection"),
                                answer.will_close, len(body)))
                # http.client drops (None) its socket after an answer that ends the
                # connection, and opens a new one for the next request.
                sockets.append(conn.sock)
            assert sockets[0] is not None
            assert sockets == [sockets[0]] * 3
            directory_length = answers[0][4]
            assert directory_length > 0
            assert answers == [
                (11, 200, None, False, directory_length),
                (11, 200, None, False, 0),
                (11, 200, None, False, directory_length),
            ]
            # The server's side of the same story: one connection, served by one thread.
            assert len(connection_threads(fake)) == 1
        finally:
            conn.close()


def test_pipelined_requests_are_answered_in_order_on_one_connection(
    fake_acme: FakeACME, wire: Wire
) -> None:
    # Three requests in one write: each answer must end exactly where its framing says, or
    # the next one does not parse. HEAD and the 204 of GET newNonce carry no body.
    requests = [("HEAD", "/directory"), ("GET", "/acme/new-nonce"), ("GET", "/directory")]
    wire.sock.sendall(b"".join(request_bytes(wire.authority, m, p) for m, p in requests))
    head, nonce, full = (wire.answer(method) for method, _ in requests)
    assert (head.status, nonce.status) == (200, 204)
    assert nonce.header("Content-Length") is None
    assert nonce.header("Replay-Nonce")
    assert_directory(full, fake_acme)
    assert head.header("Content-Length") == str(len(full.body))
    assert [a.header("Connection") for a in (head, nonce, full)] == [None, None, None]


# 2. HEAD answers: a Content-Length, no body, and the stream stays in sync.


def test_head_answers_carry_a_length_and_no_body(fake_acme: FakeACME, wire: Wire) -> None:
    new_nonce = path_of(directory(fake_acme)["newNonce"])
    wire.send("HEAD", new_nonce)
    nonce = wire.answer("HEAD")
    assert nonce.status == 200
    assert nonce.header("Content-Length") == "0"
    assert nonce.header("Replay-Nonce")
    wire.send("HEAD", "/directory")
    head = wire.answer("HEAD")
    assert head.status == 200
    announced = head.header("Content-Length")
    assert announced is not None
    assert int(announced) > 0
    # Had the server sent the body anyway, it would be read here as the next status line.
    wire.send("GET", "/directory")
    full = wire.answer()
    assert_directory(full, fake_acme)
    assert int(announced) == len(full.body)
    wire.send("HEAD", new_nonce)
    assert wire.answer("HEAD").header("Replay-Nonce") not in (None, nonce.header("Replay-Nonce"))


# 3. The client says close.


def test_connection_close_from_the_client_is_echoed_and_the_server_closes(
    fake_acme: FakeACME, wire: Wire
) -> None:
    wire.send("GET", "/directory")
    kept = wire.answer()
    assert kept.header("Connection") is None
    wire.send("GET", "/directory", headers=[("Connection", "close")])
    closing = wire.answer()
    assert_directory(closing, fake_acme)
    assert closing.header("Connection") == "close"
    assert wire.rest() == b""


# 4. HTTP/1.0: closed unless it asks for keep-alive.


def test_http10_request_without_keep_alive_is_answered_then_closed(
    fake_acme: FakeACME, wire: Wire
) -> None:
    wire.send("GET", "/directory", version="HTTP/1.0")
    answer = wire.answer()
    assert_directory(answer, fake_acme)
    assert answer.header("Connection") == "close"
    assert wire.rest() == b""


def test_http10_request_with_keep_alive_keeps_the_connection(
    fake_acme: FakeACME, wire: Wire
) -> None:
    keep_alive = [("Connection", "keep-alive")]
    wire.send("GET", "/directory", version="HTTP/1.0", headers=keep_alive)
    first = wire.answer()
    assert_directory(first, fake_acme)
    # An HTTP/1.0 client only knows the connection persists if the answer says so.
    assert first.header("Connection") == "keep-alive"
    new_nonce = path_of(first.json()["newNonce"])
    wire.send("HEAD", new_nonce, version="HTTP/1.0", headers=keep_alive)
    second = wire.answer("HEAD")
    assert (second.status, second.header("Connection")) == (200, "keep-alive")
    assert second.header("Replay-Nonce")
    # Without keep-alive, the third one ends it.
    wire.send("GET", "/directory", version="HTTP/1.0")
    third = wire.answer()
    assert_directory(third, fake_acme)
    assert third.header("Connection") == "close"
    assert wire.rest() == b""


# 5. A body the app does not read is consumed (up to the read limit) and the connection kept.

#: A body that parses as requests if it is ever taken for the next message.
_DECOY = b"GET /decoy HTTP/1.1\r\nHost: decoy\r\n\r\n"


def test_unread_post_body_is_consumed_and_the_connection_kept(
    fake_acme: FakeACME, wire: Wire
) -> None:
    body = _DECOY * (64 * 1024 // len(_DECOY))
    # PUT: Boulder serves POST at the directory (POST-as-GET, wfe2/wfe.go:465), so a method it
    # refuses is what leaves the body unread; its Allow lists GET, POST, HEAD (306-316).
    wire.send("PUT", "/directory", headers=[("Content-Type", JOSE_JSON)], body=body)
    refused = wire.answer()
    assert_problem(refused, 405, "malformed", "Method not allowed")
    assert refused.header("Allow") == "GET, POST, HEAD"
    assert refused.header("Connection") is None
    wire.send("GET", "/directory")
    assert_directory(wire.answer(), fake_acme)
    # The decoys were swallowed, not served.
    assert [e.endpoint for e in fake_acme.journal.requests()] == ["directory", "directory"]


@pytest.mark.parametrize("size", ["max_request_body + 1", "read limit"])
def test_refused_oversized_body_within_the_read_limit_keeps_the_connection(
    fake_acme: FakeACME, wire: Wire, size: str
) -> None:
    # The app refuses by Content-Length without reading a byte; the handler reads it all.
    length = fake_acme.settings.max_request_body + 1 if size != "read limit" else _BODY_READ_LIMIT
    body = (_DECOY * (length // len(_DECOY) + 1))[:length]
    new_account = path_of(directory(fake_acme)["newAccount"])
    wire.send("POST", new_account, headers=[("Content-Type", JOSE_JSON)], body=body)
    refused = wire.answer()
    assert_problem(refused, 403, "unauthorized", "Unable to validate JWS :: request body too large")
    assert refused.header("Connection") is None
    wire.send("GET", "/directory")
    assert_directory(wire.answer(), fake_acme)


def test_a_body_cut_short_is_malformed(fake_acme: FakeACME) -> None:
    # The client announced 100 bytes and its stream ended after 10 (RFC 9112 8: incomplete).
    # Driven through the WSGI app: over TLS, a half-closed client cannot read the answer.
    new_account = directory(fake_acme)["newAccount"]
    parts = urlsplit(new_account)
    environ = EnvironBuilder(
        path=parts.path, base_url=f"https://{parts.netloc}", method="POST",
        input_stream=io.BytesIO(b"0123456789"),
        headers=[("Content-Type", JOSE_JSON)],
    ).get_environ()
    environ["CONTENT_LENGTH"] = "100"  # the builder would count the 10 bytes itself
    seen: list[str] = []
    body = b"".join(fake_acme.wsgi_app(environ, lambda status, headers: seen.append(status)))
    assert seen[0].startswith("400 ")
    problem = json.loads(body)
    assert problem["type"] == "urn:ietf:params:acme:error:malformed"
    assert problem["detail"] == "Unable to validate JWS :: the request body could not be read"
    assert fake_acme.journal.requests("newAccount")[-1].status == 400


# 6. Beyond the read limit: refused, and the connection closed.


def exchange(sock: ssl.SSLSocket, data: bytes) -> tuple[bytes, int, OSError | None]:
    """Write ``data`` while reading whatever comes back, until the server ends the connection.

    One thread and a non-blocking socket: no deadlock when the server stops reading while we
    still have megabytes to write, and no use of one TLS connection from two threads (OpenSSL
    does not allow it). Returns what was received, how much was sent, and the error that ended
    the connection (None: a clean end of stream).
    """
    deadline = time.monotonic() + TIMEOUT
    received = bytearray()
    sent = 0
    writing = True
    sock.setblocking(False)
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no end of connection; got {bytes(received[:300])!r}"
        if not sock.pending():
            select.select([sock], [sock] if writing else [], [], remaining)
        try:
            chunk = sock.recv(64 * 1024)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
        except OSError as exc:  # a reset once the server closed on our unread bytes
            return bytes(received), sent, exc
        else:
            if not chunk:
                return bytes(received), sent, None
            received += chunk
        if writing:
            try:
                sent += sock.send(data[sent : sent + 64 * 1024])
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
            except OSError:  # the server closed: stop writing, keep reading
                writing = False
            writing = writing and sent < len(data)


def test_body_beyond_the_read_limit_is_refused_and_the_connection_closed(
    fake_acme: FakeACME, wire: Wire
) -> None:
    length = _BODY_READ_LIMIT + fake_acme.settings.max_request_body + 1
    new_account = path_of(directory(fake_acme)["newAccount"])
    message = request_bytes(wire.authority, "POST", new_account,
                            headers=[("Content-Type", JOSE_JSON)], body=b"x" * length)
    received, _sent, _error = exchange(wire.sock, message)
    stream = io.BytesIO(received)
    refused = read_answer(stream)
    assert_problem(refused, 403, "unauthorized", "Unable to validate JWS :: request body too large")
    assert refused.header("Connection") == "close"
    assert stream.read() == b""  # one answer, then the end of the connection
    (entry,) = fake_acme.journal.requests("newAccount")
    assert entry.status == 403


def test_a_client_that_sends_tens_of_megabytes_before_reading_gets_the_problem(
    fake_acme: FakeACME, wire: Wire
) -> None:
    # A naive client writes its whole body, then reads. The fake answers early, then reads and
    # discards the rest before closing: closing on unread bytes would reset the connection and
    # the client would see an EOF instead of the problem document.
    length = 20 << 20
    new_account = path_of(directory(fake_acme)["newAccount"])
    message = request_bytes(wire.authority, "POST", new_account,
                            headers=[("Content-Type", JOSE_JSON)], body=b"x" * length)
    wire.sock.settimeout(TIMEOUT)
    wire.sock.sendall(message)  # blocking, all of it
    stream = wire.sock.makefile("rb")
    refused = read_answer(stream)
    assert_problem(refused, 403, "unauthorized", "Unable to validate JWS :: request body too large")
    assert refused.header("Connection") == "close"
    assert stream.read() == b""


def test_a_body_announced_beyond_the_drain_limit_is_refused_without_waiting_for_it(
    fake_acme: FakeACME, wire: Wire
) -> None:
    # The fake refuses by Content-Length, reading none of the body. Within the drain limit it
    # would then wait for the body to discard it; past it, it closes at once. So a client that
    # sends the head alone gets the answer and the end of the connection. (One still writing
    # the body would see its connection reset, its bytes unread.)
    length = _DRAIN_LIMIT + 1
    new_account = path_of(directory(fake_acme)["newAccount"])
    wire.sock.sendall(request_bytes(wire.authority, "POST", new_account, headers=[
        ("Content-Type", JOSE_JSON), ("Content-Length", str(length))]))
    stream = wire.sock.makefile("rb")
    refused = read_answer(stream)
    assert_problem(refused, 403, "unauthorized", "Unable to validate JWS :: request body too large")
    assert refused.header("Connection") == "close"
    assert stream.read() == b""  # the end of the connection, not a wait for the rest


# 7. Chunked request bodies take werkzeug's path, which closes.


def test_chunked_post_gets_a_problem_and_connection_close(
    fake_acme: FakeACME, wire: Wire
) -> None:
    new_account = path_of(directory(fake_acme)["newAccount"])
    chunked = b"1\r\n{\r\n2\r\n\"x\r\n0\r\n\r\n"
    wire.send("POST", new_account, body=chunked,
              headers=[("Content-Type", JOSE_JSON), ("Transfer-Encoding", "chunked")])
    answer = wire.answer()
    assert 400 <= answer.status < 500
    assert_problem(answer, 400, "malformed")
    assert answer.header("Connection") == "close"
    assert wire.rest() == b""
    # The body was dechunked, not taken as the next request.
    (entry,) = fake_acme.journal.requests("newAccount")
    assert entry.body == b'{"x'


# 8. An invalid Content-Length gets an answer, never a 5xx.


@pytest.mark.parametrize("value", ["abc", "-5", "+5", "0x10", "1e3", "5, 5", ""])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_invalid_content_length_gets_an_answer_and_the_server_keeps_serving(
    fake_acme: FakeACME, wire: Wire, method: str, value: str
) -> None:
    path = "/directory" if method == "GET" else "/acme/new-acct"
    wire.send(method, path, body=b"{}",
              headers=[("Content-Type", JOSE_JSON), ("Content-Length", value)])
    answer = wire.answer()
    # RFC 9112 6.3: a body that cannot be delimited is a 400, and the connection closes.
    assert answer.status == 400
    assert answer.json()["type"] == "urn:ietf:params:acme:error:malformed"
    assert answer.json()["detail"].startswith("Unable to read the request: the request's "
                                              "Content-Length header is not a number")
    assert bool(answer.header("Replay-Nonce")) == (method == "POST")  # RFC 8555 6.5
    assert answer.header("Connection") == "close"
    # Whatever was read of the request, no second answer comes from its leftovers.
    assert wire.rest() == b""
    with Wire(fake_acme) as other:
        other.send("GET", "/directory")
        assert_directory(other.answer(), fake_acme)


# 9. Expect: 100-continue.


def test_expect_100_continue_gets_an_interim_answer_before_the_body_is_sent(
    fake_acme: FakeACME, wire: Wire
) -> None:
    new_account = path_of(directory(fake_acme)["newAccount"])
    body = b'{"x'
    # The client holds the body back until the server says to go on (RFC 9110 10.1.1).
    wire.send("POST", new_account, headers=[
        ("Content-Type", JOSE_JSON), ("Content-Length", str(len(body))),
        ("Expect", "100-continue"),
    ])
    go_on = wire.answer("POST")
    assert (go_on.version, go_on.status, go_on.reason) == ("HTTP/1.1", 100, "Continue")
    assert go_on.headers == []
    wire.sock.sendall(body)
    _interim, final = read_final_answer(wire.reader, "POST")
    # The final answer is about the body sent after the 100: it was read.
    assert_problem(final, 400, "malformed")
    (entry,) = fake_acme.journal.requests("newAccount")
    assert entry.body == body
    assert final.header("Connection") is None
    wire.send("GET", "/directory")
    assert_directory(wire.answer(), fake_acme)


# 10. A whole issuance with certbot's acme library: one TCP connection.


def test_issuance_with_the_acme_library_uses_one_connection(
    fake_acme: FakeACME, responder: Responder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # acme's ClientNetwork keeps one requests.Session (one HTTPAdapter for https://) for its
    # life; urllib3 reuses a pooled connection while the server keeps it open. urllib3's
    # num_connections does not count a dropped pooled connection that reconnects, so every
    # TCP+TLS connect is counted where it happens.
    connects: list[tuple[str, int]] = []
    real_connect: Callable[[urllib3.connection.HTTPSConnection], None] = (
        urllib3.connection.HTTPSConnection.connect
    )

    def counting_connect(self: urllib3.connection.HTTPSConnection) -> None:
        connects.append((self.host, self.port))
        real_connect(self)

    monkeypatch.setattr(urllib3.connection.HTTPSConnection, "connect", counting_connect)
    client = AcmeTestClient(fake_acme)
    client.register(email="tester@a.example")
    try:
        order = client.issue("a.example", "b.example", responder=responder)
        assert order.fullchain_pem
        served = fake_acme.journal.requests()
        assert len(served) >= 10
        assert connects == [("127.0.0.1", fake_acme.port)]
        adapter = client.net.session.adapters["https://"]
        pools = adapter.poolmanager.pools  # type: ignore[attr-defined]
        (key,) = pools.keys()
        pool = pools[key]
        # Every request the server answered came through that one pooled connection.
        assert (pool.num_connections, pool.num_requests) == (1, len(served))
    finally:
        client.net.session.close()


# 11. stop() does not wait for an idle keep-alive client.


def test_stop_returns_promptly_while_a_client_holds_an_idle_connection() -> None:
    fake = FakeACME().start()
    try:
        context = ssl.create_default_context(cafile=fake.ca_bundle)
        conn = http.client.HTTPSConnection("127.0.0.1", fake.port, context=context,
                                           timeout=TIMEOUT)
        conn.request("GET", "/directory")
        answer = conn.getresponse()
        assert answer.status == 200
        answer.read()
        sock = conn.sock
        assert sock is not None  # kept open, idle
        (thread,) = connection_threads(fake)
        assert thread.is_alive()
        started = time.monotonic()
        fake.stop()
        took = time.monotonic() - started
        # The idle timeout is 30 s; a stop that waited for it would show.
        assert took < 2.0, f"stop() took {took:.2f} s"
        thread.join(timeout=TIMEOUT)
        assert not thread.is_alive()
        assert connection_threads(fake) == []
        # The client sees its connection end.
        assert sock.recv(1) == b""
        conn.close()
    finally:
        fake.stop()


# 12. The drop fault on a kept connection.


def test_drop_fault_ends_a_kept_connection_without_an_answer(
    fake_acme: FakeACME, wire: Wire
) -> None:
    wire.send("GET", "/directory")
    new_nonce = path_of(wire.answer().json()["newNonce"])
    fake_acme.faults.drop(endpoint="newNonce")
    wire.send("HEAD", new_nonce)
    assert wire.rest() == b""  # not one byte of an answer
    with Wire(fake_acme) as fresh:
        fresh.send("HEAD", new_nonce)
        answer = fresh.answer("HEAD")
        assert answer.status == 200
        assert answer.header("Replay-Nonce")
    assert [e.status for e in fake_acme.journal.requests("newNonce")] == [0, 200]


# Deviations from RFC 9110/9112 found while writing these tests, now fixed: one interim answer
# per 100-continue and none to HTTP/1.0; conflicting Content-Lengths refused (no smuggling);
# "close" honoured inside a list of options; a Date on every answer.


def test_expect_100_continue_gets_exactly_one_interim_answer(
    fake_acme: FakeACME, wire: Wire
) -> None:
    body = b'{"x'
    wire.send("POST", "/acme/new-acct", headers=[
        ("Content-Type", JOSE_JSON), ("Content-Length", str(len(body))),
        ("Expect", "100-continue"),
    ])
    assert wire.answer("POST").status == 100
    wire.sock.sendall(body)
    assert wire.answer("POST").status == 400  # the final answer, no second 100


def test_http10_expect_100_continue_is_ignored(fake_acme: FakeACME, wire: Wire) -> None:
    # PUT, which the directory refuses (wfe2/wfe.go:355-359): a POST there is a POST-as-GET.
    wire.send("PUT", "/directory", version="HTTP/1.0", body=b"{}",
              headers=[("Expect", "100-continue")])
    assert wire.answer().status == 405


def test_conflicting_content_lengths_are_refused_and_the_connection_closed(
    fake_acme: FakeACME, wire: Wire
) -> None:
    # Framed by the first field, the decoy is a second request; by the last, it is the body.
    wire.send("POST", "/directory", body=_DECOY, headers=[
        ("Content-Length", "0"), ("Content-Length", str(len(_DECOY))),
    ])
    answer = wire.answer()
    assert answer.status == 400
    assert answer.json() == {
        "type": "urn:ietf:params:acme:error:malformed",
        "detail": "Unable to read the request: the request has more than one Content-Length "
                  "header",
        "status": 400,
    }
    assert answer.header("Connection") == "close"
    assert wire.rest() == b""
    # The decoy was never served as a request of its own.
    assert [e.url.rsplit("/", 1)[-1] for e in fake_acme.journal.requests()][-1] == "directory"


def test_close_among_other_connection_options_closes(fake_acme: FakeACME, wire: Wire) -> None:
    wire.send("GET", "/directory", headers=[("TE", "deflate"), ("Connection", "TE, close")])
    answer = wire.answer()
    assert answer.header("Connection") == "close"
    assert wire.rest() == b""


def test_answers_carry_a_date_on_the_fakes_clock(fake_acme: FakeACME, wire: Wire) -> None:
    # RFC 9110 6.6.1; the fake's clock, so that Date agrees with the certificates it issues.
    fake_acme.clock.advance(days=40)
    wire.send("GET", "/directory")
    date = email.utils.parsedate_to_datetime(wire.answer().header("Date") or "")
    assert abs((date - fake_acme.clock.now()).total_seconds()) < 5
    # The chunked path (werkzeug's own) shows the same clock.
    with Wire(fake_acme) as other:
        other.sock.sendall(
            f"POST /acme/new-acct HTTP/1.1\r\nHost: {other.authority}\r\n"
            "Content-Type: application/jose+json\r\nTransfer-Encoding: chunked\r\n\r\n"
            "2\r\n{}\r\n0\r\n\r\n".encode()
        )
        chunked = other.answer("POST")
        date = email.utils.parsedate_to_datetime(chunked.header("Date") or "")
        assert abs((date - fake_acme.clock.now()).total_seconds()) < 5


def test_waiting_until_quiet_counts_the_work_of_others_not_the_callers() -> None:
    import datetime as dt

    from pytest_fakeacme.transport import Server, ServerIdentity, bind

    holding, release = threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ["PATH_INFO"] == "/hold":
            holding.set()
            release.wait(30)
        else:
            # A request that asks (the management API could) does not wait for itself.
            seen[environ["PATH_INFO"]] = server.wait_until_quiet(timeout=0)
        start_response("200 OK", [("Content-Length", "0")])
        return [b""]

    identity = ServerIdentity(roots_pem="")
    server = Server(bind("127.0.0.1", 0), app, identity.tls,
                    lambda: dt.datetime.now(dt.timezone.utc))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    context = ssl.create_default_context(cafile=identity.ca_bundle)

    def get(path: str) -> None:
        urllib.request.urlopen(f"https://127.0.0.1:{server.port}{path}", context=context,
                               timeout=30).close()

    try:
        get("/alone")
        held = threading.Thread(target=get, args=("/hold",))
        held.start()
        assert holding.wait(30)
        get("/beside-a-held-request")
        assert not server.wait_until_quiet(timeout=0)  # the held request is in progress
        release.set()
        held.join(30)
        assert server.wait_until_quiet(timeout=30)
        assert seen == {"/alone": True, "/beside-a-held-request": False}
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join(30)
        identity.remove()
