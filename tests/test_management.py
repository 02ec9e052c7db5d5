"""The management API, its JSON forms, challtestsrv compatibility and the ``serve`` command."""

from __future__ import annotations

import datetime
import json
import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from acme import challenges, errors
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from client import AcmeTestClient
from pytest_fakeacme import FakeACME, outcomes
from pytest_fakeacme.jsonforms import outcome_from_json, outcome_to_json
from pytest_fakeacme.management import PlainServer
from pytest_fakeacme.renewal import cert_id

EXAMPLES = [
    outcomes.valid(), outcomes.real(), outcomes.http_status(404), outcomes.wrong_body("x"),
    outcomes.body_too_large(b"\xff" * 130), outcomes.connect_timeout(), outcomes.read_timeout(),
    outcomes.connection_refused(), outcomes.connection_reset(), outcomes.redirect_loop(),
    outcomes.too_many_redirects(), outcomes.bad_redirect("port"), outcomes.tls_alert(),
    outcomes.dns_nxdomain(), outcomes.dns_servfail(), outcomes.dns_timeout(),
    outcomes.no_addresses(), outcomes.txt_missing(), outcomes.txt_wrong("a", "b"),
    outcomes.persist_txt("fake-acme.test; accounturi=x", "other"),
    outcomes.alpn_bad_cert("wrong_san"), outcomes.caa_forbids(),
    outcomes.secondary_fails(outcomes.http_status(500)), outcomes.va_unreachable(),
    outcomes.problem("rejectedIdentifier", "no", 400), outcomes.valid().after(polls=2, seconds=5),
]


@pytest.mark.parametrize("outcome", EXAMPLES, ids=repr)
def test_outcomes_round_trip_through_json(outcome: outcomes.Outcome) -> None:
    data = json.loads(json.dumps(outcome_to_json(outcome)))
    back = outcome_from_json(data)
    assert outcome_to_json(back) == outcome_to_json(outcome)
    assert (back.kind, back.challenge_types, back.delay_polls, back.delay) == (
        outcome.kind, outcome.challenge_types, outcome.delay_polls, outcome.delay)
    if outcome.kind != "problem":  # problems compare by identity; their JSON matched above
        assert back == outcome


def test_every_constructor_has_a_round_trip_example() -> None:
    assert {o.kind for o in EXAMPLES} == set(outcomes.CONSTRUCTORS)


class Mgmt:
    """A plain HTTP client for the management API."""

    def __init__(self, url: str, verify: str | bool) -> None:
        self.url, self.verify = url, verify

    def get(self, path: str, **params: str) -> requests.Response:
        return requests.get(self.url + path, params=params, verify=self.verify, timeout=10)

    def post(self, path: str, body: Any = None) -> requests.Response:
        return requests.post(self.url + path, json=body if body is not None else {},
                             verify=self.verify, timeout=10)


@pytest.fixture
def mgmt(fake_acme: FakeACME) -> Mgmt:
    return Mgmt(fake_acme.management_url, fake_acme.ca_bundle)


def test_index_and_state(fake_acme: FakeACME, mgmt: Mgmt, acme_client: AcmeTestClient) -> None:
    index = mgmt.get("/").json()
    assert index["directory"] == fake_acme.directory_url
    assert "POST /va/script" in index["endpoints"]
    fake_acme.va.default = outcomes.valid()
    acme_client.issue("a.example")
    state = mgmt.get("/state").json()
    assert [o["status"] for o in state["orders"]] == ["valid"]
    assert state["certificates"][0]["names"] == ["a.example"]
    assert state["certificates"][0]["pem"].startswith("-----BEGIN CERTIFICATE-----")
    assert state["orders"][0]["authorizations"][0]["challenges"][0]["status"] == "valid"
    entries = mgmt.get("/journal").json()["entries"]
    assert any(e.get("endpoint") == "finalize" for e in entries)
    assert "POST finalize -> 200" in mgmt.get("/transcript").text


