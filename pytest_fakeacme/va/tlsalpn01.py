"""The real tls-alpn-01 check (RFC 8737), following Boulder's ``va/tlsalpn.go``.

A TLS handshake with the client's responder on the fake's stand-in for port 443, offering only
ALPN ``acme-tls/1`` with SNI set to the name (for an IP identifier, its reverse-DNS name), then
the checks of the self-signed validation certificate: the single SAN, the critical
acmeIdentifier extension (1.3.6.1.5.5.7.1.31) holding SHA-256 of the key authorization. What it
sees is reported as an :class:`Outcome`, rendered by the same code as a scripted outcome.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import ssl
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from .. import outcomes
from .._gofmt import go_alert
from ..outcomes import Outcome
from .attempt import AttemptContext, Observation, alpn_record

#: RFC 8737 3: the id-pe-acmeIdentifier extension.
ACME_IDENTIFIER_OID = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.31")
ALPN_PROTOCOL = "acme-tls/1"


def _variant(name: str, **params: Any) -> Outcome:
    return outcomes.alpn_bad_cert(name).with_params(**params)


def _sni(ctx: AttemptContext) -> str:
    if ctx.identifier.type == "ip":
        # RFC 8738 6: the SNI of an IP identifier is its reverse-DNS name.
        return ipaddress.ip_address(ctx.hostname).reverse_pointer
    return ctx.hostname


def _self_signed(cert: x509.Certificate) -> bool:
    if cert.issuer != cert.subject:
        return False
    key = cert.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            assert cert.signature_hash_algorithm is not None
            key.verify(cert.signature, cert.tbs_certificate_bytes,
                       ec.ECDSA(cert.signature_hash_algorithm))
        elif isinstance(key, rsa.RSAPublicKey):
            assert cert.signature_hash_algorithm is not None
            key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(),
                       cert.signature_hash_algorithm)
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes)
        else:
            return False
    except (InvalidSignature, ValueError, AssertionError):
        return False
    return True


def _alt_names(cert: x509.Certificate, san: x509.SubjectAlternativeName) -> str:
    """Boulder ``certAltNames``: the CN and every SAN entry, lower-cased, de-duplicated,
    sorted, joined by ", "."""
    names = [str(a.value) for a in cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)]
    for kind in (x509.DNSName, x509.RFC822Name, x509.IPAddress, x509.UniformResourceIdentifier):
        names += [str(v) for v in san.get_values_for_type(kind)]
    return ", ".join(sorted({n.lower() for n in names}))


def _san_problem(san: x509.SubjectAlternativeName, ctx: AttemptContext) -> str | None:
    """Boulder ``checkExpectedSAN`` (va/tlsalpn.go): exactly the one identifier, then the
    extension's exact bytes."""
    dns_names = san.get_values_for_type(x509.DNSName)
    addresses = san.get_values_for_type(x509.IPAddress)
    expected: x509.GeneralName
    if ctx.identifier.type == "ip":
        if len(addresses) != 1 or dns_names:
            return "wrong number of identifiers"
        if addresses[0] != ipaddress.ip_address(ctx.hostname):
            return "identifier does not match expected identifier"
        expected = x509.IPAddress(ipaddress.ip_address(ctx.hostname))
    else:
        if len(dns_names) != 1 or addresses:
            return "wrong number of identifiers"
        if dns_names[0].lower() != ctx.hostname.lower():
            return "identifier does not match expected identifier"
        expected = x509.DNSName(ctx.hostname)
    if san.public_bytes() != x509.SubjectAlternativeName([expected]).public_bytes():
        return "SAN extension does not match expected bytes"
    return None


