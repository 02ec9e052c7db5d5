"""The process's own time coupled to the fake's clock (``clock.couple()``), and the mass
revocation drill on the fake's clock."""

from __future__ import annotations

import base64
import datetime
import sys
import time

import pytest
import requests
import time_machine
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from pytest_fakeacme import Clock, FakeACME, FakeACMEUsageError
from pytest_fakeacme.demo import MiniClient
from pytest_fakeacme.renewal import DRILL_REASONS, cert_id

UTC = datetime.timezone.utc


def test_coupled_process_time_follows_the_fake_clock() -> None:
    before = datetime.datetime.now(UTC)
    # Frozen, the process's time is compared exactly (half a second before midnight: a day's
    # end is no edge case); running, it is bracketed by the fake's readings.
    start = datetime.datetime(2036, 2, 28, 23, 59, 59, 500_000, tzinfo=UTC)
    clock = Clock(start, frozen=True)
    with clock.couple():
        assert time_machine.escape_hatch.is_travelling()
        assert datetime.datetime.now(UTC) == start
        clock.advance(days=60)
        later = start + datetime.timedelta(days=60)
        assert datetime.datetime.now(UTC) == later
        assert datetime.date.today() == later.astimezone().date()  # today() is local time
        assert time.time() == later.timestamp()
        clock.advance(seconds=1)  # over midnight
        assert datetime.datetime.now(UTC) == later + datetime.timedelta(seconds=1)
        assert datetime.date.today() == (later + datetime.timedelta(seconds=1)).astimezone().date()
        target = datetime.datetime(2040, 1, 1, 12, tzinfo=UTC)
        clock.set(target)
        assert datetime.datetime.now(UTC) == target
        clock.unfreeze()  # running: the process's time runs from where the fake's stands
        first = clock.now()
        process = datetime.datetime.now(UTC)
        last = clock.now()
        # The process's time was set a moment after the fake's was read: it may trail it.
        assert first - datetime.timedelta(seconds=1) <= process <= last
        assert process >= target
        frozen = clock.freeze()
        assert datetime.datetime.now(UTC) == frozen  # a frozen clock: the process stands still
        clock.advance(hours=1)
        assert datetime.datetime.now(UTC) == frozen + datetime.timedelta(hours=1)
    assert not clock.coupled
    assert not time_machine.escape_hatch.is_travelling()
    # Outside the block the process has its own time back, and the fake keeps its own.
    assert datetime.datetime.now(UTC) - before < datetime.timedelta(minutes=5)
    assert clock.now() == frozen + datetime.timedelta(hours=1)


def test_the_fake_does_not_count_its_own_shift_twice(fake_acme: FakeACME) -> None:
    fake_acme.clock.advance(days=100)
    expected = fake_acme.clock.now()
    with fake_acme.clock.couple():
        client = MiniClient(fake_acme.directory_url, fake_acme.ca_bundle)
        client.register()
        created = fake_acme.accounts[0]
        assert abs(fake_acme.clock.now() - expected) < datetime.timedelta(minutes=1)
        assert created.status == "valid"
        entry = fake_acme.journal.requests("newAccount")[0]
        assert abs(entry.at - expected) < datetime.timedelta(minutes=1)


def test_without_time_machine_couple_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "time_machine", None)  # as if not installed
    with pytest.raises(FakeACMEUsageError, match=r'pip install "pytest-fakeacme\[time\]"'), \
            Clock().couple():
        pass


def test_one_coupling_at_a_time() -> None:
    clock = Clock()
    with clock.couple(), pytest.raises(FakeACMEUsageError, match="coupled already"), \
            clock.couple():
        pass


def _issue(fake: FakeACME, client: MiniClient, name: str, replaces: str | None = None) -> str:
    payload: dict[str, object] = {"identifiers": [{"type": "dns", "value": name}]}
    if replaces is not None:
        payload["replaces"] = replaces
    order = client.post(client.directory["newOrder"], payload).json()
    authz = order["authorizations"][0]
    client.post(client.post(authz, None).json()["challenges"][0]["url"], {})
    client.post(authz, None)
    done = client.post(order["finalize"], {"csr": client.csr([name])}).json()
    pem = client.post(done["certificate"], None).body.decode()
    return cert_id(x509.load_pem_x509_certificate(pem.encode()))


