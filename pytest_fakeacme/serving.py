"""The fake's servers while it runs: the ACME application and the management API on one HTTPS
port, and the DNS server. Started together by :meth:`Serving.start`, stopped together by
:meth:`Serving.stop`; the facade holds one while it is running."""

from __future__ import annotations

import threading
from typing import Any

from . import wire
from .ca import CertificateAuthority
from .core import Core
from .crl import ISSUER_PATH, CRLs, CRLServer
from .dnsserver import DNSServer
from .errors import BindError
from .management import Endpoints, ManagementApp, PlainServer
from .transport import (
    MANAGEMENT_PREFIX,
    POLL_INTERVAL,
    HandshakeFailure,
    InThread,
    Mount,
    Server,
    ServerIdentity,
    bind,
)
from .wfe import Frontend, build_app


class Serving:
    """A running fake's servers, files and URLs."""

    def __init__(self, core: Core, ca: CertificateAuthority) -> None:
        self.ca = ca
        self._core = core
        self.identity: ServerIdentity | None = None
        self.endpoints: Endpoints | None = None
        self.management: ManagementApp | None = None
        self.acme_app: Any = None
        self.server: Server | None = None
        self._thread: threading.Thread | None = None
        self._dns: DNSServer | None = None
        #: The management API's servers on ports of their own (``serve_management``).
        self._extra: list[InThread | PlainServer] = []
        self.crls: CRLs | None = None
        self._crl_server: CRLServer | None = None

    @classmethod
    def start(cls, core: Core, ca: CertificateAuthority, host: str, port: int,
              dns_port: int | None, crl_port: int | None = 0) -> Serving:
        """Bind, build the applications, serve in a daemon thread; on any failure nothing is
        left running or on disk."""
        sock = bind(host, port)
        serving = cls(core, ca)
        try:
            if crl_port is not None:  # first: the management API publishes them on demand
                serving._start_crls(host, crl_port)
            identity = serving._build(sock.getsockname()[1], host)
            app = Mount(serving.acme_app, {MANAGEMENT_PREFIX: serving.management})
            serving.server = Server(sock, app, identity.tls, core.clock.now,
                                    on_handshake_failure=serving._journal_handshake)
            core.journal.quiet_hook = serving.server.wait_until_quiet
            if dns_port is not None:
                serving._start_dns(host, dns_port)
        except BaseException:
            serving.stop()
            sock.close()
            raise
        serving._thread = threading.Thread(
            target=serving.server.serve_forever, kwargs={"poll_interval": POLL_INTERVAL},
            name=f"fakeacme-{serving.server.port}", daemon=True,
        )
        serving._thread.start()
        return serving

    def _journal_handshake(self, failure: HandshakeFailure) -> None:
        self._core.journal.record("handshake", peer=failure.peer, alert=failure.alert,
                                  detail=failure.detail, untrusted=failure.untrusted)

    def _build(self, port: int, host: str) -> ServerIdentity:
        self.identity = identity = ServerIdentity(self.ca.root_pem)
        netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        urls = wire.Urls(f"https://{netloc}")
        self.endpoints = Endpoints(urls, self.identity.ca_bundle, self.identity.roots_path,
                                   urls.base + MANAGEMENT_PREFIX)
        self.management = ManagementApp(self._core, self.ca, self.endpoints, self.crls)
        self.acme_app = build_app(Frontend(self._core, self.ca, urls))
        return identity

    def _start_crls(self, host: str, port: int) -> None:
        crls = CRLs(self.ca, self._core.store, self._core.reads, self._core.clock,
                    self._core.settings, self.ca.crl_shards)
        try:
            self._crl_server = CRLServer(crls, host, port)
        except OSError as exc:
            raise BindError(exc.errno, exc.strerror or str(exc),
                            address=f"{host}:{port} for CRLs", setting="crl_port",
                            also=" (None for no CRLs)") from exc
        netloc = f"[{host}]:{self._crl_server.port}" if ":" in host else (
            f"{host}:{self._crl_server.port}")
        self.ca.crl_base = f"http://{netloc}/"
        self.ca.issuer_url = f"http://{netloc}/{ISSUER_PATH}"
        self.crls = crls
        self._core.also_reset(crls.clear)

    def _start_dns(self, host: str, port: int) -> None:
        try:
            self._dns = DNSServer(self._core.dns, host, port)
        except OSError as exc:
            raise BindError(exc.errno, exc.strerror or str(exc),
                            address=f"{host}:{port} for DNS", setting="dns_port",
                            also=" (None for no DNS server)") from exc
        self._core.dns.address = self._dns.address

    def serve_management(self, host: str, port: int, tls: bool) -> str:
        """The management API on a port of its own (HTTPS with the fake's certificate, or
        plain HTTP); its URL."""
        assert self.management is not None
        assert self.identity is not None
        if not tls:
            plain = PlainServer(self.management, host, port)
            self._extra.append(plain)
            return plain.url
        server = Server(bind(host, port, setting="https_management_port"), self.management,
                        self.identity.tls, self._core.clock.now)
        self._extra.append(InThread(server, f"fakeacme-management-{server.port}"))
        netloc = f"[{host}]:{server.port}" if ":" in host else f"{host}:{server.port}"
        return f"https://{netloc}"

    @property
    def port(self) -> int:
        """The HTTPS port served."""
        assert self.server is not None
        return int(self.server.port)

    def stop(self) -> None:
        """Stop serving, join the threads, remove the files. Idempotent."""
        extra, self._extra = self._extra, []
        for other in extra:
            other.stop()
        server, self.server = self.server, None
        thread, self._thread = self._thread, None
        if server is not None:
            self._core.journal.quiet_hook = None
            if thread is not None:  # shutdown() waits for a serve_forever() that ran
                server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join()
        if self._dns is not None:
            self._dns.stop()
            self._dns = None
            self._core.dns.address = None
        if self._crl_server is not None:
            self._crl_server.stop()
            self._crl_server = None
        if self.crls is not None:
            self._core.forget_reset(self.crls.clear)
        if self.identity is not None:
            self.identity.remove()
            self.identity = None