def test_the_journal_over_the_api_has_faults_and_failed_handshakes(
    fake_acme: FakeACME, mgmt: Mgmt
) -> None:
    fake_acme.faults.server_error(endpoint="directory")
    assert requests.get(fake_acme.directory_url, verify=fake_acme.ca_bundle,
                        timeout=10).status_code == 500
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(fake_acme.directory_url, timeout=10)  # the system's roots
    fake_acme.journal.wait_until_quiet()
    request, handshake = mgmt.get("/journal").json()["entries"][:2]
    assert (request["kind"], request["fault"]) == (
        "request", "server_error endpoint=directory, 1 of 1")
    assert handshake["kind"] == "handshake"
    assert (handshake["alert"], handshake["untrusted"]) == ("unknown ca", True)
    assert handshake["peer"].startswith("127.0.0.1:")
    assert "does not trust the fake's certificate" in handshake["detail"]


def test_scripting_through_the_api_is_the_python_api(
    fake_acme: FakeACME, mgmt: Mgmt, acme_client: AcmeTestClient
) -> None:
    answer = mgmt.post("/va/script", {"identifier": "a.example", "outcomes": [
        {"kind": "http_status", "params": {"code": 404}}, "valid"]})
    assert answer.status_code == 200
    assert fake_acme.va.scripted() == {"a.example": [outcomes.http_status(404), outcomes.valid()]}
    assert mgmt.post("/va/default", {"outcome": "valid"}).json()["default"] == {
        "kind": "valid", "params": {}}
    assert fake_acme.va.default == outcomes.valid()
    order = acme_client.new_order("a.example")
    acme_client.answer_http01(order)
    with pytest.raises(errors.ValidationError):
        acme_client.poll_authorizations(order)
    assert mgmt.post("/va/clear").json()["scripted"] == {}


@pytest.mark.parametrize(
    ("path", "body", "needle"),
    [
        ("/va/script", {"identifier": "a.example", "outcomes": [{"kind": "nope"}]},
         "unknown outcome kind"),
        ("/va/script", {"identifier": "a.example", "outcomes": [
            {"kind": "http_status", "params": {"code": "404"}}]}, "HTTP status code"),
        ("/va/script", {"identifier": "a.example"}, "missing field 'outcomes'"),
        ("/va/script", {"identifier": 7, "outcomes": ["valid"]}, "wrong type"),
        ("/va/script", {"identifier": "a.example", "outcomes": ["valid", "bogus"]},
         "unknown outcome kind"),
        ("/va/default", {"outcome": {"kind": "valid", "extra": 1}}, "unknown outcome field"),
        ("/faults", {"spec": "explode"}, "unknown fault"),
        ("/faults", {"spec": "bad_nonce endpoint=nowhere"}, "unknown endpoint"),
        ("/faults", {"problem": {"type": "nonsense", "detail": "x"}}, "unknown ACME problem"),
        ("/clock/advance", {"fortnights": 1}, "unknown unit"),
        ("/clock/advance", {"days": "1"}, "must be a number"),
        ("/clock/freeze", {"at": "yesterday"}, "ISO 8601"),
        ("/dns/a", {"name": "a.example", "ip": "192.0.2.300"}, "is not an IP address"),
        ("/dns/caa", {"name": "a.example", "flags": "0", "tag": "issue", "value": "x"},
         "wrong type"),
        ("/dns/fail", {"name": "a.example", "how": "sometimes"}, "unknown DNS failure"),
        ("/settings", {"flavor": "pebble"}, "unknown flavor"),
        ("/settings", {"colour": "blue"}, "unknown setting"),
        ("/eab", {"kid": "k", "key": "c2hvcnQ"}, "16 bytes"),
    ],
)
def test_bad_input_is_a_clear_json_error_and_changes_nothing(
    fake_acme: FakeACME, mgmt: Mgmt, path: str, body: Any, needle: str
) -> None:
    before = (fake_acme.va.scripted(), fake_acme.va.default, len(fake_acme.faults.active),
              fake_acme.flavor)
    answer = mgmt.post(path, body)
    assert answer.status_code == 400
    assert needle in answer.json()["error"]
    assert (fake_acme.va.scripted(), fake_acme.va.default, len(fake_acme.faults.active),
            fake_acme.flavor) == before
    assert fake_acme.dns.lookup_addresses("a.example") == ([], ["127.0.0.1"])


def test_not_json_and_unknown_endpoints(mgmt: Mgmt) -> None:
    answer = requests.post(mgmt.url + "/va/script", data=b"{", verify=mgmt.verify, timeout=10)
    assert (answer.status_code, answer.json()["error"]) == (400, "the request body is not JSON")
    assert mgmt.get("/nowhere").status_code == 404
    assert mgmt.get("/reset").status_code == 405


