"""The merchant UI through HTTP: sign-in, the session cookie, CSRF on every form, the pages."""

from __future__ import annotations

import re
from dataclasses import replace

from sqlmodel import select

from notifier.store.models import Merchant, Recipient, TemplateOverride
from notifier.web import session as cookies
from tests.admin.conftest import CSRF, SEKAR, sign_in

EDITOR = "/admin/templates/shipped/sms/id"


def _versions(rt) -> list[int]:
    with rt.sessions() as s:
        return [v.version for v in s.exec(select(TemplateOverride))]


async def test_sign_in_sets_a_signed_httponly_lax_cookie_and_sign_out_ends_it(client, merchant):
    page = await client.get("/admin/login")
    csrf = CSRF.search(page.text).group(1)
    wrong = await client.post("/admin/login", data={"token": "nope", "csrf": csrf})
    assert wrong.status_code == 401 and "Token tidak dikenal" in wrong.text
    done = await client.post("/admin/login", data={"token": "tok-sekar", "csrf": csrf})
    assert done.status_code == 303 and done.headers["location"] == "/admin"
    cookie = done.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/admin" in cookie
    home = await client.get("/admin")
    assert home.status_code == 200 and "Toko Batik Sekar" in home.text
    assert home.headers["content-security-policy"].startswith("default-src 'self'")
    new_csrf = CSRF.search(home.text).group(1)
    assert new_csrf != csrf  # a fresh token after sign-in
    out = await client.post("/admin/logout", data={"csrf": new_csrf})
    assert out.status_code == 303
    again = await client.get("/admin")
    assert again.status_code == 303 and again.headers["location"].startswith("/admin/login")


async def test_a_forged_or_stale_cookie_is_no_session(rt, client, merchant):
    await sign_in(client)
    value = client.cookies.get(cookies.COOKIE)
    payload, signature = value.split(".")
    client.cookies.set(cookies.COOKIE, f"{payload}x.{signature}", path="/admin")
    assert (await client.get("/admin")).status_code == 303
    secret = rt.settings.server.session_secret.get_secret_value()
    old = cookies.signed_in(cookies.new_session(), merchant.id, merchant.api_token_hash)
    stale = cookies.encode(secret, replace(old, issued=old.issued - cookies.MAX_AGE - 1))
    client.cookies.set(cookies.COOKIE, stale, path="/admin")
    assert (await client.get("/admin")).status_code == 303
    assert (
        cookies.decode(secret, stale, now=old.issued - cookies.MAX_AGE) is not None
    )  # only its age


async def test_a_new_api_token_ends_the_sessions_opened_with_the_old_one(rt, ui, merchant):
    with rt.sessions() as s, s.begin():
        s.get(Merchant, merchant.id).api_token_hash = "0" * 64
    assert (await ui.get("/admin")).status_code == 303


async def test_forms_without_or_with_a_wrong_csrf_token_are_refused_and_change_nothing(
    rt, ui, merchant
):
    source = "Resi {{ shipment.tracking_number }} {{ shipment.tracking_url }}"
    for token in (None, "wrong", ui.csrf[:-1]):
        data = {"source": source} | ({"csrf": token} if token else {})
        answer = await ui.post(EDITOR, data=data)
        assert answer.status_code == 403
    assert _versions(rt) == []
    for path, data in (
        ("/admin/settings", {"channels": "sms", "brand.name": "Hacked"}),
        ("/admin/switches/shipped", {"on": "0"}),
        ("/admin/logout", {}),
    ):
        assert (await ui.post(path, data=data | {"csrf": "forged"})).status_code == 403
    with rt.sessions() as s:
        assert s.get(Merchant, merchant.id).settings == {
            "notify": {"channels": ["email", "whatsapp"]}
        }
    assert (await ui.get("/admin")).status_code == 200  # still signed in: logout was refused too
    preview = await ui.post(f"{EDITOR}/preview", data={"source": source})
    assert preview.status_code == 403  # the script's header is required as well
    ok = await ui.post(EDITOR, data={"source": source, "csrf": ui.csrf})
    assert ok.status_code == 303 and _versions(rt) == [1]


