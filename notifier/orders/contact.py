"""Shoppers' phone numbers and email addresses, as merchants type them, made canonical.

Phones become E.164 with :mod:`phonenumbers`, read in the merchant's country when they carry no
country code (Indonesian shops write ``0812-3456-7890``, ``62812...``, ``812...``). Each number
gets a kind: ``mobile`` can take SMS and WhatsApp; ``landline`` is kept so the shopper can still be
reached by email, and the outbox suppresses SMS/WhatsApp to it with a recorded reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import NumberParseException, PhoneNumberType, ValidationResult

from notifier.errors import InputError

MAX_PHONE_CHARS = 40  # anything longer is not a phone number typed by a person

# Numbers that can take SMS and WhatsApp. FIXED_LINE_OR_MOBILE is how libphonenumber reports
# ranges it cannot tell apart (much of North America): assume they reach a handset.
MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
# Numbers that cannot take SMS or WhatsApp. Service numbers (toll-free 0800, premium, shared
# cost, UAN) are stored as "landline" so the outbox suppresses phone channels for them too.
LANDLINE_TYPES = frozenset(
    {
        PhoneNumberType.FIXED_LINE,
        PhoneNumberType.TOLL_FREE,
        PhoneNumberType.PREMIUM_RATE,
        PhoneNumberType.SHARED_COST,
        PhoneNumberType.UAN,
        PhoneNumberType.VOICEMAIL,
    }
)

LANDLINE_WARNING = "landline: SMS/WhatsApp will not be sent"

_POSSIBLE_REASONS = {
    ValidationResult.INVALID_COUNTRY_CODE: "unknown country code",
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.TOO_LONG: "too long",
    ValidationResult.INVALID_LENGTH: "wrong number of digits",
}


@dataclass(frozen=True, slots=True)
class Phone:
    """A valid phone number: E.164 text and ``mobile``, ``landline`` or ``unknown``."""

    e164: str
    kind: str

    @property
    def reachable_by_phone(self) -> bool:
        """Whether SMS/WhatsApp may be tried (unknown kinds are tried; the provider decides)."""
        return self.kind != "landline"


def normalize_phone(raw: str, region: str | None) -> Phone:
    """``raw`` as E.164 with its kind; numbers without a country code are read in ``region``.

    Raises :class:`InputError` (field ``phone``) with the reason when it is not a valid number.
    """
    text = raw.strip()
    if not text:
        raise InputError("empty phone number", field="phone")
    if len(text) > MAX_PHONE_CHARS:
        raise InputError(f"longer than {MAX_PHONE_CHARS} characters", field="phone")
    default = (region or "").upper() or None
    try:
        number = phonenumbers.parse(text, default)
    except NumberParseException as err:
        raise InputError(_parse_reason(err, text, default), field="phone") from err
    if not phonenumbers.is_valid_number(number):
        raise InputError(_invalid_reason(number, text), field="phone")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return Phone(e164, _kind(phonenumbers.number_type(number)))


def _kind(number_type: int) -> str:
    if number_type in MOBILE_TYPES:
        return "mobile"
    if number_type in LANDLINE_TYPES:
        return "landline"
    return "unknown"


def _parse_reason(err: NumberParseException, text: str, region: str | None) -> str:
    if err.error_type == NumberParseException.INVALID_COUNTRY_CODE:
        if text.startswith("+"):
            return f"{text!r}: unknown country code"
        return f"{text!r}: no country code, and no default country ({region or 'none'}) applies"
    if err.error_type in (
        NumberParseException.TOO_SHORT_NSN,
        NumberParseException.TOO_SHORT_AFTER_IDD,
    ):
        return f"{text!r}: too short to be a phone number"
    if err.error_type == NumberParseException.TOO_LONG:
        return f"{text!r}: too long to be a phone number"
    return f"{text!r} is not a phone number"


def _invalid_reason(number: phonenumbers.PhoneNumber, text: str) -> str:
    where = phonenumbers.region_code_for_number(number) or f"+{number.country_code}"
    possible = phonenumbers.is_possible_number_with_reason(number)
    reason = _POSSIBLE_REASONS.get(possible)
    if reason:
        return f"{text!r}: {reason} for a phone number in {where}"
    return f"{text!r} is not a valid phone number in {where}"


def normalize_email(raw: str) -> str:
    """``raw`` checked for syntax (no DNS lookups: intake must stay fast and offline) and
    normalized. Raises :class:`InputError` (field ``email``) with the validator's reason.

    The whole address is lower-cased: mailbox providers treat the local part case-insensitively
    in practice, and one shopper typed two ways must stay one recipient.
    """
    text = raw.strip()
    if not text:
        raise InputError("empty email address", field="email")
    try:
        info = validate_email(text, check_deliverability=False)
    except EmailNotValidError as err:
        raise InputError(f"{text!r}: {err}", field="email") from err
    return info.normalized.lower()
