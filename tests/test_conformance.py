"""The conformance battery (``pytest_fakeacme.conformance``) judged against a small client whose
manners can be broken one switch at a time (tests/brokenclient.py): without switches it passes
every case; each switch makes the cases that watch that manner fail or warn, and only those.
Then the command line (a subprocess client, the exit status, the three report files), the
runner's environment and placeholders, its timeout, and the reports' shapes.

The real clients' scorecards are tests/test_conformance_clients.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

import brokenclient
from pytest_fakeacme import FakeACME, FakeACMEUsageError
from pytest_fakeacme.conformance import (
    CASES,
    Battery,
    CallableClient,
    CommandClient,
    Scorecard,
    Stage,
    Target,
    reports,
    run_battery,
    scorecards,
)
from pytest_fakeacme.conformance.cli import http01_mode
from pytest_fakeacme.demo import MiniClient

ROOT = Path(__file__).resolve().parent.parent
BROKEN = [sys.executable, str(ROOT / "tests" / "brokenclient.py")]


def _scenarios() -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for case in CASES:
        grouped.setdefault(case.scenario.name, []).append(case.id)
    return grouped


def _explain(card: Scorecard) -> str:
    return reports.table(card, width=160)


def test_the_battery_has_25_cases_or_more_each_with_a_source() -> None:
    assert len(CASES) >= 25
    assert len({c.id for c in CASES}) == len(CASES)
    for case in CASES:
        assert all((case.title, case.good, case.source)), case.id
        assert any(word in case.source for word in ("RFC", "Let's Encrypt", "Boulder")), case.id


@pytest.mark.parametrize("scenario", list(_scenarios()))
def test_a_good_client_passes_every_case(scenario: str) -> None:
    ids = _scenarios()[scenario]
    card = run_battery(brokenclient.client(), cases=ids, timeout=30, virtual_time=True)
    expected = dict.fromkeys(ids, "pass")
    assert card.verdicts() == expected, _explain(card)
    for result in card.results:
        if result.verdict == "pass":
            assert result.evidence, result.id
            assert result.transcript.startswith("--- run 1: (Python client)")
            assert result.diagram.startswith("<svg")


#: Switch (or switches joined by "+") -> the verdicts it must produce (cases not named here
#: are not run for it).
BROKEN_MANNERS: dict[str, dict[str, str]] = {
    "exit_zero": {"invalid-http-404": "fail", "rate-limited": "fail",
                  "order-invalid-midway": "fail", "happy-path": "pass", "paused": "fail"},
    "quiet": {"invalid-caa": "warn", "rejected-identifier": "warn", "paused": "warn"},
    "no_bad_nonce_retry": {"bad-nonce-new-order": "fail", "bad-nonce-finalize": "fail"},
    "new_nonce_each_time": {"bad-nonce-new-order": "warn", "nonce-economy": "warn",
                            "nonce-reuse": "pass"},
    "reuse_nonces": {"nonce-reuse": "fail", "post-as-get": "pass"},
    # Boulder serves a plain GET of an order or authorization (wfe2/wfe.go:464-470): the client
    # gets its certificate, and only the post-as-get case catches the manner.
    "get_reads": {"post-as-get": "fail", "happy-path": "pass"},
    # One retry of a paused account's order (showing the link) is tolerated: the case fails
    # only a client that asks again and again.
    "ignore_retry_after": {"order-retry-after": "fail", "authz-retry-after": "fail",
                           "rate-limited": "fail", "paused": "pass"},
    "nag_rate_limits": {"paused": "fail"},
    "hammer": {"authz-poll-rate": "fail"},
    "hammer_challenge": {"authz-poll-rate": "fail"},
    "poll_invalid": {"order-invalid-midway": "fail"},
    # Boulder's directory always holds a random key (wfe2/wfe.go randomDirKeyExplanationLink),
    # so such a client never gets as far as an order.
    "strict_directory": {"unknown-fields": "fail", "happy-path": "fail"},
    "no_ari": {"renewal-info": "warn", "account-reused": "pass"},
    "no_replaces": {"renewal-info": "warn"},
    "new_account_each_run": {"account-reused": "warn"},
    # The terms change as the client's first order arrives. Not agreeing is fine when the
    # client shows where to agree (the problem's instance URL); exiting 0 or nagging is not.
    "refuse_new_terms": {"terms-changed": "pass"},
    "refuse_new_terms+quiet": {"terms-changed": "warn"},
    "refuse_new_terms+exit_zero": {"terms-changed": "fail"},
    "nag_terms": {"terms-changed": "fail"},
    "ignore_ari_window": {"renewal-info": "fail", "account-reused": "pass"},
    "one_chain_only": {"alternate-chains": "fail"},
}


@pytest.mark.parametrize("switch", list(BROKEN_MANNERS))
def test_a_broken_manner_fails_the_cases_that_watch_it(switch: str) -> None:
    expected = BROKEN_MANNERS[switch]
    card = run_battery(brokenclient.client(**dict.fromkeys(switch.split("+"), True)),
                       cases=list(expected), timeout=30, virtual_time=True)
    assert card.verdicts() == expected, _explain(card)
    for result in card.results:
        if result.verdict != "pass":
            # The evidence is the part of the conversation that decided it.
            assert result.evidence, result.id
            assert any(e.startswith("#") or e.startswith(("exit", "output"))
                       for e in result.evidence), result.evidence


@pytest.mark.parametrize(("switch", "polled", "asked"), [
    ("hammer", "authorization reads", "POST authorization (POST-as-GET) -> 200"),
    # POSTing the challenge again and again is polling too.
    ("hammer_challenge", "challenge POSTs", "POST challenge -> 200"),
])
def test_a_hammering_client_is_shown_with_its_reads(switch: str, polled: str,
                                                    asked: str) -> None:
    card = run_battery(brokenclient.client(**{switch: True}), cases=["authz-poll-rate"],
                       virtual_time=True)
    result = card.result("authz-poll-rate")
    assert result.reason.startswith("hammered: ")
    assert f" {polled} within one second (" in result.reason
    reads = [e for e in result.evidence if e.endswith(asked)]
    assert len(reads) >= 4


def _poller(first_wait: float, pause: float, watch: str) -> CallableClient:
    """A client that answers http-01, waits ``first_wait`` seconds, then reads ``watch`` (the
    challenge or the authorization) every ``pause`` seconds until it is no longer pending."""
    def poller(target: Target) -> None:
        client = MiniClient(target.directory_url, target.ca_bundle)
        client.register()
        ordered = client.post(client.directory["newOrder"],
                              {"identifiers": [{"type": "dns", "value": target.domain}]})
        order_url, order = ordered.headers["Location"], ordered.json()
        authz_url = order["authorizations"][0]
        chall = next(c for c in client.post(authz_url, None).json()["challenges"]
                     if c["type"] == "http-01")
        (target.challenge_dir / chall["token"]).write_text(
            f"{chall['token']}.{client.thumbprint}")
        client.post(chall["url"], {})
        target.sleep(first_wait)
        while client.post(chall["url"] if watch == "challenge" else authz_url,
                          None).json()["status"] == "pending":
            target.sleep(pause)
        done = client.post(order["finalize"], {"csr": client.csr([target.domain])})
        while done.json()["status"] == "processing":
            target.sleep(int(done.headers.get("Retry-After", "1")))
            done = client.post(order_url, None)
        client.post(done.json()["certificate"], None)

    return CallableClient(poller, f"poller {first_wait} {pause} {watch}", virtual_time=True)


@pytest.mark.parametrize(("client", "verdict", "reason"), [
    (_poller(0, 1, "challenge"), "pass",
     "polled at a sane pace: 4 challenge reads, 1.0 s, 1.0 s, 1.0 s apart"),
    (_poller(0, 0.5, "challenge"), "warn",
     "polled less than a second apart: 7 challenge reads, 0.5 s, 0.5 s, 0.5 s, 0.5 s, 0.5 s, "
     "0.5 s apart"),
    (_poller(4, 1, "authorization"), "pass",
     "made a single poll (1 authorization read), 4.0 s after the challenge POST: no pace to "
     "judge"),
], ids=["challenge-each-second", "challenge-twice-a-second", "one-read"])
def test_the_poll_rate_case_counts_every_poll_and_says_when_there_is_no_pace(
    client: CallableClient, verdict: str, reason: str
) -> None:
    card = run_battery(client, cases=["authz-poll-rate"])
    result = card.result("authz-poll-rate")
    assert (result.verdict, result.reason) == (verdict, reason), _explain(card)


@pytest.mark.parametrize(("switch", "case", "reason"), [
    ("nag_terms", "terms-changed",
     "asked for an order 4 more times without agreeing to the new terms"),
    ("refuse_new_terms+exit_zero", "terms-changed",
     "exited 0 without a certificate after userActionRequired"),
    ("refuse_new_terms", "terms-changed",
     "stopped (exit 1) and showed where to agree to the new terms"),
    ("ignore_ari_window", "renewal-info",
     "asked for renewal information, was told to renew now, and did not"),
    ("one_chain_only", "alternate-chains",
     "the certificate had an alternate chain, but the client exited 1"),
    ("fetch_alternates", "alternate-chains",
     "the certificate had an alternate chain: the client got its certificate; it fetched the "
     "alternate chain too"),
])
def test_the_terms_renewal_and_chain_cases_say_what_the_client_did(switch: str, case: str,
                                                                    reason: str) -> None:
    card = run_battery(brokenclient.client(**dict.fromkeys(switch.split("+"), True)),
                       cases=[case], virtual_time=True)
    assert card.result(case).reason == reason, _explain(card)


def test_retry_after_evidence_says_how_long_the_client_waited() -> None:
    card = run_battery(brokenclient.client(ignore_retry_after=True),
                       cases=["order-retry-after"], virtual_time=True)
    result = card.result("order-retry-after")
    assert result.reason == "ignored Retry-After: came back early after every one of 3 answers"
    assert any("s later, Retry-After asked 3 s" in e for e in result.evidence)


def _retrying(target: Target) -> int:
    """The good client, run again once when its first run fails (a cron job's next run)."""
    code = brokenclient.run(target, brokenclient.Switches())
    return code if code == 0 else brokenclient.run(target, brokenclient.Switches())


@pytest.mark.parametrize(("client", "verdict", "reason"), [
    (brokenclient.client(), "pass",
     "exited 1 naming the HTTP status (the next scheduled run tries again)"),
    (CallableClient(_retrying, "retrying"), "pass",
     "got past the proxy's HTML 502 and finished"),
    (brokenclient.client(quiet=True), "warn",
     "exited 1 without saying the server answered 502"),
    (brokenclient.client(exit_zero=True), "fail",
     "exited 0 without a certificate after the HTML 502"),
], ids=["names-the-status", "retries", "quiet", "exit-zero"])
def test_the_html_502_case_judges_what_the_client_did_with_the_page(
    client: Any, verdict: str, reason: str
) -> None:
    card = run_battery(client, cases=["html-502"], virtual_time=True)
    result = card.result("html-502")
    assert (result.verdict, result.reason) == (verdict, reason), _explain(card)
    # The page the client got: nginx's 502, no problem document, no nonce.
    assert "POST newOrder -> 502 !! injected: text/html answer, no problem document" in (
        result.transcript)


def test_stage_hooks_fire_once_and_are_removed(fake_acme: FakeACME) -> None:
    original = fake_acme.store.listener
    stage = Stage(fake_acme, "a.example")
    seen: list[str] = []
    stage.when_shown("account", "valid", seen.append)
    stage.before_request("newOrder", lambda: seen.append("newOrder"))
    client = MiniClient(fake_acme.directory_url, fake_acme.ca_bundle)
    client.register()
    for name in ("a.example", "b.example"):
        client.post(client.directory["newOrder"],
                    {"identifiers": [{"type": "dns", "value": name}]})
    assert seen == [fake_acme.accounts[0].id, "newOrder"]  # each once
    assert [o.status for o in fake_acme.orders] == ["pending", "pending"]  # nothing refused
    # A hook is no fault: the journal does not mark the request, and no fault is listed.
    assert [e.fault for e in fake_acme.journal.requests("newOrder")] == ["", ""]
    assert fake_acme.faults.active == []
    stage.undo()
    assert fake_acme.store.listener is original


def test_a_stage_hook_takes_no_faults_place(fake_acme: FakeACME) -> None:
    stage = Stage(fake_acme, "a.example")
    seen: list[str] = []
    stage.before_request("newOrder", lambda: seen.append("newOrder"))
    fake_acme.faults.html_error(502, endpoint="newOrder")
    client = MiniClient(fake_acme.directory_url, fake_acme.ca_bundle)
    client.register()
    answer = client.post(client.directory["newOrder"],
                         {"identifiers": [{"type": "dns", "value": "a.example"}]})
    assert (seen, answer.status) == (["newOrder"], 502)  # both, on the same request
    assert [e.fault for e in fake_acme.journal.requests("newOrder")] == [
        "html_error 502 endpoint=newOrder, 1 of 1"]
    stage.undo()


# The runner's environment, placeholders and timeout.

DUMP = ("import json, os, sys; json.dump({'argv': sys.argv[1:], 'env': dict(os.environ)}, "
        "open(os.path.join(os.environ['FAKE_ACME_WORKDIR'], 'seen.json'), 'w')); sys.exit(3)")


def test_a_command_gets_the_target_as_variables_and_placeholders(tmp_path: Path) -> None:
    client = CommandClient("dump", (sys.executable, "-c", DUMP, "{directory}", "{domain}",
                                    "{http01_port}", "{challenge_dir}", "{unknown}", "{run}"))
    card = run_battery(client, cases=["invalid-caa"], workdir=tmp_path)
    seen = json.loads((tmp_path / "invalid-caa" / "seen.json").read_text())
    env = seen["env"]
    assert seen["argv"] == [env["FAKE_ACME_DIRECTORY_URL"], "invalid-caa.example",
                            env["FAKE_ACME_HTTP01_PORT"], env["FAKE_ACME_CHALLENGE_DIR"],
                            "{unknown}", "1"]
    assert env["FAKE_ACME_DOMAIN"] == "invalid-caa.example"
    assert env["FAKE_ACME_WEBROOT"] == str(tmp_path / "invalid-caa" / "webroot")
    assert env["FAKE_ACME_CHALLENGE_DIR"] == env["FAKE_ACME_WEBROOT"] + \
        "/.well-known/acme-challenge"
    assert env["FAKE_ACME_DIRECTORY_URL"].startswith("https://127.0.0.1:")
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE",
                 "LEGO_CA_CERTIFICATES"):
        assert env[name] == env["FAKE_ACME_CA_BUNDLE"]
    assert "SSL_CERT_DIR" not in env
    result = card.result("invalid-caa")
    assert (result.verdict, result.runs[0].returncode) == ("fail", 3)
    assert result.reason == "the client never asked for the validation"


