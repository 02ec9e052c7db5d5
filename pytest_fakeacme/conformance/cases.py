"""The battery: every case, with the situation it sets up, what a good client does, where that
is written down, and how the verdict is reached.

A :class:`Scenario` is a situation the client runs in (one run of its command, or two when it
needs a certificate from before); a :class:`Case` is one judgement of a scenario's
conversation. Most scenarios carry one case; the polling-manners scenario and the renewal
scenario carry several, judged on the same conversation.

Each case's domain is ``<scenario>.example``; the fake resolves every name to 127.0.0.1.
"""

from __future__ import annotations

import datetime as _dt
import itertools
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .. import outcomes, problems
from ..endpoints import Endpoint
from ..journal import Entry
from ..outcomes import Outcome
from . import judges
from .judges import line, lines, tail
from .results import Finding, failed, passed, warned
from .situations import Observed, Stage


@dataclass(frozen=True)
class Scenario:
    """A situation: what is set up before the client runs, how many times it runs, and what
    happens between runs."""

    name: str
    #: What the situation is, in a sentence (for the docs and the HTML report).
    describe: str
    setup: Callable[[Stage], None]
    runs: int = 1
    between: Callable[[Stage], None] | None = None
    #: How the fake must be built for it (FakeACME keyword arguments); most need nothing.
    fake_options: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Case:
    """One case of the battery."""

    id: str
    title: str
    #: What a good client does.
    good: str
    #: Where that is written down: an RFC section, a Let's Encrypt page, a Boulder file.
    source: str
    scenario: Scenario
    judge: Callable[[Observed], Finding]


def _nothing(stage: Stage) -> None:
    """No setup: the fake as Let's Encrypt is on a good day."""


def _scripted(outcome: Outcome) -> Callable[[Stage], None]:
    def setup(stage: Stage) -> None:
        stage.fake.va.script(stage.domain, outcome)
    return setup


# The happy path ---------------------------------------------------------------------------

HAPPY = Scenario("happy-path", "Nothing goes wrong: the validation authority checks the "
                 "client's http-01 answer for real, finalization answers processing once.",
                 _nothing)


def _happy(observed: Observed) -> Finding:
    return judges.issuance(observed, "a plain issuance")


# Validations that fail ----------------------------------------------------------------------

_FAILS = "exits non-zero and shows Let's Encrypt's problem detail; does not finalize the " \
         "order or keep polling the invalid authorization"

#: (id, title, outcome, what the situation is, source).
_INVALID: tuple[tuple[str, str, Outcome, str, str], ...] = (
    ("invalid-http-404", "Validation fails: the responder answers 404",
     outcomes.http_status(404), "The VA's fetch of the http-01 token gets a 404.",
     "RFC 8555 §8.3, §7.1.6; Boulder va/http.go"),
    ("invalid-http-502", "Validation fails: the responder answers 502",
     outcomes.http_status(502), "The VA's fetch of the http-01 token gets a 502.",
     "RFC 8555 §8.3, §7.1.6; Boulder va/http.go"),
    ("invalid-wrong-body", "Validation fails: the responder serves the wrong body",
     outcomes.wrong_body("hello from the default virtual host"),
     "The VA's fetch gets 200 with something other than the key authorization.",
     "RFC 8555 §8.3; Boulder va/http.go"),
    ("invalid-connect-timeout", "Validation fails: timeout during connect",
     outcomes.connect_timeout(), "The VA cannot connect (a firewall); scripted, so no wait.",
     "RFC 8555 §7.1.6; Boulder va/va.go (detailedError)"),
    ("invalid-read-timeout", "Validation fails: timeout after connect",
     outcomes.read_timeout(), "The VA connects but gets no answer in time; scripted.",
     "RFC 8555 §7.1.6; Boulder va/va.go (detailedError)"),
    ("invalid-dns", "Validation fails: the name does not resolve (NXDOMAIN)",
     outcomes.dns_nxdomain(), "The VA's A and AAAA lookups get NXDOMAIN.",
     "RFC 8555 §8.3; Boulder bdns/problem.go"),
    ("invalid-caa", "Validation fails: a CAA record forbids the CA",
     outcomes.caa_forbids(), "The name's CAA record names another CA.",
     "RFC 8659 §4; RFC 8555 §7.1.6; Boulder va/caa.go"),
    ("invalid-secondary", "Validation fails from a remote perspective only",
     outcomes.secondary_fails(outcomes.http_status(404)),
     "The primary check passes; a remote perspective gets a 404 (multi-perspective "
     "validation).",
     "Let's Encrypt: multi-perspective validation; Boulder va/va.go"),
)


