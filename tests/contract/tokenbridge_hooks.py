"""Schemathesis hooks for the contract run, loaded by the CLI (SCHEMATHESIS_HOOKS) and by run.py.

Response bodies the spec types as strings are handed to schema validation as text:

* `application/jwt` (a front's userinfo as a JWT): schemathesis counts it as JSON-compatible and
  would parse a compact JWS as JSON. The JSON deserializer is replaced by one that leaves a JWT
  as its text, so the spec's compact-JWS pattern is what checks it.
* `application/x-pem-file` (`/encryption-key.pem`): without a deserializer its schema would be
  skipped silently.
"""

from __future__ import annotations

import schemathesis
from schemathesis.core import media_types


def _media_type(response) -> str:
    values = response.headers.get("content-type") or [""]
    value = values[0] if isinstance(values, list) else values
    return value.split(";")[0].strip().lower()


@schemathesis.deserializer("application/json")
def json_or_jwt(ctx, response):
    if media_types.parse(_media_type(response) or "application/json") == ("application", "jwt"):
        return response.content.decode("utf-8")
    return response.json()


@schemathesis.deserializer("application/x-pem-file")
def pem(ctx, response):
    return response.content.decode("utf-8")
