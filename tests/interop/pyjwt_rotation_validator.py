#!/usr/bin/env python3
"""A relying party that caches tokenbridge's JWKS the way PyJWT's `PyJWKClient` does with caching
on (`cache_keys`, the JWK set kept `lifespan` seconds, an unknown `kid` refetches), verifying with
RS256, the issuer and one audience. For the key rotation test: it must verify every token of a
rotation from the JWKS it fetched before the new key activated.

Usage: pyjwt_rotation_validator.py '{"jwks_uri","issuer","audience"}'
  then one token per line on stdin -> one JSON line per token on stdout: {"ok","kid"?,"error"?}
Exit 0 at the end of stdin unless the harness itself breaks.
"""

import json
import sys

import jwt

FETCH_TIMEOUT_SECONDS = 10
CACHE_LIFESPAN_SECONDS = 600


def main():
    config = json.loads(sys.argv[1])
    keys = jwt.PyJWKClient(
        config["jwks_uri"], cache_keys=True, lifespan=CACHE_LIFESPAN_SECONDS, timeout=FETCH_TIMEOUT_SECONDS
    )
    for line in sys.stdin:
        token = line.strip()
        if not token:
            continue
        try:
            signing_key = keys.get_signing_key_from_jwt(token)
            jwt.decode(
                token, signing_key.key, algorithms=["RS256"], audience=config["audience"], issuer=config["issuer"]
            )
            result = {"ok": True, "kid": jwt.get_unverified_header(token).get("kid")}
        except Exception as error:  # every refusal is a result, not a harness failure
            result = {"ok": False, "error": f"{type(error).__name__}: {error}"}
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
