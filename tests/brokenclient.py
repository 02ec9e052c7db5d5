"""A small ACME client with switches that break it, for the conformance battery's tests.

Without switches it is a good client: RFC 8555 over HTTPS with an ES256 account kept in its
working directory, POST-as-GET reads, nonces from the answers, one retry on badNonce with the
nonce the error carried, Retry-After respected (one second between polls otherwise), the
problem's detail (and its instance URL, where a person would act) printed on failure,
agreement to changed terms (its user agreed to the CA's terms), the default chain, and renewal
information (RFC 9773) asked before renewing, with ``replaces``. Each switch breaks one of those
manners (or picks a legitimate variant: dns-01, refusing new terms, fetching alternate chains),
so that a test can say which case must notice.

Run it as a command (``python tests/brokenclient.py --ignore-retry-after``: it reads the
``FAKE_ACME_*`` variables), or hand :func:`client` to ``run_battery``.
"""

from __future__ import annotations

import argparse
import base64
import datetime as _dt
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import josepy
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pytest_fakeacme.conformance import Target
from pytest_fakeacme.demo import Answer
from pytest_fakeacme.renewal import cert_id

#: Seconds a wait for a status may last in all.
DEADLINE = 8.0
#: Directory entries this client knows (``strict_directory`` refuses any other).
KNOWN = {"newNonce", "newAccount", "newOrder", "revokeCert", "keyChange", "meta"}


@dataclass(frozen=True)
class Switches:
    """What to break; every switch off is a good client."""

    #: Poll every 0.2 s whatever Retry-After says, and retry a rate-limited request at once.
    ignore_retry_after: bool = False
    #: On rateLimited, ask again and again (five more times, without waiting), as a zombie
    #: client does.
    nag_rate_limits: bool = False
    #: Poll without any pause.
    hammer: bool = False
    #: Poll the challenge instead of the authorization, POSTing to it again and again without
    #: any pause until it is decided.
    hammer_challenge: bool = False
    #: Send the nonce of the previous request again, once.
    reuse_nonces: bool = False
    #: Ask newNonce before every POST instead of using the answers' nonces.
    new_nonce_each_time: bool = False
    #: Read orders, authorizations and certificates with GET instead of POST-as-GET.
    get_reads: bool = False
    #: Give up on badNonce instead of retrying.
    no_bad_nonce_retry: bool = False
    #: Exit 0 whatever happened.
    exit_zero: bool = False
    #: Say nothing of what went wrong.
    quiet: bool = False
    #: Keep polling an invalid order until the deadline.
    poll_invalid: bool = False
    #: Refuse a directory with entries it does not know.
    strict_directory: bool = False
    #: Never ask for renewal information: renew when two thirds of the lifetime are gone.
    no_ari: bool = False
    #: Renew without naming the certificate it replaces.
    no_replaces: bool = False
    #: Create a new account key on every run.
    new_account_each_run: bool = False
    #: Do not agree to changed terms: stop on userActionRequired (showing, unless quiet, the
    #: problem's instance URL, where its user would agree).
    refuse_new_terms: bool = False
    #: On userActionRequired, ask again and again without agreeing.
    nag_terms: bool = False
    #: Ask for renewal information, then renew by the certificate's lifetime (two thirds
    #: gone) whatever its suggested window says.
    ignore_ari_window: bool = False
    #: Refuse a certificate answer that offers alternate chains (Link: rel="alternate"), as a
    #: client that expects one chain does.
    one_chain_only: bool = False
    #: Download the alternate chains too (as a client choosing a preferred chain does).
    fetch_alternates: bool = False
    #: Answer dns-01 instead of http-01, as a dns-01-only client does. It has no DNS to
    #: publish its record in, so its validations fail; on a case that scripts an http-01
    #: outcome the fake refuses the script and the case is skipped.
    dns01: bool = False


