"""Every request our senders make, and every answer the stand-ins give, checked against the
vendors' own OpenAPI files (copied unmodified into ``specs/``; see ``specs/README.md``).

The files are loaded with ``json.load`` + ``OpenAPI.from_dict`` (the YAML reader behind
``from_file_path`` fails on the surrogate escapes of the Twilio file) and without validating the
spec documents themselves, which are the vendors' data and cost ~3.5 s each time. Answers with a
status the file does not declare (Twilio errors, SendGrid 429) cannot be checked against it;
their bodies are checked by the stand-in tests instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from urllib.parse import parse_qs

from openapi_core import Config, OpenAPI
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.testing import MockRequest, MockResponse

from notifier.testing_providers import Recorded

SPECS = Path(__file__).parent / "specs"
TWILIO_SPEC, TWILIO_SERVER = "twilio_api_v2010.json", "https://api.twilio.com"
SENDGRID_SPEC, SENDGRID_SERVER = "tsg_mail_v3.json", "https://api.sendgrid.com"
E164 = re.compile(r"^(whatsapp:)?\+[1-9]\d{6,14}$")


@cache
def openapi(name: str) -> OpenAPI:
    with (SPECS / name).open(encoding="utf-8") as file:
        return OpenAPI.from_dict(json.load(file), config=Config(spec_validator_cls=None))


def _request(rec: Recorded, server: str) -> MockRequest:
    # Presented as sent to the vendor's own server, so the spec's `servers` match.
    return MockRequest(
        server,
        rec.method,
        rec.path,
        args={k: v[0] for k, v in parse_qs(rec.query).items()},
        headers=dict(rec.headers),
        data=rec.body,
        content_type=rec.headers.get("content-type", ""),
    )


def describe(err: BaseException) -> str:
    """An openapi-core error with the schema errors behind it."""
    causes = getattr(err.__cause__, "schema_errors", None) or []
    details = "; ".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in causes)
    return f"{type(err).__name__}: {err}" + (f" [{details}]" if details else "")


def request_checker(
    spec: str, server: str, extra: Callable[[Recorded], list[str]] | None = None
) -> Callable[[Recorded], list[str]]:
    def check(rec: Recorded) -> list[str]:
        result = openapi(spec).unmarshal_request(_request(rec, server))
        problems = [f"{rec.path}: {describe(e)}" for e in result.errors]
        return problems + (extra(rec) if extra else [])

    return check


def response_checker(
    spec: str, server: str
) -> Callable[[Recorded, int, Mapping[str, str], bytes], list[str]]:
    def check(rec: Recorded, status: int, headers: Mapping[str, str], body: bytes) -> list[str]:
        response = MockResponse(body, status, dict(headers), headers.get("content-type", ""))
        result = openapi(spec).unmarshal_response(_request(rec, server), response)
        errors = [e for e in result.errors if not isinstance(e, ResponseNotFound)]
        return [f"answer {status} to {rec.path}: {describe(e)}" for e in errors]

    return check


def twilio_rules(rec: Recorded) -> list[str]:
    """CreateMessage rules that twilio_api_v2010.json does not encode (it requires only To)."""
    form, problems = rec.form, []
    if not form.get("From") and not form.get("MessagingServiceSid"):
        problems.append("neither From nor MessagingServiceSid")
    if bool(form.get("Body")) == bool(form.get("ContentSid")):
        problems.append("exactly one of Body and ContentSid must be sent")
    if "ContentVariables" in form:
        variables = json.loads(form["ContentVariables"])
        if not form.get("ContentSid"):
            problems.append("ContentVariables without ContentSid")
        if not all(isinstance(v, str) and v.strip() for v in variables.values()):
            problems.append(f"ContentVariables with an empty value: {variables}")
    for key in ("To", "From"):
        if key in form and not E164.match(form[key]):
            problems.append(f"{key} is not E.164: {form[key]!r}")
    if not form.get("StatusCallback"):
        problems.append("no StatusCallback")
    return problems
