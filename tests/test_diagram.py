"""Sequence diagrams of the conversation: what they draw, read back from the SVG itself."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest
import requests

from pytest_fakeacme import FakeACME, FakeACMEUsageError, outcomes
from pytest_fakeacme.demo import MiniClient
from pytest_fakeacme.diagram import labels, sequence_svg


def _order(fake: FakeACME, client: MiniClient, name: str) -> tuple[str, dict[str, object]]:
    answer = client.post(client.directory["newOrder"],
                         {"identifiers": [{"type": "dns", "value": name}]})
    return answer.headers["Location"], answer.json()


def _validate(client: MiniClient, order: dict[str, object]) -> None:
    authz_url = str(order["authorizations"][0])  # type: ignore[index]
    challenge = client.post(authz_url, None).json()["challenges"][0]
    client.post(challenge["url"], {})
    client.post(authz_url, None)


@pytest.mark.fake_acme(va_default="valid")
def test_an_issuance_reads_as_its_arrows_in_order(fake_acme: FakeACME) -> None:
    client = MiniClient(fake_acme.directory_url, fake_acme.ca_bundle)
    client.register()
    url, order = _order(fake_acme, client, "a.example")
    _validate(client, order)
    client.post(str(order["finalize"]), {"csr": client.csr(["a.example"])})
    fake_acme.clock.advance(seconds=3)
    certificate = client.post(url, None).json()["certificate"]
    client.post(certificate, None)

    order_id = fake_acme.orders[0].id
    svg = fake_acme.diagram(order_id)
    rows = [(kind, text) for kind, text in labels(svg)]
    arrows = [text.split(" ", 1)[0] if kind == "request" else kind for kind, text in rows
              if kind in ("request", "validate", "scripted", "finding")]
    assert arrows == ["POST", "POST-as-GET", "POST", "validate", "scripted", "finding",
                      "POST-as-GET", "POST", "POST-as-GET", "POST-as-GET"]
    requests_drawn = [text for kind, text in rows if kind == "request"]
    assert requests_drawn[0].startswith("POST newOrder https://")
    assert requests_drawn[0].endswith("/acme/new-order")
    answers = [text for kind, text in rows if kind == "answer"]
    assert answers[0] == "201 Created"
    notes = [text for kind, text in rows if kind == "note"]
    assert notes[0].startswith("authorization ")
    assert ", 3 challenges [newOrder]" in notes[0]
    assert [n.split(": ")[1].split(" [")[0] for n in notes if n.startswith("order ")] == [
        "(new) → pending", "pending → processing", "processing → valid"]
    # A well-formed SVG document, with a tooltip per row.
    root = ElementTree.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("role") == "img"


def test_a_failed_validation_names_the_problem(fake_acme: FakeACME) -> None:
    fake_acme.va.script("b.example", outcomes.http_status(404))
    client = MiniClient(fake_acme.directory_url, fake_acme.ca_bundle)
    client.register()
    _, order = _order(fake_acme, client, "b.example")
    _validate(client, order)
    rows = labels(fake_acme.diagram(fake_acme.orders[0].id))
    refusals = [text for kind, text in rows if kind == "refusal"]
    assert len(refusals) == 1
    assert refusals[0].startswith("unauthorized (403): 127.0.0.1: Invalid response from ")
    assert refusals[0].endswith(": 404")
    [scripted] = [text for kind, text in rows if kind == "scripted"]
    assert scripted.startswith("a scripted outcome: outcomes.http_status(code=404")


def test_a_problem_answer_is_drawn_as_one(fake_acme: FakeACME) -> None:
    fake_acme.faults.add_spec("bad_nonce endpoint=newOrder times=1")
    client = MiniClient(fake_acme.directory_url, fake_acme.ca_bundle)
    client.register()
    _order(fake_acme, client, "c.example")  # the client retries the badNonce
    rows = labels(fake_acme.diagram())
    problems = [(kind, text) for kind, text in rows if kind in ("problem", "fault")]
    # The injected refusal is drawn as a fault, labelled so; the retry's answer is the CA's.
    assert [kind for kind, _ in problems] == ["fault"]
    assert problems[0][1].startswith("400 badNonce: ")
    assert problems[0][1].endswith("[fault: bad_nonce endpoint=newOrder, 1 of 1]")
    answers = [text for kind, text in rows if kind == "answer"]
    assert "201 Created" in answers
    assert not any("injected" in a for a in answers)


def test_a_real_validation_shows_what_the_va_looked_at(fake_acme: FakeACME) -> None:
    client = MiniClient(fake_acme.directory_url, fake_acme.ca_bundle)
    client.register()
    _, order = _order(fake_acme, client, "d.example")
    _validate(client, order)  # nobody answers on the http-01 port: connection refused
    kinds = [kind for kind, _ in labels(fake_acme.diagram())]
    start = kinds.index("validate")
    assert kinds[start:start + 4] == ["validate", "probe", "refusal", "refusal"]


def test_the_whole_journal_and_errors(fake_acme: FakeACME) -> None:
    assert labels(sequence_svg([])) == []
    with pytest.raises(FakeACMEUsageError, match="no order 'nope'"):
        fake_acme.diagram("nope")
    answer = requests.get(fake_acme.management_url + "/diagram", verify=fake_acme.ca_bundle,
                          timeout=10)
    assert answer.headers["Content-Type"] == "image/svg+xml; charset=utf-8"
    assert labels(answer.text) == []
    missing = requests.get(fake_acme.management_url + "/diagram?order=nope",
                           verify=fake_acme.ca_bundle, timeout=10)
    assert (missing.status_code, missing.json()["error"]) == (400, "no order 'nope'")
