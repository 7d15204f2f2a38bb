"""Which carrier a tracking number belongs to, from its format and check digit. Pure.

:func:`detect` lists every plausible ``(carrier, courier)`` for a number, most likely first;
:func:`resolve_carrier` picks one for intake, and the merchant's stated carrier always wins.

Formats and check digits (the number is read without spaces, upper case):

* UPS ``1Z`` + 15 characters + a check digit: letters become digits as ``(ord(c) - 63) % 10``
  (A=2 ... Z=7), odd positions are added, even positions added twice, and the check digit takes
  the sum to the next multiple of 10 (UPS "modified mod 10", as published in UPS's developer
  answers and label guides).
* FedEx Express 12 digits: weights 1, 3, 7 repeating from the right over the first 11 digits;
  the check digit is ``sum mod 11`` (10 counts as 0) (FedEx's published Express algorithm).
* FedEx Ground 15 digits and the 22-digit ``96`` bar code (whose last 15 digits are the
  tracking number): mod 10 with weight 3 on every other digit from the right (FedEx Ground
  "Bar Code & Label Layout Specification", check digit algorithms).
* FedEx SmartPost 20 digits: the USPS IMpb check with the ``92`` application identifier put back
  in front (SmartPost parcels carry a USPS IMpb).
* USPS IMpb 20-22 and 26-34 digits: the same mod 10 (USPS Publication 199); a ``420`` + ZIP
  routing prefix (5, 9 or 11 digits) is removed first.
* UPU S10 ``AA123456789CC`` (UPU standard S10): weights 8 6 4 2 3 5 9 7 over the serial, check
  ``11 - sum mod 11`` (10 -> 0, 11 -> 5). ``..ID`` is Pos Indonesia, ``..US`` USPS,
  ``..CA`` Canada Post; any other country goes to the worldwide aggregators.
* DHL Express waybill 10 digits: the check digit is the first nine digits mod 7; DHL piece ids
  ``JJD`` + 18 digits have no check digit.
* Indonesian couriers have no published check digits; their prefixes and lengths are read from
  the aggregators' documentation examples and real waybills, and are scored lower when the
  shape alone (digits of a common length) says little.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from carriers import indonesia as idn

# Aggregators that track any courier of a format (the courier code is theirs, or auto-detected),
# and how much less likely they are than the courier's own API for the same number.
WORLDWIDE = ("aftership", "17track", "trackingmore")
WORLDWIDE_FACTOR = 0.5
MULTI_CARRIER_FACTOR = 0.6  # EasyPost and Shippo: need the carrier named, cover US carriers
INDONESIAN = ("binderbyte", "biteship", "rajaongkir")

# Direct carrier -> the carrier names EasyPost and Shippo expect for it.
EASYPOST_NAMES = {
    "ups": "UPS",
    "fedex": "FedEx",
    "usps": "USPS",
    "dhl": "DHLExpress",
    "canadapost": "CanadaPost",
}
SHIPPO_NAMES = {
    "ups": "ups",
    "fedex": "fedex",
    "usps": "usps",
    "dhl": "dhl_express",
    "canadapost": "canada_post",
}


@dataclass(frozen=True, slots=True)
class Candidate:
    """One plausible reading of a number: track it with ``carrier`` (and ``courier`` for an
    aggregator). ``confidence`` is 0..1; ``format`` names the rule that matched."""

    carrier: str
    courier: str | None
    confidence: float
    reason: str
    format: str = ""

    def __str__(self) -> str:
        who = f"{self.carrier}/{self.courier}" if self.courier else self.carrier
        return f"{who}\t{self.confidence:.2f}\t{self.reason}"


class CarrierNotDetected(ValueError):
    """No installed carrier fits the number and the merchant named none."""


# --------------------------------------------------------------------------- check digits


def mod10(digits: str) -> bool:
    """The last digit is the mod 10 check of the others, weight 3 on every other digit from the
    right (GS1 / USPS IMpb / FedEx Ground)."""
    body, check = digits[:-1], int(digits[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def ups_check(number: str) -> bool:
    """``1Z`` + 15 characters + check digit, UPS's modified mod 10."""
    if not number[17:].isdigit():
        return False
    values = [int(c) if c.isdigit() else (ord(c) - 63) % 10 for c in number[2:17]]
    total = sum(v * (2 if i % 2 else 1) for i, v in enumerate(values))
    return (10 - total % 10) % 10 == int(number[17])


