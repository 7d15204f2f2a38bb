"""Public tracking pages: where a shopper can follow a parcel on the carrier's own site. Pure.

:func:`public_url` gives the page of the courier that actually carries the parcel when it is
known (an aggregator's ``courier``), else the carrier's own page, else the aggregator's public
tracker; None when there is none (EasyPost and Shippo have no public page by number).

Every number is URL-encoded. The US/Canadian/DHL pages take the number in the URL as their own
"track" links do; the Indonesian couriers' pages are single-page apps and not all of them read
the number from the URL (the link still lands the shopper on the right tracking form).
"""

from __future__ import annotations

from urllib.parse import quote

from carriers import indonesia as idn

# Page per carrier or courier; "{n}" is the URL-encoded tracking number.
PAGES: dict[str, str] = {
    # direct carriers
    "ups": "https://www.ups.com/track?loc=en_US&tracknum={n}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={n}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={n}",
    "canadapost": "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor={n}",
    "dhl": "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id={n}",
    # Indonesian couriers (our courier codes, carriers.indonesia.COURIERS)
    "jne": "https://www.jne.co.id/tracking-package?awb={n}",
    "jnt": "https://www.jet.co.id/track?awb={n}",
    "sicepat": "https://www.sicepat.com/checkAwb/{n}",
    "anteraja": "https://anteraja.id/tracking/{n}",
    "spx": "https://spx.co.id/track?{n}",
    "lion": "https://lionparcel.com/track/stt?q={n}",
    "ninja": "https://www.ninjaxpress.co/id-id/tracking?id={n}",
    "pos": "https://www.posindonesia.co.id/id/tracking/{n}",
    "tiki": "https://www.tiki.id/id/track?awb={n}",
    "ide": "https://idexpress.com/cek-resi/{n}",
    "wahana": "https://www.wahana.com/tracking/{n}",
    # aggregators' own public trackers, when the courier is not known
    "aftership": "https://track.aftership.com/{n}",
    "17track": "https://t.17track.net/en#nums={n}",
    "trackingmore": "https://www.trackingmore.com/track/en/{n}",
}
# Courier names the multi-carrier APIs use, mapped to the keys above.
ALIASES: dict[str, str] = {
    "dhlexpress": "dhl",
    "dhl_express": "dhl",
    "dhl-express": "dhl",
    "canada_post": "canadapost",
    "canada-post": "canadapost",
    "fedex_ground": "fedex",
    "fedexsmartpost": "fedex",
    "fedex-smartpost": "fedex",
    "jtexpress": "jnt",
    "jtexpress-id": "jnt",
    "pos-indonesia": "pos",
    "pos_indonesia": "pos",
    "ninjavan": "ninja",
    "ninjavan-id": "ninja",
    "sicepat_ekspres": "sicepat",
}


def _page_key(name: str | None) -> str | None:
    if not name:
        return None
    key = name.strip().lower()
    if key in PAGES:
        return key
    if key in ALIASES:
        return ALIASES[key]
    ours = idn.courier_code(key)  # an Indonesian courier named any way an aggregator names it
    return ours if ours in PAGES else None


def public_url(carrier: str, courier: str | None, number: str) -> str | None:
    """The public tracking page for ``number``, or None when neither the courier nor the
    carrier has one."""
    number = number.strip()
    if not number:
        return None
    key = _page_key(courier) or _page_key(carrier)
    if key is None:
        return None
    return PAGES[key].format(n=quote(number, safe=""))
