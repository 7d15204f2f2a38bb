"""The shopper's pages at the route level (httpx over ASGI, SQLite and PostgreSQL): privacy,
language and zone, progress, preferences and their CSRF guard, the look-up and its rate limit,
page weight; plus the pure parts (progress, shop settings, the limiter)."""

from __future__ import annotations

import re
from datetime import date, datetime
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest
from sqlmodel import select

from notifier.store.models import Merchant, Recipient, TrackingEvent
from notifier.web import lookup, tracking
from notifier.web.app import create_app
from notifier.web.ratelimit import RateLimiter, Rule
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


@pytest.fixture
def app(rt):
    return create_app(rt)


@pytest.fixture
async def client(app):
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 4321))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture
def shop(rt, merchant):
    """The sample shop with its brand, FAQ, return policy and hours."""
    with rt.sessions() as session, session.begin():
        row = session.get(Merchant, merchant.id)
        row.settings = {**row.settings, **SHOP}
    return merchant


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


# --- the page ----------------------------------------------------------------------------------


async def test_the_page_shows_brand_progress_eta_journey_and_help(rt, shop, client):
    sh = rina(rt, shop, carrier="binderbyte", courier="jnt", number="JX3708794672")
    add_events(rt, sh, *JOURNEY, eta=date(2026, 12, 2))
    page = await client.get(f"/t/{sh.public_token}")
    assert page.status_code == 200
    html = page.text
    assert "<title>Sedang diantar kurir · Batik Sekar</title>" in html
    assert "--brand:#7a2e8e;--on-brand:#ffffff" in html
    assert 'src="https://tokobatiksekar.id/logo.png"' in html
    assert 'aria-current="step">Diantar kurir' in html
    assert html.count('<li class="done ') == 3
    assert "data-eta>Rabu, 2 Desember 2026</time></strong> (besok)" in html
    assert re.findall(
        r"<p>(Paket diserahkan ke J&amp;T|Tiba di Gateway Jakarta|Dibawa kurir)", html
    )
    assert re.findall(
        r"<p>(Dibawa kurir|Tiba di Gateway Jakarta|Paket diserahkan ke J&amp;T)</p>", html
    ) == ["Dibawa kurir", "Tiba di Gateway Jakarta", "Paket diserahkan ke J&amp;T"]
    assert "1 Des 08.05 WIB" in html
    assert "J&amp;T Express" in html and "JX3708794672" in html
    assert 'href="https://www.jet.co.id/track?awb=JX3708794672"' in html  # the carrier's page
    wa = urlsplit(re.search(r'href="(https://wa\.me/[^"]+)"', html).group(1).replace("&amp;", "&"))
    assert wa.path == "/6285712345678"
    assert parse_qs(wa.query)["text"] == [
        "Halo Batik Sekar, saya mau tanya tentang pesanan INV/JX3708794672 (resi JX3708794672)."
    ]
    assert "Jam layanan: Sen-Jum 08.00-17.00" in html
    assert "<summary>Berapa lama pengiriman?</summary><p>Biasanya 2-3 hari kerja.</p>" in html
    assert "<p>Luar Jawa 3-5 hari.</p>" in html
    assert "How long does shipping take?" not in html  # an English-only item
    assert 'href="https://tokobatiksekar.id/retur"' in html
    assert 'href="/t?lang=id"' in html  # the look-up link


async def test_nothing_about_the_shopper_beyond_her_first_name(rt, shop, client):
    sh = rina(rt, shop)
    add_events(rt, sh, *JOURNEY)
    for url in (f"/t/{sh.public_token}", f"/t/{sh.public_token}?lang=en"):
        html = (await client.get(url)).text
        assert "Rina" in html
        for private in (
            "Wulandari",
            SHOPPER_PHONE,
            SHOPPER_PHONE[1:],
            "081298765432",
            "0812-9876-5432",
            "98765432",
            SHOPPER_EMAIL,
            "rina.wulandari",
        ):
            assert private not in html, private