def fedex_express_check(digits: str) -> bool:
    """12 digits: weights 1, 3, 7 from the right over the first 11, sum mod 11 (10 -> 0)."""
    weights = (1, 3, 7)
    total = sum(int(d) * weights[i % 3] for i, d in enumerate(reversed(digits[:-1])))
    return total % 11 % 10 == int(digits[-1])


def fedex_ground_check(digits: str) -> bool:
    """15 digits, or a 22-digit ``96`` bar code whose last 15 digits are the tracking number."""
    return mod10(digits[-15:])


def smartpost_check(digits: str) -> bool:
    """20 digits: the IMpb check with the ``92`` application identifier restored."""
    return mod10("92" + digits)


def impb_check(digits: str) -> bool:
    """USPS IMpb: mod 10 over the tracking code, after any ``420`` + ZIP routing prefix."""
    if digits.startswith("420"):
        for zip_len in (5, 9, 11):
            code = digits[3 + zip_len :]
            if len(code) in (20, 22, 26) and mod10(code):
                return True
        return False
    return mod10(digits)


S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)


def s10_check(number: str) -> bool:
    """UPU S10: ``AA`` + 8-digit serial + check digit + country."""
    total = sum(int(d) * w for d, w in zip(number[2:10], S10_WEIGHTS, strict=True))
    check = 11 - total % 11
    check = {10: 0, 11: 5}.get(check, check)
    return check == int(number[10])


def dhl_express_check(digits: str) -> bool:
    """10 digits: the check digit is the first nine digits, as a number, mod 7."""
    return int(digits[:9]) % 7 == int(digits[9])


# --------------------------------------------------------------------------- formats


@dataclass(frozen=True, slots=True)
class Format:
    """One number format: a pattern, an optional check, who carries it, how telling it is."""

    name: str
    pattern: re.Pattern[str]
    confidence: float
    reason: str
    carrier: str | None = None  # a direct carrier API
    courier: str | None = None  # an Indonesian courier (our code), tracked via aggregators
    check: Callable[[str], bool] | None = None
    digits_only: bool = False  # matched against the number without dashes


def _f(name: str, regex: str, confidence: float, reason: str, **kw: object) -> Format:
    return Format(name, re.compile(regex), confidence, reason, **kw)  # type: ignore[arg-type]


