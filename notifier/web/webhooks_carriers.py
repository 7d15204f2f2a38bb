"""Carrier push webhooks: ``POST /webhooks/carriers/{carrier}`` (signed bodies) and
``POST /webhooks/carriers/{carrier}/{token}`` (Shippo, Biteship: a secret token in the URL).

Thin by design: read the body (413 past :data:`MAX_BODY`), verify it (403), read it (400),
apply it (:func:`notifier.pipeline.push.apply`; 500 if that crashes, so the carrier retries;
503 when a sweep holds one of the shipments right now). A push about numbers nobody here
tracks is answered 200 and logged. The secret is ``carriers.<id>.webhook_secret`` (17TRACK: the
API key unless a separate one is set); the schemes are in :mod:`carriers.webhooks`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask

from carriers import webhooks
from notifier.pipeline import finish, push
from notifier.runtime import Runtime
from notifier.web.deps import RuntimeDep

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/webhooks/carriers", tags=["webhooks"])

MAX_BODY = 1024 * 1024  # bytes; a tracking with hundreds of checkpoints is well under this
BUSY_RETRY = 30  # s: Retry-After when a sweep holds a pushed shipment
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Applied (or about no shipment tracked here)"},
    400: {"description": "Not a push body this carrier sends"},
    403: {"description": "Missing or wrong signature or token; nothing changed"},
    404: {"description": "No push webhook for this carrier"},
    413: {"description": "Body too large"},
    500: {"description": "Our failure; the carrier should retry"},
    503: {"description": "A shipment is being checked right now; retry"},
}


class _TooLarge(Exception):
    pass


@router.post("/{carrier}", responses=_RESPONSES, summary="A carrier's signed push")
async def signed_push(carrier: str, request: Request, rt: RuntimeDep) -> JSONResponse:
    """AfterShip, 17TRACK, EasyPost and the simulator sign the body; see the module docs."""
    return await _receive(rt, request, carrier, None)


@router.post("/{carrier}/{token}", responses=_RESPONSES, summary="A carrier's push with a token")
async def token_push(carrier: str, token: str, request: Request, rt: RuntimeDep) -> JSONResponse:
    """Shippo and Biteship: the webhook URL carries the secret token."""
    return await _receive(rt, request, carrier, token)


def _answer(
    carrier: str, outcome: str, status: int, after: BackgroundTask | None = None, **body: Any
) -> JSONResponse:
    push.PUSHES.labels(carrier, outcome).inc()
    headers = {"Retry-After": str(BUSY_RETRY)} if status == 503 else None
    return JSONResponse({"status": outcome, **body}, status, headers=headers, background=after)


async def _receive(rt: Runtime, request: Request, carrier: str, token: str | None) -> JSONResponse:
    if carrier not in webhooks.SCHEMES or (token is not None and not webhooks.uses_token(carrier)):
        return JSONResponse({"detail": f"no push webhook for {carrier!r}"}, 404)
    try:
        body = await _read_body(request)
    except _TooLarge:
        return _answer(carrier, "too_large", 413, detail=f"body over {MAX_BODY} bytes")
    try:
        webhooks.verify(carrier, body, request.headers, _secret(rt, carrier), token)
    except webhooks.SignatureError as err:
        log.warning("push.refused", carrier=carrier, reason=str(err))
        return _answer(carrier, "bad_signature", 403, detail="signature or token refused")
    try:
        said = webhooks.read(carrier, body)
    except webhooks.PushFormatError as err:
        log.warning("push.malformed", carrier=carrier, reason=str(err))
        return _answer(carrier, "malformed", 400, detail=str(err))
    try:
        done = await push.apply(rt, said)
    except Exception:  # a stage boundary: our failure, so the carrier retries the push
        log.exception("push.crashed", carrier=carrier, push_event=said.event)
        return _answer(carrier, "error", 500, detail="internal error")
    # Stopping the aggregators' tracking of what just became final runs after the response.
    after = BackgroundTask(finish.stop_tracking, rt, done.finished) if done.finished else None
    if done.busy:
        return _answer(carrier, "busy", 503, after, detail="a shipment is being checked; retry")
    outcome = "applied" if done.recorded or done.due_now else "ignored"
    log.info("push.applied", carrier=carrier, push_event=said.event, **_fields(done))
    return _answer(carrier, outcome, 200, after, **_fields(done))


def _fields(done: push.Applied) -> dict[str, Any]:
    return {
        "recorded": done.recorded,
        "due_now": done.due_now,
        "new_events": done.new_events,
        "notifications": done.notifications,
        "unknown": done.unknown[:20],
    }


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise _TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _secret(rt: Runtime, carrier: str) -> str | None:
    account = rt.settings.carriers.get(carrier)
    config: Mapping[str, Any] = account.adapter_config() if account and account.enabled else {}
    secret = config.get("webhook_secret") or (
        config.get("api_key") if carrier == "17track" else None
    )
    return str(secret) if secret else None
