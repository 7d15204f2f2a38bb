"""Every inbound webhook verifies who sent it: an unsigned, wrongly signed or tampered request
is refused (401/403) and changes nothing in the database.

The routes come from the app itself (everything under ``/webhooks``), expanded over every
carrier that pushes and every order source that has webhooks; a new webhook route with no case
here fails :func:`test_every_webhook_route_is_covered`. Each case's body is one the service
accepts when it is signed properly -- that is checked too, so a refusal is the signature's doing,
not the body's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from fastapi.routing import iter_route_contexts

from carriers import webhooks
from notifier.web.app import create_app
from tests.factories import snapshot
from tests.hostile import world as w

CARRIER_SAMPLES = Path(__file__).parent.parent / "carriers" / "samples"
STORE_SAMPLES = Path(__file__).parent.parent / "sources" / "samples"


@dataclass
class Case:
    name: str
    route: str  # the route template it exercises
    path: str
    body: bytes
    signed: dict[str, str]  # headers of a correctly signed request
    form: bool = False
    forged: dict[str, str] = field(default_factory=dict)  # a wrong signature, same header


def _aftership() -> bytes:
    doc = json.loads(
        (CARRIER_SAMPLES / "aftership/get-tracking-delivered-fedex-111111111111.json").read_text()
    )
    return json.dumps(
        {"event": "tracking_update", "event_id": "e1", "msg": doc["data"]["tracking"]}
    ).encode()


def _sample(path: str) -> bytes:
    return (CARRIER_SAMPLES / path).read_bytes()


SHIPPO_TRACK = json.loads(_sample("shippo/track-get-usps-delivered-9205590164917337534322.json"))
CARRIER_BODIES = {
    "aftership": _aftership(),
    "17track": _sample("17track/webhook-tracking-updated-exception-dhl-paket.json"),
    "easypost": _sample("easypost/webhook-event-tracker-updated-delivered-EZ4000000004.json"),
    "shippo": json.dumps({"event": "track_updated", "data": SHIPPO_TRACK}).encode(),
    "biteship": json.dumps(
        {"event": "order.status", "courier_waybill_id": "JX0001", "courier_company": "jnt"}
    ).encode(),
    "simulator": json.dumps({"event": "tracking.updated", "tracking_number": "JX0001"}).encode(),
}
STORE_BODIES = {
    "shopify": (STORE_SAMPLES / "shopify/webhook_fulfillments_create.json").read_bytes(),
    "woocommerce": (STORE_SAMPLES / "woocommerce/wc_v3_order_get.json").read_bytes(),
}


def _cases() -> list[Case]:
    status = {"MessageSid": "SMJX0001", "MessageStatus": "delivered", "To": w.PHONE}
    inbound = {"MessageSid": "SMin1", "From": f"whatsapp:{w.PHONE}", "Body": "STOP"}
    events = json.dumps(
        [{"event": "bounce", "type": "bounce", "email": w.EMAIL, "sg_event_id": "sg-1"}]
    ).encode()
    out = [
        Case("twilio status", "/webhooks/twilio/status", "/webhooks/twilio/status",
             _form(status), w.twilio_headers("/webhooks/twilio/status", status), form=True,
             forged={"X-Twilio-Signature": "bm90IHRoZSBzaWduYXR1cmU="}),
        Case("twilio inbound", "/webhooks/twilio/inbound", "/webhooks/twilio/inbound",
             _form(inbound), w.twilio_headers("/webhooks/twilio/inbound", inbound), form=True,
             forged={"X-Twilio-Signature": "bm90IHRoZSBzaWduYXR1cmU="}),
        Case("sendgrid events", "/webhooks/sendgrid/events", "/webhooks/sendgrid/events",
             events, w.sendgrid_headers(events),
             forged={"X-Twilio-Email-Event-Webhook-Signature": "MEUCIQDtotallynotasignature=="}),
    ]  # fmt: skip
    for carrier, body in CARRIER_BODIES.items():
        scheme = webhooks.SCHEMES[carrier]
        route = "/webhooks/carriers/{carrier}" + ("/{token}" if scheme.header is None else "")
        forged = {scheme.header: scheme.sign(body, "not-the-secret")} if scheme.sign else {}
        out.append(
            Case(f"carrier {carrier}", route, w.carrier_path(carrier), body,
                 w.carrier_headers(carrier, body), forged=forged)
        )  # fmt: skip
    for source, body in STORE_BODIES.items():
        signed = w.store_headers(source, body)
        forged = {k: v for k, v in signed.items() if "Signature" not in k and "Hmac" not in k}
        header = "X-Shopify-Hmac-Sha256" if source == "shopify" else "X-WC-Webhook-Signature"
        out.append(
            Case(f"store {source}", "/webhooks/orders/{source}/{merchant}",
                 f"/webhooks/orders/{source}/sekar", body, signed,
                 forged=forged | {header: "bm90IHRoZSBzaWduYXR1cmU="})
        )  # fmt: skip
    return out


def _form(fields: dict[str, str]) -> bytes:
    return urlencode(fields).encode()


CASES = _cases()
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[w.World]:
    built = w.build(tmp_path_factory.mktemp("signatures"))
    yield built
    built.engine.dispose()


@pytest.fixture
async def client(world):
    transport = httpx.ASGITransport(app=create_app(world.rt))
    async with httpx.AsyncClient(transport=transport, base_url="http://internal:8080") as c:
        yield c


def _unsigned(case: Case) -> dict[str, str]:
    """The signed headers without the signature (and, for URL tokens, the path without it)."""
    keep = {"content-type", "x-shopify-topic", "x-shopify-webhook-id", "x-shopify-shop-domain",
            "x-wc-webhook-id", "x-wc-webhook-topic", "x-wc-webhook-delivery-id",
            "x-twilio-email-event-webhook-timestamp"}  # fmt: skip
    headers = {k: v for k, v in case.signed.items() if k.lower() in keep}
    return headers | (FORM if case.form else {})


def _attempts(case: Case) -> list[tuple[str, str, dict[str, str], bytes]]:
    """(what, path, headers, body) of every refused variant of the case."""
    unsigned = _unsigned(case)
    if case.route.endswith("{token}"):  # the token in the URL is the signature
        base = case.path.rsplit("/", 1)[0]
        other = base + "/" + w.CARRIER_SECRETS["aftership"]
        return [
            ("no token", base, unsigned, case.body),
            ("wrong token", base + "/not-the-token", unsigned, case.body),
            ("another carrier's secret", other, unsigned, case.body),
        ]
    tampered = case.body.replace(b"delivered", b"returned") + b" "
    out = [("unsigned", case.path, unsigned, case.body)]
    if case.forged:
        out.append(("forged", case.path, unsigned | case.forged, case.body))
    out.append(("tampered", case.path, case.signed | (FORM if case.form else {}), tampered))
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_an_unsigned_or_forged_webhook_is_refused_and_changes_nothing(world, client, case):
    for what, path, headers, body in _attempts(case):
        before = snapshot(world.engine)
        answer = await client.post(path, content=body, headers=headers)
        assert answer.status_code in (401, 403), (
            f"{case.name} {what}: {answer.status_code} {answer.text[:200]}"
        )
        assert snapshot(world.engine) == before, f"{case.name} {what} changed the database"
        assert w.TWILIO_TOKEN not in answer.text and "whsec-" not in answer.text


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_the_same_body_signed_properly_is_accepted(world, client, case):
    """The control: the refusals above are the signature's doing."""
    headers = case.signed | (FORM if case.form else {})
    answer = await client.post(case.path, content=case.body, headers=headers)
    assert answer.status_code == 200, f"{case.name}: {answer.status_code} {answer.text[:300]}"


