"""The merchant's own settings, as the UI and ``PUT /api/v1/settings`` edit them.

Stored in ``Merchant.settings`` under the keys the pipeline, the replies and the tracking page
read (other keys, such as ``senders`` and ``sources``, are kept as they are):

=========================  ====================================================================
``notify.channels``        channels used by default (email, sms, whatsapp)
``notify.disabled_triggers`` triggers not sent
``notify.quiet_hours_start`` / ``_end``  "HH:MM" in the shopper's zone (SMS/WhatsApp wait)
``notify.quiet_hours_email`` email waits for quiet hours too
``notify.feedback_delay_days`` days after delivery for the review request (0-60)
``notify.senders``         {channel: sender id} where the shop chose its own sender (registered,
                           able to carry the channel); absent: the service's ``[senders]``
``trigger_channels``       {trigger: [channels]} where a trigger differs from the default
``sms_segment_budget``     most segments one SMS may cost (1-10; absent: the service's)
``brand``                  {name, logo_url (https), color "#rrggbb", cs_whatsapp (E.164),
                           cs_email, website, review_url}
``return_policy_url``      http(s) link shown under the FAQ on the tracking page
``opening_hours``          {"mon-fri": "08:00-17:00", "sat": "09:00-13:00"} (notifier.hours)
``faq``                    [{q, a, locale: "id" | "en" | null (both)}], at most 12 (the shape
                           and limits the tracking page reads, notifier.web.tracking)
=========================  ====================================================================

:func:`apply` validates everything first and changes nothing when anything is wrong; the
errors name the field (``brand.color``) with a sentence a merchant understands.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from notifier import hours
from notifier.errors import InputError, NotifierError
from notifier.orders.contact import normalize_email, normalize_phone
from notifier.pipeline.outbox import merchant_prefs
from notifier.plugins import senders_for
from notifier.runtime import Runtime
from notifier.settings import TRIGGERS, Channel, NotifyDefaults
from notifier.store.models import Merchant

NOTIFY_KEYS = (
    "channels",
    "disabled_triggers",
    "quiet_hours_start",
    "quiet_hours_end",
    "quiet_hours_email",
    "feedback_delay_days",
    "senders",
)
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$")
Text = Annotated[str, Field(max_length=200)]
MAX_FAQ = 12  # entries (notifier.web.tracking.FAQ_MAX_ITEMS)


class SettingsInvalid(NotifierError):
    """Settings that cannot be saved: ``errors`` lists (field, reason)."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {m}" for f, m in errors))
        self.errors = errors