def test_a_run_is_stopped_at_the_timeout_with_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    script = f"sleep 30 & echo $! > {pid_file}; wait"
    card = run_battery(CommandClient("sleeper", ("sh", "-c", script)), cases=["happy-path"],
                       timeout=1)
    result = card.result("happy-path")
    assert result.verdict == "fail"
    assert result.reason == "the client was still running at the timeout"
    assert result.runs[0].timed_out
    assert result.runs[0].seconds < 30  # stopped, not waited for
    # The whole process group was stopped: the shell's child too (gone, or a zombie that
    # nothing has reaped yet).
    stat = Path(f"/proc/{int(pid_file.read_text())}/stat")
    assert not stat.exists() or stat.read_text().split(") ")[1].startswith("Z")


def test_http01_auto_follows_the_placeholders() -> None:
    assert http01_mode(["lego", "--http.port", "127.0.0.1:{http01_port}"], "auto") == \
        "standalone"
    assert http01_mode(["certbot", "--webroot", "-w", "{webroot}"], "auto") == "webroot"
    assert http01_mode(["./my-client"], "auto") == "webroot"
    assert http01_mode(["lego", "{http01_port}"], "webroot") == "webroot"


def test_a_python_client_that_raises_fails_with_its_traceback() -> None:
    def crashes(target: object) -> None:
        raise RuntimeError("the client broke")

    card = run_battery(CallableClient(crashes, "crashes"), cases=["happy-path"])
    result = card.result("happy-path")
    assert (result.verdict, result.runs[0].returncode) == ("fail", 1)
    assert "RuntimeError: the client broke" in result.runs[0].output


