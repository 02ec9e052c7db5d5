"""Pebble's management API (Pebble's ``wfe/wfe.go`` ``ManagementHandler``), with its paths,
answers and headers: the issuing hierarchy's certificates and keys by chain, a certificate's
status by serial, and a verbatim renewalInfo answer for a certificate.

Suites discover issuer names for alternate-chain tests here: ``/intermediates/1`` is chain 1's
leaf-signing intermediate, with ``Link: <...>;rel="alternate"`` naming the other chains'.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Callable
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.wrappers import Request, Response

from .. import problems
from .context import Management

PebbleHandler = Callable[[Management, Request, str], Response]

#: Path prefixes, each with the handler of the rest of the path.
PREFIXES: dict[str, PebbleHandler] = {}

_PEM_CHAIN = "application/pem-certificate-chain; charset=utf-8"
_PEM_FILE = "application/x-pem-file; charset=utf-8"


def _prefix(path: str) -> Callable[[PebbleHandler], PebbleHandler]:
    def register(handler: PebbleHandler) -> PebbleHandler:
        PREFIXES[path] = handler
        return handler
    return register


def _not_found() -> Response:
    return Response(b"", status=404)


def _index(rest: str) -> int | None:
    # Go's strconv.Atoi: an optional sign and decimal digits.
    text = rest[1:] if rest[:1] in ("+", "-") else rest
    if not text.isascii() or not text.isdigit():
        return None
    return int(rest)


def _chain_answer(app: Management, request: Request, prefix: str, rest: str,
                  pem: Callable[[int], bytes | None], content_type: str) -> Response:
    """One chain's PEM, with a ``Link: rel="alternate"`` for each other chain
    (``handleCert``/``handleKey``), built from the request's own scheme and host."""
    index = _index(rest)
    count = app.ca.chain_count
    if index is None or not 0 <= index < count:
        return _not_found()
    body = pem(index)
    if body is None:
        return _not_found()
    response = Response(body, status=200, content_type=content_type)
    base = f"{request.scheme}://{request.host}{request.script_root}{prefix}"
    for other in range(count):
        if other != index:
            response.headers.add("Link", f'<{base}{other}>;rel="alternate"')
    return response


def _certificate_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _rsa_key_pem(key: Any) -> bytes | None:
    # Pebble serves RSA keys only (PKCS#1); an ECDSA hierarchy's key endpoints answer 404.
    if not isinstance(key, rsa.RSAPrivateKey):
        return None
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


@_prefix("/roots/")
def roots(app: Management, request: Request, rest: str) -> Response:
    """Chain n's root certificate."""
    return _chain_answer(app, request, "/roots/", rest,
                         lambda n: _certificate_pem(app.ca.chain_root(n)[0]), _PEM_CHAIN)


@_prefix("/root-keys/")
def root_keys(app: Management, request: Request, rest: str) -> Response:
    """Chain n's root key (RSA hierarchies only)."""
    return _chain_answer(app, request, "/root-keys/", rest,
                         lambda n: _rsa_key_pem(app.ca.chain_root(n)[1]), _PEM_FILE)


@_prefix("/intermediates/")
def intermediates(app: Management, request: Request, rest: str) -> Response:
    """Chain n's leaf-signing intermediate."""
    return _chain_answer(app, request, "/intermediates/", rest,
                         lambda n: _certificate_pem(app.ca.chain_intermediate(n)[0]), _PEM_CHAIN)


@_prefix("/intermediate-keys/")
def intermediate_keys(app: Management, request: Request, rest: str) -> Response:
    """The leaf-signing intermediate's key (RSA hierarchies only)."""
    return _chain_answer(app, request, "/intermediate-keys/", rest,
                         lambda n: _rsa_key_pem(app.ca.chain_intermediate(n)[1]), _PEM_FILE)


def go_time(value: _dt.datetime) -> str:
    """Go's ``time.Time.String()`` of a UTC time: ``2026-12-02 03:56:41.243651 +0000 UTC``
    (the fraction without trailing zeros, none when zero)."""
    value = value.astimezone(_dt.timezone.utc)
    fraction = f"{value.microsecond:06d}".rstrip("0")
    return value.strftime("%Y-%m-%d %H:%M:%S") + (f".{fraction}" if fraction else "") + (
        " +0000 UTC"
    )


