"""What every wire format shares: the request, a parcel as seen at one moment, the account's
credentials, OAuth tokens on the simulator's clock, and small writers for bodies and times.

A format module subclasses :class:`Format`, lists its native-code mapping as data and writes
bodies in its carrier's shape; everything that decides *what* the carrier knows (the journey,
the clock, registration) lives here, so every format tells the same story.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import re
import secrets
from bisect import bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, ClassVar
from urllib.parse import parse_qsl

from carriers.simulator.asgi import Response
from carriers.simulator.journeys import Journey, Plan, number_key, plan
from carriers.simulator.registry import Registration, Registry, auto_registers, valid_key

log = logging.getLogger(__name__)
JAKARTA = timezone(timedelta(hours=7))  # every scan happens in Indonesia (journeys.py)
FINAL_CODES = frozenset({"DELIVERED", "COLLECTED", "RETURNED", "EXPIRED"})
JSON = b"application/json"
MAX_TOKENS = 1000  # live tokens kept per format before expired ones are dropped
ISO3 = {"ID": "IDN", "CN": "CHN", "SG": "SGP", "MY": "MYS"}  # the countries journeys visit


class Refusal(Exception):
    """A whole request refused; the format writes it in its carrier's error envelope."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request as a format sees it; ``path`` is what follows the format prefix."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    raw_path: str = ""  # the whole path, prefix included

    @classmethod
    def of(cls, scope: Mapping[str, Any], path: str, body: bytes) -> Request:
        """From an ASGI HTTP scope; ``path`` is the route inside the format."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        return cls(scope["method"], path, query, headers, body, scope["path"])

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def json(self) -> Any:
        """The JSON body; Refusal 400 when it is not JSON."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError as err:
            raise Refusal(400, "BAD_REQUEST", "the body is not JSON") from err

    def form(self) -> dict[str, str]:
        """The form-encoded body (query parameters fill what the body leaves out)."""
        return {**self.query, **dict(parse_qsl(self.body.decode("latin-1")))}

    def basic(self) -> tuple[str, str] | None:
        """HTTP Basic credentials, if sent."""
        kind, _, value = self.header("authorization").partition(" ")
        if kind.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user, password

    def bearer(self) -> str:
        kind, _, value = self.header("authorization").partition(" ")
        return value.strip() if kind.lower() == "bearer" else ""


@dataclass(frozen=True, slots=True)
class Event:
    """One scan: POSIX time, native code, the courier's own text and place."""

    at: float
    code: str
    text: str
    place: str

    @property
    def local(self) -> datetime:
        """The scan's wall time in Jakarta (aware)."""
        return datetime.fromtimestamp(self.at, JAKARTA)

    @property
    def utc(self) -> datetime:
        return datetime.fromtimestamp(self.at, UTC)

    @property
    def city(self) -> str:
        return self.place.split(", ")[0]

    @property
    def region(self) -> str | None:
        """What follows the city ("DKI Jakarta"; "Guangdong" for "Shenzhen, Guangdong, CN")."""
        parts = self.place.split(", ")[1:]
        if parts and _is_country(parts[-1]):
            parts = parts[:-1]
        return ", ".join(parts) or None

    @property
    def country(self) -> str:
        last = self.place.split(", ")[-1]
        return last if _is_country(last) else "ID"


def _is_country(part: str) -> bool:
    return len(part) == 2 and part.isalpha() and part.isupper()


@dataclass(frozen=True, slots=True)
class Parcel:
    """What the carrier knows of a number at one moment (``now``, POSIX seconds)."""

    number: str
    journey: Journey
    code: str  # native status code now: the newest scan's, PENDING before any, or EXPIRED
    events: tuple[Event, ...]  # oldest first
    eta: date | None  # the ETA announced last (None once withdrawn)
    first_eta: date | None  # the ETA announced first (UPS SDD, Canada Post expected date)
    registered_at: float
    now: float

    @property
    def newest(self) -> Event | None:
        return self.events[-1] if self.events else None

    @property
    def final(self) -> bool:
        return self.code in FINAL_CODES

    @property
    def delivered_at(self) -> Event | None:
        """The delivery (or collection) scan, once there is one."""
        newest = self.newest
        return newest if newest and newest.code in ("DELIVERED", "COLLECTED") else None


