"""Carrier detection: every format with a valid and a broken check digit, ranking, and the
intake rule that the merchant's stated carrier always wins."""

from __future__ import annotations

import pytest

from carriers.detect import (
    CarrierNotDetected,
    dhl_express_check,
    fedex_express_check,
    mod10,
    resolve_carrier,
    s10_check,
    ups_check,
)
from carriers.detect import detect as detect_all

ROUTED_22 = "9400109104250532908587"  # a real USPS IMpb (tests/carriers/samples/usps)


def readings(number: str) -> set[tuple[str, str | None]]:
    return {(c.carrier, c.courier) for c in detect_all(number)}


def best(number: str) -> tuple[str, str | None]:
    first = detect_all(number)[0]
    return first.carrier, first.courier


# (number, the best reading); every number here is real (samples, carrier docs) or built with
# the documented algorithm.
VALID = [
    ("1Z999AA10123456784", ("ups", None)),  # UPS's own documentation example
    ("1Z1442YY7229014688", ("ups", None)),  # samples/ups
    ("1ZA82D672031716786", ("ups", None)),
    ("1z 999 aa1 01 2345 6784", ("ups", None)),  # spaces and lower case, as typed
    ("738488882438", ("fedex", None)),  # samples/fedex (Express, mod 11)
    ("012345678983", ("fedex", None)),  # FedEx's published Express example
    ("122816215025810", ("fedex", None)),  # FedEx sandbox (Ground, mod 10)
    ("843119172384577", ("fedex", None)),
    ("9612019122816215025810", ("fedex", None)),  # 96 bar code around a 15-digit number
    ("61292701078443410536", ("fedex", None)),  # SmartPost 20 digits (92 restored)
    (ROUTED_22, ("usps", None)),
    ("9205590164917337534322", ("usps", None)),  # samples/shippo
    ("92419900000033499522966220", ("usps", None)),  # 26-digit IMpb (samples/ups)
    ("42090210" + ROUTED_22, ("usps", None)),  # 420 + ZIP5 routing
    ("420902101234" + ROUTED_22, ("usps", None)),  # 420 + ZIP+4 routing
    ("03071790000523483741", ("usps", None)),  # 20-digit certified mail
    ("EE123456785US", ("usps", None)),  # S10 from USPS
    ("RR123456785CA", ("canadapost", None)),  # S10 from Canada Post
    ("RR123456785ID", ("binderbyte", "pos")),  # S10 from Pos Indonesia
    ("7777777770", ("dhl", None)),  # DHL docs example (samples/dhl)
    ("8264715546", ("dhl", None)),
    ("JJD000000000000000001", ("dhl", None)),
    ("JP6961181926", ("binderbyte", "jnt")),  # samples/binderbyte
    ("JX1541346437", ("binderbyte", "jnt")),  # samples/biteship
    ("SPXID05740590895B", ("binderbyte", "spx")),
    ("000779194122", ("binderbyte", "sicepat")),  # samples/binderbyte
    ("TKP01-C0KQJMC", ("binderbyte", "kurir_rekomendasi")),  # samples/binderbyte
    ("NLIDAP12345678", ("binderbyte", "ninja")),
    ("11-22-12345678", ("binderbyte", "lion")),
    ("11LP1644386563581", ("binderbyte", "lion")),
    ("IDS123456789012", ("binderbyte", "ide")),
    ("SIMNRM0001", ("simulator", None)),
]


@pytest.mark.parametrize(("number", "expected"), VALID)
def test_valid_numbers_are_read_first_as_their_carrier(
    number: str, expected: tuple[str, str | None]
) -> None:
    assert best(number) == expected


# (number with one digit changed, the carrier that must not be offered for it)
BROKEN = [
    ("1Z999AA10123456785", "ups"),
    ("1Z1442YY7229014680", "ups"),
    ("738488882439", "fedex"),
    ("122816215025811", "fedex"),
    ("9612019122816215025811", "fedex"),
    ("61292701078443410537", "fedex"),
    ("9400109104250532908588", "usps"),
    ("92419900000033499522966221", "usps"),
    ("42090210" + ROUTED_22[:-1] + "9", "usps"),
    ("EE123456786US", "usps"),
    ("RR123456786CA", "canadapost"),
    ("7777777771", "dhl"),
    ("1234567890", "dhl"),
]


@pytest.mark.parametrize(("number", "carrier"), BROKEN)
def test_a_wrong_check_digit_is_not_that_carrier(number: str, carrier: str) -> None:
    assert carrier not in {c.carrier for c in detect_all(number)}


def test_pos_indonesia_s10_with_a_wrong_check_digit_is_nobody() -> None:
    assert detect_all("RR123456784ID") == []


@pytest.mark.parametrize("number", ["", "hello", "1Z", "12345", "JP123", "SPX123", "---"])
def test_nothing_fits(number: str) -> None:
    assert detect_all(number) == []


