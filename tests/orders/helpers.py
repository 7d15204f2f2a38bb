"""Shared by the order-intake tests: merchants, order bodies, counting rows."""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa
from sqlmodel import select

from notifier.runtime import Runtime
from notifier.store.models import Merchant, Notification

START_SETTINGS = {"notify": {"channels": ["email", "whatsapp"]}}


def add_merchant(rt: Runtime, slug: str, token: str, **settings: Any) -> Merchant:
    """Another shop, with its own bearer token."""
    with rt.sessions() as session, session.begin():
        m = Merchant(
            slug=slug,
            name=slug.title(),
            created_at=rt.clock.now(),
            api_token_hash=hashlib.sha256(token.encode()).hexdigest(),
            settings=START_SETTINGS | settings,
        )
        session.add(m)
    return m


def set_settings(rt: Runtime, merchant: Merchant, **settings: Any) -> None:
    with rt.sessions() as session, session.begin():
        row = session.get(Merchant, merchant.id)
        row.settings = {**row.settings, **settings}
        session.add(row)


def order_body(
    external_id: str = "1001",
    *,
    status: str = "paid",
    phone: str | None = "0812-3456-7890",
    email: str | None = "rina@example.com",
    parcels: tuple[tuple[str, str | None, str], ...] = (("binderbyte", "jne", "JP1234567890"),),
    **extra: Any,
) -> dict[str, Any]:
    """Rina's order at the batik shop, paid, with one JNE parcel (via BinderByte)."""
    customer: dict[str, Any] = {"name": "Rina Wulandari", "locale": "id"}
    if phone is not None:
        customer["phone"] = phone
    if email is not None:
        customer["email"] = email
    body: dict[str, Any] = {
        "external_id": external_id,
        "order_number": f"INV/2026/{external_id}",
        "status": status,
        "total": "150000",
        "currency": "IDR",
        "customer": customer,
        "shipments": [{"carrier": c, "courier": k, "tracking_number": n} for c, k, n in parcels],
    }
    return body | extra


def count(rt: Runtime, model: Any, *where: Any) -> int:
    with rt.sessions() as session:
        return session.execute(
            sa.select(sa.func.count()).select_from(model).where(*where)
        ).scalar_one()


def messages(rt: Runtime) -> list[tuple[str, str, str]]:
    """(trigger, channel, state) of every outbox row, sorted."""
    with rt.sessions() as session:
        return sorted((n.trigger, n.channel, n.state) for n in session.exec(select(Notification)))
