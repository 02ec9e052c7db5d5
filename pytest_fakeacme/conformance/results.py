"""What the battery produces: a verdict per case with its evidence, and the scorecard of a run.

A verdict is ``pass``, ``fail``, ``warn`` (legal but unkind: the protocol allows it, a CA
would rather the client did not) or ``skip`` (the case cannot run here, with the reason; it
counts against the scorecard unless skips are allowed). Each
comes with a one-line reason and the evidence that decided it: journal lines (the fake's
clock, what was asked, what was answered), the exit status, and lines of the client's output.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

Verdict = Literal["pass", "warn", "fail", "skip"]
#: The verdicts in the order reports list them (the worst first).
VERDICTS: tuple[Verdict, ...] = ("fail", "warn", "pass", "skip")


@dataclass(frozen=True)
class Finding:
    """A judge's decision about one case."""

    verdict: Verdict
    reason: str
    evidence: tuple[str, ...] = ()


def passed(reason: str, *evidence: str) -> Finding:
    """A ``pass`` with its evidence."""
    return Finding("pass", reason, evidence)


def warned(reason: str, *evidence: str) -> Finding:
    """A ``warn`` (legal but unkind) with its evidence."""
    return Finding("warn", reason, evidence)


def failed(reason: str, *evidence: str) -> Finding:
    """A ``fail`` with its evidence."""
    return Finding("fail", reason, evidence)


@dataclass(frozen=True)
class RunRecord:
    """One run of the client's command in a case (a case may run it more than once)."""

    #: The command as run (``None`` for a Python callable).
    argv: tuple[str, ...] | None
    #: The exit status; ``None`` when the run was stopped at the case's timeout.
    returncode: int | None
    #: What the client printed: standard output, then standard error.
    output: str
    seconds: float

    @property
    def timed_out(self) -> bool:
        """Whether the run was stopped at the timeout."""
        return self.returncode is None

    def to_json(self) -> dict[str, Any]:
        """The run as JSON (the output's last 4,000 characters)."""
        return {"argv": list(self.argv) if self.argv is not None else None,
                "returncode": self.returncode, "seconds": round(self.seconds, 3),
                "output": self.output[-4000:]}


@dataclass(frozen=True)
class CaseResult:
    """One case's verdict, with everything a report shows of it."""

    id: str
    title: str
    verdict: Verdict
    reason: str
    evidence: tuple[str, ...]
    source: str
    good: str
    #: The situation the case ran in (cases judged on one conversation share it).
    scenario: str
    seconds: float
    runs: tuple[RunRecord, ...] = ()
    #: The conversation as text (the journal's transcript) and as a sequence diagram (SVG).
    transcript: str = ""
    diagram: str = ""
    #: The first case judged on the same runs, when that is another case: :attr:`seconds` is
    #: then the time of those runs, which that case's row shows (timed once, not twice).
    time_shared_with: str = ""

    def to_json(self) -> dict[str, Any]:
        """The case as the ``--json`` report writes it."""
        return {
            "id": self.id,
            "title": self.title,
            "verdict": self.verdict,
            "reason": self.reason,
            "evidence": list(self.evidence),
            "source": self.source,
            "good_client": self.good,
            "scenario": self.scenario,
            "seconds": round(self.seconds, 3),
            "time_shared_with": self.time_shared_with,
            "runs": [r.to_json() for r in self.runs],
            "transcript": self.transcript,
        }


@dataclass
class Scorecard:
    """The battery's results for one client, in the battery's order."""

    client: str
    results: list[CaseResult] = field(default_factory=list)
    #: Wall time of the whole battery, in seconds.
    seconds: float = 0.0
    #: The client's version, when the preset knows how to ask.
    version: str = ""
    #: Whether a skipped case still leaves the scorecard :attr:`ok` (``--allow-skips``): for
    #: a client that legitimately cannot take some cases, such as a dns-01-only client on the
    #: scripted http-01 cases.
    allow_skips: bool = False

    def counts(self) -> dict[Verdict, int]:
        """How many cases got each verdict (every verdict listed, zeros included)."""
        found = Counter(r.verdict for r in self.results)
        return {v: found.get(v, 0) for v in VERDICTS}

    @property
    def ok(self) -> bool:
        """True when every case passed or warned; a skipped case counts against it unless
        :attr:`allow_skips`."""
        refused: set[Verdict] = {"fail"} if self.allow_skips else {"fail", "skip"}
        return all(r.verdict not in refused for r in self.results)

    def verdicts(self) -> dict[str, Verdict]:
        """Case id to verdict."""
        return {r.id: r.verdict for r in self.results}

    def result(self, case_id: str) -> CaseResult:
        """The result of one case, by id."""
        for found in self.results:
            if found.id == case_id:
                return found
        raise KeyError(f"no case {case_id!r} in this scorecard; it has "
                       f"{[r.id for r in self.results]}")

    def summary(self) -> str:
        """One line: the counts and the time taken."""
        counts = self.counts()
        parts = [f"{counts['pass']} passed", f"{counts['warn']} warned",
                 f"{counts['fail']} failed"]
        if counts["skip"]:
            parts.append(f"{counts['skip']} skipped")
        return (f"{self.client}: {', '.join(parts)} of {len(self.results)} cases "
                f"in {self.seconds:.1f} s")

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` report: the client, the counts and the ``cases`` list."""
        return {"client": self.client, "version": self.version,
                "seconds": round(self.seconds, 3), "counts": self.counts(), "ok": self.ok,
                "allow_skips": self.allow_skips,
                "cases": [r.to_json() for r in self.results]}
