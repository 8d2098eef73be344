#!/usr/bin/env python3
"""Independent JOSE implementation for tokenbridge's interop tests: PyPI `jwcrypto` makes the
IdP's tokens and checks tokenbridge's, so no token is both made and checked by our code.

Usage (JSON in on stdin, one JSON line out on stdout):
  jwcrypto_tokens.py mint    {"issuer","audience","encryption_keys":[jwk,...]}
    -> {"jwks":{"keys":[...]},"tokens":[{"case","token"}]}
       one JWS per JWS alg of the contract, one JWE (RSA or EC recipient, an RS256 JWS inside)
       per JWE alg/enc pair, and Authentik's exact shape.
  jwcrypto_tokens.py verify  {"jwks_uri","issuer","audience","tokens":[{"case","token","alg"}]}
    -> {"results":[{"case","ok","error"?,"aud"?,"alg"?,"sub"?}]}
Exit 0 unless the harness itself breaks.
"""

import json
import sys
import time
import urllib.request

from jwcrypto import jwe, jwk, jwt
from jwcrypto.common import json_encode

JWS_ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
JWE_ALGS = ["RSA-OAEP", "RSA-OAEP-256", "ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A192KW", "ECDH-ES+A256KW"]
JWE_ENCS = ["A128GCM", "A192GCM", "A256GCM", "A128CBC-HS256", "A192CBC-HS384", "A256CBC-HS512"]
CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
# Only loopback is ever fetched, and only tokenbridge's own JWKS.
FETCH_TIMEOUT_SECONDS = 10


def signing_key(alg):
    kid = f"jwcrypto-{alg}"
    if alg.startswith(("RS", "PS")):
        key = jwk.JWK.generate(kty="RSA", size=2048, kid=kid)
    elif alg == "EdDSA":
        key = jwk.JWK.generate(kty="OKP", crv="Ed25519", kid=kid)
    else:
        key = jwk.JWK.generate(kty="EC", crv=CURVES[alg], kid=kid)
    public = json.loads(key.export_public())
    public.update({"alg": alg, "use": "sig"})
    return alg, key, public


def claims_for(minted, label):
    now = int(time.time())
    return {
        "iss": minted["issuer"],
        "sub": f"made-by-jwcrypto {label}",
        "aud": [minted["audience"], "another-app"],
        "iat": now,
        "exp": now + 600,
        "email": "ada@example.com",
    }


def sign(key, claims):
    alg, private, _ = key
    token = jwt.JWT(header={"alg": alg, "kid": private.key_id, "typ": "JWT"}, claims=claims)
    token.make_signed_token(private)
    return token.serialize()


def encrypt(plaintext, recipient, header):
    token = jwe.JWE(plaintext.encode(), protected=json_encode(header))
    token.add_recipient(recipient)
    return token.serialize(compact=True)


def recipient_for(encryption_keys, kty):
    published = next(key for key in encryption_keys if key["kty"] == kty)
    material = {name: value for name, value in published.items() if name not in ("alg", "use")}
    return published, jwk.JWK(**material)


def mint(request):
    keys = [signing_key(alg) for alg in JWS_ALGS]
    tokens = [
        {"case": f"JWS {key[0]}", "token": sign(key, claims_for(request, f"JWS {key[0]}"))}
        for key in keys
    ]
    rs256 = keys[0]
    for alg in JWE_ALGS:
        published, recipient = recipient_for(request["encryption_keys"], "RSA" if alg.startswith("RSA") else "EC")
        for enc in JWE_ENCS:
            label = f"JWE {alg} + {enc}"
            inner = sign(rs256, claims_for(request, label))
            header = {"alg": alg, "enc": enc, "cty": "JWT", "kid": published["kid"]}
            tokens.append({"case": label, "token": encrypt(inner, recipient, header)})
    # Authentik: RSA-OAEP-256 + A256CBC-HS512, typ JWE, an empty kid, no cty.
    _, rsa = recipient_for(request["encryption_keys"], "RSA")
    label = "JWE Authentik shape"
    header = {"alg": "RSA-OAEP-256", "enc": "A256CBC-HS512", "typ": "JWE", "kid": ""}
    tokens.append({"case": label, "token": encrypt(sign(rs256, claims_for(request, label)), rsa, header)})
    return {"jwks": {"keys": [key[2] for key in keys]}, "tokens": tokens}


def fetch_jwks(url):
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as response:  # noqa: S310 (loopback)
        return jwk.JWKSet.from_json(response.read())


def verify(request):
    keys = fetch_jwks(request["jwks_uri"])
    results = []
    for item in request["tokens"]:
        try:
            checked = jwt.JWT(
                algs=[item["alg"]],
                expected_type="JWS",
                check_claims={"iss": request["issuer"], "aud": request["audience"], "exp": None, "iat": None},
            )
            checked.leeway = 60
            checked.deserialize(item["token"], keys)
            header = json.loads(checked.header)
            claims = json.loads(checked.claims)
            results.append(
                {
                    "case": item["case"],
                    # A legacy relying party wants exactly one audience: a list, even of one, fails here.
                    "ok": claims.get("aud") == request["audience"],
                    "aud": claims.get("aud"),
                    "alg": header.get("alg"),
                    "sub": claims.get("sub"),
                }
            )
        except Exception as error:  # every refusal is a result, not a harness failure
            results.append({"case": item["case"], "ok": False, "error": f"{type(error).__name__}: {error}"})
    return {"results": results}


def main():
    commands = {"mint": mint, "verify": verify}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.stderr.write("usage: jwcrypto_tokens.py mint|verify < request.json\n")
        return 2
    request = json.load(sys.stdin)
    sys.stdout.write(json.dumps(commands[sys.argv[1]](request)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