def _url(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    if not _URL.match(value.strip()):
        raise ValueError("must be a web address starting with https:// or http://")
    return value.strip()


class Brand(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Text | None = None
    logo_url: str | None = None
    color: str | None = None
    cs_whatsapp: str | None = None
    cs_email: str | None = None
    website: str | None = None
    review_url: str | None = None

    _urls = field_validator("website", "review_url")(_url)

    @field_validator("logo_url")
    @classmethod
    def _logo(cls, v: str | None) -> str | None:
        v = _url(v)
        if v and not v.startswith("https://"):
            raise ValueError("must be an https:// address (the tracking page loads it)")
        return v

    @field_validator("color")
    @classmethod
    def _color(cls, v: str | None) -> str | None:
        if v and not _COLOR.match(v):
            raise ValueError("must be a colour like #8a2be2")
        return v.lower() if v else None


class FaqEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    q: str = Field(min_length=1, max_length=200, description="the question")
    a: str = Field(min_length=1, max_length=1500, description="the answer")
    locale: Literal["id", "en"] | None = None


class MerchantSettings(BaseModel):
    """Everything a merchant edits about itself; see the module docstring."""

    model_config = ConfigDict(extra="forbid")

    channels: list[Channel] = Field(min_length=1)
    disabled_triggers: list[str] = []
    trigger_channels: dict[str, list[Channel]] = {}
    quiet_hours_start: str = "21:00"
    quiet_hours_end: str = "08:00"
    quiet_hours_email: bool = False
    feedback_delay_days: float = Field(2.0, ge=0, le=60)
    senders: dict[Channel, str] = {}
    sms_segment_budget: int | None = Field(None, ge=1, le=10)
    brand: Brand = Brand()
    return_policy_url: str | None = None
    opening_hours: dict[str, str] = {}
    faq: list[FaqEntry] = Field([], max_length=MAX_FAQ)

    @field_validator("trigger_channels")
    @classmethod
    def _per_trigger(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(v) - set(TRIGGERS))
        if unknown:
            raise ValueError(f"unknown trigger(s) {', '.join(unknown)}")
        empty = sorted(t for t, chans in v.items() if not chans)
        if empty:
            raise ValueError(f"{', '.join(empty)}: pick at least one channel or turn it off")
        return {t: list(dict.fromkeys(c)) for t, c in v.items()}

    _policy = field_validator("return_policy_url")(_url)

    @field_validator("senders")
    @classmethod
    def _senders(cls, v: dict[str, str]) -> dict[str, str]:
        chosen = {channel: name.strip() for channel, name in v.items() if name.strip()}
        for channel, name in chosen.items():
            able = senders_for(channel)
            if name not in able:
                raise ValueError(
                    f"{channel}: {name!r} cannot send {channel} (choose one of {', '.join(able)})"
                )
        return chosen

    @field_validator("opening_hours")
    @classmethod
    def _hours(cls, v: dict[str, str]) -> dict[str, str]:
        hours.parse_hours(v)  # raises ValueError with the day or range that is wrong
        return v


def read(rt: Runtime, merchant: Merchant) -> dict[str, Any]:
    """The merchant's effective settings (defaults filled in) in the editable shape."""
    own = merchant.settings or {}
    prefs = merchant_prefs(rt.settings.notify, merchant)
    out: dict[str, Any] = {k: getattr(prefs, k) for k in NOTIFY_KEYS}
    out["trigger_channels"] = own.get("trigger_channels") or {}
    out["sms_segment_budget"] = own.get("sms_segment_budget")
    out["brand"] = Brand.model_validate(_known(own.get("brand"), Brand)).model_dump()
    out["return_policy_url"] = own.get("return_policy_url")
    out["opening_hours"] = own.get("opening_hours") or {}
    out["faq"] = own.get("faq") or []
    return out


def _known(value: Any, model: type[BaseModel]) -> dict[str, Any]:
    """Stored keys the model knows (older rows may carry others)."""
    return {k: v for k, v in (value or {}).items() if k in model.model_fields}


def validate(merchant: Merchant, data: dict[str, Any]) -> MerchantSettings:
    """``data`` checked and normalized (phone as E.164, email lower-case); raises
    SettingsInvalid listing every field that is wrong."""
    try:
        parsed = MerchantSettings.model_validate(data)
    except ValidationError as err:
        raise SettingsInvalid([(_where(e["loc"]), _reason(e)) for e in err.errors()]) from err
    errors: list[tuple[str, str]] = []
    brand = parsed.brand
    try:
        if brand.cs_whatsapp:
            phone = normalize_phone(brand.cs_whatsapp, merchant.country)
            if not phone.reachable_by_phone:
                raise InputError(f"{phone.e164} is a landline; WhatsApp needs a mobile number")
            brand.cs_whatsapp = phone.e164
    except InputError as err:
        errors.append(("brand.cs_whatsapp", str(err)))
    try:
        brand.cs_email = normalize_email(brand.cs_email) if brand.cs_email else None
    except InputError as err:
        errors.append(("brand.cs_email", str(err)))
    try:
        NotifyDefaults.model_validate({k: getattr(parsed, k) for k in NOTIFY_KEYS})
    except ValidationError as err:
        errors += [(_where(e["loc"]), _reason(e)) for e in err.errors()]
    if errors:
        raise SettingsInvalid(errors)
    return parsed


def apply(merchant: Merchant, data: dict[str, Any]) -> dict[str, Any]:
    """Validate ``data`` and store it in ``merchant.settings`` (the caller adds and commits).
    Returns the stored settings. Raises SettingsInvalid and changes nothing then."""
    parsed = validate(merchant, data)
    settings = dict(merchant.settings or {})
    notify = dict(settings.get("notify") or {})
    notify.update({k: getattr(parsed, k) for k in NOTIFY_KEYS})
    settings["notify"] = notify
    settings["trigger_channels"] = parsed.trigger_channels
    if parsed.sms_segment_budget is None:
        settings.pop("sms_segment_budget", None)
    else:
        settings["sms_segment_budget"] = parsed.sms_segment_budget
    kept = {k: v for k, v in (settings.get("brand") or {}).items() if k not in Brand.model_fields}
    settings["brand"] = kept | parsed.brand.model_dump(exclude_none=True)
    if parsed.return_policy_url:
        settings["return_policy_url"] = parsed.return_policy_url
    else:
        settings.pop("return_policy_url", None)
    settings["opening_hours"] = parsed.opening_hours
    settings["faq"] = [entry.model_dump() for entry in parsed.faq]
    merchant.settings = settings  # a new dict: JSON columns track assignment
    return settings


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "settings"


def _reason(error: Any) -> str:
    message = str(error.get("msg", "invalid"))
    return message.removeprefix("Value error, ")