# The command line and its reports.

def _conformance(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "pytest_fakeacme", "conformance", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
                          check=False)


def test_the_command_line_scores_a_client_and_writes_the_reports(tmp_path: Path) -> None:
    paths = {kind: tmp_path / f"report.{kind}" for kind in ("json", "html", "xml")}
    done = _conformance("--case", "invalid-http-404", "--case", "happy-path", "--name",
                        "brokenclient --exit-zero", "--json", str(paths["json"]), "--html",
                        str(paths["html"]), "--junit-xml", str(paths["xml"]), "--", *BROKEN,
                        "--exit-zero")
    assert done.returncode == 1, done.stdout + done.stderr
    # Named as --name says, not after the program that runs it (python).
    assert done.stdout.startswith("pytest-fakeacme conformance: brokenclient --exit-zero, 2 "
                                  "cases\n")
    assert "FAIL     invalid-http-404" in done.stdout
    assert "PASS     happy-path" in done.stdout
    assert "brokenclient --exit-zero: 1 passed, 0 warned, 1 failed of 2 cases in" in done.stdout

    report = json.loads(paths["json"].read_text())
    assert report["client"] == "brokenclient --exit-zero"
    assert [(c["id"], c["verdict"]) for c in report["cases"]] == [
        ("happy-path", "pass"), ("invalid-http-404", "fail")]
    for case in report["cases"]:
        assert {"id", "title", "verdict", "evidence", "source"} <= set(case)
        assert case["evidence"]
        assert case["source"]
    assert report["ok"] is False

    suite = ElementTree.parse(paths["xml"]).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    assert suite.get("name") == "pytest-fakeacme conformance: brokenclient --exit-zero"
    failed = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert failed == ["invalid-http-404"]

    page = paths["html"].read_text()
    assert page.index('id="invalid-http-404"') < page.index('id="happy-path"')  # worst first
    assert page.count("<svg") == 2
    assert "<h1>ACME conformance: brokenclient --exit-zero</h1>" in page


