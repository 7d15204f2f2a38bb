"""Small pure helpers every ``parse()`` uses: decoding bodies, reading times, tidying text."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from typing import Any

from carriers.errors import CarrierResponseError, excerpt

_SPACE = re.compile(r"\s+")


def load_json(body: bytes | str, carrier: str) -> Any:
    """The decoded JSON body; CarrierResponseError (with an excerpt) if it is not JSON."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as err:  # RecursionError: deep nesting
        raise CarrierResponseError(
            "body is not JSON", carrier=carrier, body_excerpt=excerpt(body)
        ) from err


def load_xml(body: bytes | str, carrier: str) -> ET.Element:
    """The XML root element; CarrierResponseError if the body does not parse.

    Python's expat limits entity amplification, so a hostile DTD cannot blow up memory.
    """
    try:
        return ET.fromstring(body)  # noqa: S314
    except (ET.ParseError, LookupError, ValueError) as err:  # LookupError: unknown encoding
        raise CarrierResponseError(
            "body is not XML", carrier=carrier, body_excerpt=excerpt(body)
        ) from err


def as_dict(value: Any, carrier: str, what: str) -> dict[str, Any]:
    """``value`` if it is a JSON object, else CarrierResponseError naming ``what``."""
    if not isinstance(value, dict):
        raise CarrierResponseError(f"{what} is not an object", carrier=carrier)
    return value


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a list, [] for null/missing, CarrierResponseError-free by design."""
    return value if isinstance(value, list) else []


def text(value: Any) -> str | None:
    """Trimmed text with inner whitespace collapsed; None for empty or non-text values."""
    if value is None or isinstance(value, (dict, list)):
        return None
    cleaned = _SPACE.sub(" ", str(value)).strip()
    return cleaned or None


def join_location(*parts: Any) -> str | None:
    """The non-empty parts joined with ", " (city, state/province, country)."""
    kept = [t for t in (text(p) for p in parts) if t]
    return ", ".join(kept) or None


_ZULU = re.compile(r"(?:\s*(?:[zZ]|GMT|UTC|UT))$")
_EPOCH_S = (1e9, 1e10)  # 2001-09-09 .. 2286-11-20 in seconds
_EPOCH_MS = (1e12, 1e13)  # the same span in milliseconds


def parse_time(value: Any) -> datetime | None:
    """A time as carriers write it, offset kept; naive if none was given.

    ISO-8601 in any of its spellings ("Z", "+07:00", "+0700", "+07", fractional seconds of any
    length, a space instead of "T"), "YYYY-MM-DD HH:MM[:SS]", "DD-MM-YYYY HH:MM[:SS]", a trailing
    GMT/UTC, and epoch seconds or milliseconds given as a number or a 10/13-digit string (read
    as UTC). Returns None for values that are not a time, rather than guessing.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return _epoch(float(value))
    raw = text(value)
    if raw is None:
        return None
    if raw.isdigit() and len(raw) in (10, 13):
        return _epoch(float(raw))
    candidate = _ZULU.sub("+00:00", raw) if _ZULU.search(raw) and raw[:4].isdigit() else raw
    candidate = _FRACTION.sub(lambda m: m.group(1)[:7], candidate)
    try:
        return datetime.fromisoformat(candidate)
    except ValueError:
        pass
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M"):
        try:
            return datetime.strptime(raw, fmt)  # noqa: DTZ007  (naive on purpose: no offset given)
        except ValueError:
            continue
    return None


_FRACTION = re.compile(r"(\.\d+)")


def _epoch(seconds: float) -> datetime | None:
    """Epoch seconds or milliseconds as an aware UTC time; None outside 2001-2286."""
    if seconds != seconds:  # NaN
        return None
    if _EPOCH_MS[0] <= seconds < _EPOCH_MS[1]:
        seconds /= 1000
    if not _EPOCH_S[0] <= seconds < _EPOCH_S[1]:
        return None
    return datetime.fromtimestamp(seconds, UTC)


def parse_date(value: Any) -> date | None:
    """The calendar date the carrier wrote (never shifted across zones), or None.

    "2024-05-17", "20240517", any time :func:`parse_time` reads (its own date, offset kept);
    epoch numbers are read in UTC.
    """
    if isinstance(value, int) and not isinstance(value, bool) and 19000101 <= value <= 29991231:
        value = str(value)  # YYYYMMDD written as a number
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        moment = parse_time(value)
        return moment.date() if moment else None
    raw = text(value)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        pass
    if len(raw) >= 8 and raw[:8].isdigit() and not raw.isdigit():  # "20240517T..." / UPS-like
        try:
            return date.fromisoformat(raw[:8])
        except ValueError:
            pass
    if raw.isdigit() and len(raw) == 8:
        try:
            return date.fromisoformat(raw)
        except ValueError:
            return None
    moment = parse_time(raw)
    return moment.date() if moment else None
