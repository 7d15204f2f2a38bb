"""The per-order digest helpers: when held news is released, which leased rows make one message,
and what the message lists (pure: jobs are built in memory); and the parcel_digest templates,
held to what the template tests ask of every default template."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime, time
from html import escape
from zoneinfo import ZoneInfo

import pytest
from jinja2 import meta

from notifier.pipeline import digest
from notifier.pipeline.compose import Job
from notifier.sms import segments
from notifier.store.models import Merchant, Notification, Order, Recipient, Shipment
from notifier.templating import Templates, documented_variables

JAKARTA = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta
RELEASE = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)  # 18:00 in Jakarta
SHOP = Merchant(id=1, slug="sekar", name="Sekar", api_token_hash="x", settings={"digest": True})
PLAIN = Merchant(id=2, slug="mawar", name="Mawar", api_token_hash="y", settings={})


def job(
    nid, trigger, *, order=10, shipment=100, channel="email", merchant=SHOP, status="in_transit"
):
    n = Notification(id=nid, merchant_id=merchant.id, order_id=order, shipment_id=shipment,
                     recipient_id=5, trigger=trigger, channel=channel, dedupe_key=f"k{nid}",
                     not_before=RELEASE)  # fmt: skip
    sh = None
    if shipment is not None:
        sh = Shipment(id=shipment, merchant_id=merchant.id, order_id=order, carrier="biteship",
                      courier="jne", tracking_number=f"JP{shipment}", public_token=f"tok{shipment}",
                      status=status)  # fmt: skip
    order_row = Order(id=order, merchant_id=merchant.id, external_id=str(order), order_number="#1")
    return Job(n, order_row, merchant, Recipient(id=5, merchant_id=merchant.id), sh, None, None)


def test_release_is_the_next_digest_time_in_the_shoppers_zone():
    assert digest.release_at(NOW, JAKARTA) == RELEASE
    evening = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # 19:00 in Jakarta: tomorrow's digest
    assert digest.release_at(evening, JAKARTA) == datetime(2026, 12, 2, 11, 0, tzinfo=UTC)
    assert digest.release_at(NOW, JAKARTA, time(9, 30)) == datetime(2026, 12, 2, 2, 30, tzinfo=UTC)


def test_only_parcel_news_of_digest_merchants_is_held():
    assert digest.holds(SHOP, 100, "shipped") and digest.holds(SHOP, 100, "delivered")
    assert not digest.holds(SHOP, None, "order_confirmed")
    assert not digest.holds(SHOP, 100, "refund_update")  # order-level news goes at once
    assert not digest.holds(PLAIN, 100, "shipped")
    late = Merchant(
        slug="x", name="x", api_token_hash="z", settings={"digest": True, "digest_at": "20:30"}
    )
    assert digest.digest_time(late) == time(20, 30) and digest.digest_time(SHOP) == time(18, 0)


def test_two_parcels_of_one_order_on_one_day_make_one_message():
    a = job(1, "shipped", shipment=100)
    b = job(2, "shipped", shipment=101)
    whatsapp = job(3, "shipped", shipment=101, channel="whatsapp")
    other_order = job(4, "shipped", order=11, shipment=200)
    confirmation = job(5, "order_confirmed", shipment=None)
    plain = job(6, "shipped", merchant=PLAIN, order=12, shipment=300)
    groups = digest.group([b, whatsapp, a, other_order, confirmation, plain])
    assert [[j.id for j in g] for g in groups] == [[1, 2], [3], [4], [5], [6]]
    ctx = digest.context(groups[0], public_url="https://n.example")
    assert ctx["trigger"] == "parcel_digest" and ctx["count"] == 2
    assert [(p["trigger"], p["tracking_number"], p["carrier_name"]) for p in ctx["parcels"]] == [
        ("shipped", "JP100", "JNE"),
        ("shipped", "JP101", "JNE"),
    ]
    assert ctx["parcels"][0]["tracking_url"] == "https://n.example/t/tok100"
    assert digest.merged_reason(groups[0][0]) == "merged into digest notification 1"


def test_a_parcels_older_news_is_left_out_of_its_digest():
    jobs = [
        job(1, "out_for_delivery", shipment=100, status="delivered"),
        job(2, "delivered", shipment=100, status="delivered"),
        job(3, "shipped", shipment=101),
    ]
    ctx = digest.context(jobs, public_url="https://n.example")
    assert [(p["trigger"], p["tracking_number"]) for p in ctx["parcels"]] == [
        ("delivered", "JP100"),
        ("shipped", "JP101"),
    ]


def test_alerts_and_a_parcels_repeated_news_stay_out_of_the_digest():
    assert not digest.holds(SHOP, 100, "alert_exception")  # the shop's own CS: at once
    jobs = [job(1, "shipped", shipment=100), job(2, "delayed", shipment=100)]
    ctx = digest.context(jobs, public_url="https://n.example")
    assert [(p["trigger"], p["tracking_number"]) for p in ctx["parcels"]] == [("delayed", "JP100")]
    assert ctx["count"] == 1


# --- the parcel_digest templates ----------------------------------------------------------

TEMPLATES = Templates()
CHANNELS = ("email", "sms", "whatsapp")
EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf]")


def variants(locale: str) -> dict[str, dict]:
    """The sample (two parcels), every optional value missing, one parcel, and the cases
    in between."""
    full = digest.sample_context(TEMPLATES, locale)
    out = {"sample": full, "minimal": digest.sample_context(TEMPLATES, locale, minimal=True)}
    one = copy.deepcopy(full)
    one["digest"]["parcels"] = one["digest"]["parcels"][1:]
    one["digest"]["count"] = 1
    out["one parcel"] = one
    bare = copy.deepcopy(full)
    for parcel in bare["digest"]["parcels"]:
        parcel["last_event"].update(location=None, time=None)
    out["scans without location or time"] = bare
    no_name = copy.deepcopy(full)
    no_name["customer"] = {"name": "", "first_name": ""}
    out["no customer name"] = no_name
    return out


def render(channel: str, locale: str, context: dict):
    return TEMPLATES.render("parcel_digest", channel, locale, context, timezone="Asia/Jakarta")


@pytest.mark.parametrize("locale", ["id", "en"])
@pytest.mark.parametrize("channel", CHANNELS)
def test_every_digest_template_renders_every_variant(channel: str, locale: str) -> None:
    for name, context in variants(locale).items():
        message = render(channel, locale, context)
        bodies = [(message.text, str)] + ([(message.html, escape)] if channel == "email" else [])
        for body, shown in bodies:
            assert body and body == body.strip(), name
            assert shown(context["order"]["number"]) in body, name
            for parcel in context["digest"]["parcels"]:
                for key in ("tracking_url", "tracking_number", "carrier_name"):
                    assert shown(parcel[key]) in body, (name, key)
            assert "None" not in body, name
        assert "\n\n\n" not in message.text, name
        if channel == "email":
            assert message.subject and "\n" not in message.subject
        else:
            assert message.subject is None and message.html is None
        if channel == "whatsapp":
            assert len(EMOJI.findall(message.text)) <= 1
        if not context["customer"]["first_name"]:
            assert "Kak ," not in message.text and "Hi ," not in message.text


@pytest.mark.parametrize("locale", ["id", "en"])
def test_digest_sms_is_gsm7_within_two_segments_for_two_parcels(locale: str) -> None:
    for context in variants(locale).values():
        cost = segments(render("sms", locale, context).text)
        assert cost.encoding == "GSM-7", cost.non_gsm
        assert cost.segments <= 2


def test_indonesian_digest_lists_each_parcel_with_its_status_and_eta() -> None:
    text = render("whatsapp", "id", digest.sample_context(TEMPLATES, "id")).text
    assert text.startswith("Halo Kak Rina,")
    assert "Ada kabar terbaru untuk 2 paket dari pesanan *INV/2026/11/0042*" in text
    assert "*1. J&T Express*, resi *JX3708794672*\nStatus: Sudah diterima\nLacak: " in text
    assert "*2. SiCepat*, resi *004412785530*\nStatus: Dalam perjalanan\n" in text
    assert "Estimasi tiba: Sabtu, 5 Desember 2026" in text  # the delivered one has no ETA left
    assert text.count("Estimasi tiba") == 1
    sms = render("sms", "id", digest.sample_context(TEMPLATES, "id")).text
    assert "2) SiCepat 004412785530: Dalam perjalanan, estimasi 5 Des. https://" in sms


def test_digest_email_escapes_shop_controlled_values() -> None:
    context = digest.sample_context(TEMPLATES, "id")
    context["customer"]["first_name"] = "<b>x</b>"
    context["digest"]["parcels"][0]["carrier_name"] = "<script>alert(1)</script>"
    message = render("email", "id", context)
    assert message.html is not None
    assert "<b>x</b>" not in message.html and "<script>" not in message.html
    assert "&lt;script&gt;" in message.html
    assert message.subject == "Kabar terbaru 2 paket pesanan INV/2026/11/0042"


def test_digest_templates_use_only_documented_variables() -> None:
    documented = documented_variables("parcel_digest", "email")
    assert set(documented["digest"]) == {"trigger", "count", "parcels"}
    for channel in CHANNELS:
        for locale in ("id", "en"):
            source = TEMPLATES.source("parcel_digest", channel, locale)
            env = TEMPLATES._envs[channel == "email"]
            roots = meta.find_undeclared_variables(env.parse(source)) - set(env.globals)
            assert roots <= set(documented_variables("parcel_digest", channel)), roots
