"""The OpenAPI contract run. tests/contract.rs starts it with the project's venv Python:

    run.py INPUT.json REPORT.json

INPUT names the spec, the base URLs of a healthy and a degraded tokenbridge (both on
127.0.0.1), client credentials, and subject tokens the Rust test minted with its demo IdP.

1. The schemathesis CLI fuzzes every operation of the healthy service (examples, coverage and
   fuzzing phases; --max-examples per operation and phase; a hard deadline), with the checks in
   CHECKS, plus `unsupported_method` (405 with `Allow`) on every operation. Every response it got is
   read back from its NDJSON report.
2. Targeted requests reach what a fuzzer can't: a valid signed (and an encrypted) subject token,
   a rate-limited client, fronts whose IdP answers, refuses or is down, a service whose upstream
   has no keys, a body that never finishes arriving (over a raw connection: 408). Each response is validated against the spec with the same checks through
   schemathesis' Python API, and must have the status the request was made for.
3. Every status the spec documents for an operation must have been observed at least once.

REPORT gets {"ok", "seed", "failures": [{operation, status, check, message}], "missing":
[{operation, status}], "observed": {operation: [status, ...]}, "counts": {...}}. Messages
never hold a secret or a token.

Environment: TB_CONTRACT_SEED replays a run (the seed is in every report and failure message);
TB_CONTRACT_MAX_EXAMPLES sets the test cases per operation and phase (default 100).
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import random
import re
import subprocess
import sys
import time
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import requests
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

import tokenbridge_hooks  # noqa: F401 (registers the deserializers)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

# Bounds: test cases per operation and phase, seconds per request, seconds for the CLI run.
MAX_EXAMPLES = int(os.environ.get("TB_CONTRACT_MAX_EXAMPLES", "100"))
REQUEST_TIMEOUT = 10
CLI_DEADLINE = 75

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
# A JOSE header (even a truncated one) and whatever parts follow it.
TOKEN_LIKE = re.compile(r"eyJ[A-Za-z0-9_-]{6,}(?:\.[A-Za-z0-9_-]*)*")


class Contract:
    """The spec, what was observed against it, and what failed."""

    def __init__(self, spec: Path, secrets: list[str]) -> None:
        self.spec_path = spec
        self.schema = schemathesis.openapi.from_path(str(spec))
        self.raw = self.schema.raw_schema
        self.secrets = [secret for secret in secrets if secret]
        self.observed: dict[str, set[int]] = defaultdict(set)
        self.failures: list[dict] = []
        self.counts: dict[str, int] = defaultdict(int)
        self.templates = [
            (
                f"{method.upper()} {path}",
                method.upper(),
                re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$"),
            )
            for path, item in self.raw["paths"].items()
            for method in item
            if method in METHODS
        ]

    def redact(self, text: str) -> str:
        text = TOKEN_LIKE.sub("<token>", text)
        for secret in self.secrets:
            text = text.replace(secret, "<secret>")
            text = text.replace(base64.b64encode(secret.encode()).decode(), "<secret>")
        return text

    def fail(self, operation: str, status, check: str, message: str) -> None:
        entry = {"operation": operation, "status": status, "check": check, "message": self.redact(message)}
        if entry not in self.failures:
            self.failures.append(entry)

    def operation_of(self, method: str, url: str) -> str | None:
        path = urllib.parse.urlsplit(url).path
        for label, template_method, pattern in self.templates:
            if template_method == method.upper() and pattern.match(path):
                return label
        return None

    def documented(self) -> dict[str, list[str]]:
        return {
            f"{method.upper()} {path}": list(operation["responses"])
            for path, item in self.raw["paths"].items()
            for method, operation in item.items()
            if method in METHODS
        }

    def missing(self) -> list[dict]:
        """Documented (operation, status) pairs never observed; `4XX` needs a 4xx not listed on its own."""
        missing = []
        for operation, statuses in self.documented().items():
            seen = self.observed.get(operation, set())
            explicit = {int(status) for status in statuses if status.isdigit()}
            for status in statuses:
                if status.upper().endswith("XX"):
                    low = int(status[0]) * 100
                    hit = any(low <= code < low + 100 and code not in explicit for code in seen)
                else:
                    hit = int(status) in seen
                if not hit:
                    missing.append({"operation": operation, "status": status})
        return missing


# --- 1. the schemathesis CLI ---------------------------------------------------------------


def run_cli(contract: Contract, base: str, client: dict, workdir: Path, seed: int) -> None:
    config = workdir / "schemathesis.toml"
    config.write_text(
        f"""
