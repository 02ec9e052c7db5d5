"""What every management endpoint works with: the core, where the fake is, a route registry,
and the helpers for request fields and answers."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Response

from .. import wire
from ..ca import CertificateAuthority
from ..core import Core
from ..crl import CRLs
from ..errors import FakeACMEUsageError


@dataclass(frozen=True)
class Endpoints:
    """Where the running fake is: its URLs and the files a client trusts it with."""

    urls: wire.Urls
    ca_bundle: str
    roots_path: str
    management_url: str


@dataclass(frozen=True)
class Management:
    """A management endpoint's view of the fake: its core, its issuing hierarchy, where it is
    (as the request at hand names it: URLs follow the request's ``Host``) and its CRLs (None
    when it serves none)."""

    core: Core
    ca: CertificateAuthority
    endpoints: Endpoints
    crls: CRLs | None = None


Handler = Callable[[Management, Any], Any]


class Routes:
    """Endpoints by ``(method, path)``, registered with :meth:`get` and :meth:`post`."""

    def __init__(self) -> None:
        self.table: dict[tuple[str, str], Handler] = {}

    def get(self, path: str) -> Callable[[Handler], Handler]:
        """Register a GET (and HEAD) endpoint; its body is the query string's fields."""
        return self._register("GET", path)

    def post(self, path: str) -> Callable[[Handler], Handler]:
        """Register a POST endpoint; its body is the request's JSON object."""
        return self._register("POST", path)

    def _register(self, method: str, path: str) -> Callable[[Handler], Handler]:
        def register(func: Handler) -> Handler:
            self.table[(method, path)] = func
            return func
        return register


def field(body: Any, name: str, kind: type | tuple[type, ...] = str, required: bool = True
          ) -> Any:
    """``body[name]``, checked to be of ``kind`` (a usage error, i.e. a 400, otherwise)."""
    if not isinstance(body, Mapping):
        raise FakeACMEUsageError("the request body must be a JSON object")
    if name not in body:
        if required:
            raise FakeACMEUsageError(f"missing field {name!r}")
        return None
    value = body[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise FakeACMEUsageError(f"field {name!r} has the wrong type: {value!r}")
    return value


def json_response(data: Any, status: int = 200) -> Response:
    """A JSON answer (indented: people read these)."""
    return Response(json.dumps(data, indent=2, default=str), status=status,
                    content_type="application/json")


def text_response(text: str) -> Response:
    """A plain-text answer."""
    return Response(text, content_type="text/plain; charset=utf-8")