def _invalid_cases() -> list[Case]:
    return [
        Case(case_id, title, _FAILS, source,
             Scenario(case_id, describe, _scripted(outcome)), judges.invalid_authorization)
        for case_id, title, outcome, describe, source in _INVALID
    ]


# badNonce ---------------------------------------------------------------------------------


def _bad_nonce_at(endpoint: Endpoint) -> Callable[[Stage], None]:
    def setup(stage: Stage) -> None:
        stage.fake.faults.bad_nonce(endpoint=endpoint)
    return setup


def _bad_nonce(observed: Observed) -> Finding:
    """Retried with the nonce the badNonce answer carried (RFC 8555 6.5)."""
    requests = observed.requests()
    refused = next((e for e in requests if e.problem is not None
                    and e.problem.type == "badNonce"), None)
    if refused is None:
        return failed("the client never reached the request the fault was set on",
                      observed.exit_line(), *tail(observed))
    fresh = refused.headers.get("Replay-Nonce")
    after = requests[requests.index(refused) + 1:]
    retry = next((e for e in after if e.method == "POST" and e.url == refused.url), None)
    done = judges.issuance(observed, "after one badNonce")
    if retry is None:
        return failed("the client gave up after one badNonce instead of retrying",
                      line(refused), observed.exit_line(), *tail(observed))
    sent = retry.jws.nonce if retry.jws is not None else None
    between = after[:after.index(retry)]
    evidence = (line(refused), f"   the answer's Replay-Nonce: {fresh}", *lines(between),
                line(retry), f"   the retry's nonce: {sent}")
    if done.verdict != "pass":
        return failed(f"the client retried, but then: {done.reason}", *evidence,
                      *done.evidence)
    if sent == fresh:
        return passed("retried with the nonce the badNonce answer carried", *evidence)
    return warned("retried, but with another nonce than the one the badNonce answer carried "
                  "(an extra round trip)", *evidence)


# Rate limits, refusals and transport faults ------------------------------------------------

#: Seconds of the rate limit's Retry-After: short, so a client that waits it out is quick.
RATE_LIMIT_WAIT = 3


def _rate_limit(stage: Stage) -> None:
    stage.fake.faults.rate_limited(endpoint="newOrder", limit="new_orders",
                                   retry_after=RATE_LIMIT_WAIT)


def _rate_limited(observed: Observed) -> Finding:
    refused = next((e for e in observed.requests("newOrder") if e.status == 429), None)
    if refused is None or refused.problem is None:
        return failed("the client never asked for an order", observed.exit_line(),
                      *tail(observed))
    wait = refused.retry_after or 0
    later = observed.requests("newOrder")[observed.requests("newOrder").index(refused) + 1:]
    early = [e for e in later if (e.at - refused.at).total_seconds() < wait]
    if early:
        waited = (early[0].at - refused.at).total_seconds()
        return failed(f"asked for an order again {waited:.1f} s later, before the "
                      f"Retry-After of {wait} s", line(refused), *lines(early))
    if later and observed.last.returncode == 0 and observed.downloaded_certificate():
        waited = (later[0].at - refused.at).total_seconds()
        return passed(f"waited {waited:.1f} s (Retry-After: {wait}) and tried again",
                      line(refused), line(later[0]), observed.exit_line())
    return judges.refusal(observed, refused, refused.problem.detail, "newOrder was rate limited")


def _forbidden(stage: Stage) -> None:
    # Boulder policy/pa.go errPolicyForbidden, under the WFE's "Invalid identifiers
    # requested" context; every newOrder for the name is refused, as policy would.
    detail = (f'Invalid identifiers requested :: Cannot issue for "{stage.domain}": The ACME '
              "server refuses to issue a certificate for this domain name, because it is "
              "forbidden by policy")
    stage.fake.faults.problem(
        problems.rejected_identifier(detail, identifier={"type": "dns", "value": stage.domain}),
        endpoint="newOrder", times=None)