class World:
    """The simulator's parcels as every format sees them: one registry, one clock.

    A number with the simulator prefix registers itself the first time any format is asked
    about it (as on the native API); other numbers are known only once registered.
    """

    def __init__(
        self,
        registry: Registry,
        register: Callable[[str], Registration],
        now: Callable[[], float],
    ) -> None:
        self.registry = registry
        self._register = register
        self.now = now
        self._plans: dict[str, Plan] = {}

    def valid(self, number: str) -> bool:
        return valid_key(number_key(number))

    def parcel(self, number: str) -> Parcel | None:
        """The number's parcel now, registering a simulator number; None when unknown."""
        key = number_key(number)
        entry = self.registry.get_key(key)
        if entry is None:
            if not (valid_key(key) and auto_registers(key)):
                return None
            entry = self._register(number)
        return self.snapshot(entry, self.now())

    def snapshot(self, entry: Registration, now: float) -> Parcel:
        key = number_key(entry.number)
        raw = self._plans.get(key)
        if raw is None:
            raw = self._plans[key] = plan(entry.number, entry.registered_at, entry.journey)
        seen = bisect_right(entry.compiled.times, now)
        events = tuple(Event(*scan) for scan in raw.scans[:seen])
        etas = [eta for since, eta in raw.etas if since <= now]
        code = events[-1].code if events else "PENDING"
        if raw.expires_at is not None and now >= raw.expires_at:
            code = "EXPIRED"
        return Parcel(
            number=entry.number,
            journey=entry.journey,
            code=code,
            events=events,
            eta=etas[-1] if etas else None,
            first_eta=next((eta for eta in etas if eta is not None), None),
            registered_at=entry.registered_at,
            now=now,
        )


class Tokens:
    """OAuth2 access tokens one format issued, each valid ``lifetime`` s of simulator time."""

    def __init__(self, lifetime: float) -> None:
        self.lifetime = lifetime
        self._expiry: dict[str, float] = {}

    def issue(self, now: float) -> str:
        if len(self._expiry) > MAX_TOKENS:  # forget expired ones; a long run issues many
            self._expiry = {t: end for t, end in self._expiry.items() if end > now}
        token = secrets.token_urlsafe(24)
        self._expiry[token] = now + self.lifetime
        return token

    def check(self, token: str, now: float) -> str:
        """``"ok"``, ``"expired"`` or ``"unknown"``."""
        expiry = self._expiry.get(token)
        if expiry is None:
            return "unknown"
        return "ok" if now < expiry else "expired"


def same(given: str, expected: str) -> bool:
    """Constant-time comparison of a credential."""
    return hmac.compare_digest(given.encode(), expected.encode())


def reply(payload: Any, status: int = 200, content_type: bytes = JSON) -> Response:
    """A JSON response."""
    return (
        status,
        json.dumps(payload, separators=(",", ":")).encode(),
        [(b"content-type", content_type)],
    )


def numeric(code: str, status: int) -> int:
    """``code`` as the integer an envelope wants, or the HTTP status when it is not one."""
    return int(code) if code.lstrip("-").isdigit() else status


