#!/usr/bin/env python3
"""A PyJWT relying party that fetches its issuer's JWKS once and never again: discovery, then one
GET of the `jwks_uri`, then every token verified against that one key set (RS256, the one
audience, the issuer, 60 s leeway, `strict_aud`). Unlike `PyJWKClient`, an unknown `kid` is a
refusal, not a refetch: behind a load balancer, a refetch could land on the replica that made
the token and hide that the replicas publish different keys.

Usage (JSON in on stdin, one JSON line out on stdout):
  pyjwt_one_jwks.py {"issuer","audience","tokens":[{"case","token"}]}
    -> {"jwks_uri","results":[{"case","ok","error"?,"sub"?}]}
Exit 0 unless the harness itself breaks.
"""

import json
import sys
import urllib.request

import jwt

FETCH_TIMEOUT_SECONDS = 10


def get_json(url):
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as response:  # noqa: S310 (loopback)
        return json.loads(response.read())


def main():
    request = json.load(sys.stdin)
    jwks_uri = get_json(f"{request['issuer']}/.well-known/openid-configuration")["jwks_uri"]
    keys = {key.key_id: key for key in jwt.PyJWKSet.from_dict(get_json(jwks_uri)).keys}
    results = []
    for item in request["tokens"]:
        try:
            kid = jwt.get_unverified_header(item["token"]).get("kid")
            if kid not in keys:
                raise LookupError(f"kid {kid!r} is not in the JWKS fetched once")
            claims = jwt.decode(
                item["token"],
                keys[kid].key,
                algorithms=["RS256"],
                audience=request["audience"],
                issuer=request["issuer"],
                leeway=60,
                options={"strict_aud": True},
            )
            results.append({"case": item["case"], "ok": True, "sub": claims.get("sub")})
        except Exception as error:  # every refusal is a result, not a harness failure
            results.append({"case": item["case"], "ok": False, "error": f"{type(error).__name__}: {error}"})
    sys.stdout.write(json.dumps({"jwks_uri": jwks_uri, "results": results}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