def _rejected(observed: Observed) -> Finding:
    asked = observed.requests("newOrder")
    refused = next((e for e in asked if e.problem is not None), None)
    if refused is None or refused.problem is None:
        return failed("the client never asked for an order", observed.exit_line(),
                      *tail(observed))
    finding = judges.refusal(observed, refused, refused.problem.detail,
                             "the CA refused the name")
    if finding.verdict == "pass" and len(asked) > 2:
        return warned(f"exited non-zero with the detail, but asked for the refused name "
                      f"{len(asked)} times", *finding.evidence, *lines(asked, limit=4))
    return finding


#: More newOrder requests than this for a paused name is a zombie client: the pause lifts only
#: when a person follows the unpause link, never by asking again.
PAUSED_ASKS = 3


def _pause(stage: Stage) -> None:
    # The client's account exists only once it registers, so the pause is made as its first
    # newOrder arrives, before the fake answers; the hook cannot see the requester, so every
    # account there is then (one in a case) is paused for the name (Boulder's paused table,
    # sa/sa.go:1328-1471). newOrder then refuses it (wfe2/wfe.go:2432-2451).
    def pause() -> None:
        for account in stage.fake.accounts:
            stage.fake.limits.pauses.pause(account.id, stage.domain)

    stage.before_request("newOrder", pause)


def _paused(observed: Observed) -> Finding:
    asked = observed.requests("newOrder")
    refusals = [e.problem.detail for e in asked
                if e.problem is not None and e.problem.type == "rateLimited"]
    refused = next((e for e in asked if e.problem is not None
                    and e.problem.type == "rateLimited"), None)
    if refused is None or not refusals:
        return failed("the client never asked for an order", observed.exit_line(),
                      *tail(observed))
    # Each refusal carries its own JWT (issued at the fake's now): any of them will do.
    links = [detail.rsplit("Please visit: ", 1)[-1] for detail in refusals]
    shown = next((text for text in links + refusals if observed.shows(text)), None)
    times = f"{len(asked)} newOrder request{'s' if len(asked) > 1 else ''}"
    what = "the account is paused for the name"
    stopped = judges.unfinished(observed)
    if stopped is not None:
        return failed(f"{what}; the client was still running at the timeout", line(refused),
                      *stopped.evidence)
    if len(asked) > PAUSED_ASKS:
        return failed(f"{what}, yet the client asked for an order for it again and again "
                      f"({times}; pausing exists to stop such clients)",
                      *lines(asked, limit=6), observed.exit_line())
    if observed.last.returncode == 0:
        return failed(f"{what}, yet the client exited 0 without a certificate "
                      f"(after {times})", line(refused),
                      observed.exit_line(), *tail(observed))
    if shown is not None:
        return passed(f"{what}; the client exited {observed.last.returncode} showing the "
                      "unpause link", line(refused), observed.exit_line(),
                      observed.output_line(shown))
    return warned(f"{what}; the client exited {observed.last.returncode} but did not show the "
                  "unpause link, where a person would act", line(refused),
                  observed.exit_line(), "the detail: " + refusals[0], *tail(observed))


def _html_502(stage: Stage) -> None:
    stage.fake.faults.html_error(502, endpoint="newOrder", times=1)


def _transport_fault(observed: Observed) -> Finding:
    refused = next((e for e in observed.requests() if e.status == 502), None)
    if refused is None:
        return failed("the client never reached the request the fault was set on",
                      observed.exit_line(), *tail(observed))
    stopped = judges.unfinished(observed)
    if stopped is not None:
        return stopped
    if observed.last.returncode == 0:
        if observed.downloaded_certificate():
            return passed("got past the proxy's HTML 502 and finished", line(refused),
                          observed.exit_line())
        return failed("exited 0 without a certificate after the HTML 502", line(refused),
                      observed.exit_line(), *tail(observed))
    named = observed.output_matching(r"\b502\b|Bad Gateway")
    if named is not None:
        return passed(f"exited {observed.last.returncode} naming the HTTP status (the next "
                      "scheduled run tries again)", line(refused), observed.exit_line(),
                      "output: " + named[:300])
    return warned(f"exited {observed.last.returncode} without saying the server answered "
                  "502", line(refused), observed.exit_line(), *tail(observed))


# Polling ----------------------------------------------------------------------------------

#: Seconds of Retry-After on a processing challenge (rfc flavor): short, since a subprocess
#: client sleeps in real time.
POLL_WAIT = 2
#: Seconds of Retry-After on a processing order: Boulder's own (wfe2/wfe.go orderRetryAfter),
#: which leaves a client that polls every second well apart from one that waits.
ORDER_WAIT = 3