def test_exit_status_zero_when_nothing_fails() -> None:
    done = _conformance("--case", "happy-path", "--", *BROKEN)
    assert done.returncode == 0, done.stdout + done.stderr
    # Without --name, a command is named after its program.
    assert "\npython: 1 passed, 0 warned, 0 failed of 1 cases" in done.stdout


def test_cases_judged_on_one_conversation_show_its_time_once() -> None:
    manners = ["post-as-get", "nonce-reuse", "nonce-economy", "happy-path"]
    card = run_battery(brokenclient.client(), cases=manners, virtual_time=True)
    rows = {line.split()[1]: line.split()[2] for line in
            reports.table(card, width=160).splitlines()[1:-1]}
    first = card.result("post-as-get")
    assert rows == {"happy-path": f"{card.result('happy-path').seconds:.1f}s",
                    "post-as-get": f"{first.seconds:.1f}s", "nonce-reuse": "shared",
                    "nonce-economy": "shared"}
    assert [r.time_shared_with for r in card.results] == ["", "", "post-as-get",
                                                          "post-as-get"]
    # JUnit: the runs' time is counted once, on the first case judged on them.
    suite = ElementTree.fromstring(reports.junit_xml(card)).find("testsuite")
    assert suite is not None
    times = {c.get("name"): c.get("time") for c in suite.iter("testcase")}
    assert times["post-as-get"] == f"{first.seconds:.3f}"
    assert times["nonce-reuse"] == times["nonce-economy"] == "0.000"
    assert "shared: the same runs as <code>post-as-get</code>" in reports.page_html(card)


