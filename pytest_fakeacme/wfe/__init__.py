"""The web front end: one handler module per kind of resource, wired up by :func:`build_app`.

Modules, in the direction of their imports: ``http`` (the request and answer types) and
``common`` (what handlers share) under the handler modules (``directory``, ``accounts``,
``identifiers``, ``orders``, ``authz``, ``lifecycle``), which never import each other but
``identifiers``; ``app`` (the rules every request follows) over ``common``; this module's route
table over them all.
"""

from __future__ import annotations

from . import accounts, authz, directory, lifecycle, orders
from .app import AcmeApp, Route
from .common import Frontend

ROUTES = (
    Route("/directory", "directory", directory.directory, ("GET",), None),
    Route("/terms/<version>", "terms", directory.terms, ("GET",), None),
    Route("/terms-agreement/<version>", "termsAgreement", directory.terms_agreement, ("GET",),
          None),
    Route("/acme/new-nonce", "newNonce", directory.new_nonce, ("GET", "HEAD"), None),
    Route("/acme/new-acct", "newAccount", accounts.new_account, ("POST",), "jwk"),
    Route("/acme/acct/<account_id>", "account", accounts.account),
    Route("/acme/acct/<account_id>/orders", "orders", accounts.account_orders,
          post_as_get_only=True),
    Route("/acme/new-order", "newOrder", orders.new_order),
    Route("/acme/new-authz", "newAuthz", orders.new_authz),
    Route("/acme/order/<order_id>", "order", orders.order, post_as_get_only=True),
    Route("/acme/finalize/<order_id>", "finalize", orders.finalize),
    Route("/acme/cert/<cert_id>", "certificate", orders.certificate, post_as_get_only=True),
    Route("/acme/cert/<cert_id>/<chain>", "certificate", orders.certificate,
          post_as_get_only=True),
    Route("/acme/revoke-cert", "revokeCert", lifecycle.revoke_cert, ("POST",), "either"),
    Route("/acme/key-change", "keyChange", lifecycle.key_change),
    Route("/acme/renewal-info/<cert_id>", "renewalInfo", lifecycle.renewal_info, ("GET",),
          None),
    Route("/acme/authz/<authz_id>", "authorization", authz.authorization),
    Route("/acme/chall/<authz_id>/<challenge_id>", "challenge", authz.challenge),
)


def build_app(frontend: Frontend) -> AcmeApp:
    """The WSGI application serving every ACME resource."""
    return AcmeApp(frontend, ROUTES)


__all__ = ["ROUTES", "AcmeApp", "Frontend", "Route", "build_app"]