class RefusedError(Exception):
    """A problem document the client cannot get past."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class Client:
    """One run of the client against a target."""

    def __init__(self, target: Target, switches: Switches) -> None:
        self.target = target
        self.s = switches
        self.tls = ssl.create_default_context(cafile=target.ca_bundle)
        self.nonce: str | None = None
        self.last_nonce: str | None = None
        self.reused = False
        self.kid: str | None = None
        self.waited = 0.0
        #: The Link headers of the last answer (there may be several).
        self.links: list[str] = []
        self.key = self._account_key()
        self.jwk = josepy.JWKEC(key=self.key)
        self.directory = self.http("GET", target.directory_url).json()
        unknown = set(self.directory) - KNOWN - {"renewalInfo"}
        if switches.strict_directory and unknown:
            raise RefusedError(f"unexpected directory entries: {sorted(unknown)}")

    def _account_key(self) -> ec.EllipticCurvePrivateKey:
        path = self.target.workdir / "account.pem"
        if path.exists() and not self.s.new_account_each_run:
            key = serialization.load_pem_private_key(path.read_bytes(), None)
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            return key
        key = ec.generate_private_key(ec.SECP256R1())
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        return key

    def http(self, method: str, url: str, body: bytes | None = None) -> Answer:
        request = urllib.request.Request(url, data=body, method=method)
        if body is not None:
            request.add_header("Content-Type", "application/jose+json")
        try:
            with urllib.request.urlopen(request, context=self.tls, timeout=30) as response:
                answer = Answer(response.status, dict(response.headers.items()),
                                response.read())
                self.links = response.headers.get_all("Link") or []
        except urllib.error.HTTPError as error:
            answer = Answer(error.code, dict(error.headers.items()), error.read())
            self.links = error.headers.get_all("Link") or []
        if "Replay-Nonce" in answer.headers:
            self.nonce = answer.headers["Replay-Nonce"]
        return answer

    def _sign(self, url: str, payload: Any) -> bytes:
        if self.nonce is None or self.s.new_nonce_each_time:
            self.http("HEAD", self.directory["newNonce"])
        nonce = self.nonce
        if self.s.reuse_nonces and not self.reused and self.last_nonce is not None:
            nonce, self.reused = self.last_nonce, True
        self.last_nonce, self.nonce = nonce, None
        protected: dict[str, Any] = {"alg": "ES256", "nonce": nonce, "url": url}
        if self.kid:
            protected["kid"] = self.kid
        else:
            protected["jwk"] = self.jwk.public_key().to_partial_json()
        header = _b64(json.dumps(protected).encode())
        body = "" if payload is None else _b64(json.dumps(payload).encode())
        signature = josepy.ES256.sign(self.key, f"{header}.{body}".encode())
        return json.dumps({"protected": header, "payload": body,
                           "signature": _b64(signature)}).encode()

    def post(self, url: str, payload: Any) -> Answer:
        """A signed POST (``payload=None``: POST-as-GET); a problem raises :class:`RefusedError`,
        after one retry on badNonce with the nonce the answer carried."""
        answer = self.http("POST", url, self._sign(url, payload))
        if self._problem(answer) == "badNonce" and not self.s.no_bad_nonce_retry:
            answer = self.http("POST", url, self._sign(url, payload))
        if self._problem(answer) == "rateLimited" and self.s.ignore_retry_after:
            self.sleep(0.2)
            answer = self.http("POST", url, self._sign(url, payload))
        if self._problem(answer) == "rateLimited" and self.s.nag_rate_limits:
            for _ in range(5):
                answer = self.http("POST", url, self._sign(url, payload))
        if self._problem(answer) == "userActionRequired" and self.s.nag_terms:
            for _ in range(4):
                answer = self.http("POST", url, self._sign(url, payload))
        elif self._problem(answer) == "userActionRequired" and not self.s.refuse_new_terms:
            # Its user agreed to the CA's terms: agree to the new ones and ask again.
            self.http("POST", self.kid or "", self._sign(self.kid or "",
                                                          {"termsOfServiceAgreed": True}))
            answer = self.http("POST", url, self._sign(url, payload))
        if answer.status >= 400:
            raise RefusedError(self._detail(answer))
        return answer

    @staticmethod
    def _problem(answer: Answer) -> str:
        if answer.status < 400:
            return ""
        try:
            return str(answer.json().get("type", "")).rsplit(":", 1)[-1]
        except ValueError:
            return ""

    @staticmethod
    def _detail(answer: Answer) -> str:
        try:
            problem = answer.json()
        except ValueError:
            return f"HTTP {answer.status}"
        # RFC 8555 7.3.3: the instance URL is where a person goes to act (agree to terms).
        where = f" (see {problem['instance']})" if problem.get("instance") else ""
        return f"{problem.get('type')}: {problem.get('detail')}{where}"

    def read(self, url: str) -> Answer:
        if self.s.get_reads:
            answer = self.http("GET", url)
            if answer.status >= 400:
                raise RefusedError(self._detail(answer))
            return answer
        return self.post(url, None)

    def sleep(self, seconds: float) -> None:
        """Wait as the target says (the fake's clock moves instead, under virtual time)."""
        self.waited += seconds
        self.target.sleep(seconds)

    def pause(self, answer: Answer) -> None:
        if self.s.hammer:
            return
        if self.s.ignore_retry_after:
            self.sleep(0.2)
            return
        self.sleep(float(answer.headers.get("Retry-After", "1")))

    def wait(self, url: str, until: set[str]) -> dict[str, Any]:
        """Read ``url`` until its status is one of ``until`` (or invalid); give up after
        :data:`DEADLINE` seconds, of real time or of waits."""
        deadline = time.monotonic() + DEADLINE
        waited_until = self.waited + DEADLINE
        while True:
            answer = self.read(url)
            body: dict[str, Any] = answer.json()
            status = body["status"]
            if status in until or (status == "invalid" and not self.s.poll_invalid):
                return body
            if time.monotonic() > deadline or self.waited > waited_until:
                raise RefusedError(f"gave up waiting for {url}: {json.dumps(body.get('error'))}")
            self.pause(answer)

    def register(self) -> None:
        answer = self.post(self.directory["newAccount"],
                           {"termsOfServiceAgreed": True, "contact": ["mailto:ops@a.example"]})
        self.kid = answer.headers["Location"]

    def issue(self, replaces: str | None) -> str:
        payload: dict[str, Any] = {"identifiers": [{"type": "dns", "value": self.target.domain}]}
        if replaces:
            payload["replaces"] = replaces
        ordered = self.post(self.directory["newOrder"], payload)
        order_url, order = ordered.headers["Location"], ordered.json()
        for authz_url in order["authorizations"]:
            authz = self.read(authz_url).json()
            if authz["status"] == "valid":
                continue
            kind = "dns-01" if self.s.dns01 else "http-01"
            challenge = next(c for c in authz["challenges"] if c["type"] == kind)
            thumbprint = _b64(self.jwk.thumbprint())
            if kind == "http-01":
                (self.target.challenge_dir / challenge["token"]).write_text(
                    f"{challenge['token']}.{thumbprint}")
            answered = self.post(challenge["url"], {}).json()
            deadline = time.monotonic() + DEADLINE
            while self.s.hammer_challenge and answered["status"] in ("pending", "processing") \
                    and time.monotonic() < deadline:
                answered = self.post(challenge["url"], {}).json()
            done = self.wait(authz_url, {"valid"})
            if done["status"] != "valid":
                errors = [c.get("error", {}) for c in done["challenges"]]
                raise RefusedError("; ".join(f"{e.get('type')}: {e.get('detail')}" for e in errors))
        self.wait(order_url, {"ready"})
        finalized = self.post(order["finalize"], {"csr": self._csr()})
        self.pause(finalized)
        order = self.wait(order_url, {"valid"})
        if order["status"] != "valid":
            error = order.get("error", {})
            raise RefusedError(f"{error.get('type')}: {error.get('detail')}")
        chain = self.read(order["certificate"]).body.decode()
        alternates = [link.split(";")[0].strip().strip("<>") for link in self.links
                      if 'rel="alternate"' in link]
        if alternates and self.s.one_chain_only:
            raise RefusedError(f"unexpected alternate chains: {alternates}")
        for url in alternates if self.s.fetch_alternates else []:
            self.read(url)
        return chain

    def _csr(self) -> str:
        key = ec.generate_private_key(ec.SECP256R1())
        name = self.target.domain
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
               .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]),
                              critical=False)
               .sign(key, hashes.SHA256()))
        return _b64(csr.public_bytes(serialization.Encoding.DER))

    def due(self, pem: str) -> tuple[bool, str | None]:
        """Whether the saved certificate is due for renewal, and its ARI identifier."""
        leaf = x509.load_pem_x509_certificates(pem.encode())[0]
        identifier = cert_id(leaf)
        now = _dt.datetime.now(_dt.timezone.utc)
        lifetime = leaf.not_valid_after_utc - leaf.not_valid_before_utc
        aged = now >= leaf.not_valid_before_utc + lifetime * 2 / 3
        if self.s.no_ari or "renewalInfo" not in self.directory:
            return aged, identifier
        info = self.http("GET", f"{self.directory['renewalInfo']}/{identifier}").json()
        if self.s.ignore_ari_window:
            return aged, identifier
        start = _dt.datetime.fromisoformat(info["suggestedWindow"]["start"].replace("Z",
                                                                                    "+00:00"))
        return now >= start, identifier

    def run(self) -> int:
        saved = self.target.workdir / "cert.pem"
        replaces = None
        if saved.exists():
            due, identifier = self.due(saved.read_text())
            if not due:
                print("certificate not yet due for renewal")
                return 0
            replaces = None if self.s.no_replaces or self.s.no_ari else identifier
        self.register()
        saved.write_text(self.issue(replaces))
        print(f"certificate saved in {saved}")
        return 0


