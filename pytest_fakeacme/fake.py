"""``FakeACME``: the fake CA as an object, serving HTTPS on loopback from a daemon thread.

Usable without pytest::

    with FakeACME() as ca:
        client = make_client(ca.directory_url, verify=ca.ca_bundle)
        ...

A facade: the components live in :class:`~pytest_fakeacme.core.Core`, the servers in
:class:`~pytest_fakeacme.serving.Serving`, the reads in :mod:`~pytest_fakeacme.reads`. This
class checks its arguments, starts and stops, and offers the user's verbs.
"""

from __future__ import annotations

import ssl
import warnings
from types import TracebackType
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from . import views
from .ca import CertificateAuthority, crl_shard
from .clock import Clock
from .config import Flavor, Ports, Settings
from .core import Core
from .diagram import order_entries, sequence_svg
from .errors import FakeACMEError, FakeACMEUsageError, UnusedScriptWarning
from .management import Endpoints, ManagementApp
from .outcomes import Outcome
from .serving import Serving
from .transport import free_port, port_arg

_NOT_STARTED = "the fake is not started: use `with FakeACME() as ca:` or start()"


def _whole(value: object, name: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise FakeACMEUsageError(f"{name} must be a whole number {low}-{high}, not {value!r}")
    return value


def _listening_port(value: object, name: str) -> int:
    if not isinstance(value, int) or not port_arg(value, name):
        raise FakeACMEUsageError(f"{name} must be a port number between 1 and 65535")
    return value


class _Addresses:
    """Where to point clients: :class:`FakeACME`'s URLs and files (while it runs)."""

    _serving: Serving | None
    ca: CertificateAuthority | None

    def _where(self) -> Endpoints:
        if self._serving is None or self._serving.endpoints is None:
            raise FakeACMEError(_NOT_STARTED)
        return self._serving.endpoints

    @property
    def directory_url(self) -> str:
        """The ACME directory URL (https, loopback)."""
        return self._where().urls.directory

    @property
    def base_url(self) -> str:
        """``https://host:port`` of the ACME server."""
        return self._where().urls.base

    @property
    def ca_bundle(self) -> str:
        """Path of a PEM file that trusts the server's TLS certificate."""
        return self._where().ca_bundle

    def ssl_context(self) -> ssl.SSLContext:
        """A new client :class:`ssl.SSLContext` that trusts :attr:`ca_bundle` and nothing else
        (for httpx, aiohttp, urllib, asyncio; no environment variable overrides it)."""
        return ssl.create_default_context(cafile=self.ca_bundle)

    @property
    def roots(self) -> str:
        """PEM of the issuing hierarchy's root certificate(s): what issued chains verify to."""
        self._where()
        assert self.ca is not None
        return self.ca.root_pem

    @property
    def alternate_roots(self) -> list[str]:
        """PEM of each alternate chain's root (``alternate_chains=N``), in chain order."""
        self._where()
        assert self.ca is not None
        return [r.public_bytes(serialization.Encoding.PEM).decode("ascii")
                for r in self.ca.alternate_roots]

    @property
    def roots_path(self) -> str:
        """Path of a PEM file holding :attr:`roots`."""
        return self._where().roots_path

    @property
    def management_url(self) -> str:
        """The management API's URL (JSON over HTTPS; see :mod:`pytest_fakeacme.management`)."""
        return self._where().management_url



class _Views(_Addresses):
    """:class:`FakeACME`'s state views: snapshots for assertions, settled first (a finished
    validation shows) without counting as a client's poll."""

    _core: Core

    @property
    def accounts(self) -> list[views.AccountView]:
        """Every account, oldest first."""
        return self._core.reads.accounts(self._where().urls)

    @property
    def orders(self) -> list[views.OrderView]:
        """Every order, oldest first, with statuses as a client would see them now."""
        return self._core.reads.orders(self._where().urls)

    @property
    def authorizations(self) -> list[views.AuthorizationView]:
        """Every authorization, oldest first."""
        return self._core.reads.authorizations(self._where().urls)

    @property
    def challenges(self) -> list[views.ChallengeView]:
        """Every challenge still listed by an authorization."""
        return [c for a in self.authorizations for c in a.challenges]

    @property
    def certificates(self) -> list[views.CertificateView]:
        """Every issued certificate, oldest first."""
        return self._core.reads.certificates(self._where().urls)



def _warn_unused(message: str) -> None:
    # Called from __exit__ through the core: the warning points at the user's `with`.
    warnings.warn(UnusedScriptWarning(message), stacklevel=4)


class FakeACME(_Views):
    """A fake ACME (RFC 8555) certificate authority running in this process.

    :param host: the loopback address to listen on.
    :param port: the port to listen on (0: a free one).
    :param http01_port: where the VA sends http-01 requests, the fake's stand-in for port 80
        (None: a free port, reported as :attr:`http01_port`; bind your responder there).
    :param tls_alpn01_port: the same for tls-alpn-01 (the stand-in for 443).
    :param https_port: where the VA connects when an http-01 redirect goes to https on 443,
        and where the fake's own https-01 responder listens (``va.https_port``).
    :param alternate_chains: how many alternate chains (to other roots) certificates come
        with, each linked as ``rel="alternate"`` (RFC 8555 7.4.2).
    :param ca_key_type: the issuing hierarchy's keys, ``"ecdsa"`` (P-256) or ``"rsa"``.
    :param intermediates: how many intermediate certificates chains have (1-4).
    :param dns_port: where the fake's DNS server listens, UDP and TCP (0: a free port, reported
        as ``dns.address``; None: no DNS server).
    :param crl_port: where CRLs are served over HTTP (0: a free port; None: none, and
        certificates carry no CRL distribution point).
    :param flavor: ``"boulder"`` (Let's Encrypt's state machine) or ``"rfc"``.
    :param va_default: what a validation finds when nothing is scripted (``outcomes.real()``),
        an outcome or its name (``"valid"``).
    :param settings: further :class:`~pytest_fakeacme.config.Settings` values by name.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        http01_port: int | None = None,
        tls_alpn01_port: int | None = None,
        https_port: int = 443,
        dns_port: int | None = 0,
        crl_port: int | None = 0,
        alternate_chains: int = 0,
        ca_key_type: str = "ecdsa",
        intermediates: int = 1,
        flavor: Flavor = "boulder",
        va_default: Outcome | str | None = None,
        clock: Clock | None = None,
        **settings: Any,
    ) -> None:
        self.host = host
        self.port = port_arg(port, "port") or 0
        ports = Ports(
            http01=port_arg(http01_port, "http01_port") or free_port(host),
            tls_alpn01=port_arg(tls_alpn01_port, "tls_alpn01_port") or free_port(host),
            https=port_arg(https_port, "https_port") or free_port(host),
        )
        self._alternate_chains = _whole(alternate_chains, "alternate_chains", 0, 4)
        if ca_key_type not in ("ecdsa", "rsa"):
            raise FakeACMEUsageError(f"ca_key_type must be 'ecdsa' or 'rsa', not {ca_key_type!r}")
        self._ca_key_type = ca_key_type
        self._intermediates = _whole(intermediates, "intermediates", 1, 4)
        self._dns_port = port_arg(dns_port, "dns_port")
        self._crl_port = port_arg(crl_port, "crl_port")
        self._core = core = Core(Settings().copy(flavor=flavor, **settings), clock or Clock(),
                                 ports, va_default)
        # The parts users reach for, as attributes (the core owns them).
        self.settings, self.clock, self.store, self.dns = (core.settings, core.clock,
                                                           core.store, core.dns)
        self.nonces, self.journal, self.faults, self.va = (core.nonces, core.journal,
                                                           core.faults, core.va)
        self.terms, self.eab, self.ari = core.terms, core.eab, core.ari
        self.limits = core.limits
        self.ca: CertificateAuthority | None = None
        self._serving: Serving | None = None

    # Lifecycle

    def start(self) -> FakeACME:
        """Create the keys, bind, and serve in a daemon thread. Returns ``self``."""
        if self._serving is not None:
            raise FakeACMEError("this FakeACME is already running")
        ca = CertificateAuthority(self.clock.now(), alternate_roots=self._alternate_chains,
                                  key_type=self._ca_key_type, intermediates=self._intermediates)
        self._serving = Serving.start(self._core, ca, self.host, self.port, self._dns_port,
                                      self._crl_port)
        self.ca, self.port = ca, self._serving.port
        return self

    def stop(self) -> None:
        """Stop serving, join the threads, remove the temporary files. Idempotent."""
        serving, self._serving = self._serving, None
        if serving is not None:
            serving.stop()
        self._core.stop()

    def serve_management(self, port: int = 0, *, tls: bool = True) -> str:
        """Serve the management API on a port of its own as well, until :meth:`stop`: over
        HTTPS with the fake's certificate (as Pebble's management listener), or plain HTTP
        with ``tls=False`` (as pebble-challtestsrv's). Returns its URL."""
        if self._serving is None:
            raise FakeACMEError(_NOT_STARTED)
        return self._serving.serve_management(self.host, port_arg(port, "port") or 0, tls)

    def __enter__(self) -> FakeACME:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
        if exc is None:
            self.check()
            self._core.check_unused_scripts(_warn_unused)

    @property
    def management_app(self) -> ManagementApp:
        """The management API's WSGI application (served under :attr:`management_url`)."""
        if self._serving is None or self._serving.management is None:
            raise FakeACMEError(_NOT_STARTED)
        return self._serving.management

    @property
    def wsgi_app(self) -> Any:
        """The WSGI application itself (e.g. for ``werkzeug.test.Client``, without sockets)."""
        if self._serving is None:
            raise FakeACMEError(_NOT_STARTED)
        return self._serving.acme_app

    @property
    def running(self) -> bool:
        """Whether the server thread is serving."""
        return self._serving is not None

    def reset(self) -> None:
        """Forget all state, scripts and settings changes; keep the server, keys and port.

        Outstanding nonces are forgotten too (a client must fetch a new one), and errors kept
        from the server thread are dropped: call :meth:`check` first to see them.
        """
        self._core.reset()

    # Errors from the server thread

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions raised inside the server (bugs, misused scripts), oldest first."""
        return self._core.errors.peek()

    def check(self) -> None:
        """Raise the first exception kept from the server thread (and forget them all).

        A :class:`~pytest_fakeacme.errors.ScriptError` is raised as it is; anything else is
        wrapped in :class:`~pytest_fakeacme.errors.ServerThreadError` with the original as its
        cause, traceback included.
        """
        __tracebackhide__ = True  # pytest: the error is the fake's report, not this frame's
        self._core.errors.raise_first()

    @property
    def http01_port(self) -> int:
        """The port the VA sends http-01 requests to (the fake's stand-in for port 80)."""
        return self._core.ports.http01

    @http01_port.setter
    def http01_port(self, value: int) -> None:
        self._core.ports.http01 = _listening_port(value, "http01_port")

    @property
    def tls_alpn01_port(self) -> int:
        """The port the VA connects to for tls-alpn-01 (the fake's stand-in for 443)."""
        return self._core.ports.tls_alpn01

    @tls_alpn01_port.setter
    def tls_alpn01_port(self, value: int) -> None:
        self._core.ports.tls_alpn01 = _listening_port(value, "tls_alpn01_port")

    @property
    def flavor(self) -> Flavor:
        """``"boulder"`` or ``"rfc"`` (settable)."""
        return self.settings.flavor

    @flavor.setter
    def flavor(self, value: Flavor) -> None:
        self._core.configure(flavor=value)

    def configure(self, **settings: Any) -> None:
        """Change settings on the running instance (see :class:`~pytest_fakeacme.config.Settings`);
        ``reset()`` restores the ones it was created with."""
        self._core.configure(**settings)

    @property
    def crl_base(self) -> str | None:
        """Where CRLs are served (``http://host:port/``; ``<shard>.crl`` under it), or None."""
        if self._serving is None:
            raise FakeACMEError(_NOT_STARTED)
        assert self.ca is not None
        return self.ca.crl_base if self._serving.crls is not None else None

    def crl(self, certificate: views.CertificateView | int | None = None, *,
            update: bool = False) -> x509.CertificateRevocationList:
        """The CRL a client fetching it now gets (a ``cryptography`` object): the shard of
        ``certificate`` (a view or a serial), or shard 1. ``update=True`` publishes every
        CRL again first, so revocations so far are listed at once."""
        if self._serving is None or self._serving.crls is None:
            raise FakeACMEError(_NOT_STARTED if self._serving is None else
                                "this fake serves no CRLs (crl_port=None)")
        crls = self._serving.crls
        if update:
            crls.update()
        serial = getattr(certificate, "serial", certificate)
        if serial is not None and (not isinstance(serial, int) or isinstance(serial, bool)):
            raise FakeACMEUsageError(f"crl() takes a certificate from fake_acme.certificates or "
                                     f"its serial, not {certificate!r}")
        return crls.current(1 if serial is None else crl_shard(serial, crls.shards))

    def diagram(self, order: str | None = None) -> str:
        """The conversation as a sequence diagram (an SVG document): the whole journal, or
        the part about one order (by id, as in :attr:`orders`)."""
        entries = list(self.journal)
        if order is None:
            return sequence_svg(entries)
        chosen = [o for o in self.orders if o.id == order]
        if not chosen:
            raise FakeACMEUsageError(f"no order {order!r}; the orders are "
                                     f"{[o.id for o in self.orders]}")
        return sequence_svg(order_entries(entries, chosen[0]), title=f"Order {order}")

    def __repr__(self) -> str:
        where = self.directory_url if self.running else "not started"
        return f"<FakeACME {where} flavor={self.settings.flavor}>"