def _pending_for_polls(stage: Stage) -> None:
    # A real check, held back: the authorization stays pending for two more reads.
    stage.fake.va.script(stage.domain, outcomes.real().after(polls=2))


#: Seconds (on the fake's clock) the authorization stays pending in the poll-rate scenario.
PENDING_SECONDS = 3


def _pending_for_seconds(stage: Stage) -> None:
    # Held back by time, not reads: a client that hammers shows as many reads as it makes.
    stage.fake.va.script(stage.domain, outcomes.real().after(seconds=PENDING_SECONDS))


#: What a client reads while it waits for a validation (RFC 8555 7.5.1 names the challenge
#: and the authorization; some clients watch the order turn ready instead).
_POLLED = ("challenge", "authorization", "order")


def _polls(observed: Observed, post: Entry) -> list[Entry]:
    """The client's polls while the validation was pending: its reads of the challenge, the
    authorization and the order, and the challenge POSTed again, from the challenge POST until
    the authorization was decided (the read that showed it the last of them)."""
    after = observed.entries[observed.entries.index(post) + 1:]
    decided = next((e for e in after if e.kind == "transition"
                    and e.object_kind == "authorization" and e.new in ("valid", "invalid")),
                   None)
    waiting = after if decided is None else after[:after.index(decided)]
    return [e for e in observed.requests(entries=waiting)
            if e.endpoint in _POLLED and (e.method == "GET" or e.jws is not None)]


def _polled(polls: Sequence[Entry]) -> str:
    """What was polled, e.g. ``12 challenge POSTs and 2 authorization reads``."""
    kinds = Counter("challenge POST" if e.jws is not None and not e.jws.post_as_get
                    else f"{e.endpoint} read" for e in polls)
    counted = [f"{count} {kind}{'s' if count != 1 else ''}" for kind, count in kinds.items()]
    return " and ".join([", ".join(counted[:-1]), counted[-1]] if len(counted) > 1
                        else counted)


def _poll_rate(observed: Observed) -> Finding:
    requests = observed.requests()
    post = next((e for e in requests if e.endpoint == "challenge" and e.jws is not None
                 and not e.jws.post_as_get), None)
    if post is None:
        return failed("the client never answered the challenge", observed.exit_line(),
                      *tail(observed))
    polls = _polls(observed, post)
    shown = (line(post), *lines(polls, limit=6))
    done = judges.issuance(observed, f"the authorization stayed pending for "
                           f"{PENDING_SECONDS} s")
    burst = judges.busiest_second(polls)
    if len(burst) >= judges.HAMMERING:
        return failed(f"hammered: {_polled(burst)} within one second ({len(polls)} polls in "
                      "all)", line(post), *lines(burst, limit=6))
    gaps = [judges.seconds_between(a, b) for a, b in itertools.pairwise(polls)]
    pace = ", ".join(f"{gap:.1f} s" for gap in gaps[:6]) + (", ..." if len(gaps) > 6 else "")
    counted = _polled(polls) if polls else "no poll"
    if done.verdict != "pass":
        return failed(f"{counted}, but {done.reason}", *shown, *done.evidence)
    if any(gap < 1.0 for gap in gaps):
        return warned(f"polled less than a second apart: {counted}, {pace} apart", *shown)
    if not polls:
        return passed("made no poll while the authorization was pending: nothing to judge the "
                      "pace by", *shown, *done.evidence)
    if len(polls) == 1:
        waited = judges.seconds_between(post, polls[0])
        return passed(f"made a single poll ({_polled(polls)}), {waited:.1f} s after the "
                      "challenge POST: no pace to judge", *shown)
    return passed(f"polled at a sane pace: {counted}, {pace} apart", *shown)


def _rfc_processing(stage: Stage) -> None:
    stage.fake.flavor = "rfc"
    stage.fake.configure(challenge_retry_after=POLL_WAIT)
    _pending_for_polls(stage)


def _authz_retry_after(observed: Observed) -> Finding:
    return judges.retry_after_respected(observed, ("authorization", "challenge"),
                                        "the challenge was processing with Retry-After")


def _finalize_processing(stage: Stage) -> None:
    stage.fake.configure(finalize_processing_polls=2, finalize_retry_after=ORDER_WAIT)