async def test_security_headers_and_no_remote_assets(rt, shop, client):
    sh = rina(rt, shop)
    page = await client.get(f"/t/{sh.public_token}")
    csp = page.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert f'<style nonce="{nonce}">' in page.text
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["referrer-policy"] == "same-origin"
    assert page.headers["x-robots-tag"] == "noindex, nofollow"
    assert "no-store" in page.headers["cache-control"]
    assets = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page.text)
    assert assets and all(a.startswith("/static/") for a in assets)
    for asset in assets:
        served = await client.get(asset)
        assert served.status_code == 200
        assert "immutable" in served.headers["cache-control"]


async def test_a_page_with_every_field_at_its_cap_stays_under_50_kb(rt, shop, client):
    """The worst case: long names, the most events and FAQ items, each at its length cap."""
    long = "Panjang sekali " * 40
    with rt.sessions() as session, session.begin():
        row = session.get(Merchant, shop.id)
        faq = [{"q": f"{i} {long}", "a": f"{i} {long}" * 5} for i in range(20)]
        brand = {**SHOP["brand"], "name": long}
        row.settings = {**row.settings, "faq": faq, "brand": brand}
    sh = rina(rt, shop, number="JX" + "9" * 30)
    events = [
        (
            f"2026-11-{1 + i // 4:02d}T{(i % 4) * 5 + 1:02d}:00:00+07:00",
            "in_transit",
            long,
            long[:300],
        )
        for i in range(80)
    ]
    add_events(rt, sh, *events, eta=date(2026, 12, 3))
    page = await client.get(f"/t/{sh.public_token}")
    assets = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page.text)
    weight = len(page.content) + sum([len((await client.get(a)).content) for a in assets])
    assert weight < 50_000, weight
    assert page.text.count("<li data-status=") == tracking.MAX_EVENTS
    assert "50 update lebih lama ada di situs kurir." in page.text
    assert page.text.count("<details>") == tracking.FAQ_MAX_ITEMS


async def test_a_typical_page_is_a_few_kilobytes(rt, shop, client):
    sh = rina(rt, shop)
    add_events(rt, sh, *JOURNEY)
    page = await client.get(f"/t/{sh.public_token}")
    assert 3_000 < len(page.content) < 10_000  # about 5 KB, plus 7 KB of cached CSS and JS


# --- language and time zone --------------------------------------------------------------------


async def test_lang_overrides_and_english_reads_english(rt, shop, client):
    sh = rina(rt, shop)
    add_events(rt, sh, *JOURNEY, eta=date(2026, 12, 1))
    html = (await client.get(f"/t/{sh.public_token}?lang=en")).text
    assert '<html lang="en">' in html
    assert "Tuesday, 1 December 2026" in html and "(today)" in html
    assert "Out for delivery" in html and "1 Dec 8:05 AM" in html
    assert "How long does shipping take?" in html and "Berapa lama" in html
    assert "Hi Batik Sekar, I have a question about order INV/JX0001" in unquote(html)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("en-US,en;q=0.9", "en"),
        ("id-ID,id;q=0.9,en;q=0.8", "id"),
        ("fr-FR, en;q=0.5, id;q=0.7", "id"),
        ("fr-FR", "id"),  # nothing we speak: the shop's language
    ],
)
async def test_accept_language_when_the_shopper_has_no_locale(rt, shop, client, accept, expected):
    sh = rina(rt, shop, locale=None)
    page = await client.get(f"/t/{sh.public_token}", headers={"Accept-Language": accept})
    assert f'<html lang="{expected}">' in page.text


async def test_the_shoppers_own_language_wins_over_the_browser(rt, shop, client):
    sh = rina(rt, shop, locale="en")
    page = await client.get(f"/t/{sh.public_token}", headers={"Accept-Language": "id"})
    assert '<html lang="en">' in page.text


async def test_times_are_shown_in_the_shoppers_zone(rt, shop, client):
    east = rina(rt, shop, tz="Asia/Makassar", number="JX0002")
    add_events(rt, east, *JOURNEY)
    assert "1 Des 09.05 WITA" in (await client.get(f"/t/{east.public_token}")).text
    unknown = rina(rt, shop, tz=None, number="JX0003")  # the shop's zone
    add_events(rt, unknown, *JOURNEY)
    assert "1 Des 08.05 WIB" in (await client.get(f"/t/{unknown.public_token}")).text