def test_a_skipped_case_counts_against_exit_0_unless_skips_are_allowed(tmp_path: Path) -> None:
    # A dns-01-only client meets a scripted http-01 outcome: the fake refuses the script.
    report = tmp_path / "report.json"
    done = _conformance("--case", "invalid-http-404", "--json", str(report), "--", *BROKEN,
                        "--dns01")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "SKIP     invalid-http-404" in done.stdout
    assert "0 passed, 0 warned, 0 failed, 1 skipped of 1 cases" in done.stdout
    assert "exit status 1: a case was skipped (--allow-skips accepts skips" in done.stdout
    assert json.loads(report.read_text())["ok"] is False

    allowed = _conformance("--allow-skips", "--case", "invalid-http-404", "--json", str(report),
                           "--", *BROKEN, "--dns01")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "exit status 1" not in allowed.stdout
    assert json.loads(report.read_text())["ok"] is True
    # Allowed skips do not excuse a failure: its validation cannot pass without a record.
    failing = _conformance("--allow-skips", "--case", "invalid-http-404", "--case",
                           "happy-path", "--", *BROKEN, "--dns01")
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert "0 passed, 0 warned, 1 failed, 1 skipped of 2 cases" in failing.stdout


def test_the_python_scorecard_counts_a_skip_as_the_command_line_does() -> None:
    dns_only = brokenclient.client(dns01=True)
    card = run_battery(dns_only, cases=["invalid-wrong-body"], virtual_time=True)
    assert card.verdicts() == {"invalid-wrong-body": "skip"}
    assert "cannot apply to the dns-01 challenge" in card.result("invalid-wrong-body").reason
    assert not card.ok
    assert "no case failed, but some were skipped" in reports.page_html(card)
    allowed = run_battery(dns_only, cases=["invalid-wrong-body"], virtual_time=True,
                          allow_skips=True)
    assert allowed.verdicts() == {"invalid-wrong-body": "skip"}
    assert allowed.ok
    assert allowed.to_json()["ok"] is True
    assert "no case failed." in reports.page_html(allowed)


