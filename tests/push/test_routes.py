"""``POST /webhooks/carriers/{carrier}`` end to end through the app, on SQLite and PostgreSQL:
real sample bodies as pushes, events and notifications written once, a repeated push changing
nothing, and every refusal (403, 400, 413, 404) changing nothing either."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest

from notifier.pipeline import push
from tests.factories import parcel
from tests.push.conftest import SECRETS, aftership_push, post, sample, signed, state, update

EASYPOST = "easypost/webhook-event-tracker-updated-delivered-EZ4000000004.json"
TRACK17 = "17track/webhook-tracking-updated-exception-dhl-paket.json"
SHIPPO = "shippo/track-get-usps-delivered-9205590164917337534322.json"

CASES = [
    # carrier, number, push body, events in it, status after, final?
    ("aftership", "111111111111", aftership_push(), 14, "delivered", True),
    ("easypost", "EZ4000000004", sample(EASYPOST), 6, "delivered", True),
    ("17track", "1234567890", sample(TRACK17), 1, "exception", False),
]


@pytest.mark.parametrize(
    ("carrier", "number", "body", "events", "status", "final"), CASES, ids=[c[0] for c in CASES]
)
async def test_a_push_is_recorded_once_and_a_repeat_changes_nothing(
    hooks_rt, client, merchant, carrier, number, body, events, status, final
):
    sh = parcel(hooks_rt, merchant, number=number, carrier=carrier)
    first = await post(client, carrier, body)
    assert first.status_code == 200, first.text
    got = first.json()
    assert got["status"] == "applied" and got["recorded"] == 1
    assert got["new_events"] == events and got["notifications"] > 0
    after = state(hooks_rt, sh.id)
    assert after["status"] == status and after["events"] == events
    assert len(after["notifications"]) == got["notifications"]
    assert after["lease_owner"] is None  # the push's lease is given back
    assert (after["next_check_at"] is None) is final  # a final status is not polled again

    again = await post(client, carrier, body)
    assert again.status_code == 200
    assert again.json()["new_events"] == 0 and again.json()["notifications"] == 0
    assert state(hooks_rt, sh.id) == after


async def test_the_delivered_push_tells_the_shopper_on_each_channel(hooks_rt, client, merchant):
    sh = parcel(hooks_rt, merchant, number="111111111111", carrier="aftership")
    assert (await post(client, "aftership", aftership_push())).status_code == 200
    triggers = {
        (trigger, channel) for trigger, channel, _ in state(hooks_rt, sh.id)["notifications"]
    }
    assert {("delivered", "email"), ("delivered", "whatsapp")} <= triggers


async def test_shippo_push_with_its_url_token(hooks_rt, client, merchant):
    sh = parcel(hooks_rt, merchant, number="9205590164917337534322", carrier="shippo")
    track = json.loads(sample(SHIPPO))
    body = json.dumps({"event": "track_updated", "test": False, "data": track}).encode()
    wrong = await client.post("/webhooks/carriers/shippo/not-the-token", content=body)
    assert wrong.status_code == 403
    assert state(hooks_rt, sh.id)["events"] == 0
    ok = await client.post(f"/webhooks/carriers/shippo/{SECRETS['shippo']}", content=body)
    assert ok.status_code == 200 and ok.json()["recorded"] == 1
    assert state(hooks_rt, sh.id)["status"] == "delivered"
    no_token = await client.post("/webhooks/carriers/shippo", content=body)
    assert no_token.status_code == 403


@pytest.mark.parametrize(
    "headers",
    [
        {},  # missing
        {"aftership-hmac-sha256": "bm90IHRoZSBzaWduYXR1cmU="},  # wrong
        signed("aftership", b"another body"),  # a real signature of something else (replay)
    ],
)
async def test_bad_signature_is_403_and_changes_nothing(hooks_rt, client, merchant, headers):
    sh = parcel(hooks_rt, merchant, number="111111111111", carrier="aftership")
    before = state(hooks_rt, sh.id)
    resp = await client.post(
        "/webhooks/carriers/aftership", content=aftership_push(), headers=headers
    )
    assert resp.status_code == 403
    assert "signature" in resp.json()["detail"]
    assert state(hooks_rt, sh.id) == before


async def test_a_push_signed_with_another_carriers_secret_is_refused(hooks_rt, client, merchant):
    body = aftership_push()
    header = {"aftership-hmac-sha256": signed("aftership", body)["aftership-hmac-sha256"]}
    hooks_rt.settings.carriers["aftership"].webhook_secret = SECRETS["easypost"]  # type: ignore[attr-defined]
    assert (
        await client.post("/webhooks/carriers/aftership", content=body, headers=header)
    ).status_code == 403


async def test_no_configured_secret_refuses_every_push(hooks_rt, client, merchant):
    del hooks_rt.settings.carriers["easypost"]
    resp = await post(client, "easypost", sample(EASYPOST))
    assert resp.status_code == 403


async def test_17track_verifies_with_the_api_key_when_no_separate_secret(
    hooks_rt, client, merchant
):
    from notifier.settings import CarrierSettings

    hooks_rt.settings.carriers["17track"] = CarrierSettings(api_key=SECRETS["17track"])
    parcel(hooks_rt, merchant, number="1234567890", carrier="17track")
    resp = await post(client, "17track", sample(TRACK17))
    assert resp.status_code == 200 and resp.json()["recorded"] == 1


@pytest.mark.parametrize(
    ("carrier", "body"),
    [
        ("aftership", b"{not json"),
        ("aftership", b'{"event": "tracking_update"}'),
        ("easypost", b'{"object": "Tracker"}'),
        ("17track", b"[]"),
    ],
)
async def test_malformed_body_is_400(hooks_rt, client, merchant, carrier, body):
    resp = await post(client, carrier, body)
    assert resp.status_code == 400


async def test_oversized_body_is_413_declared_or_streamed(hooks_rt, client, merchant):
    big = b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'
    declared = await post(client, "aftership", big)
    assert declared.status_code == 413

    async def chunks():
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    streamed = await client.post(
        "/webhooks/carriers/aftership", content=chunks(), headers=signed("aftership", big)
    )
    assert streamed.status_code == 413


async def test_unknown_number_is_200_and_ignored(hooks_rt, client, merchant):
    other = parcel(hooks_rt, merchant, number="999999999999", carrier="aftership")
    before = state(hooks_rt, other.id)
    resp = await post(client, "aftership", aftership_push())
    assert resp.status_code == 200
    assert resp.json()["status"] == "ignored" and resp.json()["unknown"] == ["111111111111"]
    assert state(hooks_rt, other.id) == before


async def test_the_same_number_with_another_carrier_is_not_touched(hooks_rt, client, merchant):
    sh = parcel(hooks_rt, merchant, number="111111111111", carrier="fedex")
    before = state(hooks_rt, sh.id)
    assert (await post(client, "aftership", aftership_push())).json()["unknown"] == ["111111111111"]
    assert state(hooks_rt, sh.id) == before


async def test_our_crash_is_500_so_the_carrier_retries(hooks_rt, client, merchant, monkeypatch):
    async def boom(rt, said):
        raise RuntimeError("database gone")

    monkeypatch.setattr(push, "apply", boom)
    resp = await post(client, "aftership", aftership_push())
    assert resp.status_code == 500 and "database" not in resp.text


@pytest.mark.parametrize(
    "path",
    ["/webhooks/carriers/ups", "/webhooks/carriers/aftership/some-token", "/webhooks/carriers/x/y"],
)
async def test_no_webhook_there_is_404(client, path):
    assert (await client.post(path, content=b"{}")).status_code == 404


async def test_a_shipment_being_polled_answers_503_and_is_left_to_the_sweep(
    hooks_rt, client, merchant, clock
):
    sh = parcel(hooks_rt, merchant, number="111111111111", carrier="aftership")
    update(
        hooks_rt, sh.id, lease_owner="other", lease_expires_at=clock.now() + timedelta(minutes=5)
    )
    before = state(hooks_rt, sh.id)
    resp = await post(client, "aftership", aftership_push())
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "30"
    assert state(hooks_rt, sh.id) == before


async def test_a_cancelled_orders_parcel_is_left_alone(hooks_rt, client, merchant):
    sh = parcel(hooks_rt, merchant, number="111111111111", carrier="aftership")
    update(hooks_rt, sh.id, next_check_at=None)
    before = state(hooks_rt, sh.id)
    resp = await post(client, "aftership", aftership_push())
    assert resp.status_code == 200 and resp.json()["recorded"] == 0
    assert state(hooks_rt, sh.id) == before


def _older(tracking: dict, keep: int, tag: str = "InTransit") -> dict:
    return {
        **tracking,
        "tag": tag,
        "subtag": f"{tag}_001",
        "checkpoints": tracking["checkpoints"][:keep],
    }


async def test_an_older_push_never_moves_a_shipment_back(hooks_rt, client, merchant):
    doc = json.loads(sample("aftership/get-tracking-delivered-fedex-111111111111.json"))
    tracking = doc["data"]["tracking"]
    sh = parcel(hooks_rt, merchant, number="111111111111", carrier="aftership")
    assert (await post(client, "aftership", aftership_push(tracking))).status_code == 200
    delivered = state(hooks_rt, sh.id)
    late = await post(client, "aftership", aftership_push(_older(tracking, keep=5)))
    assert late.status_code == 200 and late.json()["recorded"] == 0
    assert state(hooks_rt, sh.id) == delivered  # final: not even made due


async def test_an_older_push_makes_an_open_shipment_due_instead(hooks_rt, client, merchant, clock):
    doc = json.loads(sample("aftership/get-tracking-delivered-fedex-111111111111.json"))
    tracking = doc["data"]["tracking"]
    sh = parcel(hooks_rt, merchant, number="111111111111", carrier="aftership")
    first = await post(client, "aftership", aftership_push(_older(tracking, keep=8)))
    assert first.json()["recorded"] == 1
    moving = state(hooks_rt, sh.id)
    assert moving["status"] == "in_transit" and moving["next_check_at"] > clock.now()
    late = await post(
        client, "aftership", aftership_push(_older(tracking, keep=3, tag="InfoReceived"))
    )
    assert late.json()["unknown"] == [] and late.json()["due_now"] == 1
    after = state(hooks_rt, sh.id)
    assert after["status"] == "in_transit" and after["events"] == moving["events"]
    assert after["next_check_at"] == clock.now() and after["lease_owner"] is None


async def test_a_push_without_the_tracking_makes_the_shipment_due_now(
    hooks_rt, client, merchant, clock
):
    later = clock.now() + timedelta(hours=3)
    sh = parcel(hooks_rt, merchant, number="JX1541346437", carrier="biteship", courier="jnt")
    update(hooks_rt, sh.id, next_check_at=later)
    done = parcel(hooks_rt, merchant, number="JX0000000001", carrier="biteship", status="delivered")
    update(hooks_rt, done.id, next_check_at=None)
    before_done = state(hooks_rt, done.id)
    for number in ("JX1541346437", "JX0000000001", "JX9999999999"):
        event = {"event": "order.status", "courier_waybill_id": number, "courier_company": "jnt"}
        body = json.dumps(event).encode()
        resp = await client.post(f"/webhooks/carriers/biteship/{SECRETS['biteship']}", content=body)
        assert resp.status_code == 200, resp.text
    after = state(hooks_rt, sh.id)
    assert after["next_check_at"] == clock.now() and after["events"] == 0
    assert after["status"] == "pending"
    assert state(hooks_rt, done.id) == before_done  # a final status is not reopened


async def test_biteship_installation_check_is_answered(client):
    token = SECRETS["biteship"]
    resp = await client.post(f"/webhooks/carriers/biteship/{token}", content=b"{}")
    assert resp.status_code == 200 and resp.json()["status"] == "ignored"


async def test_push_counts_outcomes(hooks_rt, client, merchant):
    def count(outcome: str) -> float:
        return push.PUSHES.labels("aftership", outcome)._value.get()

    refused, applied = count("bad_signature"), count("ignored")
    await client.post("/webhooks/carriers/aftership", content=b"{}")
    await post(client, "aftership", aftership_push())
    assert count("bad_signature") == refused + 1 and count("ignored") == applied + 1


async def test_httpx_client_sees_json_errors(client):
    resp = await client.post("/webhooks/carriers/easypost", content=b"x")
    assert resp.status_code == 403 and resp.headers["content-type"].startswith("application/json")
    assert isinstance(resp, httpx.Response)