def test_faults_clock_dns_terms_eab_settings_and_reset(fake_acme: FakeACME, mgmt: Mgmt) -> None:
    assert mgmt.post("/faults", {"spec": "bad_nonce endpoint=newOrder times=2"}).json()[
        "faults"][0]["times"] == 2
    mgmt.post("/faults", {"problem": {"type": "unauthorized", "detail": "no", "status": 403},
                          "endpoint": "newOrder"})
    assert len(mgmt.get("/faults").json()["faults"]) == 2
    assert mgmt.post("/faults/clear").json()["faults"] == []
    frozen = mgmt.post("/clock/freeze", {"at": "2030-01-01T00:00:00Z"}).json()
    assert frozen == {"now": "2030-01-01T00:00:00+00:00", "frozen": True}
    assert mgmt.post("/clock/advance", {"days": 1, "hours": 2}).json()["now"] == (
        "2030-01-02T02:00:00+00:00")
    assert mgmt.post("/clock/unfreeze").json()["frozen"] is False
    mgmt.post("/dns/a", {"name": "a.example", "ip": "127.0.0.2"})
    mgmt.post("/dns/aaaa", {"name": "a.example", "ip": "::1"})
    mgmt.post("/dns/txt", {"name": "_acme-challenge.a.example", "value": "v"})
    mgmt.post("/dns/caa", {"name": "a.example", "flags": 0, "tag": "issue", "value": "x"})
    mgmt.post("/dns/cname", {"name": "www.a.example", "target": "a.example"})
    mgmt.post("/dns/fail", {"name": "b.example", "how": "servfail"})
    dns = fake_acme.dns
    assert dns.lookup_addresses("www.a.example") == (["::1"], ["127.0.0.2"])
    assert dns.lookup_txt("_acme-challenge.a.example") == ["v"]
    assert dns.lookup_caa("a.example")[0].value == "x"
    assert dns.failure("b.example") == "servfail"
    mgmt.post("/dns/txt/remove", {"name": "_acme-challenge.a.example"})
    assert dns.lookup_txt("_acme-challenge.a.example") == []
    assert mgmt.post("/terms/change").json() == {"version": 2}
    kid = mgmt.post("/eab", {}).json()["kid"]
    assert kid.startswith("kid-")
    assert mgmt.post("/settings", {"flavor": "rfc"}).json() == {"flavor": "rfc"}
    mgmt.post("/settings", {"strict_identifiers": True})
    assert fake_acme.settings.strict_identifiers is True
    mgmt.post("/reset")
    assert fake_acme.flavor == "boulder"
    assert fake_acme.settings.copy().strict_identifiers is False  # a copy: mypy narrowed it
    assert fake_acme.terms.version == 1
    assert dns.lookup_txt("_acme-challenge.a.example") == []


# Renewal information and CRLs


@pytest.mark.fake_acme(va_default="valid")
def test_a_mass_revocation_drill_through_the_api(
    fake_acme: FakeACME, mgmt: Mgmt, acme_client: AcmeTestClient
) -> None:
    order = acme_client.issue("a.example")
    old = cert_id(x509.load_pem_x509_certificate(order.fullchain_pem.encode()))
    assert mgmt.get("/ari/drill").json() == {
        "error": "no mass revocation drill since the last reset: start one with "
                 "POST /ari/mass-revocation"}
    assert mgmt.get("/ari/drill").status_code == 409
    fake_acme.clock.freeze()
    started = fake_acme.clock.now()
    answer = mgmt.post("/ari/mass-revocation", {"revoke_after": 3600, "reason": 4})
    assert answer.status_code == 200
    revoke_at = started + datetime.timedelta(hours=1)
    expected = {"started": started.isoformat(), "revoke_at": revoke_at.isoformat(),
                "reason": 4, "revoked": False, "certificates": [old],
                "fetched_renewal_info": [], "renewed": [], "sent_replaces": [], "missed": [old]}
    assert answer.json() == expected
    [drill] = fake_acme.ari.drills
    assert (drill.certificates, drill.reason) == ((old,), 4)
    renewal_info = acme_client.directory["renewalInfo"]
    assert requests.get(f"{renewal_info}/{old}", verify=fake_acme.ca_bundle,
                        timeout=10).status_code == 200
    acme_client.issue("a.example")
    assert mgmt.get("/ari/drill").json() == expected | {
        "fetched_renewal_info": [old], "renewed": [old], "missed": []}
    fake_acme.clock.advance(hours=1)
    assert mgmt.get("/ari/drill").json()["revoked"] is True
    assert [c.revoked for c in fake_acme.certificates] == [True, False]


