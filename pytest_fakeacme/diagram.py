"""The conversation as a picture: a sequence diagram of journal entries, drawn as inline SVG.

Four lifelines: the client, the CA's front end, the validation authority, and the client's
responder or DNS. Each request is an arrow to the front end and its answer an arrow back
(endpoint, status, problem type; an injected fault drawn as such); each validation attempt an
arrow to the VA, what it looked at, and what it found; each status change a note on the front
end's lifeline; the fake's clock in the left margin. No browser-side code: the SVG is the
picture, with each arrow's full text in a tooltip.

``sequence_svg(fake_acme.journal)`` draws the whole journal; ``order_entries`` picks one order's
part of it.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import html
import http
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit
from xml.etree import ElementTree

from .journal import Entry
from .model import DNS_PERSIST_01, DNS_TYPES, HTTP_01
from .views import OrderView

#: The lifelines, left to right.
LIFELINES = ("Client", "CA front end", "Validation authority", "Responder / DNS")
_CLIENT, _FRONT, _VA, _RESPONDER = range(4)

StepKind = Literal["request", "answer", "problem", "fault", "validate", "probe", "finding",
                   "refusal", "scripted", "note"]

_TIME_MARGIN = 64
_COLUMN = 172
_ROW = 26
_TOP = 54
_CHAR = 6.1  # average width of a character of the 11.5 px label font


@dataclass(frozen=True)
class Step:
    """One row of the diagram: an arrow from one lifeline to another, or a note on one."""

    kind: StepKind
    start: int
    end: int
    label: str
    detail: str
    at: _dt.datetime


def _problem_name(entry: Entry) -> str:
    return entry.problem.type if entry.problem is not None else ""


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def _injected(entry: Entry) -> str:
    """The fault that answered this request instead of the CA, if one did."""
    return entry.fault


def _request_steps(entry: Entry) -> list[Step]:
    jws = entry.jws
    method = "POST-as-GET" if jws is not None and jws.post_as_get else entry.method
    what = f"{method} {entry.endpoint}"
    steps = [Step("request", _CLIENT, _FRONT, what, f"{what} {entry.url}", entry.at)]
    if entry.status == 0:
        if "connection_reset" in entry.fault:
            steps.append(Step("fault", _FRONT, _CLIENT, "connection reset (injected fault)",
                              "the connection_reset fault: a TCP reset, no answer", entry.at))
        else:
            steps.append(Step("fault", _FRONT, _CLIENT, "connection dropped (injected fault)",
                              "the drop fault: no answer at all", entry.at))
        return steps
    answer = f"{entry.status} {_reason(entry.status)}".strip()
    detail = answer
    kind: StepKind = "answer"
    if entry.problem is not None:
        kind = "problem"
        answer = f"{entry.status} {entry.problem.type}"
        detail = f"{answer}: {entry.problem.detail}"
    fault = _injected(entry)
    if fault:
        kind = "fault"
        answer += " (injected fault)"
        detail += f" [fault: {fault}]"
    retry = entry.headers.get("Retry-After")
    if retry:
        answer += f", Retry-After {retry}"
    steps.append(Step(kind, _FRONT, _CLIENT, answer, detail, entry.at))
    return steps


def _probe(entry: Entry) -> tuple[str, str]:
    name = entry.identifier.removeprefix("*.")
    if entry.challenge_type == HTTP_01:
        return "GET /.well-known/acme-challenge/…", f"http-01 fetch from {name}"
    if entry.challenge_type == DNS_PERSIST_01:
        return f"TXT _validation-persist.{name}", f"{entry.challenge_type} lookup for {name}"
    if entry.challenge_type in DNS_TYPES:
        return f"TXT _acme-challenge.{name}", f"{entry.challenge_type} lookup for {name}"
    return f"TLS acme-tls/1, SNI {name}", f"tls-alpn-01 handshake with {name}"


def _validation_steps(entry: Entry) -> list[Step]:
    steps = [Step("validate", _FRONT, _VA, f"validate {entry.challenge_type} {entry.identifier}",
                  f"validation of {entry.identifier} by {entry.challenge_type}", entry.at)]
    found = "valid" if entry.problem is None else _problem_name(entry)
    detail = "valid" if entry.problem is None else (
        f"{entry.problem.type} ({entry.problem.status}): {entry.problem.detail}")
    if entry.outcome == "outcomes.real()":
        label, what = _probe(entry)
        steps.append(Step("probe", _VA, _RESPONDER, label, what, entry.at))
        steps.append(Step("finding" if entry.problem is None else "refusal", _RESPONDER, _VA,
                          found, detail, entry.at))
    else:
        steps.append(Step("scripted", _VA, _VA, f"scripted: {entry.outcome}",
                          f"a scripted outcome: {entry.outcome}", entry.at))
    steps.append(Step("finding" if entry.problem is None else "refusal", _VA, _FRONT,
                      found, detail, entry.at))
    return steps


def steps(entries: Iterable[Entry]) -> list[Step]:
    """The diagram's rows for ``entries``, in order. The challenges created with an
    authorization are folded into its note."""
    rows: list[Step] = []
    created = 0
    for entry in entries:
        if entry.kind == "request":
            rows += _request_steps(entry)
        elif entry.kind == "validation":
            rows += _validation_steps(entry)
        elif entry.object_kind == "challenge" and not entry.old and rows and (
                rows[-1].label.startswith("authorization ") and "(new)" in rows[-1].label):
            created += 1
            last = rows.pop()
            head = last.label.split(", ")[0]
            label = f"{head}, {created} challenge{'s' if created > 1 else ''}"
            rows.append(Step("note", _FRONT, _FRONT, label, f"{label} [{entry.cause}]", last.at))
        else:
            created = 0
            change = f"{entry.object_kind} {entry.object_id}: {entry.old or '(new)'} → {entry.new}"
            rows.append(Step("note", _FRONT, _FRONT, change, f"{change} [{entry.cause}]",
                             entry.at))
    return rows


def order_entries(entries: Iterable[Entry], order: OrderView) -> list[Entry]:
    """The entries about one order: its requests (newOrder, reads, finalize, its
    authorizations, challenges and certificate), its validations, its status changes."""
    ids = {order.id, *(a.id for a in order.authorizations),
           *(c.id for a in order.authorizations for c in a.challenges)}
    resources = {order.id, *(a.id for a in order.authorizations)}
    if order.certificate is not None:
        resources.add(order.certificate.id)
    names = {("*." if a.wildcard else "") + a.identifier.value for a in order.authorizations}
    chosen: list[Entry] = []
    started = creating = False
    for entry in entries:
        if entry.kind == "request":
            segments = set(urlsplit(entry.resource).path.split("/"))
            segments |= set(urlsplit(entry.url).path.split("/"))
            mine = bool(segments & resources)
            started = started or mine
        elif entry.kind == "validation":
            mine = started and entry.identifier in names
        else:
            # The challenges created with one of its authorizations are its too, though only
            # the attempted one is listed once validated.
            created = entry.object_kind == "challenge" and not entry.old
            mine = entry.object_id in ids or (created and creating)
            creating = (mine and entry.object_kind == "authorization" and not entry.old) or (
                creating and created)
        if mine:
            chosen.append(entry)
    return chosen


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


def _fit(text: str, width: float) -> str:
    room = max(int(width / _CHAR), 8)
    return text if len(text) <= room else text[: room - 1] + "…"


def _x(lifeline: int) -> float:
    return _TIME_MARGIN + _COLUMN / 2 + lifeline * _COLUMN


_STYLE = """
.ll-head{fill:#1d2733}.ll-name{fill:#fff;font:600 12px system-ui,sans-serif}
.ll{stroke:#98a2ad;stroke-dasharray:4 4}.time{fill:#555;font:11px ui-monospace,monospace}
text{font:11.5px system-ui,sans-serif;fill:#111}line{stroke-width:1.6}
.request line{stroke:#0b4f9c}.answer line{stroke:#05632a}.problem line{stroke:#9b1c1c}
.fault line{stroke:#b45309;stroke-dasharray:6 3}.fault text{fill:#92400e;font-weight:600}
.problem text,.refusal text{fill:#9b1c1c}.validate line,.probe line{stroke:#6d28d9}
.finding line{stroke:#05632a}.refusal line{stroke:#9b1c1c}
.note rect{fill:#fff8db;stroke:#d4b106}.scripted rect{fill:#ede9fe;stroke:#6d28d9}
"""


def sequence_svg(entries: Iterable[Entry], *, title: str = "The ACME conversation") -> str:
    """``entries`` (a journal, or part of one) as a sequence diagram, an SVG document."""
    rows = steps(entries)
    ident = "sd" + hashlib.sha256(
        "|".join(f"{r.kind}{r.label}{r.at.isoformat()}" for r in rows).encode()
    ).hexdigest()[:8]
    width = _TIME_MARGIN + _COLUMN * len(LIFELINES)
    height = _TOP + _ROW * (len(rows) + 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sequence" role="img" '
        f'aria-labelledby="{ident}-t" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">',
        f'<title id="{ident}-t">{_escape(title)}</title><style>{_STYLE}</style>',
        "<defs>" + "".join(
            f'<marker id="{ident}-{name}" viewBox="0 0 10 10" refX="10" refY="5" '
            f'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
            f'<path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
            for name, colour in (("blue", "#0b4f9c"), ("green", "#05632a"), ("red", "#9b1c1c"),
                                 ("orange", "#b45309"), ("violet", "#6d28d9"))
        ) + "</defs>",
    ]
    for index, name in enumerate(LIFELINES):
        x = _x(index)
        parts.append(
            f'<g class="lifeline"><rect class="ll-head" x="{x - 76}" y="8" width="152" '
            f'height="26" rx="4"/><text class="ll-name" x="{x}" y="25" text-anchor="middle">'
            f'{_escape(name)}</text><line class="ll" x1="{x}" y1="34" x2="{x}" '
            f'y2="{height - 6}"/></g>'
        )
    markers = {"request": "blue", "answer": "green", "problem": "red", "fault": "orange",
               "validate": "violet", "probe": "violet", "finding": "green", "refusal": "red"}
    shown_time = ""
    for row, step in zip(itertools.count(), rows):
        y = _TOP + _ROW * row + _ROW / 2
        clock = step.at.strftime("%H:%M:%S")
        parts.append(f'<g class="step {step.kind}" data-kind="{step.kind}">')
        parts.append(f"<title>{_escape(step.detail)}</title>")
        if clock != shown_time:
            parts.append(f'<text class="time" x="6" y="{y + 4}">{clock}</text>')
            shown_time = clock
        if step.start == step.end:
            x = _x(step.start)
            text = _fit(step.label, _COLUMN * 1.6)
            box = min(len(text) * _CHAR + 14, _COLUMN * 1.7)
            parts.append(f'<rect x="{x - box / 2}" y="{y - 10}" width="{box}" height="20" '
                         f'rx="3"/><text x="{x}" y="{y + 4}" text-anchor="middle">'
                         f'{_escape(text)}</text>')
        else:
            x1, x2 = _x(step.start), _x(step.end)
            span = abs(x2 - x1)
            parts.append(f'<line x1="{x1}" y1="{y + 3}" x2="{x2}" y2="{y + 3}" '
                         f'marker-end="url(#{ident}-{markers[step.kind]})"/>')
            parts.append(f'<text x="{(x1 + x2) / 2}" y="{y - 2}" text-anchor="middle">'
                         f'{_escape(_fit(step.label, span - 8))}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def labels(svg: str) -> Sequence[tuple[str, str]]:
    """``(kind, full text)`` of each row of a diagram :func:`sequence_svg` drew, in order: what
    tests and tools read back from one."""
    ns = "{http://www.w3.org/2000/svg}"
    root = ElementTree.fromstring(svg)
    found = []
    for group in root.iter(f"{ns}g"):
        kind = group.get("data-kind")
        if kind:
            title = group.find(f"{ns}title")
            found.append((kind, title.text or "" if title is not None else ""))
    return found
