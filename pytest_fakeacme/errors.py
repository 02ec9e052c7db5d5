"""Errors about the fake itself (misuse, start-up, bugs), as opposed to the ACME problems it
serves to clients (:mod:`pytest_fakeacme.problems`)."""

from __future__ import annotations


class FakeACMEError(Exception):
    """Base class of every error the library raises in the caller's thread."""


class FakeACMEUsageError(FakeACMEError, ValueError):
    """The library was called wrongly (a wrong type, an unknown name, a knob out of range).
    Nothing was changed; the message says what to do instead."""


class BindError(FakeACMEError, OSError):
    """The server could not listen on the requested address (e.g. the port is taken)."""


class ScriptError(FakeACMEUsageError):
    """A scripted outcome could not apply to the validation it was consumed by (e.g. a dns-01
    outcome met an http-01 challenge). The validation failed with ``serverInternal``."""


class ServerThreadError(FakeACMEError):
    """The fake raised an exception while serving a request or validating; the original is the
    ``__cause__``. Raised in the test by ``FakeACME.check()`` (and the fixture's teardown)."""
