"""Command line: ``python -m pytest_fakeacme demo`` (also the ``pytest-fakeacme`` script)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(
        prog="pytest-fakeacme",
        description="A fake ACME (RFC 8555) certificate authority for tests.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "demo",
        help="start a fake CA and walk a small client through an issuance and four failures",
    )
    parser.parse_args(argv)  # "demo" is the only command so far
    from .demo import run

    return run(sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