# Most telling first; every matching format yields candidates.
FORMATS: tuple[Format, ...] = (
    _f("simulator", r"^SIM[0-9A-Z]{3,}$", 0.99, "simulator number (SIM prefix)",
       carrier="simulator"),
    _f("ups", r"^1Z[0-9A-Z]{16}$", 0.97, "UPS 1Z number, check digit valid",
       carrier="ups", check=ups_check),
    _f("fedex_96", r"^96\d{20}$", 0.9, "FedEx Ground 96 bar code, check digit valid",
       carrier="fedex", check=fedex_ground_check, digits_only=True),
    _f("usps_impb", r"^9[1-5]\d{18,20}$|^9[1-5]\d{24,32}$", 0.9,
       "USPS IMpb (92-95 prefix), check digit valid",
       carrier="usps", check=impb_check, digits_only=True),
    _f("usps_impb_routed", r"^420\d{25,31}$", 0.9,
       "USPS IMpb with 420+ZIP routing, check digit valid",
       carrier="usps", check=impb_check, digits_only=True),
    _f("usps_impb_other", r"^(?!9[1-5]|420)(?:\d{20,22}|\d{26,34})$", 0.55,
       "USPS tracking code length, check digit valid",
       carrier="usps", check=impb_check, digits_only=True),
    _f("fedex_smartpost", r"^\d{20}$", 0.5, "FedEx SmartPost 20 digits, IMpb check digit valid",
       carrier="fedex", check=smartpost_check, digits_only=True),
    _f("fedex_express", r"^\d{12}$", 0.6, "FedEx Express 12 digits, mod 11 check digit valid",
       carrier="fedex", check=fedex_express_check, digits_only=True),
    _f("fedex_ground", r"^\d{15}$", 0.6, "FedEx Ground 15 digits, mod 10 check digit valid",
       carrier="fedex", check=fedex_ground_check, digits_only=True),
    _f("dhl_express", r"^\d{10}$", 0.6, "DHL Express waybill 10 digits, mod 7 check digit valid",
       carrier="dhl", check=dhl_express_check, digits_only=True),
    _f("dhl_piece", r"^JJD\d{18}$", 0.85, "DHL piece id (JJD + 18 digits)", carrier="dhl"),
    _f("s10_id", r"^[A-Z]{2}\d{9}ID$", 0.92, "UPU S10 from Pos Indonesia (..ID), check digit valid",
       courier="pos", check=s10_check),
    _f("s10_us", r"^[A-Z]{2}\d{9}US$", 0.92, "UPU S10 from USPS (..US), check digit valid",
       carrier="usps", check=s10_check),
    _f("s10_ca", r"^[A-Z]{2}\d{9}CA$", 0.92, "UPU S10 from Canada Post (..CA), check digit valid",
       carrier="canadapost", check=s10_check),
    _f("s10", r"^[A-Z]{2}\d{9}(?!ID|US|CA)[A-Z]{2}$", 0.9, "UPU S10 postal item, check digit "
       "valid", check=s10_check),
    _f("canadapost_pin", r"^\d{16}$", 0.35, "Canada Post 16-digit PIN (no check digit)",
       carrier="canadapost", digits_only=True),
    # Indonesian couriers (no published check digits).
    _f("spx", r"^SPXID[0-9A-Z]{8,16}$", 0.95, "Shopee Express (SPXID prefix)", courier="spx"),
    _f("kurir_rekomendasi", r"^TKP\d{2}-[0-9A-Z]{4,}$", 0.9, "Tokopedia Kurir Rekomendasi (TKP)",
       courier="kurir_rekomendasi"),
    _f("jnt", r"^J[PXDB]\d{10}$", 0.85, "J&T Express (JP/JX/JD/JB + 10 digits)", courier="jnt"),
    _f("ninja", r"^(?:NV|NLID)[0-9A-Z]{6,24}$", 0.8, "Ninja Xpress (NV / NLID prefix)",
       courier="ninja"),
    _f("lion", r"^\d{2}-\d{2}-\d{6,12}$|^\d{2}LP\d{8,16}$", 0.75,
       "Lion Parcel STT (11-.. / ..LP..)", courier="lion"),
    _f("ide", r"^IDS\d{10,13}$", 0.7, "ID Express (IDS prefix)", courier="ide"),
    _f("sicepat", r"^00\d{10}$", 0.7, "SiCepat (12 digits starting 00)", courier="sicepat",
       digits_only=True),
    _f("lex", r"^LX[A-Z]{2}-?\d{8,14}$", 0.6, "Lazada Express (LX.. prefix)", courier="lex"),
    _f("tiki", r"^\d{12}$", 0.3, "TIKI (12 digits)", courier="tiki", digits_only=True),
    _f("jne", r"^\d{15,16}$", 0.35, "JNE (15-16 digits)", courier="jne", digits_only=True),
    _f("anteraja", r"^10\d{12}$", 0.35, "AnterAja (14 digits starting 10)", courier="anteraja",
       digits_only=True),
)  # fmt: skip


def normalize(number: str) -> str:
    """As stored: no whitespace, upper case."""
    return re.sub(r"\s+", "", number).upper()


def _matches(fmt: Format, number: str) -> bool:
    value = number.replace("-", "") if fmt.digits_only else number
    if not fmt.pattern.match(value):
        return False
    return fmt.check is None or fmt.check(value)


def _direct(fmt: Format, carrier: str) -> list[Candidate]:
    """The carrier's own API, then the multi-carrier APIs that need the carrier named."""
    out = [Candidate(carrier, None, fmt.confidence, fmt.reason, fmt.name)]
    scaled = round(fmt.confidence * MULTI_CARRIER_FACTOR, 3)
    for api, names in (("easypost", EASYPOST_NAMES), ("shippo", SHIPPO_NAMES)):
        if carrier in names:
            out.append(Candidate(api, names[carrier], scaled, f"{fmt.reason}; via {api}", fmt.name))
    return out


