"""The web front end: routing, the rules every request obeys, and problem rendering.

Per-request ACME rules live here, once, rather than in handlers, as Boulder's ``HandleFunc``
(``wfe2/wfe.go``) applies them to every ACME resource:
- a fresh ``Replay-Nonce`` on every answer to a request that is not a GET (errors, HEAD and
  OPTIONS included), and on newNonce (RFC 8555 6.5);
- ``Link: <directory>;rel="index"`` on every resource but the directory (RFC 8555 7.1);
- ``Cache-Control: public, max-age=0, no-cache`` on every answer but OPTIONS;
- a method the resource does not serve is 405 with ``Allow``; OPTIONS answers ``Allow`` (and
  CORS preflight headers);
- POSTs are ``application/jose+json`` exactly (else 400 malformed), JWS verified before a
  handler runs, ``url`` bound to the request URL (RFC 8555 6.2, 6.4);
- a path that is no ACME resource gets Go's plain-text 404, as Boulder's ``Index`` sends it;
- every error is an ``application/problem+json`` from :mod:`pytest_fakeacme.problems`; an
  exception in the fake itself becomes ``serverInternal`` and is kept for the test to re-raise.
"""

from __future__ import annotations

import datetime as _dt
import email.utils
import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .. import problems
from ..faults import UNANSWERED, Fault
from ..journal import KEPT_HEADERS, Exchange
from ..jws import KeyMode, VerifiedRequest
from ..model import Account
from ..problems import AcmeProblem
from ..transport import DELIVERY_KEY, FRAMING_KEY, Delivery
from .common import Call, Frontend, Handler, Reply
from .http import Answer, HttpRequest, reason_phrase

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
#: Boulder's ``addNoCacheHeader`` (wfe2/wfe.go): on every answer but OPTIONS, newNonce included
#: (its ``no-store`` is set after the status is written, so it never reaches the wire).
CACHE_CONTROL = "public, max-age=0, no-cache"
#: Boulder's CORS headers (wfe2/wfe.go ``setCORSHeaders``) for an allowed ``Origin``.
_CORS = (
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Headers", "Content-Type"),
    ("Access-Control-Expose-Headers", "Link, Replay-Nonce, Location, Retry-After"),
    ("Access-Control-Max-Age", "86400"),
)
#: Go's ``http.NotFound``, which Boulder's ``Index`` sends for a path no handler serves.
_GO_NOT_FOUND = b"404 page not found\n"
_INDEX_PAGE = (
    "<html>\n\t\t<body>\n\t\t\tThis is an <a href=\"https://tools.ietf.org/html/rfc8555\">ACME"
    "</a>\n\t\t\tCertificate Authority running <a href=\"https://github.com/pytest-fakeacme/"
    "pytest-fakeacme\">pytest-fakeacme</a>.\n\t\t\tJSON directory is available at <a href="
    "\"/directory\">/directory</a>.\n\t\t</body>\n\t</html>\n\t"
)


def _retry_after_as_date(fe: Frontend, response: Answer) -> None:
    """``Retry-After: <seconds>`` as the HTTP-date that many seconds on (RFC 9110 10.2.3)."""
    for key, value in list(response.headers):
        if key.lower() == "retry-after" and value.isascii() and value.isdigit():
            when = fe.clock.now() + _dt.timedelta(seconds=int(value))
            response.set(key, email.utils.format_datetime(when, usegmt=True))


