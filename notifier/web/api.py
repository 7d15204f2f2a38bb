"""The merchant REST API (``/api/v1``): push orders and parcels, read an order back.

Every route is scoped to the merchant behind the bearer token; another merchant's order answers
404, exactly like a missing one, so order ids do not leak. Routes parse, call intake, return.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Response, status
from sqlmodel import Session

from notifier.errors import InputError
from notifier.orders import intake
from notifier.orders.schema import OrderIn, ShipmentIn
from notifier.orders.views import OrderOut, order_view
from notifier.pipeline.outbox import merchant_prefs
from notifier.store.models import Merchant, Order
from notifier.web.deps import MerchantDep, RuntimeDep, SessionDep

router = APIRouter(prefix="/api/v1", tags=["orders"])

SOURCE = "api"
# 422 is FastAPI's own: `detail` lists each field (`loc`) with the reason (`msg`).
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No bearer token, or not a merchant's token"},
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such order"}}


@router.post(
    "/orders",
    response_model=OrderOut,
    responses={201: {"description": "Created", "model": OrderOut}, **_ERRORS},
)
def upsert_order(
    body: OrderIn, rt: RuntimeDep, session: SessionDep, merchant: MerchantDep, response: Response
) -> OrderOut:
    """Create or update an order (idempotent on `external_id`): 201 when created, else 200.

    A paid order gets its order confirmation once; each new tracking number gets a shipped
    message and is checked with its carrier at once."""
    prefs = merchant_prefs(rt.settings.notify, merchant)
    try:
        result = intake.ingest(session, merchant, prefs, body, rt.clock.now(), source=SOURCE)
        session.commit()
    except InputError as err:
        session.rollback()
        raise _unprocessable(err) from err
    intake.count(SOURCE, result.outcome)
    response.status_code = status.HTTP_201_CREATED if result.outcome == "created" else 200
    return order_view(session, result.order, rt.settings.server.public_url, result)


@router.post(
    "/orders/{external_id:path}/shipments",
    response_model=OrderOut,
    responses={201: {"description": "Parcel added", "model": OrderOut}, **_ERRORS, **_NOT_FOUND},
)
def add_shipment(
    external_id: str,
    body: ShipmentIn,
    rt: RuntimeDep,
    session: SessionDep,
    merchant: MerchantDep,
    response: Response,
) -> OrderOut:
    """Add a parcel to an order: 201 when the tracking number is new, 200 when already known."""
    order = _order_or_404(session, merchant, external_id)
    prefs = merchant_prefs(rt.settings.notify, merchant)
    try:
        result = intake.add_shipment(session, merchant, prefs, order, body, rt.clock.now())
        session.commit()
    except InputError as err:
        session.rollback()
        raise _unprocessable(err) from err
    response.status_code = status.HTTP_201_CREATED if result.shipments else 200
    return order_view(session, result.order, rt.settings.server.public_url, result)


@router.get(
    "/orders/{external_id:path}",
    response_model=OrderOut,
    responses={**_ERRORS, **_NOT_FOUND},
)
def get_order(
    external_id: str, rt: RuntimeDep, session: SessionDep, merchant: MerchantDep
) -> OrderOut:
    """The order with its parcels (status, ETA, events) and its messages (state, reason)."""
    order = _order_or_404(session, merchant, external_id)
    return order_view(session, order, rt.settings.server.public_url)


def _order_or_404(session: Session, merchant: Merchant, external_id: str) -> Order:
    assert merchant.id is not None
    order = intake.find_order(session, merchant.id, external_id)
    if order is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no order {external_id!r}")
    return order


def _unprocessable(err: InputError) -> HTTPException:
    """An intake error in FastAPI's 422 shape, located on the body field it names."""
    path = [int(p) if p.isdigit() else p for p in (err.field or "").split(".") if p]
    detail = [{"type": "value_error", "loc": ["body", *path], "msg": str(err)}]
    return HTTPException(422, detail=detail)
