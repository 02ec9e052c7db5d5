"""What an installed package must give a user, checked where it is installed.

CI (``.ci/run``) copies this file out of the checkout and runs it with the wheel installed in
a fresh virtual environment without extras, so that a file the wheel forgot (a dashboard
asset, ``py.typed``) or a dependency only the extras bring fails there. In the suite it checks
the checkout the same way. It uses the standard library and the package's own dependencies
only.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import urllib.request

from pytest_fakeacme import FakeACME, outcomes
from pytest_fakeacme.demo import MiniClient


def _get(fake: FakeACME, url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, context=fake.ssl_context(), timeout=30) as answer:
        return answer.status, answer.read()


def test_the_fixture_serves_acme_and_the_dashboard(fake_acme: FakeACME) -> None:
    fake_acme.va.script("a.example", outcomes.http_status(404))
    client = MiniClient(fake_acme.directory_url, fake_acme.ca_bundle)
    client.register()
    order = client.post(client.directory["newOrder"],
                        {"identifiers": [{"type": "dns", "value": "a.example"}]}).json()
    authz_url = order["authorizations"][0]
    challenge = client.post(authz_url, None).json()["challenges"][0]
    client.post(challenge["url"], {})
    assert client.post(authz_url, None).json()["status"] == "invalid"
    for page, marker in (("/ui", b"<html"), ("/ui/app.js", b"function"),
                         ("/ui/style.css", b"{")):
        status, body = _get(fake_acme, fake_acme.management_url + page)
        assert status == 200
        assert marker in body


def test_the_package_is_typed_and_registers_its_plugin() -> None:
    assert importlib.resources.files("pytest_fakeacme").joinpath("py.typed").is_file()
    plugins = importlib.metadata.entry_points(group="pytest11")
    assert [p.value for p in plugins if p.name == "fake_acme"] == ["pytest_fakeacme.plugin"]
