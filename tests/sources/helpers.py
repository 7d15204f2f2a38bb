"""Shared by the source tests: reading a source's saved cursor."""

from __future__ import annotations

from sqlmodel import select

from notifier.runtime import Runtime
from notifier.store.models import Merchant, SourceCursor


def cursor_of(rt: Runtime, merchant: Merchant, source: str) -> SourceCursor | None:
    with rt.sessions() as session:
        return session.exec(
            select(SourceCursor).where(
                SourceCursor.merchant_id == merchant.id, SourceCursor.source == source
            )
        ).first()