def _hex_serial(rest: str) -> int | None:
    # big.Int.SetString(s, 16): an optional sign, then hex digits (either case).
    text = rest[1:] if rest[:1] in ("+", "-") else rest
    if not text or not all(c in "0123456789abcdefABCDEF" for c in text):
        return None
    return int(rest, 16)


@_prefix("/cert-status-by-serial/")
def cert_status_by_serial(app: Management, request: Request, rest: str) -> Response:
    """``{"Status": "Valid" | "Revoked", "Serial", "Certificate", "Reason", "RevokedAt"}`` of
    the certificate with this hex serial (issued ones, the roots and the intermediates)."""
    serial = _hex_serial(rest)
    if serial is None:
        return Response(b"", status=400)
    store = app.core.store
    app.core.reads.catch_up()
    with store.lock:
        cert_id = store.certificates_by_serial.get(serial)
        cert = store.certificates.get(cert_id) if cert_id else None
        reason, revoked_at = (cert.revoked_reason, cert.revoked_at) if cert else (None, None)
    if cert is not None:
        pem = x509.load_pem_x509_certificate(cert.pem.encode("ascii"))
    else:
        hierarchy = [app.ca.chain_root(n)[0] for n in range(app.ca.chain_count)] + [
            app.ca.chain_intermediate(n)[0] for n in range(app.ca.chain_count)]
        found = [c for c in hierarchy if c.serial_number == serial]
        if not found:
            return _not_found()
        pem = found[0]
    body: dict[str, Any] = {
        "Status": "Revoked" if reason is not None else "Valid",
        "Serial": format(serial, "x"),
        "Certificate": _certificate_pem(pem).decode("ascii"),
    }
    if reason is not None:
        body["Reason"] = reason
        if revoked_at is not None:
            body["RevokedAt"] = go_time(revoked_at)
    return Response(json.dumps(body, indent=3), status=200,
                    content_type="application/json; charset=utf-8")


def _problem(prob: problems.AcmeProblem) -> Response:
    return Response(json.dumps(prob.to_json(), indent=3), status=prob.status,
                    content_type="application/problem+json; charset=utf-8")


def set_renewal_info(app: Management, request: Request) -> Response:
    """``POST {"certificate": PEM, "ariResponse": text}``: renewalInfo for that certificate
    answers ``text`` verbatim (``""`` restores the computed window). Pebble wraps it as an
    ACME endpoint: a new nonce, ``Link: index`` and ``Cache-Control`` on every answer."""
    if request.method != "POST":
        response = _problem(problems.problem("malformed", "Method not allowed", 405))
        response.headers["Allow"] = "POST"
    else:
        response = _set_renewal_info(app, request.get_data())
    response.headers["Replay-Nonce"] = app.core.nonces.issue()
    response.headers["Link"] = f'<{request.scheme}://{request.host}/dir>;rel="index"'
    response.headers["Cache-Control"] = "public, max-age=0, no-cache"
    return response


def _set_renewal_info(app: Management, raw: bytes) -> Response:
    try:
        body = json.loads(raw)
        if not isinstance(body, dict):
            raise ValueError("not an object")
    except ValueError:
        return _problem(problems.malformed("Error unmarshaling request body"))
    fields = {key.lower(): value for key, value in body.items()}
    pem, answer = fields.get("certificate") or "", fields.get("ariresponse") or ""
    if not isinstance(pem, str) or not isinstance(answer, str):
        return _problem(problems.malformed("Error unmarshaling request body"))
    if not pem.lstrip().startswith("-----BEGIN CERTIFICATE-----"):
        return _problem(problems.malformed("Error decoding certificate PEM"))
    try:
        cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
    except ValueError:
        return _problem(problems.malformed("Error parsing certificate"))
    serial = cert.serial_number
    if serial not in app.core.store.certificates_by_serial:
        return _problem(problems.problem(
            "malformed", f"certificate with serial number {serial} not found", 404))
    app.core.ari.answer_verbatim(serial, answer)
    return Response(b"", status=200)
