"""Template management through the REST API: versions, validation, previews, roll back, on/off,
test send, and the pipeline sending the merchant's wording."""

from __future__ import annotations

from notifier.pipeline import dispatch
from notifier.store.models import Notification
from tests.admin.conftest import SEKAR
from tests.factories import parcel
from tests.orders.helpers import set_settings

SMS = "/api/v1/templates/shipped/sms/id"
GOOD = "{{ shop.name }}: resi {{ shipment.tracking_number }} {{ shipment.tracking_url }}"


async def _save(client, source, url=SMS):
    return await client.post(f"{url}/versions", json={"source": source}, headers=SEKAR)


async def test_versions_history_diff_and_roll_back(client, merchant):
    first = await _save(client, GOOD)
    assert first.status_code == 201, first.text
    assert first.json()["version"] == 1 and first.json()["author"] == "api"
    second = await _save(
        client, "Paket {{ shipment.tracking_number }}: {{ shipment.tracking_url }}"
    )
    assert second.json()["version"] == 2

    back = await client.post(f"{SMS}/rollback", json={"version": 1}, headers=SEKAR)
    assert back.status_code == 201
    assert back.json()["version"] == 3 and back.json()["source"] == GOOD
    assert back.json()["author"] == "rolled back to v1 by api"

    detail = (await client.get(SMS, headers=SEKAR)).json()
    assert [v["version"] for v in detail["versions"]] == [3, 2, 1]
    assert detail["current_version"] == 3 and "Lacak:" in detail["default_source"]
    diff = (await client.get(f"{SMS}/diff?version=2", headers=SEKAR)).json()["diff"]
    assert diff.startswith("--- default/shipped/sms.id.j2\n+++ v2/shipped/sms.id.j2")
    assert "+Paket {{ shipment.tracking_number }}" in diff
    assert (
        await client.post(f"{SMS}/rollback", json={"version": 9}, headers=SEKAR)
    ).status_code == 404
    one = (
        await client.get(f"/api/v1/template-versions/{first.json()['id']}", headers=SEKAR)
    ).json()
    assert one["source"] == GOOD


async def test_misspelled_variable_is_refused_with_its_line_and_nothing_is_saved(client, merchant):
    source = (
        "Halo {{ customer.first_name }},\nresi {{ shipment.tracking_numbr }}\n"
        "{{ shipment.tracking_url }}"
    )
    answer = await _save(client, source)
    assert answer.status_code == 422
    assert answer.json()["problems"] == [
        {"message": "unknown variable 'shipment.tracking_numbr'", "line": 2}
    ]
    assert (await client.get(SMS, headers=SEKAR)).json()["versions"] == []
    syntax = await _save(client, "{{ shipment.tracking_url }}\n{% if %}")
    assert syntax.json()["problems"][0]["line"] == 2
    assert syntax.json()["problems"][0]["message"].startswith("syntax error")
    no_link = await _save(client, "Paket {{ shipment.tracking_number }} dikirim")
    assert "tracking link" in no_link.json()["problems"][0]["message"]


async def test_sms_over_the_budget_names_the_encoding_and_the_characters(rt, client, merchant):
    long = "Paket dikirim 📦 " * 14 + "{{ shipment.tracking_url }}"
    answer = await _save(client, long)
    assert answer.status_code == 422
    message = answer.json()["problems"][0]["message"]
    assert "UCS-2" in message and "'📦'" in message and "your budget is 3" in message
    set_settings(rt, merchant, sms_segment_budget=5)
    assert (await _save(client, long)).status_code == 201


async def test_whatsapp_needs_an_approved_template_when_twilio_sends_it(rt, client, merchant):
    url = "/api/v1/templates/shipped/whatsapp/id"
    source = "Halo {{ customer.first_name }}, lacak: {{ shipment.tracking_url }}"
    rt.settings.senders.whatsapp = "twilio_whatsapp"
    refused = await _save(client, source, url)
    assert refused.status_code == 422
    assert (
        "senders.twilio.whatsapp_templates.shipped.id" in refused.json()["problems"][0]["message"]
    )
    set_settings(
        rt, merchant, senders={"twilio": {"whatsapp_templates": {"shipped": {"id": "HX1"}}}}
    )
    assert (await _save(client, source, url)).status_code == 201


