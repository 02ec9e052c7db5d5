"""The management API: every knob of the Python API as JSON over HTTP, for clients in any
language and for tests that drive the fake from another process.

Served under ``/_fake`` on the fake's own HTTPS port (``FakeACME.management_url``); ACME clients
never see it (the directory does not name it). The standalone server also serves it on a
plain-HTTP port (:class:`PlainServer`), where pebble-challtestsrv's endpoints (``/add-a``,
``/set-txt``, ``/add-http01``, ...) work too, so suites written for Pebble can point at the fake.

Modules: ``context`` (what endpoints work with) under ``native``, ``challtestsrv`` and
``dashboard`` (the endpoints), under ``app`` (the router); ``servers`` serves it on plain HTTP.
"""

from __future__ import annotations

from .app import ManagementApp
from .context import Endpoints
from .servers import PlainServer

__all__ = ["Endpoints", "ManagementApp", "PlainServer"]
