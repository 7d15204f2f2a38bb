"""Public tracking pages per carrier and courier, URL-encoded."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from carriers.links import PAGES, public_url

TABLE = [
    ("ups", None, "1Z999AA10123456784", "https://www.ups.com/track?loc=en_US&tracknum=1Z999AA10123456784"),
    ("fedex", None, "738488882438", "https://www.fedex.com/fedextrack/?trknbr=738488882438"),
    ("usps", None, "9400109104250532908587",
     "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400109104250532908587"),
    ("canadapost", None, "7023210039414604",
     "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor=7023210039414604"),
    ("dhl", None, "7777777770",
     "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id=7777777770"),
    ("binderbyte", "jne", "CGK123", "https://www.jne.co.id/tracking-package?awb=CGK123"),
    ("binderbyte", "jnt", "JP6961181926", "https://www.jet.co.id/track?awb=JP6961181926"),
    ("biteship", "sicepat", "000779194122", "https://www.sicepat.com/checkAwb/000779194122"),
    ("rajaongkir", "anteraja", "10001234567890", "https://anteraja.id/tracking/10001234567890"),
    ("binderbyte", "spx", "SPXID0123456789", "https://spx.co.id/track?SPXID0123456789"),
    ("biteship", "lion", "11-22-12345678", "https://lionparcel.com/track/stt?q=11-22-12345678"),
    ("biteship", "ninja", "NLIDAP1234", "https://www.ninjaxpress.co/id-id/tracking?id=NLIDAP1234"),
    ("binderbyte", "pos", "RR123456785ID", "https://www.posindonesia.co.id/id/tracking/RR123456785ID"),
    ("binderbyte", "tiki", "030205696069", "https://www.tiki.id/id/track?awb=030205696069"),
    ("binderbyte", "ide", "IDS123456789012", "https://idexpress.com/cek-resi/IDS123456789012"),
    ("binderbyte", "wahana", "AGA12345", "https://www.wahana.com/tracking/AGA12345"),
    # aggregators: the courier's page when known, else their own public tracker
    ("aftership", "jne", "CGK123", "https://www.jne.co.id/tracking-package?awb=CGK123"),
    ("aftership", None, "CGK123", "https://track.aftership.com/CGK123"),
    ("17track", None, "RR123456785ID", "https://t.17track.net/en#nums=RR123456785ID"),
    ("trackingmore", None, "RR1", "https://www.trackingmore.com/track/en/RR1"),
    ("easypost", "UPS", "1Z999AA10123456784",
     "https://www.ups.com/track?loc=en_US&tracknum=1Z999AA10123456784"),
    ("easypost", "DHLExpress", "7777777770",
     "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id=7777777770"),
    ("shippo", "canada_post", "7023210039414604",
     "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor=7023210039414604"),
    ("biteship", "J&T Express", "JX1", "https://www.jet.co.id/track?awb=JX1"),  # a name, not a code
    ("binderbyte", "sicepat_ekspres", "001", "https://www.sicepat.com/checkAwb/001"),
]  # fmt: skip


@pytest.mark.parametrize(("carrier", "courier", "number", "url"), TABLE)
def test_public_page(carrier: str, courier: str | None, number: str, url: str) -> None:
    assert public_url(carrier, courier, number) == url


@pytest.mark.parametrize(
    ("carrier", "courier"),
    [
        ("easypost", None),  # no public page by number
        ("shippo", None),
        ("binderbyte", None),  # an aggregator of couriers, with no page of its own
        ("biteship", "grab"),  # instant courier: no public tracking page
        ("simulator", None),
        ("nosuchcarrier", "nosuchcourier"),
    ],
)
def test_no_page(carrier: str, courier: str | None) -> None:
    assert public_url(carrier, courier, "ABC123") is None


def test_empty_number_has_no_page() -> None:
    assert public_url("ups", None, "  ") is None


@pytest.mark.parametrize("carrier", ["ups", "usps", "jne", "17track", "sicepat"])
def test_numbers_are_url_encoded(carrier: str) -> None:
    url = public_url(carrier, None, "A B/C?&#é")
    assert url is not None
    assert "A%20B%2FC%3F%26%23%C3%A9" in url
    assert " " not in url and "é" not in url


def test_every_page_is_https_with_the_number_placeholder() -> None:
    for key, template in PAGES.items():
        assert urlsplit(template).scheme == "https", key
        assert template.count("{n}") == 1, key
