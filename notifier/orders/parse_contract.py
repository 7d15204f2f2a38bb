"""What every order-source module's ``parse`` returns, and the ``notifier sources parse`` JSON.

Each source module (``notifier.orders.<id>``, its class registered under
``notifier.order_sources``) exposes one pure module-level function::

    def parse(body: Any) -> list[StoreOrder]: ...

``body`` is one decoded JSON body the store's API answered or pushed. ``parse`` returns one
:class:`StoreOrder` per order the body tells something about, ``[]`` when it tells nothing about
any order (an empty page, a notes list, a carrier list), and raises :class:`BodyError` with one
line for an error body (``{"errors": ...}``, ``{"code": ..., "message": ...}``) or a body that is
not one of its store's. It never raises anything else and does no I/O.

A StoreOrder names the carrier as the store wrote it (``carrier_name``); two functions finish it
for the merchant: :func:`contract` (the printed shape, carriers resolved by
:mod:`notifier.orders.carrier_names`) and :func:`order_in` (the :class:`OrderIn` intake stores,
dropping bad parcels, emails or phones with a warning instead of losing the order).

The printed contract, one entry per order::

    {"external_id", "status", "paid_at", "customer": {"name", "email", "phone"},
     "shipments": [{"carrier", "courier", "tracking_number", "tracking_url"}],
     "refunds": [{"id", "status", "store_status", "amount", "currency", "reason", "created_at"}],
     "returns": [{"id", "status", "store_status", "tracking_number"}]}

Times are ISO 8601 with the offset the store gave (a store time known to be UTC gets
``+00:00``); return statuses are :data:`RETURN_STATUSES`, refund statuses :data:`REFUND_STATUSES`
(None when the store's status has no equivalent, with the store's own word kept).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from types import ModuleType
from typing import Any, Literal, NotRequired, Required, TypedDict

from pydantic import ValidationError

from notifier.errors import InputError, NotifierError
from notifier.orders.carrier_names import Choice, choose
from notifier.orders.contact import normalize_phone
from notifier.orders.schema import CustomerIn, OrderIn, OrderStatus, ShipmentIn

ReturnStatus = Literal["requested", "approved", "rejected", "in_transit", "received", "completed"]
RefundStatus = Literal["pending", "processed", "completed", "failed"]
RETURN_STATUSES: tuple[ReturnStatus, ...] = (
    "requested",
    "approved",
    "rejected",
    "in_transit",
    "received",
    "completed",
)
REFUND_STATUSES: tuple[RefundStatus, ...] = ("pending", "processed", "completed", "failed")


class BodyError(NotifierError):
    """The body is an error answer, or not a body of this store; the message is one line."""


class StoreParcel(TypedDict):
    carrier_name: str | None  # as the store wrote it: "JNE", "USPS", "jne", None
    tracking_number: str
    tracking_url: str | None  # the store's own link, kept
    carrier: NotRequired[str]  # already our carrier id (the service's own order JSON)
    courier: NotRequired[str | None]
    package: NotRequired[str | None]  # the marketplace's own parcel id (Shopee package_number)


class StoreRefund(TypedDict):
    id: str
    status: RefundStatus | None
    store_status: str | None
    amount: str | None  # positive decimal string, in ``currency``
    currency: str | None
    reason: str | None
    created_at: str | None


class StoreReturn(TypedDict):
    id: str
    status: ReturnStatus | None
    store_status: str | None
    tracking_number: NotRequired[str | None]  # the return parcel, when the store says


class StoreCustomer(TypedDict, total=False):
    name: str | None
    email: str | None
    phone: str | None
    locale: str | None


class StoreOrder(TypedDict, total=False):
    """One order as a body tells it; a key left out (or None) is "not said", never "erase"."""

    external_id: Required[str]
    order_number: str | None
    status: OrderStatus | None
    paid_at: str | None
    currency: str | None
    total: str | None
    customer: StoreCustomer
    shipments: list[StoreParcel]
    refunds: list[StoreRefund]
    returns: list[StoreReturn]
    updated_at: str | None  # the store's last change, ISO 8601 (cursors use it)


Parser = Callable[[Any], list[StoreOrder]]


def parser_for(source_id: str) -> Parser:
    """The ``parse`` of the registered source ``source_id``'s module; a source whose module has
    none reads the service's own order JSON (:func:`native`: the inbox's JSON Lines records).

    KeyError for an unknown source, ImportError if it fails to load."""
    import sys

    from notifier.plugins import load_source

    cls = load_source(source_id)
    module: ModuleType | None = sys.modules.get(cls.__module__)
    parse = getattr(module, "parse", None)
    return parse if callable(parse) else native


def decode(raw: bytes | str) -> Any:
    """JSON text (or JSON Lines: a list) -> value; BodyError (one line) when it is neither."""
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        lines = raw.splitlines() if isinstance(raw, str | bytes) else []
        try:
            if len([line for line in lines if line.strip()]) > 1:
                return [json.loads(line) for line in lines if line.strip()]
        except (ValueError, UnicodeDecodeError):
            pass
        raise BodyError(f"not JSON: {str(err).splitlines()[0]}") from err


def native(body: Any) -> list[StoreOrder]:
    """The service's own order JSON (``POST /api/orders``, JSON Lines records): one order, a
    list, or ``{"orders": [...]}``; carriers are already ours."""
    items = body.get("orders", body) if isinstance(body, dict) else body
    items = [items] if isinstance(items, dict) else items
    if not isinstance(items, list):
        raise BodyError(f"not an order body: a JSON {type(body).__name__}")
    return [_native(o) for o in items if isinstance(o, dict) and text(o.get("external_id"))]


def _native(o: dict[str, Any]) -> StoreOrder:
    raw = o.get("customer")
    customer: dict[str, Any] = raw if isinstance(raw, dict) else {}
    oid = str(text(o.get("external_id")))
    parcels: list[StoreParcel] = [
        {
            "carrier_name": None,
            "carrier": str(s.get("carrier")),
            "courier": text(s.get("courier")),
            "tracking_number": str(s.get("tracking_number")),
            "tracking_url": text(s.get("tracking_url")),
        }
        for s in o.get("shipments") or []
        if isinstance(s, dict) and text(s.get("tracking_number"))
    ]
    ret, ref = text(o.get("return_status")), text(o.get("refund_status"))
    return {
        "external_id": oid,
        "order_number": text(o.get("order_number")),
        "status": o.get("status"),
        "paid_at": text(o.get("paid_at")),
        "currency": text(o.get("currency")),
        "total": text(o.get("total")),
        "customer": {
            "name": text(customer.get("name")),
            "email": text(customer.get("email")),
            "phone": text(customer.get("phone")),
            "locale": text(customer.get("locale")),
        },
        "shipments": parcels,
        "refunds": [_status_only(oid, ref, REFUND_STATUSES)] if ref else [],  # type: ignore[list-item]
        "returns": [_status_only(oid, ret, RETURN_STATUSES)] if ret else [],  # type: ignore[list-item]
    }


def _status_only(oid: str, status: str, known: tuple[str, ...]) -> dict[str, Any]:
    value = status.lower()
    return {"id": oid, "status": value if value in known else None, "store_status": status,
            "amount": None, "currency": None, "reason": None, "created_at": None}  # fmt: skip


# --------------------------------------------------------------------------- helpers for parsers


def text(value: Any) -> str | None:
    """A trimmed string, or None for None, blanks and containers (ids may come as numbers)."""
    if value is None or isinstance(value, dict | list | bool):
        return None
    out = str(value).strip()
    return out or None


def iso_time(value: Any, *, utc: bool = False) -> str | None:
    """An ISO 8601 time as the store wrote it (offset kept, ``Z`` as ``+00:00``); a time without
    offset stays naive unless ``utc`` says the store meant UTC. None when not a time."""
    raw = text(value)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None and utc:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


def epoch_time(value: Any, *, millis: bool = False) -> str | None:
    """Unix seconds (or ``millis``) -> ISO 8601 UTC; None for 0, blanks and garbage."""
    raw = text(value)
    try:
        number = float(raw) if raw else 0.0
    except ValueError:
        return None
    if number <= 0:
        return None
    return datetime.fromtimestamp(number / 1000 if millis else number, UTC).isoformat()


def amount(value: Any) -> str | None:
    """A money amount as a positive decimal string ("-10.00" -> "10.00"); None if not one."""
    raw = text(value)
    try:
        number = Decimal(raw) if raw else None
    except InvalidOperation:
        return None
    return str(abs(number)) if number is not None and number.is_finite() else None


def latest_return(returns: Sequence[StoreReturn]) -> ReturnStatus | None:
    """The order's return status: the last return (stores list them oldest first) that has one."""
    return next((r["status"] for r in reversed(returns) if r.get("status")), None)


