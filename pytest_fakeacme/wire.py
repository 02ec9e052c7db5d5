"""Wire format: the fake's URLs, and model objects as the RFC 8555 JSON resources clients read.

Timestamps are whole-second RFC 3339 in UTC (``2026-01-01T00:00:00Z``), as Boulder writes them.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from .model import DNS_PERSIST_01, Account, Authorization, Challenge, Order, Status


def rfc3339(value: _dt.datetime) -> str:
    """RFC 3339, UTC, whole seconds (Boulder truncates to seconds)."""
    return value.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Urls:
    """Every URL the fake serves, built from one base (``https://127.0.0.1:PORT``).

    The paths are Boulder's shape; clients must follow the directory, not guess them.
    """

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    @property
    def directory(self) -> str:
        """The directory (RFC 8555 7.1.1)."""
        return f"{self.base}/directory"

    def endpoint(self, name: str) -> str:
        """A directory endpoint by its directory key (``newNonce``, ``newOrder``, ...)."""
        return f"{self.base}/acme/{_ENDPOINT_PATHS[name]}"

    def terms(self, version: int = 1) -> str:
        """A version of the terms of service (the directory names the current one)."""
        return f"{self.base}/terms/v{version}"

    def terms_agreement(self, version: int) -> str:
        """The page a person visits to agree to new terms (``userActionRequired``'s
        ``instance``, RFC 8555 7.3.3)."""
        return f"{self.base}/terms-agreement/v{version}"

    def account(self, account_id: str) -> str:
        """An account's URL (its ``kid``)."""
        return f"{self.base}/acme/acct/{account_id}"

    def account_orders(self, account_id: str) -> str:
        """An account's orders list (RFC 8555 7.1.2.1)."""
        return f"{self.base}/acme/acct/{account_id}/orders"

    def order(self, order_id: str) -> str:
        """An order."""
        return f"{self.base}/acme/order/{order_id}"

    def authz(self, authz_id: str) -> str:
        """An authorization."""
        return f"{self.base}/acme/authz/{authz_id}"

    def challenge(self, authz_id: str, challenge_id: str) -> str:
        """A challenge."""
        return f"{self.base}/acme/chall/{authz_id}/{challenge_id}"

    def finalize(self, order_id: str) -> str:
        """An order's finalize URL."""
        return f"{self.base}/acme/finalize/{order_id}"

    def certificate(self, cert_id: str) -> str:
        """A certificate chain's download URL."""
        return f"{self.base}/acme/cert/{cert_id}"


_ENDPOINT_PATHS = {
    "newNonce": "new-nonce",
    "newAccount": "new-acct",
    "newOrder": "new-order",
    "revokeCert": "revoke-cert",
    "keyChange": "key-change",
    "renewalInfo": "renewal-info",
    "newAuthz": "new-authz",
}


def directory(urls: Urls, meta: dict[str, Any]) -> dict[str, Any]:
    """The directory object (RFC 8555 7.1.1); newAuthz is added by the caller when offered."""
    body: dict[str, Any] = {
        name: urls.endpoint(name) for name in _ENDPOINT_PATHS if name != "newAuthz"
    }
    body["meta"] = meta
    return body


def account(acct: Account, urls: Urls, flavor: str = "rfc") -> dict[str, Any]:
    """An account object (RFC 8555 7.1.2). The boulder flavor's is Let's Encrypt's: key,
    createdAt and status only (Boulder no longer stores contacts, and lists no orders:
    core/objects.go:84-101, grpc/pb-marshalling.go ``PbToRegistration``)."""
    body: dict[str, Any] = {
        "status": acct.status,
        "key": acct.jwk,
        "createdAt": rfc3339(acct.created),
    }
    if flavor == "boulder":
        return body
    body["orders"] = urls.account_orders(acct.id)
    if acct.contact:
        body["contact"] = list(acct.contact)
    if acct.terms_agreed:
        body["termsOfServiceAgreed"] = True
    return body


def challenge(chall: Challenge, authz_id: str, urls: Urls, account_id: str = ""
              ) -> dict[str, Any]:
    """A challenge object (RFC 8555 7.1.5, 8). A dns-persist-01 challenge has no token; it
    names the account and the issuer domain names instead (Boulder ``wfe2/wfe.go``)."""
    body: dict[str, Any] = {
        "type": chall.type,
        "url": urls.challenge(authz_id, chall.id),
        "status": chall.status,
    }
    if chall.type == DNS_PERSIST_01:
        body["accounturi"] = urls.account(account_id)
        body["issuer-domain-names"] = list(chall.issuer_domain_names)
    else:
        body["token"] = chall.token
    if chall.validated is not None:
        body["validated"] = rfc3339(chall.validated)
    if chall.error is not None:
        body["error"] = chall.error.to_json()
    if chall.validation_record:
        body["validationRecord"] = [dict(r) for r in chall.validation_record]
    return body


def authorization(authz: Authorization, status: Status, urls: Urls) -> dict[str, Any]:
    """An authorization object (RFC 8555 7.1.4); ``status`` as derived at read time."""
    body: dict[str, Any] = {
        "identifier": authz.identifier.to_json(),
        "status": status,
        "expires": rfc3339(authz.expires),
        "challenges": [challenge(c, authz.id, urls, authz.account_id) for c in authz.challenges],
    }
    if authz.wildcard:
        body["wildcard"] = True
    return body


def order(ordr: Order, status: Status, urls: Urls) -> dict[str, Any]:
    """An order object (RFC 8555 7.1.3); ``status`` derived by the caller."""
    body: dict[str, Any] = {
        "status": status,
        "expires": rfc3339(ordr.expires),
        "identifiers": [i.to_json() for i in ordr.identifiers],
        "authorizations": [urls.authz(a) for a in ordr.authorization_ids],
        "finalize": urls.finalize(ordr.id),
    }
    if ordr.not_before is not None:
        body["notBefore"] = rfc3339(ordr.not_before)
    if ordr.not_after is not None:
        body["notAfter"] = rfc3339(ordr.not_after)
    if ordr.profile:
        body["profile"] = ordr.profile
    if ordr.error is not None:
        body["error"] = ordr.error.to_json()
    if status == "valid" and ordr.certificate_id is not None:
        body["certificate"] = urls.certificate(ordr.certificate_id)
    return body