@pytest.mark.parametrize(("body", "error"), [
    ({"revoke_after": -5}, "revoke_after takes seconds from 0 to 3153600000, e.g. 21600 for "
                           "six hours, not -5"),
    ({"revoke_after": True}, "revoke_after takes seconds from 0 to 3153600000, e.g. 21600 "
                             "for six hours, not True"),
    ({"revoke_after": 1e300}, "revoke_after takes seconds from 0 to 3153600000, e.g. 21600 "
                              "for six hours, not 1e+300"),
    ({"revoke_after": "6h"}, "field 'revoke_after' has the wrong type: '6h'"),
    ({"reason": 7}, "reason takes a revocation reason code Let's Encrypt revokes with: 0 "
                    "(unspecified), 1 (keyCompromise), 4 (superseded), 5 (cessationOfOperation), "
                    "9 (privilegeWithdrawn); not 7"),
    ({"reason": "4"}, "field 'reason' has the wrong type: '4'"),
])
def test_a_drill_the_api_refuses_changes_nothing(
    fake_acme: FakeACME, mgmt: Mgmt, body: dict[str, Any], error: str
) -> None:
    answer = mgmt.post("/ari/mass-revocation", body)
    assert (answer.status_code, answer.json()) == (400, {"error": error})
    assert fake_acme.ari.drills == []
    fake_acme.crl(update=True)  # the CRLs still publish


def test_not_a_number_is_refused_in_seconds(fake_acme: FakeACME, mgmt: Mgmt) -> None:
    # JSON has no NaN, but Python's parser takes one: it is refused like any other bad number.
    answer = requests.post(mgmt.url + "/ari/mass-revocation", data=b'{"revoke_after": NaN}',
                           verify=mgmt.verify, timeout=10)
    assert (answer.status_code, answer.json()["error"]) == (
        400, "revoke_after takes seconds from 0 to 3153600000, e.g. 21600 for six hours, "
             "not nan")


@pytest.mark.fake_acme(va_default="valid")
def test_crls_through_the_api(fake_acme: FakeACME, mgmt: Mgmt, acme_client: AcmeTestClient
                              ) -> None:
    order = acme_client.issue("a.example")
    leaf = x509.load_pem_x509_certificate(order.fullchain_pem.encode())
    serial = f"{leaf.serial_number:x}"
    mgmt.get("/crl", serial=serial)  # published, then the revocation
    acme_client.acme.revoke(leaf, 1)
    before = mgmt.get("/crl", serial=serial)
    assert before.headers["Content-Type"] == "application/pkix-crl"
    crl = x509.load_der_x509_crl(before.content)
    assert crl.get_revoked_certificate_by_serial_number(leaf.serial_number) is None  # not yet
    shard = leaf.serial_number % 128 + 1
    assert crl.extensions.get_extension_for_class(x509.IssuingDistributionPoint).value \
        .full_name[0].value == f"{fake_acme.crl_base}{shard}.crl"   # type: ignore[index]
    published = mgmt.post("/crl/update").json()["this_update"]
    after = x509.load_der_x509_crl(mgmt.get("/crl", serial=serial).content)
    assert after.get_revoked_certificate_by_serial_number(leaf.serial_number) is not None
    assert after.last_update_utc.isoformat() == published
    assert after == fake_acme.crl(leaf.serial_number)
    assert x509.load_der_x509_crl(mgmt.get("/crl", shard=str(shard)).content) == after
    assert x509.load_der_x509_crl(mgmt.get("/crl").content) == fake_acme.crl()  # shard 1


@pytest.mark.parametrize(("params", "error"), [
    ({"serial": "zz"}, "serial is hexadecimal, as /state lists it, not 'zz'"),
    ({"serial": "abc"}, "no certificate with serial abc was issued here"),
    ({"shard": "0"}, "shard is a number from 1 to 128, not '0'"),
    ({"shard": "129"}, "shard is a number from 1 to 128, not '129'"),
    ({"shard": "one"}, "shard is a number from 1 to 128, not 'one'"),
    ({"serial": "abc", "shard": "1"}, "give serial or shard, not both"),
])
def test_crl_refusals(mgmt: Mgmt, params: dict[str, str], error: str) -> None:
    answer = mgmt.get("/crl", **params)
    assert (answer.status_code, answer.json()) == (400, {"error": error})