def latest_refund(refunds: Sequence[StoreRefund]) -> RefundStatus | None:
    """The order's refund status: the last refund that has one."""
    return next((r["status"] for r in reversed(refunds) if r.get("status")), None)


# --------------------------------------------------------------------------- the two outputs


def contract(order: StoreOrder, *, aggregator: Any = None) -> dict[str, Any]:
    """The ``sources parse`` entry for ``order``; carriers resolved for ``aggregator``."""
    customer = order.get("customer") or {}
    return {
        "external_id": order["external_id"],
        "status": order.get("status"),
        "paid_at": order.get("paid_at"),
        "customer": {k: customer.get(k) for k in ("name", "email", "phone")},
        "shipments": [_shipment(p, aggregator) for p in order.get("shipments") or []],
        "refunds": [dict(r) for r in order.get("refunds") or []],
        "returns": [dict(r) for r in order.get("returns") or []],
    }


def _choose(
    parcel: StoreParcel, number: str, aggregator: Any, market: Marketplace | None = None
) -> Choice:
    if parcel.get("carrier"):  # already ours
        return Choice(parcel["carrier"].lower(), parcel.get("courier"), "named")
    found = choose(parcel.get("carrier_name"), number, aggregator=aggregator)
    return market.choose(found) if market else found


TRACK_MODES = ("fallback", "always", "never")