def test_usage_errors_exit_2_and_list_shows_the_cases() -> None:
    assert _conformance("--case", "happy-path").returncode == 2
    wrong = _conformance("--case", "no-such-case", "--", "true")
    assert wrong.returncode == 2
    assert "unknown case(s) ['no-such-case']" in wrong.stderr
    listed = _conformance("--list")
    assert listed.returncode == 0
    assert [line.split()[0] for line in listed.stdout.splitlines()[::2]] == [
        c.id for c in CASES]


def test_a_workdir_with_anything_in_it_is_refused(tmp_path: Path) -> None:
    work = tmp_path / "work"  # a new directory is fine: the runner makes it
    first = _conformance("--case", "happy-path", "--workdir", str(work), "--", *BROKEN)
    assert first.returncode == 0, first.stdout + first.stderr
    assert (work / "happy-path" / "cert.pem").exists()  # the client's state, kept there
    # Run again into it, and the client would renew the kept certificate instead of being
    # judged on a first issuance: refused before anything runs.
    again = _conformance("--case", "happy-path", "--workdir", str(work), "--", *BROKEN)
    assert again.returncode == 2
    assert again.stderr.startswith(f"pytest-fakeacme conformance: workdir {work} is not empty")
    assert again.stdout == ""
    good = CallableClient(brokenclient.client(), "good", virtual_time=True)
    with pytest.raises(FakeACMEUsageError, match="is not empty"):
        Battery(good, workdir=work)
    with pytest.raises(FakeACMEUsageError, match="is not a directory"):
        Battery(good, workdir=work / "happy-path" / "cert.pem")
    card = Battery(good, cases=["happy-path"], workdir=tmp_path / "new").run()
    assert card.verdicts() == {"happy-path": "pass"}, _explain(card)
    assert (tmp_path / "new" / "happy-path" / "cert.pem").exists()


def test_the_junit_report_marks_skips_and_keeps_warnings_as_passes() -> None:
    # A quiet dns-01-only client: NXDOMAIN fails its dns-01 validation too (a warning, since
    # it does not show the detail); the scripted wrong http-01 body cannot apply (a skip).
    card = run_battery(brokenclient.client(quiet=True, dns01=True),
                       cases=["invalid-dns", "invalid-wrong-body"], virtual_time=True)
    assert card.verdicts() == {"invalid-dns": "warn", "invalid-wrong-body": "skip"}
    suite = ElementTree.fromstring(reports.junit_xml(card)).find("testsuite")
    assert suite is not None
    dns = next(c for c in suite.iter("testcase") if c.get("name") == "invalid-dns")
    assert dns.find("failure") is None
    out = dns.find("system-out")
    assert out is not None
    assert (out.text or "").startswith("warn: ")
    assert dns.find("skipped") is None
    skipped = next(c for c in suite.iter("testcase") if c.get("name") == "invalid-wrong-body")
    assert skipped.find("skipped") is not None
    assert suite.get("skipped") == "1"


