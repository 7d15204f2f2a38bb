"""Canada Post tracking (VIS, XML): ``GET /vis/track/pin/{pin}/detail`` with HTTP Basic.

Native codes become Canada Post scan ``event-identifier`` values with their English
descriptions (label data 3000 "Electronic information submitted by shipper", out for delivery
0174, a missed delivery 1415, pickup at a post office 1407, returns 3001). Times are
``event-date`` + ``event-time`` in Eastern time with ``event-time-zone`` EST/EDT (Canada
Post's own zone names; the instant is the scan's); occurrences are newest first. The ETA is
``expected-delivery-date`` (the first date announced) and ``changed-expected-date`` once it
moves. Errors are ``<messages>``: 004 "No Pin History" (404), E002 for a refused key (401).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import ClassVar
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from carriers.simulator.asgi import Response
from carriers.simulator.formats.base import Event, Format, Parcel, Refusal, Request

XML = b"application/vnd.cpc.track-v2+xml"
TRACK_NS = "http://www.canadapost.ca/ws/track"
MESSAGES_NS = "http://www.canadapost.ca/ws/messages"
EASTERN = ZoneInfo("America/Toronto")
# native code -> (event-identifier, event-description)
CODES: dict[str, tuple[str, str]] = {
    "MANIFESTED": ("3000", "Electronic information submitted by shipper"),
    "PICKED_UP": ("0100", "Item picked up by Canada Post"),
    "ARRIVED_HUB": ("0100", "Item processed at postal facility"),
    "DEPARTED_HUB": ("0155", "Item in transit"),
    "DELAYED": ("0161", "Item delayed; adverse weather conditions. Possible delay"),
    "OUT_FOR_DELIVERY": ("0174", "Item out for delivery"),
    "DELIVERY_FAILED": ("1415", "Attempted delivery; recipient not at home. Notice card left"),
    "READY_FOR_PICKUP": ("1407", "Item available for pick-up at Post Office"),
    "COLLECTED": ("1409", "Item picked up at Post Office by recipient"),
    "DELIVERED": ("1496", "Item successfully delivered"),
    "DAMAGED": ("0152", "Item damaged during processing; claim in progress"),
    "CUSTOMS_HOLD": ("0127", "Item held at customs"),
    "RETURNING": ("3001", "Item being returned to sender"),
    "RETURNED": ("1442", "Item has been returned to sender and delivered"),
}
DETAIL = re.compile(r"/vis/track/pin/([^/]+)/detail")


class CanadaPost(Format):
    id = "canadapost"
    fields = ("username", "password")
    auth_refusal: ClassVar[tuple[int, str, str]] = (
        401,
        "E002",
        "AA004: You cannot mail on behalf of the requested customer.",
    )
    rate_refusal: ClassVar[tuple[str, str]] = ("Server", "Rejected by SLM Monitor")

    def handle(self, request: Request) -> Response:
        found = DETAIL.fullmatch(request.path)
        if found is None:
            raise Refusal(404, "9999", "Resource not found")
        if request.method != "GET":
            raise Refusal(405, "9999", "Method not allowed")
        user, password = request.basic() or ("", "")
        self.need("username", user)
        self.need("password", password)
        self.count("numbers_tracked")
        pin = found.group(1)
        parcel = self.world.parcel(pin)
        if parcel is None:
            raise Refusal(404, "004", "No Pin History")
        return 200, _detail(parcel).encode(), [(b"content-type", XML)]

    def error(self, status: int, code: str, message: str) -> Response:
        ns = TRACK_NS if code == "004" else MESSAGES_NS
        text = (
            f'<?xml version="1.0" encoding="UTF-8"?><messages xmlns="{ns}"><message>'
            f"<code>{escape(code)}</code><description>{escape(message)}</description>"
            "</message></messages>"
        )
        return status, text.encode(), [(b"content-type", XML)]


def _detail(parcel: Parcel) -> str:
    events = [e for e in parcel.events if e.code in CODES]
    first, eta = parcel.first_eta, parcel.eta  # a withdrawn ETA blanks both
    expected = first.isoformat() if first and eta else ""
    changed = eta.isoformat() if eta and eta != first else ""
    occurrences = "".join(_occurrence(e) for e in reversed(events))
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><tracking-detail xmlns="{TRACK_NS}">'
        f"<pin>{escape(parcel.number)}</pin><active-exists>1</active-exists><archive-exists/>"
        f"<changed-expected-date>{changed}</changed-expected-date>"
        f"<expected-delivery-date>{expected}</expected-delivery-date>"
        "<service-name>International Parcel Air</service-name>"
        f"<significant-events>{occurrences}</significant-events></tracking-detail>"
    )


def _occurrence(event: Event) -> str:
    code, text = CODES[event.code]
    local = datetime.fromtimestamp(event.at, EASTERN)
    return (
        f"<occurrence><event-identifier>{code}</event-identifier>"
        f"<event-date>{local:%Y-%m-%d}</event-date><event-time>{local:%H:%M:%S}</event-time>"
        f"<event-time-zone>{local.tzname()}</event-time-zone>"
        f"<event-description>{escape(text)}</event-description><signatory-name/>"
        f"<event-site>{escape(event.city.upper())}</event-site>"
        f"<event-province>{escape((event.region or '').upper())}</event-province>"
        "<event-retail-location-id/><event-retail-name/></occurrence>"
    )
