"""``FakeACME``: the fake CA as an object, serving HTTPS on loopback from a daemon thread.

Usable without pytest::

    with FakeACME() as ca:
        client = make_client(ca.directory_url, verify=ca.ca_bundle)
        ...

The server is werkzeug's threaded WSGI server with three changes that matter here: we bind the
socket ourselves (a taken port is a :class:`BindError`, never werkzeug's ``sys.exit(1)``),
accepted sockets get ``TCP_NODELAY`` (werkzeug writes headers and body in separate sends; with
Nagle's algorithm a TLS POST on loopback costs ~40 ms instead of ~3 ms), and the TLS handshake
runs in the connection's own thread, so a client that stalls mid-handshake cannot block
``accept()`` for everyone else.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import email.utils
import io
import os
import shutil
import socket
import ssl
import tempfile
import threading
from collections.abc import Callable
from types import TracebackType
from typing import IO, Any, cast

import trustme
from cryptography.hazmat.primitives import serialization
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wsgi import LimitedStream

from . import outcomes as _outcomes
from . import views, wire
from ._gofmt import go_quote
from .accounts_policy import ExternalAccounts, Terms
from .ca import CertificateAuthority
from .clock import Clock
from .config import Flavor, Settings
from .dnsdata import DNSData
from .dnsserver import DNSServer
from .errors import BindError, FakeACMEError, FakeACMEUsageError, ServerThreadError
from .faults import Faults
from .journal import Journal
from .management import ManagementApp
from .nonces import NoncePool
from .outcomes import Outcome
from .renewal import RenewalControl
from .store import Store
from .va import ValidationAuthority
from .wfe import Frontend, build_app
from .wfe.app import FRAMING_KEY

#: How long a handshake or an idle keep-alive connection may take before it is dropped.
_CONNECTION_TIMEOUT = 30.0
#: ``serve_forever`` checks for shutdown this often (seconds); bounds ``stop()``'s latency.
_POLL_INTERVAL = 0.02


#: Request bodies up to this size are read whole before the app runs, so the connection can
#: carry the next request whatever the app read; a bigger one is streamed to the app and the
#: connection closed after the answer (nobody waits on 10 GB).
_BODY_READ_LIMIT = 1 << 20
#: Statuses that never carry a body (RFC 9110 6.4.1, 15.3.5, 15.4.5).
_NO_BODY = frozenset({204, 304})


class _Handler(WSGIRequestHandler):
    """werkzeug's handler with persistent connections and without the per-request log line.

    werkzeug 3 answers every request with ``Connection: close`` and then drains the socket
    for 10 ms, so each ACME request would pay a TCP connect and a TLS handshake: about half
    the time of an issuance on loopback (benchmarks/README.md). Real ACME servers keep
    connections open (RFC 9112 9.3) and so do ACME clients' HTTP libraries, so this handler
    does too. It reads exactly ``Content-Length`` bytes of each request, buffers the app's
    answer and writes head and body in one ``sendall`` (one TLS record on loopback, no Nagle
    stall). Chunked request bodies, which only odd clients send, take werkzeug's own path
    and close the connection.
    """

    protocol_version = "HTTP/1.1"
    server: _Server

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
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            # werkzeug's path: it dechunks, answers, then closes (RFC 9112 6.3: a chunked
            # body overrides any Content-Length, and the connection must close after).
            self.close_connection = True
            super().run_wsgi()
            return
        lengths = self.headers.get_all("Content-Length", [])
        framing = None
        if len(lengths) > 1:
            framing = "the request has more than one Content-Length header"
        elif lengths and not (lengths[0].isascii() and lengths[0].strip().isdigit()):
            framing = f"the request's Content-Length header is not a number: {go_quote(lengths[0])}"
        environ = self.environ = self.make_environ()
        if framing is not None:
            # RFC 9112 6.3: the body cannot be delimited, so it is not read, the answer is a
            # 400 (the app's malformed problem, journaled, with a nonce) and the connection
            # closes: what follows on it may be a smuggled request.
            self.close_connection = True
            environ[FRAMING_KEY] = framing
            environ["CONTENT_LENGTH"] = "0"
            length = 0
        else:
            length = int(lengths[0]) if lengths else 0
        stream: IO[bytes]
        if length <= _BODY_READ_LIMIT:
            # Read the body now, in one buffered call: the app gets it from memory, and
            # nothing is left to drain. A body cut short is the app's to refuse (it sees
            # fewer bytes than Content-Length), and the connection cannot go on.
            data = self.rfile.read(length) if length else b""
            if len(data) < length:
                self.close_connection = True
            stream = io.BytesIO(data)
        else:
            # Too big to take on trust: the app reads what it wants (it refuses bodies over
            # max_request_body after reading one byte more) and the connection then closes.
            stream = cast("IO[bytes]", LimitedStream(cast("IO[bytes]", self.rfile), length))
            self.close_connection = True
        environ["wsgi.input"] = stream
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
            status, chunks = "500 Internal Server Error", [b"Internal Server Error"]
            headers = [("Content-Type", "text/plain; charset=utf-8")]
            self.close_connection = True
        code = int(status.split(None, 1)[0])
        if code == 0:
            # The drop fault: the app already shut the socket down; send nothing.
            self.close_connection = True
            return
        body = b"".join(chunks)
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
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)


class _Server(ThreadedWSGIServer):
    """werkzeug's threaded server, TLS per connection thread, TCP_NODELAY, no log."""

    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        sock: socket.socket,
        app: Any,
        tls: ssl.SSLContext,
        now: Callable[[], _dt.datetime] = lambda: _dt.datetime.now(_dt.timezone.utc),
    ) -> None:
        host, port = sock.getsockname()[:2]
        #: The time answers' ``Date`` shows (the fake's clock).
        self.now = now
        # Connection threads and their sockets, so that server_close() can end them: a client
        # that keeps a connection open must not keep a thread alive past stop().
        self._connections: dict[threading.Thread, socket.socket] = {}
        self._connections_lock = threading.Lock()
        self._closing = False
        super().__init__(host, port, app, handler=_Handler, fd=sock.fileno())
        self._closing = False  # the base class closed its own throwaway socket on the way
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

    def server_close(self) -> None:
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
        assert self.ssl_context is not None
        request.settimeout(_CONNECTION_TIMEOUT)
        try:
            tls_sock = self.ssl_context.wrap_socket(
                request, server_side=True, do_handshake_on_connect=False
            )
            with self._connections_lock:
                # The TLS socket replaces the plain one (same descriptor) for server_close().
                self._connections[threading.current_thread()] = tls_sock
            tls_sock.do_handshake()
        except (OSError, ssl.SSLError):
            return  # a client that cannot complete a handshake gets nothing, like any server
        try:
            super().finish_request(tls_sock, client_address)
        finally:
            with contextlib.suppress(OSError):
                tls_sock.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Connection-level errors (a client went away) are not the test's business."""