class InjectedAnswer(Exception):  # noqa: N818 - a signal, not an error
    """Raised to send what a fault answers in the CA's place, without any of the CA's headers
    (no nonce, no ``Link``): an HTML error page, an empty body, or nothing at all (status 0:
    the transport sends no answer)."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.status)
        self.answer = answer


#: How the transport delivers the answer, by the fault that says so.
_DELIVERIES: dict[str, Callable[[Fault], Delivery]] = {
    "drop": lambda fault: Delivery("drop"),
    "connection_reset": lambda fault: Delivery("reset"),
    "truncated_body": lambda fault: Delivery("truncate"),
    "slow_headers": lambda fault: Delivery("trickle", fault.delay),
}


def _json_bytes(body: Any) -> bytes:
    # Compact, unlike Boulder's indented answers: no client reads the whitespace, and the
    # indenting encoder is pure Python, several times the C encoder's cost per answer.
    return json.dumps(body).encode("utf-8")


@dataclass(frozen=True)
class Route:
    """A resource: its path, the directory name journal entries use, its handler, the methods
    it serves (HEAD comes with GET), how a POST to it authenticates (``None``: it takes no
    JWS), whether it is read by POST-as-GET only (a payload is refused before the handler
    runs: Boulder's ``validPOSTAsGETForAccount``), and a ``lookup`` that runs before the JWS
    is checked (Boulder finds a challenge before it verifies the request)."""

    path: str
    name: str
    handler: Handler
    methods: tuple[str, ...] = ("POST",)
    key_mode: KeyMode | None = "kid"
    post_as_get_only: bool = False
    lookup: Callable[[Frontend, Call], None] | None = None
    #: Whether the answer names the signing account in ``Boulder-Requester`` once it is known
    #: (the handlers that call Boulder's ``addRequesterHeader``).
    requester: bool = False

    @property
    def allowed(self) -> tuple[str, ...]:
        """Boulder's ``Allow`` list: the methods in registration order, HEAD after GET's."""
        return self.methods + (("HEAD",) if "GET" in self.methods else ())


class AcmeApp:
    """The WSGI application."""

    def __init__(self, frontend: Frontend, routes: Iterable[Route]) -> None:
        self.fe = frontend
        # A few anchored regular expressions: werkzeug's routing Map compiles Python code per
        # rule at every start-up, and these paths need none of its features.
        # Each with its literal prefix, which rules most routes out without the regex.
        # No trailing slash: Go's ServeMux sends "/acme/new-order/" to the index (a 404).
        self._patterns = [
            (
                r.path.split("<", 1)[0].rstrip("/") if "<" in r.path else r.path,
                re.compile("^" + re.sub(r"<(\w+)>", r"(?P<\1>[^/]+)", r.path) + "$"),
                r,
            )
            for r in routes
        ]

    def _match(self, path: str) -> tuple[Route | None, dict[str, str]]:
        for prefix, pattern, route in self._patterns:
            if not path.startswith(prefix):
                continue
            if route.name == "newAuthz" and not self.fe.settings.pre_authorization:
                continue  # Let's Encrypt serves no newAuthz: an unknown path
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
                response = _index(request)
                self._journal_line(exchange, request, None, None, response, None)
                return response
            if fe.settings.require_user_agent and not request.environ.get("HTTP_USER_AGENT"):
                # Pebble 2.10's HandleFunc; Boulder accepts such requests.
                raise problems.malformed("All requests MUST include a User-Agent header")
            call = Call(request=request, url=self._request_url(request), args=dict(args))
            response = self._serve(fe, request, route, call)
        except AcmeProblem as prob:
            failure = prob
            response = _render_problem(prob)
        except InjectedAnswer as injected:
            # Status 0 (nothing reaches the client) is journaled as no answer.
            response = injected.answer
            self._journal_line(exchange, request, route, None, response, None)
            return response
        except Exception as exc:  # any bug must reach the test, not kill the server
            self.fe.errors.report(exc)
            failure = problems.server_internal(problems.internal_error_detail(exc))
            response = _render_problem(failure)
        self._common_headers(fe, request, response, route, call)
        if fe.settings.retry_after_format == "date":
            _retry_after_as_date(fe, response)
        self._journal_line(exchange, request, route, call, response, failure)
        return response

    def _serve(self, fe: Frontend, request: HttpRequest, route: Route, call: Call) -> Answer:
        """What Boulder's ``HandleFunc`` does around a handler: OPTIONS, the method check,
        CORS, then (the fake's) faults, the pre-JWS lookup, the JWS, and the handler."""
        if request.method == "OPTIONS":
            return _options(request, route)
        if request.method not in route.allowed:
            # The route stays known, so the journal can say what was asked for.
            raise problems.method_not_allowed().with_headers(Allow=", ".join(route.allowed))
        _inject_faults(self.fe, request, route)
        if route.lookup is not None:
            route.lookup(fe, call)
        if request.method == "POST" and route.key_mode is not None:
            call.jws = self._authenticate(fe, request, call, route)
        reply = route.handler(fe, call)
        return _render(reply)

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
        if request.method == "POST" and _BODY_KEY not in request.environ:
            # Refused before the JWS was read (a fault, an unknown path): the journal still
            # shows what the client sent. (_authenticate marks a body it tried to read.)
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

    @staticmethod
    def _request_url(request: HttpRequest) -> str:
        # RFC 8555 6.4: the JWS "url" must be the URL the request was sent to.
        query = request.query_string.decode("latin-1")
        return f"{request.scheme}://{request.host}{request.path}" + (f"?{query}" if query else "")

    def _authenticate(self, fe: Frontend, request: HttpRequest, call: Call, route: Route
                      ) -> VerifiedRequest:
        # Boulder's wfe2/verify.go validPOSTRequest, in its order and words.
        prefix = "Unable to validate JWS :: "
        # Boulder checks that the header is present, then compares its raw value: parameters
        # (a charset) or another case are refused too (wfe2/verify.go:161-168).
        content_type = request.environ.get("CONTENT_TYPE")
        if content_type is None:
            raise problems.malformed(
                prefix + 'No Content-Type header on POST. Content-Type must be '
                '"application/jose+json"'
            )
        if content_type.strip() != JOSE_JSON:
            raise problems.malformed(
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
        request.environ[_BODY_KEY] = b""  # tried once: the journal never reads it again
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

        def found(account: Account) -> None:
            call.requester = account.id

        # The verifier refuses accounts that are not valid (Boulder: before the signature).
        verified = self.fe.jws.verify(body, call.url, route.key_mode, found)
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

    def _common_headers(
        self, fe: Frontend, request: HttpRequest, response: Answer, route: Route | None,
        call: Call | None,
    ) -> None:
        """What Boulder's ``HandleFunc`` sets before the handler runs, so every answer of the
        resource carries it, errors included."""
        if route is None:
            return
        if request.method != "GET" or route.name == "newNonce":
            response.set("Replay-Nonce", self.fe.nonces.issue())
        if route.name != "directory":
            # HandleFunc adds it before the handler adds its own links (wfe2/wfe.go:337-340).
            response.add_first("Link", f'<{fe.urls.directory}>;rel="index"')
        if request.method != "OPTIONS":
            response.set("Cache-Control", CACHE_CONTROL)
            if request.method in route.allowed:
                # Set before the handler runs, so on its errors too (wfe2/wfe.go:361).
                _cors(request, response, None)
        if route.requester and call is not None and call.requester is not None:
            response.set("Boulder-Requester", call.requester)


def _index(request: HttpRequest) -> Answer:
    """Boulder's ``Index`` (wfe2/wfe.go): a page at ``/``, 405 for other methods there,
    and Go's plain-text 404 elsewhere (its problem Content-Type is set after the body is
    written, so it never reaches the wire). None of ``HandleFunc``'s headers."""
    if request.path != "/":
        response = Answer(404, _GO_NOT_FOUND, "text/plain; charset=utf-8")
        response.set("X-Content-Type-Options", "nosniff")
        return response
    if request.method != "GET":
        response = _render_problem(problems.method_not_allowed())
        response.set("Allow", "GET")
        return response
    response = Answer(200, _INDEX_PAGE.encode("utf-8"), "text/html")
    response.set("Cache-Control", CACHE_CONTROL)
    return response


def _inject_faults(fe: Frontend, request: HttpRequest, route: Route) -> None:
    """Apply the faults configured for this endpoint: delay, then how the answer travels (the
    transport reads :data:`DELIVERY_KEY`), then what answers in the CA's place."""
    if fe.faults.empty:
        return
    hit = fe.faults.check(route.name, fe.clock.now(), request.method == "POST")
    if hit.fired:
        request.environ[_FAULT_KEY] = "; ".join(hit.fired)
    if hit.delay:
        threading.Event().wait(hit.delay)  # a slow server, on purpose, in its own thread
    if hit.delivery is not None:
        request.environ[DELIVERY_KEY] = _DELIVERIES[hit.delivery.kind](hit.delivery)
        if hit.delivery.kind in UNANSWERED:  # no answer, and no answering fault fired
            raise InjectedAnswer(Answer(0, b"", None))
    if hit.answer is None:
        return
    if hit.answer.kind == "html_error":
        raise InjectedAnswer(_proxy_page(hit.answer.status))
    if hit.answer.kind == "empty_body":
        raise InjectedAnswer(Answer(200, b"", None))
    if hit.problem is not None:
        raise hit.problem


#: nginx's titles for the error pages it has, where they are not RFC 9110's reason phrases
#: (src/http/ngx_http_special_response.c), and the reason phrases of its status lines
#: (src/http/ngx_http_header_filter_module.c).
_NGINX_TITLES = {
    401: "Authorization Required", 405: "Not Allowed", 408: "Request Time-out",
    413: "Request Entity Too Large", 414: "Request-URI Too Large",
    416: "Requested Range Not Satisfiable", 501: "Not Implemented",
    503: "Service Temporarily Unavailable", 504: "Gateway Time-out",
}
_NGINX_REASONS = {**_NGINX_TITLES, 401: "Unauthorized"}


def _proxy_page(status: int) -> Answer:
    """What nginx in front of the CA sends for ``status`` (the html_error fault): its error
    page (``server_tokens off``: no version), ``Content-Type: text/html``, ``Server: nginx``,
    and none of the CA's headers: no problem document, no nonce."""
    title = f"{status} {_NGINX_TITLES.get(status) or reason_phrase(status)}"
    page = (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
            "</body>\r\n</html>\r\n")
    answer = Answer(status, page.encode("ascii"), "text/html")
    answer.reason = _NGINX_REASONS.get(status)
    answer.set("Server", "nginx")
    return answer


def _options(request: HttpRequest, route: Route) -> Answer:
    """Boulder's ``Options``: 200, ``Allow``, and the CORS preflight headers when the
    method asked about is served."""
    response = Answer(200, b"", None)
    allowed = ", ".join(route.allowed)
    response.set("Allow", allowed)
    asked = request.environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD") or "GET"
    if asked in route.allowed:
        _cors(request, response, allowed)
    return response


def _render(reply: Reply) -> Answer:
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


def _render_problem(prob: AcmeProblem) -> Answer:
    response = Answer(prob.status, prob.to_bytes(), PROBLEM_JSON)
    for key, value in prob.headers.items():
        response.set(key, value)
    return response


def _cors(request: HttpRequest, response: Answer, methods: str | None) -> None:
    # Boulder setCORSHeaders with allowOrigins ["*"] (its test configuration; Let's
    # Encrypt's own is not published): only for requests that carry an Origin.
    if not request.environ.get("HTTP_ORIGIN"):
        return
    for name, value in _CORS[:1]:
        response.set(name, value)
    if methods is not None:
        response.set("Access-Control-Allow-Methods", methods)
    for name, value in _CORS[1:]:
        response.set(name, value)
