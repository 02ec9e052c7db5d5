"""The web front end: one handler module per kind of resource, wired up by :func:`build_app`.

Modules, in the direction of their imports: ``http`` (the request and answer types) and
``common`` (what handlers share) under the handler modules (``directory``, ``accounts``,
``identifiers``, ``orders``, ``authz``, ``lifecycle``, ``unpause``), which never import each
other but ``identifiers``; ``app`` (the rules every request follows) over ``common``; this
module's route table over them all.
"""

from __future__ import annotations

from . import accounts, authz, directory, lifecycle, orders, unpause
from .app import AcmeApp, Route
from .common import Frontend

# Methods as Boulder registers them (wfe2/wfe.go Handler): the resources that take GET also take
# POST (POST-as-GET, or a plain POST for renewalInfo) and answer 405 with "Allow: GET, POST,
# HEAD"; the others take POST only. The terms pages and newAuthz (off unless
# ``pre_authorization``) are the fake's; the orders list is RFC 8555's (7.1.2.1).
ROUTES = (
    Route("/directory", "directory", directory.directory, ("GET", "POST"),
          post_as_get_only=True),
    Route("/terms/<version>", "terms", directory.terms, ("GET",), None),
    Route("/terms-agreement/<version>", "termsAgreement", directory.terms_agreement, ("GET",),
          None),
    # Let's Encrypt's unpause pages (its Self-Service Frontend), which the fake serves itself.
    Route(unpause.UNPAUSE_PATH, "unpause", unpause.unpause_form, ("GET",), None),
    Route(unpause.DO_UNPAUSE_PATH, "unpause", unpause.do_unpause, ("POST",), None),
    Route(unpause.STATUS_PATH, "unpause", unpause.unpause_status, ("GET",), None),
    Route("/acme/new-nonce", "newNonce", directory.new_nonce, ("GET", "POST"),
          post_as_get_only=True),
    Route("/acme/new-acct", "newAccount", accounts.new_account, ("POST",), "jwk"),
    Route("/acme/acct/<account_id>", "account", accounts.account, requester=True),
    Route("/acme/acct/<account_id>/orders", "orders", accounts.account_orders,
          post_as_get_only=True),
    Route("/acme/new-order", "newOrder", orders.new_order, requester=True),
    Route("/acme/new-authz", "newAuthz", orders.new_authz),
    Route("/acme/order/<order_id>", "order", orders.order, ("GET", "POST"),
          post_as_get_only=True),
    Route("/acme/finalize/<order_id>", "finalize", orders.finalize, requester=True),
    Route("/acme/cert/<cert_id>", "certificate", orders.certificate, ("GET", "POST"),
          post_as_get_only=True),
    Route("/acme/cert/<cert_id>/<chain>", "certificate", orders.certificate, ("GET", "POST"),
          post_as_get_only=True),
    Route("/acme/revoke-cert", "revokeCert", lifecycle.revoke_cert, ("POST",), "either"),
    Route("/acme/key-change", "keyChange", lifecycle.key_change, requester=True),
    Route("/acme/renewal-info/", "renewalInfo", lifecycle.renewal_info, ("GET", "POST"), None),
    Route("/acme/renewal-info/<cert_id>", "renewalInfo", lifecycle.renewal_info,
          ("GET", "POST"), None),
    Route("/acme/authz/<authz_id>", "authorization", authz.authorization, ("GET", "POST"),
          requester=True),
    Route("/acme/chall/<authz_id>/<challenge_id>", "challenge", authz.challenge,
          ("GET", "POST"), lookup=authz.find_challenge, requester=True),
)


def build_app(frontend: Frontend) -> AcmeApp:
    """The WSGI application serving every ACME resource."""
    return AcmeApp(frontend, ROUTES)


__all__ = ["ROUTES", "AcmeApp", "Frontend", "Route", "build_app"]