def run(target: Target, switches: Switches) -> int:
    """One run; the exit status."""
    try:
        return Client(target, switches).run()
    except RefusedError as refused:
        if not switches.quiet:
            print(f"error: {refused}", file=sys.stderr)
        return 0 if switches.exit_zero else 1


def client(**switches: bool) -> Any:
    """The client as a function for ``run_battery`` (named after its switches); it waits with
    ``target.sleep``, so ``run_battery(..., virtual_time=True)`` makes its waits free."""
    chosen = Switches(**switches)

    def broken_client(target: Target) -> int:
        return run(target, chosen)

    broken_client.__qualname__ = "brokenclient" + "".join(
        f" --{name.replace('_', '-')}" for name, on in switches.items() if on)
    return broken_client


def main(argv: list[str] | None = None) -> int:
    """The command line: switches as flags, the target from the FAKE_ACME_* variables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    for switch in fields(Switches):
        parser.add_argument("--" + switch.name.replace("_", "-"), action="store_true")
    args = parser.parse_args(argv)
    env = os.environ
    target = Target(env["FAKE_ACME_DIRECTORY_URL"], env["FAKE_ACME_CA_BUNDLE"],
                    env["FAKE_ACME_DOMAIN"], int(env["FAKE_ACME_HTTP01_PORT"]),
                    Path(env["FAKE_ACME_WEBROOT"]), Path(env["FAKE_ACME_WORKDIR"]),
                    int(env["FAKE_ACME_RUN"]))
    return run(target, Switches(**{f.name: getattr(args, f.name) for f in fields(Switches)}))


if __name__ == "__main__":
    sys.exit(main())