[generation]
database = "none"

# Only these checks (CHECKS), everywhere, and unsupported_method: the README promises 405 with
# `Allow` for a method an endpoint doesn't serve.
[checks]
enabled = false
{chr(10).join(f"{check.__name__}.enabled = true" for check in CHECKS)}
unsupported_method.enabled = true

[auth.openapi.clientSecretBasic]
username = "${{TB_CONTRACT_CLIENT_ID}}"
password = "${{TB_CONTRACT_CLIENT_SECRET}}"

[auth.openapi.relyingPartyBasic]
username = "a-relying-party"
password = "its-secret-at-the-idp"

[auth.openapi.relyingPartyBearer]
bearer = "an-opaque-access-token"

# The fronts' path parameter: the front that works, so the fuzzer gets past the 404.
[[operations]]
include-path-regex = "^/front/"
parameters = {{ client = "app" }}
""",
        encoding="utf-8",
    )
    reports = workdir / "schemathesis-report"
    ndjson = reports / "events.ndjson"
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(config),
        "--no-color",
        "run",
        str(contract.spec_path),
        "--url",
        base,
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(seed),
        # One worker: with two, CPython 3.11 intermittently fails schemathesis' generation with
        # "SystemError: AST constructor recursion depth mismatch" (state shared between threads).
        "--workers",
        "1",
        "--request-timeout",
        str(REQUEST_TIMEOUT),
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(ndjson),
    ]
    environment = dict(os.environ)
    environment["SCHEMATHESIS_HOOKS"] = "tokenbridge_hooks"
    environment["PYTHONPATH"] = str(Path(__file__).resolve().parent)
    environment["TB_CONTRACT_CLIENT_ID"] = client["id"]
    environment["TB_CONTRACT_CLIENT_SECRET"] = client["secret"]
    started = time.monotonic()
    try:
        completed = subprocess.run(
            command, cwd=workdir, env=environment, capture_output=True, text=True, timeout=CLI_DEADLINE
        )
    except subprocess.TimeoutExpired:
        contract.fail("schemathesis run", None, "deadline", f"the CLI run took more than {CLI_DEADLINE}s")
        return
    output = contract.redact(completed.stdout + completed.stderr)
    print(f"schemathesis run: exit {completed.returncode} after {time.monotonic() - started:.1f}s, seed {seed}")
    print(output)
    if not ndjson.is_file():
        contract.fail("schemathesis run", None, "report", f"no NDJSON report (exit {completed.returncode})")
        return
    read_events(contract, ndjson)
    if completed.returncode != 0 and not contract.failures:
        contract.fail("schemathesis run", None, "exit status", f"exit {completed.returncode} with no failure recorded")


def read_events(contract: Contract, ndjson: Path) -> None:
    """Every response of the CLI run into `observed`; every failed check and engine error into failures."""
    for line in ndjson.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if "NonFatalError" in event:
            error = event["NonFatalError"]
            value = error.get("value", {})
            contract.fail(
                error.get("label", "?"),
                None,
                "schemathesis error",
                f"{value.get('type')}: {value.get('message')} (phase {error.get('phase')})",
            )
        if "ScenarioFinished" not in event:
            continue
        recorder = event["ScenarioFinished"]["recorder"]
        statuses: dict[str, int | None] = {}
        for case_id, interaction in recorder.get("interactions", {}).items():
            request, response = interaction["request"], interaction.get("response")
            status = response["status_code"] if response else None
            statuses[case_id] = status
            operation = contract.operation_of(request["method"], request["uri"])
            contract.counts["cli requests"] += 1
            if operation is not None and status is not None:
                contract.observed[operation].add(status)
        for case_id, checks in recorder.get("checks", {}).items():
            for check in checks:
                contract.counts[f"check {check.get('name')}"] += 1
                if check.get("status") not in ("failure", "error"):
                    continue
                info = check.get("failure_info") or {}
                failure = info.get("failure") or {}
                message = failure.get("message") or failure.get("title") or check.get("status")
                contract.fail(
                    recorder.get("label", "?"),
                    statuses.get(case_id),
                    check.get("name", "?"),
                    f"{failure.get('title', '')}: {message}",
                )


# --- 2. targeted requests ------------------------------------------------------------------


@dataclass
class Probe:
    """One request made on purpose, and the status it is made for."""

    why: str
    base: str
    path: str
    method: str
    expect: int
    path_parameters: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)
    body: object = None
    media_type: str | None = None
    query: dict = field(default_factory=dict)


def basic(client: dict) -> dict:
    encode = lambda text: urllib.parse.quote_plus(text)  # noqa: E731 (RFC 6749 §2.3.1)
    pair = f"{encode(client['id'])}:{encode(client['secret'])}"
    return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}


def exchange_form(token: str, **extra: str) -> dict:
    return {"grant_type": GRANT, "subject_token": token, "subject_token_type": ID_TOKEN, **extra}


# A login the relaying front takes: its client_id is the front's audience, its redirect_uri listed.
RELAY_LOGIN = {
    "client_id": "app",
    "response_type": "code",
    "redirect_uri": "https://rp.example.com/callback",
    "state": "rp-state",
    "scope": "openid",
}


def relay_state(data: dict, session: requests.Session) -> str:
    """The state the relaying front seals into a login it sends to the IdP."""
    base, front = data["healthy"], data["fronts"]["ok"]
    answer = session.get(f"{base}/front/{front}/authorize", params=RELAY_LOGIN, allow_redirects=False,
                         timeout=REQUEST_TIMEOUT)
    location = urllib.parse.urlsplit(answer.headers.get("Location", ""))
    return dict(urllib.parse.parse_qsl(location.query)).get("state", "")


def probes(data: dict, sealed: str) -> list[Probe]:
    healthy, degraded = data["healthy"], data["degraded"]
    client, limited = data["client"], data["limited_client"]
    tokens, fronts = data["tokens"], data["fronts"]
    too_large = "x" * (data["max_body_bytes"] + 1)
    bearer = {"Authorization": "Bearer an-opaque-access-token"}
    code_grant = {
        "grant_type": "authorization_code",
        "code": "SplxlOBeZQQYbYS6WxSbIA",
        "redirect_uri": "https://rp.example.com/callback",
        "code_verifier": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    }

    def exchange(why: str, expect: int, body: dict, headers: dict | None = None, base: str = healthy,
                 media_type: str = FORM) -> Probe:
        return Probe(why, base, "/exchange", "POST", expect, headers=basic(client) if headers is None else headers,
                     body=body, media_type=media_type)

    def front(why: str, base: str, path: str, method: str, expect: int, name: str, **kwargs) -> Probe:
        return Probe(why, base, path, method, expect, path_parameters={"client": name}, **kwargs)

    token_path, userinfo, discovery, backchannel = (
        "/front/{client}/token",
        "/front/{client}/userinfo",
        "/front/{client}/.well-known/openid-configuration",
        "/front/{client}/backchannel-logout",
    )
    logout, logout_callback = "/front/{client}/logout", "/front/{client}/logout/callback"
    way_back = {"client_id": "app", "post_logout_redirect_uri": LOGGED_OUT, "state": "rp-state"}
    sealed_state = logout_state(healthy, fronts["ok"], way_back)
    return [
        # /exchange
        exchange("a multi-audience ID token, form and Basic", 200, exchange_form(tokens["valid"])),
        exchange(
            "the same token as JSON with client_secret_post, issued as an access token",
            200,
            {"client_id": client["id"], "client_secret": client["secret"], "subject_token": tokens["valid"],
             "subject_token_type": ID_TOKEN, "requested_token_type": ACCESS_TOKEN},
            headers={},
            media_type=JSON,
        ),
        exchange("a JWE shaped like Authentik's", 200, exchange_form(tokens["encrypted"])),
        exchange("a token without the client's audience", 400, exchange_form(tokens["foreign_audience"])),
        exchange("an expired token", 400, exchange_form(tokens["expired"])),
        exchange("another grant type", 400, exchange_form(tokens["valid"], grant_type="authorization_code")),
        exchange("an unsupported scope", 400, exchange_form(tokens["valid"], scope="openid")),
        exchange("a wrong secret", 401, exchange_form(tokens["valid"]),
                 headers=basic({"id": client["id"], "secret": "wrong-guess-0123456789"})),
        exchange("no credentials", 401, exchange_form(tokens["valid"]), headers={}),
        exchange("a body over max_body_bytes", 413, exchange_form(too_large)),
        exchange("a subject token over max_token_bytes", 413,
                 exchange_form(too_large[: data["max_body_bytes"] // 2 + 1])),
        exchange("the rate-limited client's one request", 200, exchange_form(tokens["valid"]), headers=basic(limited)),
        exchange("the rate-limited client's second request", 429, exchange_form(tokens["valid"]),
                 headers=basic(limited)),
        exchange("a token from an upstream whose keys can't be fetched", 503,
                 exchange_form(tokens["from_down_idp"]), base=degraded),
        # published documents and probes
        Probe("the certificate", healthy, "/encryption-key.pem", "GET", 200),
        Probe("no RSA decryption key, no certificate", degraded, "/encryption-key.pem", "GET", 404),
        Probe("every upstream has keys", healthy, "/readyz", "GET", 200),
        Probe("an upstream down since the start", degraded, "/readyz", "GET", 503),
        Probe("liveness while degraded", degraded, "/healthz", "GET", 200),
        Probe("discovery while degraded", degraded, "/.well-known/openid-configuration", "GET", 200),
        Probe("signing keys while degraded", degraded, "/.well-known/jwks.json", "GET", 200),
        Probe("encryption keys, EC only", degraded, "/.well-known/encryption-keys.json", "GET", 200),
        # fronts
        front("a front", healthy, discovery, "GET", 200, fronts["ok"]),
        front("a front with userinfo as JWT", healthy, discovery, "GET", 200, fronts["jwt_userinfo"]),
        front("no such front", healthy, discovery, "GET", 404, "nobody"),
        front("the IdP is down", degraded, discovery, "GET", 503, fronts["idp_down"]),
        # the login relay
        front("a login the relay takes", healthy, "/front/{client}/authorize", "GET", 303, fronts["ok"],
              query=RELAY_LOGIN),
        front("a redirect_uri the front does not list", healthy, "/front/{client}/authorize", "GET", 400,
              fronts["ok"], query={**RELAY_LOGIN, "redirect_uri": "https://evil.example/cb"}),
        front("a pass-through front", healthy, "/front/{client}/authorize", "GET", 404, fronts["pass_through"],
              query=RELAY_LOGIN),
        front("the IdP's answer with the sealed state", healthy, "/front/{client}/callback", "GET", 303,
              fronts["ok"], query={"code": "c0de", "state": sealed}),
        front("a state the front did not seal", healthy, "/front/{client}/callback", "GET", 400, fronts["ok"],
              query={"code": "c0de", "state": "rp-state"}),
        front("a pass-through front", healthy, "/front/{client}/callback", "GET", 404, fronts["pass_through"],
              query={"code": "c0de", "state": sealed}),
        front("a code grant the IdP answers", healthy, token_path, "POST", 200, fronts["ok"], body=code_grant,
              media_type=FORM),
        front("an ID token the client's rules refuse", healthy, token_path, "POST", 400, fronts["refuses_tokens"],
              body=code_grant, media_type=FORM),
        front("the password grant", healthy, token_path, "POST", 400, fronts["ok"],
              body={**code_grant, "grant_type": "password"}, media_type=FORM),
        front("no such front", healthy, token_path, "POST", 404, "nobody", body=code_grant, media_type=FORM),
        front("a body over max_body_bytes", healthy, token_path, "POST", 413, fronts["ok"],
              body={**code_grant, "code": too_large}, media_type=FORM),
        front("the IdP refuses the client", degraded, token_path, "POST", 401, fronts["idp_refuses"],
              body=code_grant, media_type=FORM),
        front("the IdP is down", degraded, token_path, "POST", 503, fronts["idp_down"], body=code_grant,
              media_type=FORM),
        front("userinfo as JSON", healthy, userinfo, "GET", 200, fronts["ok"], headers=bearer),
        front("userinfo as a JWT", healthy, userinfo, "GET", 200, fronts["jwt_userinfo"], headers=bearer),
        front("userinfo a claim rule refuses", healthy, userinfo, "GET", 502, fronts["refuses_tokens"],
              headers=bearer),
        front("no such front", healthy, userinfo, "GET", 404, "nobody", headers=bearer),
        front("the IdP refuses the bearer token", degraded, userinfo, "GET", 401, fronts["idp_refuses"],
              headers=bearer),
        front("the IdP is down", degraded, userinfo, "GET", 503, fronts["idp_down"], headers=bearer),
        front("userinfo by POST", healthy, userinfo, "POST", 200, fronts["ok"], headers=bearer),
        front("userinfo by POST as a JWT", healthy, userinfo, "POST", 200, fronts["jwt_userinfo"],
              body={"access_token": "an-opaque-access-token"}, media_type=FORM),
        front("userinfo by POST a claim rule refuses", healthy, userinfo, "POST", 502, fronts["refuses_tokens"],
              headers=bearer),
        front("no such front", healthy, userinfo, "POST", 404, "nobody", headers=bearer),
        front("a body over max_body_bytes", healthy, userinfo, "POST", 413, fronts["ok"],
              body={"access_token": too_large}, media_type=FORM),
        front("the IdP refuses the bearer token", degraded, userinfo, "POST", 401, fronts["idp_refuses"],
              headers=bearer),
        front("the IdP is down", degraded, userinfo, "POST", 503, fronts["idp_down"], headers=bearer),
        front("a logout by client_id", healthy, logout, "GET", 303, fronts["ok"], query={"client_id": "app"}),
        front("a logout coming back", healthy, logout, "GET", 303, fronts["ok"], query=way_back),
        front("a logout for another client", healthy, logout, "GET", 400, fronts["ok"],
              query={"client_id": "elsewhere"}),
        front("no such front", healthy, logout, "GET", 404, "nobody"),
        front("the IdP is down", degraded, logout, "GET", 503, fronts["idp_down"], query={"client_id": "app"}),
        front("a logout by POST", healthy, logout, "POST", 303, fronts["ok"], body=way_back, media_type=FORM),
        front("an unlisted post_logout_redirect_uri", healthy, logout, "POST", 400, fronts["ok"],
              body={**way_back, "post_logout_redirect_uri": "https://evil.example/"}, media_type=FORM),
        front("no such front", healthy, logout, "POST", 404, "nobody", body=way_back, media_type=FORM),
        front("a body over max_body_bytes", healthy, logout, "POST", 413, fronts["ok"],
              body={"state": too_large}, media_type=FORM),
        front("the IdP is down", degraded, logout, "POST", 503, fronts["idp_down"], body={"client_id": "app"},
              media_type=FORM),
        front("back from the IdP", healthy, logout_callback, "GET", 303, fronts["ok"],
              query={"state": sealed_state}),
        front("a state the front did not seal", healthy, logout_callback, "GET", 400, fronts["ok"],
              query={"state": "not-sealed"}),
        front("no such front", healthy, logout_callback, "GET", 404, "nobody", query={"state": sealed_state}),
        front("the IdP's logout token, relayed to the RP", healthy, backchannel, "POST", 200, fronts["ok"],
              body={"logout_token": tokens["logout"]}, media_type=FORM),
        front("the same logout token again", healthy, backchannel, "POST", 400, fronts["ok"],
              body={"logout_token": tokens["logout"]}, media_type=FORM),
        front("a front without backchannel_logout_uri", healthy, backchannel, "POST", 404,
              fronts["no_backchannel_logout"], body={"logout_token": tokens["logout"]}, media_type=FORM),
        front("no such front", healthy, backchannel, "POST", 404, "nobody",
              body={"logout_token": tokens["logout"]}, media_type=FORM),
        front("a body over max_body_bytes", healthy, backchannel, "POST", 413, fronts["ok"],
              body={"logout_token": too_large}, media_type=FORM),
    ]


# The front "app"'s one post_logout_redirect_uri (tests/contract.rs).
LOGGED_OUT = "https://rp.example.com/logged-out"


def logout_state(base: str, front: str, parameters: dict) -> str:
    """The sealed state a logout gives the IdP, for the callback's probe."""
    session = requests.Session()
    session.trust_env = False  # loopback only: no proxy from the environment
    response = session.get(f"{base}/front/{front}/logout", params=parameters, allow_redirects=False,
                           timeout=REQUEST_TIMEOUT)
    location = response.headers.get("location", "")
    state = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query).get("state", [""])
    return state[0]