def test_a_python_client_past_its_timeout_does_not_reach_the_next_case() -> None:
    import threading

    release, stray_done = threading.Event(), threading.Event()
    stray: list[str] = []

    def stuck_once(target: Target) -> int | None:
        if not release.is_set() and not stray:
            stray.append("stuck")
            release.wait(30)  # outlives its timeout, then talks to the fake it was given
            try:
                MiniClient(target.directory_url, target.ca_bundle)
                stray.append("reached the fake")
            except OSError as exc:
                stray.append(type(exc).__name__)
            finally:
                stray_done.set()
            return 0
        if not release.is_set():
            release.set()  # the next case is under way: let the stray client try now
            stray_done.wait(30)
        return brokenclient.run(target, brokenclient.Switches())

    card = Battery(CallableClient(stuck_once, "stuck", virtual_time=True),
                   cases=["happy-path", "renewal-info"], timeout=2).run()
    assert card.verdicts() == {"happy-path": "fail", "renewal-info": "pass"}, _explain(card)
    assert card.result("happy-path").reason == "the client was still running at the timeout"
    # The stuck client's fake was stopped: its late request reached nothing.
    assert stray[0] == "stuck"
    assert stray[1] != "reached the fake"
    directory_reads = [line for line in card.result("renewal-info").transcript.splitlines()
                       if "GET  directory" in line]
    assert len(directory_reads) == 2  # its own two runs, nothing else


def test_a_domain_with_502_in_it_is_not_the_client_naming_the_status() -> None:

    def terse(target: Target) -> int:
        brokenclient.run(target, brokenclient.Switches(quiet=True))
        print(f"no certificate for {target.domain} in {target.workdir}")
        return 1

    card = run_battery(CallableClient(terse, "terse"), cases=["html-502"])
    result = card.result("html-502")
    assert (result.verdict, result.reason) == (
        "warn", "exited 1 without saying the server answered 502")


# The scorecards on docs/conformance.md, regenerated for one client.

PAGE = ROOT / "docs" / "conformance.md"


def _scored_as(preset: str, version: str) -> Scorecard:
    """A whole battery's scorecard (the test client's, quiet so that some cases warn), under
    a preset's name."""
    card = run_battery(CallableClient(brokenclient.client(quiet=True), preset,
                                      virtual_time=True))
    card.version = version
    return card


def test_a_single_client_run_replaces_its_column_and_keeps_the_others() -> None:
    page = PAGE.read_text(encoding="utf-8")
    before = scorecards.read_columns(page)
    assert scorecards.render(before) == scorecards.section(page)  # read back as written
    card = _scored_as("lego", "9.9.9")
    merged = scorecards.replace_section(page, scorecards.render(scorecards.merge(before,
                                                                                 [card])))
    after = scorecards.read_columns(merged)
    assert [c.head for c in after] == [
        "lego 9.9.9" if c.preset == "lego" else c.head for c in before]
    for old, new in zip(before, after, strict=True):
        if old.preset != "lego":
            assert new == old  # verdicts, totals, time and reasons as the page had them
    lego = next(c for c in after if c.preset == "lego")
    assert lego.verdicts == card.verdicts()
    assert lego.totals == "{pass} / {warn} / {fail} / {skip}".format(**card.counts())
    assert lego.notes == tuple(f"- `{r.id}` ({r.verdict}): {r.reason}"
                               for r in card.results if r.verdict != "pass")
    assert "warn" in lego.verdicts.values()
    # Outside the scorecards the page is unchanged.
    assert merged.split(scorecards.BEGIN)[0] == page.split(scorecards.BEGIN)[0]


def test_a_client_new_to_the_page_takes_its_presets_place() -> None:
    page = PAGE.read_text(encoding="utf-8")
    without = [c for c in scorecards.read_columns(page) if c.preset != "acme-tiny"]
    assert [c.preset for c in without] == ["certbot", "certbot-webroot", "lego", "dehydrated"]
    merged = scorecards.merge(without, [_scored_as("acme-tiny", "5.0.3")])
    assert [c.preset for c in merged] == ["certbot", "certbot-webroot", "lego", "acme-tiny",
                                          "dehydrated"]


def test_columns_made_for_other_cases_are_not_merged(tmp_path: Path) -> None:
    # A page from before happy-path was a case: its columns cannot stand beside a new one.
    page = PAGE.read_text(encoding="utf-8")
    old = "\n".join(line for line in page.splitlines()
                    if not line.startswith("| `happy-path` |")) + "\n"
    stale = scorecards.read_columns(old)
    with pytest.raises(ValueError, match=r"scorecard of certbot \S+ was made for other cases"):
        scorecards.merge(stale, [_scored_as("lego", "9.9.9")])
    # The command line refuses before it runs anything, and leaves the page alone.
    copy = tmp_path / "conformance.md"
    copy.write_text(old, encoding="utf-8")
    assert scorecards.main([str(copy), "--client", "lego"]) == 2
    assert copy.read_text(encoding="utf-8") == old