def utc_of(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


def utc_z(moment: datetime) -> str:
    """ISO-8601 in UTC with a trailing Z, whole seconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def day_start(day: date, zone: timezone = JAKARTA) -> str:
    """Midnight of ``day`` in ``zone`` as ISO-8601 with its offset."""
    return datetime(day.year, day.month, day.day, tzinfo=zone).isoformat()


class Format:
    """One carrier's wire format over the shared :class:`World`.

    Subclasses set ``id`` (also the URL prefix), ``base_path`` (the production API's own base
    path, optional in the URL: ``/aftership/tracking/2025-04/trackings`` and
    ``/aftership/trackings`` are the same route), ``fields`` (the account's credentials) and
    implement :meth:`handle` and :meth:`error`.
    """

    id: ClassVar[str]
    base_path: ClassVar[re.Pattern[str] | None] = None  # matches the production base path
    fields: ClassVar[tuple[str, ...]] = ("api_key",)
    token_lifetime: ClassVar[float] = 3600.0  # s of simulator time (OAuth formats)
    auth_refusal: ClassVar[tuple[int, str, str]] = (401, "UNAUTHORIZED", "invalid credentials")
    rate_refusal: ClassVar[tuple[str, str]] = ("RATE_LIMITED", "too many requests")

    def __init__(
        self,
        world: World,
        account: Mapping[str, str] | None = None,
        tally: Callable[[str, str, int], None] | None = None,
    ) -> None:
        self.world = world
        self.account = dict(account or default_account(type(self)))
        self.tokens = Tokens(self.token_lifetime)
        self._tally = tally

    # What formats implement ------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer one API request (``request.path`` without prefix and base path); Refusal
        for a whole-request error."""
        raise NotImplementedError

    def error(self, status: int, code: str, message: str) -> Response:
        """A whole-request error in the carrier's own envelope."""
        raise NotImplementedError

    def is_tracking(self, request: Request) -> bool:
        """Whether the request asks for tracking (the fault plan's default target)."""
        return request.method in ("GET", "POST") and "token" not in request.path

    # Shared behaviour ------------------------------------------------------------------------

    def answer(self, request: Request) -> Response:
        """:meth:`handle`, with refusals written in the carrier's envelope."""
        self.count("requests")
        try:
            return self.handle(request)
        except Refusal as err:
            if err.status in (401, 403):
                self.count("auth_refused")
            return self.error(err.status, err.code, err.message)
        except (ValueError, TypeError, AttributeError, KeyError) as err:  # a body of wrong shape
            log.info("%s: malformed request to %s: %r", self.id, request.raw_path, err)
            return self.error(400, "400", "malformed request")

    def strip(self, path: str) -> str:
        """``path`` without the production base path, when the client included it."""
        found = self.base_path.match(path) if self.base_path else None
        if found is None or path[found.end() : found.end() + 1] not in ("", "/"):
            return path
        return path[found.end() :] or "/"

    def refuse_auth(self, message: str | None = None) -> Refusal:
        status, code, default = self.auth_refusal
        return Refusal(status, code, message or default)

    def fault(self, kind: str, status: int, request: Request) -> Response:
        """The answer to ``request`` under a fault (``auth``, ``rate_limit``,
        ``server_error``): the carrier's own error envelope."""
        if kind == "auth":
            status, code, message = self.auth_refusal
            return self.error(status, code, message)
        if kind == "rate_limit":
            return self.error(429, *self.rate_refusal)
        return self.error(status, "INTERNAL", "simulated server error")

    def count(self, name: str, n: int = 1) -> None:
        if self._tally is not None:
            self._tally(self.id, name, n)

    def now(self) -> float:
        return self.world.now()

    def need(self, field: str, given: str) -> None:
        """Refusal (auth) unless ``given`` is the account's ``field``."""
        if not given or not same(given, self.account[field]):
            raise self.refuse_auth()

    # OAuth2 client credentials (UPS, FedEx, USPS) ---------------------------------------------

    def grant(self, client_id: str, secret: str, grant_type: str) -> dict[str, Any]:
        """Issue a token for valid client credentials; Refusal otherwise."""
        self.count("token_requests")
        if not (
            same(client_id, self.account["client_id"])
            and same(secret, self.account["client_secret"])
        ):
            raise self.refuse_token()
        if grant_type != "client_credentials":
            raise Refusal(400, "unsupported_grant_type", "grant_type must be client_credentials")
        self.count("tokens_issued")
        return {
            "access_token": self.tokens.issue(self.now()),
            "expires_in": int(self.token_lifetime),
        }

    def refuse_token(self) -> Refusal:
        """The token endpoint's answer to wrong client credentials."""
        return self.refuse_auth()

    def authorize(self, request: Request) -> None:
        """Refusal (auth) unless the request carries a live bearer token of this format."""
        if self.tokens.check(request.bearer(), self.now()) != "ok":
            raise self.refuse_auth()  # carriers answer an expired and a forged token alike


def default_account(fmt: type[Format]) -> dict[str, str]:
    """The credentials a simulator accepts unless told otherwise: ``sim-<id>-<field>``."""
    short = {"client_id": "client", "client_secret": "secret", "api_key": "key",
             "username": "user", "password": "pass"}  # fmt: skip
    return {f: f"sim-{fmt.id}-{short.get(f, f)}" for f in fmt.fields}
