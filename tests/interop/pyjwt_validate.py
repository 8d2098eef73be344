#!/usr/bin/env python3
"""The ID-token validator Python relying parties run: PyPI `PyJWT` with `PyJWKClient`, configured
as a relying party configures it (the issuer's discovered JWKS, RS256, one audience, the issuer,
60 s leeway), once with PyJWT's defaults and once with `strict_aud`, PyJWT's switch for the
rule BookStack applies (`aud` must be exactly the one expected string).

Usage (JSON in on stdin, one JSON line out on stdout):
  pyjwt_validate.py {"issuer","audience","tokens":[{"case","token"}]}
    -> {"results":[{"case","validator","ok","error"?,"aud"?,"sub"?}]}
Exit 0 unless the harness itself breaks.
"""

import json
import sys
import urllib.request

import jwt

FETCH_TIMEOUT_SECONDS = 10
VALIDATORS = {"PyJWT": {}, "PyJWT strict_aud": {"strict_aud": True}}


def discover_jwks_uri(issuer):
    url = f"{issuer}/.well-known/openid-configuration"
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as response:  # noqa: S310 (loopback)
        return json.loads(response.read())["jwks_uri"]


def main():
    request = json.load(sys.stdin)
    keys = jwt.PyJWKClient(discover_jwks_uri(request["issuer"]), cache_keys=True, timeout=FETCH_TIMEOUT_SECONDS)
    results = []
    for item in request["tokens"]:
        for validator, options in VALIDATORS.items():
            try:
                signing_key = keys.get_signing_key_from_jwt(item["token"])
                claims = jwt.decode(
                    item["token"],
                    signing_key.key,
                    algorithms=["RS256"],
                    audience=request["audience"],
                    issuer=request["issuer"],
                    leeway=60,
                    options=options,
                )
                results.append(
                    {"case": item["case"], "validator": validator, "ok": True, "aud": claims.get("aud"), "sub": claims.get("sub")}
                )
            except Exception as error:  # every refusal is a result, not a harness failure
                results.append(
                    {"case": item["case"], "validator": validator, "ok": False, "error": f"{type(error).__name__}: {error}"}
                )
    sys.stdout.write(json.dumps({"results": results}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