async def test_service_hours_are_the_shops_own(rt, shop, client):
    with rt.sessions() as session, session.begin():
        row = session.get(Merchant, shop.id)
        row.settings = {**row.settings, "opening_hours": {"mon-fri": "11:00-17:00"}}
    # 10:00 in Jakarta, the shop's zone: closed, though it is 12:00 for a shopper in Jayapura
    sh = rina(rt, shop, tz="Asia/Jayapura")
    html = (await client.get(f"/t/{sh.public_token}")).text
    assert "Jam layanan: Sen-Jum 11.00-17.00" in html and "di luar jam layanan" in html
    rt.clock.advance(hours=2)
    assert "di luar jam layanan" not in (await client.get(f"/t/{sh.public_token}")).text


# --- states ------------------------------------------------------------------------------------


async def test_an_exception_is_shown_on_the_step_the_parcel_reached(rt, shop, client):
    sh = rina(rt, shop)
    add_events(rt, sh, *JOURNEY[:2], ("2026-12-01T09:00:00+07:00", "exception", "Rusak", None))
    html = (await client.get(f"/t/{sh.public_token}")).text
    assert '<li class="current alert" data-step="in_transit" aria-current="step">' in html
    assert "Ada kendala pengiriman" in html and "Kami minta maaf" in html
    assert '<p class="note alert">Ada kendala dalam pengiriman' in html


async def test_delivered_shows_when_and_thanks(rt, shop, client):
    sh = rina(rt, shop)
    when = datetime.fromisoformat("2026-12-01T13:30:00+07:00")
    add_events(
        rt,
        sh,
        *JOURNEY,
        ("2026-12-01T13:30:00+07:00", "delivered", "Diterima", None),
        delivered_at=when,
        eta=date(2026, 12, 1),
    )
    html = (await client.get(f"/t/{sh.public_token}")).text
    assert "Diterima pada <strong><time" in html and "Selasa, 1 Desember 2026, 13.30 WIB" in html
    assert "Perkiraan tiba" not in html
    assert "Terima kasih sudah berbelanja di Batik Sekar!" in html


async def test_a_late_parcel_gets_an_apology(rt, shop, client):
    sh = rina(rt, shop)
    add_events(rt, sh, *JOURNEY[:2], eta=date(2026, 11, 30), delay_open=True)
    html = (await client.get(f"/t/{sh.public_token}")).text
    assert "(sudah lewat)" in html
    assert '<p class="note warn">Pengiriman paketmu sedikit terlambat' in html


async def test_an_orders_other_parcels_are_linked(rt, shop, client):
    from notifier.links import new_public_token
    from notifier.store.models import Shipment

    first = rina(rt, shop)
    with rt.sessions() as session, session.begin():
        second = Shipment(
            merchant_id=shop.id,
            order_id=first.order_id,
            carrier="scripted",
            tracking_number="JX0009",
            public_token=new_public_token(),
            status="in_transit",
            created_at=rt.clock.now(),
            updated_at=rt.clock.now(),
        )
        session.add(second)
    html = (await client.get(f"/t/{first.public_token}")).text
    assert "Pesanan ini dikirim dalam 2 paket:" in html
    assert f'href="/t/{second.public_token}?lang=id"' in html


async def test_an_unknown_token_is_a_404_that_helps(client, merchant):
    page = await client.get("/t/not-a-token-at-all")
    assert page.status_code == 404
    assert "Tracking link not found" in page.text and 'href="/t?lang=en"' in page.text
    page = await client.get("/t/nope", headers={"Accept-Language": "id-ID,id;q=0.9"})
    assert "Link pelacakan tidak ditemukan" in page.text


# --- preferences -------------------------------------------------------------------------------


def form_of(html: str) -> dict[str, str]:
    return dict(re.findall(r'name="(csrf|lang)" value="([^"]*)"', html))


async def prefs_page(client, sh) -> str:
    return (await client.get(f"/t/{sh.public_token}")).text


def recipient(rt) -> Recipient:
    with rt.sessions() as session:
        return session.exec(select(Recipient).where(Recipient.phone == SHOPPER_PHONE)).one()


