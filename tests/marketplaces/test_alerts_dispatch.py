"""Alert rows go through the real dispatcher: leased, checked, sent to the shop's CS address and
recorded, once. Dispatch renders alerts with :func:`notifier.alerts.render` once the lead wires it
(see the report); here that one branch is stood in for by wrapping the template renderer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from carriers.base import Status as S
from notifier import alerts
from notifier.pipeline import compose
from notifier.pipeline.dispatch import dispatch
from notifier.pipeline.poll import sweep
from notifier.store.models import Notification
from tests.factories import result
from tests.marketplaces.test_alerts import BRAND, marketplace_parcel
from tests.orders.helpers import set_settings

PUBLIC = "http://127.0.0.1:8080"  # the test settings' public_url


@pytest.fixture
def alerts_rendered(rt, monkeypatch):
    """Dispatch as the lead will wire it: alert triggers rendered by alerts.render."""
    build = compose.build_context

    def context(job, **kw):
        return build(job, **kw) | {"_job": job}

    real = rt.templates.render

    def render(trigger, channel, locale, ctx, **kw):
        if alerts.is_alert(trigger):
            return alerts.render(ctx["_job"], locale, PUBLIC)
        return real(trigger, channel, locale, ctx, **kw)

    monkeypatch.setattr(compose, "build_context", context)
    monkeypatch.setattr(rt.templates, "render", render)


async def test_a_failed_attempt_reaches_customer_service_once(rt, merchant, alerts_rendered):
    set_settings(
        rt, merchant, brand=BRAND, alerts={"channels": {"failed_attempt": ["email", "whatsapp"]}}
    )
    sh = marketplace_parcel(rt, merchant, "JX0601")
    rt.carriers.get("scripted").answers["JX0601"] = result(
        "JX0601",
        S.FAILED_ATTEMPT,
        ("2026-12-01T09:30:00+07:00", S.FAILED_ATTEMPT, "Penerima tidak di tempat"),
    )
    await sweep(rt)
    assert alerts.scan(rt) == 2
    stats = await dispatch(rt)
    assert stats.by_state == {"sent": 2}
    sent = rt.extra["sender"].sent
    assert sorted((m.channel, m.to) for m in sent) == [
        ("email", "cs@sekar.example"),
        ("whatsapp", "+6281211112222"),
    ]
    email = next(m for m in sent if m.channel == "email")
    assert email.subject == "[Perlu tindakan] Gagal antar: Pesanan INV/JX0601 (Scripted JX0601)"
    assert "Kabar terakhir: Penerima tidak di tempat" in email.text
    assert f"{PUBLIC}/t/{sh.public_token}" in email.text
    assert email.to_name == "Customer service" and email.trigger == "alert_failed_attempt"
    assert alerts.scan(rt) == 0 and (await dispatch(rt)).leased == 0


async def test_the_digest_is_sent_at_the_local_hour(rt, merchant, alerts_rendered):
    set_settings(rt, merchant, brand=BRAND, alerts={"digest_hour": 9})
    marketplace_parcel(rt, merchant, "JX0701", status="exception")
    rt.clock.set(datetime(2026, 12, 2, 1, 59, tzinfo=UTC))  # 08:59 WIB
    assert alerts.enqueue_digests(rt) == 0
    rt.clock.set(datetime(2026, 12, 2, 2, 0, tzinfo=UTC))  # 09:00 WIB
    assert alerts.enqueue_digests(rt) == 1
    assert (await dispatch(rt)).by_state == {"sent": 1}
    [message] = rt.extra["sender"].sent
    assert message.subject == "Ringkasan harian 2026-12-02: 1 paket perlu ditindaklanjuti"
    assert "- Pesanan INV/JX0701, Scripted JX0701" in message.text
    with rt.sessions() as session:
        [row] = session.exec(select(Notification).where(Notification.trigger == "alert_digest"))
        assert (row.state, row.body) == ("sent", message.text)
