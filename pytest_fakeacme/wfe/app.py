"""The web front end: routing, the rules every request obeys, and problem rendering.

Per-request ACME rules live here, once, rather than in handlers (Pebble's ``HandleFunc``):
- RFC 8555 6.5: a fresh ``Replay-Nonce`` on every POST answer, errors included, and on newNonce;
- RFC 8555 7.1: ``Link: <directory>;rel="index"`` on every resource but the directory;
- RFC 8555 6.2: POSTs are ``application/jose+json`` (else 415), JWS verified before a handler
  runs, ``url`` bound to the request URL;
- RFC 8555 6.3: resources are read by POST-as-GET; a GET of one is 405;
- every error is an ``application/problem+json`` from :mod:`pytest_fakeacme.problems`; an
  exception in the fake itself becomes ``serverInternal`` and is kept for the test to re-raise.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import email.utils
import json
import re
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .. import problems
from ..journal import KEPT_HEADERS, Exchange
from ..jws import KeyMode, VerifiedRequest
from ..problems import AcmeProblem
from ..transport import FRAMING_KEY
from .common import Call, Frontend, Handler, Reply
from .http import Answer, HttpRequest

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

#: The journal's kept headers by lower-case name (answers' headers are matched without case).
_KEPT_BY_LOWER = {name.lower(): name for name in KEPT_HEADERS}

JOSE_JSON = "application/jose+json"
#: Where a POST's body, once read, waits for the journal (in the WSGI environ).
_BODY_KEY = "pytest_fakeacme.body"
#: Where the faults that fired for a request wait for the journal (in the WSGI environ).
_FAULT_KEY = "pytest_fakeacme.fault"
PROBLEM_JSON = "application/problem+json"


def _retry_after_as_date(fe: Frontend, response: Answer) -> None:
    """``Retry-After: <seconds>`` as the HTTP-date that many seconds on (RFC 9110 10.2.3)."""
    for key, value in list(response.headers):
        if key.lower() == "retry-after" and value.isascii() and value.isdigit():
            when = fe.clock.now() + _dt.timedelta(seconds=int(value))
            response.set(key, email.utils.format_datetime(when, usegmt=True))


class DroppedConnection(Exception):  # noqa: N818 - a signal, not an error
    """Raised to drop the connection without an answer (the drop fault)."""


def _json_bytes(body: Any) -> bytes:
    # Compact, unlike Boulder's indented answers: no client reads the whitespace, and the
    # indenting encoder is pure Python, several times the C encoder's cost per answer.
    return json.dumps(body).encode("utf-8")


@dataclass(frozen=True)
class Route:
    """A resource: its path, the directory name journal entries use, its handler, how a POST
    to it authenticates (``None`` for resources that take no POST), and whether it is read by
    POST-as-GET only (a payload is refused before the handler runs: Boulder's
    ``validPOSTAsGETForAccount``)."""

    path: str
    name: str
    handler: Handler
    methods: tuple[str, ...] = ("POST",)
    key_mode: KeyMode | None = "kid"
    post_as_get_only: bool = False


class AcmeApp:
    """The WSGI application."""

    def __init__(self, frontend: Frontend, routes: Iterable[Route]) -> None:
        self.fe = frontend
        # A few anchored regular expressions: werkzeug's routing Map compiles Python code per
        # rule at every start-up, and these paths need none of its features.
        # Each with its literal prefix, which rules most routes out without the regex.
        self._patterns = [
            (
                r.path.split("<", 1)[0].rstrip("/") if "<" in r.path else r.path,
                re.compile("^" + re.sub(r"<(\w+)>", r"(?P<\1>[^/]+)", r.path) + "/?$"),
                r,
            )
            for r in routes
        ]

    def _match(self, path: str) -> tuple[Route | None, dict[str, str]]:
        for prefix, pattern, route in self._patterns:
            if not path.startswith(prefix):
                continue
            found = pattern.match(path)
            if found is not None:
                return route, found.groupdict()
        return None, {}

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = HttpRequest(environ)
        response = self.handle(request)
        return response(environ, start_response)

    def handle(self, request: HttpRequest) -> Answer:
        """Answer one request, and journal it (its own line first, then what it caused)."""
        with self.fe.journal.exchange() as exchange:
            return self._handle(request, exchange)

    def _handle(self, request: HttpRequest, exchange: Exchange) -> Answer:
        route: Route | None = None
        call: Call | None = None
        failure: AcmeProblem | None = None
        # Every URL in the answer names the fake as this request did (Host and scheme).
        fe = self.fe.for_base(f"{request.scheme}://{request.host}")
        fe.reads.catch_up()
        try:
            route, args = self._match(request.path)
            framing = request.environ.get(FRAMING_KEY)
            if framing is not None:
                raise problems.malformed(f"Unable to read the request: {framing}")
            if route is None:
                raise problems.not_found("Resource not found")
            if fe.settings.require_user_agent and not request.environ.get("HTTP_USER_AGENT"):
                # Pebble 2.10's HandleFunc; Boulder accepts such requests.
                raise problems.malformed("All requests MUST include a User-Agent header")
            allowed = route.methods + (("HEAD",) if "GET" in route.methods else ())
            if request.method not in allowed:
                # The route stays known, so the journal can say what was asked for.
                raise problems.method_not_allowed().with_headers(Allow=", ".join(sorted(allowed)))
            self._inject_faults(request, route)
            call = Call(request=request, url=self._request_url(request), args=dict(args))
            if request.method == "POST":
                call.jws = self._authenticate(fe, request, call.url, route)
            reply = route.handler(fe, call)
            response = self._render(reply)
        except AcmeProblem as prob:
            failure = prob
            response = self._render_problem(prob)
        except DroppedConnection:
            # Nothing reaches the client; the journal notes status 0.
            response = Answer(0, b"", None)
            self._journal_line(exchange, request, route, None, response, None)
            return response
        except Exception as exc:  # any bug must reach the test, not kill the server
            self.fe.errors.report(exc)
            failure = problems.server_internal(problems.internal_error_detail(exc))
            response = self._render_problem(failure)
        self._common_headers(fe, request, response, route)
        if fe.settings.retry_after_format == "date":
            _retry_after_as_date(fe, response)
        self._journal_line(exchange, request, route, call, response, failure)
        return response

    def _journal_line(
        self,
        exchange: Exchange,
        request: HttpRequest,
        route: Route | None,
        call: Call | None,
        response: Answer,
        failure: AcmeProblem | None,
    ) -> None:
        found: dict[str, list[str]] = {}
        for key, value in response.headers:
            name = _KEPT_BY_LOWER.get(key.lower())
            if name is not None:
                found.setdefault(name, []).append(value)
        headers = {name: ", ".join(found[name]) for name in KEPT_HEADERS if name in found}
        account = call.jws.account if call is not None and call.jws is not None else None
        if call is None and request.method == "POST" and _BODY_KEY not in request.environ:
            # Refused before the JWS was read (a fault, an unknown path): the journal still
            # shows what the client sent. (With a call, _authenticate tried: never twice.)
            self._read_body(request)
        exchange.lead(
            "request",
            endpoint=route.name if route is not None else "unknown",
            method=request.method,
            url=call.url if call is not None else self._request_url(request),
            account_id=account.id if account is not None else None,
            status=response.status,
            problem=failure,
            headers=headers,
            # What _authenticate read (HttpRequest keeps it); never read again from the socket.
            body=request.environ.get(_BODY_KEY, b""),
            fault=request.environ.get(_FAULT_KEY, ""),
        )

    def _read_body(self, request: HttpRequest) -> None:
        """Keep the request's body for the journal, bounded as ``_authenticate`` bounds it (an
        oversized or unreadable body is kept empty)."""
        limit = self.fe.settings.max_request_body
        request.max_content_length = limit + 1
        try:
            body = request.get_data()
        except (HTTPException, OSError, ValueError):
            body = b""
        request.environ[_BODY_KEY] = body if len(body) <= limit else b""

    def _inject_faults(self, request: HttpRequest, route: Route) -> None:
        """Apply the faults configured for this endpoint: delay, drop, or answer."""
        if self.fe.faults.empty:
            return
        hit = self.fe.faults.check(route.name, self.fe.clock.now(), request.method == "POST")
        if hit.fired:
            request.environ[_FAULT_KEY] = "; ".join(hit.fired)
        if hit.delay:
            threading.Event().wait(hit.delay)  # a slow server, on purpose, in its own thread
        if hit.drop:
            sock = request.environ.get("werkzeug.socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            raise DroppedConnection()
        if hit.problem is not None:
            raise hit.problem

    @staticmethod
    def _request_url(request: HttpRequest) -> str:
        # RFC 8555 6.4: the JWS "url" must be the URL the request was sent to.
        query = request.query_string.decode("latin-1")
        return f"{request.scheme}://{request.host}{request.path}" + (f"?{query}" if query else "")

    def _authenticate(self, fe: Frontend, request: HttpRequest, url: str, route: Route
                      ) -> VerifiedRequest:
        # Boulder's wfe2/verify.go validPOSTRequest, in its order and words.
        prefix = "Unable to validate JWS :: "
        content_type = (request.mimetype or "").lower()
        if not content_type:
            raise problems.unsupported_media_type(
                prefix + 'No Content-Type header on POST. Content-Type must be '
                '"application/jose+json"'
            )
        if content_type != JOSE_JSON:
            raise problems.unsupported_media_type(
                prefix + 'Invalid Content-Type header on POST. Content-Type must be '
                '"application/jose+json"'
            )
        if request.has_header("Replay-Nonce"):
            raise problems.malformed(
                prefix + "HTTP requests should NOT contain Replay-Nonce header. Use JWS nonce field"
            )
        length = request.content_length
        limit = self.fe.settings.max_request_body
        if length is not None and length > limit:
            raise problems.unauthorized(prefix + "request body too large")
        # werkzeug stops reading one byte past the limit, chunked bodies included, so an
        # oversized body is refused without being read into memory.
        request.max_content_length = limit + 1
        try:
            body = request.get_data()
        except RequestEntityTooLarge:
            raise problems.unauthorized(prefix + "request body too large") from None
        except (HTTPException, OSError, ValueError):
            # A body cut short or badly chunked: the client's fault, never a 500.
            raise problems.malformed(prefix + "the request body could not be read") from None
        # Kept for the journal, which records what was sent even when it is refused.
        request.environ[_BODY_KEY] = body
        if len(body) > limit:
            raise problems.unauthorized(prefix + "request body too large")
        assert route.key_mode is not None
        # The verifier refuses accounts that are not valid (Boulder: before the signature).
        verified = self.fe.jws.verify(body, url, route.key_mode)
        if route.post_as_get_only and not verified.post_as_get:
            # Boulder validPOSTAsGETForAccount: after the JWS checks, before the resource.
            raise problems.malformed(
                "Unable to validate JWS :: POST-as-GET requests must have an empty payload"
            )
        account = verified.account
        if (
            account is not None
            and self.fe.settings.terms_required
            and account.terms_version < self.fe.terms.version
            and route.name != "account"
            and not verified.post_as_get
        ):
            # RFC 8555 7.3.3: new terms block new work until the account agrees again.
            version = self.fe.terms.version
            raise self.fe.terms.user_action_required(
                fe.urls.terms(version), fe.urls.terms_agreement(version)
            )
        return verified

    def _render(self, reply: Reply) -> Answer:
        if isinstance(reply.body, (dict, list)):
            data = _json_bytes(reply.body)
        elif isinstance(reply.body, str):
            data = reply.body.encode("utf-8")
        else:
            data = bytes(reply.body or b"")
        response = Answer(reply.status, data, reply.content_type)
        for key, value in reply.headers.items():
            response.set(key, value)
        for url, rel in reply.links:
            response.add("Link", f'<{url}>;rel="{rel}"')
        return response

    def _render_problem(self, prob: AcmeProblem) -> Answer:
        response = Answer(prob.status, _json_bytes(prob.to_json()), PROBLEM_JSON)
        for key, value in prob.headers.items():
            response.set(key, value)
        return response

    def _common_headers(
        self, fe: Frontend, request: HttpRequest, response: Answer, route: Route | None
    ) -> None:
        is_directory = route is not None and route.name == "directory"
        if request.method == "POST" or (route is not None and route.name == "newNonce"):
            response.set("Replay-Nonce", self.fe.nonces.issue())
            response.set("Cache-Control", "no-store")
        if not is_directory:
            response.add("Link", f'<{fe.urls.directory}>;rel="index"')
