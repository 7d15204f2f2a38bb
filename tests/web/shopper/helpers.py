"""The sample shop, its shopper Rina and her parcel's scans, for the shopper-page tests."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import select

from notifier.store.models import Recipient, TrackingEvent
from tests.factories import parcel

SHOPPER_PHONE = "+6281298765432"
SHOPPER_EMAIL = "rina.wulandari@example.com"
SHOP = {
    "brand": {
        "name": "Batik Sekar",
        "color": "#7a2e8e",
        "cs_whatsapp": "+6285712345678",
        "cs_email": "halo@tokobatiksekar.id",
        "website": "https://tokobatiksekar.id",
        "logo_url": "https://tokobatiksekar.id/logo.png",
    },
    "faq": [
        {"q": "Berapa lama pengiriman?", "a": "Biasanya 2-3 hari kerja.\n\nLuar Jawa 3-5 hari."},
        {"q": "How long does shipping take?", "a": "2-3 working days.", "locale": "en"},
    ],
    "return_policy_url": "https://tokobatiksekar.id/retur",
    "opening_hours": {"mon-fri": "08:00-17:00"},
}


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def add_events(rt, shipment, *events, status=None, **fields):
    """Store scans (ISO time, status, description, location), oldest first, and set the
    parcel's status (default: the last scan's) and other fields."""
    from notifier.store.models import Shipment

    with rt.sessions() as session, session.begin():
        for seq, (when, code, text, place) in enumerate(events):
            session.add(
                TrackingEvent(
                    shipment_id=shipment.id,
                    fingerprint=f"f{seq}",
                    seq=seq,
                    time=datetime.fromisoformat(when) if when else None,
                    status=code,
                    description=text,
                    location=place,
                    created_at=rt.clock.now(),
                )
            )
        row = session.get(Shipment, shipment.id)
        row.status = status or (events[-1][1] if events else row.status)
        for key, value in fields.items():
            setattr(row, key, value)


JOURNEY = (
    ("2026-11-29T16:40:00+07:00", "info_received", "Paket diserahkan ke J&T", "Yogyakarta"),
    ("2026-11-30T04:12:00+07:00", "in_transit", "Tiba di Gateway Jakarta", "Jakarta Timur"),
    ("2026-12-01T08:05:00+07:00", "out_for_delivery", "Dibawa kurir", "Jakarta Selatan"),
)


def rina(rt, merchant, **kw):
    kw.setdefault("phone", SHOPPER_PHONE)
    kw.setdefault("email", SHOPPER_EMAIL)
    return parcel(rt, merchant, **kw)


def recipient(rt) -> Recipient:
    """Rina's row."""
    with rt.sessions() as session:
        return session.exec(select(Recipient).where(Recipient.phone == SHOPPER_PHONE)).one()