def _order_retry_after(observed: Observed) -> Finding:
    return judges.retry_after_respected(observed, ("finalize", "order"),
                                        "the order was processing with Retry-After")


def _fail_order(stage: Stage) -> None:
    store = stage.fake.store

    def fail(order_id: str) -> None:
        # Boulder ra/ra.go failOrder: issuance broke, the order gets an error and is invalid.
        with store.lock:
            store.orders[order_id].error = problems.server_internal("Error finalizing order")

    stage.when_shown("order", "processing", fail)


def _order_invalid(observed: Observed) -> Finding:
    became = next((e for e in observed.entries if e.kind == "transition"
                   and e.object_kind == "order" and e.new == "invalid"), None)
    if became is None:
        return failed("the client never read the order after finalizing it",
                      observed.exit_line(), *tail(observed))
    finding = judges.refusal(observed, became, "Error finalizing order",
                             "the order became invalid while processing")
    after = observed.entries[observed.entries.index(became) + 1:]
    reads = observed.requests("order", after)
    if finding.verdict == "pass" and len(reads) > 3:
        return failed("kept polling the invalid order until it gave up",
                      *finding.evidence, f"{len(reads)} reads of the order after it was shown "
                      "invalid:", *lines(reads, limit=4))
    if finding.verdict == "pass" and len(reads) > 1:
        return warned(f"exited non-zero with the detail, but read the invalid order "
                      f"{len(reads)} more times first", *finding.evidence, *lines(reads))
    return finding


# Manners, judged on one busy conversation ---------------------------------------------------

def _some_waiting(stage: Stage) -> None:
    stage.fake.va.script(stage.domain, outcomes.real().after(polls=1))
    stage.fake.configure(finalize_processing_polls=1)


BUSY = Scenario("busy", "An issuance with some waiting: the authorization stays pending for "
                "one read and the order processing for one; the manners cases judge it.",
                _some_waiting)


def _post_as_get(observed: Observed) -> Finding:
    # The journal's own question (RFC 8555 6.3), asked of this scenario's conversation.
    reads = [e for e in observed.requests() if e.method == "GET"
             or (e.jws is not None and e.jws.post_as_get)]
    if not reads:
        return failed("the client read nothing", observed.exit_line(), *tail(observed))
    bad = observed.fake.journal.reads_not_post_as_get()
    if bad:
        return failed(f"{len(bad)} reads were not POST-as-GET", *lines(bad, limit=6))
    return passed(f"every read of a resource was POST-as-GET ({len(reads)} reads)",
                  *lines([e for e in reads if e.method == "POST"], limit=4))


def _nonce_reuse(observed: Observed) -> Finding:
    signed = [e for e in observed.requests() if e.jws is not None and e.jws.nonce]
    if not signed:
        return failed("sent no signed request", observed.exit_line(), *tail(observed))
    again = observed.fake.journal.reused_nonces()
    if again:
        sent = [e for e in signed if e.jws is not None and e.jws.nonce in again]
        return failed(f"sent {len(again)} nonces more than once",
                      *(f"{line(e)}   <- nonce {e.jws.nonce}" for e in sent[:8]
                        if e.jws is not None))
    return passed(f"every nonce was sent once ({len(signed)} signed requests)",
                  *(f"{line(e)}   <- nonce {e.jws.nonce}" for e in signed[:4]
                    if e.jws is not None))


def _nonce_economy(observed: Observed) -> Finding:
    wasted: list[str] = []
    fetched = 0
    for index in range(len(observed.runs)):
        held: str | None = None
        for entry in observed.requests(entries=observed.run_entries(index)):
            if entry.endpoint == "newNonce":
                fetched += 1
                if held is not None:
                    wasted.append(line(entry) + f"   <- it held {held} from the last answer")
            elif entry.jws is not None:
                held = None
            held = entry.headers.get("Replay-Nonce", held)
    if wasted:
        return warned(f"fetched a new nonce {len(wasted)} times while it held an unused one "
                      "from the previous answer", *wasted[:6])
    asked = observed.requests("newNonce")
    return passed(f"took its nonces from the answers (newNonce asked {fetched} times)",
                  *lines(asked, limit=4))


# Account, terms, chains, extensions -------------------------------------------------------


def _terms_change(stage: Stage) -> None:
    # The terms change after the client's account was created, as its first order arrives;
    # the fake's own terms check then answers it.
    stage.before_request("newOrder", stage.fake.terms.change)