async def test_the_editor_saves_shows_problems_with_lines_and_rolls_back(rt, ui, merchant):
    good = "Halo {{ customer.first_name }}: {{ shipment.tracking_url }}"
    assert (await ui.post(EDITOR, data={"source": good, "csrf": ui.csrf})).status_code == 303
    bad = "Halo {{ customer.first_name }}\n{{ custmer.name }} {{ shipment.tracking_url }}"
    page = await ui.post(EDITOR, data={"source": bad, "csrf": ui.csrf})
    assert page.status_code == 422
    assert "baris 2: unknown variable &#39;custmer&#39;" in page.text
    assert "{{ custmer.name }}" in page.text  # the merchant's text is kept
    second = "Hai {{ customer.first_name }}: {{ shipment.tracking_url }}"
    await ui.post(EDITOR, data={"source": second, "csrf": ui.csrf})
    page = (await ui.get(EDITOR)).text
    assert 'data-testid="segments">1<' in page and "GSM-7" in page and "Hai Rina:" in page
    back = await ui.post(f"{EDITOR}/rollback", data={"version": "1", "csrf": ui.csrf})
    assert back.status_code == 303
    page = (await ui.get(back.headers["location"])).text
    assert "Halo Rina:" in page and "v3" in page and "rolled back to v1" in page
    diff = (await ui.get(f"{EDITOR}?diff=1")).text
    assert "+Halo {{ customer.first_name }}" in diff.replace("&#34;", '"')


async def test_email_preview_is_sandboxed_html_plus_plain_text(ui, merchant):
    page = (await ui.get("/admin/templates/shipped/email/id")).text
    frame = re.search(r"<iframe[^>]*>", page).group(0)
    assert 'sandbox=""' in frame and "srcdoc=" in frame
    assert "Content-Security-Policy" in frame and "&lt;" in frame  # escaped inside the attribute
    assert "Pantau perjalanan paketmu di sini:" in page  # the plain text part
    wa = (await ui.get("/admin/templates/shipped/whatsapp/id")).text
    assert 'class="bubble wa"' in wa


async def test_shipments_search_by_phone_written_any_way(ui, sekar):
    for q in (
        "0812-3450-0001",
        "+62 812 3450 0001",
        "INV/JXSEKAR",
        "jxsekar77",
        "sekar@shopper.test",
    ):
        page = await ui.get("/admin/shipments", params={"q": q})
        assert "JXSEKAR77" in page.text, q
    assert "JXSEKAR77" not in (await ui.get("/admin/shipments", params={"q": "0899"})).text
    detail = (await ui.get(f"/admin/shipments/{sekar.shipment_id}")).text
    assert (
        "Hub SEKAR-scan" in detail and "no_template SEKAR-error" in detail and "delivered" in detail
    )


async def test_dashboard_puts_trouble_first(rt, ui, sekar):
    page = (await ui.get("/admin")).text
    assert 'data-testid="sent-today">1<' in page
    assert "no_template SEKAR-error" in page  # a failure to look at


async def test_settings_are_validated_with_errors_next_to_fields(rt, ui, merchant):
    form = {
        "csrf": ui.csrf,
        "channels": ["email", "sms"],
        "on.shipped": "1",
        "ch.shipped": ["whatsapp"],
        "quiet_hours_start": "22:00",
        "quiet_hours_end": "07:00",
        "feedback_delay_days": "3",
        "brand.color": "purple",
        "brand.cs_whatsapp": "0812-3456-7890",
        "brand.logo_url": "javascript:alert(1)",
        "opening_hours": "mon-fri: 08:00-17:00\nsunday: 10:00-12:00",
        "faq.0.q": "Berapa lama pengiriman?",
        "faq.0.a": "",
    }
    page = await ui.post("/admin/settings", data=form)
    assert page.status_code == 422
    for field in ("brand.color", "brand.logo_url", "opening_hours", "faq.0.a"):
        assert f"<code>{field}</code>" in page.text
    with rt.sessions() as s:
        assert "brand" not in s.get(Merchant, merchant.id).settings  # nothing saved
    form |= {
        "brand.color": "#8A2BE2",
        "brand.logo_url": "https://sekar.id/logo.png",
        "opening_hours": "mon-fri: 08:00-17:00",
        "faq.0.a": "2-3 hari kerja.",
        "return_policy_url": "https://sekar.id/retur",
    }
    assert (await ui.post("/admin/settings", data=form)).status_code == 303
    with rt.sessions() as s:
        saved = s.get(Merchant, merchant.id).settings
    assert (
        saved["brand"]["cs_whatsapp"] == "+6281234567890" and saved["brand"]["color"] == "#8a2be2"
    )
    assert (
        saved["notify"]["channels"] == ["email", "sms"]
        and saved["notify"]["quiet_hours_start"] == "22:00"
    )
    assert saved["trigger_channels"] == {"shipped": ["whatsapp"]}
    assert "shipped" not in saved["notify"]["disabled_triggers"]
    assert saved["opening_hours"] == {"mon-fri": "08:00-17:00"}
    assert saved["faq"] == [
        {"q": "Berapa lama pengiriman?", "a": "2-3 hari kerja.", "locale": None}
    ]
    api = (await ui.get("/api/v1/settings", headers=SEKAR)).json()
    assert api["return_policy_url"] == "https://sekar.id/retur"


