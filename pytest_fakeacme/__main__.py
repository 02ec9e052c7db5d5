"""Command line: ``python -m pytest_fakeacme demo``, ``python -m pytest_fakeacme serve`` and
``python -m pytest_fakeacme conformance`` (also the ``pytest-fakeacme`` script).

``serve`` is a drop-in for Pebble plus pebble-challtestsrv: the same default ports, both
management APIs, and Pebble's environment knobs where they map (docs/pebble-compat.md).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any

#: Pebble's truthy values for its boolean environment knobs (``va/va.go``).
_PEBBLE_TRUE = ("1", "true", "True", "TRUE")


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
        "(e.g. FAKE_ACME_PORT), and every setting one of its own (e.g. "
        "FAKE_ACME_DEFAULT_PROFILE=tlsserver). Pebble's PEBBLE_* knobs are honoured where "
        "they map.",
    )
    _serve_options(serve)
    from .conformance.cli import add_parser

    add_parser(commands)
    return parser


def _serve_options(serve: argparse.ArgumentParser) -> None:
    def port(name: str, default: int, text: str) -> None:
        serve.add_argument(f"--{name}", type=int,
                           default=int(_env(name.upper().replace("-", "_"), default)), help=text)

    serve.add_argument("--host", default=_env("HOST", "127.0.0.1"),
                       help="loopback address to listen on (default 127.0.0.1)")
    port("port", 14000, "ACME HTTPS port (default 14000, like Pebble; 0 for a free one)")
    port("http01-port", 5002, "where the VA sends http-01 requests (default 5002, like Pebble)")
    port("tls-alpn01-port", 5001, "where the VA connects for tls-alpn-01 (default 5001)")
    port("https-port", 5003, "where the VA connects when http-01 redirects to https, and the "
         "https-01 responder listens (default 5003, like pebble-challtestsrv)")
    port("dns-port", 8053, "the fake's DNS server, UDP and TCP (default 8053)")
    port("management-port", 8055, "plain-HTTP management API with challtestsrv's and Pebble's "
         "endpoints (default 8055; -1 for none)")
    port("https-management-port", 15000, "the same API over HTTPS, as Pebble's management "
         "listener (default 15000; -1 for none)")
    port("crl-port", 0, "where CRLs are served over HTTP (default: a free port; -1 for none)")
    serve.add_argument("--flavor", choices=("boulder", "rfc"), default=_env("FLAVOR", None))
    serve.add_argument("--va-default", default=_env("VA_DEFAULT", None),
                       help="what validations find when nothing is scripted (real, valid, ...)")
    serve.add_argument("--alternate-roots", type=int, default=_env("ALTERNATE_ROOTS", None),
                       help="alternate chains certificates come with (0-4; Pebble's "
                       "PEBBLE_ALTERNATE_ROOTS)")
    serve.add_argument("--intermediates", type=int, default=_env("INTERMEDIATES", None),
                       help="intermediates per chain (1-4; Pebble's PEBBLE_CHAIN_LENGTH)")
    serve.add_argument("--ca-key-type", choices=("ecdsa", "rsa"),
                       default=_env("CA_KEY_TYPE", "ecdsa"),
                       help="the issuing hierarchy's keys (Pebble's management API serves RSA "
                       "keys only)")
    serve.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                       help="any setting, e.g. --set default_profile=tlsserver (repeatable)")
    serve.add_argument("--allow-non-loopback", action="store_true",
                       default=_env("ALLOW_NON_LOOPBACK", "") in _PEBBLE_TRUE,
                       help="let the VA connect to addresses beyond this machine")
    serve.add_argument("--fault", action="append", default=[],
                       help='a fault spec, e.g. "nonce_reject_rate 0.1 seed=7" (repeatable)')
    serve.add_argument("--clock-start", default=_env("CLOCK_START", None),
                       help="start the fake's clock at this ISO 8601 time")
    serve.add_argument("--json", action="store_true", help="print the addresses as JSON")


def _pebble_int(env: Mapping[str, str], name: str) -> int | None:
    try:
        return int(env[name], 10) if name in env else None
    except ValueError:
        return None


def pebble_knobs(env: Mapping[str, str]) -> dict[str, Any]:
    """What Pebble's environment variables mean for the fake (``va/va.go``, ``wfe/wfe.go``,
    ``cmd/pebble/main.go``): keyword arguments for :class:`~pytest_fakeacme.FakeACME`, plus
    ``"faults"`` (fault specs). ``PEBBLE_VA_NOSLEEP`` and ``PEBBLE_VA_SLEEPTIME`` need nothing:
    the fake never sleeps."""
    knobs: dict[str, Any] = {}
    if env.get("PEBBLE_VA_ALWAYS_VALID") in _PEBBLE_TRUE:
        knobs["va_default"] = "valid"
    reuse = _pebble_int(env, "PEBBLE_AUTHZREUSE")
    if reuse is not None and 0 <= reuse <= 100:
        # Pebble reuses with this probability; the fake is deterministic: any chance is yes.
        knobs["authz_reuse"] = reuse > 0
    if "PEBBLE_WFE_NONCEREJECT" in env:
        percent = _pebble_int(env, "PEBBLE_WFE_NONCEREJECT")
        percent = 5 if percent is None else min(max(percent, 0), 100)
        if percent == 100:
            knobs["faults"] = ["nonce_reject_rate 1"]
        elif percent > 0:
            knobs["faults"] = [f"nonce_reject_rate {min(percent, 99) / 100}"]
    page = _pebble_int(env, "PEBBLE_WFE_ORDERS_PER_PAGE")
    if page is not None and page > 0:
        knobs["orders_page_size"] = page
    roots = _pebble_int(env, "PEBBLE_ALTERNATE_ROOTS")
    if roots is not None and roots >= 0:
        knobs["alternate_chains"] = roots
    length = _pebble_int(env, "PEBBLE_CHAIN_LENGTH")
    if length is not None and length >= 0:
        knobs["intermediates"] = length
    return knobs


def _settings(args: argparse.Namespace, env: Mapping[str, str]) -> dict[str, Any]:
    """Settings from ``FAKE_ACME_<NAME>`` and ``--set NAME=VALUE`` (the latter wins)."""
    from .config import Settings, parse_setting
    from .errors import FakeACMEUsageError

    values: dict[str, Any] = {}
    for field in fields(Settings):
        text = env.get(f"FAKE_ACME_{field.name.upper()}")
        if text is not None and field.name != "flavor":
            values[field.name] = parse_setting(field.name, text)
    for item in args.set:
        name, sep, text = item.partition("=")
        if not sep:
            raise FakeACMEUsageError(f"--set takes NAME=VALUE, not {item!r}")
        values[name.strip()] = parse_setting(name.strip(), text)
    return values


def _build(args: argparse.Namespace, env: Mapping[str, str]) -> Any:
    from .clock import Clock
    from .fake import FakeACME
    from .outcomes import by_name

    knobs = pebble_knobs(env)
    faults = knobs.pop("faults", [])
    va_default = args.va_default or knobs.pop("va_default", "real")
    for name, given in (("alternate_chains", args.alternate_roots),
                        ("intermediates", args.intermediates), ("flavor", args.flavor)):
        if given is not None:
            knobs[name] = given
    knobs.update(_settings(args, env))
    clock = None
    if args.clock_start:
        clock = Clock(_dt.datetime.fromisoformat(args.clock_start.replace("Z", "+00:00")))
    extra: dict[str, Any] = {k: int(v) if k in ("alternate_chains", "intermediates") else v
                             for k, v in knobs.items()}
    fake = FakeACME(host=args.host, port=args.port, http01_port=args.http01_port,
                    tls_alpn01_port=args.tls_alpn01_port, https_port=args.https_port,
                    dns_port=args.dns_port, crl_port=None if args.crl_port < 0 else args.crl_port,
                    ca_key_type=args.ca_key_type, va_default=by_name(va_default), clock=clock,
                    **extra)
    fake.dns.allow_non_loopback = args.allow_non_loopback
    for spec in [*faults, *args.fault]:
        fake.faults.add_spec(spec)
    return fake


def _info(fake: Any, plain: str | None, https: str | None) -> dict[str, Any]:
    return {
        "directory": fake.directory_url,
        "ca_bundle": fake.ca_bundle,
        "roots": fake.roots_path,
        "management": fake.management_url,
        "management_http": plain,
        "management_https": https,
        "dns": f"{fake.dns.address[0]}:{fake.dns.address[1]}" if fake.dns.address else None,
        "http01_port": fake.http01_port,
        "tls_alpn01_port": fake.tls_alpn01_port,
        "https_port": fake.va.https_port,
        "crl": fake.crl_base,
    }


def serve(args: argparse.Namespace) -> int:
    """Run the standalone fake until SIGINT or SIGTERM."""
    from .errors import BindError, FakeACMEUsageError

    try:
        fake = _build(args, os.environ)
    except (FakeACMEUsageError, ValueError) as exc:
        print(f"pytest-fakeacme: {exc}", file=sys.stderr)
        return 2
    try:
        fake.start()
    except BindError as exc:
        print(f"pytest-fakeacme: {exc.advice(command_line=True)}", file=sys.stderr)
        return 2
    plain = https = None
    try:
        if args.management_port >= 0:
            plain = fake.serve_management(args.management_port, tls=False)
        if args.https_management_port >= 0:
            https = fake.serve_management(args.https_management_port)
    except BindError as exc:
        fake.stop()
        print(f"pytest-fakeacme: {exc.advice(command_line=True)}", file=sys.stderr)
        return 2
    try:
        info = _info(fake, plain, https)
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
        fake.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "conformance":
        from .conformance.cli import run as conformance

        return conformance(args)
    from .demo import run

    return run(sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
