"""The names of the fake's endpoints, as journal entries, faults and the route table name them:
the directory's keys for the endpoints it lists (RFC 8555 7.1.1: ``newNonce``, ``newAccount``,
``newOrder``, ...) and a resource's kind for the URLs a client is given (``order``,
``authorization``, ``challenge``, ...).

:data:`Endpoint` is a ``Literal``, so a type checker catches ``"new-order"`` where
``"newOrder"`` is meant; :data:`ENDPOINTS` is the same set at run time.
"""

from __future__ import annotations

import typing
from typing import Literal

Endpoint = Literal[
    "directory",
    "terms",
    "termsAgreement",
    "newNonce",
    "newAccount",
    "account",
    "orders",
    "newOrder",
    "newAuthz",
    "order",
    "finalize",
    "certificate",
    "revokeCert",
    "keyChange",
    "renewalInfo",
    "authorization",
    "challenge",
    "unpause",
]

#: Every endpoint name, for checks at run time.
ENDPOINTS: frozenset[str] = frozenset(typing.get_args(Endpoint))
