"""A conformance scorecard for any ACME client: ``pytest-fakeacme conformance -- CMD``.

The battery (:data:`CASES`) runs a client through the situations the protocol and Let's
Encrypt put clients in (failed validations, badNonce, rate limits, processing with Retry-After,
an order that turns invalid, changed terms, renewal information, ...), each on a fresh fake,
and judges it from its exit status, its output and the journal of the conversation: ``pass``,
``fail`` or ``warn`` (legal but unkind), each with its evidence.

From Python (a client inside pytest)::

    from pytest_fakeacme.conformance import reports, run_battery

    def my_client(target):           # target: directory_url, ca_bundle, domain, webroot, ...
        ...                          # return an exit status, or raise

    card = run_battery(my_client, cases=["happy-path", "bad-nonce-new-order"])
    assert card.ok, reports.table(card)

docs/conformance.md has the case list, the command line and the scorecards of real clients.
"""

from __future__ import annotations

from . import reports
from .cases import CASES, Case, Scenario
from .clients import CallableClient, CommandClient
from .presets import PRESETS, Preset
from .results import CaseResult, Finding, RunRecord, Scorecard, Verdict
from .runner import DEFAULT_TIMEOUT, Battery, run_battery
from .situations import Observed, Stage, Target

__all__ = [
    "CASES",
    "DEFAULT_TIMEOUT",
    "PRESETS",
    "Battery",
    "CallableClient",
    "Case",
    "CaseResult",
    "CommandClient",
    "Finding",
    "Observed",
    "Preset",
    "RunRecord",
    "Scenario",
    "Scorecard",
    "Stage",
    "Target",
    "Verdict",
    "reports",
    "run_battery",
]
