"""SMS segment counting at the boundaries where a message starts costing twice."""

from __future__ import annotations

import pytest

from notifier.sms import SmsSegments, is_gsm7, segments


def test_empty_text_costs_nothing() -> None:
    assert segments("") == SmsSegments("GSM-7", 0, 0)


@pytest.mark.parametrize(
    ("length", "expected"), [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)]
)
def test_gsm7_boundaries(length: int, expected: int) -> None:
    cost = segments("a" * length)
    assert (cost.encoding, cost.characters, cost.segments) == ("GSM-7", length, expected)


@pytest.mark.parametrize("char", list("€[]{}~^\\|"))
def test_extension_characters_count_twice(char: str) -> None:
    assert segments(char).characters == 2
    assert segments(char * 80) == SmsSegments("GSM-7", 160, 1)
    assert segments(char * 80 + "a").segments == 2


def test_an_escape_sequence_is_not_split_across_segments() -> None:
    # 306 septets would fit two parts of 153, but "€" cannot straddle the boundary.
    text = "a" * 152 + "€" + "a" * 152
    assert segments(text).characters == 306
    assert segments(text).segments == 3


def test_gsm_accents_and_symbols_stay_gsm7() -> None:
    text = "Toko Batik Sekar: Paket J&T Express @Rp150.000 (é ñ ü Ä £ ¥ § ¿ ¡ Δ Ω _ !#%)"
    assert is_gsm7(text)
    assert segments(text).encoding == "GSM-7"


@pytest.mark.parametrize("char", ["’", "“", "…", "—", "ê", "\u00a0", "\u202f"])
def test_one_foreign_character_switches_to_ucs2(char: str) -> None:
    cost = segments("Halo Kak Rina" + char)
    assert cost.encoding == "UCS-2" and cost.non_gsm == (char,)


@pytest.mark.parametrize(
    ("length", "expected"), [(70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)]
)
def test_ucs2_boundaries(length: int, expected: int) -> None:
    cost = segments("ê" * length)
    assert (cost.encoding, cost.characters, cost.segments) == ("UCS-2", length, expected)


def test_an_emoji_is_a_surrogate_pair() -> None:
    assert segments("Paket 📦") == SmsSegments("UCS-2", 8, 1, ("📦",))
    assert segments("a" * 68 + "📦").segments == 1  # 70 code units
    assert segments("a" * 69 + "📦").segments == 2  # 71 code units


def test_a_surrogate_pair_is_not_split_across_segments() -> None:
    text = "a" * 66 + "📦" + "a" * 66  # 134 units = 2 x 67, but the pair straddles the boundary
    assert segments(text).characters == 134
    assert segments(text).segments == 3


def test_per_segment_capacity() -> None:
    assert segments("a").per_segment == 160
    assert segments("a" * 200).per_segment == 153
    assert segments("📦").per_segment == 70
    assert segments("📦" * 40).per_segment == 67
