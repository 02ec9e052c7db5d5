"""The scorecard, written four ways: a terminal table with a summary line, JSON, one HTML page
and JUnit XML.

The HTML page is self-contained (no external asset; three lines of script, which only open the
case a tile links to): the verdicts first (the summary and a tile per case, worst first), then
each case unfolding with one click to what a good client does, the source, the evidence, and
the conversation as a sequence diagram, with its transcript and the client's output after it.
"""

from __future__ import annotations

import html
import json
import shutil
from collections.abc import Iterable
from pathlib import Path
from xml.etree import ElementTree

from .results import VERDICTS, CaseResult, Scorecard, Verdict

_LABELS: dict[Verdict, str] = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "skip": "SKIP"}


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def table_header() -> str:
    """The table's first line."""
    return f"{'verdict':<8} {'case':<24} {'time':>6}  reason"


def table_row(result: CaseResult, width: int | None = None, evidence: bool = True) -> str:
    """One case as a table row; for ``fail`` and ``warn``, its evidence indented below. A case
    judged on the runs of the case before it shows ``shared`` for its time: those runs were
    timed once, on that case's row."""
    width = width or shutil.get_terminal_size((120, 24)).columns
    took = "shared" if result.time_shared_with else f"{result.seconds:>5.1f}s"
    head = f"{_LABELS[result.verdict]:<8} {result.id:<24} {took:>6}  "
    text = head + _cut(result.reason, max(width - len(head), 20))
    if evidence and result.verdict in ("fail", "warn"):
        text += "".join(f"\n{'':9}{_cut(e, max(width - 9, 20))}" for e in result.evidence)
    return text


def table(card: Scorecard, width: int | None = None) -> str:
    """The terminal table: a row per case, then the summary line."""
    rows = [table_header(), *(table_row(r, width) for r in card.results)]
    return "\n".join([*rows, summary_line(card)])


def summary_line(card: Scorecard) -> str:
    """The summary line, with the client's version when known."""
    name = f"{card.client} {card.version}".strip()
    return card.summary().replace(card.client, name, 1)


def write_json(card: Scorecard, path: Path) -> None:
    """The ``--json`` report: the client, the counts and a ``cases`` list, each case with its
    ``id``, ``title``, ``verdict``, ``reason``, ``evidence`` and ``source``."""
    path.write_text(json.dumps(card.to_json(), indent=2) + "\n", encoding="utf-8")


def junit_xml(card: Scorecard) -> str:
    """The scorecard as JUnit XML: a test case per case; ``fail`` a failure, ``skip`` skipped,
    ``warn`` a passing test case whose output says why it warned."""
    counts = card.counts()
    suite = ElementTree.Element("testsuite", {
        "name": f"pytest-fakeacme conformance: {card.client}",
        "tests": str(len(card.results)), "failures": str(counts["fail"]), "errors": "0",
        "skipped": str(counts["skip"]), "time": f"{card.seconds:.3f}",
    })
    for result in card.results:
        # Cases judged on one set of runs: the first carries their time, so that the test
        # cases' times add up to the suite's.
        case = ElementTree.SubElement(suite, "testcase", {
            "classname": f"conformance.{card.client}", "name": result.id,
            "time": "0.000" if result.time_shared_with else f"{result.seconds:.3f}",
        })
        properties = ElementTree.SubElement(case, "properties")
        for name, value in (("verdict", result.verdict), ("title", result.title),
                            ("source", result.source)):
            ElementTree.SubElement(properties, "property", {"name": name, "value": value})
        evidence = "\n".join(result.evidence)
        if result.verdict == "fail":
            failure = ElementTree.SubElement(case, "failure", {"message": result.reason})
            failure.text = evidence
        elif result.verdict == "skip":
            ElementTree.SubElement(case, "skipped", {"message": result.reason})
        else:
            out = ElementTree.SubElement(case, "system-out")
            out.text = f"{result.verdict}: {result.reason}\n{evidence}"
    suites = ElementTree.Element("testsuites")
    suites.append(suite)
    ElementTree.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(
        suites, encoding="unicode") + "\n"


def write_junit(card: Scorecard, path: Path) -> None:
    """Write :func:`junit_xml` to ``path``."""
    path.write_text(junit_xml(card), encoding="utf-8")


_STYLE = """
*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,sans-serif;color:#111;
background:#f4f5f7}header{padding:.9rem 1.2rem;background:#1d2733;color:#fff}
header h1{margin:0;font-size:1.25rem}header p{margin:.25rem 0 0;color:#dde}
main{padding:1rem;display:grid;gap:1rem;max-width:1200px}section{background:#fff;
border:1px solid #ccd;border-radius:6px;padding:.8rem 1rem;min-width:0}
h2{margin:0 0 .6rem;font-size:1.05rem}.v{display:inline-block;min-width:3.4rem;
text-align:center;font-weight:700;padding:0 .4rem;border-radius:3px;color:#fff;
font-size:.85rem}.v-pass{background:#05632a}.v-fail{background:#9b1c1c}
.v-warn{background:#8a5a00}.v-skip{background:#5b6470}.counts{display:flex;gap:.6rem;
flex-wrap:wrap;margin:.4rem 0 .8rem}.count{font-size:1.05rem;padding:.25rem .7rem;
border-radius:4px;color:#fff;font-weight:600}.tiles{display:grid;gap:.35rem;
grid-template-columns:repeat(auto-fill,minmax(15rem,1fr))}.tile{display:block;
padding:.3rem .5rem;border-radius:4px;color:#fff;text-decoration:none;font-size:.85rem;
overflow-wrap:anywhere}.tile:focus,.tile:hover{outline:3px solid #0b4f9c}
details.case{border-top:1px solid #dde;padding:.35rem 0}details.case>summary{cursor:pointer;
list-style:none;display:grid;grid-template-columns:4rem 14rem 1fr;gap:.6rem;
align-items:baseline}details.case>summary::-webkit-details-marker{display:none}
details.case>summary:focus{outline:2px solid #0b4f9c}.cid{font-family:ui-monospace,monospace;
font-size:.85rem;overflow-wrap:anywhere}.why{color:#333}.body{padding:.4rem 0 .6rem 4.6rem}
dl{display:grid;grid-template-columns:9rem 1fr;gap:.2rem .8rem;margin:.3rem 0}
dt{font-weight:600;color:#333}dd{margin:0}pre{background:#f3f3f3;padding:.5rem;
overflow:auto;font-size:.78rem;white-space:pre-wrap;max-height:26rem;margin:.2rem 0}
.diagram{overflow:auto;max-height:40rem;border:1px solid #dde;border-radius:4px}
details.more>summary{cursor:pointer;color:#0b4f9c;margin:.3rem 0}
@media (max-width:700px){details.case>summary{grid-template-columns:4rem 1fr}
.why{grid-column:1/-1}.body{padding-left:0}dl{grid-template-columns:1fr}}
"""


