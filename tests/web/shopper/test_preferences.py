"""Notification preferences on the tracking page: turning channels off and on, and the CSRF
guard (form token and same origin) that keeps forged posts out."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from notifier.store.models import Recipient
from tests.web.shopper.helpers import (
    recipient,
    rina,
)

# --- preferences -------------------------------------------------------------------------------


def form_of(html: str) -> dict[str, str]:
    return dict(re.findall(r'name="(csrf|lang)" value="([^"]*)"', html))


async def prefs_page(client, sh) -> str:
    return (await client.get(f"/t/{sh.public_token}")).text


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
