#!/usr/bin/env python3
"""PyPI `PyJWT` judging a front's signed userinfo answers at a given instant: `PyJWKClient` on the
issuer's discovered JWKS, RS256, one audience, the issuer, no leeway, and
`options={"require": ["exp", "iat"]}`, as a relying party that wants a bounded statement sets it up.

PyJWT has no clock option: it reads `datetime.now` in `jwt.api_jwt`. That one name is replaced
with a clock pinned to each token's `at`, so the expiry is judged by PyJWT's own code without a
sleep.

Usage (JSON in on stdin, one JSON line out on stdout):
  pyjwt_userinfo.py {"issuer","audience","tokens":[{"case","token","at"}]}
    -> {"results":[{"case","validator","ok","error"?,"exp"?,"iat"?}]}
Exit 0 unless the harness itself breaks.
"""

import datetime
import json
import sys
import urllib.request

import jwt
import jwt.api_jwt

FETCH_TIMEOUT_SECONDS = 10
VALIDATOR = "PyJWT"


class PinnedClock(datetime.datetime):
    """`datetime` whose `now` is the instant under test."""

    instant = 0

    @classmethod
    def now(cls, tz=None):
        return datetime.datetime.fromtimestamp(cls.instant, tz=tz)


def discover_jwks_uri(issuer):
    url = f"{issuer}/.well-known/openid-configuration"
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as response:  # noqa: S310 (loopback)
        return json.loads(response.read())["jwks_uri"]


def main():
    request = json.load(sys.stdin)
    keys = jwt.PyJWKClient(discover_jwks_uri(request["issuer"]), cache_keys=True, timeout=FETCH_TIMEOUT_SECONDS)
    jwt.api_jwt.datetime = PinnedClock
    results = []
    for item in request["tokens"]:
        PinnedClock.instant = item["at"]
        try:
            signing_key = keys.get_signing_key_from_jwt(item["token"])
            claims = jwt.decode(
                item["token"],
                signing_key.key,
                algorithms=["RS256"],
                audience=request["audience"],
                issuer=request["issuer"],
                leeway=0,
                options={"require": ["exp", "iat"]},
            )
            results.append(
                {"case": item["case"], "validator": VALIDATOR, "ok": True, "exp": claims["exp"], "iat": claims["iat"]}
            )
        except Exception as error:  # every refusal is a result, not a harness failure
            results.append(
                {"case": item["case"], "validator": VALIDATOR, "ok": False, "error": f"{type(error).__name__}: {error}"}
            )
    sys.stdout.write(json.dumps({"results": results}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