#: Opens the case a tile (or a link with its id) points at.
_OPEN_TARGET = (
    "function openTarget(){var d=document.getElementById(decodeURIComponent("
    "location.hash.slice(1)));if(d&&d.tagName==='DETAILS'){d.open=true;d.scrollIntoView();}}"
    "addEventListener('hashchange',openTarget);openTarget();"
)


def _badge(verdict: Verdict) -> str:
    return f'<span class="v v-{verdict}">{_LABELS[verdict]}</span>'


def _case_html(result: CaseResult) -> str:
    e = html.escape
    runs = "".join(
        f"<p>Run {i}: <code>{e(' '.join(r.argv) if r.argv else 'the Python client')}</code> "
        f"({'stopped at the timeout' if r.timed_out else f'exit status {r.returncode}'}, "
        f"{r.seconds:.1f} s)</p><pre>{e(r.output[-6000:]) or '(no output)'}</pre>"
        for i, r in enumerate(result.runs, 1)
    )
    conversation = (f'<div class="diagram">{result.diagram}</div>' if result.diagram
                    else "<p>No conversation: the case did not run.</p>")
    evidence = e("\n".join(result.evidence)) or "(none)"
    took = f"{result.seconds:.1f} s"
    if result.time_shared_with:
        took += f", shared: the same runs as <code>{e(result.time_shared_with)}</code>"
    return (
        f'<details class="case" id="{e(result.id)}" data-verdict="{result.verdict}">'
        f"<summary>{_badge(result.verdict)}<span class=\"cid\">{e(result.id)}</span>"
        f'<span class="why"><strong>{e(result.title)}</strong>: {e(result.reason)}</span>'
        f'</summary><div class="body"><dl><dt>A good client</dt><dd>{e(result.good)}</dd>'
        f"<dt>Source</dt><dd>{e(result.source)}</dd><dt>Scenario</dt>"
        f"<dd><code>{e(result.scenario)}</code>, {took}</dd></dl>"
        f"<h3>Evidence</h3><pre>{evidence}</pre><h3>The conversation</h3>{conversation}"
        f'<details class="more"><summary>Transcript</summary><pre>{e(result.transcript)}'
        f'</pre></details><details class="more"><summary>The client\'s output</summary>'
        f"{runs or '<p>No run.</p>'}</details></div></details>"
    )


def _worst_first(results: Iterable[CaseResult]) -> list[CaseResult]:
    order = {v: i for i, v in enumerate(VERDICTS)}
    return sorted(results, key=lambda r: order[r.verdict])


def page_html(card: Scorecard) -> str:
    """The HTML report: one self-contained page."""
    e = html.escape
    name = f"{card.client} {card.version}".strip()
    counts = card.counts()
    labels: tuple[tuple[Verdict, str], ...] = (("fail", "failed"), ("warn", "warned"),
                                                ("pass", "passed"), ("skip", "skipped"))
    badges = "".join(f'<span class="count v-{v}">{counts[v]} {label}</span>'
                     for v, label in labels if counts[v])
    ordered = _worst_first(card.results)
    tiles = "".join(f'<a class="tile v-{r.verdict}" href="#{e(r.id)}" '
                    f'title="{e(r.reason)}">{_LABELS[r.verdict]} · {e(r.id)}</a>'
                    for r in ordered)
    cases = "".join(_case_html(r) for r in ordered)
    verdict = ("some cases failed" if counts["fail"] else
               "no case failed" if card.ok else "no case failed, but some were skipped")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
        'content="width=device-width, initial-scale=1">'
        f"<title>ACME conformance: {e(name)}</title><style>{_STYLE}</style></head><body>"
        f"<header><h1>ACME conformance: {e(name)}</h1><p>{e(summary_line(card))}; "
        f"{verdict}. Against pytest-fakeacme, answering as Let's Encrypt does.</p></header>"
        f'<main><section aria-labelledby="verdicts"><h2 id="verdicts">Verdicts</h2>'
        f'<div class="counts">{badges}</div><nav class="tiles" aria-label="cases">{tiles}'
        f'</nav></section><section aria-labelledby="cases-h"><h2 id="cases-h">Cases</h2>'
        f"<p>Worst first. Open a case for its evidence and its conversation.</p>{cases}"
        f"</section></main><script>{_OPEN_TARGET}</script></body></html>\n"
    )


def write_html(card: Scorecard, path: Path) -> None:
    """Write :func:`page_html` to ``path``."""
    path.write_text(page_html(card), encoding="utf-8")
