"""The validation authority: scripted outcomes and real checks of the client's responder."""

from __future__ import annotations

from .authority import Attempt, ValidationAuthority
from .render import AttemptContext, Finding

__all__ = ["Attempt", "AttemptContext", "Finding", "ValidationAuthority"]
