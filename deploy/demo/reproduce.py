"""The compose walkthrough: both failures from a real Keycloak, then the fix through tokenbridge.

Run by the `demo` service of docker-compose.yml (python:3.13 slim, standard library only). It logs
in as the demo user with the password grant (no browser needed), so Keycloak issues the same ID
tokens it would give the relying parties after a browser login:

1. MiroTalk's client: an ID token encrypted to tokenbridge's key (a JWE with five parts);
2. BookStack's client: a signed ID token with three audiences.

Each token goes through the relying party's ID-token check, written out below with the messages
those applications log (the same rules as tokenbridge's `demo`; the interop and e2e suites check
the real express-openid-connect). Then the fix, two ways:

3. POST /exchange (RFC 8693) with each client's tokenbridge credentials;
4. the OIDC front: the refresh-token grant sent to {tokenbridge}/front/<client>/token, as the
   relying party would send it once its issuer is the front. The front forwards it to Keycloak
   and passes the new ID token through tokenbridge.

Both issued tokens pass the same checks, verified against tokenbridge's JWKS. Exit status 0 when
all of that happened as described, 1 otherwise.

`python reproduce.py --self-test` checks the checks offline (used by tests/deploy.rs).
"""

import base64
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
# DER prefix of DigestInfo for SHA-256 (RFC 8017 §9.2, note 1).
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


class Refused(Exception):
    """A relying party's check refused the token; the message is the one it logs."""


