"""Local stand-ins for the SendGrid and Twilio APIs: real HTTP servers on 127.0.0.1 (uvicorn in
a thread) that answer as the real APIs do, record every request, and fail on demand. For tests,
demos and benchmarks; the official libraries talk to them through ``api_base``.

    with serve(TwilioStandIn()) as twilio:          # twilio.url, twilio.app.requests
        twilio.app.fail_next(code=21610)            # the next request: 400, Twilio error 21610
        twilio.app.hang_next(5.0)                   # the next request answers after 5 s

* :class:`SendgridStandIn`: ``POST /v3/mail/send``, Bearer key; 202 with ``X-Message-Id``
  (200 in sandbox mode); errors as ``{"errors": [{"message", "field", "help"}]}``; the checks
  SendGrid itself makes that matter to us (text/plain first, a subject, a sender).
* :class:`TwilioStandIn`: ``POST /2010-04-01/Accounts/{sid}/Messages.json``, Basic auth; 201
  with the message resource; errors as ``{"code", "message", "more_info", "status"}``: 21211
  for a malformed number, 21610 for numbers in ``opted_out``, 21614 for ``landlines``, and the
  rules the OpenAPI file does not encode (``From`` or ``MessagingServiceSid``; ``Body``,
  ``MediaUrl`` or ``ContentSid``).

Both call ``check_request`` / ``check_response`` hooks when set (tests validate every request
and answer against the vendors' OpenAPI files there) and keep what they find in ``violations``;
a request that fails ``check_request`` is answered 400 so the sender sees it too.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime
from email.utils import format_datetime
from types import TracebackType
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qs

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from notifier.sms import segments

STARTUP_TIMEOUT = 10.0  # s for uvicorn to start serving (it normally takes ~0.05 s)
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@dataclass(frozen=True)
class Recorded:
    """One request as it arrived: header names lower-cased, the raw body kept."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        """The form fields (the first value of each)."""
        return {k: v[0] for k, v in self.form_lists.items()}

    @property
    def form_lists(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8"), keep_blank_values=True)

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Fault:
    """How to answer one request instead of normally: ``status`` None answers normally after
    ``delay`` seconds (a slow provider)."""

    status: int | None
    code: int | None = None
    message: str | None = None
    field: str | None = None
    headers: Mapping[str, str] = dataclass_field(default_factory=dict)
    delay: float = 0.0


RequestCheck = Callable[[Recorded], list[str]]
ResponseCheck = Callable[[Recorded, int, Mapping[str, str], bytes], list[str]]


class StandIn:
    """What both stand-ins share: the request log, the fault queue and the check hooks."""

    def __init__(self, routes: list[Route]) -> None:
        self.requests: list[Recorded] = []
        self.violations: list[str] = []
        self.check_request: RequestCheck | None = None
        self.check_response: ResponseCheck | None = None
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._app = Starlette(routes=routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int | None = None,
        code: int | None = None,
        message: str | None = None,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
    ) -> None:
        """Answer the next ``count`` requests with this error (a status, a provider code or
        both; the other is inferred where the provider has a rule for it)."""
        status = status or self.status_for(code)
        with self._lock:
            for _ in range(count):
                self._faults.append(Fault(status, code, message, field, headers or {}, delay))

    def hang_next(self, seconds: float, count: int = 1) -> None:
        """Answer the next ``count`` requests normally, but only after ``seconds``."""
        with self._lock:
            self._faults.extend(Fault(None, delay=seconds) for _ in range(count))

    def reset(self) -> None:
        """Forget requests, violations, pending faults and what was accepted."""
        with self._lock:
            self.requests.clear()
            self.violations.clear()
            self._faults.clear()

    def status_for(self, code: int | None) -> int:
        return 400

    async def handle(self, request: Request) -> Response:
        """Record, check, apply a pending fault, else answer as the provider would."""
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        rec = Recorded(request.method, request.url.path, request.url.query, headers, body)
        with self._lock:
            self.requests.append(rec)
            fault = self._faults.popleft() if self._faults else None
        problems = self.check_request(rec) if self.check_request else []
        if problems:  # answered as the provider would refuse it, else 400 with the problems
            self._violate(problems)
            refusal = self.refusal(rec, request)
            response = refusal or self.error(Fault(400, message="; ".join(problems)))
        elif fault is not None:
            await self._pause(fault.delay)
            response = self.error(fault) if fault.status else self.answer(rec, request)
        else:
            response = self.answer(rec, request)
        if self.check_response:
            answer = {k.lower(): v for k, v in response.headers.items()}
            sent = bytes(response.body)
            self._violate(self.check_response(rec, response.status_code, answer, sent))
        return response

    async def _pause(self, seconds: float) -> None:
        """Sleep, but give up at once when the server stops (no request outlives it)."""
        until = time.monotonic() + seconds
        # a threading.Event: close() runs on the test's thread, not on the server's loop
        while not self._closing.is_set() and time.monotonic() < until:  # noqa: ASYNC110
            await asyncio.sleep(min(0.02, max(0.0, until - time.monotonic())))

    def close(self) -> None:
        """Release requests held by :meth:`hang_next` (called when the server stops)."""
        self._closing.set()

    def _violate(self, problems: list[str]) -> None:
        with self._lock:
            self.violations.extend(problems)

    def answer(self, rec: Recorded, request: Request) -> Response:
        return self.refusal(rec, request) or self.accept(rec, request)

    def refusal(self, rec: Recorded, request: Request) -> Response | None:
        """The provider's error answer to this request, if it refuses it (no side effects)."""
        raise NotImplementedError

    def accept(self, rec: Recorded, request: Request) -> Response:
        """The provider's success answer (the request passed :meth:`refusal`)."""
        raise NotImplementedError

    def error(self, fault: Fault) -> Response:
        raise NotImplementedError


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


A = TypeVar("A")


class Served(Generic[A]):
    """An ASGI app served by uvicorn from a daemon thread; ``url`` once it listens."""

    def __init__(self, app: A, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        self.url = f"http://{host}:{sock.getsockname()[1]}"
        config = uvicorn.Config(
            app,  # type: ignore[arg-type]
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="stand-in", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                self.stop()
                raise OSError(f"stand-in did not start on {self.url}")
            time.sleep(0.005)

    def stop(self) -> None:
        close = getattr(self.app, "close", None)
        if callable(close):
            close()
        self._server.should_exit = True
        self._thread.join(STARTUP_TIMEOUT)

    def __enter__(self) -> Served[A]:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def serve(app: A, host: str = "127.0.0.1", port: int = 0) -> Served[A]:
    """Serve ``app`` (a stand-in) on ``host``; ``port`` 0 picks a free one."""
    return Served(app, host, port)
