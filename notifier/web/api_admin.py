"""The merchant REST API for templates, shipments, messages, settings and opt-outs.

Everything is under ``/api/v1`` with the merchant's bearer token, like the order API. Another
merchant's id answers 404, exactly like an id that does not exist. Routes parse, call
:mod:`notifier.admin`, return. Template problems answer 422 with ``problems``: a list of
``{message, line}`` (line is 1-based, null when the problem is the whole template).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from notifier.admin import checks, editor, optouts, profile, queries, switches, versions
from notifier.admin.versions import Missing, TemplateKey
from notifier.errors import InputError, SendError, TemplateError
from notifier.runtime import Runtime
from notifier.settings import CHANNELS, TRIGGERS, Channel
from notifier.store.models import Merchant
from notifier.web.deps import MAX_ROW_ID, MerchantDep, Offset, RowId, RuntimeDep, SessionDep

router = APIRouter(prefix="/api/v1")
AUTHOR = "api"
_401: dict[int | str, dict[str, Any]] = {401: {"description": "No or unknown bearer token"}}
_404: dict[int | str, dict[str, Any]] = {404: {"description": "Not found (or not yours)"}}
_PROBLEMS: dict[int | str, dict[str, Any]] = {
    422: {"description": "The template has problems: `problems` [{message, line}]"}
}
TEMPLATE = "/templates/{trigger}/{channel}/{locale}"
Limit = Annotated[int, Query(ge=1, le=200)]


class SourceIn(BaseModel):
    source: str = Field(max_length=versions.MAX_SOURCE, description="Jinja template source")
    author: str | None = Field(None, max_length=200)


class PreviewIn(BaseModel):
    source: str | None = Field(
        None, max_length=versions.MAX_SOURCE, description="Omit to preview what is in use"
    )


class RollbackIn(BaseModel):
    version: int = Field(ge=1, le=MAX_ROW_ID)
    author: str | None = Field(None, max_length=200)


class EnabledIn(BaseModel):
    enabled: bool = Field(description="true: use my wording; false: use the default template")


class TriggerIn(BaseModel):
    on: bool
    channels: list[Channel] | None = Field(None, description="The channels it goes on")


class OptOutIn(BaseModel):
    opted_out: bool
    reason: str = Field("", max_length=500, description="Required to re-subscribe")


def _key(rt: Runtime, trigger: str, channel: str, locale: str) -> TemplateKey:
    try:
        return TemplateKey.parse(rt.templates, trigger, channel, locale)
    except Missing as err:
        raise _not_found(err) from err


def _not_found(err: Exception) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, str(err))


def _problems(problems: list[Any]) -> JSONResponse:
    body = {"detail": "the template has problems", "problems": checks.problems_json(problems)}
    return JSONResponse(body, status.HTTP_422_UNPROCESSABLE_CONTENT)


def _current_source(rt: Runtime, db: SessionDep, m: Merchant, key: TemplateKey) -> str | None:
    assert m.id is not None
    row = versions.current(db, m.id, key)
    return row.source if row is not None and row.enabled else None


# --- templates --------------------------------------------------------------------------------


@router.get("/templates", tags=["templates"], responses=_401)
def list_templates(rt: RuntimeDep, db: SessionDep, merchant: MerchantDep) -> list[dict[str, Any]]:
    """Every trigger x channel x locale: your newest version (null: the default is used),
    whether your wording is used, and whether the trigger and channel are on."""
    return [
        {
            "trigger": r.key.trigger,
            "channel": r.key.channel,
            "locale": r.key.locale,
            "version": r.version,
            "wording_enabled": r.wording_enabled,
            "trigger_on": r.trigger_on,
            "channel_on": r.channel_on,
        }
        for r in editor.overview(rt, db, merchant)
    ]


@router.get(TEMPLATE, tags=["templates"], responses={**_401, **_404})
def get_template(
    trigger: str, channel: str, locale: str, rt: RuntimeDep, db: SessionDep, m: MerchantDep
) -> dict[str, Any]:
    """The default source and every version of yours, newest first."""
    return editor.detail(rt, db, m, _key(rt, trigger, channel, locale))


@router.post(
    TEMPLATE + "/versions",
    tags=["templates"],
    status_code=201,
    responses={**_401, **_404, **_PROBLEMS},
)
def create_version(
    trigger: str,
    channel: str,
    locale: str,
    body: SourceIn,
    rt: RuntimeDep,
    db: SessionDep,
    m: MerchantDep,
) -> Any:
    """Save a new version after validation; 422 with the problems and nothing saved."""
    key = _key(rt, trigger, channel, locale)
    saved = editor.save(rt, db, m, key, body.source, author=body.author or AUTHOR)
    if saved.version is None:
        db.rollback()
        return _problems(saved.problems)
    db.commit()
    return editor.version_json(saved.version)


@router.post(TEMPLATE + "/validate", tags=["templates"], responses={**_401, **_404})
def validate_template(
    trigger: str, channel: str, locale: str, body: SourceIn, rt: RuntimeDep, m: MerchantDep
) -> dict[str, Any]:
    """The problems of a source (nothing saved): `ok` is true when there are none."""
    shown = checks.preview(rt, m, _key(rt, trigger, channel, locale), body.source)
    return {"ok": shown.ok, "problems": checks.problems_json(shown.problems)}


@router.post(TEMPLATE + "/preview", tags=["templates"], responses={**_401, **_404})
def preview_template(
    trigger: str,
    channel: str,
    locale: str,
    body: PreviewIn,
    rt: RuntimeDep,
    db: SessionDep,
    m: MerchantDep,
) -> dict[str, Any]:
    """The sample shop's message rendered with `source` (omitted: what is in use): email
    subject, HTML and plain text; SMS with segments and encoding; WhatsApp text."""
    key = _key(rt, trigger, channel, locale)
    source = body.source if body.source is not None else _current_source(rt, db, m, key)
    return checks.preview_json(checks.preview(rt, m, key, source))


@router.post(
    TEMPLATE + "/rollback", tags=["templates"], status_code=201, responses={**_401, **_404}
)
def rollback_template(
    trigger: str,
    channel: str,
    locale: str,
    body: RollbackIn,
    rt: RuntimeDep,
    db: SessionDep,
    m: MerchantDep,
) -> Any:
    """A new version with the source of `version`."""
    key = _key(rt, trigger, channel, locale)
    try:
        saved = editor.rollback(rt, db, m, key, body.version, author=body.author or AUTHOR)
    except Missing as err:
        raise _not_found(err) from err
    if saved.version is None:
        db.rollback()
        return _problems(saved.problems)
    db.commit()
    return editor.version_json(saved.version)


@router.put(TEMPLATE + "/enabled", tags=["templates"], responses={**_401, **_404})
def set_wording(
    trigger: str,
    channel: str,
    locale: str,
    body: EnabledIn,
    rt: RuntimeDep,
    db: SessionDep,
    m: MerchantDep,
) -> dict[str, Any]:
    """Use your wording (true) or the default template (false)."""
    key = _key(rt, trigger, channel, locale)
    assert m.id is not None
    try:
        versions.set_enabled(db, m.id, key, body.enabled)
    except Missing as err:
        raise _not_found(err) from err
    db.commit()
    return editor.detail(rt, db, m, key)


@router.get(TEMPLATE + "/diff", tags=["templates"], responses={**_401, **_404})
def diff_template(
    trigger: str,
    channel: str,
    locale: str,
    rt: RuntimeDep,
    db: SessionDep,
    m: MerchantDep,
    version: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
) -> dict[str, Any]:
    """A unified diff from the default template to a version of yours (default: newest)."""
    try:
        return editor.diff_json(rt, db, m, _key(rt, trigger, channel, locale), version)
    except Missing as err:
        raise _not_found(err) from err


@router.post(TEMPLATE + "/test-send", tags=["templates"], responses={**_401, **_404})
async def test_send(
    trigger: str,
    channel: str,
    locale: str,
    body: PreviewIn,
    rt: RuntimeDep,
    db: SessionDep,
    m: MerchantDep,
) -> dict[str, Any]:
    """Send the sample message to your own CS email or WhatsApp number (from the settings)
    through the configured sender; 422 when there is no address or the source has problems,
    502 when the provider refused."""
    key = _key(rt, trigger, channel, locale)
    source = body.source if body.source is not None else _current_source(rt, db, m, key)
    try:
        to, result, sender = await editor.test_send(rt, m, key, source)
    except (InputError, TemplateError) as err:
        raise HTTPException(422, str(err)) from err
    except SendError as err:
        raise HTTPException(502, str(err)) from err
    return {"to": to, "sender": sender, "provider_message_id": result.provider_message_id}


@router.get("/template-versions/{version_id}", tags=["templates"], responses={**_401, **_404})
def get_version(version_id: RowId, db: SessionDep, m: MerchantDep) -> dict[str, Any]:
    """One version by its id."""
    assert m.id is not None
    try:
        return editor.version_json(versions.by_id(db, m.id, version_id))
    except Missing as err:
        raise _not_found(err) from err


@router.get("/triggers", tags=["templates"], responses=_401)
def get_triggers(rt: RuntimeDep, m: MerchantDep) -> dict[str, Any]:
    """Per trigger: on or off, and the channels it goes on."""
    return switches.read(rt, m).as_json()


@router.put("/triggers/{trigger}", tags=["templates"], responses={**_401, **_404})
def put_trigger(
    trigger: str, body: TriggerIn, rt: RuntimeDep, db: SessionDep, m: MerchantDep
) -> dict[str, Any]:
    """Turn a trigger on or off and, optionally, choose its channels (at least one)."""
    if trigger not in TRIGGERS:
        raise HTTPException(404, f"no trigger {trigger!r}")
    try:
        state = switches.set_trigger(rt, m, trigger, body.on)
        if body.channels is not None:
            state = switches.set_channels(rt, m, trigger, body.channels)
    except InputError as err:
        db.rollback()
        raise HTTPException(422, str(err)) from err
    db.add(m)
    db.commit()
    return state.as_json()[trigger]


# --- shipments and messages --------------------------------------------------------------------


@router.get("/shipments", tags=["shipments"], responses=_401)
def list_shipments(
    db: SessionDep,
    m: MerchantDep,
    q: str = "",
    status: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """Search by order number, tracking number, phone (any spelling) or email; delayed and
    exception ones first."""
    return queries.search_shipments(db, m, q, status=status, limit=limit, offset=offset)


@router.get("/shipments/{shipment_id}", tags=["shipments"], responses={**_401, **_404})
def get_shipment(shipment_id: RowId, db: SessionDep, m: MerchantDep) -> dict[str, Any]:
    """One shipment: tracking events (newest first) and its messages."""
    try:
        return queries.shipment_detail(db, m, shipment_id)
    except Missing as err:
        raise _not_found(err) from err


@router.get("/notifications", tags=["notifications"], responses=_401)
def list_notifications(
    db: SessionDep,
    m: MerchantDep,
    state: str | None = None,
    trigger: str | None = None,
    channel: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """Messages, newest first, by state, trigger and channel."""
    return queries.list_notifications(
        db, m, state=state, trigger=trigger, channel=channel, limit=limit, offset=offset
    )


@router.get("/notifications/{notification_id}", tags=["notifications"], responses=_404)
def get_notification(notification_id: RowId, db: SessionDep, m: MerchantDep) -> dict[str, Any]:
    """One message: what was sent, provider status, every attempt."""
    try:
        return queries.notification_detail(db, m, notification_id)
    except Missing as err:
        raise _not_found(err) from err


# --- settings and opt-outs ---------------------------------------------------------------------


@router.get("/settings", tags=["settings"], responses=_401)
def get_settings(rt: RuntimeDep, m: MerchantDep) -> dict[str, Any]:
    """Your settings with the defaults filled in (see notifier.admin.profile)."""
    return profile.read(rt, m)


@router.put(
    "/settings",
    tags=["settings"],
    responses={**_401, 422: {"description": "`errors`: [{field, message}]; nothing saved"}},
)
def put_settings(body: dict[str, Any], rt: RuntimeDep, db: SessionDep, m: MerchantDep) -> Any:
    """Replace your settings (the shape GET returns); every field is checked first."""
    try:
        profile.apply(m, body)
    except profile.SettingsInvalid as err:
        db.rollback()
        errors = [{"field": f, "message": msg} for f, msg in err.errors]
        return JSONResponse({"detail": "invalid settings", "errors": errors}, 422)
    db.add(m)
    db.commit()
    return profile.read(rt, m)


@router.get("/opt-outs", tags=["opt-outs"], responses=_401)
def list_opt_outs(
    db: SessionDep, m: MerchantDep, channel: str | None = None
) -> list[dict[str, Any]]:
    """Shoppers who opted out, per channel, newest first."""
    return optouts.list_optouts(db, m, channel=channel)


@router.put("/opt-outs/{recipient_id}/{channel}", tags=["opt-outs"], responses={**_401, **_404})
def put_opt_out(
    recipient_id: RowId,
    channel: str,
    body: OptOutIn,
    rt: RuntimeDep,
    db: SessionDep,
    m: MerchantDep,
) -> dict[str, Any]:
    """Opt a shopper out of a channel, or back in with a `reason` (recorded)."""
    if channel not in CHANNELS:
        raise HTTPException(404, f"no channel {channel!r}")
    try:
        entry = optouts.set_opt_out(
            db,
            m,
            recipient_id,
            channel,
            opted_out=body.opted_out,
            reason=body.reason,
            author=f"{m.slug} (api)",
            now=rt.clock.now(),
        )
    except Missing as err:
        raise _not_found(err) from err
    except InputError as err:
        db.rollback()
        raise HTTPException(422, str(err)) from err
    db.commit()
    return entry
