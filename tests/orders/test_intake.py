"""Ingesting orders: shoppers found again, cancellations, what an invalid order leaves behind."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from notifier.errors import InputError
from notifier.orders.intake import ingest
from notifier.orders.schema import OrderIn
from notifier.pipeline.outbox import merchant_prefs
from notifier.store.models import Notification, Order, Recipient, Shipment
from tests.orders.helpers import count, messages, order_body


def take(rt, merchant, body, **kw):
    prefs = merchant_prefs(rt.settings.notify, merchant)
    with rt.sessions() as session, session.begin():
        return ingest(session, merchant, prefs, OrderIn.model_validate(body), rt.clock.now(), **kw)


def test_one_shopper_typed_two_ways_is_one_recipient_with_the_newest_details(rt, merchant):
    take(
        rt,
        merchant,
        order_body(
            "1", phone="0812-3456-7890", email=None, parcels=(("simulator", None, "SIM-1"),)
        ),
    )
    take(
        rt,
        merchant,
        order_body(
            "2",
            phone="+62 812 3456 7890",
            email="rina@example.com",
            parcels=(("simulator", None, "SIM-2"),),
        ),
    )
    take(rt, merchant, order_body("3", phone=None, email="RINA@example.com", parcels=()))
    with rt.sessions() as session:
        rec = session.exec(select(Recipient)).one()
        orders = session.exec(select(Order)).all()
    assert (rec.phone, rec.phone_kind, rec.email) == (
        "+6281234567890",
        "mobile",
        "rina@example.com",
    )
    assert {o.recipient_id for o in orders} == {rec.id}


def test_a_resent_order_without_contact_keeps_its_shopper(rt, merchant):
    take(rt, merchant, order_body("1"))
    result = take(rt, merchant, order_body("1", phone=None, email=None))
    assert result.outcome == "unchanged" and result.recipient is not None
    assert count(rt, Recipient) == 1


def test_an_order_without_any_contact_is_stored_and_says_why_nobody_hears(rt, merchant):
    result = take(rt, merchant, order_body("1", phone=None, email=None))
    assert result.outcome == "created" and result.recipient is None
    assert result.warnings == ["no phone or email: the shopper will not get messages"]
    assert count(rt, Shipment) == 1 and messages(rt) == []


def test_a_cancelled_order_stops_polling_and_a_reinstated_one_resumes(rt, merchant, clock):
    take(
        rt,
        merchant,
        order_body("1", parcels=(("simulator", None, "SIM-1"), ("simulator", None, "SIM-2"))),
    )
    with rt.sessions() as session, session.begin():
        delivered = session.exec(select(Shipment).where(Shipment.tracking_number == "SIM-2")).one()
        delivered.status, delivered.next_check_at = "delivered", None
    clock.advance(hours=1)
    assert take(rt, merchant, order_body("1", status="cancelled", parcels=())).outcome == "updated"
    with rt.sessions() as session:
        assert [s.next_check_at for s in session.exec(select(Shipment))] == [None, None]
    # a parcel reported on a cancelled order is stored, neither polled nor announced
    before = len(messages(rt))
    take(rt, merchant, order_body("1", status="cancelled", parcels=(("simulator", None, "SIM-3"),)))
    assert len(messages(rt)) == before
    clock.advance(hours=1)
    take(rt, merchant, order_body("1", status="paid", parcels=()))
    with rt.sessions() as session:
        due = {s.tracking_number: s.next_check_at for s in session.exec(select(Shipment))}
    assert due == {"SIM-1": clock.now(), "SIM-2": None, "SIM-3": clock.now()}  # delivered stays
    assert len([m for m in messages(rt) if m[0] == "order_confirmed"]) == 2  # still only once


def test_a_paid_and_cancelled_order_is_not_confirmed(rt, merchant):
    take(rt, merchant, order_body("1", status="cancelled", paid_at="2026-11-30T10:00:00+07:00"))
    assert messages(rt) == []


def test_naive_paid_at_is_the_merchants_local_time_and_is_kept(rt, merchant):
    take(rt, merchant, order_body("1", paid_at="2026-11-30 19:30:00"))
    result = take(rt, merchant, order_body("1", status="fulfilled"))  # no paid_at this time
    assert result.order.paid_at == datetime(2026, 11, 30, 12, 30, tzinfo=UTC)
    assert result.order.status == "fulfilled"


def test_an_invalid_phone_leaves_nothing_behind(rt, merchant):
    with pytest.raises(InputError) as caught:
        take(rt, merchant, order_body("1", phone="0812"))
    assert caught.value.field == "customer.phone"
    assert count(rt, Order) == count(rt, Recipient) == count(rt, Shipment) == 0


def test_details_left_out_of_an_update_are_kept(rt, merchant):
    take(rt, merchant, order_body("1", return_status="requested"))
    thin = {"external_id": "1", "status": "fulfilled"}
    result = take(rt, merchant, thin)
    assert result.outcome == "updated"
    order = result.order
    assert (order.total_minor, order.currency, order.order_number, order.return_status) == (
        150000,
        "IDR",
        "INV/2026/1",
        "requested",
    )
    assert count(rt, Shipment) == 1
    # a parcel-only update (as an order store's fulfillment webhook sends) keeps the status
    parcel = {"carrier": "simulator", "tracking_number": "SIM-2"}
    result = take(rt, merchant, {"external_id": "1", "shipments": [parcel]})
    assert (result.outcome, result.order.status, len(result.shipments)) == (
        "updated",
        "fulfilled",
        1,
    )


def test_a_store_retrying_while_the_first_request_is_in_flight_makes_no_duplicate(rt, merchant):
    """Two transactions take in the same new order at once (PostgreSQL replicas, or a webhook
    retried by the store): one order, one parcel, one message per trigger and channel."""
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serializes writers: there is no such race on one process")
    prefs = merchant_prefs(rt.settings.notify, merchant)
    order_in = OrderIn.model_validate(order_body("R-1"))
    first_done, release = threading.Event(), threading.Event()
    outcomes: dict[str, str] = {}

    def first() -> None:
        with rt.sessions() as session, session.begin():
            outcomes["first"] = ingest(session, merchant, prefs, order_in, rt.clock.now()).outcome
            first_done.set()
            release.wait(10)

    def second() -> None:
        with rt.sessions() as session, session.begin():
            outcomes["second"] = ingest(session, merchant, prefs, order_in, rt.clock.now()).outcome

    a = threading.Thread(target=first)
    a.start()
    assert first_done.wait(10)
    b = threading.Thread(target=second)
    b.start()
    b.join(0.5)
    assert b.is_alive()  # waiting on the first transaction's order row
    release.set()
    a.join(10)
    b.join(10)
    assert outcomes["first"] == "created" and outcomes["second"] in ("updated", "unchanged")
    assert count(rt, Order) == 1 and count(rt, Shipment) == 1
    assert messages(rt) == [
        ("order_confirmed", "email", "pending"),
        ("order_confirmed", "whatsapp", "pending"),
        ("shipped", "email", "pending"),
        ("shipped", "whatsapp", "pending"),
    ]


def test_return_and_refund_steps_are_each_told_once(rt, merchant):
    take(rt, merchant, order_body())
    take(rt, merchant, order_body(return_status="requested"))
    take(rt, merchant, order_body(return_status="requested"))  # the store says it again
    take(rt, merchant, order_body(return_status="received", refund_status="completed"))
    with rt.sessions() as session:
        rows = session.exec(
            select(Notification).where(Notification.trigger.in_(["return_update", "refund_update"]))
        ).all()
    got = sorted((n.trigger, n.episode, n.channel) for n in rows)
    assert got == [
        ("refund_update", "completed", "email"),
        ("refund_update", "completed", "whatsapp"),
        ("return_update", "received", "email"),
        ("return_update", "received", "whatsapp"),
        ("return_update", "requested", "email"),
        ("return_update", "requested", "whatsapp"),
    ]


def test_a_parcel_without_a_carrier_is_detected_from_its_number(rt, merchant):
    body = order_body()
    body["shipments"] = [{"tracking_number": "JP6961181926"}]  # J&T's JP + 10 digits
    result = take(rt, merchant, body)
    [parcel] = result.shipments
    assert (parcel.carrier, parcel.courier) == ("binderbyte", "jnt")
    body["shipments"] = [{"tracking_number": "1Z999AA10123456784"}]  # UPS, valid check digit
    [ups] = take(rt, merchant, body).shipments
    assert ups.carrier == "ups"


def test_an_unrecognisable_number_without_a_carrier_names_the_field(rt, merchant):
    body = order_body()
    body["shipments"] = [{"tracking_number": "HELLO-123"}]
    with pytest.raises(InputError) as info:
        take(rt, merchant, body)
    assert info.value.field == "shipments.0.carrier"
