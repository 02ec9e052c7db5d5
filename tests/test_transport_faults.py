"""Transport faults: what the network and the machines in front of a CA do to its answers.

``html_error`` and ``empty_body`` answer in the CA's place; ``truncated_body``,
``connection_reset`` and ``slow_headers`` change how the answer travels. Each is checked on
the wire (raw TLS on 127.0.0.1, read byte by byte), through certbot's ``acme`` library, and
through every way a fault is given: the Python API, its text form (the marker, the ini option,
the management API) and the dashboard's list.

Python's ``ssl`` module reports a TCP reset under a TLS read as an end of file, so the reset
is seen here below TLS: :class:`TlsOverSocket` runs TLS in memory (``ssl.MemoryBIO``) over a
socket the test reads itself, which also shows how the answer was cut into TLS records.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import josepy as jose
import pytest
import requests
from acme import client as acme_client_module
from acme import errors as acme_errors
from acme import messages
from test_connections import TIMEOUT, Wire, directory, path_of, read_answer

from client import AcmeTestClient, make_csr
from pytest_fakeacme import FakeACME, FakeACMEUsageError
from pytest_fakeacme.diagram import labels
from pytest_fakeacme.faults import Fault
from test_plugin import INNER_ACME

JOSE_JSON = "application/jose+json"

#: nginx's 502 page with ``server_tokens off`` (src/http/ngx_http_special_response.c).
NGINX_502 = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
             b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
             b"</body>\r\n</html>\r\n")

#: Each transport fault as a test arms it (slow_headers briefly: it takes real time).
ARM: dict[str, Callable[..., Fault]] = {
    "html_error": lambda faults, **kw: faults.html_error(503, **kw),
    "empty_body": lambda faults, **kw: faults.empty_body(**kw),
    "truncated_body": lambda faults, **kw: faults.truncated_body(**kw),
    "connection_reset": lambda faults, **kw: faults.connection_reset(**kw),
    "slow_headers": lambda faults, **kw: faults.slow_headers(0.05, **kw),
}
#: The status each one's journal entry records (0: no answer reached the client).
JOURNALED = {"html_error": 503, "empty_body": 200, "truncated_body": 200,
             "connection_reset": 0, "slow_headers": 200}


class TlsOverSocket:
    """A TLS client whose TCP stream the test reads itself: a reset raises
    ``ConnectionResetError`` from ``recv``, a close reads as the end, and each TLS record's
    data arrives on its own (``SSL_read`` returns at most one record)."""

    def __init__(self, fake: FakeACME) -> None:
        context = ssl.create_default_context(cafile=fake.ca_bundle)
        self.sock = socket.create_connection(("127.0.0.1", fake.port), timeout=TIMEOUT)
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_hostname="127.0.0.1")
        self.authority = f"127.0.0.1:{fake.port}"
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush()
                self._fill()
        self._flush()

    def _flush(self) -> None:
        data = self.outgoing.read()
        if data:
            self.sock.sendall(data)

    def _fill(self) -> None:
        data = self.sock.recv(65536)  # a reset raises here, below TLS
        if data:
            self.incoming.write(data)
        else:
            self.incoming.write_eof()

    def send(self, method: str, path: str) -> None:
        self.tls.write(f"{method} {path} HTTP/1.1\r\nHost: {self.authority}\r\n\r\n".encode())
        self._flush()

    def record(self) -> bytes:
        """The next TLS record's data (b"" at the end of the connection)."""
        while True:
            try:
                return self.tls.read(65536)
            except ssl.SSLWantReadError:
                self._fill()
            except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
                return b""

    def read_to_end(self) -> list[bytes]:
        """Every record until the connection ends."""
        records = []
        while record := self.record():
            records.append(record)
        return records

    def answer_records(self) -> list[bytes]:
        """The records of one whole answer (its head, then Content-Length bytes of body)."""
        records: list[bytes] = []
        while True:
            records.append(self.record())
            data = b"".join(records)
            assert records[-1], f"the connection ended after {data!r}"
            head, sep, body = data.partition(b"\r\n\r\n")
            if sep:
                length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:"))
                if len(body) >= length:
                    return records

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def wire(fake_acme: FakeACME) -> Iterator[Wire]:
    """A raw TLS connection to the fake (tests/test_connections.py's)."""
    with Wire(fake_acme) as connection:
        yield connection