async def test_resubscribing_needs_a_reason_which_is_recorded(rt, ui, sekar):
    url = f"/admin/optouts/{sekar.recipient_id}"
    page = await ui.get("/admin/optouts")
    assert "twilio:21610" in page.text
    refused = await ui.post(url, data={"channel": "sms", "reason": "ok", "csrf": ui.csrf})
    assert refused.status_code == 422
    with rt.sessions() as s:
        assert s.get(Recipient, sekar.recipient_id).sms_opt_out_at is not None
    done = await ui.post(
        url, data={"channel": "sms", "reason": "Minta lagi lewat telepon", "csrf": ui.csrf}
    )
    assert done.status_code == 303
    with rt.sessions() as s:
        assert s.get(Recipient, sekar.recipient_id).sms_opt_out_at is None
    page = (await ui.get("/admin/optouts")).text
    assert "Minta lagi lewat telepon" in page and "resubscribed" in page


async def test_the_language_switch_and_the_english_pages(ui, merchant):
    switched = await ui.get("/admin/lang/en", params={"next": "/admin/templates"})
    assert switched.headers["location"] == "/admin/templates"
    page = (await ui.get("/admin/templates")).text
    assert '<html lang="en">' in page and "Templates" in page and "Out for delivery" in page
    evil = await ui.get("/admin/lang/id", params={"next": "https://evil.example/"})
    assert evil.headers["location"] == "/admin"


async def test_the_shop_picks_a_sender_per_channel_among_those_that_carry_it(rt, ui, merchant):
    page = (await ui.get("/admin/settings")).text
    assert '<select name="sender.sms">' in page
    assert '<option value="twilio_sms"' in page and '<option value="sendgrid"' in page
    form = {
        "csrf": ui.csrf,
        "channels": ["email", "sms"],
        "on.shipped": "1",
        "ch.shipped": ["email", "sms"],
    }
    form |= {"quiet_hours_start": "21:00", "quiet_hours_end": "08:00"}
    wrong = await ui.post("/admin/settings", data=form | {"sender.sms": "sendgrid"})
    assert wrong.status_code == 422 and "<code>senders</code>" in wrong.text
    saved = await ui.post("/admin/settings", data=form | {"sender.sms": "twilio_sms"})
    assert saved.status_code == 303, saved.text[saved.text.find('id="settings-errors"') :][:600]
    with rt.sessions() as s:
        assert s.get(Merchant, merchant.id).settings["notify"]["senders"] == {"sms": "twilio_sms"}
    page = (await ui.get("/admin/settings")).text
    assert '<option value="twilio_sms" selected>' in page


async def test_guessing_tokens_is_slowed_down_per_address(client, merchant):
    page = await client.get("/admin/login")
    csrf = CSRF.search(page.text).group(1)
    for _ in range(10):  # LOGIN_RULES: 10 attempts a minute
        wrong = await client.post("/admin/login", data={"token": "guess", "csrf": csrf})
        assert wrong.status_code == 401
    held = await client.post("/admin/login", data={"token": "tok-sekar", "csrf": csrf})
    assert held.status_code == 429 and int(held.headers["retry-after"]) >= 1
    assert "Terlalu banyak percobaan" in held.text
    home = await client.get("/admin")  # even the right token did not sign in
    assert home.status_code == 303 and home.headers["location"].startswith("/admin/login")
