"""The rows of the Boulder table: every answer Let's Encrypt's CA can give an ACME client, read
from Boulder's source at :data:`BOULDER_COMMIT` (letsencrypt/boulder, 2026-08-07).

This module is data: :class:`Row` and the rows, by area. ``tests/boulder_table.py`` has the
helpers that pin the fake to them, ``tests/test_boulder_table.py`` the checks that every row is
pinned or explained and the renderer of ``docs/letsencrypt-answers.md``.

Conventions: ``detail`` is Boulder's Go format string as it reaches the client, context
included (``Unable to validate JWS :: ``, ``Error creating new order :: ``); ``%q`` is Go's
quoting, ``%s``/``%d``/``%v`` plain values. A ``detail`` in parentheses describes an answer that
is not a problem document. ``boulder`` is ``path:line`` in Boulder's repository.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The Boulder commit every file:line in the table refers to (letsencrypt/boulder, 2026-08-07).
BOULDER_COMMIT = "2d00c8e27919fe945e53b2cf857838e68a1da111"

#: The areas, in the catalogue's order: key -> (title, what the area covers).
AREAS: dict[str, tuple[str, str]] = {
    "jws": ("JWS and the front end",
            "Every POST: Content-Type, body, the JWS envelope, keys, nonces, url, payload; "
            "methods and paths (wfe2/verify.go, wfe2/wfe.go HandleFunc)."),
    "accounts": ("newAccount and account updates",
                 "wfe2/wfe.go NewAccount, contactsToEmails, Account, updateAccount; "
                 "policy/pa.go ValidEmail."),
    "orders": ("newOrder and identifier policy",
               "wfe2/wfe.go NewOrder, ra/ra.go NewOrder, policy/pa.go and the IANA registries."),
    "authz": ("Authorizations and challenges",
              "wfe2/wfe.go Authorization, Challenge; ra/ra.go PerformValidation."),
    "finalize": ("Finalize, CSR checks and certificate download",
                 "wfe2/wfe.go FinalizeOrder, GetOrder, Certificate; ra/ra.go; csr/csr.go; "
                 "goodkey; issuance/cert.go."),
    "lifecycle": ("Revocation, renewal information and key rollover",
                  "wfe2/wfe.go RevokeCertificate, RenewalInfo, KeyRollover, "
                  "validateReplacementOrder; ra/ra.go revocation."),
    "http01": ("http-01 validation",
               "va/http.go, va/dns.go, va/va.go; shown in the challenge's error."),
    "dns01": ("dns-01 and dns-account-01 validation", "va/dns.go, bdns/problem.go."),
    "tlsalpn01": ("tls-alpn-01 validation", "va/tlsalpn.go."),
    "caa": ("CAA", "va/caa.go, checked after a successful validation and again at finalize."),
    "dns_persist": ("dns-persist-01", "va/dns_persist.go; wfe2/wfe.go prepChallengeForDisplay."),
    "rate_limits": ("Rate limits and pausing",
                    "ratelimits/limiter.go, errors/errors.go, wfe2/wfe.go sendError, NewOrder."),
    "headers": ("Headers and wire format on every answer",
                "wfe2/wfe.go HandleFunc, sendError, writeJsonResponse; web/send_error.go."),
    "misc": ("Validity, profiles and types never sent",
             "issuance/cert.go, probs/probs.go, fake-only features."),
}


@dataclass(frozen=True)
class Row:
    """One answer of Boulder's. ``status`` is None for rows that pin something other than a
    problem document (a header, a 200 answer, the order of checks); ``type`` is then ``-``."""

    id: str
    area: str
    situation: str
    type: str
    status: int | None
    detail: str
    boulder: str
    #: How a test makes the fake give this answer (a request, a scripted outcome, a fault).
    how: str = ""
    #: Why the row does not apply to the fake (then no test reproduces it).
    na: str = ""
    #: The open issue of this project that will reproduce it.
    planned: str = ""
    #: What is uncertain about Boulder's or Let's Encrypt's behaviour here.
    uncertain: str = ""
    #: Anything else a client author should know.
    note: str = ""

    def __post_init__(self) -> None:
        assert self.area in AREAS, f"{self.id}: unknown area {self.area}"
        assert not (self.na and self.planned), f"{self.id}: both not applicable and planned"
        assert self.na or self.planned or self.how, f"{self.id}: say how the fake produces it"

    @property
    def verdict(self) -> str:
        """``reproduced``, ``not applicable`` or ``planned``."""
        if self.na:
            return "not applicable"
        if self.planned:
            return "planned"
        return "reproduced"

    @property
    def is_problem(self) -> bool:
        """Whether the row is a problem document (type and status)."""
        return self.status is not None and self.type != "-"


V = "Unable to validate JWS :: "
_ALGS = "[RS256 ES256 ES384 ES512]"
_GOODKEY = "goodkey/good_key.go"
#: Why rows about Boulder's own services failing do not apply.
_INTERNAL = ("a failure inside Boulder (its database, a gRPC call, the nonce service); the "
             "fake has no such service to fail")
#: Why rows about the integer ids in Boulder's URLs do not apply.
_URL_IDS = ("the fake's URLs carry short unguessable ids, not Boulder's integers, so there is no "
            "integer to be malformed; URLs are opaque to clients (RFC 8555 7.1)")

JWS = "jws"
ROWS_JWS = (
    Row("wfe-01", JWS, "POST with no Content-Type header",
        "malformed", 400,
        V + "No Content-Type header on POST. Content-Type must be %q",
        "wfe2/verify.go:161-164",
        how="a POST without a Content-Type header",
        note="%q is \"application/jose+json\". 400, not 415: it is a MalformedError."),
    Row("wfe-02", JWS, "Content-Type present but not application/jose+json",
        "malformed", 400,
        V + "Invalid Content-Type header on POST. Content-Type must be %q",
        "wfe2/verify.go:165-168",
        how="a POST with Content-Type: application/json"),
    Row("wfe-03", JWS, "Content-Type application/jose+json with a parameter or in another case",
        "malformed", 400,
        V + "Invalid Content-Type header on POST. Content-Type must be %q",
        "wfe2/verify.go:165",
        how="a POST with Content-Type: application/jose+json; charset=utf-8",
        note="Boulder compares the raw header value with the media type, exactly."),
    Row("wfe-04", JWS, "Content-Type header present with an empty value",
        "malformed", 400,
        V + "Invalid Content-Type header on POST. Content-Type must be %q",
        "wfe2/verify.go:161-168",
        how="a POST with an empty Content-Type header"),
    Row("wfe-05", JWS, "Replay-Nonce HTTP request header on a POST",
        "malformed", 400,
        V + "HTTP requests should NOT contain Replay-Nonce header. Use JWS nonce field",
        "wfe2/verify.go:172-175",
        how="a POST that also sends the nonce as a Replay-Nonce request header"),
    Row("wfe-06", JWS, "Body larger than 50000 bytes",
        "unauthorized", 403,
        V + "request body too large",
        "wfe2/verify.go:38, 415-419",
        how="a POST of 50001 bytes (50000 are accepted)"),
    Row("wfe-07", JWS, "Body cannot be read (the client disconnects mid-body)",
        "serverInternal", 500,
        "Unable to validate JWS",
        "wfe2/verify.go:420-421; web/probs.go:88-91",
        na="the client that sends half a body has gone and reads no answer; the fake answers a "
           "malformed problem instead of a 500, by its rule that bad input never gets a 500"),
    Row("wfe-08", JWS, "Body is not JSON (the compact serialization a.b.c included)",
        "malformed", 400,
        V + "Parse error reading JWS",
        "wfe2/verify.go:350-354",
        how="a POST whose body is the compact serialization"),
    Row("wfe-09", JWS, "Flattened JWS with an unprotected header member",
        "malformed", 400,
        V + 'JWS "header" field not allowed. All headers must be in "protected" field',
        "wfe2/verify.go:358-362",
        how='a JWS with "header": {"kid": ...}',
        note="A header whose values are not all strings fails to decode first: wfe-08."),
    Row("wfe-10", JWS, "Non-empty signatures array (the general serialization)",
        "malformed", 400,
        V + 'JWS "signatures" field not allowed. Only the "signature" field should contain a '
            'signature',
        "wfe2/verify.go:366-370",
        how="a JWS in the general serialization",
        note="An empty signatures array passes this check."),
    Row("wfe-11", JWS, "go-jose cannot parse the envelope: missing payload, members that are "
                       "not strings, protected not JSON, an unknown key type",
        "malformed", 400,
        V + "Parse error reading JWS",
        "wfe2/verify.go:375-389; vendor/github.com/go-jose/go-jose/v4/jws.go:227-302",
        how="a JWS without a payload member"),
    Row("wfe-12", JWS, "A base64url member carries = padding (protected, payload, signature, or "
                       "a JWK coordinate)",
        "malformed", 400,
        V + "Parse error reading JWS",
        "vendor/github.com/go-jose/go-jose/v4/encoding.go:156-175; wfe2/verify.go:375-389",
        how="a JWS whose members are padded with =",
        note="go-jose decodes with base64.RawURLEncoding, for which = is no padding."),
    Row("wfe-13", JWS, "protected member missing, null or empty",
        "badSignatureAlgorithm", 400,
        V + 'JWS signature header contains unsupported algorithm "", expected one of ' + _ALGS,
        "vendor/github.com/go-jose/go-jose/v4/jws.go:243-282; wfe2/verify.go:375-385",
        how="a JWS without a protected member",
        note="go-jose reads an empty header, whose algorithm \"\" is refused."),
    Row("wfe-14", JWS, "signature member missing or null",
        "malformed", 400,
        V + "POST JWS not signed",
        "vendor/github.com/go-jose/go-jose/v4/encoding.go:156-175; wfe2/verify.go:398-401",
        how="a JWS without a signature member"),
    Row("wfe-15", JWS, "Embedded private or symmetric JWK, with an unsupported algorithm",
        "badSignatureAlgorithm", 400,
        V + "JWS signature header contains unsupported algorithm %q, expected one of " + _ALGS,
        "vendor/github.com/go-jose/go-jose/v4/jws.go:279-302",
        how="newAccount with a private JWK and alg HS256",
        note="go-jose checks the algorithm before it refuses a key that is not public; with "
             "a supported algorithm the answer is wfe-11."),
    Row("wfe-16", JWS, "alg is not RS256, ES256, ES384 or ES512 (HS256, none, EdDSA, absent)",
        "badSignatureAlgorithm", 400,
        V + "JWS signature header contains unsupported algorithm %q, expected one of %s",
        "wfe2/verify.go:61-68, 375-385; wfe2/wfe.go:659-661",
        how='a JWS with alg "none"',
        note="%s is Go's print of a slice: [RS256 ES256 ES384 ES512]. The problem also has "
             "\"algorithms\": [\"RS256\", \"ES256\", \"ES384\", \"ES512\"]."),
    Row("wfe-17", JWS, "Empty signature",
        "malformed", 400,
        V + "POST JWS not signed",
        "wfe2/verify.go:394-401",
        how='a JWS with "signature": ""'),
    Row("wfe-18", JWS, "Both kid and jwk in the protected header",
        "malformed", 400,
        V + "jwk and kid header fields are mutually exclusive",
        "wfe2/verify.go:115-118",
        how="a request to newOrder with both kid and jwk",
        note="An empty kid counts as absent."),
    Row("wfe-19", JWS, "An account's request without kid (jwk only, or neither)",
        "malformed", 400,
        V + "No Key ID in JWS header",
        "wfe2/verify.go:143-147, 498",
        how="a request to newOrder signed with jwk"),
    Row("wfe-20", JWS, "newAccount without jwk",
        "malformed", 400,
        V + "No embedded JWK in JWS header",
        "wfe2/verify.go:148-149, 440",
        how="newAccount signed with a kid"),
    Row("wfe-21", JWS, "kid is not under <scheme>://<host>/acme/acct/",
        "malformed", 400,
        V + "KeyID header contained an invalid account URL: %q",
        "wfe2/verify.go:463-475",
        how="a kid of https://elsewhere.example/acct/1",
        note="Checked before the account lookup and any signature check."),
    Row("wfe-22", JWS, "kid has the account prefix but no integer account id",
        "malformed", 400,
        V + "Malformed account ID in KeyID header URL: %q",
        "wfe2/verify.go:479-482",
        na=_URL_IDS + "; such a kid names no account: wfe-23"),
    Row("wfe-23", JWS, "kid names no account",
        "accountDoesNotExist", 400,
        V + "Account %q not found",
        "wfe2/verify.go:510-516",
        how="a kid under the account prefix that names no account"),
    Row("wfe-24", JWS, "The account lookup fails inside Boulder",
        "serverInternal", 500,
        "Unable to validate JWS",
        "wfe2/verify.go:518-524",
        na=_INTERNAL),
    Row("wfe-25", JWS, "kid names a deactivated (or revoked) account",
        "unauthorized", 403,
        V + "Account is not valid, has status %q",
        "wfe2/verify.go:526-530",
        how="a request signed by a deactivated account",
        note="Checked before the algorithm, the signature and the nonce."),
    Row("wfe-26", JWS, "A key Boulder cannot sign with (Ed25519, P-224)",
        "badPublicKey", 400,
        V + "JWK contains unsupported key type (expected RSA, or ECDSA P-256, P-384, or P-521)",
        "wfe2/verify.go:41-56, 83-86",
        how="newAccount with an Ed25519 JWK and alg ES256"),
    Row("wfe-27", JWS, "alg does not fit the key (ES384 with a P-256 key)",
        "malformed", 400,
        V + "JWS signature header algorithm %q does not match expected algorithm %q for JWK",
        "wfe2/verify.go:87-89",
        how="a P-256 account's request with alg ES384"),
    Row("wfe-28", JWS, "The JWK's own alg member disagrees",
        "malformed", 400,
        V + "JWK key header algorithm %q does not match expected algorithm %q for JWK",
        "wfe2/verify.go:90-92",
        how='newAccount with a P-256 JWK carrying "alg": "ES384"'),
    Row("wfe-29", JWS, "The signature does not verify (an unknown crit included)",
        "malformed", 400,
        V + "JWS verification error",
        "wfe2/verify.go:565-569",
        how="a request signed by another key",
        note="Checked before the nonce: a bad signature leaves the nonce unused."),
    Row("wfe-30", JWS, "Nonce missing, malformed, unknown, used or expired",
        "badNonce", 400,
        "JWS has an invalid anti-replay nonce",
        "wfe2/verify.go:212-258; web/probs.go:59-62",
        how="a request with a nonce already used (or fake_acme.faults.bad_nonce())",
        note="Every badNonce detail is replaced by this one, with no context."),
    Row("wfe-31", JWS, "The nonce service cannot be reached to redeem",
        "serverInternal", 500,
        "Unable to validate JWS",
        "wfe2/verify.go:249-250",
        na=_INTERNAL),
    Row("wfe-32", JWS, "url header missing, empty or not a string",
        "malformed", 400,
        V + "JWS header parameter 'url' required",
        "wfe2/verify.go:270-281",
        how="a request without url"),
    Row("wfe-33", JWS, "url differs from the URL the request went to",
        "malformed", 400,
        V + "JWS header parameter 'url' incorrect. Expected %q got %q",
        "wfe2/verify.go:282-293",
        how="a newOrder request whose url is newAccount's"),
    Row("wfe-34", JWS, "A payload that is neither empty nor a JSON object (or null)",
        "malformed", 400,
        V + "Request payload did not parse as JSON",
        "wfe2/verify.go:586-591",
        how="a newOrder request whose payload is []"),
    Row("wfe-35", JWS, "newAccount key: RSA modulus not of 2048, 3072 or 4096 bits",
        "badPublicKey", 400,
        V + "invalid request signing key: key size not supported: %d",
        "wfe2/verify.go:720-726; " + _GOODKEY + ":333-345",
        how="newAccount with an RSA key of 2560 bits",
        note="The key policy runs last, after the nonce is used."),
    Row("wfe-36", JWS, "newAccount key: ECDSA P-521",
        "badPublicKey", 400,
        V + "invalid request signing key: ECDSA curve P-521 not allowed",
        _GOODKEY + ":76-84, 271-283",
        how="newAccount with a P-521 key (ES512)",
        uncertain="Boulder's default policy, LetsEncryptCPS (its test configuration's goodkey "
                  "is empty); Let's Encrypt's production configuration is not published."),
    Row("wfe-37", JWS, "newAccount key: RSA exponent other than 65537",
        "badPublicKey", 400,
        V + "invalid request signing key: key exponent must be 65537",
        _GOODKEY + ":308-310",
        how="newAccount with an RSA key whose exponent is 3"),
    Row("wfe-38a", JWS, "newAccount key: RSA modulus with a factor below 752",
        "badPublicKey", 400,
        V + "invalid request signing key: key divisible by small prime",
        _GOODKEY + ":315-318",
        how="newAccount with an RSA key whose modulus is 3 times a prime"),
    Row("wfe-38b", JWS, "newAccount key: RSA key with the ROCA fingerprint (Infineon)",
        "badPublicKey", 400,
        V + "invalid request signing key: key generated by vulnerable Infineon-based hardware",
        _GOODKEY + ":320-323; vendor/github.com/titanous/rocacheck/rocacheck.go",
        how="newAccount with an RSA key made to have the fingerprint"),
    Row("wfe-38c", JWS, "newAccount key: RSA factors close enough for Fermat's method",
        "badPublicKey", 400,
        V + "invalid request signing key: key generated with factors too close together: "
            "public modulus n = pq factored in %d rounds into p: %s and q: %s",
        _GOODKEY + ":325-328, 381-420",
        how="newAccount with an RSA key whose primes are neighbours"),
    Row("wfe-39", JWS, "newAccount key: an EC point not on its curve",
        "malformed", 400,
        V + "Parse error reading JWS",
        "vendor/github.com/go-jose/go-jose/v4/jwk.go:554-555, 749-750",
        how="newAccount with a P-256 JWK whose y is off the curve",
        note="go-jose refuses the point while parsing; goodkey's point checks are not reached."),
    Row("wfe-40", JWS, "newAccount key was revoked for key compromise",
        "badPublicKey", 400,
        V + "invalid request signing key: public key is forbidden",
        _GOODKEY + ":151-161; ra/ra.go:1860-1895",
        how="revoke a certificate signed by its own key (jwk), then newAccount with that key"),
    Row("wfe-41", JWS, "A payload to a resource read by POST-as-GET only (order, certificate, "
                       "directory, newNonce)",
        "malformed", 400,
        V + "POST-as-GET requests must have an empty payload",
        "wfe2/verify.go:647-659",
        how="POST {} to an order URL (one that exists or not)",
        note="After the JWS checks, before the order is looked up."),
    Row("wfe-42", JWS, "A path no ACME resource serves (a trailing slash on /acme/new-order too)",
        "-", 404,
        "(Go's http.NotFound: text/plain; charset=utf-8, body \"404 page not found\\n\", "
        "no Replay-Nonce, no Link, no Cache-Control)",
        "wfe2/wfe.go:482, 500-505",
        how="any method to /acme/no-such-thing",
        note="Boulder sets application/problem+json after the body is written, so it never "
             "reaches the wire."),
    Row("wfe-43", JWS, "A method the resource does not serve",
        "malformed", 405,
        "Method not allowed",
        "probs/probs.go:327-333; wfe2/wfe.go:355-359",
        how="PUT to the directory",
        note="With Allow (hdr-12), a nonce and the index link."),
    Row("wfe-44", JWS, "POST-as-GET of the directory",
        "-", 200,
        "(the directory)",
        "wfe2/wfe.go:465, 557-564",
        how="a signed POST with an empty payload to /directory"),
    Row("wfe-45", JWS, "POST-as-GET of newNonce",
        "-", 200,
        "(empty, with Replay-Nonce)",
        "wfe2/wfe.go:466, 617-631",
        how="a signed POST with an empty payload to newNonce"),
    Row("wfe-46", JWS, "A plain GET of an order, authorization, challenge or certificate",
        "-", 200,
        "(the resource, without an owner check)",
        "wfe2/wfe.go:467-470, 1235-1237, 1597, 1714, 2552",
        how="GET the order URL"),
    Row("wfe-47", JWS, "GET or POST to renewalInfo",
        "-", 200,
        "(the renewal information; a POST's body is not read)",
        "wfe2/wfe.go:471, 2797-2829",
        how="POST anything to a renewalInfo URL"),
    Row("wfe-48", JWS, "OPTIONS on an ACME resource",
        "-", 200,
        "(empty; Allow; CORS preflight headers for an allowed Origin)",
        "wfe2/wfe.go:347-349, 1901-1914",
        how="OPTIONS /acme/new-order"),
    Row("wfe-49a", JWS, "GET /",
        "-", 200,
        "(an HTML page naming the directory)",
        "wfe2/wfe.go:489-523",
        how="GET /"),
    Row("wfe-49b", JWS, "A method other than GET at /",
        "malformed", 405,
        "Method not allowed",
        "wfe2/wfe.go:507-511",
        how="POST /",
        note="With Allow: GET; Index is outside HandleFunc, so no nonce or index link."),
    Row("wfe-50", JWS, "The nonce service cannot make a nonce",
        "serverInternal", 500,
        "unable to get nonce",
        "wfe2/wfe.go:326-331",
        na=_INTERNAL),
    Row("wfe-51", JWS, "Any unexpected (non-Boulder) error",
        "serverInternal", 500,
        "%s",
        "web/probs.go:23-26, 88-91; wfe2/wfe.go:673-675",
        na="the fake's own failures are bugs of the fake: its 500 says so, with Boulder's "
           "Retry-After: 60, and the test re-raises the exception",
        note="%s is the context alone, e.g. \"Error creating new order\"."),
    Row("wfe-52", JWS, "Broken HTTP framing (two Content-Lengths, one that is not a number)",
        "-", 400,
        "(Go net/http's own plain-text 400, before Boulder's code runs)",
        "Go net/http server (no Boulder code)",
        na="the fake answers a malformed problem with a nonce, by its rule that bad input gets "
           "a problem document",
        uncertain="Go's exact status line and body for each framing error; not read here."),
    Row("wfe-53", JWS, "The account is on the operator's block list (newOrder)",
        "unauthorized", 403,
        "Account blocked :: %s",
        "wfe2/wfe.go:2424-2430; cmd/boulder-wfe2/main.go:251-256",
        na="an operator's list; Let's Encrypt's is private"),
    Row("wfe-54", JWS, "New terms of service not yet agreed",
        "userActionRequired", 403,
        "(never sent by Boulder)",
        "probs/probs.go:12-16",
        na="the fake's opt-in feature (fake_acme.terms, RFC 8555 7.3.3); Boulder never sends it"),
    Row("wfe-55", JWS, "Which check wins, for a request an account signs",
        "-", None,
        "(Content-Type, Replay-Nonce header, body size, JSON, header, signatures, go-jose's "
        "parse (members, key, algorithm, public key), empty signature, kid/jwk, kid URL, "
        "account exists, account valid, algorithm against key, signature, nonce, url, payload)",
        "wfe2/verify.go:158-184, 339-430, 491-540, 548-594, 603-638",
        how="requests wrong in two ways at once"),
    Row("wfe-56", JWS, "Which check wins, for newAccount",
        "-", None,
        "(as wfe-55 up to go-jose's parse; then jwk required, algorithm against key, "
        "signature, nonce, url, payload, and the key policy last)",
        "wfe2/verify.go:683-731",
        how="newAccount requests wrong in two ways at once"),
)

HDR = "headers"
ROWS_HEADERS = (
    Row("hdr-01", HDR, "Replay-Nonce",
        "-", None,
        "(a fresh nonce on every answer to a request that is not a GET, to any ACME resource: "
        "POST, HEAD, OPTIONS, a refused PUT, errors included; and on GET newNonce)",
        "wfe2/wfe.go:326-333",
        how="HEAD /directory, OPTIONS, PUT and POST answers all carry one",
        note="Not on paths no resource serves (wfe-42)."),
    Row("hdr-02", HDR, "Link rel=\"index\"",
        "-", None,
        "(<https://host/directory>;rel=\"index\" on every resource but the directory, errors "
        "included; not on / or unknown paths)",
        "wfe2/wfe.go:337-340, 482",
        how="any answer of an ACME resource"),
    Row("hdr-03", HDR, "Cache-Control",
        "-", None,
        "(public, max-age=0, no-cache on every answer of an ACME resource but OPTIONS, 405s and "
        "errors included)",
        "wfe2/wfe.go:352-353, 525-527",
        how="GET /directory, a POST, a 405"),
    Row("hdr-04", HDR, "Cache-Control of newNonce",
        "-", None,
        "(public, max-age=0, no-cache: Boulder's no-store is set after the status is written "
        "and never reaches the wire)",
        "wfe2/wfe.go:632-637",
        how="HEAD or GET newNonce",
        note="RFC 8555 7.2 asks for no-store; this is what Let's Encrypt's code sends."),
    Row("hdr-05", HDR, "newNonce answers",
        "-", None,
        "(204 to GET, 200 to HEAD and POST-as-GET; no body, no Content-Type)",
        "wfe2/wfe.go:612-641",
        how="GET, HEAD and POST-as-GET newNonce"),
    Row("hdr-06", HDR, "Problem Content-Type",
        "-", None,
        "(application/problem+json)",
        "web/send_error.go:31",
        how="any problem answer"),
    Row("hdr-07", HDR, "Problem body bytes",
        "-", None,
        "(Go's json.Encoder: two-space indent, no HTML escaping, members type, detail, "
        "status, subproblems (type, detail, status, identifier), algorithms; the trailing "
        "newline trimmed)",
        "web/send_error.go:61-82; probs/probs.go:56-77",
        how="a problem whose detail holds < > & and a non-ASCII letter"),
    Row("hdr-08", HDR, "Resource bodies",
        "-", None,
        "(application/json, json.MarshalIndent with two spaces, <>& escaped)",
        "wfe2/wfe.go:377-397",
        na="deliberate: the fake's resource bodies are compact JSON, the same values with "
           "less white space, which no client reads and which costs the fake time on every "
           "answer"),
    Row("hdr-09", HDR, "Retry-After on a 500",
        "-", None,
        "(Retry-After: 60)",
        "wfe2/wfe.go:673-675",
        how="fake_acme.faults.server_error()"),
    Row("hdr-10", HDR, "The algorithms member of badSignatureAlgorithm",
        "-", None,
        "([\"RS256\", \"ES256\", \"ES384\", \"ES512\"])",
        "wfe2/wfe.go:659-661; probs/probs.go:65-68",
        how="a JWS with alg none"),
    Row("hdr-11", HDR, "Boulder-Requester",
        "-", None,
        "(the signing account's id once its kid is found valid, on newOrder, account, "
        "authorization and challenge POSTs, finalize and keyChange, later JWS failures "
        "included; on newAccount's 200 and 201)",
        "wfe2/wfe.go:529-533, 812, 936, 1353, 1445, 1600, 1972, 2358, 2631; "
        "wfe2/verify.go:533",
        how="newOrder answers, a newOrder with a bad nonce, newAccount",
        note="The fake's account ids are not integers; the header carries the fake's id."),
    Row("hdr-12", HDR, "Allow on a 405",
        "-", None,
        "(the methods as registered, HEAD after GET: \"POST\", or \"GET, POST, HEAD\" for the "
        "directory, newNonce, orders, authorizations, challenges, certificates, renewalInfo)",
        "wfe2/wfe.go:306-316, 356, 457-477",
        how="PUT to newAccount and to the directory"),
    Row("hdr-13", HDR, "CORS",
        "-", None,
        "(with an Origin: Access-Control-Allow-Origin: *, Access-Control-Allow-Headers: "
        "Content-Type, Access-Control-Expose-Headers: Link, Replay-Nonce, Location, "
        "Retry-After, Access-Control-Max-Age: 86400; Access-Control-Allow-Methods on OPTIONS)",
        "wfe2/wfe.go:1901-1961",
        how="requests with an Origin header",
        uncertain="Boulder allows the origins configured in allowOrigins; its test "
                  "configuration allows \"*\" (test/config/wfe2.json:8-10), which the fake "
                  "follows. Let's Encrypt's production value is not published."),
    Row("hdr-14", HDR, "Location",
        "-", None,
        "(on newAccount's 200 and 201, newOrder, order reads, finalize and challenges; not on "
        "account POSTs, authorizations or keyChange)",
        "wfe2/wfe.go:809-810, 940, 1333, 1427, 2536, 2615, 2744",
        how="the answers of each resource"),
    Row("hdr-15", HDR, "Link rel=\"terms-of-service\"",
        "-", None,
        "(on newAccount's 201 and account POSTs; not on newAccount's 200 for a known key)",
        "wfe2/wfe.go:941-943, 1481-1483",
        how="newAccount twice with one key, and an account POST"),
    Row("hdr-16", HDR, "Link rel=\"up\" on challenges",
        "-", None,
        "(<the authorization's URL>;rel=\"up\")",
        "wfe2/wfe.go:1332-1334, 1426-1428",
        how="a challenge POST"),
    Row("hdr-17", HDR, "Certificate answers",
        "-", None,
        "(application/pem-certificate-chain, a Content-Length, Link rel=\"alternate\" for "
        "each other chain)",
        "wfe2/wfe.go:1833-1859",
        how="POST-as-GET of a certificate with fake_acme alternate roots"),
    Row("hdr-18", HDR, "The shape of a Replay-Nonce",
        "-", None,
        "(an 8-character prefix and 32 random bytes in base64url)",
        "nonce/nonce.go:42-45",
        na="nonces are opaque to clients (RFC 8555 6.5.1); the fake's are base64url too, "
           "shorter"),
    Row("hdr-19", HDR, "A Host header with :443 or :80",
        "-", None,
        "(the port is stripped before URLs are built and the JWS url is checked)",
        "web/context.go:169-183",
        planned="issue 24: URLs built from the request's Host header"),
    Row("hdr-20", HDR, "HEAD of a resource that serves GET",
        "-", None,
        "(the GET answer's headers, no body)",
        "wfe2/wfe.go:342-346",
        how="HEAD /directory"),
    Row("hdr-21", HDR, "The directory's contents",
        "-", None,
        "(newAccount, newNonce, newOrder, revokeCert, keyChange, renewalInfo, meta "
        "(termsOfService, caaIdentities, profiles, website), and a random key of 11 "
        "characters whose value is https://community.letsencrypt.org/t/adding-random-entries-"
        "to-the-directory/33417, new at every answer)",
        "wfe2/wfe.go:538-607; core/util.go:72-79",
        how="GET /directory twice"),
    Row("hdr-22", HDR, "X-Forwarded-Proto",
        "-", None,
        "(overrides the scheme of built URLs and of the JWS url check)",
        "wfe2/wfe.go:399-416; web/relative.go:26-30",
        na="the fake serves HTTPS itself, behind no proxy"),
)

ROWS: tuple[Row, ...] = ROWS_JWS + ROWS_HEADERS