def run_probes(contract: Contract, data: dict) -> None:
    session = requests.Session()
    session.trust_env = False  # loopback only: no proxy from the environment
    for probe in probes(data, relay_state(data, session)):
        operation = f"{probe.method} {probe.path}"
        api_operation = contract.schema[probe.path][probe.method]
        kwargs = {"path_parameters": probe.path_parameters, "headers": probe.headers}
        if probe.query:
            kwargs["query"] = probe.query
        if probe.body is not None:
            kwargs["body"] = probe.body
            kwargs["media_type"] = probe.media_type
        case = api_operation.Case(**kwargs)
        # A redirect is the answer under test, never followed (it may point off loopback).
        response = case.call(base_url=probe.base, session=session, timeout=REQUEST_TIMEOUT,
                             allow_redirects=False)
        contract.counts["targeted requests"] += 1
        contract.observed[operation].add(response.status_code)
        if response.status_code != probe.expect:
            contract.fail(
                operation,
                response.status_code,
                "targeted status",
                f"{probe.why}: expected {probe.expect}, body {response.text[:300]}",
            )
        # A documented 5xx made on purpose (IdP down, keys unavailable) is the contract, not a
        # server error; status_code_conformance still refuses any 5xx the spec doesn't list.
        checks = CHECKS if probe.expect < 500 else [check for check in CHECKS if check is not not_a_server_error]
        try:
            case.validate_response(response, checks=checks)
        except FailureGroup as group:
            for failure in group.exceptions:
                record_failure(contract, operation, response.status_code, probe.why, failure)
        except Failure as failure:
            record_failure(contract, operation, response.status_code, probe.why, failure)
    check_other_methods(contract, data["healthy"], session)
    check_unfinished_bodies(contract, data)


