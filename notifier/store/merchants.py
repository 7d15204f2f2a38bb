"""Merchant accounts: created from the CLI, found by their API token."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlmodel import Session, select

from notifier.errors import InputError
from notifier.store.models import Merchant

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


def token_hash(token: str) -> str:
    """API tokens are stored as their SHA-256, never in clear."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_merchant(
    session: Session,
    *,
    slug: str,
    name: str,
    token: str,
    now: datetime,
    country: str = "ID",
    locale: str = "id",
    timezone: str = "Asia/Jakarta",
    settings: dict[str, Any] | None = None,
) -> Merchant:
    """Add a merchant in the caller's transaction; InputError for a bad or taken slug."""
    if not SLUG.match(slug):
        raise InputError("slug must be 2-63 lower-case letters, digits or '-'", field="slug")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise InputError(f"unknown time zone {timezone!r}", field="timezone") from err
    if len(country) != 2 or not country.isalpha():
        raise InputError("country must be a 2-letter ISO code", field="country")
    if session.exec(select(Merchant).where(Merchant.slug == slug)).first():
        raise InputError(f"merchant {slug!r} exists already", field="slug")
    merchant = Merchant(
        slug=slug,
        name=name.strip(),
        api_token_hash=token_hash(token),
        country=country.upper(),
        locale=locale,
        timezone=timezone,
        settings=settings or {},
        created_at=now,
    )
    session.add(merchant)
    session.flush()
    return merchant


def by_slug(session: Session, slug: str) -> Merchant | None:
    return session.exec(select(Merchant).where(Merchant.slug == slug)).first()


def by_token(session: Session, token: str) -> Merchant | None:
    return session.exec(
        select(Merchant).where(Merchant.api_token_hash == token_hash(token))
    ).first()


def count(session: Session) -> int:
    return int(session.execute(sa.select(sa.func.count()).select_from(Merchant)).scalar_one())
