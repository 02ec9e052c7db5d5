"""The public surface, pinned: ``FakeACME``'s names, what kind of member each is, and the
signatures of its constructor and methods, plus the package's ``__all__``.

A change here is a change users see. Internal restructuring must leave this file untouched; a
deliberate API change edits the snapshot below in the same commit, and the CHANGELOG says so.
"""

from __future__ import annotations

import inspect

import pytest_fakeacme
from pytest_fakeacme import FakeACME

#: ``name: kind`` for every public member of a FakeACME instance. Kinds: ``method`` (with its
#: signature), ``property`` (read-only), ``settable`` (a property with a setter), ``attribute``
#: (a plain instance attribute).
FAKE_ACME_SURFACE = {
    "accounts": "property",
    "alternate_roots": "property",
    "ari": "attribute",
    "authorizations": "property",
    "base_url": "property",
    "ca": "attribute",
    "ca_bundle": "property",
    "certificates": "property",
    "challenges": "property",
    "check": "method () -> None",
    "clock": "attribute",
    "configure": "method (**settings: 'Any') -> None",
    "crl": "method (certificate: 'views.CertificateView | int | None' = None, *, "
           "update: 'bool' = False) -> 'x509.CertificateRevocationList'",
    "crl_base": "property",
    "diagram": "method (order: 'str | None' = None) -> 'str'",
    "directory_url": "property",
    "dns": "attribute",
    "eab": "attribute",
    "errors": "property",
    "faults": "attribute",
    "flavor": "settable",
    "host": "attribute",
    "http01_port": "settable",
    "journal": "attribute",
    "limits": "attribute",
    "management_app": "property",
    "management_url": "property",
    "nonces": "attribute",
    "orders": "property",
    "port": "attribute",
    "reset": "method () -> None",
    "roots": "property",
    "roots_path": "property",
    "running": "property",
    "serve_management": "method (port: 'int' = 0, *, tls: 'bool' = True) -> 'str'",
    "settings": "attribute",
    "ssl_context": "method () -> 'ssl.SSLContext'",
    "start": "method () -> FakeACME",
    "stop": "method () -> None",
    "store": "attribute",
    "terms": "attribute",
    "tls_alpn01_port": "settable",
    "va": "attribute",
    "wsgi_app": "property",
}

FAKE_ACME_CONSTRUCTOR = (
    "(*, host: 'str' = '127.0.0.1', port: 'int' = 0, http01_port: 'int | None' = None, "
    "tls_alpn01_port: 'int | None' = None, https_port: 'int' = 443, "
    "dns_port: 'int | None' = 0, crl_port: 'int | None' = 0, "
    "alternate_chains: 'int' = 0, ca_key_type: 'str' = 'ecdsa', intermediates: 'int' = 1, "
    "flavor: 'Flavor' = 'boulder', va_default: 'Outcome | str | None' = None, "
    "clock: 'Clock | None' = None, **settings: 'Any') -> 'None'"
)

PACKAGE_ALL = [
    "AcmeProblem",
    "BindError",
    "Clock",
    "FakeACME",
    "FakeACMEError",
    "FakeACMEUsageError",
    "Outcome",
    "ScriptError",
    "ServerThreadError",
    "Settings",
    "UnusedScriptError",
    "UnusedScriptWarning",
    "__version__",
    "outcomes",
    "problems",
]


def _kind(fake: FakeACME, name: str) -> str:
    static = inspect.getattr_static(type(fake), name, None)
    if isinstance(static, property):
        return "settable" if static.fset is not None else "property"
    if static is not None and callable(static):
        signature = inspect.signature(getattr(fake, name))
        text = str(signature).replace("'None'", "None").replace("'FakeACME'", "FakeACME")
        return f"method {text}"
    assert name in vars(fake), f"{name} is neither a class member nor an instance attribute"
    return "attribute"


def test_fake_acme_public_members_are_pinned() -> None:
    fake = FakeACME()
    public = sorted(n for n in dir(fake) if not n.startswith("_"))
    assert {name: _kind(fake, name) for name in public} == FAKE_ACME_SURFACE


def test_fake_acme_constructor_signature_is_pinned() -> None:
    assert str(inspect.signature(FakeACME)) == FAKE_ACME_CONSTRUCTOR


def test_package_exports_are_pinned() -> None:
    assert sorted(pytest_fakeacme.__all__) == PACKAGE_ALL
    for name in PACKAGE_ALL:
        assert hasattr(pytest_fakeacme, name)


def test_a_changed_member_would_show() -> None:
    # The snapshot comparison above can fail: a subclass with one more public method and one
    # property turned into an attribute reads differently.
    class Changed(FakeACME):
        def extra(self) -> None:
            """Not part of the API."""

    fake = Changed()
    public = sorted(n for n in dir(fake) if not n.startswith("_"))
    seen = {name: _kind(fake, name) for name in public}
    assert seen != FAKE_ACME_SURFACE
    assert seen["extra"] == "method () -> None"
