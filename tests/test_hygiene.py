"""Hygiene: nothing the fake starts outlives it, instances do not interfere, and lifecycle misuse
is a clear error."""

from __future__ import annotations

import errno
import json
import os
import pickle
import socket
import ssl
import threading
import urllib.request
from typing import Any

import pytest
from acme import messages

from client import AcmeTestClient
from pytest_fakeacme import BindError, FakeACME, FakeACMEError, outcomes
from test_plugin import INNER_ACME


def _fake_threads_since(before: set[threading.Thread]) -> list[threading.Thread]:
    # Thread objects, not names: another fake (this session's) names its VA workers alike.
    return [t for t in threading.enumerate() if t not in before and t.name.startswith("fakeacme")]


def _fetch_directory(fake: FakeACME) -> dict[str, Any]:
    ctx = ssl.create_default_context(cafile=fake.ca_bundle)
    with urllib.request.urlopen(fake.directory_url, context=ctx, timeout=10) as answer:
        result: dict[str, Any] = json.load(answer)
    return result


def _assert_nothing_listens_on(port: int) -> None:
    # SO_REUSEADDR lets us past connections in TIME_WAIT, never past a socket still listening.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
        probe.listen(1)


def _assert_dns_port_free(address: tuple[str, int]) -> None:
    # The fake's DNS server listens on UDP and TCP on one port number.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(address)
    _assert_nothing_listens_on(address[1])


def _assert_refused(port: int) -> None:
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=10).close()


def test_context_manager_leaves_no_thread_or_listener_behind() -> None:
    before = set(threading.enumerate())
    with FakeACME() as fake:
        client = AcmeTestClient(fake)
        client.register()
        order = client.new_order("a.example")
        # A real validation (nothing listens on http01_port) puts the VA's worker to work.
        client.answer_http01(order)
        assert [a.status for a in fake.authorizations] == ["invalid"]
        started = _fake_threads_since(before)
        names = {t.name for t in started}
        assert f"fakeacme-{fake.port}" in names
        assert any(name.startswith("fakeacme-va") for name in names)
        port, dns_address = fake.port, fake.dns.address
        assert dns_address is not None
    assert not any(t.is_alive() for t in started)
    assert _fake_threads_since(before) == []
    _assert_nothing_listens_on(port)
    _assert_dns_port_free(dns_address)


def test_server_thread_is_a_daemon() -> None:
    with FakeACME() as fake:
        (thread,) = [t for t in threading.enumerate() if t.name == f"fakeacme-{fake.port}"]
        assert thread.daemon


def test_stop_is_idempotent_and_frees_the_port() -> None:
    fake = FakeACME()
    fake.stop()  # never started: nothing to do
    before = set(threading.enumerate())
    fake.start()
    port = fake.port
    running = [fake.running]
    fake.stop()
    fake.stop()
    running.append(fake.running)
    assert running == [True, False]
    assert _fake_threads_since(before) == []
    _assert_nothing_listens_on(port)
    _assert_refused(port)


def test_start_twice_is_an_error_and_keeps_serving() -> None:
    with FakeACME() as fake:
        url = fake.directory_url
        with pytest.raises(FakeACMEError, match="already running"):
            fake.start()
        assert fake.directory_url == url
        assert _fetch_directory(fake)["newNonce"].startswith(fake.base_url + "/")


def test_a_taken_port_is_a_bind_error_not_an_exit() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        before = set(threading.enumerate())
        fake = FakeACME(port=port)
        # pytest.raises lets SystemExit through: werkzeug's sys.exit(1) would fail this test.
        with pytest.raises(BindError) as bind_error:
            fake.start()
        assert str(bind_error.value) == (
            f"pytest-fakeacme cannot listen on 127.0.0.1:{port}: Address already in use. "
            "Use port=0 for a free port, or stop what holds this one."
        )
        assert bind_error.value.strerror == "Address already in use"
        # Pickled across processes (pytest-xdist reports) with what it knows.
        copy = pickle.loads(pickle.dumps(bind_error.value))
        assert (str(copy), copy.errno) == (str(bind_error.value), errno.EADDRINUSE)
        with pytest.raises(OSError, match="cannot listen") as info, FakeACME(port=port):
            pass
        assert info.value.errno == errno.EADDRINUSE
        assert not fake.running
        assert _fake_threads_since(before) == []