def record_failure(contract: Contract, operation: str, status: int, why: str, failure: Failure) -> None:
    check = type(failure).checks[0] if type(failure).checks else failure.title
    contract.fail(operation, status, check, f"{why}: {failure.title}: {failure.message}")


def check_other_methods(contract: Contract, base: str, session: requests.Session) -> None:
    """The spec's description: a method a path doesn't document is 405, `Allow` naming the ones it
    does, and the RFC error body."""
    expected_body = {
        "error": "invalid_request",
        "error_description": "the method is not allowed here: see the Allow header",
    }
    for template, operations in contract.raw["paths"].items():
        documented = [m.upper() for m in ("get", "post") if m in operations]
        path = template.replace("{client}", "app")
        for method in ("PUT", "DELETE", "PATCH", "GET", "POST"):
            if method in documented:
                continue
            response = session.request(method, f"{base}{path}", timeout=REQUEST_TIMEOUT)
            contract.counts["targeted requests"] += 1
            problems = []
            if response.status_code != 405:
                problems.append(f"status {response.status_code}")
            if response.headers.get("allow") != ", ".join(documented):
                problems.append(f"Allow {response.headers.get('allow')!r}")
            if response.headers.get("cache-control") != "no-store":
                problems.append(f"Cache-Control {response.headers.get('cache-control')!r}")
            try:
                body = response.json()
            except ValueError:
                body = None
            if body != expected_body:
                problems.append(f"body {response.text[:200]!r}")
            if problems:
                contract.fail(f"{method} {template}", response.status_code, "405 for other methods", ", ".join(problems))


