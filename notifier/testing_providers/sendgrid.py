"""A SendGrid v3 Mail Send stand-in."""

from __future__ import annotations

import base64
import secrets
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from notifier.testing_providers.base import Fault, Recorded, StandIn


class SendgridStandIn(StandIn):
    """SendGrid v3 Mail Send. ``accepted`` keeps (X-Message-Id, body) of each 202."""

    def __init__(self, api_key: str = "SG.stand-in-key") -> None:
        super().__init__([Route("/v3/mail/send", self.handle, methods=["POST"])])
        self.api_key = api_key
        self.accepted: list[tuple[str, dict[str, Any]]] = []

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self.accepted.clear()

    def refusal(self, rec: Recorded, request: Request) -> Response | None:
        auth = rec.headers.get("authorization", "")
        if auth != f"Bearer {self.api_key}":
            text = (
                "authorization required"
                if not auth
                else "The provided authorization grant is invalid, expired, or revoked"
            )
            return self.error(Fault(401, message=text))
        try:
            mail = rec.json
        except ValueError:
            return self.error(Fault(400, message="Bad Request", field=None))
        problem = _mail_problem(mail)
        if problem:
            return self.error(Fault(400, message=problem[1], field=problem[0]))
        return None

    def accept(self, rec: Recorded, request: Request) -> Response:
        mail = rec.json
        if ((mail.get("mail_settings") or {}).get("sandbox_mode") or {}).get("enable") is True:
            return Response(status_code=200)
        message_id = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode()[:22]
        with self._lock:
            self.accepted.append((message_id, mail))
        return Response(status_code=202, headers={"X-Message-Id": message_id})

    def error(self, fault: Fault) -> Response:
        status = fault.status or 400
        headers = dict(fault.headers)
        if status == 429 and not headers:  # rate-limit headers SendGrid sends with a 429
            reset = str(int(time.time()) + 60)
            headers = {
                "X-RateLimit-Limit": "600",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": reset,
            }
        message = fault.message or _SENDGRID_TEXTS.get(status, "error")
        # The real API sends "field": null and "help": null; the OpenAPI file types them as a
        # string and an object, so they are left out when empty (the library reads both).
        error = {"message": message} | ({"field": fault.field} if fault.field else {})
        return JSONResponse({"errors": [error]}, status_code=status, headers=headers)


_SENDGRID_TEXTS = {
    400: "Bad Request",
    401: "authorization required",
    403: "access forbidden",
    413: "content too large",
    429: "too many requests",
    500: "internal server error",
    503: "service unavailable",
}


def _mail_problem(mail: Any) -> tuple[str | None, str] | None:
    """The first check SendGrid makes that this body fails, as (field, message)."""
    if not isinstance(mail, dict):
        return None, "Bad Request"
    people = mail.get("personalizations") or []
    if not people or not all(p.get("to") for p in people):
        return (
            "personalizations",
            "The personalizations field is required and must have at least one personalization.",
        )
    if not (mail.get("from") or {}).get("email"):
        return "from.email", "The from email does not contain a valid address."
    templated = bool(mail.get("template_id"))
    if not templated and not mail.get("subject") and not all(p.get("subject") for p in people):
        return (
            "subject",
            "The subject is required. You can get around this requirement if you use a "
            "template with a subject defined or if every personalization has a subject defined.",
        )
    content = mail.get("content") or []
    if not templated and not content:
        return (
            "content",
            "Unless a valid template_id is provided, the content parameter is required.",
        )
    types = [c.get("type") for c in content]
    if "text/plain" in types and types[0] != "text/plain":
        return (
            "content",
            "The text/plain content type must be first, before any other content types.",
        )
    return None
