"""``pytest-fakeacme conformance [--client NAME] [options] [-- CMD ...]``: the battery against a
command-line client, with a table on the terminal and reports in files.

Exit status: 0 when every case passed or warned (or was skipped, with ``--allow-skips``); 1
when a case failed or was skipped; 2 when the command line is wrong.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any, TextIO

from ..errors import FakeACMEUsageError
from .clients import CommandClient, Http01Mode
from .presets import PRESETS
from .runner import DEFAULT_TIMEOUT, Battery
from .situations import PLACEHOLDERS

_EPILOG = (
    "The command gets FAKE_ACME_DIRECTORY_URL, FAKE_ACME_CA_BUNDLE, FAKE_ACME_DOMAIN (a fresh "
    "name per case), FAKE_ACME_HTTP01_PORT, FAKE_ACME_WEBROOT, FAKE_ACME_CHALLENGE_DIR, "
    "FAKE_ACME_WORKDIR (kept for the case's runs) and FAKE_ACME_RUN in its environment, the "
    "same values as placeholders: " + ", ".join("{" + n + "}" for n in PLACEHOLDERS) + ". "
    "REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, SSL_CERT_FILE and LEGO_CA_CERTIFICATES point at the "
    "fake's bundle. Example: pytest-fakeacme conformance -- certbot certonly "
    "--non-interactive --agree-tos -m ops@a.example --server {directory} --webroot -w "
    "{webroot} -d {domain} --config-dir {workdir}/conf --work-dir {workdir}/work "
    "--logs-dir {workdir}/logs"
)


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add the ``conformance`` subcommand to the entry point's subparsers."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "conformance",
        help="run an ACME client through the conformance battery and print its scorecard",
        description="Run an ACME client through every case of the battery (a fresh fake "
        "Let's Encrypt per case) and judge it from its exit status, its output and the "
        "conversation.",
        epilog=_EPILOG,
    )
    parser.add_argument("--client", choices=sorted(PRESETS),
                        help="a well-known client's command line (instead of -- CMD)")
    parser.add_argument("--name", metavar="NAME",
                        help="the client's name in the reports (default: the preset's, or the "
                        "command's program: 'python' for -- python my_client.py)")
    parser.add_argument("--renew-command", metavar="CMD",
                        help="the command for a case's later runs (its scheduled renewal), as "
                        "shell words; default: the command again")
    parser.add_argument("--http01", choices=("auto", "webroot", "standalone"), default="auto",
                        help="webroot: the runner serves FAKE_ACME_WEBROOT on the http-01 "
                        "port; standalone: the client binds that port itself; auto (the "
                        "default): standalone when the command names {http01_port} and not "
                        "{webroot} or {challenge_dir}")
    parser.add_argument("--case", action="append", dest="cases", metavar="ID",
                        help="run only this case (repeatable); --list shows them")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help=f"seconds one run of the client may take (default "
                        f"{DEFAULT_TIMEOUT:g})")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the JSON report")
    parser.add_argument("--html", type=Path, metavar="PATH", help="write the HTML report")
    parser.add_argument("--junit-xml", type=Path, metavar="PATH",
                        help="write a JUnit XML report")
    parser.add_argument("--workdir", type=Path, metavar="DIR",
                        help="keep the cases' working directories in DIR, which must be empty "
                        "or new (default: a temporary directory, removed afterwards)")
    parser.add_argument("--allow-skips", action="store_true",
                        help="exit 0 even when cases were skipped (for a client that cannot "
                        "take some cases, e.g. a dns-01-only client on the scripted http-01 "
                        "cases); without it a skip counts as a failure in the exit status")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    # Not "command": the entry point's subparsers keep the subcommand's name there.
    parser.add_argument("client_command", nargs=argparse.REMAINDER, metavar="-- CMD",
                        help="the client's command, after --")
    return parser


def http01_mode(argv: list[str], chosen: str) -> Http01Mode:
    """``--http01``, with ``auto`` decided from the placeholders the command uses."""
    if chosen in ("webroot", "standalone"):
        return "standalone" if chosen == "standalone" else "webroot"
    words = " ".join(argv)
    if "{http01_port}" in words and "{webroot}" not in words and "{challenge_dir}" not in words:
        return "standalone"
    return "webroot"


def _client(args: argparse.Namespace) -> tuple[CommandClient, str]:
    command = list(args.client_command)
    if command[:1] == ["--"]:
        command = command[1:]
    if args.client and command:
        raise FakeACMEUsageError("give --client or a command, not both")
    if args.name is not None and not args.name.strip():
        raise FakeACMEUsageError("--name needs a name")
    if args.client:
        preset = PRESETS[args.client]
        if preset.installed() is None:
            raise FakeACMEUsageError(f"{preset.binary} is not installed")
        client = preset.client()
        client.name = args.name or client.name
        return client, preset.client_version()
    if not command:
        raise FakeACMEUsageError("give --client NAME or -- CMD ...")
    renew = tuple(shlex.split(args.renew_command)) if args.renew_command else None
    mode = http01_mode(command, args.http01)
    return CommandClient(args.name or Path(command[0]).name, tuple(command), mode, renew), ""


def list_cases(out: TextIO) -> None:
    """Print the cases: id, title and source."""
    from .cases import CASES

    for case in CASES:
        print(f"{case.id:<24} {case.title}\n{'':<24} {case.source}", file=out)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run the subcommand; its exit status."""
    from . import reports

    stream = out or sys.stdout
    if args.list:
        list_cases(stream)
        return 0
    try:
        client, version = _client(args)
        battery = Battery(client, cases=args.cases, timeout=args.timeout, workdir=args.workdir,
                          progress=lambda r: print(reports.table_row(r), file=stream,
                                                   flush=True),
                          allow_skips=args.allow_skips)
    except FakeACMEUsageError as exc:  # no command, an unknown case id
        print(f"pytest-fakeacme conformance: {exc}", file=sys.stderr)
        return 2
    print(f"pytest-fakeacme conformance: {client.name} {version}".rstrip()
          + f", {len(battery.cases)} cases", file=stream)
    print(reports.table_header(), file=stream, flush=True)
    card = battery.run()
    card.version = version
    for note in battery.notes:
        print(f"note: {note}", file=stream)
    print(reports.summary_line(card), file=stream)
    skipped = card.counts()["skip"]
    if skipped and not card.ok and not card.counts()["fail"]:
        cases = "a case was" if skipped == 1 else f"{skipped} cases were"
        print(f"exit status 1: {cases} skipped (--allow-skips accepts skips, for a client "
              "that cannot take some cases)", file=stream)
    for path, write in ((args.json, reports.write_json), (args.html, reports.write_html),
                        (args.junit_xml, reports.write_junit)):
        if path is not None:
            write(card, path)
            print(f"wrote {path}", file=stream)
    return 0 if card.ok else 1
