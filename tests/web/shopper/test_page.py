"""The tracking page at the route level (httpx over ASGI, SQLite and PostgreSQL): what it shows,
privacy, security headers and weight, language and zone, the parcel's states, and unsubscribe."""

from __future__ import annotations

import re
from datetime import date, datetime
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from notifier.store.models import Merchant
from notifier.web import tracking
from tests.web.shopper.helpers import (
    JOURNEY,
    SHOP,
    SHOPPER_EMAIL,
    SHOPPER_PHONE,
    add_events,
    recipient,
    rina,
)

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


# --- unsubscribe keeps working -----------------------------------------------------------------


async def test_unsubscribe_page_is_localized(rt, shop, client):
    from notifier import links

    rina(rt, shop)
    secret = rt.settings.server.session_secret.get_secret_value()
    token = links.unsubscribe_token(secret, recipient(rt).id, "email")
    page = await client.get(f"/u/{token}", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "Unsubscribe" in page.text
