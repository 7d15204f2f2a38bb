"""Editing templates: the overview, one template's page, save, roll back, test send.

Saving validates first (:func:`notifier.admin.checks.check`) and writes nothing when anything is
wrong; the caller gets the problems with their lines. Rolling back is saving an old version's
source again, checked the same way (the documented variables or the budget may have changed
since it was written).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from notifier.errors import InputError
from notifier.pipeline.outbox import merchant_prefs
from notifier.runtime import Runtime
from notifier.senders.base import OutgoingMessage, SendResult
from notifier.store.models import Merchant, TemplateOverride
from notifier.templating import TemplateProblem

from . import checks, switches, versions
from .versions import TemplateKey


@dataclass(slots=True)
class Saved:
    """The outcome of a save or roll back: the new version, or why nothing was written."""

    version: TemplateOverride | None
    problems: list[TemplateProblem] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class OverviewRow:
    key: TemplateKey
    version: int | None  # the merchant's newest version, None: the default is used
    wording_enabled: bool  # the merchant's version is used (when there is one)
    trigger_on: bool
    channel_on: bool


def _mid(merchant: Merchant) -> int:
    assert merchant.id is not None
    return merchant.id


def overview(rt: Runtime, session: Session, merchant: Merchant) -> list[OverviewRow]:
    """Every template there is, with the merchant's version and switches."""
    own = versions.newest_by_key(session, _mid(merchant))
    state = switches.read(rt, merchant)
    rows = []
    for trigger, channel, locale in rt.templates.available():
        key = TemplateKey(trigger, channel, locale)
        row = own.get(key)
        rows.append(
            OverviewRow(
                key=key,
                version=row.version if row else None,
                wording_enabled=row.enabled if row else False,
                trigger_on=state.trigger_on(trigger),
                channel_on=state.channel_on(trigger, channel),
            )
        )
    return rows


def working_source(rt: Runtime, session: Session, merchant: Merchant, key: TemplateKey) -> str:
    """What the editor opens with: the newest version, else the default."""
    row = versions.current(session, _mid(merchant), key)
    return row.source if row else rt.templates.source(key.trigger, key.channel, key.locale)


def detail(rt: Runtime, session: Session, merchant: Merchant, key: TemplateKey) -> dict[str, Any]:
    """One template: default source, the merchant's versions (newest first), switches."""
    rows = versions.history(session, _mid(merchant), key)
    state = switches.read(rt, merchant)
    return {
        "trigger": key.trigger,
        "channel": key.channel,
        "locale": key.locale,
        "default_source": rt.templates.source(key.trigger, key.channel, key.locale),
        "current_version": rows[0].version if rows else None,
        "wording_enabled": rows[0].enabled if rows else False,
        "trigger_on": state.trigger_on(key.trigger),
        "channel_on": state.channel_on(key.trigger, key.channel),
        "versions": [version_json(r) for r in rows],
    }


def version_json(row: TemplateOverride, *, source: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row.id,
        "trigger": row.trigger,
        "channel": row.channel,
        "locale": row.locale,
        "version": row.version,
        "enabled": row.enabled,
        "author": row.author,
        "created_at": row.created_at,
    }
    if source:
        out["source"] = row.source
    return out


def save(
    rt: Runtime,
    session: Session,
    merchant: Merchant,
    key: TemplateKey,
    source: str,
    *,
    author: str | None,
) -> Saved:
    """Check ``source`` and write it as the next version (the caller commits)."""
    source = source.replace("\r\n", "\n")
    if len(source) > versions.MAX_SOURCE:
        return Saved(None, [TemplateProblem(f"longer than {versions.MAX_SOURCE} characters")])
    problems = checks.check(rt, merchant, key, source)
    if problems:
        return Saved(None, problems)
    row = versions.add_version(
        session, _mid(merchant), key, source, author=author, now=rt.clock.now()
    )
    return Saved(row)


def rollback(
    rt: Runtime,
    session: Session,
    merchant: Merchant,
    key: TemplateKey,
    version: int,
    *,
    author: str | None,
) -> Saved:
    """A new version with the source of ``version``; Missing when there is no such version."""
    old = versions.by_number(session, _mid(merchant), key, version)
    label = f"rolled back to v{version}" + (f" by {author}" if author else "")
    return save(rt, session, merchant, key, old.source, author=label)


def diff_json(
    rt: Runtime, session: Session, merchant: Merchant, key: TemplateKey, version: int | None
) -> dict[str, Any]:
    """The unified diff from the default to a version (None: the newest)."""
    mid = _mid(merchant)
    row = versions.by_number(session, mid, key, version) if version else None
    row = row or versions.current(session, mid, key)
    if row is None:
        raise versions.Missing(f"{key.label} has no version of yours yet")
    default = rt.templates.source(key.trigger, key.channel, key.locale)
    text = versions.diff(default, row.source, key, f"v{row.version}")
    return {"version": row.version, "diff": text}


def own_address(merchant: Merchant, channel: str) -> str:
    """The merchant's own address for a test: its CS email, or its CS WhatsApp number."""
    brand = (merchant.settings or {}).get("brand") or {}
    found = brand.get("cs_email") if channel == "email" else brand.get("cs_whatsapp")
    if not found:
        where = "CS email" if channel == "email" else "CS WhatsApp number"
        raise InputError(f"set your {where} in the settings first", field="brand")
    return str(found)


async def test_send(
    rt: Runtime, merchant: Merchant, key: TemplateKey, source: str | None
) -> tuple[str, SendResult, str]:
    """Send the sample message (with ``source``, None: the default) to the merchant's own
    address through the configured sender. Returns (address, result, sender id). Raises
    InputError (no address, or the template has problems) and SendError from the sender."""
    from notifier.senders.twilio_whatsapp import template_variables  # the twilio library: lazily

    to = own_address(merchant, key.channel)
    if source is not None:
        problems = checks.check(rt, merchant, key, source)
        if problems:
            raise InputError(f"the template has problems: {problems[0].message}", field="source")
    context = checks.sample_context(rt, merchant, key)
    rendered = checks.render_sample(rt, merchant, key, source)
    message = OutgoingMessage(
        notification_id=0,  # not a shopper's notification: no row, callbacks carry 0
        dedupe_key=f"admin-test:{uuid.uuid4().hex}",
        merchant_id=_mid(merchant),
        trigger=key.trigger,
        channel=key.channel,
        to=to,
        to_name=context["customer"]["name"],
        text=rendered.text,
        subject=rendered.subject,
        html=rendered.html,
        locale=key.locale,
        shop_name=context["shop"]["name"],
        reply_to=context["shop"].get("cs_email"),
        unsubscribe_url=context["unsubscribe_url"] if key.channel == "email" else None,
        metadata={"notification_id": "0", "trigger": key.trigger}
        | template_variables(context, key.locale),
    )
    prefs = merchant_prefs(rt.settings.notify, merchant)
    sender = rt.senders.for_channel(key.channel, prefs.sender_for(key.channel))
    return to, await sender.send(message), sender.id
