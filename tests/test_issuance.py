"""End to end: certbot's acme library gets a certificate from the fake over real HTTPS."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from client import AcmeTestClient
from pytest_fakeacme import FakeACME
from responder import Responder


def test_issues_a_chain_for_two_names_that_verifies_against_roots(
    fake_acme: FakeACME, acme_client: AcmeTestClient, responder: Responder
) -> None:
    order = acme_client.issue("a.example", "b.example", responder=responder)

    chain = x509.load_pem_x509_certificates(order.fullchain_pem.encode())
    leaf, intermediate = chain
    root = x509.load_pem_x509_certificate(fake_acme.roots.encode())
    leaf.verify_directly_issued_by(intermediate)
    intermediate.verify_directly_issued_by(root)
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(san.get_values_for_type(x509.DNSName)) == ["a.example", "b.example"]
    # The VA really fetched both key authorizations from the responder.
    assert sorted(p.split("/")[-1] for p, _ in responder.seen) == sorted(
        a.body.challenges[0].chall.encode("token") for a in order.authorizations
    )
    assert [o.status for o in fake_acme.orders] == ["valid"]
    assert fake_acme.certificates[0].names == ["a.example", "b.example"]
    assert isinstance(fake_acme.certificates[0].x509.public_key(), ec.EllipticCurvePublicKey)