async def test_a_store_signature_for_one_shop_is_refused_at_another(world, client):
    """Each shop has its own webhook secret: Sekar's signature does not open Mawar's URL."""
    mawar = w.add_shop(world.rt, "mawar", "tok-mawar-" + "y" * 22)
    with world.rt.sessions() as session, session.begin():
        from notifier.store.models import Merchant

        row = session.get(Merchant, mawar.id)
        own = {"id": "shopify", "shop": "mawar", "access_token": "x", "webhook_secret": "mawar-own"}
        row.settings = {**row.settings, "sources": [own]}
    body = STORE_BODIES["shopify"]
    before = snapshot(world.engine)
    answer = await client.post(
        "/webhooks/orders/shopify/mawar", content=body, headers=w.store_headers("shopify", body)
    )
    assert answer.status_code == 403
    assert snapshot(world.engine) == before


async def test_without_a_configured_secret_nothing_is_accepted(world, client):
    """A carrier or sender with no secret set refuses everything (never "unsigned is fine")."""
    world.rt.settings.carriers.pop("aftership")
    try:
        body = CARRIER_BODIES["aftership"]
        answer = await client.post(
            "/webhooks/carriers/aftership", content=body, headers={"aftership-hmac-sha256": ""}
        )
        assert answer.status_code == 403
    finally:
        world.rt.settings.carriers["aftership"] = w.settings(Path("/tmp")).carriers["aftership"]


def test_every_webhook_route_is_covered() -> None:
    app = create_app(None)  # type: ignore[arg-type]  # enumerating only
    routes = {
        route.path
        for route in iter_route_contexts(app.routes)
        if route.path.startswith("/webhooks") and "POST" in (route.methods or ())
    }
    assert routes == {c.route for c in CASES}
    assert {c.name.split()[1] for c in CASES if c.name.startswith("carrier")} == set(
        webhooks.SCHEMES
    )