def test_a_fake_without_crls_says_so() -> None:
    with FakeACME(dns_port=None, crl_port=None) as fake:
        api = Mgmt(fake.management_url, fake.ca_bundle)
        for answer in (api.get("/crl"), api.post("/crl/update")):
            assert (answer.status_code, answer.json()) == (
                409, {"error": "this fake serves no CRLs (crl_port=None)"})


@pytest.fixture
def challtestsrv(fake_acme: FakeACME) -> Iterator[Mgmt]:
    server = PlainServer(fake_acme.management_app)
    yield Mgmt(server.url, False)
    server.stop()


def test_a_flow_written_for_challtestsrv_passes(
    fake_acme: FakeACME, challtestsrv: Mgmt, acme_client: AcmeTestClient
) -> None:
    # http-01 answered by the fake's own responder, as challtestsrv answers it (on a port of
    # its own: the suite's responder may hold the session fake's).
    fake_acme.http01_port = _unused_port()
    order = acme_client.new_order("a.example")
    chall = acme_client.challenge(order.authorizations[0])
    response, validation = chall.response_and_validation(acme_client.key)
    token = chall.chall.encode("token")
    assert challtestsrv.post("/add-http01", {"token": token, "content": validation}).ok
    acme_client.acme.answer_challenge(chall, response)
    assert acme_client.poll_and_finalize(order).fullchain_pem
    challtestsrv.post("/del-http01", {"token": token})
    # dns-01 through set-txt / clear-txt, for a wildcard.
    order = acme_client.new_order("*.b.example")
    chall = acme_client.challenge(order.authorizations[0], challenges.DNS01)
    challtestsrv.post("/set-txt", {"host": "_acme-challenge.b.example.",
                                   "value": chall.validation(acme_client.key)})
    acme_client.acme.answer_challenge(chall, chall.response(acme_client.key))
    assert acme_client.poll_and_finalize(order).fullchain_pem
    assert challtestsrv.post("/clear-txt", {"host": "_acme-challenge.b.example."}).ok
    # A SERVFAIL, a CAA policy and the host map.
    challtestsrv.post("/set-servfail", {"host": "c.example"})
    assert fake_acme.dns.failure("c.example") == "servfail"
    challtestsrv.post("/clear-servfail", {"host": "c.example"})
    assert fake_acme.dns.failure("c.example") is None
    challtestsrv.post("/add-caa", {"host": "d.example",
                                   "policies": [{"tag": "issue", "value": "other-ca.example"}]})
    assert fake_acme.dns.lookup_caa("d.example")[0].value == "other-ca.example"
    challtestsrv.post("/clear-caa", {"host": "d.example"})
    challtestsrv.post("/add-a", {"host": "e.example", "addresses": ["127.0.0.3"]})
    challtestsrv.post("/add-aaaa", {"host": "e.example", "addresses": ["::1"]})
    assert fake_acme.dns.lookup_addresses("e.example") == (["::1"], ["127.0.0.3"])
    challtestsrv.post("/clear-a", {"host": "e.example"})
    challtestsrv.post("/clear-aaaa", {"host": "e.example"})
    challtestsrv.post("/set-cname", {"host": "f.example", "target": "e.example."})
    assert fake_acme.dns.cname("f.example") == "e.example"
    challtestsrv.post("/clear-cname", {"host": "f.example"})
    challtestsrv.post("/set-default-ipv4", {"ip": "127.0.0.4"})
    assert fake_acme.dns.lookup_addresses("g.example") == ([], ["127.0.0.4"])


@pytest.mark.parametrize(
    ("path", "body"),
    [("/add-a", {"host": "a.example"}), ("/set-txt", {"value": "x"}),
     ("/add-http01", {"token": "t"}), ("/set-cname", {"host": "a.example"})],
)
def test_challtestsrv_refuses_a_missing_field_with_an_empty_400(
    fake_acme: FakeACME, challtestsrv: Mgmt, path: str, body: Any
) -> None:
    # cmd/pebble-challtestsrv/dns.go and httpone.go: w.WriteHeader(http.StatusBadRequest).
    answer = challtestsrv.post(path, body)
    assert (answer.status_code, answer.content) == (400, b"")
    assert fake_acme.dns.lookup_addresses("a.example") == ([], ["127.0.0.1"])
    assert fake_acme.dns.cname("a.example") is None