def _terms(observed: Observed) -> Finding:
    requests = observed.requests()
    refused = next((e for e in requests if e.problem is not None
                    and e.problem.type == "userActionRequired"), None)
    if refused is None or refused.problem is None:
        return failed("the client never asked for anything after creating its account",
                      observed.exit_line(), *tail(observed))
    after = requests[requests.index(refused) + 1:]
    agreed = next((e for e in after if e.endpoint == "account" and e.jws is not None
                   and isinstance(e.jws.payload, dict)
                   and e.jws.payload.get("termsOfServiceAgreed") is True), None)
    stopped = judges.unfinished(observed)
    if stopped is not None:
        return stopped
    asked_again = [e for e in after if e.endpoint == "newOrder"
                   and (agreed is None or e.seq < agreed.seq)]
    if len(asked_again) > 2:
        return failed(f"asked for an order {len(asked_again)} more times without agreeing to "
                      "the new terms", line(refused), *lines(asked_again, limit=4))
    if agreed is not None and observed.last.returncode == 0 and \
            observed.downloaded_certificate():
        return passed("agreed to the new terms (its user had agreed to the CA's terms) and "
                      "carried on", line(refused), line(agreed), observed.exit_line())
    if observed.last.returncode == 0:
        return failed("exited 0 without a certificate after userActionRequired",
                      line(refused), observed.exit_line(), *tail(observed))
    instance = str(refused.problem.extra.get("instance", ""))
    terms_url = refused.headers.get("Link", "").split(";")[0].strip("<>")
    for where in (instance, terms_url):
        if where and observed.shows(where):
            return passed(f"stopped (exit {observed.last.returncode}) and showed where to "
                          "agree to the new terms", line(refused), observed.exit_line(),
                          observed.output_line(where))
    return warned(f"stopped (exit {observed.last.returncode}) without showing where to agree "
                  "to the new terms", line(refused), f"   where to agree: {instance}",
                  observed.exit_line(), *tail(observed))


ALTERNATE = Scenario("alternate-chains", "The certificate comes with an alternate chain to "
                     "another root (Link: rel=\"alternate\").", _nothing,
                     fake_options=(("alternate_chains", 1),))


def _alternate(observed: Observed) -> Finding:
    done = judges.issuance(observed, "the certificate had an alternate chain")
    if done.verdict != "pass":
        return done
    reads = [e for e in observed.requests("certificate") if e.status == 200]
    # An alternate chain's URL is the certificate's with "/<n>" after it (Link: rel=alternate).
    chains = [e for e in reads if any(e.url.startswith(o.url + "/") for o in reads)]
    also = "; it fetched the alternate chain too" if chains else ""
    return passed(done.reason + also, *done.evidence, *lines(chains, limit=2))


def _extensions(stage: Stage) -> None:
    # What RFC 8555 does not name but CAs serve: newAuthz in the directory (pre-authorization),
    # a challenge type the client may not know (dns-account-01), meta.profiles, renewalInfo.
    stage.fake.configure(pre_authorization=True, dns_account_01=True)


def _unknown(observed: Observed) -> Finding:
    done = judges.issuance(observed, "the directory and the authorization held things the "
                           "client may not know")
    directory = [e for e in observed.requests("directory")][:1]
    return Finding(done.verdict, done.reason, (*lines(directory), *done.evidence))


# Renewal information (ARI), on a certificate from a first run --------------------------------


def _drill(stage: Stage) -> None:
    # Every certificate issued so far: renew now (with an explanationURL), revoked in 6 hours.
    stage.kept["drill"] = stage.fake.ari.mass_revocation(revoke_after=_dt.timedelta(hours=6))


RENEWAL = Scenario("renewal", "A first run gets a certificate; then the CA announces a mass "
                   "revocation (ARI says renew now, RFC 9773) and the client runs again, as "
                   "its scheduled renewal would.", _nothing, runs=2, between=_drill)