@dataclass(frozen=True, slots=True)
class Marketplace:
    """A marketplace source that can track its parcels itself, and when the merchant wants it
    to (the source entry's ``track_via_marketplace``): ``fallback`` (the default) for parcels
    no carrier of ours can track (SPX, J&T via TikTok, LEX...), ``always``, or ``never``."""

    source: str
    mode: str = "fallback"

    @classmethod
    def of(cls, source: str, setting: Any) -> Marketplace:
        """From the entry's setting; ``true``/``false`` mean always/never, junk the default."""
        if isinstance(setting, bool):
            return cls(source, "always" if setting else "never")
        return cls(source, setting if setting in TRACK_MODES else "fallback")

    def choose(self, found: Choice) -> Choice:
        """``found``, or the marketplace itself when the mode says so. No courier: the parcel's
        key is then (source, resi) whatever name a poll or a push gave, so the two never make
        two shipments of one parcel."""
        if self.mode == "never" or (self.mode == "fallback" and found.carrier is not None):
            return found
        return Choice(self.source, None, f"tracked through {self.source}")


def _shipment(parcel: StoreParcel, aggregator: Any) -> dict[str, Any]:
    number = normalize_number(parcel["tracking_number"])
    found = _choose(parcel, number, aggregator)
    return {
        "carrier": found.carrier,
        "courier": found.courier,
        "tracking_number": number,
        "tracking_url": parcel.get("tracking_url"),
    }


def normalize_number(number: str) -> str:
    """A tracking number as stored: no whitespace, upper case."""
    return "".join(number.split()).upper()


