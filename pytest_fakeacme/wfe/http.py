"""HTTP plumbing of the front end: the request as the ACME layer reads it, and the answer.

Both are thin on purpose. werkzeug's ``Request`` and ``Response`` objects, with their
descriptors, header classes and stream wrappers, cost about a quarter of the fake's time per
request (benchmarks/README.md); the ACME layer reads a handful of request fields and sets a
few ASCII headers on a body it already holds as bytes. werkzeug's helpers still do the parts
whose details matter (host, content type, content length, the input stream).
"""

from __future__ import annotations

import http
from typing import TYPE_CHECKING, Any

from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.sansio.utils import get_content_length, get_host
from werkzeug.wrappers import Request
from werkzeug.wsgi import get_input_stream

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


class HttpRequest:
    """The parts of a request the front end reads, straight from the WSGI environ, with
    werkzeug's semantics (``Request.path``, ``host``, ``mimetype``, ``content_length``,
    ``get_data``)."""

    __slots__ = ("_data", "environ", "max_content_length", "method", "path")

    def __init__(self, environ: WSGIEnvironment) -> None:
        self.environ = environ
        self.method: str = environ.get("REQUEST_METHOD", "GET").upper()
        # PEP 3333: PATH_INFO holds the raw bytes as latin-1; werkzeug decodes them as UTF-8.
        raw = (environ.get("PATH_INFO") or "").encode("latin-1").decode(errors="replace")
        self.path = "/" + raw.lstrip("/")
        #: Reading more than this many bytes of body raises ``RequestEntityTooLarge``.
        self.max_content_length: int | None = None
        self._data: bytes | None = None

    @property
    def scheme(self) -> str:
        """``http`` or ``https``."""
        return str(self.environ.get("wsgi.url_scheme", "http"))

    @property
    def host(self) -> str:
        """``host[:port]`` as the client named it, default port left out (werkzeug's
        ``get_host``), and ``:443`` then ``:80`` trimmed whatever the scheme, as Boulder trims
        them before it builds URLs or checks a JWS ``url`` (web/context.go:169-183)."""
        name = self.environ.get("SERVER_NAME")
        server: tuple[str, int | None] | None = None
        if name is not None:
            try:
                server = (name, int(self.environ.get("SERVER_PORT", "")))
            except ValueError:
                server = (name, None)
        host = get_host(self.scheme, self.environ.get("HTTP_HOST"), server)
        return host.removesuffix(":443").removesuffix(":80")

    @property
    def query_string(self) -> bytes:
        """The raw query string."""
        return str(self.environ.get("QUERY_STRING", "")).encode("latin-1")

    @property
    def args(self) -> MultiDict[str, str]:
        """The parsed query string (werkzeug's, built only when a handler asks)."""
        return Request(self.environ).args

    @property
    def mimetype(self) -> str:
        """The Content-Type without parameters, lower case."""
        return parse_options_header(self.environ.get("CONTENT_TYPE", ""))[0].lower()

    def has_header(self, name: str) -> bool:
        """Whether the request carries a header called ``name``."""
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        return key in self.environ

    @property
    def content_length(self) -> int | None:
        """The declared body length (None for a chunked or unannounced body)."""
        return get_content_length(
            self.environ.get("CONTENT_LENGTH"), self.environ.get("HTTP_TRANSFER_ENCODING")
        )

    def get_data(self) -> bytes:
        """The whole body, read once; raises werkzeug's ``RequestEntityTooLarge`` past
        :attr:`max_content_length`, and ``OSError``/``ValueError``/``HTTPException`` for a
        body cut short or badly chunked."""
        if self._data is None:
            environ = self.environ
            length = self.content_length
            if length is None or environ.get("wsgi.input_terminated"):
                # Chunked, or no length at all: werkzeug's stream handles both.
                stream = get_input_stream(environ, max_content_length=self.max_content_length)
                self._data = stream.read()
            else:
                if self.max_content_length is not None and length > self.max_content_length:
                    raise RequestEntityTooLarge()
                self._data = _read_exactly(environ["wsgi.input"], length)
        return self._data


def _read_exactly(stream: Any, length: int) -> bytes:
    """``length`` bytes of ``stream``; a body that ends early is the client's failure (as
    werkzeug's ``LimitedStream`` reports it)."""
    parts: list[bytes] = []
    left = length
    while left > 0:
        part = stream.read(left)
        if not part:
            raise ClientDisconnected()
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


#: Reason phrases by status code (RFC 9110 15), looked up once rather than per answer.
_REASONS = {status.value: status.phrase for status in http.HTTPStatus}


def reason_phrase(status: int) -> str:
    """RFC 9110's reason phrase for ``status`` (``"Unknown"`` for a code it does not name)."""
    return _REASONS.get(status, "Unknown")


class Answer:
    """What goes back on the wire: a status, headers in order, and the body.

    A plain list of header pairs rather than werkzeug's ``Response``, whose header machinery
    cost a fifth of a request's time on the server (benchmarks/README.md); the fake only ever
    sets a few ASCII headers on a body it already holds as bytes.
    """

    __slots__ = ("body", "headers", "reason", "status")

    def __init__(self, status: int, body: bytes, content_type: str | None) -> None:
        self.status = status
        self.body = body
        #: The status line's reason phrase (None: RFC 9110's).
        self.reason: str | None = None
        self.headers: list[tuple[str, str]] = []
        if content_type is not None:
            self.headers.append(("Content-Type", content_type))

    def set(self, name: str, value: str) -> None:
        """Replace every header called ``name`` with this one."""
        lower = name.lower()
        self.headers = [(k, v) for k, v in self.headers if k.lower() != lower]
        self.headers.append((name, value))

    def add(self, name: str, value: str) -> None:
        """Add a header, keeping others of the same name (``Link`` repeats, RFC 8288)."""
        self.headers.append((name, value))

    def add_first(self, name: str, value: str) -> None:
        """Add a header before the others of the same name (a header Boulder adds before its
        handler runs goes out before the ones the handler adds)."""
        lowered = name.lower()
        at = next((i for i, (key, _) in enumerate(self.headers) if key.lower() == lowered),
                  len(self.headers))
        self.headers.insert(at, (name, value))

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        """Answer as a WSGI application. HEAD gets the headers a GET would (RFC 9110 9.3.2),
        ``Content-Length`` included, and no body."""
        headers = [*self.headers, ("Content-Length", str(len(self.body)))]
        start_response(f"{self.status} {self.reason or reason_phrase(self.status)}", headers)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [self.body]