def test_challtestsrv_set_txt_adds_beside_what_is_there(
    fake_acme: FakeACME, challtestsrv: Mgmt
) -> None:
    # challtestsrv/dns.go AddDNSOneChallenge appends: a wildcard and its base name can both
    # be validated by dns-01 at the same _acme-challenge name.
    for value in ("one", "two"):
        answer = challtestsrv.post("/set-txt", {"HOST": "_acme-challenge.a.example.",
                                                "Value": value})
        assert (answer.status_code, answer.content) == (200, b"")
    assert fake_acme.dns.lookup_txt("_acme-challenge.a.example") == ["one", "two"]
    empty = requests.post(challtestsrv.url + "/set-txt", data=b"", timeout=10)
    assert (empty.status_code, empty.text) == (400, "expected JSON POST body, was empty\n")
    assert challtestsrv.post("/clear-txt", {"host": "_acme-challenge.a.example"}).ok
    assert fake_acme.dns.lookup_txt("_acme-challenge.a.example") == []


def test_serve_runs_a_standalone_fake_until_sigterm(tmp_path: Any) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest_fakeacme", "serve", "--port", "0", "--http01-port", "0",
         "--tls-alpn01-port", "0", "--dns-port", "0", "--management-port", "0",
         "--https-management-port", "-1", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "serve printed nothing"
        info = json.loads(proc.stdout.readline())
        plain = Mgmt(info["management_http"], False)
        scripted = plain.post("/va/script", {"identifier": "a.example", "outcomes": [
            {"kind": "http_status", "params": {"code": 404}}]})
        assert scripted.status_code == 200
        # A client in this process, the fake in another.
        remote = _RemoteFake(info)
        client = AcmeTestClient(remote)  # type: ignore[arg-type]
        client.register()
        order = client.new_order("a.example")
        client.answer_http01(order)
        with pytest.raises(errors.ValidationError) as caught:
            client.poll_authorizations(order)
        error = caught.value.failed_authzrs[0].body.challenges[0].error
        assert error is not None
        detail = str(error.detail)
        assert detail.endswith(": 404")
        assert detail.startswith("127.0.0.1: Invalid response from http://a.example:")
        state = plain.get("/state").json()
        assert state["orders"][0]["status"] == "invalid"
    finally:
        proc.send_signal(signal.SIGTERM)
        returncode = proc.wait(timeout=30)
    assert returncode == 0


def test_serve_reports_a_taken_port() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "pytest_fakeacme", "serve", "--port", str(port),
             "--http01-port", "0", "--tls-alpn01-port", "0", "--dns-port", "0",
             "--management-port", "-1"],
            capture_output=True, text=True, timeout=60, check=False,
        )
    assert result.returncode == 2
    # Said once, to a command-line user: the option to pass, not the Python keyword.
    assert result.stderr == (
        f"pytest-fakeacme: cannot listen on 127.0.0.1:{port}: Address already in use. "
        "Use --port 0 for a free port, or stop what holds this one.\n"
    )


def test_serve_reports_a_taken_dns_port() -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "pytest_fakeacme", "serve", "--port", "0",
             "--http01-port", "0", "--tls-alpn01-port", "0", "--dns-port", str(port),
             "--management-port", "-1"],
            capture_output=True, text=True, timeout=60, check=False,
        )
    assert result.returncode == 2
    assert result.stderr == (
        f"pytest-fakeacme: cannot listen on 127.0.0.1:{port} for DNS: Address already in use. "
        "Use --dns-port 0 for a free port, or stop what holds this one.\n"
    )


class _RemoteFake:
    """Just what AcmeTestClient needs from a fake: its URLs and the clock it sleeps on."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.directory_url = info["directory"]
        self.ca_bundle = info["ca_bundle"]
        self.clock = _NoClock()


class _NoClock:
    def advance(self, **units: float) -> None:
        """The remote fake runs on real time; the client's sleeps are skipped."""