def check_certificate(der: bytes, ctx: AttemptContext) -> Outcome:
    """The outcome of Boulder's certificate checks on the responder's certificate, in its
    order: self-signed; no extension twice, acmeIdentifier and subjectAltName present; the
    SAN exactly the identifier; the acmeIdentifier critical and holding the digest."""
    try:
        cert = x509.load_der_x509_certificate(der)
        if not _self_signed(cert):
            return _variant("not_self_signed")
        extensions = cert.extensions
    except ValueError:
        # Go's TLS client refuses to parse the certificate (a duplicate extension, say) and
        # ends the handshake (va/tlsalpn_test.go:768-807).
        return _variant("duplicate_extension")
    oids = [e.oid for e in extensions]
    if ACME_IDENTIFIER_OID not in oids:
        return _variant("missing_extension")
    if x509.SubjectAlternativeName.oid not in oids:
        return _variant("missing_san")
    san = extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    why = _san_problem(san, ctx)
    if why is not None:
        return _variant("wrong_san", names=_alt_names(cert, san), why=why)
    acme_ext = extensions.get_extension_for_oid(ACME_IDENTIFIER_OID)
    if not acme_ext.critical:
        return _variant("not_critical")
    value = acme_ext.value
    raw = value.value if isinstance(value, x509.UnrecognizedExtension) else b""
    # RFC 8737 3: the extension value is a DER OCTET STRING of exactly 32 bytes.
    if len(raw) != 34 or raw[:2] != b"\x04\x20":
        return _variant("malformed_extension")
    expected = hashlib.sha256(ctx.key_authorization.encode("utf-8")).digest()
    if raw[2:] != expected:
        return _variant("wrong_digest", got=raw[2:].hex())
    return outcomes.valid()


def _no_data(address: str) -> Outcome:
    # Boulder detailedError's fallback for any other failure.
    return outcomes.problem("connection", f"{address}: Error getting validation data", 400)


class TlsAlpn01Prober:
    """Runs real tls-alpn-01 validations against responders on this machine."""

    def probe(self, ctx: AttemptContext) -> Observation:
        """Validate ``ctx``'s challenge for real. Boulder tries the first AAAA, then on any
        error the first A address."""
        v6 = [a for a in ctx.addresses if ":" in a][:1]
        v4 = [a for a in ctx.addresses if ":" not in a][:1]
        first = (v6 or v4 or [ctx.address])[0]
        outcome = self._attempt(ctx, first)
        record = alpn_record(ctx, first)
        if outcome.kind == "valid" or not v6:
            return Observation(outcome, [record], first)
        if not v4:
            # Boulder replaces the IPv6 error when there is nothing to fall back to.
            return Observation(outcomes.problem(
                "malformed",
                f'Unable to contact "{ctx.hostname}" at "{first}", no IPv4 addresses to try as '
                "fallback",
                400,
            ), [record], first)
        # Boulder (va/tlsalpn.go): on any IPv6 error, try the first A address; one record,
        # with the addresses tried.
        outcome = self._attempt(ctx, v4[0])
        record = alpn_record(ctx, v4[0])
        record["addressesTried"] = [first]
        return Observation(outcome, [record], v4[0])

    def _attempt(self, ctx: AttemptContext, address: str) -> Outcome:
        timeout = ctx.timeout
        try:
            raw = socket.create_connection((address, ctx.port), timeout=timeout)
        except ConnectionRefusedError:
            return outcomes.connection_refused()
        except TimeoutError:
            return outcomes.connect_timeout()
        except OSError:
            return _no_data(address)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE  # RFC 8737 3: the certificate is self-signed
        tls.minimum_version = ssl.TLSVersion.TLSv1_2
        tls.set_alpn_protocols([ALPN_PROTOCOL])
        try:
            with tls.wrap_socket(raw, server_hostname=_sni(ctx)) as conn:
                if conn.selected_alpn_protocol() != ALPN_PROTOCOL:
                    return _variant("no_alpn")
                der = conn.getpeercert(binary_form=True)
        except ssl.SSLError as exc:
            alert = go_alert(exc)
            if alert is not None:
                return outcomes.tls_alert(alert)
            if "WRONG_VERSION_NUMBER" in str(exc) or "HTTP_REQUEST" in str(exc):
                return _variant("plain_http")
            return _no_data(address)
        except TimeoutError:
            return outcomes.read_timeout()
        except ConnectionResetError:
            return outcomes.connection_reset()
        except OSError:
            return _no_data(address)
        finally:
            raw.close()
        if not der:
            return _variant("not_self_signed")
        return check_certificate(der, ctx)
