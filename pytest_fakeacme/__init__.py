"""pytest-fakeacme: a fake ACME (RFC 8555) certificate authority inside your test process.

::

    from pytest_fakeacme import FakeACME, outcomes

    with FakeACME() as ca:
        ca.va.script("a.example", outcomes.http_status(404))
        ...  # point your ACME client at ca.directory_url, trusting ca.ca_bundle
"""

from __future__ import annotations

from . import outcomes, problems
from .clock import Clock
from .config import Settings
from .errors import (
    BindError,
    FakeACMEError,
    FakeACMEUsageError,
    ScriptError,
    ServerThreadError,
    UnusedScriptError,
    UnusedScriptWarning,
)
from .fake import FakeACME
from .outcomes import Outcome
from .problems import AcmeProblem

__version__ = "0.1.0"

__all__ = [
    "AcmeProblem",
    "BindError",
    "Clock",
    "FakeACME",
    "FakeACMEError",
    "FakeACMEUsageError",
    "Outcome",
    "ScriptError",
    "ServerThreadError",
    "Settings",
    "UnusedScriptError",
    "UnusedScriptWarning",
    "__version__",
    "outcomes",
    "problems",
]