def b64url_decode(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def rs256_verifies(jwk, signing_input, signature):
    """RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 §8.2.2), with the public key of a JWK."""
    n = int.from_bytes(b64url_decode(jwk["n"]), "big")
    e = int.from_bytes(b64url_decode(jwk["e"]), "big")
    size = (n.bit_length() + 7) // 8
    if len(signature) != size:
        return False
    encoded = pow(int.from_bytes(signature, "big"), e, n).to_bytes(size, "big")
    digest_info = SHA256_DIGEST_INFO + hashlib.sha256(signing_input).digest()
    expected = b"\x00\x01" + b"\xff" * (size - len(digest_info) - 3) + b"\x00" + digest_info
    return hmac.compare_digest(encoded, expected)


def verified_rs256(token, jwks, wrong_alg):
    header_b64, claims_b64, signature_b64 = token.split(".")
    header = json.loads(b64url_decode(header_b64))
    if header.get("alg") != "RS256":
        raise Refused(f"{wrong_alg} ({header.get('alg')})")
    signing_input = f"{header_b64}.{claims_b64}".encode()
    signature = b64url_decode(signature_b64)
    candidates = [
        key
        for key in jwks.get("keys", [])
        if key.get("kty") == "RSA"
        and key.get("use", "sig") == "sig"
        and (header.get("kid") is None or key.get("kid") == header.get("kid"))
    ]
    if not any(rs256_verifies(key, signing_input, signature) for key in candidates):
        raise Refused("signature verification failed against the issuer's JWKS")
    return json.loads(b64url_decode(claims_b64))


def check_issuer(claims, issuer):
    if claims.get("iss") != issuer:
        raise Refused(f"unexpected iss value, expected {issuer}, got: {claims.get('iss')!r}")


def check_time(claims, now, skew):
    if not isinstance(claims.get("exp"), int):
        raise Refused("missing exp")
    if claims["exp"] + skew < now:
        raise Refused("JWT expired")
    if isinstance(claims.get("iat"), int) and claims["iat"] - skew > now:
        raise Refused("JWT issued in the future")


def express_openid_connect(token, issuer, client_id, jwks, now):
    """MiroTalk's library (openid-client underneath): a JWE is refused before anything else."""
    if token.count(".") == 4:
        raise Refused("failed to decode JWT (TypeError: encrypted JWTs cannot be decoded)")
    claims = verified_rs256(token, jwks, "unexpected JWT alg received")
    check_issuer(claims, issuer)
    check_time(claims, now, 60)
    aud = claims.get("aud")
    if aud == client_id:
        return claims
    if isinstance(aud, list) and client_id in aud:
        if len(aud) > 1 and claims.get("azp") != client_id:
            raise Refused("azp must be the client_id when aud has several values")
        return claims
    raise Refused(f"aud mismatch, expected {client_id}")


def bookstack(token, issuer, client_id, jwks, now):
    """BookStack's OidcIdToken::validate: one aud equal to the client id, RS256, exact issuer."""
    if token.count(".") != 2:
        raise Refused("Could not parse ID token: it is not a signed JWT")
    claims = verified_rs256(token, jwks, "Only RS256 signature validation is supported")
    check_issuer(claims, issuer)
    aud = claims.get("aud")
    auds = aud if isinstance(aud, list) else ([] if aud is None else [aud])
    if len(auds) != 1:
        raise Refused(f"Token audience value has {len(auds)} values, Expected 1")
    if auds[0] != client_id:
        raise Refused("Token audience value did not match the expected client_id")
    if "azp" in claims and claims["azp"] != client_id:
        raise Refused("Token authorized party exists but does not match the expected client_id")
    check_time(claims, now, 120)
    return claims


CHECKS = {"mirotalk": ("express-openid-connect", express_openid_connect),
          "bookstack": ("BookStack", bookstack)}


def http_json(url, form=None, auth=None):
    """GET (or POST a form) and return (status, JSON body); an HTTP error is an answer too."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=data, headers={"Accept": "application/json"})
    if auth is not None:
        user, password = (urllib.parse.quote(part, safe="") for part in auth)
        basic = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {basic}")
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        body = err.read()
        try:
            return err.code, json.loads(body)
        except ValueError:
            return err.code, {"raw": body.decode(errors="replace")}


def describe(token):
    parts = token.split(".")
    header = json.loads(b64url_decode(parts[0]))
    if len(parts) == 5:
        return f"a JWE (5 parts), header {json.dumps(header)}"
    claims = json.loads(b64url_decode(parts[1]))
    shown = {name: claims.get(name) for name in ("iss", "aud", "azp", "sub", "email") if name in claims}
    return f"a JWS (3 parts), header {json.dumps(header)}, claims {json.dumps(shown)}"


def run_check(client, token, issuer, jwks):
    name, check = CHECKS[client]
    try:
        check(token, issuer, client, jwks, int(time.time()))
    except Refused as refusal:
        print(f"    {name}: REFUSED: {refusal}")
        return False
    print(f"    {name}: ACCEPTED")
    return True


def main():
    env = os.environ
    keycloak_issuer = env["KEYCLOAK_ISSUER"]
    tokenbridge = env["TOKENBRIDGE_URL"].rstrip("/")
    keycloak_secrets = {"mirotalk": env["MIROTALK_KEYCLOAK_SECRET"],
                        "bookstack": env["BOOKSTACK_KEYCLOAK_SECRET"]}
    exchange_secrets = {"mirotalk": env["MIROTALK_EXCHANGE_SECRET"],
                        "bookstack": env["BOOKSTACK_EXCHANGE_SECRET"]}
    outcome_ok = True

    status, discovery = http_json(f"{keycloak_issuer}/.well-known/openid-configuration")
    if status != 200:
        print(f"Keycloak's discovery answered {status}: {discovery}")
        return 1
    _, keycloak_jwks = http_json(discovery["jwks_uri"])

    print("== 1. Keycloak's ID tokens, as the relying parties get them today")
    keycloak_tokens = {}
    for client in ("mirotalk", "bookstack"):
        status, answer = http_json(discovery["token_endpoint"], {
            "grant_type": "password", "scope": "openid email profile",
            "username": env["DEMO_USERNAME"], "password": env["DEMO_PASSWORD"],
        }, auth=(client, keycloak_secrets[client]))
        if status != 200 or "id_token" not in answer:
            print(f"  {client}: Keycloak's token endpoint answered {status}: {answer}")
            return 1
        keycloak_tokens[client] = answer
        print(f"  {client}: {describe(answer['id_token'])}")
        if run_check(client, answer["id_token"], keycloak_issuer, keycloak_jwks):
            print("    (expected a refusal here: is the realm import in place?)")
            outcome_ok = False

    print("== 2. The fix with /exchange (RFC 8693): one audience, signed by tokenbridge")
    _, tokenbridge_jwks = http_json(f"{tokenbridge}/.well-known/jwks.json")
    _, tokenbridge_discovery = http_json(f"{tokenbridge}/.well-known/openid-configuration")
    for client in ("mirotalk", "bookstack"):
        status, answer = http_json(f"{tokenbridge}/exchange", {
            "grant_type": TOKEN_EXCHANGE, "subject_token_type": ID_TOKEN_TYPE,
            "subject_token": keycloak_tokens[client]["id_token"],
        }, auth=(client, exchange_secrets[client]))
        if status != 200:
            print(f"  {client}: /exchange answered {status}: {answer}")
            outcome_ok = False
            continue
        print(f"  {client}: {describe(answer['access_token'])}")
        outcome_ok &= run_check(client, answer["access_token"],
                                tokenbridge_discovery["issuer"], tokenbridge_jwks)

    print("== 3. The fix with the OIDC front: the relying party's only change is its issuer")
    for client in ("mirotalk", "bookstack"):
        front = f"{tokenbridge}/front/{client}"
        _, front_discovery = http_json(f"{front}/.well-known/openid-configuration")
        print(f"  {client}: issuer {front_discovery.get('issuer')}, "
              f"authorization_endpoint {front_discovery.get('authorization_endpoint')}")
        # What the RP sends after a browser login (code grant) or on refresh: here a refresh,
        # with the RP's own Keycloak credentials, which the front forwards unchanged.
        status, answer = http_json(front_discovery["token_endpoint"], {
            "grant_type": "refresh_token",
            "refresh_token": keycloak_tokens[client]["refresh_token"],
        }, auth=(client, keycloak_secrets[client]))
        if status != 200 or "id_token" not in answer:
            print(f"  {client}: the front's token endpoint answered {status}: {answer}")
            outcome_ok = False
            continue
        _, front_jwks = http_json(front_discovery["jwks_uri"])
        print(f"  {client}: {describe(answer['id_token'])}")
        outcome_ok &= run_check(client, answer["id_token"], front_discovery["issuer"], front_jwks)

    print("== done: " + ("both failures reproduced and both fixed" if outcome_ok
                         else "something differed from the walkthrough (see above)"))
    return 0 if outcome_ok else 1


def self_test():
    """The checks on hand-made tokens: the messages for both failures, and an acceptance."""
    # A 512-bit textbook RSA key is enough to check the verification arithmetic.
    p = 0xF3D6E5A1C1C7A5A2F6C6A7B2E4F1D3C5B7A9E1F3D5C7B9A1E3F5D7C9B1A3E5F7 | 1
    while not _probably_prime(p):
        p += 2
    q = p + 2
    while not _probably_prime(q):
        q += 2
    n, e = p * q, 65537
    d = pow(e, -1, (p - 1) * (q - 1))
    size = (n.bit_length() + 7) // 8

    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    def sign(claims):
        header = b64(json.dumps({"alg": "RS256", "kid": "k"}).encode())
        body = b64(json.dumps(claims).encode())
        digest_info = SHA256_DIGEST_INFO + hashlib.sha256(f"{header}.{body}".encode()).digest()
        padded = b"\x00\x01" + b"\xff" * (size - len(digest_info) - 3) + b"\x00" + digest_info
        signature = pow(int.from_bytes(padded, "big"), d, n).to_bytes(size, "big")
        return f"{header}.{body}.{b64(signature)}"

    jwks = {"keys": [{"kty": "RSA", "kid": "k", "use": "sig",
                      "n": b64(n.to_bytes(size, "big")), "e": b64(e.to_bytes(3, "big"))}]}
    now = int(time.time())
    issuer = "http://idp.test"
    claims = {"iss": issuer, "sub": "alice", "exp": now + 300, "iat": now}
    expectations = [
        (express_openid_connect, "a.b.c.d.e", "mirotalk",
         "failed to decode JWT (TypeError: encrypted JWTs cannot be decoded)"),
        (bookstack, sign({**claims, "aud": ["bookstack", "grafana", "wiki-api"],
                          "azp": "bookstack"}), "bookstack",
         "Token audience value has 3 values, Expected 1"),
        (bookstack, sign({**claims, "aud": "bookstack"})[:-4] + "AAAA", "bookstack",
         "signature verification failed against the issuer's JWKS"),
        (bookstack, sign({**claims, "aud": "bookstack"}), "bookstack", None),
        (express_openid_connect, sign({**claims, "aud": "mirotalk"}), "mirotalk", None),
    ]
    for check, token, client, message in expectations:
        try:
            check(token, issuer, client, jwks, now)
            got = None
        except Refused as refusal:
            got = str(refusal)
        if got != message:
            print(f"self-test: {check.__name__} gave {got!r}, expected {message!r}")
            return 1
    print("self-test: ok")
    return 0


def _probably_prime(candidate):
    if candidate % 2 == 0:
        return False
    d, r = candidate - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for base in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):
        x = pow(base, d, candidate)
        if x in (1, candidate - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, candidate)
            if x == candidate - 1:
                break
        else:
            return False
    return True


if __name__ == "__main__":
    sys.exit(self_test() if sys.argv[1:] == ["--self-test"] else main())
