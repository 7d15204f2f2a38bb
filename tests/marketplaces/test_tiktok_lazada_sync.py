"""The TikTok Shop and Lazada sources against their stand-ins on 127.0.0.1: a whole pass, the
access token renewed when the platform refuses it, and ``check``."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from notifier.orders.lazada import LazadaSource
from notifier.orders.poller import poll_sources
from notifier.orders.signing import load_state
from notifier.orders.tiktok_shop import TikTokShopSource
from notifier.store.models import Notification, Order, Shipment, SourceCursor
from tests.marketplaces import lazada_standin as laz
from tests.marketplaces import tiktok_standin as tts
from tests.orders.helpers import count, set_settings


def tiktok_entry(server: Any, **extra: Any) -> dict[str, Any]:
    return {
        "id": "tiktok_shop",
        "app_key": tts.APP_KEY,
        "app_secret": tts.APP_SECRET,
        "shop_cipher": tts.CIPHER,
        "access_token": "access-0",
        "refresh_token": "refresh-0",
        "api_base": server.url,
        "auth_base": server.url,
        "page_size": 2,
        "rate": 1000,
    } | extra


def lazada_entry(server: Any, **extra: Any) -> dict[str, Any]:
    return {
        "id": "lazada",
        "app_key": laz.APP_KEY,
        "app_secret": laz.APP_SECRET,
        "access_token": "access-0",
        "refresh_token": "refresh-0",
        "api_base": server.url,
        "auth_base": server.url,
        "page_size": 2,
        "rate": 1000,
    } | extra


def stored(rt) -> dict[str, tuple[str, str | None, str | None, list[tuple[str, str, str]]]]:
    """external id -> (status, return status, refund status, parcels)."""
    with rt.sessions() as session:
        out = {}
        for order in session.exec(select(Order)):
            parcels = session.exec(select(Shipment).where(Shipment.order_id == order.id)).all()
            out[order.external_id] = (
                order.status,
                order.return_status,
                order.refund_status,
                sorted((s.carrier, s.courier, s.tracking_number) for s in parcels),
            )
        return out


def cursor(rt, merchant, source: str) -> SourceCursor:
    with rt.sessions() as session:
        return session.exec(
            select(SourceCursor).where(
                SourceCursor.merchant_id == merchant.id, SourceCursor.source == source
            )
        ).one()


async def test_tiktok_a_pass_reads_orders_parcels_and_returns(rt, merchant, tiktok_server):
    standin = tiktok_server.app
    set_settings(rt, merchant, sources=[tiktok_entry(tiktok_server)])
    stats = await poll_sources(rt)
    assert (stats["failed"], stats["created"], stats["pages"]) == (0, 5, 4), stats
    assert standin.problems == []
    assert stored(rt) == {
        "576461413038700001": ("paid", None, None, []),
        "576461413038700002": ("fulfilled", None, None, [("binderbyte", "jnt", "JP2611260102")]),
        "576461413038700003": (
            "fulfilled",
            "approved",
            None,
            [("binderbyte", "jne", "CGK2611260103"), ("binderbyte", "sicepat", "004126110301")],
        ),
        "576461413038700004": ("cancelled", None, None, []),
        "576461413038700005": ("pending", None, None, []),
    }
    # The buyer's phone is masked and the email a TikTok relay: nobody to write to.
    assert count(rt, Notification) == 0
    searches = [c for c in standin.calls if c.path.endswith("/orders/search")]
    assert [c.params.get("page_token") for c in searches] == [None, "tok-2", "tok-4"]
    assert all(c.token == "access-0" for c in standin.calls)


async def test_tiktok_a_refused_token_is_renewed_and_kept(rt, merchant, tiktok_server):
    standin = tiktok_server.app
    standin.tokens.expire_after = 1  # the first search passes, the second is refused
    set_settings(rt, merchant, sources=[tiktok_entry(tiktok_server)])
    stats = await poll_sources(rt)
    assert (stats["failed"], stats["created"]) == (0, 5) and standin.tokens.refreshes == 1
    state = load_state(cursor(rt, merchant, "tiktok_shop").cursor)
    assert state["a"]["a"] == "access-1" and state["a"]["x"] > 0
    assert standin.calls[-1].token == "access-1" and standin.problems == []


async def test_tiktok_check_names_the_authorized_shops(tiktok_server):
    source = TikTokShopSource(tiktok_entry(tiktok_server))
    try:
        assert await source.check(None) == "authorized shop(s): Toko Batik Sekar (ID)"
        tracking = await source.tracking("576461413038700002")
    finally:
        await source.aclose()
    assert [e.description for e in tracking.events] == [
        "Paket sedang dalam perjalanan",
        "Paket telah diterima",
    ]
    assert tiktok_server.app.calls[0].params.get("shop_cipher") is None  # not for shop lists


async def test_lazada_a_pass_reads_orders_and_their_items(rt, merchant, lazada_server):
    standin = lazada_server.app
    set_settings(rt, merchant, sources=[lazada_entry(lazada_server)])
    stats = await poll_sources(rt)
    assert (stats["failed"], stats["created"], stats["pages"]) == (0, 5, 3), stats
    assert standin.problems == []
    assert stored(rt) == {
        "491253082180101": ("processing", None, None, []),  # COD: confirmed, not paid
        "491253082180102": ("paid", None, None, []),
        "491253082180103": ("fulfilled", None, None, [("binderbyte", "jnt", "JP2611260203")]),
        "491253082180104": (
            "fulfilled",
            None,
            None,
            [("binderbyte", "jne", "CGK2611260204"), ("binderbyte", "lex", "NLIDAP2611260204")],
        ),
        "491253082180105": ("cancelled", None, None, []),
    }
    with rt.sessions() as session:
        paid = session.exec(select(Order).where(Order.external_id == "491253082180102")).one()
        assert paid.paid_at is not None and paid.currency == "IDR" and paid.total_minor == 150000
    assert [c.params["offset"] for c in standin.calls if c.path == "/orders/get"] == ["0", "2", "4"]


async def test_lazada_an_expired_token_is_renewed_before_the_first_call(
    rt, merchant, lazada_server
):
    standin = lazada_server.app
    standin.tokens.access_valid = False
    set_settings(rt, merchant, sources=[lazada_entry(lazada_server, access_token_expires_at=1)])
    stats = await poll_sources(rt)
    assert (stats["failed"], stats["created"]) == (0, 5) and standin.tokens.refreshes == 1
    assert standin.paths()[0] == "/auth/token/refresh" and standin.problems == []
    assert load_state(cursor(rt, merchant, "lazada").cursor)["a"]["r"] == "refresh-1"


async def test_lazada_check_and_trace(lazada_server):
    source = LazadaSource(lazada_entry(lazada_server))
    try:
        assert await source.check(None) == "seller Toko Batik Sekar answered"
        [trace] = await source.trace("491253082180103")
    finally:
        await source.aclose()
    assert trace.tracking_number == "NLXSG20300914" and trace.status.value == "info_received"