@pytest.mark.fake_acme(va_default="valid", async_finalize=False)
def test_a_client_that_follows_ari_renews_before_the_drill_revokes(fake_acme: FakeACME) -> None:
    client = MiniClient(fake_acme.directory_url, fake_acme.ca_bundle)
    client.register()
    old = _issue(fake_acme, client, "a.example")
    drill = fake_acme.ari.mass_revocation(revoke_after=datetime.timedelta(hours=6))
    assert drill.certificates == (old,)
    info = requests.get(f"{client.directory['renewalInfo']}/{old}",
                        verify=fake_acme.ca_bundle, timeout=10).json()
    end = datetime.datetime.fromisoformat(info["suggestedWindow"]["end"].replace("Z", "+00:00"))
    assert end <= fake_acme.clock.now()  # renew at once
    assert info["explanationURL"].startswith("https://letsencrypt.org/")
    fake_acme.clock.advance(hours=1)
    new = _issue(fake_acme, client, "a.example", replaces=old)
    assert (drill.fetched_renewal_info(), drill.renewed(), drill.sent_replaces()) == (
        [old], [old], [old])
    assert drill.missed() == []
    assert [c.revoked for c in fake_acme.certificates] == [False, False]
    fake_acme.clock.advance(hours=5)
    assert [c.revoked for c in fake_acme.certificates] == [True, False]
    assert new != old


@pytest.mark.fake_acme(va_default="valid", async_finalize=False)
def test_a_client_that_ignores_the_drill_is_caught_out(fake_acme: FakeACME) -> None:
    client = MiniClient(fake_acme.directory_url, fake_acme.ca_bundle)
    client.register()
    old = _issue(fake_acme, client, "b.example")
    drill = fake_acme.ari.mass_revocation(revoke_after=datetime.timedelta(hours=6), reason=4)
    fake_acme.clock.advance(hours=7)
    late = _issue(fake_acme, client, "b.example")  # renews only after the revocation
    assert (drill.fetched_renewal_info(), drill.renewed(), drill.sent_replaces()) == ([], [], [])
    assert drill.missed() == [old]
    revoked = fake_acme.certificates[0]
    assert revoked.revoked
    assert late != old
    with pytest.raises(FakeACMEUsageError, match="timedelta"):
        fake_acme.ari.mass_revocation(revoke_after=6)  # type: ignore[arg-type]


@pytest.mark.fake_acme(va_default="valid", async_finalize=False)
def test_certificates_issued_before_the_drill_are_no_renewals(fake_acme: FakeACME) -> None:
    # Two certificates for the same name, both before the drill, then nothing: both are the
    # drill's own, and neither renews the other.
    client = MiniClient(fake_acme.directory_url, fake_acme.ca_bundle)
    client.register()
    first = _issue(fake_acme, client, "a.example")
    fake_acme.clock.advance(minutes=30)
    second = _issue(fake_acme, client, "a.example")
    fake_acme.clock.advance(minutes=30)
    drill = fake_acme.ari.mass_revocation(revoke_after=datetime.timedelta(hours=6))
    assert drill.certificates == (first, second)
    assert (drill.renewed(), drill.missed()) == ([], [first, second])


@pytest.mark.fake_acme(va_default="valid", async_finalize=False)
def test_a_certificate_issued_before_the_drill_is_no_renewal_though_the_drill_skips_it(
    fake_acme: FakeACME,
) -> None:
    # The later certificate was revoked before the drill, so the drill does not cover it; it
    # was issued before the drill began (its notBefore well within backdating of the start),
    # so it renews nothing. One issued after the start does.
    client = MiniClient(fake_acme.directory_url, fake_acme.ca_bundle)
    client.register()
    old = _issue(fake_acme, client, "a.example")
    fake_acme.clock.advance(minutes=10)
    revoked = _issue(fake_acme, client, "a.example")
    leaf = x509.load_pem_x509_certificate(fake_acme.certificates[1].pem.encode())
    der = leaf.public_bytes(serialization.Encoding.DER)
    answer = client.post(client.directory["revokeCert"],
                         {"certificate": base64.urlsafe_b64encode(der).rstrip(b"=").decode()})
    assert answer.status == 200
    fake_acme.clock.advance(minutes=10)
    drill = fake_acme.ari.mass_revocation(revoke_after=datetime.timedelta(hours=6))
    assert drill.certificates == (old,)
    assert revoked not in drill.certificates
    assert (drill.renewed(), drill.missed()) == ([], [old])
    _issue(fake_acme, client, "a.example")
    assert (drill.renewed(), drill.missed()) == ([old], [])


