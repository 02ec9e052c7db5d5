"""A scripted outcome reads exactly as the real VA's finding for that responder behaviour.

Each case runs a REAL http-01 validation of ``real.example`` against a loopback responder
behaving badly, then the SCRIPTED outcome of the same name for ``scripted.example``, and
compares what the client sees: the challenge error (type, status, detail) and, where the
attempt took the same path, the validation records, identical once the token and the name are
substituted. Where a URL in the detail is the responder's choice (a redirect target), the
scripted outcome is given the same one with ``url=`` / ``to=``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from client import AcmeTestClient, Info, validate
from pytest_fakeacme import FakeACME, Outcome, outcomes
from responder import Behaviour, Responder, alert_context, unused_port

REAL, SCRIPTED = "real.example", "scripted.example"


def normalised(value: Any, info: Info) -> Any:
    text = json.dumps(value).replace(info.token, "<token>").replace(info.name, "<name>")
    return json.loads(text)


@dataclass(frozen=True)
class Case:
    id: str
    responder: Callable[[Responder, Info], None]
    scripted: Callable[[Info], Outcome]
    #: Whether the real and the scripted attempt leave the same records (not by design when
    #: the responder's redirects took a path the scripted outcome does not describe).
    same_records: bool = True
    #: How many records the real and the scripted attempt leave.
    records: tuple[int, int] = (1, 1)
    #: The real VA's deadline, when the case needs a short one (a stalled responder).
    timeout: float | None = None


def _set(behaviour: Behaviour) -> Callable[[Responder, Info], None]:
    return lambda r, i: r.set(i.path, behaviour)


def _redirect(
    target: Callable[[Info], str], status: int = 302
) -> Callable[[Responder, Info], None]:
    return lambda r, i: r.redirect(i.path, target(i), status)


def _chain(r: Responder, i: Info) -> None:
    r.redirect_chain(i.path, i.base, hops=12)


def _redirect_then_404(r: Responder, i: Info) -> None:
    r.redirect(i.path, i.base + "/moved")
    r.set("/moved", Behaviour(status=404))


CASES = [
    Case("404", _set(Behaviour(status=404, body=b"gone")), lambda i: outcomes.http_status(404)),
    Case("502", _set(Behaviour(status=502)), lambda i: outcomes.http_status(502)),
    Case("wrong-body", _set(Behaviour(body=b" not it \r\n")),
         lambda i: outcomes.wrong_body(" not it \r\n")),
    Case("body-too-large", _set(Behaviour(body=b"<p>" + b"y" * 300)),
         lambda i: outcomes.body_too_large(b"<p>" + b"y" * 300)),
    Case("stalled", _set(Behaviour(stall=True)), lambda i: outcomes.read_timeout(),
         timeout=0.3),
    Case("reset", _set(Behaviour(reset=True)), lambda i: outcomes.connection_reset()),
    Case("404-after-redirect", _redirect_then_404,
         lambda i: outcomes.http_status(404, url=i.base + "/moved"), same_records=False,
         records=(2, 1)),
    # The responder redirects to the challenge URL itself (one fetch); the scripted default
    # describes a loop through one other URL (two).
    Case("redirect-loop", _redirect(lambda i: i.url), lambda i: outcomes.redirect_loop(),
         same_records=False, records=(1, 2)),
    Case("too-many-redirects", _chain,
         lambda i: outcomes.too_many_redirects(url=i.base + "/hop/12"),
         same_records=False, records=(12, 12)),
    Case("bad-redirect-status-303", _redirect(lambda i: i.url, status=303),
         lambda i: outcomes.bad_redirect("status")),
    Case("bad-redirect-port", _redirect(lambda i: f"http://{i.name}:8080{i.path}"),
         lambda i: outcomes.bad_redirect("port")),
    Case("bad-redirect-scheme", _redirect(lambda i: f"gopher://{i.name}{i.path}"),
         lambda i: outcomes.bad_redirect("scheme")),
    Case("bad-redirect-empty-host", _redirect(lambda i: f"http://{i.path}"),
         lambda i: outcomes.bad_redirect("empty_host")),
    Case("bad-redirect-well-known-host",
         _redirect(lambda i: f"http://{i.name}.well-known/acme-challenge/{i.token}"),
         lambda i: outcomes.bad_redirect("well_known_host")),
    Case("bad-redirect-tld", _redirect(lambda i: f"http://invalid.invalid{i.path}"),
         lambda i: outcomes.bad_redirect("tld")),
    Case("bad-redirect-reserved-ip", _redirect(lambda i: f"http://10.0.0.1{i.path}"),
         lambda i: outcomes.bad_redirect("reserved_ip")),
    Case("bad-redirect-too-long", _redirect(lambda i: f"http://{i.name}/" + "a" * 2001),
         lambda i: outcomes.bad_redirect("too_long")),
    Case("bad-redirect-relative-303", _redirect(lambda i: "/elsewhere", status=303),
         lambda i: outcomes.bad_redirect("status", to=i.base + "/elsewhere", url="/elsewhere")),
]


def compare(
    fake: FakeACME,
    client: AcmeTestClient,
    real_setup: Callable[[Info], None],
    scripted: Callable[[Info], Outcome],
) -> tuple[Any, Any, Any, Any]:
    real = validate(fake, client, REAL, setup=real_setup)
    real.invalid()
    script = validate(fake, client, SCRIPTED, outcome=scripted)
    script.invalid()
    return (
        normalised(real.challenge["error"], real.info),
        normalised(script.challenge["error"], script.info),
        normalised(real.challenge.get("validationRecord"), real.info),
        normalised(script.challenge.get("validationRecord"), script.info),
    )


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_scripted_outcome_reads_as_the_real_finding(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder, case: Case
) -> None:
    if case.timeout is not None:
        # The responder stalls on an Event, released at teardown; reset() restores the timeout.
        fake_acme.va.timeout = case.timeout

    real_error, scripted_error, real_records, scripted_records = compare(
        fake_acme, acme_client, lambda i: case.responder(responder, i), case.scripted
    )

    assert scripted_error == real_error
    assert real_error["status"] in (400, 403)
    assert (len(real_records), len(scripted_records)) == case.records
    if case.same_records:
        assert scripted_records == real_records


def test_connection_refused(fake_acme: FakeACME, acme_client: AcmeTestClient) -> None:
    fake_acme.http01_port = unused_port()  # nothing listens there

    real_error, scripted_error, real_records, scripted_records = compare(
        fake_acme, acme_client, lambda i: None, lambda i: outcomes.connection_refused()
    )

    assert scripted_error == real_error == {
        "type": "urn:ietf:params:acme:error:connection",
        "detail": f"127.0.0.1: Fetching http://<name>:{fake_acme.http01_port}"
                  "/.well-known/acme-challenge/<token>: Connection refused",
        "status": 400,
    }
    assert scripted_records == real_records


def test_tls_alert_after_a_redirect_to_https(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    with Responder(0, tls=alert_context()) as https:
        fake_acme.va.https_port = https.port  # the fake's stand-in for 443

        real_error, scripted_error, real_records, scripted_records = compare(
            fake_acme, acme_client,
            lambda i: responder.redirect(i.path, f"https://{i.name}{i.path}"),
            lambda i: outcomes.tls_alert(),
        )

    assert scripted_error == real_error == {
        "type": "urn:ietf:params:acme:error:tls",
        "detail": "127.0.0.1: Fetching https://<name>/.well-known/acme-challenge/<token>: "
                  "remote error: tls: handshake failure",
        "status": 400,
    }
    assert scripted_records == real_records
    assert [r["port"] for r in real_records] == [str(fake_acme.http01_port), "443"]
