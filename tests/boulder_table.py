"""Helpers that pin the fake to the table of Boulder's answers (``tests/boulder_rows.py``).

Each row is one situation: what the client did or what the validation authority met,
the problem Boulder answers (type, HTTP status, detail as Boulder's Go format string) and the
Boulder file and line it comes from, at the commit in :data:`BOULDER_COMMIT`. A row is one of:

- **reproduced**: a test drives the fake through its real HTTPS server and pins the answer with
  :func:`expect` (problems) or :func:`reproduces` (headers, statuses, orders of checks);
  ``how`` says what produces it with the fake;
- **not applicable** (``na``): why the fake cannot or does not answer it (an internal failure
  of Boulder's own services, an operator's configuration, a path the fake does not serve);
- **planned** (``planned``): it belongs to another open issue of this project.

``tests/test_boulder_table.py`` checks that every reproduced row is pinned by at least one test
and renders the catalogue, ``docs/letsencrypt-answers.md``, from these rows.

Details are compared byte for byte after the test substitutes what varies from run to run
(names, addresses, ports, tokens, times) into the Go format string: ``%q`` is Go's quoting,
``%s``/``%v``/``%d`` the value as Go prints it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import requests

from boulder_rows import AREAS, BOULDER_COMMIT, ROWS, Row
from pytest_fakeacme._gofmt import go_quote

__all__ = ["AREAS", "BOULDER_COMMIT", "ROWS", "Row", "expect", "go_format", "pinning_tests",
           "problem_of", "reproduces", "row", "unknown_row_ids"]

ACME_ERROR = "urn:ietf:params:acme:error:"
PROBLEM_JSON = "application/problem+json"

# Go's fmt, for the verbs Boulder's details use.

_VERB = re.compile(r"%([qsdvwT%])")


def go_format(template: str, *args: Any) -> str:
    """``fmt.Sprintf(template, args...)`` for ``%q``, ``%s``, ``%v``, ``%w``, ``%d``, ``%T``
    and ``%%``; a wrong number of arguments is an error (Go would print ``%!``)."""
    values = list(args)

    def substitute(match: re.Match[str]) -> str:
        verb = match.group(1)
        if verb == "%":
            return "%"
        if not values:
            raise AssertionError(f"too few arguments for {template!r}")
        value = values.pop(0)
        if verb == "q":
            return go_quote(value if isinstance(value, (str, bytes)) else str(value))
        if verb == "d":
            # The fake's ids are short strings where Boulder's are integers: printed as they are.
            return value if isinstance(value, str) else str(int(value))
        return str(value)

    text = _VERB.sub(substitute, template)
    if values:
        raise AssertionError(f"too many arguments for {template!r}: {values!r}")
    return text


# Pinning the fake's answers to rows.

_ROWS: dict[str, Row] = {r.id: r for r in ROWS}


def row(row_id: str) -> Row:
    """The row called ``row_id``."""
    return _ROWS[row_id]


def problem_of(row_id: str, *args: Any) -> dict[str, Any]:
    """The problem document of ``row_id`` with ``args`` in its detail: ``type`` (the URN),
    ``detail`` and ``status``, as Boulder sends it."""
    found = row(row_id)
    assert found.is_problem, f"{row_id} is not a problem row"
    assert found.verdict == "reproduced", f"{row_id} is {found.verdict}"
    return {
        "type": ACME_ERROR + found.type,
        "detail": go_format(found.detail, *args),
        "status": found.status,
    }


def expect(
    row_id: str,
    got: requests.Response | Mapping[str, Any],
    *args: Any,
    nonce: bool = True,
) -> dict[str, Any]:
    """Pin an answer to ``row_id``: ``got`` is the HTTP answer (a problem document) or a
    problem object found in one (``challenge.error``, a subproblem). Type, status and the
    detail (the row's format with ``args``) must match exactly; an HTTP answer must also be
    ``application/problem+json`` with that status and, unless ``nonce`` is False, carry a
    fresh ``Replay-Nonce`` (Boulder sends one on every answer to a POST). Returns the problem
    object for further checks."""
    want = problem_of(row_id, *args)
    if isinstance(got, requests.Response):
        assert got.status_code == want["status"], (row_id, got.status_code, got.text)
        content_type = got.headers.get("Content-Type", "")
        assert content_type == PROBLEM_JSON, (row_id, content_type)
        if nonce:
            assert got.headers.get("Replay-Nonce"), (row_id, dict(got.headers))
        body: dict[str, Any] = got.json()
    else:
        body = dict(got)
    assert {k: body.get(k) for k in want} == want, (row_id, body)
    return body


F = TypeVar("F", bound=Callable[..., Any])


def reproduces(*row_ids: str) -> Callable[[F], F]:
    """Mark a test as the one that pins rows that are not a single problem document (a
    header, a status, the order in which checks run). The test's own assertions do the
    pinning; the mark is what ties them to the table."""
    for row_id in row_ids:
        assert row_id in _ROWS, f"unknown row {row_id}"

    def mark(test: F) -> F:
        return test

    return mark


# Which tests pin which rows: read from the test modules' source, so that the table, the
# catalogue and the tests cannot drift apart.

_ROW_ID = re.compile(r"^[a-z0-9]+-\d+[a-z]?$")


def _strings(node: ast.AST) -> set[str]:
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant)
            and isinstance(n.value, str)}


def pinning_tests(folder: Path) -> dict[str, list[str]]:
    """Row id -> the tests (``file::name``) that name it: every row id written in a test
    function, its decorators, or a module-level constant its decorators use (a
    ``parametrize`` table). Only ``test_*.py`` files of ``folder`` are read."""
    known = {r.id for r in ROWS}
    found: dict[str, list[str]] = {}
    for path in sorted(folder.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {
            target.id: node.value
            for node in tree.body
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(target, ast.Name)
        }
        for node in tree.body:
            if not (isinstance(node, ast.FunctionDef) and node.name.startswith("test_")):
                continue
            named = _strings(node)
            for decorator in node.decorator_list:
                for name in ast.walk(decorator):
                    if isinstance(name, ast.Name) and name.id in constants:
                        named |= _strings(constants[name.id])
            for row_id in sorted(named & known):
                found.setdefault(row_id, []).append(f"{path.name}::{node.name}")
    return found


def unknown_row_ids(folder: Path) -> list[str]:
    """Strings in the tests' ``expect``/``reproduces`` calls that look like row ids but name
    no row (a typo would otherwise pin nothing)."""
    known = {r.id for r in ROWS}
    bad = []
    for path in sorted(folder.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("expect", "reproduces", "problem_of")):
                for arg in node.args:
                    if (isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                            and _ROW_ID.match(arg.value) and arg.value not in known):
                        bad.append(f"{path.name}: {arg.value}")
    return bad
