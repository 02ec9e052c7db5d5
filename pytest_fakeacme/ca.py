"""The certificate authority: an ECDSA P-256 root and intermediate made at start, and leaf
certificates as Boulder's issuance template makes them (CSRs are checked in :mod:`.csr`).

It never sees an HTTP request: the front end hands it a checked CSR and the order's
identifiers, and gets back PEM. Keys are P-256 because they are made in well under a
millisecond; clients never depend on the CA's own key type.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import ipaddress
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import (
    AuthorityInformationAccessOID,
    ExtendedKeyUsageOID,
    NameOID,
)

from .csr import cn_from_csr
from .model import Identifier
from .profiles import Profile
from .renewal import cert_id as renewal_cert_id

#: Let's Encrypt's default certificate lifetime.
DEFAULT_VALIDITY = _dt.timedelta(days=90)
#: What a leaf gets when no profile applies: a subject CN, 90 days (``certificate_validity``).
DEFAULT_PROFILE = Profile("", DEFAULT_VALIDITY)
#: The CA/Browser Forum's domain-validated policy (2.23.140.1.2.1), in every leaf.
DOMAIN_VALIDATED = x509.ObjectIdentifier("2.23.140.1.2.1")
#: Boulder's profiles' ``maxValidityBackdate`` in its configuration (test/config/ca.json:58,
#: 1h5m); Let's Encrypt's production value is not published.
MAX_VALIDITY_BACKDATE = _dt.timedelta(hours=1, minutes=5)
#: Boulder's ``GenerateValidity`` backdates notBefore by 0.9 of it (issuance/cert.go:125-131),
#: so that clocks that run a little slow accept the certificate: 58m30s.
BACKDATE = MAX_VALIDITY_BACKDATE * 0.9

@dataclass(frozen=True)
class Issued:
    """What :meth:`CertificateAuthority.issue` made: leaf and chain PEM, serial, validity."""

    serial: int
    pem: str
    chain_pem: str
    not_before: _dt.datetime
    not_after: _dt.datetime
    #: RFC 9773 4.1 certificate identifier.
    ari_id: str = ""
    #: Alternate chains (intermediate PEMs leading to other roots).
    alternate_chains: tuple[str, ...] = ()
    #: When it was issued (notBefore is backdated).
    issued_at: _dt.datetime | None = None


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


CAKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
KEY_TYPES = ("ecdsa", "rsa")


def _new_key(key_type: str) -> CAKey:
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _name(org: str, common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _ca_certificate(
    subject: x509.Name,
    key: CAKey,
    issuer: x509.Name,
    issuer_key: CAKey,
    path_length: int | None,
    start: _dt.datetime,
    end: _dt.datetime,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
    )
    if issuer_key is not key:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def crl_shard(serial: int, shards: int) -> int:
    """The 1-based CRL shard of a certificate (Boulder ``issuance/cert.go``)."""
    return serial % shards + 1


class CertificateAuthority:
    """A root, one or more intermediates (the last signs leaves), and optional alternate roots
    that cross-sign the top intermediate.

    :param key_type: ``"ecdsa"`` (P-256, made in microseconds) or ``"rsa"`` (2048 bits).
    :param intermediates: how many intermediates the chain has (Pebble's chain length).
    :param alternate_roots: how many alternate chains certificates come with.
    """

    def __init__(self, now: _dt.datetime, name: str = "Fake ACME", alternate_roots: int = 0,
                 key_type: str = "ecdsa", intermediates: int = 1) -> None:
        if key_type not in KEY_TYPES:
            raise ValueError(f"key_type must be one of {KEY_TYPES}, not {key_type!r}")
        start = now - _dt.timedelta(days=1)
        end = now + _dt.timedelta(days=3650)
        self.root_key = _new_key(key_type)
        root_name = _name(name, f"{name} Root {secrets.token_hex(3)}")
        self.root = _ca_certificate(root_name, self.root_key, root_name, self.root_key, None,
                                    start, end)
        letter = "R" if key_type == "rsa" else "E"
        # Top-down: the first intermediate is signed by the root, each next by the previous.
        chain: list[x509.Certificate] = []
        keys: list[CAKey] = []
        issuer_name, issuer_key = root_name, self.root_key
        for level in range(intermediates):
            key = _new_key(key_type)
            subject = _name(name, f"{name} Intermediate {letter}{level + 1}")
            cert = _ca_certificate(subject, key, issuer_name, issuer_key,
                                   intermediates - level - 1, start, end)
            chain.append(cert)
            keys.append(key)
            issuer_name, issuer_key = subject, key
        self.intermediate = chain[-1]
        self.intermediate_key = keys[-1]
        # Every leaf carries the same AKI; computed once (a SHA-1 over the issuer's key).
        self._leaf_aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(
            self.intermediate_key.public_key()
        )
        #: Where leaves' CRLs are published (``http://host:port/``), when they are.
        self.crl_base: str | None = None
        #: Where the issuing intermediate is served (leaves' caIssuers), when it is.
        self.issuer_url: str | None = None
        self.crl_shards = 128
        self.root_pem = _pem(self.root)
        # Served bottom-up after the leaf (RFC 8555 7.4.2: each certificate certifies the one
        # before it).
        self.chain_pem = "".join(_pem(c) for c in reversed(chain))
        # Alternate chains: other roots cross-sign the top intermediate (same subject and key),
        # as ISRG Root X1 was cross-signed by DST Root CA X3.
        self.alternate_roots: list[x509.Certificate] = []
        self.alternate_chain_pems: list[str] = []
        self._alternate_root_keys: list[CAKey] = []
        self._cross_signed: list[x509.Certificate] = []
        for index in range(alternate_roots):
            alt_key = _new_key(key_type)
            alt_name = _name(name, f"{name} Alternate Root {index + 1} {secrets.token_hex(3)}")
            alt_root = _ca_certificate(alt_name, alt_key, alt_name, alt_key, None, start, end)
            cross = _ca_certificate(chain[0].subject, keys[0], alt_name, alt_key,
                                    intermediates - 1, start, end)
            self.alternate_roots.append(alt_root)
            self._alternate_root_keys.append(alt_key)
            self._cross_signed.append(cross)
            self.alternate_chain_pems.append(
                "".join(_pem(c) for c in reversed(chain[1:])) + _pem(cross)
            )

    @property
    def chain_count(self) -> int:
        """How many chains certificates come with (the default one and the alternates)."""
        return 1 + len(self.alternate_roots)

    def chain_root(self, index: int) -> tuple[x509.Certificate, CAKey]:
        """Chain ``index``'s root and its key (0: the default chain)."""
        if index == 0:
            return self.root, self.root_key
        return self.alternate_roots[index - 1], self._alternate_root_keys[index - 1]

    def chain_intermediate(self, index: int) -> tuple[x509.Certificate, CAKey]:
        """The leaf-signing intermediate as chain ``index`` carries it, and its key (shared by
        every chain, as Pebble's are): with one intermediate, the alternates carry it
        cross-signed by their roots."""
        if index == 0 or len(self._cross_signed) < index:
            return self.intermediate, self.intermediate_key
        cross = self._cross_signed[index - 1]
        return (cross, self.intermediate_key) if cross.subject == self.intermediate.subject and (
            cross.public_key() == self.intermediate.public_key()
        ) else (self.intermediate, self.intermediate_key)

    @property
    def issuer_key_ids(self) -> tuple[bytes, ...]:
        """The Subject Key Identifiers of the issuing intermediates (every chain's top
        intermediate has the same key), which ARI certificate ids start with."""
        ski = self.intermediate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        return (ski.value.digest,)

    def issuer_problem(self, cert: x509.Certificate) -> str | None:
        """Why Boulder would not take ``cert`` as one of its own (wfe2/wfe.go:997-1006):
        ``"unrecognized"`` for another issuer's name, ``"signature"`` when the issuer's key did
        not sign it; None when it did."""
        if cert.issuer != self.intermediate.subject:
            return "unrecognized"
        try:
            cert.verify_directly_issued_by(self.intermediate)
        except (ValueError, TypeError, InvalidSignature):
            return "signature"
        return None

    def crl_url(self, shard: int) -> str:
        """Where CRL shard ``shard`` is published (once :attr:`crl_base` is set)."""
        return f"{self.crl_base}{shard}.crl"

    def issue(
        self,
        csr: x509.CertificateSigningRequest,
        identifiers: Sequence[Identifier],
        now: _dt.datetime,
        profile: Profile = DEFAULT_PROFILE,
        not_before: _dt.datetime | None = None,
        not_after: _dt.datetime | None = None,
    ) -> Issued:
        """Sign a leaf for the CSR's key naming exactly ``identifiers``, with the contents
        ``profile`` gives it (Boulder issuance/cert.go ``generateTemplate``)."""
        # Truncated to the second, as Go's Truncate(time.Second) does.
        start = not_before or (now - BACKDATE).replace(microsecond=0)
        end = not_after or (start + profile.validity - _dt.timedelta(seconds=1)).replace(
            microsecond=0)
        serial = int.from_bytes(secrets.token_bytes(16), "big") >> 1 or 1
        sans: list[x509.GeneralName] = []
        for ident in identifiers:
            if ident.type == "ip":
                sans.append(x509.IPAddress(ipaddress.ip_address(ident.value)))
            else:
                sans.append(x509.DNSName(ident.value))
        common_name = cn_from_csr(csr) if profile.common_name else ""
        subject = x509.Name(
            [x509.NameAttribute(NameOID.COMMON_NAME, common_name)] if common_name else [])
        public = csr.public_key()
        key_usage = x509.KeyUsage(
            digital_signature=True,
            # Boulder: keyEncipherment for RSA keys unless the profile omits it
            # (issuance/cert.go:330-339).
            key_encipherment=profile.key_encipherment and isinstance(public, rsa.RSAPublicKey),
            content_commitment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=False,
            crl_sign=False,
            encipher_only=False,
            decipher_only=False,
        )
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.intermediate.subject)
            .public_key(public)
            .serial_number(serial)
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(key_usage, critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH]
                    + ([ExtendedKeyUsageOID.CLIENT_AUTH] if profile.client_auth else [])
                ),
                critical=False,
            )
            .add_extension(x509.SubjectAlternativeName(sans), critical=not subject)
            .add_extension(self._leaf_aki, critical=False)
            # Baseline Requirements 7.1.6.1, domain validated (issuance/cert.go:196-207).
            .add_extension(x509.CertificatePolicies([x509.PolicyInformation(
                DOMAIN_VALIDATED, None)]), critical=False)
        )
        if profile.subject_key_id:
            builder = builder.add_extension(x509.SubjectKeyIdentifier(subject_key_id(public)),
                                            critical=False)
        if self.issuer_url is not None:
            # The issuer's URL only: no OCSP URL since May 2025 (issuance/cert.go:196-207).
            builder = builder.add_extension(x509.AuthorityInformationAccess([
                x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS,
                                       x509.UniformResourceIdentifier(self.issuer_url))]),
                critical=False)
        if self.crl_base is not None:
            # One distribution point, the certificate's shard (Boulder issuance/cert.go); no
            # OCSP URL, as Let's Encrypt has put none in certificates since May 2025.
            shard = crl_shard(serial, self.crl_shards)
            builder = builder.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
                full_name=[x509.UniformResourceIdentifier(self.crl_url(shard))],
                relative_name=None, reasons=None, crl_issuer=None)]), critical=False)
        cert = builder.sign(self.intermediate_key, hashes.SHA256())
        return Issued(
            serial=serial,
            pem=_pem(cert),
            chain_pem=self.chain_pem,
            not_before=start,
            not_after=end,
            ari_id=renewal_cert_id(cert, self._leaf_aki),
            alternate_chains=tuple(self.alternate_chain_pems),
            issued_at=now,
        )


def subject_key_id(public: CertificatePublicKeyTypes) -> bytes:
    """Boulder's ``GenerateSKID`` (core/util.go:171-192; RFC 7093 2 method 1): the leftmost
    160 bits of the SHA-256 of the subjectPublicKey BIT STRING's contents (an RSA key's PKCS#1
    DER, an EC key's uncompressed point)."""
    if isinstance(public, rsa.RSAPublicKey):
        raw = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    elif isinstance(public, ec.EllipticCurvePublicKey):
        raw = public.public_bytes(serialization.Encoding.X962,
                                  serialization.PublicFormat.UncompressedPoint)
    else:  # the CSR checks admit RSA and ECDSA keys only (goodkey)
        raise TypeError(f"no subject key identifier for {type(public).__name__}")
    return hashlib.sha256(raw).digest()[:20]


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        key_encipherment=False,
        content_commitment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
