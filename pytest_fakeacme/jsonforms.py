"""JSON forms of the Python API's values, for the management API: outcomes, problems and times.

Every form goes through the same constructors as the Python API, so a JSON outcome is checked
exactly as ``outcomes.http_status(404)`` is, and ``outcome_from_json(outcome_to_json(o)) == o``.

An outcome's JSON form::

    {"kind": "http_status", "params": {"code": 404}, "after": {"polls": 2, "seconds": 0}}
"""

from __future__ import annotations

import base64
import datetime as _dt
from collections.abc import Mapping
from typing import Any

from . import outcomes, problems
from .errors import FakeACMEUsageError
from .outcomes import Outcome
from .problems import AcmeProblem


def _value_to_json(value: Any) -> Any:
    if isinstance(value, Outcome):
        return outcome_to_json(value)
    if isinstance(value, AcmeProblem):
        return value.to_json()
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, tuple):
        return [_value_to_json(v) for v in value]
    return value


def outcome_to_json(outcome: Outcome) -> dict[str, Any]:
    """The JSON form of an outcome."""
    body: dict[str, Any] = {
        "kind": outcome.kind,
        "params": {k: _value_to_json(v) for k, v in outcome.params.items() if v is not None},
    }
    if outcome.is_held:
        body["after"] = {"polls": outcome.delay_polls,
                         "seconds": outcome.delay.total_seconds()}
    return body


def outcome_from_json(data: Any) -> Outcome:
    """An outcome from its JSON form (``{"kind": ...}``, or just the kind's name)."""
    if isinstance(data, str):
        data = {"kind": data}
    if not isinstance(data, Mapping):
        raise FakeACMEUsageError(
            f'an outcome is {{"kind": "http_status", "params": {{"code": 404}}}} or a kind\'s '
            f"name, not {data!r}"
        )
    unknown = set(data) - {"kind", "params", "after"}
    if unknown:
        raise FakeACMEUsageError(f"unknown outcome field(s) {sorted(unknown)}")
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in outcomes.KINDS:
        raise FakeACMEUsageError(
            f"unknown outcome kind {kind!r}; use one of {', '.join(sorted(outcomes.KINDS))}"
        )
    params = data.get("params") or {}
    if not isinstance(params, Mapping):
        raise FakeACMEUsageError(f"outcome params must be an object, not {params!r}")
    params = {k: _param_from_json(k, v) for k, v in params.items()}
    try:
        outcome = outcomes.KINDS[kind].rebuild(params)
    except TypeError as exc:
        raise FakeACMEUsageError(f"bad params for outcome {kind!r}: {exc}") from None
    assert isinstance(outcome, Outcome)
    after = data.get("after")
    if after is not None:
        if not isinstance(after, Mapping) or set(after) - {"polls", "seconds"}:
            raise FakeACMEUsageError('"after" is {"polls": N, "seconds": S}')
        outcome = outcome.after(polls=after.get("polls", 0), seconds=after.get("seconds", 0))
    return outcome


def _param_from_json(name: str, value: Any) -> Any:
    if name == "inner" and value is not None:
        return outcome_from_json(value)
    if name == "problem" and isinstance(value, Mapping):
        return AcmeProblem.from_json(value)
    if isinstance(value, Mapping) and set(value) == {"base64"}:
        try:
            return base64.b64decode(str(value["base64"]), validate=True)
        except ValueError:
            raise FakeACMEUsageError(f"{name}: invalid base64") from None
    return value


def problem_from_json(data: Any) -> AcmeProblem:
    """A problem from ``{"type": ..., "detail": ..., "status": ...}``, checked."""
    if not isinstance(data, Mapping):
        raise FakeACMEUsageError(f'a problem is {{"type", "detail", "status"}}, not {data!r}')
    missing = {"type", "detail"} - set(data)
    if missing:
        raise FakeACMEUsageError(f"a problem needs {sorted(missing)}")
    urn = str(data["type"])
    short = urn[len(problems.ACME_ERROR_PREFIX):] if urn.startswith(
        problems.ACME_ERROR_PREFIX) else urn
    status = data.get("status", 400)
    if not isinstance(status, int):
        raise FakeACMEUsageError(f"problem status must be an integer, not {status!r}")
    try:
        return problems.problem(short, str(data["detail"]), status)
    except (TypeError, ValueError) as exc:
        raise FakeACMEUsageError(str(exc)) from None


def iso_time(value: _dt.datetime | None) -> str | None:
    """ISO 8601 with microseconds and offset (``datetime.isoformat``) in UTC, or None: the
    management API's times, unlike the whole seconds of the ACME resources
    (:func:`pytest_fakeacme.wire.rfc3339`)."""
    return value.astimezone(_dt.timezone.utc).isoformat() if value is not None else None