def _renewal_info(observed: Observed) -> Finding:
    drill = observed.kept.get("drill")
    if drill is None or not drill.certificates:
        return failed("the first run got no certificate to renew", observed.exit_line(
            observed.runs[0]), *tail(observed))
    second = observed.run_entries(1) if len(observed.runs) > 1 else []
    asked = [e for e in observed.requests("renewalInfo", second)]
    ordered = [e for e in observed.requests("newOrder", second)]
    evidence = (*lines(asked, limit=3), *lines(ordered, limit=3),
                f"requests in the second run: {len(observed.requests(entries=second))}, for "
                f"renewal information: {len(asked)}", observed.exit_line())
    if observed.last.timed_out or observed.last.returncode != 0:
        return failed("the second run failed", *evidence, *tail(observed))
    fetched, renewed, replaced = drill.fetched_renewal_info(), drill.renewed(), \
        drill.sent_replaces()
    if fetched and renewed and replaced:
        return passed("asked for renewal information, renewed at once, and named the "
                      "certificate it replaces", *evidence)
    if fetched and renewed:
        return warned("asked for renewal information and renewed at once, but did not name "
                      "the certificate it replaces (replaces, RFC 9773 §5)", *evidence)
    if fetched:
        return failed("asked for renewal information, was told to renew now, and did not",
                      *evidence)
    if renewed:
        return warned("renewed, but without asking for renewal information (ARI): it would "
                      "not have known of a revocation", *evidence)
    return warned("did not ask for renewal information (ARI) and did not renew: its "
                  "certificate would be revoked under it", *evidence)


def _account_reused(observed: Observed) -> Finding:
    if len(observed.runs) < 2:
        return failed("the first run did not finish", observed.exit_line(observed.runs[0]))
    accounts = observed.fake.accounts
    created = [e for e in observed.requests("newAccount") if e.status == 201]
    if len(accounts) == 1:
        return passed("both runs used the one account", *lines(observed.requests(
            "newAccount")))
    return warned(f"created {len(accounts)} accounts in two runs (Let's Encrypt limits new "
                  "accounts per IP address)", *lines(created))


