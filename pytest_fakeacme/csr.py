"""Certificate signing requests as Boulder reads them (its ``csr`` package): the WFE's parse,
``VerifyCSR``'s checks in their order, the identifiers a CSR asks for, and the Common Name a
certificate gets from it."""

from __future__ import annotations

import ipaddress
from collections.abc import Container

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID, SignatureAlgorithmOID

from . import goodkey, problems
from .model import Identifier

#: Boulder's ``maxCNLength`` (csr/csr.go:18): longer names never become the subject CN.
MAX_CN_LENGTH = 64
#: Boulder's ``goodSignatureAlgorithms`` (csr/csr.go:20-31): SHA-2 with RSA or ECDSA.
_GOOD_SIGNATURE_ALGORITHMS = frozenset({
    SignatureAlgorithmOID.RSA_WITH_SHA256, SignatureAlgorithmOID.RSA_WITH_SHA384,
    SignatureAlgorithmOID.RSA_WITH_SHA512, SignatureAlgorithmOID.ECDSA_WITH_SHA256,
    SignatureAlgorithmOID.ECDSA_WITH_SHA384, SignatureAlgorithmOID.ECDSA_WITH_SHA512,
})


def parse_csr(der: bytes) -> x509.CertificateSigningRequest:
    """The WFE's early parse of a finalize CSR (wfe2/wfe.go:2716-2721): a malformed
    problem with Go's error for what Go cannot parse."""
    if not der:
        raise problems.malformed(
            "Error parsing certificate request: asn1: syntax error: sequence truncated")
    if _der_outer_length(der) not in (None, len(der)):
        # encoding/asn1's Unmarshal leaves bytes after the request, and
        # x509.ParseCertificateRequest refuses them (crypto/x509/x509.go).
        raise problems.malformed(
            "Error parsing certificate request: asn1: syntax error: trailing data")
    try:
        csr = x509.load_der_x509_csr(der)
    except ValueError as exc:
        raise problems.malformed(f"Error parsing certificate request: {exc}") from None
    return csr


def verify_csr(
    csr: x509.CertificateSigningRequest, blocked: Container[bytes] = ()
) -> list[Identifier]:
    """Boulder ``csr.VerifyCSR`` (csr/csr.go:43-95) up to the policy check of its names,
    in its order: the key (Boulder's key policy), the signature algorithm, the signature,
    no e-mail addresses or URIs in the SAN, no IP address as the Common Name, at least
    one identifier. Returns the identifiers (``identifier.FromCSR``). Problems are bare
    badCSR ones; the caller adds the context."""
    try:
        public: object = csr.public_key()
    except (ValueError, UnsupportedAlgorithm):
        raise problems.bad_csr("invalid public key in CSR") from None
    if goodkey.go_type(public) == "<nil>" and not isinstance(
            public, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):
        # A key algorithm Go's x509 does not know (Ed448, X448) leaves the key nil.
        raise problems.bad_csr("invalid public key in CSR")
    reason = goodkey.key_problem(
        public, blocked, goodkey.key_digest(public) if blocked else b"")
    if reason is not None:
        raise problems.bad_csr(f"invalid public key in CSR: {reason}")
    if csr.signature_algorithm_oid not in _GOOD_SIGNATURE_ALGORITHMS:
        raise problems.bad_csr("signature algorithm not supported")
    try:
        good = csr.is_signature_valid
    except (InvalidSignature, UnsupportedAlgorithm):  # pragma: no cover - allow-listed
        good = False
    if not good:
        raise problems.bad_csr("invalid signature on CSR")
    sans = _sans(csr)
    if sans.get_values_for_type(x509.RFC822Name):
        raise problems.bad_csr("CSR contains one or more email address fields")
    if sans.get_values_for_type(x509.UniformResourceIdentifier):
        raise problems.bad_csr("CSR contains one or more URI fields")
    try:
        ipaddress.ip_address(_common_name(csr))
    except ValueError:
        pass
    else:
        raise problems.bad_csr("CSR contains IP address in Common Name")
    names = csr_identifiers(csr)
    if not names:
        raise problems.bad_csr("at least one identifier is required")
    return names


def _sans(csr: x509.CertificateSigningRequest) -> x509.SubjectAlternativeName:
    try:
        return csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return x509.SubjectAlternativeName([])
    except ValueError as exc:
        raise problems.bad_csr(f"CSR extensions could not be parsed: {exc}") from None


def _common_name(csr: x509.CertificateSigningRequest) -> str:
    for attr in csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME):
        return attr.value if isinstance(attr.value, str) else attr.value.decode()
    return ""


def cn_from_csr(csr: x509.CertificateSigningRequest) -> str:
    """Boulder's ``CNFromCSR`` (csr/csr.go:97-126): the CSR's CN lower-cased when it is at
    most 64 characters and not an IP address; without one, the first DNS name of the CSR
    (in its order) that is short enough; else none."""
    requested = _common_name(csr)
    if len(requested) > MAX_CN_LENGTH:
        return ""
    if requested:
        try:
            ipaddress.ip_address(requested)
        except ValueError:
            return requested.lower()
        return ""
    for name in _sans(csr).get_values_for_type(x509.DNSName):
        if len(name) <= MAX_CN_LENGTH:
            return name.lower()
    return ""


def csr_identifiers(csr: x509.CertificateSigningRequest) -> list[Identifier]:
    """Boulder ``identifier.FromCSR``: the DNS names of the SAN and the Common Name (as a DNS
    name, whatever it looks like), and the SAN's IP addresses; lower-cased, de-duplicated,
    sorted with DNS names first."""
    sans = _sans(csr)
    found = [Identifier("dns", name) for name in sans.get_values_for_type(x509.DNSName)]
    common_name = _common_name(csr)
    if common_name:
        found.append(Identifier("dns", common_name))
    found += [Identifier("ip", str(ip)) for ip in sans.get_values_for_type(x509.IPAddress)]
    unique = {Identifier(i.type, i.value.lower()) for i in found}
    return sorted(unique, key=lambda i: (i.type != "dns", i.value))


def _der_outer_length(der: bytes) -> int | None:
    """The length of the first DER element (header and content), or None when the
    header cannot be read (the parser then says what is wrong)."""
    if len(der) < 2:
        return None
    first = der[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    if count == 0 or count > 4 or len(der) < 2 + count:
        return None
    return 2 + count + int.from_bytes(der[2:2 + count], "big")
