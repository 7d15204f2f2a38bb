"""Small pure helpers every ``parse()`` uses: decoding bodies, reading times, tidying text."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import date, datetime
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


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 (or "YYYY-MM-DD HH:MM[:SS]") time, offset kept; naive if none was given.

    Returns None for values that are not a time, rather than guessing.
    """
    raw = text(value)
    if raw is None:
        return None
    candidate = raw.replace("Z", "+00:00") if raw.endswith("Z") else raw
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


def parse_date(value: Any) -> date | None:
    """The calendar date the carrier wrote (never shifted across zones), or None."""
    raw = text(value)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        moment = parse_time(raw)
        return moment.date() if moment else None
