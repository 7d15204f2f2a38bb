"""A Twilio Messages (API 2010-04-01) stand-in."""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from notifier.sms import segments
from notifier.testing_providers.base import Fault, Recorded, StandIn

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class TwilioStandIn(StandIn):
    """Twilio Messages (API 2010-04-01). ``created`` keeps (SID, form) of each 201;
    ``opted_out`` and ``landlines`` hold E.164 numbers answered 21610 and 21614."""

    def __init__(
        self,
        account_sid: str = "AC" + "5" * 32,
        auth_token: str = "stand-in-token",  # noqa: S107
    ) -> None:
        path = "/2010-04-01/Accounts/{sid}/Messages.json"
        super().__init__([Route(path, self.handle, methods=["POST"])])
        self.account_sid, self.auth_token = account_sid, auth_token
        self.opted_out: set[str] = set()
        self.landlines: set[str] = set()
        self.created: list[tuple[str, dict[str, str]]] = []

    def reset(self) -> None:
        """Forget requests, faults, created messages, opted-out numbers and landlines."""
        super().reset()
        with self._lock:
            self.created.clear()
            self.opted_out.clear()
            self.landlines.clear()

    def status_for(self, code: int | None) -> int:
        return _TWILIO_STATUS.get(code or 0, 400)

    def refusal(self, rec: Recorded, request: Request) -> Response | None:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if (
            rec.headers.get("authorization") != f"Basic {expected}"
            or request.path_params["sid"] != self.account_sid
        ):
            return self.error(Fault(401, 20003))
        form = rec.form
        code = _twilio_problem(form)
        number = form.get("To", "").removeprefix("whatsapp:")
        if code is None and number in self.opted_out:
            code = 21610
        if code is None and number in self.landlines:
            code = 21614
        return self.error(Fault(self.status_for(code), code)) if code is not None else None

    def accept(self, rec: Recorded, request: Request) -> Response:
        form = rec.form
        resource = self._resource(form, len(rec.form_lists.get("MediaUrl", [])))
        with self._lock:
            self.created.append((resource["sid"], form))
        return JSONResponse(resource, status_code=201)

    def _resource(self, form: Mapping[str, str], media: int) -> dict[str, Any]:
        sid = "SM" + secrets.token_hex(16)
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json"
        now = format_datetime(datetime.now(UTC))
        service = form.get("MessagingServiceSid")
        body = form.get("Body", "")
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": service,
            "num_media": str(media),
            "num_segments": str(max(1, segments(body).segments)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if service else "queued",
            "subresource_uris": {"media": uri.removesuffix(".json") + "/Media.json"},
            "to": form.get("To"),
            "uri": uri,
        }

    def error(self, fault: Fault) -> Response:
        status = fault.status or 400
        code = fault.code or _TWILIO_CODE.get(status, status)
        body = {
            "code": code,
            "message": fault.message or _TWILIO_TEXTS.get(code, "error"),
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
        return JSONResponse(body, status_code=status, headers=dict(fault.headers))


_TWILIO_STATUS = {20003: 401, 20404: 404, 20429: 429, 20500: 500, 20503: 503}
_TWILIO_CODE = {status: code for code, status in _TWILIO_STATUS.items()}
_TWILIO_TEXTS = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    20503: "Service Unavailable",
    21211: "The 'To' number is not a valid phone number.",
    21408: (
        "Permission to send an SMS has not been enabled for the region indicated by the 'To' number"
    ),
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit.",
    21619: "A text message body or media urls must be specified.",
    21654: "ContentSid Required",
    63016: (
        "Failed to send freeform message because you are outside the allowed window. "
        "If you are using WhatsApp, please use a Message Template."
    ),
}


def _twilio_problem(form: Mapping[str, str]) -> int | None:
    """The Twilio error code a create request with ``form`` gets before anything is sent."""
    if not form.get("To"):
        return 21604
    if not form.get("From") and not form.get("MessagingServiceSid"):
        return 21603
    if not (form.get("Body") or form.get("MediaUrl") or form.get("ContentSid")):
        return 21619
    if form.get("ContentVariables") and not form.get("ContentSid"):
        return 21654
    if not E164.match(form["To"].removeprefix("whatsapp:")):
        return 21211
    if len(form.get("Body", "")) > 1600:
        return 21617
    return None
