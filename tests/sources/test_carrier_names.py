"""Store carrier names -> our (carrier, courier): direct carriers, Indonesian couriers through the
merchant's aggregator, detection from the number for names we do not know."""

from __future__ import annotations

import pytest

from notifier.orders.carrier_names import Choice, choose, known_name, preference

ALL = frozenset(
    {"ups", "fedex", "usps", "dhl", "canadapost", "binderbyte", "biteship", "rajaongkir",
     "aftership", "17track", "trackingmore", "simulator"}
)  # fmt: skip


@pytest.mark.parametrize(
    ("name", "aggregator", "expected"),
    [
        ("JNE", "binderbyte", ("binderbyte", "jne")),
        ("JNE", "biteship", ("biteship", "jne")),
        ("JNE", ["rajaongkir", "biteship"], ("rajaongkir", "jne")),
        ("JNE REG", "biteship", ("biteship", "jne")),  # service words dropped
        ("jne", None, ("binderbyte", "jne")),  # no choice: the first aggregator listing it
        ("J&T Express", "biteship", ("biteship", "jnt")),
        ("j-t-express", "biteship", ("biteship", "jnt")),  # a plugin's slug
        ("SiCepat BEST", "biteship", ("biteship", "sicepat")),
        ("Pos Kilat Khusus", "biteship", ("biteship", "pos")),
        ("Jalur Nugraha Ekakurir (JNE)", "biteship", ("biteship", "jne")),
        ("SPX Express", "biteship", ("binderbyte", "spx")),  # Biteship lists no SPX
        ("AnterAja", "aftership", ("aftership", None)),  # a worldwide aggregator detects itself
        ("USPS", "biteship", ("usps", None)),
        ("UPS", None, ("ups", None)),
        ("FedEx Ground", None, ("fedex", None)),
        ("DHL Express", None, ("dhl", None)),
        ("Canada Post", None, ("canadapost", None)),
    ],
)
def test_named_carriers(name, aggregator, expected):
    found = choose(name, "JP1234567890", aggregator=aggregator, installed=ALL)
    assert (found.carrier, found.courier) == expected and found.how == "named"


def test_an_unknown_name_falls_back_to_detection_from_the_number():
    assert choose("Kurir Kita", "SIMNRM0001", installed=ALL) == Choice(
        "simulator", None, "detected from the number"
    )
    found = choose(None, "1Z999AA10123456784", installed=ALL)  # a valid UPS check digit
    assert (found.carrier, found.how) == ("ups", "detected from the number")


def test_nothing_fits_is_said_not_guessed():
    found = choose("TNT Express (consignment)", "12345678", installed=ALL)
    assert found.carrier is None and "carrier not recognised" in found.how
    # ... unless the merchant tracks through a worldwide aggregator, which detects couriers
    assert choose("TNT", "12345678", aggregator="17track", installed=ALL).carrier == "17track"


def test_a_known_courier_no_installed_aggregator_tracks():
    found = choose("JNE", "JP1234567890", installed=frozenset({"ups"}))
    assert (found.carrier, found.courier) == (None, "jne")
    assert "no installed carrier tracks jne" in found.how


def test_a_direct_carrier_that_is_not_installed_is_detected_instead():
    found = choose("UPS", "1Z999AA10123456784", installed=frozenset({"aftership"}))
    assert found.carrier == "aftership"


def test_known_names_and_preference():
    assert known_name("Shopee Express") == ("courier", "spx")
    assert known_name("United States Postal Service") == ("direct", "usps")
    assert known_name("First Class") is None  # "First" alone would be First Logistics
    assert known_name("") is None and known_name(None) is None
    assert preference("Biteship") == ("biteship", "binderbyte", "rajaongkir")
    assert preference(None) == ("binderbyte", "biteship", "rajaongkir")
