"""How cases decide: judgements several cases share, each returning a verdict with the journal
lines, exit status and output lines that decided it.

Times between requests are read from the journal (each entry carries the fake's clock), so a
judgement about waiting is about what the client did, not about how fast this machine is.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..journal import Entry
from .results import Finding, failed, passed, warned
from .situations import Observed

#: A client that reads one resource this many times within one second is hammering it.
HAMMERING = 4


def line(entry: Entry) -> str:
    """A journal entry as an evidence line: its sequence number and transcript line."""
    return f"#{entry.seq} {entry.line()}"


def lines(entries: Sequence[Entry], limit: int = 12) -> tuple[str, ...]:
    """Evidence lines for ``entries`` (the first ``limit`` of them, and a count of the rest)."""
    shown = [line(e) for e in entries[:limit]]
    if len(entries) > limit:
        shown.append(f"... and {len(entries) - limit} more like these")
    return tuple(shown)


def tail(observed: Observed, count: int = 3) -> tuple[str, ...]:
    """The last non-empty lines of the last run's output, as evidence."""
    found = [text.strip() for text in observed.last.output.splitlines() if text.strip()]
    return tuple("output: " + text[:300] for text in found[-count:])


def unfinished(observed: Observed) -> Finding | None:
    """A ``fail`` if the last run was stopped at the timeout."""
    if observed.last.timed_out:
        return failed("the client was still running at the timeout", observed.exit_line(),
                      *lines(observed.requests()[-4:]), *tail(observed))
    return None


def issuance(observed: Observed, what: str) -> Finding:
    """A pass when the last run exited 0 having downloaded a certificate, else a fail."""
    stopped = unfinished(observed)
    if stopped is not None:
        return stopped
    runs = observed.run_entries(len(observed.runs) - 1)
    downloads = [e for e in observed.requests("certificate", runs) if e.status == 200]
    if observed.last.returncode != 0:
        return failed(f"{what}, but the client exited {observed.last.returncode}",
                      observed.exit_line(), *problems_of(runs), *tail(observed))
    if not downloads:
        return failed(f"{what}, but the client exited 0 without downloading a certificate",
                      observed.exit_line(), *lines(observed.requests(entries=runs)[-4:]))
    return passed(f"{what}: the client got its certificate", line(downloads[0]),
                  observed.exit_line())


def problems_of(entries: Sequence[Entry]) -> tuple[str, ...]:
    """Evidence lines for the answers that were problems, and the VA's failed attempts."""
    return lines([e for e in entries if e.problem is not None], limit=6)


def refusal(observed: Observed, refused: Entry, detail: str, what: str) -> Finding:
    """A refusal the client cannot get past in this run (an invalid authorization, a rate
    limit, a rejected identifier): pass when it exits non-zero showing ``detail``; warn
    when it exits non-zero without showing it; fail when it exits 0 or hangs."""
    evidence = [line(refused)]
    stopped = unfinished(observed)
    if stopped is not None:
        return failed(f"{what}; the client was still running at the timeout",
                      *evidence, observed.exit_line(), *tail(observed))
    if observed.last.returncode == 0:
        if observed.downloaded_certificate():
            return warned(f"{what}; the client tried again at once and got a certificate "
                          "(Let's Encrypt counts every failed attempt against its limits)",
                          *evidence, *lines(observed.requests("newOrder")),
                          observed.exit_line())
        return failed(f"{what}, yet the client exited 0 without a certificate",
                      *evidence, observed.exit_line(), *tail(observed))
    if not observed.shows(detail):
        return warned(f"{what}; the client exited {observed.last.returncode} but did not show "
                      "the CA's detail", *evidence, observed.exit_line(),
                      "the detail: " + detail, *tail(observed))
    return passed(f"{what}; the client exited {observed.last.returncode} showing the CA's "
                  "detail", *evidence, observed.exit_line(), observed.output_line(detail))


