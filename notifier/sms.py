"""How many SMS segments a text costs, per 3GPP TS 23.038 (GSM 7-bit alphabet) and TS 23.040.

A text that fits the GSM 7-bit default alphabet (plus its extension table, whose characters
take an escape septet and so count twice) is sent as GSM-7: 160 septets in one message, 153 per
segment once it is split (the user-data header takes 7). Any other character switches the whole
message to UCS-2 (UTF-16): 70 code units in one message, 67 per segment; characters outside the
Basic Multilingual Plane, such as most emoji, are surrogate pairs and take two code units.

Providers do not split an escape sequence or a surrogate pair across segments, so segments are
packed character by character rather than by dividing the length.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

# TS 23.038 6.2.1: the default alphabet (ESC 0x1B is not a character of its own).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# TS 23.038 6.2.1.1: the extension table, each sent as ESC + character (two septets).
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE = 160  # septets in an unsplit message
GSM7_PART = 153  # septets per part of a concatenated message
UCS2_SINGLE = 70  # UTF-16 code units in an unsplit message
UCS2_PART = 67  # UTF-16 code units per part of a concatenated message


@dataclass(frozen=True, slots=True)
class SmsSegments:
    """The cost of one text as SMS.

    ``characters`` counts septets for GSM-7 (extension characters count 2) and UTF-16 code
    units for UCS-2 (a surrogate pair counts 2). ``non_gsm`` lists the characters that forced
    UCS-2, in order of first appearance (empty for GSM-7), so a preview can point at them.
    """

    encoding: Encoding
    characters: int
    segments: int
    non_gsm: tuple[str, ...] = ()

    @property
    def per_segment(self) -> int:
        """Capacity of one segment at this length: 160/153 (GSM-7) or 70/67 (UCS-2)."""
        single, part = _limits(self.encoding)
        return single if self.segments <= 1 else part


def is_gsm7(text: str) -> bool:
    """True when every character of ``text`` is in the GSM 7-bit alphabet or its extension."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def segments(text: str) -> SmsSegments:
    """Encoding, length in septets or code units, and number of segments of ``text``.

    An empty text has 0 characters and 0 segments.
    """
    foreign = _non_gsm(text)
    if foreign:
        costs = [_utf16_units(ch) for ch in text]
        encoding: Encoding = "UCS-2"
    else:
        costs = [2 if ch in GSM7_EXTENSION else 1 for ch in text]
        encoding = "GSM-7"
    single, part = _limits(encoding)
    return SmsSegments(encoding, sum(costs), _pack(costs, single, part), foreign)


def _limits(encoding: Encoding) -> tuple[int, int]:
    return (GSM7_SINGLE, GSM7_PART) if encoding == "GSM-7" else (UCS2_SINGLE, UCS2_PART)


def _non_gsm(text: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for ch in text:
        if ch not in GSM7_BASIC and ch not in GSM7_EXTENSION:
            seen.setdefault(ch)
    return tuple(seen)


def _utf16_units(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _pack(costs: list[int], single: int, part: int) -> int:
    """Segments needed: one if everything fits ``single``, else greedy parts of ``part`` that
    never split one character's units."""
    total = sum(costs)
    if total == 0:
        return 0
    if total <= single:
        return 1
    count, used = 1, 0
    for cost in costs:
        if used + cost > part:
            count, used = count + 1, 0
        used += cost
    return count