def _unused_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_remote_client_drives_the_same_fake(fake_acme: FakeACME) -> None:
    from pytest_fakeacme.remote import RemoteError, RemoteFake

    remote = RemoteFake(fake_acme.management_url, fake_acme.ca_bundle)
    remote.script("a.example", outcomes.http_status(404).after(polls=1))
    assert fake_acme.va.scripted() == {"a.example": [outcomes.http_status(404).after(polls=1)]}
    remote.set_default(outcomes.valid())
    assert fake_acme.va.default == outcomes.valid()
    remote.set_default("dns_nxdomain")  # by name, as the Python API takes it
    assert fake_acme.va.default == outcomes.dns_nxdomain()
    fake_acme.http01_port, fake_acme.tls_alpn01_port = 18080, 18443
    assert (remote.http01_port, remote.tls_alpn01_port) == (18080, 18443)
    assert remote.info()["directory"] == fake_acme.directory_url
    remote.fault("bad_nonce endpoint=newOrder")
    assert len(fake_acme.faults.active) == 1
    remote.clear_faults()
    before = fake_acme.clock.now()
    remote.advance(hours=2)
    assert fake_acme.clock.now() - before >= datetime.timedelta(hours=2)
    remote.add_txt("_acme-challenge.a.example", "v")
    remote.add_a("a.example", "127.0.0.2")
    assert fake_acme.dns.lookup_txt("_acme-challenge.a.example") == ["v"]
    remote.configure(flavor="rfc")
    assert fake_acme.flavor == "rfc"
    assert remote.state()["orders"] == []
    assert isinstance(remote.transcript(), str)
    assert remote.set_limit("NewOrdersPerAccount", burst=2, period_seconds=60)["count"] == 2
    limit = fake_acme.limits.limit("NewOrdersPerAccount")
    assert limit is not None
    assert (limit.burst, limit.period) == (2, datetime.timedelta(seconds=60))
    assert remote.limits()["limits"]["NewOrdersPerAccount"]["burst"] == 2
    assert remote.unpause("nobody") == 0
    with pytest.raises(RemoteError, match="unknown flavor"):
        remote.configure(flavor="pebble")
    remote.reset()
    assert str(fake_acme.flavor) == "boulder"  # str(): mypy narrowed it to "rfc" above


@pytest.mark.fake_acme(va_default="valid")
def test_remote_client_runs_a_drill_and_reads_the_crls(
    fake_acme: FakeACME, acme_client: AcmeTestClient
) -> None:
    from pytest_fakeacme.remote import RemoteError, RemoteFake

    remote = RemoteFake(fake_acme.management_url, fake_acme.ca_bundle)
    order = acme_client.issue("a.example")
    leaf = x509.load_pem_x509_certificate(order.fullchain_pem.encode())
    old = cert_id(leaf)
    with pytest.raises(RemoteError, match=r"POST /ari/mass-revocation: revoke_after takes "
                                          r"seconds from 0 to 3153600000, .* not -1$"):
        remote.mass_revocation(-1)
    with pytest.raises(RemoteError, match=r"1 \(keyCompromise\), .*; not 7$"):
        remote.mass_revocation(reason=7)
    with pytest.raises(RemoteError, match="no mass revocation drill"):
        remote.drill()
    started = remote.mass_revocation(revoke_after_seconds=0, reason=5)
    assert (started["certificates"], started["missed"], started["revoked"]) == ([old], [old], True)
    assert remote.drill() == started
    this_update = remote.update_crls()
    crl = x509.load_der_x509_crl(remote.crl(leaf.serial_number))
    assert crl.last_update_utc.isoformat() == this_update
    entry = crl.get_revoked_certificate_by_serial_number(leaf.serial_number)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == (
        x509.ReasonFlags.cessation_of_operation)
    assert remote.crl() == fake_acme.crl().public_bytes(serialization.Encoding.DER)


def test_a_subprocess_scripts_the_session_fake(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import subprocess, sys

        from pytest_fakeacme import outcomes


        def test_child_scripts_the_fake(fake_acme):
            code = (
                "from pytest_fakeacme import outcomes\\n"
                "from pytest_fakeacme.remote import RemoteFake\\n"
                "RemoteFake.from_env().script('a.example', outcomes.connect_timeout())\\n"
            )
            subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
            assert fake_acme.va.scripted() == {"a.example": [outcomes.connect_timeout()]}
        """
    )
    result = pytester.runpytest_subprocess("--fake-acme", "-p", "no:hypothesispytest",
                                           "-p", "no:benchmark", timeout=120)
    result.assert_outcomes(passed=1)