@pytest.mark.parametrize(
    ("digits", "check"),
    [
        ("1Z999AA1012345678", ups_check),
        ("01234567898", fedex_express_check),
        ("940010910425053290858", mod10),
        ("123456789", dhl_express_check),
    ],
)
def test_each_check_accepts_exactly_one_final_digit(digits: str, check: object) -> None:
    ok = [d for d in "0123456789" if check(digits + d)]  # type: ignore[operator]
    assert len(ok) == 1


def test_s10_check_digit_special_cases() -> None:
    # 11 - (sum mod 11): a remainder of 1 gives 10 -> 0, a remainder of 0 gives 11 -> 5
    assert s10_check("RR000000000ID") is False
    assert s10_check("RR000000005ID") is True
    assert s10_check("RR123456785ID") is True


def test_a_number_lists_every_carrier_that_can_track_it_most_likely_first() -> None:
    found = detect_all("1Z999AA10123456784")
    assert [c.carrier for c in found][:3] == ["ups", "easypost", "shippo"]
    assert {"aftership", "17track", "trackingmore"} <= {c.carrier for c in found}
    assert [c.confidence for c in found] == sorted((c.confidence for c in found), reverse=True)
    assert ("easypost", "UPS") in readings("1Z999AA10123456784")
    assert ("shippo", "ups") in readings("1Z999AA10123456784")


def test_indonesian_couriers_go_to_the_aggregators_that_list_them() -> None:
    assert readings("JP6961181926") >= {
        ("binderbyte", "jnt"),
        ("biteship", "jnt"),
        ("rajaongkir", "jnt"),
    }
    # Biteship lists no SPX courier code
    assert ("biteship", "spx") not in readings("SPXID05740590895B")
    assert readings("TKP01-C0KQJMC") & {("binderbyte", "kurir_rekomendasi")}


def test_ambiguous_digits_offer_each_reading() -> None:
    # 12 digits passing the FedEx mod 11 and shaped like a TIKI number (samples/binderbyte)
    assert {("fedex", None), ("binderbyte", "tiki")} <= readings("030205696069")
    assert best("030205696069") == ("fedex", None)


def test_the_simulator_is_only_the_simulator() -> None:
    assert readings("SIMFAT000001") == {("simulator", None)}


# ----------------------------------------------------------------------------- resolve_carrier

ALL = frozenset({"ups", "fedex", "usps", "dhl", "aftership", "binderbyte", "biteship"})


def test_the_stated_carrier_always_wins() -> None:
    assert resolve_carrier("FedEx", None, "1Z999AA10123456784", ALL) == ("fedex", None)
    assert resolve_carrier("binderbyte", "jne", "JP6961181926", ALL) == ("binderbyte", "jne")
    assert resolve_carrier("dhl", None, "nothing-like-dhl", frozenset()) == ("dhl", None)


def test_detection_picks_the_carriers_own_api_when_installed() -> None:
    assert resolve_carrier(None, None, "1Z999AA10123456784", ALL) == ("ups", None)
    assert resolve_carrier(None, None, "9400109104250532908587", ALL) == ("usps", None)


def test_an_aggregator_takes_over_when_the_carrier_api_is_not_installed() -> None:
    got = resolve_carrier(None, None, "1Z999AA10123456784", frozenset({"aftership"}))
    assert got == ("aftership", None)


def test_preference_chooses_between_aggregators_for_the_same_format() -> None:
    both = frozenset({"binderbyte", "biteship"})
    assert resolve_carrier(None, None, "JP6961181926", both, ["biteship"]) == ("biteship", "jnt")
    assert resolve_carrier(None, None, "JP6961181926", both, ["binderbyte"]) == (
        "binderbyte",
        "jnt",
    )


def test_preference_does_not_beat_a_more_telling_format() -> None:
    # fedex reads 030205696069 better (check digit) than TIKI's bare shape
    got = resolve_carrier(
        None, None, "030205696069", frozenset({"fedex", "binderbyte"}), ["binderbyte"]
    )
    assert got == ("fedex", None)


def test_a_stated_courier_keeps_only_its_readings() -> None:
    got = resolve_carrier(None, "tiki", "030205696069", frozenset({"fedex", "binderbyte"}))
    assert got == ("binderbyte", "tiki")


def test_a_stated_courier_with_an_unknown_format_goes_to_an_aggregator_that_lists_it() -> None:
    assert resolve_carrier(None, "JNE", "ABC", frozenset({"biteship"})) == ("biteship", "jne")
    assert resolve_carrier(None, "J&T Express", "ABC", ALL, ["biteship"]) == ("biteship", "jnt")
    with pytest.raises(CarrierNotDetected):
        resolve_carrier(None, "grab", "ABC", frozenset({"binderbyte"}))  # not a Binderbyte code


def test_nothing_installed_fits() -> None:
    with pytest.raises(CarrierNotDetected, match="name the carrier"):
        resolve_carrier(None, None, "1Z999AA10123456784", frozenset({"binderbyte"}))
    with pytest.raises(CarrierNotDetected):
        resolve_carrier(None, None, "hello", ALL)
