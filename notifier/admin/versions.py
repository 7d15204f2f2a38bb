"""Template overrides as versions: every save is a new ``TemplateOverride`` row.

A merchant's wording for one trigger, channel and locale is the newest active version; older
versions stay as history. Rolling back writes a new version with an old version's source, so
history only grows and "what was sent when" can always be answered. Every look-up is scoped to
one merchant: another merchant's row is :class:`Missing`, exactly like a row that does not exist.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from notifier.errors import InputError, NotifierError
from notifier.settings import CHANNELS, TRIGGERS
from notifier.store.models import TemplateOverride
from notifier.templating import Templates

MAX_SOURCE = 20_000  # characters; a message template is a few hundred


class Missing(NotifierError, LookupError):
    """No such template, version or row for this merchant (routers answer 404)."""


@dataclass(frozen=True, slots=True, order=True)
class TemplateKey:
    """One trigger/channel/locale: what a merchant overrides."""

    trigger: str
    channel: str
    locale: str

    @classmethod
    def parse(cls, templates: Templates, trigger: str, channel: str, locale: str) -> TemplateKey:
        """The key when a default template exists for it; Missing otherwise."""
        key = cls(trigger, channel, locale)
        if trigger not in TRIGGERS or channel not in CHANNELS:
            raise Missing(f"no template {key.label}")
        if (trigger, channel, locale) not in set(templates.available()):
            raise Missing(f"no template {key.label}")
        return key

    @property
    def label(self) -> str:
        return f"{self.trigger}/{self.channel}.{self.locale}"

    @property
    def path(self) -> str:
        """Where the file lives in the message_templates layout."""
        return f"{self.trigger}/{self.channel}.{self.locale}.j2"


def _scoped(merchant_id: int, key: TemplateKey) -> list[sa.ColumnElement[bool]]:
    return [
        col(TemplateOverride.merchant_id) == merchant_id,
        col(TemplateOverride.trigger) == key.trigger,
        col(TemplateOverride.channel) == key.channel,
        col(TemplateOverride.locale) == key.locale,
    ]


def history(session: Session, merchant_id: int, key: TemplateKey) -> list[TemplateOverride]:
    """Every version of one template, newest first."""
    stmt = (
        select(TemplateOverride)
        .where(*_scoped(merchant_id, key))
        .order_by(col(TemplateOverride.version).desc())
    )
    return list(session.exec(stmt).all())


def current(session: Session, merchant_id: int, key: TemplateKey) -> TemplateOverride | None:
    """The newest active version (what dispatch sends when it is enabled), if any."""
    stmt = (
        select(TemplateOverride)
        .where(*_scoped(merchant_id, key), col(TemplateOverride.active))
        .order_by(col(TemplateOverride.version).desc())
        .limit(1)
    )
    return session.exec(stmt).first()


def newest_by_key(session: Session, merchant_id: int) -> dict[TemplateKey, TemplateOverride]:
    """The newest active version of every template the merchant overrides."""
    stmt = (
        select(TemplateOverride)
        .where(col(TemplateOverride.merchant_id) == merchant_id, col(TemplateOverride.active))
        .order_by(col(TemplateOverride.version))
    )
    return {TemplateKey(r.trigger, r.channel, r.locale): r for r in session.exec(stmt).all()}


def by_id(session: Session, merchant_id: int, version_id: int) -> TemplateOverride:
    """One version by its row id; Missing when it is not this merchant's."""
    row = session.get(TemplateOverride, version_id)
    if row is None or row.merchant_id != merchant_id:
        raise Missing(f"no template version {version_id}")
    return row


def by_number(
    session: Session, merchant_id: int, key: TemplateKey, version: int
) -> TemplateOverride:
    """Version ``version`` of one template; Missing when there is none."""
    stmt = select(TemplateOverride).where(
        *_scoped(merchant_id, key), col(TemplateOverride.version) == version
    )
    row = session.exec(stmt).first()
    if row is None:
        raise Missing(f"{key.label} has no version {version}")
    return row


def add_version(
    session: Session,
    merchant_id: int,
    key: TemplateKey,
    source: str,
    *,
    author: str | None,
    now: datetime,
) -> TemplateOverride:
    """Write the next version (in the caller's transaction). It keeps the "use my wording"
    flag of the version before it. The caller has validated ``source``."""
    if len(source) > MAX_SOURCE:
        raise InputError(f"a template may have at most {MAX_SOURCE} characters", field="source")
    before = current(session, merchant_id, key)
    number = session.exec(
        select(sa.func.max(TemplateOverride.version)).where(*_scoped(merchant_id, key))
    ).one()
    row = TemplateOverride(
        merchant_id=merchant_id,
        trigger=key.trigger,
        channel=key.channel,
        locale=key.locale,
        version=(number or 0) + 1,
        source=source,
        enabled=before.enabled if before else True,
        active=True,
        author=(author or None) and author[:200],
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def set_enabled(session: Session, merchant_id: int, key: TemplateKey, enabled: bool) -> int:
    """Use the merchant's wording (True) or the default (False) for one template. Returns
    how many versions were changed; Missing when the merchant has no version to switch."""
    rows = history(session, merchant_id, key)
    if not rows:
        raise Missing(f"{key.label} has no version of yours yet")
    for row in rows:
        row.enabled = enabled
        session.add(row)
    session.flush()
    return len(rows)


def diff(default_source: str, source: str, key: TemplateKey, label: str) -> str:
    """A unified diff from the default template to ``source`` ('' when they are equal)."""
    lines = difflib.unified_diff(
        default_source.splitlines(keepends=True),
        source.splitlines(keepends=True),
        fromfile=f"default/{key.path}",
        tofile=f"{label}/{key.path}",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)