def order_in(
    order: StoreOrder,
    *,
    aggregator: Any = None,
    country: str | None = None,
    market: Marketplace | None = None,
) -> tuple[OrderIn, list[str]]:
    """The OrderIn for intake and the warnings about what was left out of it.

    A parcel no carrier can track, a bad email or a phone that is not a number in ``country``
    (the merchant's) is dropped with a warning: the order and its other channels still go in.
    Raises InputError only when the order itself cannot be taken (no usable id)."""
    warnings: list[str] = []
    where = f"order {order.get('external_id')}"
    values: dict[str, Any] = {
        "external_id": order.get("external_id"),
        "order_number": order.get("order_number"),
        "status": order.get("status"),
        "paid_at": order.get("paid_at"),
        "customer": _customer(order.get("customer") or {}, country, where, warnings),
        "shipments": _parcels(order.get("shipments") or [], aggregator, where, warnings, market),
        "return_status": latest_return(order.get("returns") or []),
        "refund_status": latest_refund(order.get("refunds") or []),
    }
    if order.get("currency"):
        values |= {"currency": order.get("currency"), "total": order.get("total")}
    try:
        return OrderIn.model_validate(values), warnings
    except ValidationError as first:
        # Money is the only part that can still be wrong: keep the order without it.
        if values.pop("currency", None) is not None:
            values.pop("total", None)
            warnings.append(f"{where}: total left out ({_reason(first)})")
            try:
                return OrderIn.model_validate(values), warnings
            except ValidationError as err:
                raise InputError(f"{where}: {_reason(err)}", field=_field(err)) from err
        raise InputError(f"{where}: {_reason(first)}", field=_field(first)) from first


def page_orders(
    stores: Sequence[StoreOrder],
    *,
    aggregator: Any = None,
    country: str | None = None,
    market: Marketplace | None = None,
) -> tuple[list[OrderIn], list[str], list[str]]:
    """(orders for intake, one error line per order refused, warnings) for a page of a poll."""
    orders: list[OrderIn] = []
    errors: list[str] = []
    warnings: list[str] = []
    for store in stores:
        try:
            order, notes = order_in(store, aggregator=aggregator, country=country, market=market)
        except InputError as err:
            errors.append(str(err))
            continue
        orders.append(order)
        warnings += notes
    return orders, errors, warnings


def _customer(
    customer: Mapping[str, Any], country: str | None, where: str, warnings: list[str]
) -> CustomerIn:
    values = {k: customer.get(k) for k in ("name", "email", "phone", "locale")}
    if values["phone"] and country:
        try:
            normalize_phone(str(values["phone"]), country)
        except InputError as err:
            warnings.append(f"{where}: phone left out: {err}")
            values["phone"] = None
    for name in ("email", "locale", "phone", "name"):
        try:
            CustomerIn.model_validate({name: values[name]})
        except ValidationError as err:
            warnings.append(f"{where}: {name} left out: {_reason(err)}")
            values[name] = None
    return CustomerIn.model_validate(values)


def _parcels(
    parcels: Sequence[StoreParcel],
    aggregator: Any,
    where: str,
    warnings: list[str],
    market: Marketplace | None = None,
) -> list[ShipmentIn]:
    out: list[ShipmentIn] = []
    for parcel in parcels:
        number = normalize_number(parcel["tracking_number"])
        found = _choose(parcel, number, aggregator, market)
        via = market is not None and found.carrier == market.source
        name = parcel.get("carrier_name") or "no carrier named"
        if found.carrier is None:
            warnings.append(f"{where}: parcel {number} ({name}) left out: {found.how}")
            continue
        try:
            out.append(
                ShipmentIn(
                    carrier=found.carrier,
                    courier=found.courier,
                    tracking_number=number,
                    tracking_url=parcel.get("tracking_url"),
                    package=parcel.get("package") if via else None,
                )
            )
        except ValidationError as err:
            warnings.append(f"{where}: parcel {number} ({name}) left out: {_reason(err)}")
    return out


def _reason(err: ValidationError) -> str:
    first = err.errors()[0]
    place = ".".join(str(p) for p in first.get("loc", ()))
    return f"{place}: {first['msg']}" if place else str(first["msg"])


def _field(err: ValidationError) -> str:
    return ".".join(str(p) for p in err.errors()[0].get("loc", ())) or "order"