def test_two_instances_side_by_side_serve_independently() -> None:
    with FakeACME(unused_scripts="ignore") as one, FakeACME() as two:
        assert one.port != two.port
        assert one.roots != two.roots
        AcmeTestClient(one).register()
        assert len(one.accounts) == 1
        assert two.accounts == []
        # Each has its own VA, settings and clock.
        one.va.script("a.example", outcomes.valid())
        one.configure(order_reuse=False)
        one.clock.advance(days=1)
        assert two.va.scripted() == {}
        assert two.settings.order_reuse is True
        assert two.clock.now() < one.clock.now()
        one.stop()
        _assert_refused(one.port)
        assert _fetch_directory(two)["newAccount"].startswith(two.base_url + "/")
        AcmeTestClient(two).register()
        assert len(two.accounts) == 1


def test_temporary_files_are_removed_at_stop() -> None:
    with FakeACME() as fake:
        bundle, roots = fake.ca_bundle, fake.roots_path
        folder = os.path.dirname(bundle)
        assert os.path.isfile(bundle)
        assert os.path.isfile(roots)
    assert not os.path.exists(folder)


def test_reset_keeps_server_and_keys_but_forgets_accounts() -> None:
    with FakeACME() as fake:
        url, port, roots = fake.directory_url, fake.port, fake.roots
        with open(fake.ca_bundle, encoding="ascii") as f:
            bundle = f.read()
        client = AcmeTestClient(fake)
        client.register()
        assert client.regr is not None
        assert len(fake.accounts) == 1
        (thread,) = [t for t in threading.enumerate() if t.name == f"fakeacme-{port}"]

        fake.reset()

        assert fake.accounts == []
        assert (fake.directory_url, fake.port, fake.roots) == (url, port, roots)
        with open(fake.ca_bundle, encoding="ascii") as f:
            assert f.read() == bundle
        assert thread.is_alive()
        # The same connection settings still reach the server, which no longer knows the account.
        with pytest.raises(messages.Error) as info:
            client.acme.query_registration(client.regr)
        assert info.value.code == "accountDoesNotExist"


@pytest.mark.parametrize("args", [[], ["--fake-acme"]], ids=["fixture", "session-option"])
def test_an_inner_session_leaves_no_fake_behind(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.delenv("FAKE_ACME_DIRECTORY_URL", raising=False)
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:hypothesispytest -p no:benchmark")
    pytester.makepyfile(inner_acme=INNER_ACME)
    pytester.makepyfile(
        """
        from inner_acme import _trust_exactly_the_given_bundle, answer_http01, order

        def test_uses_the_fake(fake_acme):
            with open("port.txt", "w") as f:
                f.write(str(fake_acme.port))
            acme, key, new = order(fake_acme.directory_url, fake_acme.ca_bundle, "a.example")
            assert answer_http01(acme, key, new) == "invalid"  # a real attempt: VA threads
        """
    )
    before = set(threading.enumerate())
    pytester.runpytest(*args).assert_outcomes(passed=1)
    assert _fake_threads_since(before) == []
    _assert_nothing_listens_on(int(pytester.path.joinpath("port.txt").read_text()))


def test_stop_ends_the_threads_of_connected_clients() -> None:
    before = set(threading.enumerate())
    fake = FakeACME().start()
    ctx = ssl.create_default_context(cafile=fake.ca_bundle)
    address = ("127.0.0.1", fake.port)
    # One client connected and never started its handshake; one finished it and sits idle. The
    # server accepts in order, so both have a connection thread once the second handshake is done.
    with socket.create_connection(address), ctx.wrap_socket(
        socket.create_connection(address), server_hostname="127.0.0.1"
    ):
        fake.stop()
        leftover = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert leftover == []