BODY_READERS = [
    ("POST", "/exchange"),
    ("POST", "/front/{client}/token"),
    ("POST", "/front/{client}/userinfo"),
    ("GET", "/front/{client}/userinfo"),
    ("POST", "/front/{client}/logout"),
    ("POST", "/front/{client}/backchannel-logout"),
]


def check_unfinished_bodies(contract: Contract, data: dict) -> None:
    """Each operation that reads a body, sent 11 of the 100 bytes it declares and then nothing:
    the answer must come within `limits.body_read_timeout` (plus slack), be the documented 408,
    and the connection must close. requests can't send a body that stops, so this is raw."""
    base = data["healthy"]
    address = urllib.parse.urlsplit(base)
    sent = b"grant_type="
    for method, template in BODY_READERS:
        operation = f"{method} {template}"
        path_parameters = {"client": data["fronts"]["ok"]} if "{client}" in template else {}
        path = template.replace("{client}", path_parameters.get("client", ""))
        headers = {"Content-Type": FORM, "Content-Length": "100"}
        connection = http.client.HTTPConnection(
            address.hostname, address.port, timeout=data["body_read_timeout_secs"] + REQUEST_TIMEOUT
        )
        started = time.monotonic()
        try:
            connection.putrequest(method, path, skip_accept_encoding=True)
            for name, value in headers.items():
                connection.putheader(name, value)
            connection.endheaders(sent)
            answer = connection.getresponse()
            content = answer.read()
            is_closed = answer.will_close
            raw_headers = answer.getheaders()
        except (OSError, http.client.HTTPException) as err:
            contract.fail(operation, None, "unfinished body", f"no answer: {type(err).__name__}: {err}")
            continue
        finally:
            connection.close()
        elapsed = time.monotonic() - started
        contract.counts["targeted requests"] += 1
        contract.observed[operation].add(answer.status)
        if answer.status != 408 or not is_closed:
            contract.fail(operation, answer.status, "unfinished body",
                          f"expected 408 and a closed connection, got closed={is_closed}, body {content[:300]!r}")
        response_headers: dict[str, list[str]] = defaultdict(list)
        for name, value in raw_headers:
            response_headers[name.lower()].append(value)
        request = requests.Request(method, f"{base}{path}", headers=headers, data=sent).prepare()
        response = schemathesis.Response(
            status_code=answer.status,
            headers=dict(response_headers),
            content=content,
            request=request,
            elapsed=elapsed,
            verify=False,
            message=answer.reason,
            http_version="1.1",
        )
        case = contract.schema[template][method].Case(path_parameters=path_parameters)
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                record_failure(contract, operation, answer.status, "an unfinished body", failure)
        except Failure as failure:
            record_failure(contract, operation, answer.status, "an unfinished body", failure)


# --- 3. the report -------------------------------------------------------------------------


def main() -> int:
    input_path, report_path = Path(sys.argv[1]), Path(sys.argv[2])
    data = json.loads(input_path.read_text(encoding="utf-8"))
    seed = int(os.environ.get("TB_CONTRACT_SEED") or random.randrange(2**31))
    secrets = [data["client"]["secret"], data["limited_client"]["secret"]]
    contract = Contract(Path(data["spec"]), secrets)
    workdir = input_path.parent
    run_cli(contract, data["healthy"], data["client"], workdir, seed)
    run_probes(contract, data)
    missing = contract.missing()
    report = {
        "ok": not contract.failures and not missing,
        "seed": seed,
        "failures": contract.failures,
        "missing": missing,
        "observed": {operation: sorted(statuses) for operation, statuses in sorted(contract.observed.items())},
        "counts": contract.counts,
    }
    report_path.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(f"observed: {json.dumps(report['observed'])}")
    print(f"counts: {json.dumps(contract.counts)}; {len(contract.failures)} failures, {len(missing)} missing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
