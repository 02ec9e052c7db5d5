"""Helpers for tests that drive programs installed on the machine (CLI clients, a browser)."""

from __future__ import annotations

import os
import shutil

import pytest


def require_binary(name: str) -> str:
    """The path of ``name``; in CI (``CI`` set) a missing program fails the test, since
    ``.ci/run`` installs it; elsewhere the test is skipped."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed; .ci/run installs it")
        pytest.skip(f"{name} is not installed")
    return path
