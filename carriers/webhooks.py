"""Carrier push webhooks: who signed a push, and what it says. Pure (stdlib hmac/hashlib).

Signature schemes, per carrier (the secret is ``carriers.<id>.webhook_secret``):

=========== ============================== =================================================
carrier     where                          value
=========== ============================== =================================================
aftership   header ``aftership-hmac-sha256`` base64 HMAC-SHA256 of the raw body, keyed with the
                                           webhook secret (aftership.com/docs/tracking/webhook/
                                           webhook-signature)
17track     header ``sign``                hex SHA-256 (not an HMAC) of ``<raw body>/<key>``;
                                           the key is the account's security key (17TRACK API
                                           v2.2 webhook notes: a third-party copy, not the
                                           vendor page)
easypost    header ``X-Hmac-Signature``    ``hmac-sha256-hex=`` + hex HMAC-SHA256 of the raw
                                           body keyed with the NFKD-normalized secret
                                           (easypost-python ``util.validate_webhook``)
simulator   header ``X-Simulator-Signature`` ``sha256=`` + hex HMAC-SHA256 of the raw body
                                           (``carriers.simulator.webhooks``)
shippo      URL ``/{token}``               no body signature by default: a secret token in the
                                           webhook URL (docs.goshippo.com webhook security,
                                           "self-generated tokens")
biteship    URL ``/{token}``               the signature section of Biteship's webhook guide
                                           could not be read: a secret token in the URL
=========== ============================== =================================================

Every comparison is constant-time. A push is read by the carrier's own ``parse()``: a body that
carries the whole tracking (AfterShip, 17TRACK, EasyPost, Shippo) gives results to record; a
body that only names a number (the simulator, Biteship ``order.status``) gives mentions, to be
checked with the carrier at once. Replays of a correctly signed body verify again: applying a
push is idempotent (events are deduplicated), so a replay changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from carriers import aftership, easypost, shippo, track17
from carriers import indonesia as idn
from carriers.base import TrackingResult
from carriers.errors import CarrierResponseError
from carriers.parsing import load_json, text


class WebhookError(Exception):
    """A push we refuse; ``str()`` is safe to log (no secrets, no signatures)."""


class SignatureError(WebhookError):
    """Missing or wrong signature or token: answer 403, change nothing."""


class PushFormatError(WebhookError):
    """Not a push body this carrier sends: answer 400."""


# --------------------------------------------------------------------------- signatures


def aftership_signature(body: bytes, secret: str) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def track17_signature(body: bytes, key: str) -> str:
    return hashlib.sha256(body + b"/" + key.encode()).hexdigest()


def easypost_signature(body: bytes, secret: str) -> str:
    key = unicodedata.normalize("NFKD", secret).encode()
    return "hmac-sha256-hex=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def simulator_signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Scheme:
    """How one carrier authenticates its pushes: a signed header, or a token in the URL."""

    header: str | None  # None: a token in the URL
    sign: Callable[[bytes, str], str] | None = None


SCHEMES: dict[str, Scheme] = {
    "aftership": Scheme("aftership-hmac-sha256", aftership_signature),
    "17track": Scheme("sign", track17_signature),
    "easypost": Scheme("X-Hmac-Signature", easypost_signature),
    "simulator": Scheme("X-Simulator-Signature", simulator_signature),
    "shippo": Scheme(None),
    "biteship": Scheme(None),
}


def uses_token(carrier: str) -> bool:
    """Whether the carrier's pushes are authenticated by a token in the URL."""
    return carrier in SCHEMES and SCHEMES[carrier].header is None


def _same(given: str, expected: str) -> bool:
    try:
        return hmac.compare_digest(given.strip().encode("ascii"), expected.encode("ascii"))
    except UnicodeEncodeError:  # a non-ASCII header or token is never ours
        return False


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        wanted = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == wanted), None)
    return value


def verify(
    carrier: str,
    body: bytes,
    headers: Mapping[str, str],
    secret: str | None,
    token: str | None = None,
) -> None:
    """Accept the push or raise :class:`SignatureError` (with a reason safe to log).

    ``secret`` is the carrier's webhook secret (17TRACK: the security key); without one no push
    is accepted. ``token`` is the URL token for Shippo and Biteship.
    """
    scheme = SCHEMES.get(carrier)
    if scheme is None:
        raise SignatureError(f"{carrier}: no push webhook")
    if not secret:
        raise SignatureError(f"{carrier}: no webhook secret configured")
    if scheme.header is None or scheme.sign is None:
        if not token:
            raise SignatureError(f"{carrier}: the URL has no token")
        if not _same(token, secret):
            raise SignatureError(f"{carrier}: wrong token")
        return
    given = _header(headers, scheme.header)
    if not given:
        raise SignatureError(f"{carrier}: no {scheme.header} header")
    if not _same(given, scheme.sign(body, secret)):
        raise SignatureError(f"{carrier}: {scheme.header} does not match the body")


