"""The merchant UI in Chromium at a phone viewport: sign in, edit the Indonesian ``shipped`` SMS
and watch the preview and the segment count follow the typing, save, be told about a misspelled
variable with its line, roll back. Uses the shared ``live``/``phone``/``screenshot`` fixtures
(tests/browser/conftest.py)."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from notifier.store.models import TemplateOverride

pytestmark = pytest.mark.browser

SHORT = "{{ shop.name }}: resi {{ shipment.tracking_number }}. Lacak {{ shipment.tracking_url }}"
LONG = (
    "Halo Kak {{ customer.first_name }}! 📦 Pesanan {{ order.number }} sudah dikirim "
    "dengan {{ shipment.carrier_name }}, resi {{ shipment.tracking_number }}. Terima kasih "
    "sudah belanja di {{ shop.name }} ya, semoga suka! Lacak: {{ shipment.tracking_url }}"
)
MISSPELLED = (
    "Halo {{ customer.first_name }}!\n"
    "Resi {{ shipment.tracking_numbr }}: {{ shipment.tracking_url }}"
)


def _versions(live) -> list[tuple[int, str]]:
    with live.rt.sessions() as session:
        rows = session.exec(select(TemplateOverride).order_by(TemplateOverride.version))
        return [(r.version, r.source) for r in rows]


def _type(page, text: str) -> None:
    """Replace the editor's text the way a person does: select all, then type."""
    box = page.locator("#source")
    box.click()
    box.press("Control+A")
    box.press("Delete")
    box.press_sequentially(text, delay=2)


def test_merchant_edits_the_shipped_sms_with_live_preview_and_rolls_back(live, phone, screenshot):
    from playwright.sync_api import expect

    page = phone
    page.goto(f"{live.url}/admin")
    expect(page).to_have_url(re.compile(r"/admin/login"))
    page.fill("input[name=token]", "tok-sekar")
    page.click("button[type=submit]")
    expect(page.locator("header .brand")).to_have_text("Toko Batik Sekar")
    screenshot(page, "1-dashboard")

    page.click("nav >> text=Template")
    page.click("a[href='/admin/templates/shipped/sms/id']")
    expect(page.locator("h1")).to_contain_text("Dikirim · SMS · ID")
    expect(page.locator("#pv-text")).to_contain_text("Toko Batik Sekar: Pesanan INV/2026/11/0042")
    segments, encoding = page.get_by_test_id("segments"), page.get_by_test_id("encoding")

    _type(page, SHORT)  # the preview follows the typing (debounced fetch)
    expect(page.locator("#pv-text")).to_have_text(
        re.compile(r"^Toko Batik Sekar: resi JX3708794672\. Lacak https://")
    )
    expect(segments).to_have_text("1")
    expect(encoding).to_have_text("GSM-7")
    screenshot(page, "2-short-sms")

    _type(page, LONG)  # an emoji makes it UCS-2: 67 characters a segment
    expect(encoding).to_have_text("UCS-2")
    expect(segments).to_have_text("4")
    expect(page.locator("#pv-segments")).to_contain_text("melebihi batas")
    screenshot(page, "3-long-sms-over-budget")

    _type(page, SHORT)
    expect(segments).to_have_text("1")
    page.click("#save")
    expect(page.locator("p.ok")).to_have_text("Tersimpan.")
    assert _versions(live) == [(1, SHORT)]

    _type(page, MISSPELLED)
    expect(page.locator("#live-problems")).to_contain_text(
        "baris 2: unknown variable 'shipment.tracking_numbr'"
    )
    page.click("#save")
    expect(page.locator("#save-problems")).to_contain_text(
        "baris 2: unknown variable 'shipment.tracking_numbr'"
    )
    expect(page.locator("#source")).to_have_value(MISSPELLED)  # nothing typed is lost
    assert _versions(live) == [(1, SHORT)]  # and nothing was saved
    screenshot(page, "4-misspelled-variable")

    second = SHORT.replace("Lacak", "Cek paketmu di")
    _type(page, second)
    expect(page.locator("#live-problems")).to_be_empty()
    page.click("#save")
    expect(page.locator("#history tbody tr")).to_have_count(2)

    page.click("button:has-text('Kembalikan v1')")
    expect(page.locator("p.ok")).to_contain_text("Versi lama dipakai lagi")
    expect(page.locator("#source")).to_have_value(SHORT)
    expect(page.locator("#history tbody tr").first).to_contain_text("v3")
    expect(page.locator("#history tbody tr").first).to_contain_text("rolled back to v1")
    assert [v for v, _ in _versions(live)] == [1, 2, 3] and _versions(live)[2][1] == SHORT
    screenshot(page, "5-rolled-back")