#: Where the management API lives on the fake's own port.
MANAGEMENT_PREFIX = "/_fake"


class _Mount:
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


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _port_arg(value: int | None, name: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 65535:
        raise FakeACMEUsageError(f"{name} must be a port number (0-65535) or None, not {value!r}")
    return value


class FakeACME:
    """A fake ACME (RFC 8555) certificate authority running in this process.

    :param host: the loopback address to listen on.
    :param port: the port to listen on (0: a free one).
    :param http01_port: where the VA sends http-01 requests, the fake's stand-in for port 80
        (None: a free port, reported as :attr:`http01_port`; bind your responder there).
    :param tls_alpn01_port: the same for tls-alpn-01 (the stand-in for 443).
    :param alternate_chains: how many alternate chains (to other roots) certificates come
        with, each linked as ``rel="alternate"`` (RFC 8555 7.4.2).
    :param ca_key_type: the issuing hierarchy's keys, ``"ecdsa"`` (P-256) or ``"rsa"``.
    :param intermediates: how many intermediate certificates chains have (1-4).
    :param dns_port: where the fake's DNS server listens, UDP and TCP (0: a free port, reported
        as ``dns.address``; None: no DNS server).
    :param flavor: ``"boulder"`` (Let's Encrypt's state machine) or ``"rfc"``.
    :param va_default: what a validation finds when nothing is scripted (``outcomes.real()``).
    :param settings: further :class:`~pytest_fakeacme.config.Settings` values by name.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        http01_port: int | None = None,
        tls_alpn01_port: int | None = None,
        dns_port: int | None = 0,
        alternate_chains: int = 0,
        ca_key_type: str = "ecdsa",
        intermediates: int = 1,
        flavor: Flavor = "boulder",
        va_default: Outcome | None = None,
        clock: Clock | None = None,
        **settings: Any,
    ) -> None:
        self.host = host
        self.port = _port_arg(port, "port") or 0
        self._http01_port = _port_arg(http01_port, "http01_port") or _free_port(host)
        self._tls_alpn01_port = _port_arg(tls_alpn01_port, "tls_alpn01_port") or _free_port(host)
        self._initial_ports = (self._http01_port, self._tls_alpn01_port)
        if not isinstance(alternate_chains, int) or not 0 <= alternate_chains <= 4:
            raise FakeACMEUsageError(
                f"alternate_chains must be a whole number 0-4, not {alternate_chains!r}"
            )
        self._alternate_chains = alternate_chains
        if ca_key_type not in ("ecdsa", "rsa"):
            raise FakeACMEUsageError(f"ca_key_type must be 'ecdsa' or 'rsa', not {ca_key_type!r}")
        if not isinstance(intermediates, int) or not 1 <= intermediates <= 4:
            raise FakeACMEUsageError(
                f"intermediates must be a whole number 1-4, not {intermediates!r}"
            )
        self._ca_key_type = ca_key_type
        self._intermediates = intermediates
        self._dns_port = _port_arg(dns_port, "dns_port")
        self._dns_server: DNSServer | None = None
        self._management: ManagementApp | None = None
        self._initial_settings = Settings().copy(flavor=flavor, **settings)
        self.settings = self._initial_settings.copy()
        self.clock = clock or Clock()
        self.store = Store()
        self.dns = DNSData()
        self.nonces = NoncePool(self.clock)
        self.journal = Journal()
        self.faults = Faults()
        self.terms = Terms()
        self.eab = ExternalAccounts()
        self.ari = RenewalControl(self.store)
        self.store.listener = self._note_change
        self._errors: list[BaseException] = []
        self._errors_lock = threading.Lock()
        self.va = ValidationAuthority(
            self.store,
            self.clock,
            self.dns,
            lambda: self._http01_port,
            lambda: self._tls_alpn01_port,
            self._report_error,
            self.journal,
            lambda account_id: self._require_urls().account(account_id),
            lambda: self.settings.caa_identity,
        )
        if va_default is not None:
            self.va.set_initial_default(va_default)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._tmpdir: str | None = None
        self._urls: wire.Urls | None = None
        self.ca: CertificateAuthority | None = None
        self._ca_bundle: str | None = None

    # Lifecycle

    def start(self) -> FakeACME:
        """Create the keys, bind, and serve in a daemon thread. Returns ``self``."""
        if self._server is not None:
            raise FakeACMEError("this FakeACME is already running")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(128)
        except OSError as exc:
            sock.close()
            raise BindError(
                exc.errno,
                f"pytest-fakeacme cannot listen on {self.host}:{self.port}: {exc.strerror}. "
                "Use port=0 for a free port, or stop what holds this one.",
            ) from exc
        try:
            tls_ca = trustme.CA(organization_name="pytest-fakeacme TLS")
            leaf = tls_ca.issue_cert("127.0.0.1", "localhost", "::1")
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            leaf.configure_cert(tls)
            self._tmpdir = tempfile.mkdtemp(prefix="fakeacme-")
            self._ca_bundle = os.path.join(self._tmpdir, "ca-bundle.pem")
            tls_ca.cert_pem.write_to_path(self._ca_bundle)
            self.ca = CertificateAuthority(
                self.clock.now(),
                alternate_roots=self._alternate_chains,
                key_type=self._ca_key_type,
                intermediates=self._intermediates,
            )
            with open(os.path.join(self._tmpdir, "roots.pem"), "w", encoding="ascii") as f:
                f.write(self.ca.root_pem)
            port = sock.getsockname()[1]
            netloc = f"[{self.host}]:{port}" if ":" in self.host else f"{self.host}:{port}"
            self._urls = wire.Urls(f"https://{netloc}")
            frontend = Frontend(
                store=self.store,
                ca=self.ca,
                va=self.va,
                nonces=self.nonces,
                clock=self.clock,
                settings=self.settings,
                urls=self._urls,
                report_error=self._report_error,
                journal=self.journal,
                faults=self.faults,
                terms=self.terms,
                eab=self.eab,
                ari=self.ari,
            )
            self._frontend = frontend
            self._management = ManagementApp(self)
            self._acme_app = build_app(frontend)
            app = _Mount(self._acme_app, {MANAGEMENT_PREFIX: self._management})
            self._server = _Server(sock, app, tls, self.clock.now)
            if self._dns_port is not None:
                try:
                    self._dns_server = DNSServer(self.dns, self.host, self._dns_port)
                except OSError as exc:
                    raise BindError(
                        exc.errno,
                        f"pytest-fakeacme cannot serve DNS on {self.host}:{self._dns_port}: "
                        f"{exc.strerror}. Use dns_port=0 for a free port, None for no server.",
                    ) from exc
                self.dns.address = self._dns_server.address
        except BaseException:
            if self._server is not None:
                self._server.server_close()
                self._server = None
            sock.close()
            self._cleanup_files()
            raise
        self.port = self._server.port
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL},
            name=f"fakeacme-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, join the threads, remove the temporary files. Idempotent."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._management is not None:
            self._management.stop()
            self._management = None
        if self._dns_server is not None:
            self._dns_server.stop()
            self._dns_server = None
            self.dns.address = None
        self.va.shutdown()
        self._cleanup_files()
        self._urls = None  # directory_url and friends now say "not started"

    def _cleanup_files(self) -> None:
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self) -> FakeACME:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        if exc is None:
            self.check()

    @property
    def management_app(self) -> ManagementApp:
        """The management API's WSGI application (served under :attr:`management_url`)."""
        if self._management is None:
            raise FakeACMEError("the fake is not started: use `with FakeACME() as ca:` or start()")
        return self._management

    @property
    def wsgi_app(self) -> Any:
        """The WSGI application itself (e.g. for ``werkzeug.test.Client``, without sockets)."""
        if self._server is None:
            raise FakeACMEError("the fake is not started: use `with FakeACME() as ca:` or start()")
        return self._acme_app

    @property
    def running(self) -> bool:
        """Whether the server thread is serving."""
        return self._server is not None

    def reset(self) -> None:
        """Forget all state, scripts and settings changes; keep the server, keys and port.

        Outstanding nonces are forgotten too (a client must fetch a new one), and errors kept
        from the server thread are dropped: call :meth:`check` first to see them.
        """
        self.va.forget()
        self.va.clear()
        self.store.clear()
        self.journal.clear()
        self.faults.clear()
        self.terms.reset()
        self.eab.clear()
        self.ari.clear()
        self.nonces.reset()
        self.dns.clear()
        self.clock.reset()
        self._http01_port, self._tls_alpn01_port = self._initial_ports
        if self._management is not None:
            self._management.forget_tokens()
        with self._errors_lock:
            self._errors.clear()
        for field_name, value in vars(self._initial_settings).items():
            setattr(self.settings, field_name, value)

    def _note_change(self, kind: str, object_id: str, status: str, cause: str) -> None:
        self.journal.observe(kind, object_id, status, cause, self.clock.now(),
                             self.clock.monotonic())

    # Errors from the server thread

    def _report_error(self, exc: BaseException) -> None:
        with self._errors_lock:
            self._errors.append(exc)

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions raised inside the server (bugs, misused scripts), oldest first."""
        with self._errors_lock:
            return list(self._errors)

    def check(self) -> None:
        """Raise the first exception kept from the server thread (and forget them all).

        A :class:`~pytest_fakeacme.errors.ScriptError` is raised as it is; anything else is
        wrapped in :class:`~pytest_fakeacme.errors.ServerThreadError` with the original as its
        cause, traceback included.
        """
        with self._errors_lock:
            errors, self._errors = self._errors, []
        if not errors:
            return
        first = errors[0]
        if isinstance(first, FakeACMEError):
            raise first
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ServerThreadError(
            f"the fake ACME server raised {type(first).__name__}: {first}{more}"
        ) from first

    # Where to point clients

    def _require_urls(self) -> wire.Urls:
        if self._urls is None:
            raise FakeACMEError("the fake is not started: use `with FakeACME() as ca:` or start()")
        return self._urls

    @property
    def directory_url(self) -> str:
        """The ACME directory URL (https, loopback)."""
        return self._require_urls().directory

    @property
    def base_url(self) -> str:
        """``https://host:port`` of the ACME server."""
        return self._require_urls().base

    @property
    def ca_bundle(self) -> str:
        """Path of a PEM file that trusts the server's TLS certificate."""
        self._require_urls()
        assert self._ca_bundle is not None
        return self._ca_bundle

    @property
    def roots(self) -> str:
        """PEM of the issuing hierarchy's root certificate(s): what issued chains verify to."""
        self._require_urls()
        assert self.ca is not None
        return self.ca.root_pem

    @property
    def alternate_roots(self) -> list[str]:
        """PEM of each alternate chain's root (``alternate_chains=N``), in chain order."""
        self._require_urls()
        assert self.ca is not None
        return [
            r.public_bytes(serialization.Encoding.PEM).decode("ascii")
            for r in self.ca.alternate_roots
        ]

    @property
    def roots_path(self) -> str:
        """Path of a PEM file holding :attr:`roots`."""
        self._require_urls()
        assert self._tmpdir is not None
        return os.path.join(self._tmpdir, "roots.pem")

    @property
    def management_url(self) -> str:
        """The management API's URL (JSON over HTTPS; see :mod:`pytest_fakeacme.management`)."""
        return self._require_urls().base + MANAGEMENT_PREFIX

    @property
    def http01_port(self) -> int:
        """The port the VA sends http-01 requests to (the fake's stand-in for port 80)."""
        return self._http01_port

    @http01_port.setter
    def http01_port(self, value: int) -> None:
        port = _port_arg(value, "http01_port")
        if not port:
            raise FakeACMEUsageError("http01_port must be a port number between 1 and 65535")
        self._http01_port = port

    @property
    def tls_alpn01_port(self) -> int:
        """The port the VA connects to for tls-alpn-01 (the fake's stand-in for 443)."""
        return self._tls_alpn01_port

    @tls_alpn01_port.setter
    def tls_alpn01_port(self, value: int) -> None:
        port = _port_arg(value, "tls_alpn01_port")
        if not port:
            raise FakeACMEUsageError("tls_alpn01_port must be a port number between 1 and 65535")
        self._tls_alpn01_port = port

    @property
    def flavor(self) -> Flavor:
        """``"boulder"`` or ``"rfc"`` (settable)."""
        return self.settings.flavor

    @flavor.setter
    def flavor(self, value: Flavor) -> None:
        self.settings.flavor = self.settings.copy(flavor=value).flavor

    def configure(self, **settings: Any) -> None:
        """Change settings on the running instance (see :class:`~pytest_fakeacme.config.Settings`);
        ``reset()`` restores the ones it was created with."""
        new = self.settings.copy(**settings)
        for name in settings:
            setattr(self.settings, name, getattr(new, name))

    # State views

    def _now(self) -> _dt.datetime:
        return self.clock.now()

    def _settle_all(self) -> None:
        for authz_id in list(self.store.authorizations):
            self.va.settle(authz_id, poll=False)

    @property
    def accounts(self) -> list[views.AccountView]:
        """Every account, oldest first."""
        urls = self._require_urls()
        with self.store.lock:
            return [views.account_view(a, urls) for a in self.store.accounts.values()]

    @property
    def orders(self) -> list[views.OrderView]:
        """Every order, oldest first, with statuses as a client would see them now."""
        urls = self._require_urls()
        self._settle_all()
        with self.store.lock:
            now = self._now()
            return [views.order_view(self.store, o, now, urls) for o in self.store.orders.values()]

    @property
    def authorizations(self) -> list[views.AuthorizationView]:
        """Every authorization, oldest first."""
        urls = self._require_urls()
        self._settle_all()
        with self.store.lock:
            now = self._now()
            return [
                views.authorization_view(a, now, urls) for a in self.store.authorizations.values()
            ]

    @property
    def challenges(self) -> list[views.ChallengeView]:
        """Every challenge still listed by an authorization."""
        return [c for a in self.authorizations for c in a.challenges]

    @property
    def certificates(self) -> list[views.CertificateView]:
        """Every issued certificate, oldest first."""
        urls = self._require_urls()
        with self.store.lock:
            return [views.certificate_view(c, urls) for c in self.store.certificates.values()]

    def __repr__(self) -> str:
        where = self._urls.directory if self._urls else "not started"
        return f"<FakeACME {where} flavor={self.settings.flavor}>"


def default_outcome(name: str) -> Outcome:
    """An outcome from its constructor's name, for options and markers (``"valid"``)."""
    constructors: dict[str, Any] = dict(_outcomes.CONSTRUCTORS)
    factory = constructors.get(name)
    if factory is None:
        raise FakeACMEUsageError(
            f"unknown outcome {name!r}; use one of {', '.join(sorted(constructors))}"
        )
    try:
        result = factory()
    except TypeError:
        raise FakeACMEUsageError(
            f"outcome {name!r} needs arguments; script it from Python instead"
        ) from None
    assert isinstance(result, Outcome)
    return result