async def test_turning_a_channel_off_and_on(rt, shop, client):
    sh = rina(rt, shop)
    html = await prefs_page(client, sh)
    assert 'data-channel="whatsapp" data-on="true"' in html
    assert 'data-channel="email" data-on="true"' in html and 'data-channel="sms"' not in html
    token = form_of(html)["csrf"]
    done = await client.post(
        f"/t/{sh.public_token}/preferences",
        data={"csrf": token, "channel": "whatsapp", "on": "0", "lang": "en"},
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/t/{sh.public_token}?saved=whatsapp.off&lang=en#notifikasi"
    rec = recipient(rt)
    assert rec.whatsapp_opt_out_source == "tracking_page" and rec.whatsapp_opt_out_at is not None
    assert rec.email_opt_out_at is None
    html = (await client.get(done.headers["location"])).text
    assert 'data-channel="whatsapp" data-on="false"' in html
    assert "WhatsApp notifications turned off." in html
    back = await client.post(
        f"/t/{sh.public_token}/preferences", data={"csrf": token, "channel": "whatsapp", "on": "1"}
    )
    assert back.status_code == 303 and recipient(rt).whatsapp_opt_out_at is None


async def test_turning_everything_off(rt, shop, client):
    sh = rina(rt, shop)
    token = form_of(await prefs_page(client, sh))["csrf"]
    done = await client.post(
        f"/t/{sh.public_token}/preferences", data={"csrf": token, "channel": "all", "on": "0"}
    )
    assert done.status_code == 303
    rec = recipient(rt)
    assert rec.whatsapp_opt_out_source == rec.email_opt_out_source == "tracking_page"
    html = (await client.get(done.headers["location"])).text
    assert "Semua notifikasi dimatikan." in html and "Matikan semua notifikasi" not in html


@pytest.mark.parametrize(
    ("data", "headers"),
    [
        ({"channel": "whatsapp", "on": "0"}, {}),  # no form token
        ({"channel": "whatsapp", "on": "0", "csrf": "forged-token-000000000000"}, {}),
        ({"channel": "whatsapp", "on": "0", "csrf": "RIGHT"}, {"Origin": "https://evil.example"}),
        ({"channel": "whatsapp", "on": "0", "csrf": "RIGHT"}, {"Sec-Fetch-Site": "cross-site"}),
        ({"channel": "whatsapp", "on": "0", "csrf": "RIGHT"}, {"Origin": "null"}),
    ],
)
async def test_a_forged_preferences_post_changes_nothing(rt, shop, client, data, headers):
    sh = rina(rt, shop)
    right = form_of(await prefs_page(client, sh))["csrf"]
    data = {**data, "csrf": right} if data.get("csrf") == "RIGHT" else data
    refused = await client.post(f"/t/{sh.public_token}/preferences", data=data, headers=headers)
    assert refused.status_code == 403 and "Change not saved" in refused.text
    assert recipient(rt).whatsapp_opt_out_at is None


async def test_one_parcels_form_token_does_not_work_on_another(rt, shop, client):
    mine, other = rina(rt, shop), rina(rt, shop, number="JX0002", phone="+6281311112222")
    token = form_of(await prefs_page(client, mine))["csrf"]
    refused = await client.post(
        f"/t/{other.public_token}/preferences", data={"csrf": token, "channel": "email", "on": "0"}
    )
    assert refused.status_code == 403


async def test_same_origin_posts_are_accepted(rt, shop, client):
    sh = rina(rt, shop)
    token = form_of(await prefs_page(client, sh))["csrf"]
    done = await client.post(
        f"/t/{sh.public_token}/preferences",
        data={"csrf": token, "channel": "email", "on": "0"},
        headers={"Origin": "http://test", "Sec-Fetch-Site": "same-origin"},
    )
    assert done.status_code == 303 and recipient(rt).email_opt_out_source == "tracking_page"


async def test_unknown_token_or_channel(rt, shop, client):
    sh = rina(rt, shop)
    token = form_of(await prefs_page(client, sh))["csrf"]
    missing = await client.post("/t/nope/preferences", data={"csrf": token, "channel": "email"})
    assert missing.status_code == 404
    sms = await client.post(  # the shop does not send SMS
        f"/t/{sh.public_token}/preferences", data={"csrf": token, "channel": "sms", "on": "0"}
    )
    assert sms.status_code == 400


async def test_a_stop_reply_cannot_be_undone_from_the_web(rt, shop, client):
    sh = rina(rt, shop)
    with rt.sessions() as session, session.begin():
        rec = session.exec(select(Recipient)).one()
        rec.whatsapp_opt_out_at, rec.whatsapp_opt_out_source = rt.clock.now(), "keyword:STOP"
    html = await prefs_page(client, sh)
    assert 'data-channel="whatsapp" data-on="false"' in html
    assert "Aktifkan WhatsApp" not in html and "Balas MULAI" in html
    token = form_of(html)["csrf"]
    await client.post(
        f"/t/{sh.public_token}/preferences", data={"csrf": token, "channel": "whatsapp", "on": "1"}
    )
    assert recipient(rt).whatsapp_opt_out_source == "keyword:STOP"


async def test_a_shopper_without_contact_details_has_no_preferences(rt, shop, client):
    sh = rina(rt, shop, phone=None, email=None)
    html = (await client.get(f"/t/{sh.public_token}")).text
    assert "Tidak ada notifikasi yang kami kirim untukmu." in html


# --- the look-up -------------------------------------------------------------------------------


def limit(app, time: FakeTime | None = None) -> FakeTime:
    time = time or FakeTime()
    app.state.lookup_limiter = RateLimiter(lookup.LOOKUP_RULES, now=time)
    return time


async def test_the_look_up_form(client):
    page = await client.get("/t")
    assert page.status_code == 200
    assert '<label for="order">Order number</label>' in page.text
    assert '<form method="post" action="/t"' in page.text
    indonesian = await client.get("/t?lang=id")
    assert '<label for="order">Nomor pesanan</label>' in indonesian.text


@pytest.mark.parametrize(
    ("order", "contact"),
    [
        ("INV/JX0001", "+6281298765432"),
        ("inv/jx0001", "0812-9876-5432"),
        (" INV/JX0001 ", "62 812 9876 5432"),
        ("INV/JX0001", "Rina.Wulandari@Example.com"),
    ],
)
async def test_a_look_up_redirects_to_the_parcel(rt, shop, client, order, contact):
    sh = rina(rt, shop)
    found = await client.post("/t", data={"order": order, "contact": contact})
    assert found.status_code == 303 and found.headers["location"] == f"/t/{sh.public_token}"


async def test_a_look_up_lists_the_parcels_of_a_split_order(rt, shop, client):
    from notifier.links import new_public_token
    from notifier.store.models import Shipment

    first = rina(rt, shop)
    with rt.sessions() as session, session.begin():
        second = Shipment(
            merchant_id=shop.id,
            order_id=first.order_id,
            carrier="scripted",
            tracking_number="JX0009",
            public_token=new_public_token(),
            created_at=rt.clock.now(),
            updated_at=rt.clock.now(),
        )
        session.add(second)
    page = await client.post("/t", data={"order": "INV/JX0001", "contact": SHOPPER_EMAIL})
    assert page.status_code == 200
    assert f'href="/t/{first.public_token}' in page.text
    assert f'href="/t/{second.public_token}' in page.text


async def test_the_same_vague_answer_for_every_miss(rt, shop, client):
    rina(rt, shop)
    wrong_contact = await client.post("/t", data={"order": "INV/JX0001", "contact": "0811000000"})
    no_such_order = await client.post("/t", data={"order": "INV/NOPE", "contact": "0811000000"})
    other_email = await client.post("/t", data={"order": "INV/JX0001", "contact": "x@y.example"})
    bodies = {
        r.text.replace("INV/JX0001", "INV/NOPE").replace("x@y.example", "0811000000")
        for r in (wrong_contact, no_such_order, other_email)
    }
    assert len(bodies) == 1
    assert {r.status_code for r in (wrong_contact, no_such_order, other_email)} == {200}
    assert "We couldn&#39;t find an order with those details" in wrong_contact.text


async def test_two_shops_with_the_same_order_number(rt, shop, client):
    from tests.orders.helpers import add_merchant

    mawar = add_merchant(rt, "mawar", "tok-mawar")
    ours = rina(rt, shop)
    theirs = parcel(rt, mawar, number="JX0001", phone="+6281377778888", email="budi@example.com")
    for contact, sh in ((SHOPPER_EMAIL, ours), ("budi@example.com", theirs)):
        found = await client.post("/t", data={"order": "INV/JX0001", "contact": contact})
        assert found.status_code == 303 and found.headers["location"] == f"/t/{sh.public_token}"


async def test_an_order_not_shipped_yet(rt, shop, client):
    sh = rina(rt, shop)
    with rt.sessions() as session, session.begin():
        from notifier.store.models import Shipment

        session.delete(session.get(Shipment, sh.id))
    page = await client.post(
        "/t", data={"order": "INV/JX0001", "contact": SHOPPER_EMAIL, "lang": "id"}
    )
    assert page.status_code == 200
    assert "Pesanan INV/JX0001 dari Batik Sekar" in page.text and "sedang disiapkan" in page.text


async def test_a_look_up_without_details_asks_for_them(client):
    page = await client.post("/t", data={"order": " ", "contact": ""})
    assert page.status_code == 422 and 'aria-invalid="true"' in page.text


async def test_look_ups_are_limited_per_client_address(rt, shop, app, client):
    time = limit(app)
    for attempt in range(5):
        answer = await client.post("/t", data={"order": f"INV/{attempt}", "contact": "0811000000"})
        assert answer.status_code == 200
    refused = await client.post("/t", data={"order": "INV/9", "contact": "0811000000"})
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "Too many attempts" in refused.text and "seconds" in refused.text
    time.now += 61
    assert (await client.post("/t", data={"order": "INV/9", "contact": "081"})).status_code == 200


async def test_look_ups_are_limited_per_order_number_across_addresses(rt, shop, app):
    limit(app)
    for n in range(6):
        transport = httpx.ASGITransport(app=app, client=(f"198.51.100.{n}", 1000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            answer = await c.post("/t", data={"order": f"#inv/jx000{1}", "contact": f"081{n}"})
        assert answer.status_code == (429 if n == 5 else 200)


async def test_the_hourly_limit(rt, shop, app, client):
    time = limit(app)
    for n in range(20):
        answer = await client.post("/t", data={"order": f"INV/{n}", "contact": "0811000000"})
        assert answer.status_code == 200
        time.now += 15  # 4 a minute: under the minute rule
    refused = await client.post("/t", data={"order": "INV/x", "contact": "0811000000"})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 60
    assert "minutes" in refused.text


# --- unsubscribe keeps working -----------------------------------------------------------------


async def test_unsubscribe_page_is_localized(rt, shop, client):
    from notifier import links

    rina(rt, shop)
    secret = rt.settings.server.session_secret.get_secret_value()
    token = links.unsubscribe_token(secret, recipient(rt).id, "email")
    page = await client.get(f"/u/{token}", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "Unsubscribe" in page.text


# --- pure parts --------------------------------------------------------------------------------


def steps(status: str, *history: str) -> list[tuple[str, str, str | None, str]]:
    return [(s.key, s.state, s.status, s.tone) for s in tracking.progress(status, history)]


def test_progress_for_each_kind_of_status():
    assert [s[1] for s in steps("pending")] == ["done", "current", "todo", "todo", "todo"]
    assert steps("in_transit")[2] == ("in_transit", "current", None, "")
    assert steps("failed_attempt")[3] == ("out_for_delivery", "current", "failed_attempt", "alert")
    pickup = steps("available_for_pickup")[3]
    assert pickup == ("out_for_delivery", "current", "available_for_pickup", "info")
    assert steps("exception", "info_received", "in_transit")[2][1:] == (
        "current",
        "exception",
        "alert",
    )
    assert steps("exception")[1][1:3] == ("current", "exception")  # no scans: still shipped
    assert steps("expired", "in_transit")[2][3] == "muted"
    returned = steps("returned_to_sender", "in_transit")
    assert returned[4] == ("delivered", "current", "returned_to_sender", "alert")
    assert [s[1] for s in steps("delivered")] == ["done"] * 4 + ["current"]
    assert steps("delivered")[4] == ("delivered", "current", None, "ok")


def test_shop_settings_of_the_wrong_kind_are_left_out():
    shop = tracking.read_shop(
        "Account name",
        {
            "brand": {
                "name": "  ",
                "color": "red; background:url(x)",
                "logo_url": "http://insecure.example/logo.png",
                "website": "javascript:alert(1)",
                "cs_whatsapp": "not a phone",
                "cs_email": "nobody",
            },
            "faq": [{"q": "Only a question"}, "nonsense", {"q": "Q?", "a": "A."}],
            "return_policy_url": "ftp://example.com/x",
        },
    )
    brand = shop.brand
    assert brand.name == "Account name" and brand.color is None and brand.logo_url is None
    assert brand.website is None and brand.cs_whatsapp is None and brand.cs_email is None
    assert shop.faq == (tracking.FaqItem("Q?", ("A.",)),)
    assert shop.return_policy_url is None
    assert tracking.read_shop("x", {"brand": "oops", "faq": {"q": 1}}).faq == ()


def test_text_on_the_brand_colour_contrasts():
    def on(color: str) -> str:
        return tracking.read_shop("x", {"brand": {"color": color}}).brand.on_color

    assert on("#FFD700") == "#111111" and on("#fff") == "#111111"
    assert on("#0f766e") == "#ffffff" and on("#123") == "#ffffff"
    assert tracking.read_shop("x", {"brand": {"color": "#ABC"}}).brand.color == "#aabbcc"


def test_cs_whatsapp_is_normalized_and_the_link_prefilled():
    brand = tracking.read_shop("x", {"brand": {"cs_whatsapp": "+62 857-1234-5678"}}).brand
    assert brand.cs_whatsapp == "+6285712345678"
    url = tracking.whatsapp_url(brand.cs_whatsapp, "Halo, pesanan INV/1 & resi?")
    assert url == "https://wa.me/6285712345678?text=Halo%2C%20pesanan%20INV%2F1%20%26%20resi%3F"


def test_first_name_only():
    assert tracking.first_name("  Rina   Wulandari ") == "Rina"
    assert tracking.first_name("") == "" and len(tracking.first_name("x" * 99)) == 40


def test_order_number_spellings():
    assert lookup.number_variants("inv/1") == ["inv/1", "INV/1", "#inv/1", "#INV/1"]
    assert lookup.number_key(" #inv/1 ") == lookup.number_key("INV/1") == "INV/1"


def test_the_limiter_windows_and_waits():
    time = FakeTime()
    limiter = RateLimiter([Rule(2, 60), Rule(3, 3600)], now=time)
    assert limiter.hit("a") == 0 and limiter.hit("a") == 0
    assert limiter.hit("a") == 60  # the first hit leaves the minute window in 60 s
    time.now += 30
    assert limiter.hit("a") == 30
    time.now += 30
    assert limiter.hit("a") == 0  # a third hit in the hour
    time.now += 60
    assert limiter.hit("a") == 3600 - 120  # the hour is full until the first hit leaves it
    assert limiter.hit("b") == 0  # another key is untouched


def test_a_refused_hit_records_nothing_on_any_key():
    time = FakeTime()
    limiter = RateLimiter([Rule(1, 60)], now=time)
    assert limiter.hit("ip:1", "order:A") == 0
    assert limiter.hit("ip:1", "order:B") > 0  # the address is over: order B not charged
    assert limiter.hit("ip:2", "order:B") == 0


def test_the_limiter_forgets_idle_keys_and_caps_memory():
    time = FakeTime()
    limiter = RateLimiter([Rule(5, 60)], now=time, max_keys=3)
    for key in "abcd":
        limiter.hit(key)
    assert len(limiter) == 3
    time.now += 61
    limiter.hit("e")
    assert len(limiter) == 1


def test_both_locales_have_the_same_words():
    from notifier.web.pages_text import TEXT

    assert set(TEXT["id"]) == set(TEXT["en"])
    assert not set(TEXT["id"]) & set(dir(dict))  # "t.copy" would be dict.copy in a template
