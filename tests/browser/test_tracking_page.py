"""The shopper's tracking page in Chromium at a phone viewport."""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import select

from carriers.base import Status as S
from notifier.pipeline import poll
from notifier.store.models import Merchant, Recipient
from tests.factories import parcel, result

pytestmark = pytest.mark.browser

SHOPPER_PHONE = "+6281298765432"
SHOPPER_EMAIL = "rina.wulandari@example.com"
SHOP_WHATSAPP = "+6285712345678"
FAQ = [
    {"q": "Berapa lama pengiriman ke luar Jawa?", "a": "Biasanya 3-5 hari kerja."},
    {"q": "Bagaimana cara retur?", "a": "Chat kami dalam 7 hari setelah paket diterima."},
]


def seed(live) -> str:
    """The sample shop with its brand and FAQ; Rina's parcel out for delivery after three
    scans. Returns the tracking token."""
    with live.rt.sessions() as session, session.begin():
        shop = session.get(Merchant, live.merchant.id)
        shop.settings = {
            **shop.settings,
            "brand": {
                "name": "Toko Batik Sekar",
                "color": "#7a2e8e",
                "cs_whatsapp": SHOP_WHATSAPP,
                "cs_email": "halo@tokobatiksekar.id",
                "website": "https://tokobatiksekar.id",
            },
            "faq": FAQ,
            "return_policy_url": "https://tokobatiksekar.id/retur",
        }
    sh = parcel(
        live.rt, live.merchant, number="JX3708794672", phone=SHOPPER_PHONE, email=SHOPPER_EMAIL
    )
    live.rt.carriers.get("scripted").answers["JX3708794672"] = result(
        "JX3708794672",
        S.OUT_FOR_DELIVERY,
        ("2026-11-29T16:40:00+07:00", S.INFO_RECEIVED, "Paket diserahkan ke J&T Express"),
        ("2026-11-30T04:12:00+07:00", S.IN_TRANSIT, "Paket tiba di Gateway Jakarta"),
        ("2026-12-01T08:05:00+07:00", S.OUT_FOR_DELIVERY, "Paket dibawa kurir ke alamat"),
        eta=date(2026, 12, 1),
    )
    live.run(poll.sweep(live.rt))
    return sh.public_token


def test_tracking_page_on_a_phone(live, phone, screenshot) -> None:
    token = seed(live)
    response = phone.goto(f"{live.url}/t/{token}")
    assert response is not None and response.status == 200

    # the progress bar stands on "out for delivery", the three steps before it done
    current = phone.locator('ol.steps li[aria-current="step"]')
    assert current.get_attribute("data-step") == "out_for_delivery"
    assert current.inner_text() == "Diantar kurir"
    assert phone.locator("ol.steps li.done").count() == 3
    assert phone.locator("h1#status").inner_text() == "Sedang diantar kurir"

    # the ETA, in Indonesian
    assert phone.locator("[data-eta]").inner_text() == "Selasa, 1 Desember 2026"
    assert "(hari ini)" in phone.locator("p.eta").inner_text()

    # the journey, newest first, in Jakarta time
    descriptions = phone.locator("ol.timeline li p:not(.where)").all_inner_texts()
    assert descriptions == [
        "Paket dibawa kurir ke alamat",
        "Paket tiba di Gateway Jakarta",
        "Paket diserahkan ke J&T Express",
    ]
    assert phone.locator("ol.timeline li time").first.inner_text() == "1 Des 08.05 WIB"

    # WhatsApp to the shop's CS, the order number typed in
    wa = urlsplit(phone.locator("a[data-whatsapp]").get_attribute("href"))
    assert (wa.scheme, wa.netloc, wa.path) == ("https", "wa.me", "/6285712345678")
    assert "INV/JX3708794672" in parse_qs(wa.query)["text"][0]

    # the FAQ opens on tap, with the return-policy link under it
    answer = phone.get_by_text("Biasanya 3-5 hari kerja.")
    assert not answer.is_visible()
    phone.get_by_text("Berapa lama pengiriman ke luar Jawa?").click()
    assert answer.is_visible()
    policy = phone.locator("a[data-return-policy]")
    assert policy.get_attribute("href") == "https://tokobatiksekar.id/retur"
    screenshot(phone, "before")

    # nothing about the shopper beyond her first name, anywhere in the HTML
    html = phone.content()
    assert "Rina" in html
    for private in ("Wulandari", SHOPPER_PHONE, SHOPPER_PHONE[1:], "081298765432", SHOPPER_EMAIL):
        assert private not in html

    # fits the phone: no sideways scrolling
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390

    # turn WhatsApp off: a real form POST, then the page shows it off
    whatsapp = phone.locator('ul.prefs li[data-channel="whatsapp"]')
    assert whatsapp.get_attribute("data-on") == "true"
    whatsapp.get_by_role("button", name="Matikan WhatsApp").click()
    phone.wait_for_url(f"**/t/{token}?saved=whatsapp.off*")
    whatsapp = phone.locator('ul.prefs li[data-channel="whatsapp"]')
    assert whatsapp.get_attribute("data-on") == "false"
    assert whatsapp.locator(".state").inner_text() == "Mati"
    assert phone.get_by_role("status").inner_text() == "Notifikasi WhatsApp dimatikan."
    assert phone.locator('ul.prefs li[data-channel="email"]').get_attribute("data-on") == "true"
    with live.rt.sessions() as session:
        rina = session.exec(select(Recipient).where(Recipient.phone == SHOPPER_PHONE)).one()
    assert rina.whatsapp_opt_out_source == "tracking_page" and rina.email_opt_out_at is None

    # and back on
    whatsapp.get_by_role("button", name="Aktifkan WhatsApp").click()
    phone.wait_for_url(f"**/t/{token}?saved=whatsapp.on*")
    assert phone.locator('ul.prefs li[data-channel="whatsapp"]').get_attribute("data-on") == "true"


def test_the_look_up_form_leads_to_the_tracking_page(live, phone) -> None:
    token = seed(live)
    phone.goto(f"{live.url}/t")
    phone.get_by_label("Nomor pesanan").fill("inv/jx3708794672")
    phone.get_by_label("Email atau nomor HP").fill("0812-9876-5432")
    phone.get_by_role("button", name="Cari pesanan").click()
    phone.wait_for_url(f"**/t/{token}*")
    assert phone.locator("h1#status").inner_text() == "Sedang diantar kurir"


def test_an_unknown_link_helps_the_shopper_find_the_order(live, phone) -> None:
    response = phone.goto(f"{live.url}/t/this-link-was-cut-off")
    assert response is not None and response.status == 404
    phone.get_by_role("link", name="Lacak pesanan").click()
    phone.wait_for_url("**/t?lang=id")
    assert phone.get_by_label("Nomor pesanan").is_visible()
