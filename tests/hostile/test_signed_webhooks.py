"""Correctly signed webhooks with hostile bodies: a provider's bug, a replayed and mangled body,
a compromised store account. Whatever passes the signature check, our answer is never a 500
(design: "our own crash -> 500 so the provider retries" -- a body that always crashes would be
retried for days and block nothing but itself, yet it is still our bug). 503 (busy, retry) is
allowed; everything else must be a decided answer: 200, 400, 404, 413.

Every webhook is covered: Twilio status and inbound (form fields and ``?n=``), SendGrid event
batches, each pushing carrier (its real push mutated, and arbitrary JSON), Shopify and
WooCommerce (their real webhook bodies mutated, under several topics), Shopee pushes and TikTok
Shop webhooks (their documented bodies mutated, under several codes).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient
from structlog.testing import capture_logs

from carriers import webhooks
from notifier.web.app import create_app
from tests.factories import snapshot
from tests.hostile import figures
from tests.hostile import world as w
from tests.hostile.mutations import mutate
from tests.hostile.test_carrier_parsers import JSON, NASTY
from tests.security.test_webhook_signatures import CARRIER_BODIES, STORE_BODIES

EXAMPLES = 30
pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
PROFILE = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ALLOWED = {200, 400, 404, 413, 503}


TWILIO_STATES = ["queued", "sent", "delivered", "read", "undelivered", "failed", "accepted", ""]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[w.World]:
    built = w.build(tmp_path_factory.mktemp("signed"))
    yield built
    built.engine.dispose()


@pytest.fixture(scope="module")
def client(world) -> Iterator[TestClient]:
    with TestClient(
        create_app(world.rt), base_url="http://internal:8080", raise_server_exceptions=False
    ) as c:
        yield c


def _check(answer: Any, what: str) -> None:
    figures.add("signed webhook bodies")
    if answer.status_code not in ALLOWED:
        figures.add("signed webhook server errors")
    assert answer.status_code in ALLOWED, f"{what}: {answer.status_code} {answer.text[:300]}"


@st.composite
def mutated_json(draw: st.DrawFn, body: bytes) -> bytes:
    """``body`` (JSON) with one to three values replaced, deleted or wrapped in a list."""
    doc = copy.deepcopy(json.loads(body))
    return json.dumps(mutate(draw, doc, 3, JSON)).encode()


text = st.text(max_size=30) | NASTY.map(str)
phone_text = st.sampled_from([w.PHONE, "whatsapp:" + w.PHONE, "+1", "whatsapp:", "sms:+62812"])


@PROFILE
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "MessageSid": st.sampled_from(["SMJX0001", ""]) | text,
            "MessageStatus": st.sampled_from(TWILIO_STATES) | text,
            "SmsStatus": text,
            "ErrorCode": st.sampled_from(["21610", "63016", "30003"]) | text,
            "ErrorMessage": text,
            "To": phone_text | text,
        },
    ),
    st.none() | st.sampled_from(["1", "0", "²", "9" * 30, "-1", ""]) | text,
)
def test_twilio_status(client, form: dict[str, str], n: str | None) -> None:
    path = "/webhooks/twilio/status" + (f"?{urlencode({'n': n})}" if n is not None else "")
    headers = w.twilio_headers(path, form)
    _check(client.post(path, data=form, headers=headers), f"status {form} n={n!r}")


@PROFILE
@given(
    st.fixed_dictionaries(
        {"MessageSid": st.uuids().map(lambda u: f"SM{u.hex}")},
        optional={
            "From": phone_text | text,
            "Body": st.sampled_from(["STOP", "START", "HELP", "status JX0001", "INV/JX0001"])
            | text,
            "ProfileName": text,
            "OptOutType": st.sampled_from(["STOP", "START", "HELP"]) | text,
        },
    )
)
def test_twilio_inbound(client, form: dict[str, str]) -> None:
    path = "/webhooks/twilio/inbound"
    _check(client.post(path, data=form, headers=w.twilio_headers(path, form)), f"inbound {form}")


sendgrid_event = st.fixed_dictionaries(
    {},
    optional={
        "event": st.sampled_from(["delivered", "bounce", "dropped", "open", "spamreport"]) | text,
        "email": st.sampled_from([w.EMAIL, "RINA.WULANDARI@EXAMPLE.COM"]) | text,
        "sg_event_id": st.uuids().map(str) | text,
        "sg_message_id": st.sampled_from(["SMJX0001", "SMJX0001.filterdrecv-1"]) | text,
        "notification_id": st.sampled_from(["1", "²", "9" * 30, 1, -1, 10**30]) | JSON,
        "type": st.sampled_from(["bounce", "blocked"]) | text,
        "reason": text,
        "status": text,
    },
)


@PROFILE
@given(st.lists(sendgrid_event | JSON, max_size=4) | JSON)
def test_sendgrid_events(client, events: Any) -> None:
    body = json.dumps(events).encode()
    answer = client.post(
        "/webhooks/sendgrid/events", content=body, headers=w.sendgrid_headers(body)
    )
    _check(answer, f"sendgrid {body[:300]!r}")


@pytest.mark.parametrize("carrier", sorted(webhooks.SCHEMES))
def test_carrier_push(client, carrier: str) -> None:
    @PROFILE
    @given(mutated_json(CARRIER_BODIES[carrier]) | JSON.map(lambda v: json.dumps(v).encode()))
    def prop(body: bytes) -> None:
        headers = w.carrier_headers(carrier, body)
        _check(
            client.post(w.carrier_path(carrier), content=body, headers=headers), f"{body[:300]!r}"
        )

    prop()


SHOPIFY_TOPICS = ["orders/paid", "orders/updated", "fulfillments/create", "refunds/create",
                  "returns/approve", "app/uninstalled", ""]  # fmt: skip


@pytest.mark.parametrize("source", sorted(STORE_BODIES))
def test_store_webhook(client, source: str) -> None:
    samples = Path(__file__).parent.parent / "sources" / "samples" / source
    bodies = [p.read_bytes() for p in sorted(samples.glob("*.json"))]

    @PROFILE
    @given(
        st.sampled_from(bodies).flatmap(mutated_json) | JSON.map(lambda v: json.dumps(v).encode()),
        st.sampled_from(SHOPIFY_TOPICS),
        st.uuids().map(str),
    )
    def prop(body: bytes, topic: str, delivery: str) -> None:
        headers = w.store_headers(source, body, delivery)
        if source == "shopify":
            headers["X-Shopify-Topic"] = topic
        answer = client.post(f"/webhooks/orders/{source}/sekar", content=body, headers=headers)
        _check(answer, f"{source} {topic}: {body[:300]!r}")

    prop()


MARKET_SAMPLES = Path(__file__).parent.parent / "marketplaces" / "samples"
PUSHES = {  # source: (a documented body, the codes or types to send it under)
    "shopee": (MARKET_SAMPLES / "shopee" / "push_get_lost_push_message.json", (3, 4, 6)),
    "tiktok_shop": (MARKET_SAMPLES / "tiktok-shop" / "webhook_order_status_change_doc.json",
                    (1, 12, 6)),
}  # fmt: skip


@pytest.mark.parametrize("source", sorted(PUSHES))
def test_marketplace_push(client, source: str) -> None:
    sample, kinds = PUSHES[source]
    raw = json.loads(sample.read_bytes())
    if source == "shopee":  # one push as Shopee posts it, out of the lost-push list
        raw = raw["response"]["push_message_list"][0]["data"]
    field = "code" if source == "shopee" else "type"
    shapes = [json.dumps(raw | {field: kind}).encode() for kind in kinds]

    @PROFILE
    @given(
        st.sampled_from(shapes).flatmap(mutated_json) | JSON.map(lambda v: json.dumps(v).encode())
    )
    def prop(body: bytes) -> None:
        answer = client.post(
            f"/webhooks/orders/{source}/sekar", content=body, headers=w.push_headers(source, body)
        )
        _check(answer, f"{source}: {body[:300]!r}")

    prop()


# Found by the fuzz above: an id past 2**63-1 in Twilio's ``?n=``, or of non-ASCII digits ("²")
# or past 2**63-1 in SendGrid's ``notification_id``, passed ``str.isdigit()`` and crashed ``int()``
# or the database driver (a 500 the provider retries). Now such an id is no notification of ours:
# logged, answered 200, and nothing changes.
@pytest.mark.parametrize("n", ["9" * 30, str(2**63)])
def test_twilio_status_with_an_impossible_notification_id(client, world, n: str) -> None:
    before = snapshot(world.engine)
    path = f"/webhooks/twilio/status?{urlencode({'n': n})}"
    form = {"MessageSid": "SMnew", "MessageStatus": "delivered"}
    with capture_logs() as logged:
        answer = client.post(path, data=form, headers=w.twilio_headers(path, form))
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"] == "unknown"
    assert [e["event"] for e in logged if e["log_level"] == "warning"] == ["callback.impossible_id"]
    assert snapshot(world.engine) == before


@pytest.mark.parametrize("nid", ["²", "٣", "9" * 30, str(2**63), 10**30])
def test_sendgrid_event_with_an_impossible_notification_id(client, world, nid: Any) -> None:
    before = snapshot(world.engine)
    event = {"event": "delivered", "sg_event_id": f"x{nid}", "notification_id": nid}
    body = json.dumps([event]).encode()
    answer = client.post(
        "/webhooks/sendgrid/events", content=body, headers=w.sendgrid_headers(body)
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["unknown"] == 1
    after = snapshot(world.engine)
    assert (
        len(after.pop("provider_event")) == len(before.pop("provider_event")) + 1
    )  # the replay guard
    assert after == before
