"""The simulator speaks every carrier's own wire format, one URL prefix per carrier id.

Point a real adapter at ``<simulator>/<carrier id>`` (``carriers.ups.api_base =
"http://127.0.0.1:8790/ups"``) and it runs unchanged: its own paths, methods, auth and
``parse()``. :func:`settings` gives the whole account section (``api_base`` and the
credentials the simulator accepts)::

    prefix          paths served (after the prefix)                         auth
    /ups            POST /security/v1/oauth/token, GET /api/track/v1/details/{n}  OAuth (Basic)
    /fedex          POST /oauth/token, POST /track/v1/trackingnumbers (<= 30)     OAuth (form)
    /usps           POST /oauth2/v3/token, GET /tracking/v3/tracking/{n}          OAuth (form)
    /canadapost     GET /vis/track/pin/{pin}/detail (XML)                         HTTP Basic
    /dhl            GET /track/shipments?trackingNumber=                          DHL-API-Key
    /aftership      GET/POST [/tracking/2025-04]/trackings                        as-api-key
    /17track        POST [/track/v2.2]/register, /gettrackinfo (<= 40)            17token
    /trackingmore   GET [/v4]/trackings/get, POST /trackings/batch (<= 40)        Tracking-Api-Key
    /easypost       GET/POST [/v2]/trackers                                       Basic (key:)
    /shippo         GET /tracks/{carrier}/{n}                                     ShippoToken
    /binderbyte     GET /v1/track?api_key&courier&awb                             api_key query
    /biteship       GET /v1/trackings/{n}/couriers/{courier}, /v1/trackings/{id}  Authorization
    /rajaongkir     POST /api/v1/track/waybill (Komerce), /api/waybill (Pro)      key header

Every format serves the same parcels (one registry, one clock): a journey's native codes are
mapped onto the carrier's documented codes by each module's table, times and ETAs are written
in the carrier's own shape. Aggregators that track only registered numbers (AfterShip,
17TRACK, TrackingMore, EasyPost) answer for a number only after it was created there, as the
real APIs do. OAuth tokens expire on the simulator's clock; a wrong credential gets the
carrier's documented auth error. The fault plan and request quota apply to every format.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from carriers.simulator.formats.aftership import AfterShip
from carriers.simulator.formats.base import Format, Request, World, default_account
from carriers.simulator.formats.binderbyte import Binderbyte
from carriers.simulator.formats.biteship import Biteship
from carriers.simulator.formats.canadapost import CanadaPost
from carriers.simulator.formats.dhl import Dhl
from carriers.simulator.formats.easypost import EasyPost
from carriers.simulator.formats.fedex import Fedex
from carriers.simulator.formats.rajaongkir import RajaOngkir
from carriers.simulator.formats.shippo import Shippo
from carriers.simulator.formats.track17 import Track17
from carriers.simulator.formats.trackingmore import TrackingMore
from carriers.simulator.formats.ups import Ups
from carriers.simulator.formats.usps import Usps

FORMATS: dict[str, type[Format]] = {
    cls.id: cls
    for cls in (Ups, Fedex, Usps, CanadaPost, Dhl, AfterShip, Track17, TrackingMore, EasyPost,
                Shippo, Binderbyte, Biteship, RajaOngkir)
}  # fmt: skip


def account(carrier: str) -> dict[str, str]:
    """The credentials a simulator accepts for ``carrier`` by default (KeyError if unknown)."""
    return default_account(FORMATS[carrier])


def settings(url: str, carrier: str) -> dict[str, Any]:
    """The ``carriers.<carrier>`` section that points the real adapter at a simulator."""
    return {"api_base": f"{url.rstrip('/')}/{carrier}", **account(carrier)}


class Wire:
    """Every format over one :class:`World`; routes a request path to its format."""

    def __init__(
        self,
        world: World,
        accounts: Mapping[str, Mapping[str, str]] | None = None,
        tally: Callable[[str, str, int], None] | None = None,
    ) -> None:
        unknown = set(accounts or {}) - set(FORMATS)
        if unknown:
            raise ValueError(f"no wire format for {', '.join(sorted(unknown))}")
        self.formats = {
            cid: cls(world, (accounts or {}).get(cid), tally) for cid, cls in FORMATS.items()
        }

    def route(self, scope: Mapping[str, Any], body: bytes) -> tuple[Format, Request] | None:
        """The format and request for an HTTP scope, or None when no prefix matches."""
        prefix, _, rest = scope["path"][1:].partition("/")
        fmt = self.formats.get(prefix)
        if fmt is None:
            return None
        return fmt, Request.of(scope, fmt.strip("/" + rest), body)

    @staticmethod
    def fault_target(fmt: Format, request: Request, paths: Collection[str]) -> str | None:
        """The name a fault plan's ``paths`` knows this request by, if any: its exact path,
        ``/<carrier>`` (every request of that format), ``/<carrier>/track`` or ``/v1/track``
        (tracking requests of that format, of every format)."""
        names = [request.raw_path, f"/{fmt.id}"]
        if fmt.is_tracking(request):
            names += [f"/{fmt.id}/track", "/v1/track"]
        return next((n for n in names if n in paths), None)


__all__ = ["FORMATS", "Format", "Wire", "account", "settings"]
