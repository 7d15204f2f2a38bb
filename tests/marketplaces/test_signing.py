"""Request and push signatures against each platform's documented algorithm (the expected values
are computed here with ``hmac`` from the documented recipe), and the token, cursor and pacing
helpers the marketplace sources share."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from notifier.orders.base import SyncCursor
from notifier.orders.signing import (
    CURSOR_CHARS,
    INITIAL_DAYS,
    OVERLAP,
    Pacer,
    Pass,
    Tokens,
    current_tokens,
    dump_state,
    fingerprint,
    lazada_sign,
    load_state,
    shopee_push_valid,
    shopee_sign,
    tiktok_sign,
    tiktok_webhook_valid,
)
from tests.marketplaces.standin import sample

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


def mac(key: str, message: str) -> str:
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


def test_shopee_public_sign_is_over_partner_path_and_timestamp():
    # Shopee's authorization guide gives the base string "10090/api/v2/shop/auth_partner1594897040".
    got = shopee_sign("partner-key", 10090, "/api/v2/shop/auth_partner", 1594897040)
    assert got == mac("partner-key", "10090/api/v2/shop/auth_partner1594897040")


def test_shopee_shop_sign_adds_token_and_shop():
    # The sample values of every v2 page's common parameters.
    token, path = "c09222e3fc40ffb25fc947f738b1abf1", "/api/v2/order/get_order_list"
    got = shopee_sign("partner-key", 1, path, 1610000000, token, 600000)
    assert got == mac("partner-key", f"1{path}1610000000{token}600000")
    assert len(got) == 64 and got == got.lower()


def test_tiktok_sign_wraps_path_sorted_query_and_body_in_the_secret():
    path = "/order/202309/orders/search"
    query = {"timestamp": "1697708762", "app_key": "6a6xxx", "shop_cipher": "ROW_Y-vW"}
    query |= {"page_size": "20", "access_token": "ROW_CB", "sign": "ignored"}
    body = json.dumps({"update_time_ge": 1697000000}, separators=(",", ":"))
    expected = mac(
        "4ebxxx",
        f"4ebxxx{path}app_key6a6xxxpage_size20shop_cipherROW_Y-vWtimestamp1697708762{body}4ebxxx",
    )
    assert tiktok_sign("4ebxxx", path, query, body) == expected
    get = mac("4ebxxx", "4ebxxx/order/202309/ordersapp_key6a6xxxids5779timestamp14ebxxx")
    assert (
        tiktok_sign(
            "4ebxxx", "/order/202309/orders", {"ids": "5779", "app_key": "6a6xxx", "timestamp": 1}
        )
        == get
    )


def test_lazada_sign_is_upper_hex_over_api_path_and_all_sorted_params():
    params = {"app_key": "123456", "timestamp": "1517820392000", "sign_method": "sha256"}
    params |= {"access_token": "50000200c10", "update_after": "2018-02-10T09:00:00+08:00"}
    expected = mac(
        "secret",
        "/orders/getaccess_token50000200c10app_key123456sign_methodsha256"
        "timestamp1517820392000update_after2018-02-10T09:00:00+08:00",
    ).upper()
    assert lazada_sign("secret", "/orders/get", params | {"sign": "old"}) == expected


def test_push_signatures():
    url, body = "https://notifier.example/push/shopee", b'{"code":3,"data":{}}'
    good = mac("partner-key", f"{url}|{body.decode()}")
    assert shopee_push_valid("partner-key", url, body, good)
    assert shopee_push_valid("partner-key", url, body, good.upper())
    assert not shopee_push_valid("partner-key", url + "x", body, good)
    raw = json.dumps(sample("tiktok-shop/webhook_order_status_change_doc.json")).encode()
    good = hmac.new(b"app-secret", b"app-key" + raw, hashlib.sha256).hexdigest()
    assert tiktok_webhook_valid("app-key", "app-secret", raw, good)
    assert not tiktok_webhook_valid("app-key", "app-secret", raw + b" ", good)


def test_tokens_saved_in_the_cursor_win_until_the_merchant_authorizes_again():
    config = {"access_token": "a0", "refresh_token": "r0", "access_token_expires_at": 100}
    first = current_tokens(config, None)
    assert first == Tokens("a0", "r0", 100, fingerprint("r0"))
    renewed = first.renewed("a1", None, 5000)  # Shopee-like answer without a new refresh token
    assert renewed == Tokens("a1", "r0", 5000, fingerprint("r0"))
    assert current_tokens(config, renewed.state()) == renewed
    reauthorized = config | {"access_token": "b0", "refresh_token": "s0"}
    assert current_tokens(reauthorized, renewed.state()).access == "b0"
    assert renewed.expiring(5000 - 600) and not renewed.expiring(5000 - 601)
    assert not Tokens("a", "r").expiring(10**12)  # unknown expiry: use it until refused


def test_the_cursor_fits_its_column():
    tokens = Tokens("A" * 140, "R" * 120, 1, "origin").state()
    state = {"f": 1, "t": 2, "m": "orders", "p": "P" * 200, "a": tokens}
    text = dump_state(state)
    assert len(text) <= CURSOR_CHARS and "p" not in load_state(text)  # the pass restarts
    assert load_state(text)["a"] == tokens
    with pytest.raises(ValueError, match="characters"):
        dump_state({"a": Tokens("A" * 500, "R").state()})
    assert load_state("not json") == {} and load_state('["x"]') == {} and load_state(None) == {}


def test_passes_start_a_week_back_cap_their_window_and_overlap():
    clock = int(NOW.timestamp())
    first = Pass.begin({}, NOW, 15 * 86400, "orders")
    assert (first.start, first.end, first.mode, first.pos) == (
        clock - INITIAL_DAYS * 86400,
        clock,
        "orders",
        None,
    )
    state, more = first.after("20", ("orders", "returns"), NOW)
    assert (state, more) == ({"f": first.start, "t": clock, "m": "orders", "p": "20"}, True)
    resumed = Pass.begin(state, NOW, 15 * 86400, "orders")
    assert (resumed.start, resumed.pos) == (first.start, "20")
    state, more = resumed.after(None, ("orders", "returns"), NOW)
    assert (state, more) == ({"f": first.start, "t": clock, "m": "returns"}, True)
    state, more = Pass.begin(state, NOW, 15 * 86400, "orders").after(
        None, ("orders", "returns"), NOW
    )
    assert (state, more) == ({"h": clock}, False)
    nxt = Pass.begin(state, NOW + timedelta(minutes=1), 15 * 86400, "orders")
    assert (nxt.start, nxt.end) == (clock - OVERLAP, clock + 60)


def test_a_pass_far_behind_reads_window_by_window():
    since = SyncCursor.since(NOW - timedelta(days=40)).dump()  # sources sync --since
    run = Pass.begin(load_state(since), NOW, 15 * 86400, "orders")
    assert run.end - run.start == 15 * 86400
    state, more = run.after(None, ("orders",), NOW)
    assert more and state == {"h": run.end}
    later = Pass.begin(state, NOW, 15 * 86400, "orders")
    assert later.start == run.end - OVERLAP


async def test_the_pacer_spaces_requests():
    now, slept = [100.0], []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer(4, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        await pacer.wait()
    assert slept == [0.25, 0.25]
    now[0] += 10
    await pacer.wait()
    assert slept == [0.25, 0.25]