@pytest.mark.fake_acme(va_default="valid", async_finalize=False)
def test_the_drill_leaves_expired_certificates_alone(fake_acme: FakeACME) -> None:
    client = MiniClient(fake_acme.directory_url, fake_acme.ca_bundle)
    client.register()
    older = _issue(fake_acme, client, "a.example")
    not_after = fake_acme.certificates[0].not_after
    fake_acme.clock.freeze(not_after - datetime.timedelta(seconds=1))
    current = _issue(fake_acme, client, "b.example")
    assert fake_acme.ari.mass_revocation().certificates == (older, current)  # still valid
    fake_acme.clock.advance(seconds=1)  # its notAfter: expired for the drill
    assert fake_acme.ari.mass_revocation().certificates == (current,)


@pytest.mark.fake_acme(va_default="valid", async_finalize=False)
@pytest.mark.parametrize("reason", sorted(DRILL_REASONS))
def test_a_drill_revokes_for_a_reason_the_crls_can_say(fake_acme: FakeACME, reason: int) -> None:
    client = MiniClient(fake_acme.directory_url, fake_acme.ca_bundle)
    client.register()
    _issue(fake_acme, client, "a.example")
    fake_acme.ari.mass_revocation(revoke_after=datetime.timedelta(0), reason=reason)
    cert = fake_acme.certificates[0]
    entry = fake_acme.crl(cert, update=True).get_revoked_certificate_by_serial_number(
        cert.serial)
    assert entry is not None
    # RFC 5280 5.3.1: unspecified (0) is left out of the entry, as Boulder leaves it out.
    found = [e.value.reason.name for e in entry.extensions if isinstance(e.value, x509.CRLReason)]
    expected = {0: [], 1: ["key_compromise"], 4: ["superseded"],
                5: ["cessation_of_operation"], 9: ["privilege_withdrawn"]}
    assert found == expected[reason]


@pytest.mark.parametrize("reason", [7, 2, 3, 6, 8, 10, 11, -1, True, "4"])
def test_a_drill_refuses_a_reason_let_s_encrypt_does_not_revoke_for(
    fake_acme: FakeACME, reason: object
) -> None:
    with pytest.raises(FakeACMEUsageError) as refused:
        fake_acme.ari.mass_revocation(reason=reason)  # type: ignore[arg-type]
    assert str(refused.value) == (
        "reason takes a revocation reason code Let's Encrypt revokes with: 0 (unspecified), "
        "1 (keyCompromise), 4 (superseded), 5 (cessationOfOperation), 9 (privilegeWithdrawn); "
        f"not {reason!r}")
    assert fake_acme.ari.drills == []
    fake_acme.crl(update=True)  # the CRLs still publish


_COUPLED_THEN_NOT = """
import datetime

import pytest


def _drift(folder):
    # A new file's modification time is the kernel's: time-machine does not move it.
    (folder / "now").write_text("")
    real = (folder / "now").stat().st_mtime
    return datetime.datetime.now(datetime.timezone.utc).timestamp() - real


@pytest.mark.fake_acme(couple_clock=True)
def test_a_coupled(fake_acme, tmp_path):
    fake_acme.clock.advance(days=30)
    assert _drift(tmp_path) >= 30 * 86400


def test_b_not_coupled_after_it(fake_acme, tmp_path):
    assert abs(_drift(tmp_path)) < 60
    fake_acme.clock.advance(days=30)  # moves the fake only
    assert abs(_drift(tmp_path)) < 60
"""


def test_the_marker_couples_one_test_and_only_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(_COUPLED_THEN_NOT)
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_couple_clock_takes_a_bool(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        "import pytest\n\n\n@pytest.mark.fake_acme(couple_clock='yes')\n"
        "def test_it(fake_acme):\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*couple_clock must be True or False, not 'yes'*"])