CASES: tuple[Case, ...] = (
    Case("happy-path", "A certificate, start to finish",
         "registers, orders, answers http-01, finalizes with a CSR, downloads the chain and "
         "exits 0", "RFC 8555 §7.1, §7.4", HAPPY, _happy),
    *_invalid_cases(),
    Case("bad-nonce-new-order", "badNonce on newOrder",
         "retries the request once with the nonce the error answer carried",
         "RFC 8555 §6.5", Scenario("bad-nonce-new-order", "newOrder's first answer is "
                                   "badNonce (with a fresh Replay-Nonce).",
                                   _bad_nonce_at("newOrder")), _bad_nonce),
    Case("bad-nonce-finalize", "badNonce on finalize",
         "retries the finalize request once with the nonce the error answer carried",
         "RFC 8555 §6.5", Scenario("bad-nonce-finalize", "finalize's first answer is "
                                   "badNonce.", _bad_nonce_at("finalize")), _bad_nonce),
    Case("rate-limited", "rateLimited with Retry-After on newOrder",
         "does not ask again before the Retry-After; gives up showing the detail, or waits "
         "and tries once more",
         "RFC 8555 §6.6; Let's Encrypt: Rate Limits; Boulder ratelimits/limiter.go",
         Scenario("rate-limited", f"newOrder answers 429 rateLimited with Retry-After: "
                  f"{RATE_LIMIT_WAIT} once.", _rate_limit), _rate_limited),
    Case("rejected-identifier", "The CA refuses the name",
         "exits non-zero showing the detail; does not ask again and again",
         "RFC 8555 §6.7, §7.4; Boulder policy/pa.go",
         Scenario("rejected-identifier", "Every newOrder for the name is refused with "
                  "rejectedIdentifier (forbidden by policy).", _forbidden), _rejected),
    Case("paused", "An account paused for the name (Let's Encrypt's zombie-client pause)",
         "stops, exits non-zero and shows the unpause link (or the detail) so a person can "
         "act; does not ask for the order again and again",
         "Let's Encrypt: Rate Limits (consecutive authorization failures), "
         "letsencrypt.org/2025/06/04/how-we-reduced-the-impact-of-zombie-clients; "
         "Boulder wfe2/wfe.go:2432-2451",
         Scenario("paused", "Rate limits are on, and the client's account is paused for the "
                  "name as its first newOrder arrives: newOrder answers 429 rateLimited "
                  "\"Your account is temporarily prevented from requesting certificates for "
                  "...\" with an unpause link and no Retry-After.", _pause,
                  fake_options=(("rate_limits", True),)), _paused),
    Case("html-502", "A proxy's HTML 502 instead of a problem document",
         "survives a non-JSON error: retries, or exits non-zero naming the HTTP status",
         "RFC 9110 §15.6.3; RFC 8555 §6.7",
         Scenario("html-502", "newOrder's first answer is a load balancer's HTML 502 page: "
                  "no problem document, no nonce.", _html_502), _transport_fault),
    Case("authz-poll-rate", "Polling a pending authorization (no Retry-After)",
         "polls the challenge, authorization or order at a sane pace: no two polls less than "
         "a second apart, no bursts",
         "RFC 8555 §7.5.1; Boulder wfe2/wfe.go (no Retry-After on authorizations)",
         Scenario("authz-poll-rate", f"The authorization stays pending for "
                  f"{PENDING_SECONDS} s after the challenge POST (Let's Encrypt sends no "
                  "Retry-After).", _pending_for_seconds), _poll_rate),
    Case("authz-retry-after", "A processing challenge with Retry-After",
         "waits the Retry-After before reading the authorization again",
         "RFC 8555 §7.5.1, §8.2",
         Scenario("authz-retry-after", f"The rfc flavor: the challenge shows processing with "
                  f"Retry-After: {POLL_WAIT} for two reads.", _rfc_processing),
         _authz_retry_after),
    Case("order-retry-after", "A processing order with Retry-After",
         "waits the Retry-After before reading the order again",
         "RFC 8555 §7.4; Boulder wfe2/wfe.go (orderRetryAfter)",
         Scenario("order-retry-after", f"After finalize the order shows processing with "
                  f"Retry-After: {ORDER_WAIT} for two more reads.", _finalize_processing),
         _order_retry_after),
    Case("order-invalid-midway", "The order turns invalid while processing",
         "stops polling, exits non-zero and shows the order's error",
         "RFC 8555 §7.4, §7.1.6; Boulder ra/ra.go (failOrder)",
         Scenario("order-invalid-midway", "Issuance breaks after finalize: the next read of "
                  "the order shows invalid with serverInternal \"Error finalizing order\".",
                  _fail_order), _order_invalid),
    Case("post-as-get", "Reads are POST-as-GET",
         "reads orders, authorizations and certificates with POST-as-GET, never GET",
         "RFC 8555 §6.3", BUSY, _post_as_get),
    Case("nonce-reuse", "No nonce sent twice", "sends every nonce once", "RFC 8555 §6.5",
         BUSY, _nonce_reuse),
    Case("nonce-economy", "Nonces from the answers",
         "takes each nonce from the previous answer's Replay-Nonce; asks newNonce only "
         "when it has none", "RFC 8555 §7.2, §6.5", BUSY, _nonce_economy),
    Case("terms-changed", "The terms of service change",
         "agrees again (when its user agreed to the CA's terms) or stops and shows where "
         "to agree; never asks again and again", "RFC 8555 §7.3.3; Let's Encrypt: "
         "Integration Guide (terms-of-service link)",
         Scenario("terms-changed", "The terms change after the client's account is created, "
                  "as its first order arrives: it gets userActionRequired.", _terms_change),
         _terms),
    Case("alternate-chains", "Alternate chains offered",
         "downloads the default chain; may fetch the alternate; is not confused by the "
         "Link headers", "RFC 8555 §7.4.2; Boulder wfe2/wfe.go", ALTERNATE, _alternate),
    Case("unknown-fields", "New resources and challenge types",
         "ignores what it does not know: newAuthz in the directory, a dns-account-01 "
         "challenge, meta.profiles, renewalInfo",
         "RFC 8555 §7.1.1, §7.5; Boulder wfe2/wfe.go (randomDirKeyExplanationLink)",
         Scenario("unknown-fields", "The directory offers newAuthz and the authorization a "
                  "dns-account-01 challenge besides the usual ones.", _extensions), _unknown),
    Case("renewal-info", "Renewal information (ARI) says renew now",
         "asks renewalInfo, renews at once, and names the old certificate in replaces",
         "RFC 9773 §4.2, §5; Let's Encrypt: Integration Guide (ARI)", RENEWAL,
         _renewal_info),
    Case("account-reused", "One account across runs",
         "keeps its account key and uses the same account on its next run",
         "RFC 8555 §7.3.1; Let's Encrypt: Rate Limits (new registrations)", RENEWAL,
         _account_reused),
)