# --------------------------------------------------------------------------- bodies


@dataclass(frozen=True, slots=True)
class Mention:
    """A number the push says changed, without the tracking itself."""

    number: str
    courier: str | None = None


@dataclass(frozen=True, slots=True)
class Push:
    """What one verified push says: whole results to record, numbers to check now, or nothing
    (an event about something else, a dashboard's test call)."""

    carrier: str
    event: str | None
    results: tuple[TrackingResult, ...] = ()
    mentions: tuple[Mention, ...] = ()


def _object(body: bytes, carrier: str) -> dict[str, Any]:
    try:
        doc = load_json(body, carrier)
    except CarrierResponseError as err:
        raise PushFormatError(f"{carrier}: the push is not JSON") from err
    if not isinstance(doc, dict):
        raise PushFormatError(f"{carrier}: the push is not a JSON object")
    return doc


def _parsed(
    parse: Callable[[bytes], list[TrackingResult]], body: bytes, carrier: str
) -> tuple[TrackingResult, ...]:
    try:
        return tuple(parse(body))
    except CarrierResponseError as err:
        raise PushFormatError(f"{carrier}: {err.message}") from err


def _aftership(doc: dict[str, Any], body: bytes) -> Push:
    # {"event": "tracking_update" | "edd_revise" | ..., "msg": <tracking>, "ts", "event_id"}
    if not isinstance(doc.get("msg"), dict):
        raise PushFormatError("aftership: the push has no msg tracking")
    return Push("aftership", text(doc.get("event")), _parsed(aftership.parse, body, "aftership"))


def _track17(doc: dict[str, Any], body: bytes) -> Push:
    # {"event": "TRACKING_UPDATED" | "TRACKING_STOPPED", "data": {"number", "carrier", ...}}
    event, data = text(doc.get("event")), doc.get("data")
    if not event or not isinstance(data, dict) or not text(data.get("number")):
        raise PushFormatError("17track: the push has no event or data.number")
    return Push("17track", event, _parsed(track17.parse, body, "17track"))


def _easypost(doc: dict[str, Any], body: bytes) -> Push:
    # {"object": "Event", "description": "tracker.updated", "result": <Tracker>}
    if doc.get("object") != "Event":
        raise PushFormatError("easypost: the push is not an Event")
    return Push("easypost", text(doc.get("description")), _parsed(easypost.parse, body, "easypost"))


def _shippo(doc: dict[str, Any], body: bytes) -> Push:
    # {"event": "track_updated", "test": bool, "data": <Track>}; other events are not tracking
    event = text(doc.get("event"))
    if not event:
        raise PushFormatError("shippo: the push has no event")
    if event != "track_updated":
        return Push("shippo", event)
    return Push("shippo", event, _parsed(shippo.parse, body, "shippo"))


def _biteship(doc: dict[str, Any], body: bytes) -> Push:
    # {"event": "order.status", "courier_waybill_id", "courier_company", "status", ...}; the
    # dashboard's installation check posts an empty object
    event = text(doc.get("event"))
    if event not in ("order.status", "order.waybill_id"):
        return Push("biteship", event)
    number = text(doc.get("courier_waybill_id")) or text(doc.get("waybill_id"))
    if not number:
        return Push("biteship", event)  # an instant courier before pickup: nothing to track
    courier = idn.courier_code(doc.get("courier_company"))
    return Push("biteship", event, mentions=(Mention(number, courier),))


def _simulator(doc: dict[str, Any], body: bytes) -> Push:
    # {"event": "tracking.updated", "tracking_number", "status_code", "occurred_at"}
    number = text(doc.get("tracking_number"))
    if not number:
        raise PushFormatError("simulator: the push has no tracking_number")
    return Push("simulator", text(doc.get("event")), mentions=(Mention(number),))


READERS: dict[str, Callable[[dict[str, Any], bytes], Push]] = {
    "aftership": _aftership,
    "17track": _track17,
    "easypost": _easypost,
    "shippo": _shippo,
    "biteship": _biteship,
    "simulator": _simulator,
}


def read(carrier: str, body: bytes) -> Push:
    """What a verified push says; :class:`PushFormatError` for a body the carrier never sends."""
    reader = READERS.get(carrier)
    if reader is None:
        raise PushFormatError(f"{carrier}: no push webhook")
    push = reader(_object(body, carrier), body)
    if any(not r.tracking_number for r in push.results):
        raise PushFormatError(f"{carrier}: the pushed tracking has no tracking number")
    return push