def fresh_answer(fake: FakeACME, method: str, path: str) -> Any:
    """One request on a connection of its own: the answer, or the exception reading it."""
    with Wire(fake) as wire:
        wire.send(method, path)
        try:
            return wire.answer(method)
        except (AssertionError, OSError) as exc:
            return exc


# html_error


def test_html_error_is_nginxs_page_without_a_nonce_and_the_connection_carries_on(
    fake_acme: FakeACME, wire: Wire
) -> None:
    new_nonce = path_of(directory(fake_acme)["newNonce"])
    fake_acme.faults.html_error(502, endpoint="newNonce", times=2)
    wire.send("HEAD", new_nonce)
    page = wire.answer("HEAD")
    assert (page.status, page.reason) == (502, "Bad Gateway")
    assert [name for name, _ in page.headers] == ["Date", "Content-Type", "Server",
                                                  "Content-Length"]
    assert (page.header("Content-Type"), page.header("Server")) == ("text/html", "nginx")
    assert page.header("Content-Length") == str(len(NGINX_502))
    assert page.header("Replay-Nonce") is None  # newNonce's own answers always have one
    wire.send("GET", new_nonce)
    assert wire.answer().body == NGINX_502
    # Twice, as asked; then the kept connection is answered by the CA.
    wire.send("HEAD", new_nonce)
    nonce = wire.answer("HEAD")
    assert nonce.status == 200
    assert nonce.header("Replay-Nonce")


@pytest.mark.parametrize(("status", "reason", "title"), [
    (503, "Service Temporarily Unavailable", "503 Service Temporarily Unavailable"),
    (504, "Gateway Time-out", "504 Gateway Time-out"),
    (401, "Unauthorized", "401 Authorization Required"),
    (500, "Internal Server Error", "500 Internal Server Error"),
    (418, "I'm a Teapot", "418 I'm a Teapot"),  # no page of nginx's: RFC 9110's words
])
def test_html_error_speaks_nginxs_words_for_its_status(
    fake_acme: FakeACME, wire: Wire, status: int, reason: str, title: str
) -> None:
    fake_acme.faults.html_error(status, endpoint="directory")
    wire.send("GET", "/directory")
    page = wire.answer()
    assert (page.status, page.reason) == (status, reason)
    assert f"<head><title>{title}</title></head>".encode() in page.body
    assert f"<center><h1>{title}</h1></center>".encode() in page.body


def test_html_error_answers_a_post_before_its_jws_is_read(
    fake_acme: FakeACME, wire: Wire
) -> None:
    new_account = path_of(directory(fake_acme)["newAccount"])
    wire.send("POST", new_account, headers=[("Content-Type", JOSE_JSON)], body=b"{}")
    refused = wire.answer()  # no fault: the CA's malformed, with a nonce
    assert (refused.status, refused.header("Content-Type")) == (400, "application/problem+json")
    assert refused.header("Replay-Nonce")
    fake_acme.faults.html_error(502, endpoint="newAccount")
    wire.send("POST", new_account, headers=[("Content-Type", JOSE_JSON)], body=b"{}")
    page = wire.answer()
    assert (page.status, page.body, page.header("Replay-Nonce")) == (502, NGINX_502, None)
    assert [e.body for e in fake_acme.journal.requests("newAccount")] == [b"{}", b"{}"]


# empty_body


