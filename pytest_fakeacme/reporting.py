"""What a failing test's report says about the fake, for the pytest plugin: the transcript
section (with what to do when a client did not trust the fake, and the outcomes scripted and
never used), and usage errors shown from the user's own line.

Works on journal entries and plain values; the plugin hands them over, so this module never
sees the facade.
"""

from __future__ import annotations

import os
import types
from collections.abc import Mapping, Sequence
from pathlib import Path

from .journal import Entry, Journal
from .outcomes import Outcome

#: At most this many transcript lines (the latest) in a failing test's report.
TRANSCRIPT_LINES = 200

#: Variables that make a client trust other roots than the ones it is given: requests lets the
#: first two override a Session's ``verify``; OpenSSL-based clients read the third.
TRUST_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")

#: Where the package's own code lives: a usage error is shown from the first frame outside it.
PACKAGE_DIR = str(Path(__file__).resolve().parent) + os.sep


def transcript_section(journal: Journal, entries: Sequence[Entry], verbose: bool,
                       unused: Mapping[str, Sequence[Outcome]], ca_bundle: str) -> str:
    """The "fake-acme transcript" section: the latest entries, then what the test should
    know about them (a failed TLS handshake, outcomes scripted and never used)."""
    shown = list(entries[-TRANSCRIPT_LINES:])
    text = journal.transcript(verbose=verbose, entries=shown)
    if len(shown) < len(entries):
        text = (
            f"... {len(entries) - len(shown)} earlier entries left out "
            "(fake_acme.journal.transcript() has them all)\n" + text
        )
    notes = []
    if any(e.kind == "handshake" for e in entries):
        notes.append(trust_advice(ca_bundle))
    if unused:
        listed = "; ".join(f"{name!r}: {', '.join(map(repr, queue))}"
                           for name, queue in unused.items())
        notes.append(f"!! scripted, never used: {listed}")
    return "\n\n".join([text, *notes]) if text or notes else ""


def trust_advice(ca_bundle: str, environ: Mapping[str, str] | None = None) -> str:
    """What to do when a client failed the TLS handshake with the fake, naming the variables
    set here that may have made it trust other roots than the fake's."""
    environ = os.environ if environ is None else environ
    lines = [
        "!! A client failed the TLS handshake with the fake (the TLS line above). A client",
        "   that does not trust the fake must be given fake_acme.ca_bundle:",
        "   - requests: verify=fake_acme.ca_bundle on each call (REQUESTS_CA_BUNDLE and",
        "     CURL_CA_BUNDLE in the environment override a Session's verify)",
        "   - httpx, aiohttp, urllib, asyncio: fake_acme.ssl_context()",
        "   - certbot's acme library: ClientNetwork(key, verify_ssl=fake_acme.ca_bundle)",
        "   - another process: the path in FAKE_ACME_CA_BUNDLE (under --fake-acme), e.g. as",
        "     SSL_CERT_FILE or REQUESTS_CA_BUNDLE",
    ]
    for name in TRUST_VARIABLES:
        value = environ.get(name)
        if value and value != ca_bundle:
            lines.append(f"   {name} is set here, to {value}")
    return "\n".join(lines)


def from_the_callers_frame(exc: BaseException, runner_dirs: tuple[str, ...]) -> None:
    """Drop the package's own frames from a usage error's traceback, so that the report shows
    the user's line and the message, as if the error were raised there. Left as it is when no
    frame of the user's remains (only the package's and the test runner's, in ``runner_dirs``:
    an error in a fixture's setup or teardown, which ``__tracebackhide__`` hides instead)."""
    frames: list[types.TracebackType] = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append(tb)
        tb = tb.tb_next
    kept = [f for f in frames if not f.tb_frame.f_code.co_filename.startswith(PACKAGE_DIR)]
    if len(kept) == len(frames) or not any(
        not f.tb_frame.f_code.co_filename.startswith(runner_dirs) for f in kept
    ):
        return
    for frame, after in zip(kept, [*kept[1:], None], strict=True):
        frame.tb_next = after
    exc.__traceback__ = kept[0]
