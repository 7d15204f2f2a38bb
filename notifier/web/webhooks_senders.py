"""Sender webhooks: Twilio message status, Twilio inbound SMS/WhatsApp, SendGrid events.

Every route: refuse an oversized body (413, before reading it whole), verify the provider's
signature (403 when missing or wrong, before anything is touched), parse (400 when malformed),
call one function of :mod:`notifier.pipeline.callbacks`, answer. A replay answers 200 and
changes nothing; our own crash answers 500, which providers retry. A Twilio status callback
about a message whose send is still being recorded is recorded early and answered 200 (Twilio
does not retry status callbacks); a SendGrid event about one answers 503 with Retry-After
(SendGrid retries).

* Twilio (https://www.twilio.com/docs/usage/webhooks/webhooks-security): ``X-Twilio-Signature``
  is checked with the library's ``RequestValidator`` and ``senders.twilio.auth_token`` against
  the URL Twilio called, i.e. ``server.public_url`` + path + query (behind a proxy the request's
  own host is not the one Twilio signed). The query matters: the senders' ``StatusCallback`` is
  ``.../webhooks/twilio/status?n=<notification id>`` and Twilio signs it whole.
* SendGrid (Event Webhook security features): the ECDSA signature of timestamp + raw body is
  checked with the library's ``EventWebhook`` and ``senders.sendgrid.webhook_public_key``. No
  freshness window is applied to the timestamp: SendGrid retries for up to 24 h and every event
  is deduplicated by its ``sg_event_id``, so a replayed batch changes nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import structlog
from fastapi import APIRouter, BackgroundTasks, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from sendgrid.helpers.eventwebhook import EventWebhook, EventWebhookHeader
from starlette.datastructures import ImmutableMultiDict
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from notifier.pipeline import callbacks
from notifier.runtime import Runtime
from notifier.web.deps import RuntimeDep

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/webhooks", tags=["webhooks"])

TWILIO_MAX_BODY = 64 * 1024  # bytes: a 1,600-character body and a few dozen fields fit easily
SENDGRID_MAX_BODY = 8 * 1024 * 1024  # bytes: SendGrid posts events in batches
RETRY_AFTER = 30  # s, asked of SendGrid when an event came while its send was recorded
T = TypeVar("T")


@router.post("/twilio/status")
async def twilio_status(request: Request, rt: RuntimeDep) -> Response:
    """A message's delivery status (``StatusCallback``): moves its notification forward."""
    form = await _twilio_form(request, rt)
    try:
        event = callbacks.TwilioStatus.from_form(form, request.query_params)
    except ValueError as err:
        raise HTTPException(400, str(err)) from err
    result = await _run(rt, "twilio_status", callbacks.apply_twilio_status, event)
    return JSONResponse({"result": result.result, "detail": result.detail})


@router.post("/twilio/inbound")
async def twilio_inbound(request: Request, rt: RuntimeDep, tasks: BackgroundTasks) -> Response:
    """A shopper's SMS or WhatsApp message; answered with TwiML (an empty ``<Response/>`` when
    there is nothing to say). Messages for the shop's people are emailed after the answer."""
    form = await _twilio_form(request, rt)
    try:
        msg = callbacks.Inbound.from_form(form)
    except ValueError as err:
        raise HTTPException(400, str(err)) from err
    answer = await _run(rt, "twilio_inbound", callbacks.handle_inbound, msg)
    if answer.handled_as == "forward_pending" and answer.inbound_id is not None:
        tasks.add_task(callbacks.forward_to_cs, rt, answer.inbound_id)
    twiml = MessagingResponse()
    if answer.reply:
        twiml.message(answer.reply)
    return Response(str(twiml), media_type="application/xml")


@router.post("/sendgrid/events")
async def sendgrid_events(request: Request, rt: RuntimeDep) -> Response:
    """A batch of SendGrid Event Webhook events (a JSON array)."""
    body = await _read(request, SENDGRID_MAX_BODY)
    _verify_sendgrid(rt, request, body)
    try:
        events = json.loads(body)
    except ValueError as err:  # JSONDecodeError and UnicodeDecodeError
        raise HTTPException(400, "the body is not JSON") from err
    if not isinstance(events, list):
        raise HTTPException(400, "the body must be a JSON array of events")
    result = await _run(rt, "sendgrid_events", callbacks.apply_sendgrid_events, events)
    return JSONResponse(vars(result))


async def _read(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"body larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _twilio_form(request: Request, rt: Runtime) -> ImmutableMultiDict[str, str]:
    body = await _read(request, TWILIO_MAX_BODY)
    signature = request.headers.get("x-twilio-signature")
    token = rt.settings.senders.twilio.auth_token
    if token is None:
        log.error("webhook.unverifiable", provider="twilio", missing="senders.twilio.auth_token")
    if not signature or token is None:
        raise HTTPException(403, "missing or unverifiable X-Twilio-Signature")
    try:
        form = ImmutableMultiDict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError as err:
        raise HTTPException(400, "the body is not UTF-8 form data") from err
    query = f"?{request.url.query}" if request.url.query else ""
    url = rt.settings.server.public_url + request.url.path + query
    if not RequestValidator(token.get_secret_value()).validate(url, form, signature):
        log.warning("webhook.bad_signature", provider="twilio", path=request.url.path)
        raise HTTPException(403, "invalid X-Twilio-Signature")
    return form


def _verify_sendgrid(rt: Runtime, request: Request, body: bytes) -> None:
    signature = request.headers.get(EventWebhookHeader.SIGNATURE)
    timestamp = request.headers.get(EventWebhookHeader.TIMESTAMP)
    key = rt.settings.senders.sendgrid.webhook_public_key
    if not key:
        log.error("webhook.unverifiable", provider="sendgrid", missing="webhook_public_key")
    if not signature or not timestamp or not key:
        raise HTTPException(403, "missing or unverifiable Event Webhook signature")
    try:
        verified = _event_webhook(key).verify_signature(body.decode("utf-8"), signature, timestamp)
    except UnicodeDecodeError as err:
        raise HTTPException(400, "the body is not UTF-8") from err
    except ValueError:  # not base64, or not a DER signature at all
        verified = False
    if not verified:
        log.warning("webhook.bad_signature", provider="sendgrid")
        raise HTTPException(403, "invalid Event Webhook signature")


@lru_cache(maxsize=4)
def _event_webhook(public_key: str) -> EventWebhook:
    """The verifier for the configured key (parsing a key costs more than a verification).
    A key that does not parse is our configuration's fault: it raises, and the route 500s."""
    return EventWebhook(public_key)


async def _run(rt: Runtime, route: str, fn: Callable[[Runtime, Any], T], arg: Any) -> T:
    """Call ``fn`` off the event loop: InFlight -> 503, any crash -> 500 (providers retry)."""
    try:
        return await asyncio.to_thread(fn, rt, arg)
    except callbacks.InFlight as err:
        log.info("webhook.in_flight", route=route, reason=str(err))
        raise HTTPException(503, str(err), headers={"Retry-After": str(RETRY_AFTER)}) from err
    except Exception as err:  # a stage boundary: answer 500 so the provider tries again
        log.exception("webhook.crashed", route=route)
        callbacks.CALLBACKS.labels(route, "crash", type(err).__name__).inc()
        raise HTTPException(500, "internal error; please retry") from err
