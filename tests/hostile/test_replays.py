"""A webhook delivered again (same event id; providers retry, attackers replay captured
requests, which still carry a valid signature) is a no-op: not one row of the database changes,
however much later it comes. One case per kind of webhook: Twilio status and inbound, SendGrid
events, a carrier push, Shopify and WooCommerce.

The clock moves between the first delivery and the replay, so a replay that rewrote even a
timestamp would show in the snapshot of every table.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pytest
from sqlmodel import SQLModel

from notifier.web.app import create_app
from tests.factories import parcel, snapshot
from tests.hostile import figures
from tests.hostile import world as w
from tests.security.test_webhook_signatures import CARRIER_BODIES, STORE_BODIES

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def world(tmp_path) -> Iterator[w.World]:
    built = w.build(tmp_path)
    yield built
    built.engine.dispose()


@pytest.fixture
async def client(world):
    transport = httpx.ASGITransport(app=create_app(world.rt))
    async with httpx.AsyncClient(transport=transport, base_url="http://internal:8080") as c:
        yield c


def _masked(rows: dict[str, list[tuple]], ignore: dict[str, set[str]]) -> dict[str, list[tuple]]:
    """``rows`` with the ``ignore``d columns (per table) blanked."""
    out = dict(rows)
    for name, columns in ignore.items():
        table = SQLModel.metadata.tables[name]
        drop = {i for i, c in enumerate(table.columns) if c.name in columns}
        out[name] = [tuple(v for i, v in enumerate(r) if i not in drop) for r in rows[name]]
    return out


async def _twice(
    world,
    client,
    path: str,
    body: bytes,
    headers: dict[str, str],
    ignore: dict[str, set[str]] | None = None,
):
    """Deliver, move the clock an hour, deliver the very same request again; nothing but the
    ``ignore``d columns may differ after the replay."""
    ignore = ignore or {}
    first = await client.post(path, content=body, headers=headers)
    assert first.status_code == 200, first.text
    after_first = snapshot(world.engine)
    world.rt.clock.advance(hours=1)
    again = await client.post(path, content=body, headers=headers)
    figures.add("webhook replays")
    assert again.status_code == 200, again.text
    assert _masked(snapshot(world.engine), ignore) == _masked(after_first, ignore), (
        f"the replay of {path} changed the database"
    )
    return first, again, after_first


async def test_twilio_status_replay(world, client):
    form = {"MessageSid": "SMJX0001", "MessageStatus": "delivered"}
    path = "/webhooks/twilio/status"
    headers = w.twilio_headers(path, form) | FORM
    first, again, rows = await _twice(world, client, path, urlencode(form).encode(), headers)
    assert first.json()["result"] == "applied" and again.json()["result"] == "duplicate"
    note = next(r for r in rows["notification"] if r[0] == world.notification_id)
    assert "delivered" in note


async def test_twilio_inbound_replay(world, client):
    form = {"MessageSid": "SMin-1", "From": f"whatsapp:{w.PHONE}", "Body": "STOP"}
    path = "/webhooks/twilio/inbound"
    headers = w.twilio_headers(path, form) | FORM
    _first, again, rows = await _twice(world, client, path, urlencode(form).encode(), headers)
    assert len(rows["inbound_message"]) == 1
    assert "<Message>" not in again.text  # a replay is not answered a second time


async def test_sendgrid_events_replay(world, client):
    events = [
        {"event": "bounce", "type": "bounce", "email": w.EMAIL, "sg_event_id": "sg-1"},
        {"event": "open", "email": w.EMAIL, "sg_event_id": "sg-2", "sg_message_id": "x"},
    ]
    body = json.dumps(events).encode()
    path = "/webhooks/sendgrid/events"
    _first, again, rows = await _twice(world, client, path, body, w.sendgrid_headers(body))
    assert again.json()["duplicate"] == 2 and again.json()["applied"] == 0
    assert len(rows["provider_event"]) == 2


async def test_carrier_push_replay(world, client):
    parcel(world.rt, world.merchant, number="111111111111", carrier="aftership")
    body = CARRIER_BODIES["aftership"]
    path = w.carrier_path("aftership")
    # A push is the carrier's word at that moment: the replay is recorded as a check (when we
    # last heard from the carrier) and nothing else -- no event, status or message.
    checked = {"shipment": {"last_checked_at", "updated_at"}}
    first, again, _rows = await _twice(
        world, client, path, body, w.carrier_headers("aftership", body), checked
    )
    assert first.json()["new_events"] > 0 and first.json()["notifications"] > 0
    assert again.json()["new_events"] == 0 and again.json()["notifications"] == 0


@pytest.mark.parametrize("source", sorted(STORE_BODIES))
async def test_store_webhook_replay(world, client, source):
    body = STORE_BODIES[source]
    path = f"/webhooks/orders/{source}/sekar"
    first, again, _rows = await _twice(world, client, path, body, w.store_headers(source, body))
    assert first.json()["status"] == "applied", first.text
    assert again.json()["status"] == "replay"


async def test_a_shopify_retry_with_the_same_delivery_id_is_a_replay_even_if_reserialized(
    world, client
):
    """Shopify's retry repeats X-Shopify-Webhook-Id; the same order re-serialized (keys in
    another order) under that id changes nothing either."""
    body = STORE_BODIES["shopify"]
    path = "/webhooks/orders/shopify/sekar"
    first = await client.post(path, content=body, headers=w.store_headers("shopify", body, "d-9"))
    assert first.status_code == 200
    rows = snapshot(world.engine)
    world.rt.clock.advance(hours=2)
    other = json.dumps(json.loads(body), sort_keys=True, indent=1).encode()
    again = await client.post(path, content=other, headers=w.store_headers("shopify", other, "d-9"))
    assert again.json()["status"] == "replay"
    # the new body's digest is remembered as another id of that delivery; nothing else changes
    after = snapshot(world.engine)
    assert {t: r for t, r in after.items() if t != "provider_event"} == {
        t: r for t, r in rows.items() if t != "provider_event"
    }
    assert len(after["provider_event"]) <= len(rows["provider_event"]) + 1
