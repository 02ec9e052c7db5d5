"""The per-test HTML report (``pytest --fake-acme-report=DIR``): for every test that used the
fake, a page with its conversation as a sequence diagram, its transcript and the certificates
it was issued; and an index of them, failing tests first.

Each test's page is written with a small JSON sidecar by the process that ran the test (an
xdist worker, say); the index is made from the sidecars at the end of the session, so it works
however the tests were spread.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .diagram import sequence_svg
from .journal import Entry
from .views import CertificateView

INDEX = "index.html"
_STYLE = """
body{margin:0;font:15px/1.45 system-ui,sans-serif;color:#111;background:#f4f5f7}
header{padding:.7rem 1.2rem;background:#1d2733;color:#fff}header h1{margin:0;font-size:1.2rem}
header p{margin:.2rem 0 0;color:#dde;font-size:.9rem;overflow-wrap:anywhere}
main{padding:1rem;display:grid;gap:1rem}section{background:#fff;border:1px solid #ccd;
border-radius:6px;padding:.8rem 1rem;min-width:0}h2{margin:0 0 .6rem;font-size:1.05rem}
.outcome{font-weight:700;padding:0 .45rem;border-radius:3px;color:#fff}
.passed{background:#05632a}.failed{background:#9b1c1c}.skipped{background:#6b4f00}
.diagram{overflow-x:auto}pre{background:#f3f3f3;padding:.5rem;overflow:auto;font-size:.8rem;
white-space:pre-wrap;max-height:30rem;margin:0}table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.3rem .5rem;border-top:1px solid #dde;vertical-align:top}
td.id{overflow-wrap:anywhere}a{color:#0b4f9c}details summary{cursor:pointer;color:#0b4f9c}
"""


@dataclass(frozen=True)
class ReportRecord:
    """What the index says of one test."""

    nodeid: str
    outcome: str
    page: str
    requests: int
    problems: int


def slug(nodeid: str) -> str:
    """A file name for a test id (stable, readable, safe on every file system)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")[:180] or "test"


def _page(title: str, subtitle: str, body: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title>'
            f"<style>{_STYLE}</style></head><body><header><h1>{html.escape(title)}</h1>"
            f"<p>{subtitle}</p></header><main>{body}</main></body></html>\n")


def _certificates(certificates: Sequence[CertificateView]) -> str:
    if not certificates:
        return "<p>No certificate was issued.</p>"
    rows = "".join(
        f"<tr><td>{html.escape(', '.join(c.names))}</td><td><code>{c.serial:x}</code></td>"
        f"<td>{c.not_before:%Y-%m-%d %H:%M:%S} to {c.not_after:%Y-%m-%d %H:%M:%S} UTC"
        f"{' (revoked)' if c.revoked else ''}</td><td><details><summary>PEM</summary>"
        f"<pre>{html.escape(c.fullchain_pem)}</pre></details></td></tr>"
        for c in certificates
    )
    return (f"<table><thead><tr><th>Names</th><th>Serial</th><th>Valid</th><th>Chain</th>"
            f"</tr></thead><tbody>{rows}</tbody></table>")


def page_html(nodeid: str, outcome: str, entries: Sequence[Entry], transcript: str,
              certificates: Sequence[CertificateView]) -> str:
    """One test's page: its outcome, its conversation, its transcript, its certificates."""
    subtitle = f'<span class="outcome {html.escape(outcome)}">{html.escape(outcome)}</span> ' \
               f'· <a href="{INDEX}" style="color:#cde">all tests</a>'
    body = (
        f'<section><h2>Conversation</h2><div class="diagram">'
        f"{sequence_svg(entries, title=f'The conversation of {nodeid}')}</div></section>"
        f"<section><h2>Certificates issued</h2>{_certificates(certificates)}</section>"
        f"<section><h2>Transcript</h2><pre>{html.escape(transcript)}</pre></section>"
    )
    return _page(nodeid, subtitle, body)


def write_test(folder: Path, nodeid: str, outcome: str, entries: Sequence[Entry],
               transcript: str, certificates: Sequence[CertificateView]) -> Path:
    """Write one test's page and its sidecar into ``folder``; the page's path."""
    folder.mkdir(parents=True, exist_ok=True)
    name = slug(nodeid)
    page = folder / f"{name}.html"
    page.write_text(page_html(nodeid, outcome, entries, transcript, certificates),
                    encoding="utf-8")
    requests = [e for e in entries if e.kind == "request"]
    record = ReportRecord(nodeid, outcome, page.name, len(requests),
                        sum(1 for e in requests if e.problem is not None))
    (folder / f"{name}.json").write_text(json.dumps(record.__dict__), encoding="utf-8")
    return page


def records(folder: Path) -> list[ReportRecord]:
    """The tests written into ``folder``: failing first, then by test id."""
    found = []
    for sidecar in folder.glob("*.json"):
        try:
            found.append(ReportRecord(**json.loads(sidecar.read_text(encoding="utf-8"))))
        except (ValueError, TypeError):
            continue  # not one of ours
    return sorted(found, key=lambda r: (r.outcome != "failed", r.nodeid))


def write_index(folder: Path) -> Path:
    """The index of every test page in ``folder``, failing tests first; its path."""
    found = records(folder)
    failed = sum(r.outcome == "failed" for r in found)
    rows = "".join(
        f'<tr data-outcome="{html.escape(r.outcome)}"><td><span class="outcome '
        f'{html.escape(r.outcome)}">{html.escape(r.outcome)}</span></td><td class="id">'
        f'<a href="{html.escape(r.page)}">{html.escape(r.nodeid)}</a></td>'
        f"<td>{r.requests}</td><td>{r.problems}</td></tr>"
        for r in found
    )
    body = (f"<section><h2>Tests</h2><table><thead><tr><th>Outcome</th><th>Test</th>"
            f"<th>Requests</th><th>Problem answers</th></tr></thead><tbody>{rows}</tbody>"
            f"</table></section>")
    index = folder / INDEX
    index.write_text(_page("pytest-fakeacme report",
                           f"{len(found)} test{'' if len(found) == 1 else 's'} used the "
                           f"fake, {failed} failed", body),
                     encoding="utf-8")
    return index