async def test_previews_in_every_channel(client, merchant):
    email = (
        await client.post("/api/v1/templates/shipped/email/id/preview", json={}, headers=SEKAR)
    ).json()
    assert email["subject"].startswith("Pesanan INV/2026/11/0042 sudah dikirim")
    assert "<html" in email["html"].lower() and "Lacak Paket" in email["html"]
    assert "JX3708794672" in email["text"] and "<" not in email["text"]
    sms = (await client.post(f"{SMS}/preview", json={"source": GOOD}, headers=SEKAR)).json()
    assert sms["text"].startswith("Toko Batik Sekar: resi JX3708794672 https://")
    assert sms["sms"] | {"characters": 0} == {
        "encoding": "GSM-7",
        "characters": 0,
        "segments": 1,
        "per_segment": 160,
        "non_gsm": [],
        "budget": 3,
        "over_budget": False,
    }
    wa = (
        await client.post("/api/v1/templates/shipped/whatsapp/en/preview", json={}, headers=SEKAR)
    ).json()
    assert wa["ok"] and "Rina" in wa["text"] and wa["sms"] is None and wa["html"] is None
    broken = (await client.post(f"{SMS}/preview", json={"source": "{{ oops"}, headers=SEKAR)).json()
    assert not broken["ok"] and broken["text"] == ""
    checked = await client.post(f"{SMS}/validate", json={"source": GOOD}, headers=SEKAR)
    assert checked.json() == {"ok": True, "problems": []}


async def test_unknown_templates_are_404(client, merchant):
    for url in (
        "/api/v1/templates/shipped/fax/id",
        "/api/v1/templates/nope/sms/id",
        "/api/v1/templates/shipped/sms/fr",
    ):
        assert (await client.get(url, headers=SEKAR)).status_code == 404


async def test_test_send_goes_to_the_merchants_own_address(rt, client, merchant):
    refused = await client.post(f"{SMS}/test-send", json={}, headers=SEKAR)
    assert refused.status_code == 422 and "CS WhatsApp" in refused.json()["detail"]
    set_settings(rt, merchant, brand={"cs_whatsapp": "+6281111111111", "cs_email": "cs@sekar.id"})
    sent = await client.post(f"{SMS}/test-send", json={"source": GOOD}, headers=SEKAR)
    assert sent.status_code == 200, sent.text
    assert sent.json()["to"] == "+6281111111111" and sent.json()["sender"] == "memory"
    message = rt.extra["sender"].sent[-1]
    assert message.text.startswith("Toko Batik Sekar: resi JX3708794672")
    mail = await client.post("/api/v1/templates/shipped/email/en/test-send", json={}, headers=SEKAR)
    assert mail.json()["to"] == "cs@sekar.id" and rt.extra["sender"].sent[-1].html


async def test_triggers_and_channels_on_and_off(client, merchant):
    off = await client.put("/api/v1/triggers/delivered", json={"on": False}, headers=SEKAR)
    assert off.json() == {"on": False, "channels": ["email", "whatsapp"]}
    sms_only = await client.put(
        "/api/v1/triggers/shipped", json={"on": True, "channels": ["sms"]}, headers=SEKAR
    )
    assert sms_only.json() == {"on": True, "channels": ["sms"]}
    none = await client.put(
        "/api/v1/triggers/shipped", json={"on": True, "channels": []}, headers=SEKAR
    )
    assert none.status_code == 422
    rows = {
        (r["trigger"], r["channel"], r["locale"]): r
        for r in (await client.get("/api/v1/templates", headers=SEKAR)).json()
    }
    assert rows["delivered", "email", "id"]["trigger_on"] is False
    assert (
        rows["shipped", "sms", "id"]["channel_on"]
        and not rows["shipped", "email", "id"]["channel_on"]
    )
    assert len(rows) == 78


async def test_dispatch_sends_the_merchants_wording_until_it_is_switched_off(rt, client, merchant):
    await _save(client, GOOD)
    sh = parcel(rt, merchant, number="JX5551")
    with rt.sessions() as s, s.begin():
        s.add(
            Notification(
                merchant_id=merchant.id,
                order_id=sh.order_id,
                shipment_id=sh.id,
                recipient_id=1,
                trigger="shipped",
                channel="sms",
                dedupe_key="t1",
                next_attempt_at=rt.clock.now(),
                created_at=rt.clock.now(),
                updated_at=rt.clock.now(),
            )
        )
    await dispatch.dispatch(rt)
    assert rt.extra["sender"].sent[-1].text.startswith("Toko Batik Sekar: resi JX5551 http")

    off = await client.put(f"{SMS}/enabled", json={"enabled": False}, headers=SEKAR)
    assert off.json()["wording_enabled"] is False
    with rt.sessions() as s, s.begin():
        n = s.get(Notification, 1)
        n.state, n.dedupe_key, n.next_attempt_at = "pending", "t2", rt.clock.now()
    await dispatch.dispatch(rt)
    assert "Lacak:" in rt.extra["sender"].sent[-1].text  # the default wording again
