"""The fake's HTTP transport: HTTPS on loopback, persistent connections, TLS per connection
thread, and the files a client needs to trust it.

The server is werkzeug's threaded WSGI server with changes that matter here: the caller binds
the socket (a taken port is a :class:`~pytest_fakeacme.errors.BindError`, never werkzeug's
``sys.exit(1)``), accepted sockets get ``TCP_NODELAY`` (werkzeug writes headers and body in
separate sends, which Nagle's algorithm stalls on loopback), the TLS handshake runs in the
connection's own thread (a client that stalls mid-handshake cannot block ``accept()`` for
everyone else), and connections persist (:class:`Handler`).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import email.utils
import io
import os
import re
import shutil
import socket
import socketserver
import ssl
import struct
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any, Literal, cast

import trustme
from werkzeug.exceptions import HTTPException
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wsgi import LimitedStream

from ._gofmt import go_quote
from .errors import BindError, FakeACMEUsageError

#: Set in the WSGI environ when a request's body cannot be delimited (RFC 9112 6.3: conflicting
#: or non-numeric Content-Length); its value says why, and the front end answers malformed.
FRAMING_KEY = "pytest_fakeacme.framing"

#: Set in the WSGI environ by an application that wants its answer delivered otherwise than
#: whole and at once (the fake's transport faults): a :class:`Delivery`.
DELIVERY_KEY = "pytest_fakeacme.delivery"


@dataclass(frozen=True)
class Delivery:
    """How the handler sends one answer when an application asks (:data:`DELIVERY_KEY`).

    - ``drop``: not a byte; the connection closes (FIN).
    - ``reset``: not a byte; the connection is reset (an RST: ``SO_LINGER`` 0, then close).
    - ``truncate``: the head, with the whole body's ``Content-Length``, and the first half of
      the body, then the connection closes (a message with no body loses half its head).
    - ``trickle``: the head a line at a time, the lines spread over ``seconds`` of real time
      (the status line at once, the blank line that ends the head after ``seconds``), then
      the body.
    """

    how: Literal["drop", "reset", "truncate", "trickle"]
    seconds: float = 0.0


#: How long a handshake or an idle keep-alive connection may take before it is dropped.
_CONNECTION_TIMEOUT = 30.0
#: ``serve_forever`` checks for shutdown this often (seconds); bounds ``stop()``'s latency.
POLL_INTERVAL = 0.02


#: Request bodies up to this size are read whole before the app runs, so the connection can
#: carry the next request whatever the app read; a bigger one is streamed to the app and the
#: connection closed after the answer (nobody waits on 10 GB).
_BODY_READ_LIMIT = 1 << 20
#: A refused body bigger than the read limit is read and discarded up to this size after the
#: answer is written, so that a client still sending it can finish and read the answer (closing
#: on unread bytes resets the connection, and the client sees an EOF instead of the problem).
_DRAIN_LIMIT = 128 << 20
#: Statuses that never carry a body (RFC 9110 6.4.1, 15.3.5, 15.4.5).
_NO_BODY = frozenset({204, 304})


class Handler(WSGIRequestHandler):
    """werkzeug's handler with persistent connections and without the per-request log line.

    werkzeug 3 answers every request with ``Connection: close`` and then drains the socket,
    so each ACME request would pay a TCP connect and a TLS handshake, the largest cost of an
    issuance on loopback (measured in benchmarks/README.md). Real ACME servers keep
    connections open (RFC 9112 9.3) and so do ACME clients' HTTP libraries, so this handler
    does too. It reads exactly ``Content-Length`` bytes of each request, buffers the app's
    answer and writes head and body in one ``sendall`` (one TLS record on loopback, no Nagle
    stall). Chunked request bodies, which only odd clients send, take werkzeug's own path
    and close the connection.
    """

    protocol_version = "HTTP/1.1"
    server: Server

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Silenced: a test run is no place for an access log."""

    def log_error(self, format: str, *args: Any) -> None:
        """Silenced: failures reach the test through ``FakeACME.check()`` instead."""

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` field (RFC 9110 6.6.1) on the fake's clock, like its certificates."""
        if timestamp is not None:
            return super().date_time_string(timestamp)
        return email.utils.format_datetime(self.server.now(), usegmt=True)

    def run_wsgi(self) -> None:
        """Answer one request, keeping the connection unless the client or the app ends it."""
        self._connection_options()
        environ = self.environ = self.make_environ()
        if environ.get("wsgi.input_terminated"):
            # A chunked body, which werkzeug's make_environ dechunks; the connection closes
            # after the answer (RFC 9112 6.3: a chunked body overrides any Content-Length, and
            # a request that is not framed by its length is not followed on its connection).
            self.close_connection = True
            stream = environ["wsgi.input"]
        else:
            stream = environ["wsgi.input"] = self._body(environ)
        with self.server.busy():
            status, headers, body = self._call_app(environ)
        head, body = self._message(status, headers, body)
        delivery = environ.get(DELIVERY_KEY)
        if delivery is None:
            self.wfile.write(head + body)
        else:
            self._deliver(delivery, head, body)
        if not isinstance(stream, io.BytesIO) and (delivery is None or delivery.how == "trickle"):
            self._drain(stream)

    def _drain(self, stream: IO[bytes]) -> None:
        """Read and discard what is left of a body that was not read ahead (up to
        :data:`_DRAIN_LIMIT`), before the connection closes."""
        if isinstance(stream, LimitedStream) and stream.limit > _DRAIN_LIMIT:
            return
        left = _DRAIN_LIMIT
        with contextlib.suppress(OSError, ValueError, HTTPException):
            while left > 0 and (chunk := stream.read(min(left, 64 * 1024))):
                left -= len(chunk)

    def _deliver(self, delivery: Delivery, head: bytes, body: bytes) -> None:
        """Send an answer as ``delivery`` says (the transport faults)."""
        if delivery.how == "trickle":
            lines = head.split(b"\r\n")[:-1]  # each line with its CRLF, the last one empty
            pieces = [line + b"\r\n" for line in lines]
            pause = delivery.seconds / max(len(pieces) - 1, 1)
            self.wfile.write(pieces[0])
            for piece in pieces[1:]:
                if self.server.pause(pause):
                    self.close_connection = True
                    return  # the server is closing
                self.wfile.write(piece)
            self.wfile.write(body)
            return
        self.close_connection = True
        if delivery.how == "truncate":
            self.wfile.write(head + body[: len(body) // 2] if body else head[: len(head) // 2])
        elif delivery.how == "reset":
            # SO_LINGER with a zero timeout: closing the socket discards what is unsent and
            # sends RST (RFC 9293 3.5.2) instead of FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        else:  # drop
            with contextlib.suppress(OSError):
                socket.socket.shutdown(self.connection, socket.SHUT_RDWR)

    def _connection_options(self) -> None:
        # RFC 9112 9.6: "close" among the Connection options ends the connection after this
        # answer; an HTTP/1.0 client keeps it only if it asks to (9.3). http.server only
        # honours a field that is exactly "close" or "keep-alive".
        options = {
            token.strip().lower()
            for field in self.headers.get_all("Connection", [])
            for token in field.split(",")
        }
        if "close" in options:
            self.close_connection = True
        elif self.request_version == "HTTP/1.0":
            self.close_connection = "keep-alive" not in options
        # http.server already answered "Expect: 100-continue" for HTTP/1.1 requests, and an
        # HTTP/1.0 client's must be ignored (RFC 9110 10.1.1); werkzeug would answer it again.
        del self.headers["Expect"]

    def _body(self, environ: dict[str, Any]) -> IO[bytes]:
        """The request body as the app reads it, delimited by ``Content-Length``."""
        lengths = self.headers.get_all("Content-Length", [])
        framing = None
        if len(lengths) > 1:
            framing = "the request has more than one Content-Length header"
        elif lengths and not (lengths[0].isascii() and lengths[0].strip().isdigit()):
            framing = f"the request's Content-Length header is not a number: {go_quote(lengths[0])}"
        if framing is not None:
            # RFC 9112 6.3: the body cannot be delimited, so it is not read, the answer is a
            # 400 (the app's malformed problem, journaled, with a nonce) and the connection
            # closes: what follows on it may be a smuggled request.
            self.close_connection = True
            environ[FRAMING_KEY] = framing
            environ["CONTENT_LENGTH"] = "0"
            return io.BytesIO(b"")
        length = int(lengths[0]) if lengths else 0
        if length <= _BODY_READ_LIMIT:
            # Read the body now, in one buffered call: the app gets it from memory, and
            # nothing is left to drain. A body cut short is the app's to refuse (it sees
            # fewer bytes than Content-Length), and the connection cannot go on.
            data = self.rfile.read(length) if length else b""
            if len(data) < length:
                self.close_connection = True
            return io.BytesIO(data)
        # Too big to take on trust: the app reads what it wants (it refuses bodies over
        # max_request_body after reading one byte more); the rest is drained after the answer
        # and the connection then closes.
        self.close_connection = True
        return cast("IO[bytes]", LimitedStream(cast("IO[bytes]", self.rfile), length))

    def _call_app(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        answer: list[Any] = []
        chunks: list[bytes] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            answer[:] = [status, headers]
            return chunks.append

        try:
            result = self.server.app(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            status, headers = answer
        except Exception:
            # The apps turn their own failures into problem documents; this is the last line.
            self.close_connection = True
            return ("500 Internal Server Error", [("Content-Type", "text/plain; charset=utf-8")],
                    b"Internal Server Error")
        return status, headers, b"".join(chunks)

    def _message(self, status: str, headers: list[tuple[str, str]], body: bytes
                 ) -> tuple[bytes, bytes]:
        """The answer's head and body, framed by this server (not the app)."""
        code = int(status.split(None, 1)[0])
        head = [f"{self.protocol_version} {status}", f"Date: {self.date_time_string()}"]
        head += [
            f"{key}: {value}"
            for key, value in headers
            if key.lower() not in ("content-length", "connection", "date")
        ]
        if code >= 200 and code not in _NO_BODY:
            if self.command == "HEAD":
                # The app's own length, for the body a GET would have had.
                given = [v for k, v in headers if k.lower() == "content-length"]
                head.append(f"Content-Length: {given[0] if given else len(body)}")
            else:
                head.append(f"Content-Length: {len(body)}")
        if self.command == "HEAD" or code in _NO_BODY or code < 200:
            body = b""
        if self.close_connection:
            head.append("Connection: close")
        elif self.request_version == "HTTP/1.0":
            head.append("Connection: keep-alive")
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1"), body


#: TLS alerts with which a client refuses the server's certificate (RFC 8446 6.2): OpenSSL's
#: clients send "unknown ca" when no root they trust issued it, Go's "bad certificate".
UNTRUSTING_ALERTS = frozenset({
    "unknown ca", "bad certificate", "certificate unknown", "unsupported certificate",
    "certificate expired", "certificate revoked", "access denied",
})
#: OpenSSL's reasons for a client that speaks no TLS version the server does.
_VERSION_REASONS = frozenset({
    "WRONG_VERSION_NUMBER", "UNSUPPORTED_PROTOCOL", "VERSION_TOO_LOW", "NO_PROTOCOLS_AVAILABLE",
    "TLSV1_ALERT_PROTOCOL_VERSION",
})
#: How long :meth:`Server.wait_until_quiet` waits at most (seconds): a client that gave up
#: has already sent its alert, and an answer in progress takes milliseconds unless a fault
#: slows it, so this is a bound, not a delay.
SETTLE_TIMEOUT = 2.0


@dataclass(frozen=True)
class HandshakeFailure:
    """A TLS handshake with the server that failed, in words."""

    #: The client's address, ``host:port``.
    peer: str
    #: The TLS alert the client sent (``"unknown ca"``), or ``""``.
    alert: str
    #: What happened and what to do about it.
    detail: str
    #: Whether the client refused the server's certificate (it does not trust it).
    untrusted: bool

    @classmethod
    def of(cls, exc: BaseException, client_address: Any) -> HandshakeFailure:
        """The failure ``exc`` (raised by the server's side of the handshake) stands for."""
        host, port = client_address[:2]
        peer = f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
        reason = str(getattr(exc, "reason", "") or "")
        sent = re.fullmatch(r"(?:SSLV3|TLSV1|TLSV13)_ALERT_(\w+)", reason)
        alert = sent.group(1).replace("_", " ").lower() if sent else ""
        if alert in UNTRUSTING_ALERTS:
            return cls(peer, alert, f'the client does not trust the fake\'s certificate (it sent '
                       f'TLS alert "{alert}"): give it the fake\'s CA bundle', True)
        if reason == "HTTP_REQUEST":
            detail = "the client sent plain HTTP to the fake's HTTPS port: use the https:// URL"
        elif reason in _VERSION_REASONS:
            detail = "the client offers no TLS version the fake speaks (TLS 1.2 or 1.3)"
        elif alert:
            detail = f'the client sent TLS alert "{alert}"'
        elif isinstance(exc, ssl.SSLEOFError) or reason == "UNEXPECTED_EOF_WHILE_READING":
            detail = ("the client closed the connection during the handshake (a client that "
                      "does not trust the fake's certificate may do so without an alert)")
        elif isinstance(exc, TimeoutError):
            detail = f"the client stalled in the handshake for {_CONNECTION_TIMEOUT:g} s"
        elif isinstance(exc, ConnectionResetError):
            detail = "the client reset the connection during the handshake"
        else:
            detail = f"{type(exc).__name__}: {exc}"
        return cls(peer, alert, detail, False)


class Server(ThreadedWSGIServer):
    """werkzeug's threaded server, TLS per connection thread, TCP_NODELAY, no log.

    A handshake that fails is reported to ``on_handshake_failure`` (a client that does not
    trust the server's certificate, one that speaks plain HTTP), unless the server is closing.
    """

    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        sock: socket.socket,
        app: Any,
        tls: ssl.SSLContext,
        now: Callable[[], _dt.datetime],
        on_handshake_failure: Callable[[HandshakeFailure], None] | None = None,
    ) -> None:
        host, port = sock.getsockname()[:2]
        #: The time answers' ``Date`` shows (the fake's clock).
        self.now = now
        self.on_handshake_failure = on_handshake_failure
        # Handshakes (from the client's first byte to the end, reported if it failed) and
        # requests (from their head to their answer) in progress, so that a reader can wait
        # for what a client just did to be on record.
        self._busy: dict[int, int] = {}  # by thread: a reader inside a request skips its own
        self._quiet = threading.Condition()
        # Connection threads and their sockets, so that server_close() can end them: a client
        # that keeps a connection open must not keep a thread alive past stop().
        self._connections: dict[threading.Thread, socket.socket] = {}
        self._connections_lock = threading.Lock()
        self._closing = False
        self._closed = threading.Event()
        super().__init__(host, port, app, handler=Handler, fd=sock.fileno())
        # The base class closed its own throwaway socket on the way.
        self._closing = False
        self._closed = threading.Event()  # ends the pauses of answers being trickled out
        # werkzeug dup()ed the descriptor; ours is no longer needed.
        sock.close()
        # Set after the base class ran so that it does not wrap the listening socket itself:
        # the handshake happens in finish_request, in the connection's thread.
        self.ssl_context = tls

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=f"fakeacme-conn-{self.port}",
            daemon=True,
        )
        with self._connections_lock:
            if self._closing:
                request.close()
                return
            self._connections[thread] = request
        thread.start()

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._connections_lock:
                self._connections.pop(threading.current_thread(), None)

    def pause(self, seconds: float) -> bool:
        """Wait ``seconds`` of real time, unless the server closes first (then return True)."""
        return self._closed.wait(seconds)

    def server_close(self) -> None:
        self._closed.set()
        super().server_close()
        with self._connections_lock:
            self._closing = True
            connections = list(self._connections.items())
        for _, sock in connections:
            # shutdown() wakes a thread blocked reading this socket (handshake or keep-alive).
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
        for thread, _ in connections:
            thread.join(timeout=_CONNECTION_TIMEOUT)

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, addr = self.socket.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, addr

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(_CONNECTION_TIMEOUT)
        try:
            if not request.recv(1, socket.MSG_PEEK):
                return  # connected and closed without a word (a port probe): nothing to tell
        except OSError:
            return
        with self.busy():
            tls_sock = self._handshake(request, client_address)
        if tls_sock is None:
            return  # a client that cannot complete a handshake gets nothing, like any server
        try:
            super().finish_request(tls_sock, client_address)
        finally:
            with contextlib.suppress(OSError):
                tls_sock.close()

    def _handshake(self, request: Any, client_address: Any) -> ssl.SSLSocket | None:
        """The connection's TLS socket, or None (reported) when the handshake failed."""
        assert self.ssl_context is not None
        tls_sock: ssl.SSLSocket | None = None
        try:
            tls_sock = self.ssl_context.wrap_socket(
                request, server_side=True, do_handshake_on_connect=False
            )
            with self._connections_lock:
                # The TLS socket replaces the plain one (same descriptor) for server_close().
                self._connections[threading.current_thread()] = tls_sock
            tls_sock.do_handshake()
        except (OSError, ssl.SSLError) as exc:
            # server_close() ends handshakes in progress; that is no client's failure.
            if self.on_handshake_failure is not None and not self._closing:
                self.on_handshake_failure(HandshakeFailure.of(exc, client_address))
            if tls_sock is not None:
                tls_sock.close()  # it owns the descriptor now; the plain socket is detached
            return None
        return tls_sock

    @contextlib.contextmanager
    def busy(self) -> Iterator[None]:
        """Count a handshake or a request as in progress while the block runs."""
        me = threading.get_ident()
        with self._quiet:
            self._busy[me] = self._busy.get(me, 0) + 1
        try:
            yield
        finally:
            with self._quiet:
                self._busy[me] -= 1
                if not self._busy[me]:
                    del self._busy[me]
                self._quiet.notify_all()

    def wait_until_quiet(self, timeout: float = SETTLE_TIMEOUT) -> bool:
        """Return True once no handshake or request is in progress, False after ``timeout``
        seconds (a client that stalls mid-handshake, an answer a fault slows): a client's
        failed handshake, or a request it gave up waiting for, is then on record. A request
        that asks (the management API's) does not wait for itself."""
        me = threading.get_ident()
        with self._quiet:
            return self._quiet.wait_for(lambda: not self._busy.keys() - {me}, timeout)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Connection-level errors (a client went away) are not the test's business."""


class InThread:
    """A ``socketserver`` server answering from a daemon thread of its own until :meth:`stop`
    (the fake's responders, its CRL and plain-HTTP management servers, a webroot)."""

    def __init__(self, server: socketserver.BaseServer, name: str) -> None:
        self.server = server
        address: Any = server.server_address  # (host, port, ...) for the TCP servers used here
        self.port = int(address[1])
        self._thread = threading.Thread(target=server.serve_forever,
                                        kwargs={"poll_interval": POLL_INTERVAL}, daemon=True,
                                        name=name)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, close the socket and join the thread."""
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()


#: Where the management API lives on the fake's own port.
MANAGEMENT_PREFIX = "/_fake"


class Mount:
    """Dispatch by path prefix: the management API under its prefix, ACME everywhere else."""

    def __init__(self, default: Any, mounts: dict[str, Any]) -> None:
        self._default = default
        self._mounts = mounts

    def __call__(self, environ: Any, start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        for prefix, app in self._mounts.items():
            if path == prefix or path.startswith(prefix + "/"):
                environ = dict(environ)
                environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + prefix
                environ["PATH_INFO"] = path[len(prefix):] or "/"
                return app(environ, start_response)
        return self._default(environ, start_response)


def free_port(host: str) -> int:
    """A port free on ``host`` now (for the VA's stand-ins, which the fake does not bind)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def port_arg(value: int | None, name: str) -> int | None:
    """``value`` checked as a port number (None passes)."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 65535:
        raise FakeACMEUsageError(f"{name} must be a port number (0-65535) or None, not {value!r}")
    return value


def bind(host: str, port: int, setting: str = "port") -> socket.socket:
    """A listening TCP socket on ``host:port``; a :class:`BindError` that says what to do
    when the port is taken (pass ``setting=0``: ``setting`` names the argument)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise BindError(exc.errno, exc.strerror or str(exc), address=f"{host}:{port}",
                        setting=setting) from exc
    return sock


class ServerIdentity:
    """The server's TLS certificate (from its own throwaway trustme CA) and the files a client
    needs: ``ca-bundle.pem`` to trust the server, ``roots.pem`` for issued chains. Lives in a
    temporary directory until :meth:`remove`."""

    def __init__(self, roots_pem: str) -> None:
        tls_ca = trustme.CA(organization_name="pytest-fakeacme TLS")
        leaf = tls_ca.issue_cert("127.0.0.1", "localhost", "::1")
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        leaf.configure_cert(self.tls)
        self.directory = tempfile.mkdtemp(prefix="fakeacme-")
        self.ca_bundle = os.path.join(self.directory, "ca-bundle.pem")
        tls_ca.cert_pem.write_to_path(self.ca_bundle)
        self.roots_path = os.path.join(self.directory, "roots.pem")
        with open(self.roots_path, "w", encoding="ascii") as f:
            f.write(roots_pem)

    def remove(self) -> None:
        """Delete the files."""
        shutil.rmtree(self.directory, ignore_errors=True)