def invalid_authorization(observed: Observed) -> Finding:
    """The validation failed (a scripted outcome): the client must stop, exit non-zero, and
    show Let's Encrypt's detail; re-polling the invalid authorization again and again, or
    finalizing anyway, is unkind."""
    attempts = [e for e in observed.entries if e.kind == "validation" and e.problem is not None]
    if not attempts:
        stopped = unfinished(observed)
        return stopped or failed("the client never asked for the validation",
                                 observed.exit_line(), *problems_of(observed.entries),
                                 *tail(observed))
    attempt = attempts[0]
    assert attempt.problem is not None
    finding = refusal(observed, attempt, attempt.problem.detail,
                      "the authorization became invalid")
    if finding.verdict != "pass":
        return finding
    became = next((i for i, e in enumerate(observed.entries)
                   if e.kind == "transition" and e.object_kind == "authorization"
                   and e.new == "invalid"), None)
    later = observed.entries[became + 1:] if became is not None else []
    finalized = observed.requests("finalize", later)
    if finalized:
        return warned("the client exited non-zero with the detail, but first tried to "
                      "finalize an order whose authorization was invalid",
                      *finding.evidence, *lines(finalized))
    polls = observed.requests("authorization", later)
    if len(polls) > 2:
        return warned(f"the client exited non-zero with the detail, but read the invalid "
                      f"authorization {len(polls)} more times first", *finding.evidence,
                      *lines(polls, limit=4))
    return finding


def early_returns(observed: Observed, endpoints: Sequence[str]
                  ) -> tuple[list[tuple[Entry, Entry, float]], list[tuple[Entry, Entry, float]]]:
    """Answers of ``endpoints`` that carried Retry-After and were followed by another request
    for the same resource: ``(answer, next, seconds waited)``, all of them and the early ones.
    Seconds are on the fake's clock, as the answer's Retry-After is."""
    requests = observed.requests()
    followed: list[tuple[Entry, Entry, float]] = []
    for index, answer in enumerate(requests):
        if answer.endpoint not in endpoints or answer.retry_after is None:
            continue
        nxt = next((e for e in requests[index + 1:] if e.url == answer.resource), None)
        if nxt is not None:
            followed.append((answer, nxt, (nxt.at - answer.at).total_seconds()))
    early = [f for f in followed if f[2] < (f[0].retry_after or 0)]
    return followed, early


def retry_after_respected(observed: Observed, endpoints: Sequence[str], what: str) -> Finding:
    """Every answer with Retry-After (of ``endpoints``) waited before the next request for the
    resource: pass; some: warn; none: fail. The client must also finish with a certificate."""
    done = issuance(observed, what)
    if done.verdict != "pass":
        return done
    followed, early = early_returns(observed, endpoints)
    if not followed:
        return failed(f"{what}, but no answer with Retry-After was followed by another read: "
                      "the scenario did not happen", *done.evidence)

    evidence: list[str] = []
    shown: Entry | None = None
    for answer, nxt, waited in (early or followed)[:4]:
        if answer is not shown:  # a poll's answer is often the previous pair's request
            evidence.append(line(answer))
        evidence.append(f"{line(nxt)}   <- {waited:.1f} s later, Retry-After asked "
                        f"{answer.retry_after} s")
        shown = nxt
    if not early:
        return passed(f"waited the Retry-After each time ({len(followed)} answers)", *evidence)
    if len(early) < len(followed):
        return warned(f"came back before the Retry-After after {len(early)} of "
                      f"{len(followed)} answers", *evidence)
    return failed(f"ignored Retry-After: came back early after every one of {len(followed)} "
                  "answers", *evidence)


def seconds_between(first: Entry, second: Entry) -> float:
    """Seconds between two entries on the fake's clock."""
    return (second.at - first.at).total_seconds()


def busiest_second(entries: Sequence[Entry]) -> list[Entry]:
    """The most requests that fell within one second (on the fake's clock)."""
    best: list[Entry] = []
    for index, first in enumerate(entries):
        window = [e for e in entries[index:] if seconds_between(first, e) < 1.0]
        if len(window) > len(best):
            best = window
    return best
