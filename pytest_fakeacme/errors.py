"""Errors about the fake itself (misuse, start-up, bugs), as opposed to the ACME problems it
serves to clients (:mod:`pytest_fakeacme.problems`)."""

from __future__ import annotations

import threading
from typing import Any


class FakeACMEError(Exception):
    """Base class of every error the library raises in the caller's thread."""


class FakeACMEUsageError(FakeACMEError, ValueError):
    """The library was called wrongly (a wrong type, an unknown name, a knob out of range).
    Nothing was changed; the message says what to do instead."""


class BindError(FakeACMEError, OSError):
    """The server could not listen on the requested address (e.g. the port is taken).

    ``errno`` and ``strerror`` are the operating system's; ``setting`` names the argument
    that chose the port (``port``, ``dns_port``), so that the message can say what to pass
    instead, as a keyword argument or (:meth:`advice`) as a command-line option.
    """

    def __init__(self, errno: int | None, strerror: str, *, address: str, setting: str,
                 also: str = "") -> None:
        super().__init__(errno, strerror)
        self.address = address
        self.setting = setting
        self._also = also

    def advice(self, command_line: bool = False) -> str:
        """What failed and what to do, naming ``--dns-port 0`` rather than ``dns_port=0`` for
        a command-line user."""
        free = (f"--{self.setting.replace('_', '-')} 0" if command_line
                else f"{self.setting}=0")
        also = "" if command_line else self._also
        return (f"cannot listen on {self.address}: {self.strerror}. Use {free} for a free "
                f"port{also}, or stop what holds this one.")

    def __str__(self) -> str:
        return "pytest-fakeacme " + self.advice()

    def __reduce__(self) -> Any:
        # Picklable (xdist sends errors between processes) with its keyword arguments.
        return (_bind_error, (self.errno, self.strerror, self.address, self.setting, self._also))


def _bind_error(errno: int | None, strerror: str, address: str, setting: str, also: str
                ) -> BindError:
    return BindError(errno, strerror, address=address, setting=setting, also=also)


class ScriptError(FakeACMEUsageError):
    """A scripted outcome could not apply to the validation it was consumed by (e.g. a dns-01
    outcome met an http-01 challenge). The validation failed with ``serverInternal``."""


class UnusedScriptError(FakeACMEUsageError):
    """Outcomes were scripted that no validation used, and ``unused_scripts="error"`` makes
    that a failure (the fixture's teardown, or the end of ``with FakeACME()``)."""


class UnusedScriptWarning(UserWarning):
    """Outcomes were scripted that no validation used: a name the client never ordered (a
    typo, a URL), or more outcomes than validations. ``unused_scripts="error"`` makes it an
    :class:`UnusedScriptError`, ``"ignore"`` silences it."""


class ServerThreadError(FakeACMEError):
    """The fake raised an exception while serving a request or validating; the original is the
    ``__cause__``. Raised in the test by ``FakeACME.check()`` (and the fixture's teardown)."""


class ErrorSink:
    """Exceptions raised in the server's threads, kept until the test asks (``check()``), so a
    bug or a misused script fails the test that caused it instead of vanishing in a thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._errors: list[BaseException] = []

    def report(self, exc: BaseException) -> None:
        """Keep ``exc`` for the test."""
        with self._lock:
            self._errors.append(exc)

    def peek(self) -> list[BaseException]:
        """The exceptions kept, oldest first, without forgetting them."""
        with self._lock:
            return list(self._errors)

    def drain(self) -> list[BaseException]:
        """The exceptions kept, oldest first; forgets them."""
        with self._lock:
            errors, self._errors = self._errors, []
            return errors

    def raise_first(self) -> None:
        """Raise the first exception kept (forgetting them all): a
        :class:`FakeACMEError` as it is, anything else wrapped in :class:`ServerThreadError`
        with the original as its cause."""
        __tracebackhide__ = True  # pytest: the message says it all; this frame adds nothing
        errors = self.drain()
        if not errors:
            return
        first = errors[0]
        if isinstance(first, FakeACMEUsageError):
            # A misused script: where in the VA's thread it was found is of no use to the test.
            raise first.with_traceback(None)
        if isinstance(first, FakeACMEError):
            raise first
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ServerThreadError(
            f"the fake ACME server raised {type(first).__name__}: {first}{more}"
        ) from first