def test_empty_body_is_200_with_nothing_at_all(fake_acme: FakeACME, wire: Wire) -> None:
    new_account = path_of(directory(fake_acme)["newAccount"])
    fake_acme.faults.empty_body(endpoint="newAccount")
    wire.send("POST", new_account, headers=[("Content-Type", JOSE_JSON)], body=b"{}")
    empty = wire.answer()
    assert (empty.status, empty.body) == (200, b"")
    assert [name for name, _ in empty.headers] == ["Date", "Content-Length"]
    assert empty.header("Content-Length") == "0"
    wire.send("POST", new_account, headers=[("Content-Type", JOSE_JSON)], body=b"{}")
    assert wire.answer().status == 400  # the next one is the CA's


# truncated_body


def test_truncated_body_sends_the_real_head_and_half_the_body_then_closes(
    fake_acme: FakeACME, wire: Wire
) -> None:
    new_account = path_of(directory(fake_acme)["newAccount"])
    wire.send("POST", new_account, headers=[("Content-Type", JOSE_JSON)], body=b"{}")
    whole = wire.answer()  # the CA's malformed problem
    fake_acme.faults.truncated_body(endpoint="newAccount")
    wire.send("POST", new_account, headers=[("Content-Type", JOSE_JSON)], body=b"{}")
    head = read_head(wire)
    assert head.status == 400
    assert head.header("Content-Type") == "application/problem+json"
    assert head.header("Replay-Nonce")
    assert head.header("Content-Length") == str(len(whole.body))  # the whole body's length
    assert wire.rest() == whole.body[: len(whole.body) // 2]  # the real answer, cut short


def read_head(wire: Wire) -> Any:
    """Parse the head only, leaving the body on the wire (a HEAD answer's parse)."""
    return read_answer(wire.reader, "HEAD")


def test_a_truncated_body_is_an_incomplete_read(fake_acme: FakeACME) -> None:
    fake_acme.faults.truncated_body(endpoint="directory")
    context = ssl.create_default_context(cafile=fake_acme.ca_bundle)
    conn = http.client.HTTPSConnection("127.0.0.1", fake_acme.port, context=context,
                                       timeout=TIMEOUT)
    try:
        conn.request("GET", "/directory")
        answer = conn.getresponse()
        length = int(answer.headers["Content-Length"])
        with pytest.raises(http.client.IncompleteRead) as caught:
            answer.read()
        assert (len(caught.value.partial), caught.value.expected) == (
            length // 2, length - length // 2)
    finally:
        conn.close()


def test_an_answer_without_a_body_loses_half_its_head(fake_acme: FakeACME) -> None:
    new_nonce = path_of(directory(fake_acme)["newNonce"])
    whole = fresh_answer(fake_acme, "HEAD", new_nonce)
    fake_acme.faults.truncated_body(endpoint="newNonce")
    with Wire(fake_acme) as wire:
        wire.send("HEAD", new_nonce)
        cut = wire.rest()
    assert b"\r\n\r\n" not in cut
    assert cut.startswith(b"HTTP/1.1 200 OK\r\n")
    # About half of a head like the whole one (the nonce and date differ, not their lengths).
    head_length = len("HTTP/1.1 200 OK\r\n") + sum(
        len(f"{k}: {v}\r\n") for k, v in whole.headers) + 2
    assert len(cut) == head_length // 2


def test_transport_faults_apply_to_chunked_requests_too(
    fake_acme: FakeACME, wire: Wire
) -> None:
    new_account = path_of(directory(fake_acme)["newAccount"])
    fake_acme.faults.truncated_body(endpoint="newAccount")
    wire.send("POST", new_account, body=b"2\r\n{}\r\n0\r\n\r\n",
              headers=[("Content-Type", JOSE_JSON), ("Transfer-Encoding", "chunked")])
    head = read_head(wire)
    assert head.status == 400
    assert len(wire.rest()) == int(head.header("Content-Length") or 0) // 2
    (entry,) = fake_acme.journal.requests("newAccount")
    assert entry.body == b"{}"  # dechunked


# connection_reset


def test_connection_reset_is_a_tcp_reset_where_drop_is_a_close(fake_acme: FakeACME) -> None:
    fake_acme.faults.connection_reset(endpoint="directory")
    reset = TlsOverSocket(fake_acme)
    try:
        reset.send("GET", "/directory")
        with pytest.raises(ConnectionResetError):
            reset.read_to_end()
    finally:
        reset.close()
    fake_acme.faults.drop(endpoint="directory")
    dropped = TlsOverSocket(fake_acme)
    try:
        dropped.send("GET", "/directory")
        assert dropped.read_to_end() == []  # the end of the connection, no reset
    finally:
        dropped.close()
    answered = TlsOverSocket(fake_acme)
    try:
        answered.send("GET", "/directory")
        assert answered.answer_records()[0].startswith(b"HTTP/1.1 200 OK\r\n")
    finally:
        answered.close()
    assert [(e.status, e.fault) for e in fake_acme.journal.requests("directory")] == [
        (0, "connection_reset endpoint=directory, 1 of 1"),
        (0, "drop endpoint=directory, 1 of 1"),
        (200, "")]


# slow_headers


def test_slow_headers_sends_the_head_a_line_at_a_time(fake_acme: FakeACME) -> None:
    plain = TlsOverSocket(fake_acme)
    slow = TlsOverSocket(fake_acme)
    try:
        plain.send("GET", "/directory")
        whole = plain.answer_records()
        assert len(whole) == 1  # head and body in one write, one record
        fake_acme.faults.slow_headers(0.1, endpoint="directory")
        slow.send("GET", "/directory")
        records = slow.answer_records()
        lines = whole[0].split(b"\r\n\r\n")[0].split(b"\r\n")
        assert len(records) == len(lines) + 2  # each line, the blank line, the body
        assert records[0] == lines[0] + b"\r\n"  # the status line
        assert _without_date(records[1:len(lines)]) == _without_date(
            line + b"\r\n" for line in lines[1:])
        assert records[len(lines)] == b"\r\n"
        body = whole[0].split(b"\r\n\r\n")[1]
        assert len(records[-1]) == len(body)  # the directory (its random entry differs)
        assert json.loads(records[-1])["newNonce"] == json.loads(body)["newNonce"]
        # The connection carries on: the next answer is whole again.
        slow.send("GET", "/directory")
        assert len(slow.answer_records()) == 1
    finally:
        plain.close()
        slow.close()


def _without_date(lines: Iterable[bytes]) -> list[bytes]:
    """Header lines but the Date (the fake's clock may have moved on a second)."""
    return [line for line in lines if not line.startswith(b"Date: ")]


def test_slow_headers_trip_a_client_read_timeout(fake_acme: FakeACME) -> None:
    # About a fifth of a second between lines, four times the client's read timeout. Connect
    # and TLS get a generous timeout of their own: a busy machine cannot trip the short one
    # there (a ConnectTimeout would not be what this test is about).
    fake_acme.faults.slow_headers(1.0, endpoint="directory")
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(fake_acme.directory_url, verify=fake_acme.ca_bundle,
                     timeout=(TIMEOUT, 0.05))
    assert requests.get(fake_acme.directory_url, verify=fake_acme.ca_bundle,
                        timeout=TIMEOUT).status_code == 200
    assert [e.fault for e in fake_acme.journal.requests("directory")] == [
        "slow_headers 1 endpoint=directory, 1 of 1", ""]


# Every transport fault: endpoint, times, the journal, the transcript


@pytest.mark.parametrize("name", list(ARM))
def test_a_transport_fault_keeps_to_its_endpoint_and_times(
    fake_acme: FakeACME, name: str
) -> None:
    new_nonce = path_of(directory(fake_acme)["newNonce"])
    ARM[name](fake_acme.faults, endpoint="newNonce", times=2)
    assert fresh_answer(fake_acme, "GET", "/directory").status == 200
    for _ in range(3):
        last = fresh_answer(fake_acme, "HEAD", new_nonce)
    assert (last.status, bool(last.header("Replay-Nonce"))) == (200, True)  # the third: the CA's
    status = JOURNALED[name]
    assert [(e.status, e.fault) for e in fake_acme.journal.requests("newNonce")] == [
        (status, f"{fault_spec(name)} endpoint=newNonce, 1 of 2"),
        (status, f"{fault_spec(name)} endpoint=newNonce, 2 of 2"),
        (200, "")]
    assert [e.fault for e in fake_acme.journal.requests("directory")] == ["", ""]
    assert fake_acme.faults.active == []


def fault_spec(name: str) -> str:
    """The text form :data:`ARM` gives each fault, before its endpoint."""
    return {"html_error": "html_error 503", "slow_headers": "slow_headers 0.05"}.get(name, name)


def test_the_transcript_and_the_diagram_say_what_was_injected(fake_acme: FakeACME) -> None:
    fake_acme.faults.html_error(502, endpoint="directory")
    fresh_answer(fake_acme, "GET", "/directory")
    fake_acme.faults.connection_reset(endpoint="directory")
    fresh_answer(fake_acme, "GET", "/directory")
    fake_acme.faults.drop(endpoint="directory")
    fresh_answer(fake_acme, "GET", "/directory")
    lines = fake_acme.journal.transcript().splitlines()
    assert lines[0].endswith(
        "GET  directory -> 502 !! injected: text/html answer, no problem document  "
        "[fault: html_error 502 endpoint=directory, 1 of 1]")
    assert lines[1].endswith(
        "GET  directory -> no answer !! injected: connection reset without an answer  "
        "[fault: connection_reset endpoint=directory, 1 of 1]")
    assert lines[2].endswith(
        "GET  directory -> no answer !! injected: connection closed without an answer  "
        "[fault: drop endpoint=directory, 1 of 1]")
    drawn = [text for kind, text in labels(fake_acme.diagram()) if kind == "fault"]
    assert drawn == [
        "502 Bad Gateway [fault: html_error 502 endpoint=directory, 1 of 1]",
        "the connection_reset fault: a TCP reset, no answer",
        "the drop fault: no answer at all",
    ]


# Several faults on one request


def test_one_fault_answers_and_one_delivers_each_request(fake_acme: FakeACME) -> None:
    # An answer in the CA's place and a way of delivering it: both apply (the page cut short).
    fake_acme.faults.html_error(502, endpoint="directory")
    fake_acme.faults.truncated_body(endpoint="directory")
    with Wire(fake_acme) as wire:
        wire.send("GET", "/directory")
        assert read_head(wire).status == 502
        assert wire.rest() == NGINX_502[: len(NGINX_502) // 2]
    # Two that answer, two that deliver: the first of each, in the order added; the others
    # wait for the next request. A request reset or dropped gets no answer, so the answering
    # faults wait for one that will be answered: none is used up unseen.
    fake_acme.faults.html_error(503, endpoint="directory")
    fake_acme.faults.server_error(endpoint="directory")
    fake_acme.faults.connection_reset(endpoint="directory")
    fake_acme.faults.drop(endpoint="directory")
    answers = [fresh_answer(fake_acme, "GET", "/directory") for _ in range(5)]
    # What the client got: no answer twice (an exception reading it), then both answers.
    assert [getattr(a, "status", None) for a in answers] == [None, None, 503, 500, 200]
    assert [(e.status, e.fault) for e in fake_acme.journal.requests("directory")][1:] == [
        (0, "connection_reset endpoint=directory, 1 of 1"),
        (0, "drop endpoint=directory, 1 of 1"),
        (503, "html_error 503 endpoint=directory, 1 of 1"),
        (500, "server_error endpoint=directory, 1 of 1"),
        (200, "")]


def test_a_reset_or_drop_leaves_a_seeded_answering_fault_its_draws(fake_acme: FakeACME) -> None:
    # The same seed, the same pattern of 503s over the requests answered, whether or not
    # resets come in between: the reset requests draw nothing from html_error's seed.
    def pattern(resets: bool) -> list[int]:
        fake_acme.reset()
        fake_acme.faults.html_error(503, endpoint="directory", times=None, rate=0.5, seed=4)
        answered = []
        for _ in range(12):
            if resets:
                fake_acme.faults.connection_reset(endpoint="directory")
                assert isinstance(fresh_answer(fake_acme, "GET", "/directory"), Exception)
            answered.append(fresh_answer(fake_acme, "GET", "/directory").status)
        return answered

    alone = pattern(resets=False)
    assert set(alone) == {200, 503}
    assert pattern(resets=True) == alone
    assert {e.fault for e in fake_acme.journal.requests("directory") if e.status == 0} == {
        "connection_reset endpoint=directory, 1 of 1"}


# Seeded rates


def _html_error_pattern(fake: FakeACME) -> list[int]:
    fake.faults.html_error(503, endpoint="directory", times=None, rate=0.4, seed=11)
    with Wire(fake) as wire:  # the page keeps the connection, so one connection serves all
        statuses = []
        for _ in range(20):
            wire.send("GET", "/directory")
            statuses.append(wire.answer().status)
    return statuses


def test_a_seeded_rate_is_reproducible(fake_acme: FakeACME) -> None:
    first = _html_error_pattern(fake_acme)
    fake_acme.reset()
    assert _html_error_pattern(fake_acme) == first
    assert set(first) == {200, 503}
    (fault,) = fake_acme.faults.active
    assert fault.spec == "html_error 503 endpoint=directory rate=0.4 seed=11"


# The text form: add_spec, the marker, the ini option, the management API


@pytest.mark.parametrize(("spec", "expected"), [
    ("html_error endpoint=newOrder", ("html_error", "newOrder", 1, 502, 0.0, 1.0,
                                      "html_error 502 endpoint=newOrder")),
    ("html_error 503 times=2", ("html_error", None, 2, 503, 0.0, 1.0, "html_error 503")),
    ("empty_body endpoint=finalize", ("empty_body", "finalize", 1, 0, 0.0, 1.0,
                                      "empty_body endpoint=finalize")),
    ("truncated_body endpoint=certificate times=none",
     ("truncated_body", "certificate", None, 0, 0.0, 1.0,
      "truncated_body endpoint=certificate")),
    ("connection_reset rate=0.25 seed=9 times=none",
     ("connection_reset", None, None, 0, 0.0, 0.25, "connection_reset rate=0.25 seed=9")),
    ("slow_headers 0.5 endpoint=directory", ("slow_headers", "directory", 1, 0, 0.5, 1.0,
                                             "slow_headers 0.5 endpoint=directory")),
])
def test_transport_faults_from_their_text_form(
    fake_acme: FakeACME, spec: str, expected: tuple[Any, ...]
) -> None:
    fault = fake_acme.faults.add_spec(spec)
    assert (fault.kind, fault.endpoint, fault.times, fault.status, fault.delay, fault.rate,
            fault.spec) == expected
    assert fake_acme.faults.active == [fault]


@pytest.mark.parametrize(("spec", "message"), [
    ("html_error 200", r"html_error\(\) takes an HTTP error status from 400 to 599, e\.g\. "
                       r"html_error\(502\), not 200"),
    ("html_error 502.0", r"from 400 to 599, e\.g\. html_error\(502\), not 502\.0"),
    ("html_error gateway", r"from 400 to 599, e\.g\. html_error\(502\), not 'gateway'"),
    ("slow_headers", r"bad arguments in fault spec 'slow_headers'"),
    ("slow_headers -1", r"slow_headers\(\) takes seconds >= 0, not -1"),
    ("empty_body status=500", r"bad arguments in fault spec 'empty_body status=500'"),
    ("connection_reset rate=1.5", r"rate must be a number from 0 to 1, not 1\.5"),
    ("truncated_body rate=0.5 seed=x", r"seed must be a whole number, not 'x'"),
    ("connection_reset endpoint=new-order", r"unknown endpoint 'new-order'"),
    ("truncated_body times=0", r"times must be a whole number >= 1 or None, not 0"),
    ("html_eror 502", r"unknown fault 'html_eror'.*html_error"),
])
def test_bad_transport_faults_are_usage_errors_that_say_what_to_write(
    fake_acme: FakeACME, spec: str, message: str
) -> None:
    with pytest.raises(FakeACMEUsageError, match=message):
        fake_acme.faults.add_spec(spec)
    assert fake_acme.faults.active == []


def test_bad_arguments_in_python_are_usage_errors_too(fake_acme: FakeACME) -> None:
    faults = fake_acme.faults
    for status in (True, "502", 600, 399):
        with pytest.raises(FakeACMEUsageError, match="from 400 to 599"):
            faults.html_error(status)  # type: ignore[arg-type]
    with pytest.raises(FakeACMEUsageError, match="seconds >= 0"):
        faults.slow_headers("1")  # type: ignore[arg-type]
    with pytest.raises(FakeACMEUsageError, match="rate must be"):
        faults.empty_body(rate=True)
    assert faults.active == []


_MARKED = """
import pytest
import requests
from inner_acme import _trust_exactly_the_given_bundle


@pytest.mark.fake_acme(faults=["html_error 503 endpoint=directory",
                               "connection_reset endpoint=newNonce"])
def test_marked(fake_acme):
    page = requests.get(fake_acme.directory_url, verify=fake_acme.ca_bundle, timeout=10)
    assert (page.status_code, page.headers["Content-Type"]) == (503, "text/html")
    assert "Replay-Nonce" not in page.headers
    nonce_url = fake_acme.base_url + "/acme/new-nonce"
    with pytest.raises(requests.ConnectionError):
        requests.head(nonce_url, verify=fake_acme.ca_bundle, timeout=10)
    assert requests.head(nonce_url, verify=fake_acme.ca_bundle, timeout=10).status_code == 200


def test_the_next_test_has_none(fake_acme):
    page = requests.get(fake_acme.directory_url, verify=fake_acme.ca_bundle, timeout=10)
    assert page.status_code == 200
"""


def test_transport_faults_from_the_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(inner_acme=INNER_ACME)
    pytester.makepyfile(_MARKED)
    pytester.runpytest().assert_outcomes(passed=2)


_EVERY_TEST = """
import pytest
import requests
from inner_acme import _trust_exactly_the_given_bundle


@pytest.mark.parametrize("run", [1, 2])
def test_starts_with_an_empty_directory(fake_acme, run):
    empty = requests.get(fake_acme.directory_url, verify=fake_acme.ca_bundle, timeout=10)
    assert (empty.status_code, empty.content) == (200, b"")
    assert requests.get(fake_acme.directory_url, verify=fake_acme.ca_bundle,
                        timeout=10).json()["newNonce"]
"""


def test_transport_faults_from_the_ini_file(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(inner_acme=INNER_ACME)
    pytester.makeini("[pytest]\nfake_acme_faults =\n    empty_body endpoint=directory\n")
    pytester.makepyfile(_EVERY_TEST)
    pytester.runpytest().assert_outcomes(passed=2)


def test_transport_faults_through_the_management_api(fake_acme: FakeACME) -> None:
    api = fake_acme.management_url

    def post(path: str, body: dict[str, Any]) -> Any:
        return requests.post(api + path, json=body, verify=fake_acme.ca_bundle,
                             timeout=TIMEOUT).json()

    listed = post("/faults", {"spec": "html_error 502 endpoint=directory times=2"})
    assert listed["faults"] == [{"kind": "html_error", "spec": "html_error 502 endpoint=directory",
                                 "endpoint": "directory", "times": 2, "fired": 0,
                                 "problem": None}]
    assert fresh_answer(fake_acme, "GET", "/directory").body == NGINX_502
    refused = requests.post(api + "/faults", json={"spec": "html_error 302"},
                            verify=fake_acme.ca_bundle, timeout=TIMEOUT)
    assert refused.status_code == 400
    assert "from 400 to 599" in refused.json()["error"]
    kinds = requests.get(api + "/fault-kinds", verify=fake_acme.ca_bundle,
                         timeout=TIMEOUT).json()["faults"]
    assert kinds["html_error"]["params"] == ["status", "endpoint", "times", "rate", "seed"]
    assert kinds["slow_headers"]["params"] == ["seconds", "endpoint", "times", "rate", "seed"]
    assert {"empty_body", "truncated_body", "connection_reset", "drop", "bad_nonce"} <= set(kinds)
    assert [f.fired for f in fake_acme.faults.active] == [1]


# certbot's acme library, into each fault


def test_acme_reports_an_html_error_as_a_client_error_with_the_answer(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    fake_acme.faults.html_error(502, endpoint="newOrder")
    with pytest.raises(acme_errors.ClientError) as caught:
        acme_client.new_order("a.example")
    (answer,) = caught.value.args  # not JSON, so no messages.Error: the response itself
    assert isinstance(answer, requests.Response)
    assert (answer.status_code, answer.reason, answer.content) == (502, "Bad Gateway", NGINX_502)
    # No nonce came back; the client fetches one and the next order goes through.
    assert acme_client.new_order("a.example").body.status == messages.STATUS_PENDING
    assert [(e.endpoint, e.status) for e in fake_acme.journal.requests()
            if e.endpoint in ("newOrder", "newNonce")][-3:] == [
        ("newOrder", 502), ("newNonce", 200), ("newOrder", 201)]


def test_acme_reports_an_empty_body_as_a_missing_nonce(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    fake_acme.faults.empty_body(endpoint="newOrder")
    with pytest.raises(acme_errors.MissingNonce):
        acme_client.new_order("a.example")
    # Before it reads a body, acme takes the answer's nonce: there is none.
    fake_acme.faults.empty_body(endpoint="directory")
    with pytest.raises(acme_errors.ClientError, match="Unexpected response Content-Type: None"):
        acme_client_module.ClientV2.get_directory(fake_acme.directory_url, acme_client.net)


def test_acme_reports_a_truncated_body_from_requests_and_the_order_exists(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    fake_acme.faults.truncated_body(endpoint="newOrder")
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
        acme_client.new_order("a.example")
    # The CA did the work; only the answer was lost on the way.
    assert fake_acme.journal.requests("newOrder")[-1].status == 201
    assert [o.status for o in fake_acme.orders] == ["pending"]


def test_acme_reports_a_reset_as_a_connection_error_and_nothing_was_done(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    fake_acme.faults.connection_reset(endpoint="newOrder")
    # Python's ssl reads a reset under TLS as the end of the connection: requests says
    # "Connection aborted", as for the drop fault.
    with pytest.raises(requests.exceptions.ConnectionError, match="Connection aborted"):
        acme_client.new_order("a.example")
    assert fake_acme.orders == []  # reset before the CA answered
    assert acme_client.new_order("a.example").body.status == messages.STATUS_PENDING


def test_acme_reports_slow_headers_as_a_read_timeout_and_the_order_exists(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    assert acme_client.regr is not None
    impatient = acme_client_module.ClientNetwork(
        acme_client.key, account=acme_client.regr, alg=jose.ES256,
        verify_ssl=fake_acme.ca_bundle,  # type: ignore[arg-type]  # requests takes a path
        # requests' (connect, read): a short read timeout only, so that connect and TLS on a
        # busy machine cannot trip it.
        timeout=(TIMEOUT, 0.05),  # type: ignore[arg-type]  # typed int, passed to requests
    )
    client = acme_client_module.ClientV2(acme_client.directory, impatient)
    fake_acme.faults.slow_headers(1.0, endpoint="newOrder")
    with pytest.raises(requests.exceptions.ReadTimeout):
        client.new_order(make_csr(["a.example"]))
    assert fake_acme.journal.requests("newOrder")[-1].status == 201
    assert [o.status for o in fake_acme.orders] == ["pending"]

