"""The shared pieces: the parse contract for every registered source, OrderIn built without
losing an order to one bad field, the sync cursor's overlap window, the store HTTP client."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from notifier import plugins
from notifier.errors import InputError
from notifier.orders.base import OVERLAP, SourceError, SyncCursor
from notifier.orders.parse_contract import (
    BodyError,
    contract,
    decode,
    native,
    order_in,
    page_orders,
    parser_for,
)
from notifier.orders.storehttp import StoreHttp

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize("source", plugins.names("order_sources"))
def test_every_registered_source_has_a_parser_that_keeps_the_contract(source):
    parse = parser_for(source)
    for body in ({}, [], {"unrelated": True}, [{"unrelated": True}]):
        try:
            found = parse(body)
        except BodyError as err:
            assert "\n" not in str(err)
            continue
        assert isinstance(found, list)
        for order in found:
            shape = contract(order)
            assert set(shape) == {"external_id", "status", "paid_at", "customer", "shipments",
                                  "refunds", "returns"}  # fmt: skip
            assert set(shape["customer"]) == {"name", "email", "phone"}


def test_a_store_order_becomes_an_order_in_without_losing_the_order_to_one_bad_field():
    store = {
        "external_id": "A-1",
        "status": "paid",
        "paid_at": "2026-11-30T10:00:00+07:00",
        "currency": "XYZ",  # not a currency
        "total": "150000",
        "customer": {"name": "Rina", "email": "rina@@example", "phone": "0812-3456-7890"},
        "shipments": [
            {"carrier_name": "JNE", "tracking_number": "JP1234567890", "tracking_url": None},
            {"carrier_name": "Kapal Laut", "tracking_number": "12", "tracking_url": None},
        ],
        "refunds": [],
        "returns": [{"id": "r", "status": "requested", "store_status": "REQUESTED"}],
    }
    order, warnings = order_in(store, aggregator="biteship", country="ID")
    assert order.external_id == "A-1" and order.status == "paid" and order.currency is None
    assert order.customer.email is None and order.customer.phone == "0812-3456-7890"
    assert [(s.carrier, s.courier) for s in order.shipments] == [("biteship", "jne")]
    assert order.return_status == "requested"
    assert len(warnings) == 3
    assert "email left out" in warnings[0] and "parcel 12 (Kapal Laut) left out" in warnings[1]
    assert "total left out" in warnings[2]
    with pytest.raises(InputError):
        order_in({"external_id": ""})
    orders, errors, _ = page_orders([store, {"external_id": ""}], country="ID")
    assert len(orders) == 1 and len(errors) == 1


def test_the_services_own_order_json_and_json_lines():
    parcel = {"carrier": "binderbyte", "courier": "jne", "tracking_number": "jp1"}
    body = {
        "external_id": "7",
        "status": "paid",
        "refund_status": "completed",
        "shipments": [parcel],
    }
    (got,) = native(body)
    shape = contract(got)
    assert shape["shipments"] == [
        {"carrier": "binderbyte", "courier": "jne", "tracking_number": "JP1", "tracking_url": None}
    ]
    assert shape["refunds"][0]["status"] == "completed"
    assert native({"orders": [body, body]}) == [got, got]
    assert decode(b'{"a": 1}\n{"a": 2}\n') == [{"a": 1}, {"a": 2}]
    with pytest.raises(BodyError, match=r"^not JSON"):
        decode(b"<html>")


def test_the_sync_cursor_rereads_the_overlap_window():
    fresh = SyncCursor.load(None)
    assert fresh.pass_start(NOW) == NOW - timedelta(days=7)
    start = fresh.pass_start(NOW)
    inside = fresh.page_done(start, ["2026-11-30T01:00:00Z", None, "garbage"], "page-2")
    assert (inside.pos, inside.seen, inside.high) == ("page-2", "2026-11-30T01:00:00Z", None)
    assert SyncCursor.load(inside.dump()).pass_start(NOW) == start  # a restart resumes the pass
    done = SyncCursor.load(inside.dump()).page_done(start, ["2026-11-30T00:30:00+00:00"], None)
    assert (done.high, done.pos, done.start) == ("2026-11-30T01:00:00Z", None, None)
    assert done.pass_start(NOW) == datetime(2026, 11, 30, 1, tzinfo=UTC) - OVERLAP
    assert SyncCursor.load("2026-11-01T00:00:00Z").high == "2026-11-01T00:00:00Z"
    assert SyncCursor.load("{junk") == SyncCursor() and SyncCursor.load("[1]") == SyncCursor()
    since = SyncCursor.since(datetime(2026, 11, 1, tzinfo=UTC))
    assert since.pass_start(NOW) == datetime(2026, 11, 1, tzinfo=UTC)
    empty = since.page_done(datetime(2026, 11, 1, tzinfo=UTC), [], None)
    assert empty.pass_start(NOW) == datetime(2026, 11, 1, tzinfo=UTC)  # an empty store


def client(handler, waits):
    async def sleep(seconds):
        waits.append(seconds)

    transport = httpx.MockTransport(handler)
    return StoreHttp("teststore", "https://store.example", transport=transport, sleep=sleep)


async def test_store_http_waits_out_retry_after_and_retries_5xx():
    answers = iter([httpx.Response(429, headers={"Retry-After": "2.5"}), httpx.Response(502),
                    httpx.Response(200, json={"ok": True})])  # fmt: skip
    waits: list[float] = []
    http = client(lambda request: next(answers), waits)
    response = await http.request("GET", "/orders")
    assert http.json(response) == {"ok": True} and waits == [2.5, 2.0] and http.requests == 3


@pytest.mark.parametrize(
    ("answer", "message", "retry_after"),
    [
        (httpx.Response(429, headers={"Retry-After": "120"}), "rate limited (HTTP 429)", 120.0),
        (httpx.Response(401, json={"errors": "bad token"}), "credentials refused (HTTP 401)", None),
        (httpx.Response(404, text="no such shop"), "HTTP 404 on /orders: no such shop", None),
        (httpx.Response(500), "the store answered HTTP 500", None),
    ],
)
async def test_store_http_errors(answer, message, retry_after):
    http = client(lambda request: answer, [])
    with pytest.raises(SourceError, match=re.escape(message)) as caught:
        await http.request("GET", "/orders")
    assert caught.value.retry_after == retry_after and str(caught.value).startswith("teststore: ")


async def test_store_http_network_failures():
    def down(request):
        raise httpx.ConnectError("connection refused")

    waits: list[float] = []
    with pytest.raises(SourceError, match="cannot reach the store"):
        await client(down, waits).request("GET", "/orders")
    assert waits == [1.0, 2.0]

    def slow(request):
        raise httpx.ReadTimeout("timed out")

    with pytest.raises(SourceError, match="timed out"):
        await client(slow, []).request("GET", "/orders")
    http = client(lambda request: httpx.Response(200, text="<html>"), [])
    with pytest.raises(SourceError, match="not JSON"):
        http.json(await http.request("GET", "/orders"))
