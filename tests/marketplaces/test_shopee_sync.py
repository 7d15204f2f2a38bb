"""The Shopee source against a stand-in Shopee on 127.0.0.1: paging through orders, parcels
and returns, token refresh (before the first call and when a token is refused mid-sync), a
spent refresh token, throttling, and a restart in the middle of a pass."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from notifier.orders import poller
from notifier.orders.poller import PollStats, poll_sources
from notifier.orders.signing import load_state
from notifier.store.models import Notification, Order, Shipment, SourceCursor
from tests.marketplaces.shopee_standin import PARTNER_ID, PARTNER_KEY, SHOP_ID
from tests.orders.helpers import count, set_settings


def entry(server: Any, **extra: Any) -> dict[str, Any]:
    return {
        "id": "shopee",
        "partner_id": PARTNER_ID,
        "partner_key": PARTNER_KEY,
        "shop_id": SHOP_ID,
        "access_token": "access-0",
        "refresh_token": "refresh-0",
        "api_base": server.url,
        "page_size": 2,
        "rate": 1000,  # requests/s: the stand-in needs no pacing
    } | extra


def saved(rt, merchant) -> SourceCursor:
    with rt.sessions() as session:
        return session.exec(
            select(SourceCursor).where(
                SourceCursor.merchant_id == merchant.id, SourceCursor.source == "shopee"
            )
        ).one()


def stored(rt) -> dict[str, tuple[str, list[tuple[str, str, str]]]]:
    """external id -> (status, [(carrier, courier, tracking number)])."""
    with rt.sessions() as session:
        out = {}
        for order in session.exec(select(Order).order_by(Order.external_id)):
            parcels = session.exec(select(Shipment).where(Shipment.order_id == order.id)).all()
            out[order.external_id] = (
                order.status,
                sorted((s.carrier, s.courier, s.tracking_number) for s in parcels),
            )
        return out


EXPECTED = {
    "261201AAAA0001": ("paid", []),
    "261201AAAA0002": ("fulfilled", [("binderbyte", "jnt", "JP2611260002")]),
    "261201AAAA0003": ("completed", [("binderbyte", "spx", "SPXID0261120003")]),
    # GHN (Vietnam) is a courier no carrier of ours tracks: Shopee's own logistics API does.
    "261201AAAA0004": (
        "fulfilled",
        [("binderbyte", "jne", "CGK2611260004"), ("shopee", "", "GHN2611260004")],
    ),
    "261201AAAA0005": ("cancelled", []),
}


async def test_a_pass_pages_through_orders_parcels_and_returns(rt, merchant, shopee_server):
    standin = shopee_server.app
    set_settings(rt, merchant, sources=[entry(shopee_server)])
    stats = await poll_sources(rt)

    assert (stats["failed"], stats["created"], stats["pages"]) == (0, 5, 4), stats
    assert stored(rt) == EXPECTED
    assert standin.problems == []
    assert standin.paths().count("/api/v2/order/get_order_list") == 3  # 5 orders, 2 a page
    assert standin.paths().count("/api/v2/logistics/get_tracking_number") == 4  # handed over
    with rt.sessions() as session:
        returned = session.exec(select(Order).where(Order.external_id == "261201AAAA0003")).one()
        assert (returned.return_status, returned.refund_status) == ("approved", "pending")
        assert all(o.recipient_id is None for o in session.exec(select(Order)))
    # Masked buyers: the parcels are tracked, nothing goes to a shopper; the parcel Shopee gave
    # to a courier we cannot track is tracked through Shopee (tests/marketplaces/test_tracking).
    assert count(rt, Notification) == 0 and stats["warnings"] == 0
    cursor = saved(rt, merchant)
    state = load_state(cursor.cursor)
    assert state["h"] == int(rt.clock.now().timestamp()) and "t" not in state
    assert state["a"]["a"] == "access-0" and standin.tokens.refreshes == 0

    # The next run re-reads only the overlap: nothing new, nothing twice.
    calls = len(standin.calls)
    stats = await poll_sources(rt)
    assert (stats["created"], stats["updated"], stats["failed"]) == (0, 0, 0)
    window = [c.params for c in standin.calls[calls:] if c.path.endswith("get_order_list")]
    assert int(window[0]["time_to"]) - int(window[0]["time_from"]) == 900


async def test_an_expired_token_is_renewed_first_and_the_new_pair_is_kept(
    rt, merchant, shopee_server
):
    standin = shopee_server.app
    standin.tokens.access_valid = False
    set_settings(rt, merchant, sources=[entry(shopee_server, access_token_expires_at=1)])
    stats = await poll_sources(rt)
    assert (stats["failed"], stats["created"]) == (0, 5)
    assert standin.tokens.refreshes == 1
    assert standin.paths()[0] == "/api/v2/auth/access_token/get"
    state = load_state(saved(rt, merchant).cursor)
    assert (state["a"]["a"], state["a"]["r"]) == ("access-1", "refresh-1")

    # refresh-0 is spent: the next run must use the saved pair, not the settings' one.
    rt.clock.advance(hours=1)
    stats = await poll_sources(rt)
    assert stats["failed"] == 0 and standin.tokens.refreshes == 1


async def test_a_token_refused_mid_sync_is_renewed_once_and_the_pass_goes_on(
    rt, merchant, shopee_server
):
    standin = shopee_server.app
    standin.tokens.expire_after = 3  # list, detail, one tracking number, then refused
    set_settings(rt, merchant, sources=[entry(shopee_server)])
    stats = await poll_sources(rt)
    assert (stats["failed"], stats["created"]) == (0, 5)
    assert stored(rt) == EXPECTED and standin.tokens.refreshes == 1


async def test_a_refresh_token_that_no_longer_works_is_reported_and_the_cursor_kept(
    rt, merchant, shopee_server
):
    standin = shopee_server.app
    standin.tokens.access_valid, standin.tokens.refuse_refresh = False, True
    set_settings(rt, merchant, sources=[entry(shopee_server)])
    stats = await poll_sources(rt)
    assert (stats["failed"], stats["created"]) == (1, 0)
    cursor = saved(rt, merchant)
    assert "token refresh refused" in cursor.last_error and "authorize" in cursor.last_error
    assert cursor.cursor is None


async def test_a_failure_after_a_refresh_still_saves_the_new_tokens(rt, merchant, shopee_server):
    standin = shopee_server.app
    standin.throttle_after_refresh = True  # the refresh passes, then the order list is throttled
    set_settings(rt, merchant, sources=[entry(shopee_server, access_token_expires_at=1)])
    stats = await poll_sources(rt)
    assert stats["created"] == 0 and standin.tokens.refreshes == 1
    cursor = saved(rt, merchant)
    assert "error_too_many_request" in cursor.last_error
    assert load_state(cursor.cursor)["a"]["r"] == "refresh-1"

    stats = await poll_sources(rt)  # refresh-0 is spent; the saved pair carries on
    assert (stats["failed"], stats["created"]) == (0, 5) and standin.tokens.refreshes == 1


async def test_a_throttled_poll_keeps_its_place(rt, merchant, shopee_server):
    standin = shopee_server.app
    standin.throttle_next = 1
    set_settings(rt, merchant, sources=[entry(shopee_server)])
    stats = await poll_sources(rt)
    assert stats["failed"] == 1 and "error_too_many_request" in saved(rt, merchant).last_error
    assert saved(rt, merchant).cursor is None
    stats = await poll_sources(rt)
    assert (stats["failed"], stats["created"]) == (0, 5)


async def test_a_restart_mid_pass_neither_misses_nor_repeats(rt, merchant, shopee_server):
    standin = shopee_server.app
    set_settings(rt, merchant, sources=[entry(shopee_server)])
    with rt.sessions() as session:
        m = session.get(type(merchant), merchant.id)
    stats = PollStats()
    await poller.poll_one(rt, m, entry(shopee_server), stats, max_pages=2)  # then "crash"
    assert stats.created == 4
    state = load_state(saved(rt, merchant).cursor)
    assert (state["m"], state["p"]) == ("orders", "4")

    stats2 = await poll_sources(rt)
    assert (stats2["created"], stats2["unchanged"]) == (1, 0)
    assert stored(rt) == EXPECTED and standin.problems == []
    lists = [c for c in standin.calls if c.path.endswith("get_order_list")]
    assert [c.params.get("cursor") for c in lists] == ["", "2", "4"]


async def test_check_uses_the_pair_the_last_poll_saved_and_never_renews(
    rt, merchant, shopee_server
):
    from notifier.orders.shopee import ShopeeSource

    standin = shopee_server.app
    standin.tokens.access_valid = False
    set_settings(rt, merchant, sources=[entry(shopee_server, access_token_expires_at=1)])
    await poll_sources(rt)  # renews: access-1 / refresh-1 are in the cursor, refresh-0 is spent
    source = ShopeeSource(entry(shopee_server, access_token_expires_at=1))
    try:
        expired = await source.check(rt.clock.now())  # the settings' pair: expired
        fine = await source.check(rt.clock.now(), saved(rt, merchant).cursor)
    finally:
        await source.aclose()
    assert expired == "the access token has expired; the next poll renews it"
    assert fine == "shop Toko Batik Sekar answered"
    assert standin.tokens.refreshes == 1 and standin.calls[-1].params["access_token"] == "access-1"