def _indonesian(fmt: Format, courier: str) -> list[Candidate]:
    """Each Indonesian aggregator that lists the courier (``indonesia.COURIERS``)."""
    known = next((c for c in idn.COURIERS if c.code == courier), None)
    return [
        Candidate(api, courier, fmt.confidence, f"{fmt.reason}; via {api}", fmt.name)
        for api in INDONESIAN
        if known is not None and getattr(known, api)
    ]


def _worldwide(fmt: Format) -> list[Candidate]:
    scaled = round(fmt.confidence * WORLDWIDE_FACTOR, 3)
    reason = f"{fmt.reason}; {{}} detects the courier"
    return [Candidate(api, None, scaled, reason.format(api), fmt.name) for api in WORLDWIDE]


def detect(number: str) -> list[Candidate]:
    """Every plausible carrier for ``number``, most likely first; [] when no format fits.

    A format with a check digit only matches when the check digit is right.
    """
    value = normalize(number)
    found: list[Candidate] = []
    for fmt in FORMATS:
        if not _matches(fmt, value):
            continue
        if fmt.carrier:
            found += _direct(fmt, fmt.carrier)
        if fmt.courier:
            found += _indonesian(fmt, fmt.courier)
        if fmt.carrier != "simulator":
            found += _worldwide(fmt)
    return _ranked(found)


def _ranked(found: Iterable[Candidate]) -> list[Candidate]:
    """Highest confidence first; one entry per (carrier, courier), keeping its best reading."""
    best: dict[tuple[str, str | None], Candidate] = {}
    order = sorted(enumerate(found), key=lambda p: (-p[1].confidence, p[0]))
    for _, cand in order:
        best.setdefault((cand.carrier, cand.courier), cand)
    return list(best.values())


def resolve_carrier(
    stated: str | None,
    courier: str | None,
    number: str,
    installed: set[str] | frozenset[str],
    preference: Sequence[str] = (),
) -> tuple[str, str | None]:
    """The (carrier, courier) to track ``number`` with.

    The merchant's stated carrier always wins (with the stated courier, as given). Otherwise the
    most telling format among the installed carriers decides, and ``preference`` (carrier ids,
    most wanted first) chooses between the carriers that can track that format. A stated courier
    without a carrier keeps only readings of that courier, or falls back to the first installed
    aggregator that can track it. Raises :class:`CarrierNotDetected` when nothing fits.
    """
    if stated and stated.strip():
        return stated.strip().lower(), courier
    wanted = idn.courier_code(courier.strip().lower()) if courier and courier.strip() else None
    usable = [c for c in detect(number) if c.carrier in installed]
    if wanted:
        usable = [c for c in usable if _reads_as(c, wanted)]
    if usable:
        strength: dict[str, float] = {}
        for cand in usable:
            strength[cand.format] = max(strength.get(cand.format, 0.0), cand.confidence)
        rank = {carrier: i for i, carrier in enumerate(preference)}
        pick = min(
            usable,
            key=lambda c: (-strength[c.format], rank.get(c.carrier, len(rank)), -c.confidence),
        )
        return pick.carrier, pick.courier or wanted
    if wanted:
        for carrier in [*preference, *sorted(installed)]:
            if carrier in installed and _can_track(carrier, wanted):
                return carrier, wanted
    raise CarrierNotDetected(f"cannot tell the carrier of {number!r}: name the carrier")


_BY_NAME = {f.name: f for f in FORMATS}


def _reads_as(cand: Candidate, courier: str) -> bool:
    """The candidate is a reading of ``courier`` (our code, or a direct carrier's id)."""
    fmt = _BY_NAME.get(cand.format)
    return cand.courier == courier or (fmt is not None and courier in (fmt.courier, fmt.carrier))


def _can_track(carrier: str, courier: str) -> bool:
    """Whether an aggregator can be asked about ``courier`` at all."""
    if carrier in WORLDWIDE:
        return True
    if carrier in INDONESIAN:
        known = next((c for c in idn.COURIERS if c.code == courier), None)
        return known is not None and bool(getattr(known, carrier))
    return False
