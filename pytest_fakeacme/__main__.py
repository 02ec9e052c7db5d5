"""Command line: ``python -m pytest_fakeacme demo`` and ``python -m pytest_fakeacme serve``
(also the ``pytest-fakeacme`` script)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any


def _env(name: str, default: Any) -> Any:
    return os.environ.get(f"FAKE_ACME_{name}", default)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pytest-fakeacme",
        description="A fake ACME (RFC 8555) certificate authority for tests.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "demo",
        help="start a fake CA and walk a small client through an issuance and four failures",
    )
    serve = commands.add_parser(
        "serve",
        help="serve the fake CA for clients in any language until interrupted",
        description="Every option also reads an environment variable FAKE_ACME_<NAME> "
        "(e.g. FAKE_ACME_PORT).",
    )
    serve.add_argument("--host", default=_env("HOST", "127.0.0.1"),
                       help="loopback address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=int(_env("PORT", 14000)),
                       help="ACME HTTPS port (default 14000, like Pebble; 0 for a free one)")
    serve.add_argument("--http01-port", type=int, default=int(_env("HTTP01_PORT", 5002)),
                       help="where the VA sends http-01 requests (default 5002, like Pebble)")
    serve.add_argument("--tls-alpn01-port", type=int,
                       default=int(_env("TLS_ALPN01_PORT", 5001)),
                       help="where the VA connects for tls-alpn-01 (default 5001)")
    serve.add_argument("--dns-port", type=int, default=int(_env("DNS_PORT", 8053)),
                       help="the fake's DNS server, UDP and TCP (default 8053)")
    serve.add_argument("--management-port", type=int, default=int(_env("MANAGEMENT_PORT", 8055)),
                       help="plain-HTTP management API with challtestsrv's endpoints "
                       "(default 8055; -1 for none)")
    serve.add_argument("--flavor", choices=("boulder", "rfc"), default=_env("FLAVOR", "boulder"))
    serve.add_argument("--va-default", default=_env("VA_DEFAULT", "real"),
                       help="what validations find when nothing is scripted (real, valid, ...)")
    serve.add_argument("--fault", action="append", default=[],
                       help='a fault spec, e.g. "nonce_reject_rate 0.1 seed=7" (repeatable)')
    serve.add_argument("--clock-start", default=_env("CLOCK_START", None),
                       help="start the fake's clock at this ISO 8601 time")
    serve.add_argument("--json", action="store_true", help="print the addresses as JSON")
    return parser


def serve(args: argparse.Namespace) -> int:
    """Run the standalone fake until SIGINT or SIGTERM."""
    import datetime as _dt

    from .clock import Clock
    from .errors import BindError, FakeACMEUsageError
    from .fake import FakeACME
    from .management import PlainServer
    from .outcomes import by_name

    try:
        clock = None
        if args.clock_start:
            clock = Clock(_dt.datetime.fromisoformat(args.clock_start.replace("Z", "+00:00")))
        fake = FakeACME(host=args.host, port=args.port, http01_port=args.http01_port,
                        tls_alpn01_port=args.tls_alpn01_port, dns_port=args.dns_port,
                        flavor=args.flavor, va_default=by_name(args.va_default),
                        clock=clock)
        for spec in args.fault:
            fake.faults.add_spec(spec)
    except (FakeACMEUsageError, ValueError) as exc:
        print(f"pytest-fakeacme: {exc}", file=sys.stderr)
        return 2
    try:
        fake.start()
    except BindError as exc:
        print(f"pytest-fakeacme: {exc.advice(command_line=True)}", file=sys.stderr)
        return 2
    plain = None
    try:
        if args.management_port >= 0:
            try:
                plain = PlainServer(fake.management_app, args.host, args.management_port)
            except OSError as exc:
                print(f"pytest-fakeacme: cannot serve management on port "
                      f"{args.management_port}: {exc.strerror}", file=sys.stderr)
                return 2
        info = {
            "directory": fake.directory_url,
            "ca_bundle": fake.ca_bundle,
            "roots": fake.roots_path,
            "management": fake.management_url,
            "management_http": plain.url if plain else None,
            "dns": f"{fake.dns.address[0]}:{fake.dns.address[1]}" if fake.dns.address else None,
            "http01_port": fake.http01_port,
            "tls_alpn01_port": fake.tls_alpn01_port,
        }
        if args.json:
            print(json.dumps(info), flush=True)
        else:
            for key, value in info.items():
                print(f"{key + ':':<18}{value}", flush=True)
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        stop.wait()
    finally:
        if plain is not None:
            plain.stop()
        fake.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    from .demo import run

    return run(sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
