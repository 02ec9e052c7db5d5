"""Helpers for tests that drive programs installed on the machine (CLI clients, a browser)."""

from __future__ import annotations

import os
import shutil

import pytest
from cryptography import x509

from pytest_fakeacme import FakeACME


def require_binary(name: str) -> str:
    """The path of ``name``; in CI (``CI`` set) a missing program fails the test, since
    ``.ci/run`` installs it; elsewhere the test is skipped."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed; .ci/run installs it")
        pytest.skip(f"{name} is not installed")
    return path


def verified_leaf(fake: FakeACME, pem: bytes, *names: str) -> x509.Certificate:
    """The leaf of the chain a client saved, after checking leaf <- intermediate <- the fake's
    root and that the leaf's DNS names are exactly ``names``."""
    leaf, intermediate = x509.load_pem_x509_certificates(pem)[:2]
    leaf.verify_directly_issued_by(intermediate)
    intermediate.verify_directly_issued_by(x509.load_pem_x509_certificate(fake.roots.encode()))
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == list(names)
    return leaf
