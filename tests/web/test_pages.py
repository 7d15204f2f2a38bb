"""The pages a shopper reaches from a message, and the operator's health and metrics."""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import select

from carriers.base import Status as S
from notifier import links
from notifier.pipeline import poll
from notifier.store.models import Recipient
from notifier.web.app import create_app
from tests.factories import parcel, result


@pytest.fixture
async def client(rt):
    transport = httpx.ASGITransport(app=create_app(rt))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def test_tracking_page_shows_status_eta_and_events_in_indonesian(rt, merchant, client):
    from datetime import date

    sh = parcel(rt, merchant)
    rt.carriers.get("scripted").answers["JX0001"] = result(
        "JX0001",
        S.OUT_FOR_DELIVERY,
        ("2026-12-01T08:00:00+07:00", S.IN_TRANSIT, "Paket diterima di gudang Jakarta"),
        ("2026-12-01T09:00:00+07:00", S.OUT_FOR_DELIVERY, "Paket sedang diantar kurir"),
        eta=date(2026, 12, 1),
    )
    await poll.sweep(rt)
    page = await client.get(f"/t/{sh.public_token}")
    assert page.status_code == 200
    html = page.text
    assert "Toko Batik Sekar" in html and "JX0001" in html and "INV/JX0001" in html
    assert "Paket sedang diantar kurir" in html
    assert html.index("sedang diantar") < html.index("diterima di gudang")  # newest first
    assert "Selasa, 1 Desember 2026" in html  # the ETA, in the shopper's language
    assert "16.00" in html or "16:00" in html or "09.00" in html or "09:00" in html
    english = await client.get(f"/t/{sh.public_token}?lang=en")
    assert "Tuesday, 1 December 2026" in english.text


async def test_unknown_tracking_token_is_a_friendly_404(client, merchant):
    page = await client.get("/t/not-a-token")
    assert page.status_code == 404 and "not found" in page.text.lower()


async def test_one_click_unsubscribe(rt, merchant, client):
    parcel(rt, merchant)
    with rt.sessions() as session:
        rid = session.exec(select(Recipient)).one().id
    secret = rt.settings.server.session_secret.get_secret_value()
    token = links.unsubscribe_token(secret, rid, "email")
    form = await client.get(f"/u/{token}")  # a link scanner's GET changes nothing
    assert form.status_code == 200
    with rt.sessions() as session:
        assert session.get(Recipient, rid).email_opt_out_at is None
    done = await client.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    with rt.sessions() as session:
        rec = session.get(Recipient, rid)
    assert rec.email_opt_out_at is not None and rec.email_opt_out_source == "unsubscribe_link"
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert (await client.post(f"/u/{forged}")).status_code == 404
    other = links.unsubscribe_token("another-secret", rid, "email")
    assert (await client.post(f"/u/{other}")).status_code == 404


async def test_healthz_and_metrics(rt, client, merchant):
    assert (await client.get("/healthz")).json()["status"] == "ok"
    parcel(rt, merchant)
    await poll.sweep(rt)
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert "notifier_carrier_calls_total" in metrics.text


async def test_the_api_documentation_is_served_at_docs(client):
    page = await client.get("/docs")
    assert page.status_code == 200 and "/api/openapi.json" in page.text
    spec = (await client.get("/api/openapi.json")).json()
    assert "/api/v1/orders" in spec["paths"]
    moved = await client.get("/api/docs")
    assert moved.status_code == 308 and moved.headers["location"] == "/docs"


async def test_healthz_reports_a_dead_database(rt, client):
    from notifier.store.db import make_engine

    rt.engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")  # nothing listens
    resp = await client.get("/healthz")
    assert resp.status_code == 503
