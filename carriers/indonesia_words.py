"""Reading Indonesian couriers' free text: the keyword table (Indonesian and English) and dates.

The Indonesian aggregators (Binderbyte, Biteship, RajaOngkir/Komerce) relay each courier's own
manifest lines and summary words; the wording is the only code there is. :data:`PHRASES` holds
regexes over normalized text (casefolded, punctuation -> one space) in precedence tiers: the
first tier that matches decides, so negations ("tidak diterima"), returns ("retur ...
diterima"), failures ("gagal antar"), delays ("jadwal kapal tertunda ... dijadwalkan ulang") and
look-alikes ("diterima di gudang", "received by JNE counter officer", "menunggu paket diserahkan
ke kurir") are read before the plain words they contain.

Wording sources: the aggregators' documentation examples (Binderbyte "API CEK RESI" for J&T,
SiCepat, TIKI, Lion, PCP, RPX, Kurir Rekomendasi; Biteship tracking docs and status table;
RajaOngkir waybill example for JNE), and manifests published in public code: JNE's tracking API
(codes PU0, RC1, OP1, OP3, IP2, IP3, D01 with their texts), J&T's status list (Manifes, "Paket
akan dikirimkan ke", "Paket telah diterima oleh <outlet>", "Paket telah sampai di", "Paket akan
dikirim ke alamat penerima", "Paket telah diterima", "Paket disimpan di gudang J&T", "Paket akan
diretur", "Package returned to seller", "Expired AWB"), SiCepat track_history (PICKREQ, IN, OUT,
ANT, DELIVERED), SPX (Shopee) timelines, Ninja Xpress granular statuses, Pos Indonesia
(Penerimaan di Loket, Tiba di Hub, Proses antar, Selesai Antar).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from carriers.base import Status
from carriers.parsing import parse_time, text

S = Status


@dataclass(frozen=True, slots=True)
class Phrase:
    """A regex over normalized text (casefolded, punctuation -> single spaces)."""

    pattern: str
    status: Status
    couriers: frozenset[str] = frozenset()  # only for these couriers (ours); empty = all


@dataclass(frozen=True, slots=True)
class Match:
    status: Status
    keyword: str  # the matched words, kept as the event's raw code
    tier: str


# J&T writes "Paket telah diterima oleh <outlet>" when a branch accepts the parcel and plain
# "Paket telah diterima" on delivery; read alone, the first is an acceptance scan. The keyword
# is kept so that :func:`carriers.indonesia.settle` can read it as a delivery when it follows
# the courier's delivery run (a branch never accepts a parcel that is out for delivery).
ACCEPTANCE = "paket telah diterima oleh"

_DI = r"(?:di ?)?"  # Indonesian passive prefix, written "diterima", "di terima" or "di-terima"
_PICK = r"(?:pick ?up|pickup|picked|jemput|penjemputan)"
_HERE = (
    r"(?:counter|loket|kantor|outlet|agen|agent|point|gerai|toko|store|locker|loker|drop ?point"
    r"|pudo|post office|kantor pos|branch|cabang|warehouse|gudang|hub|indomaret|alfamart|station)"
)
_CARRIER_SIDE = (
    r"(?:kurir|courier|sigesit|sprinter|driver|agen|agent|counter|gerai|petugas|officer|cabang"
    r"|branch|gudang|warehouse|hub|drop ?point|mitra|staff|loket|kantor|jne|tiki|j ?t|sicepat"
    r"|pos|lion|ninja|anteraja|spx|sorting|origin|station|gateway|the courier|our courier"
    r"|service point|first mile|last mile|dc|soc|transit)"
)
_FAILED_WORD = r"(?:gagal|failed|unsuccessful|tidak berhasil)"


def _tier(status: Status, *patterns: str, couriers: str = "") -> tuple[Phrase, ...]:
    only = frozenset(c for c in couriers.split("|") if c)
    return tuple(Phrase(p, status, only) for p in patterns)


# Tiers in precedence order: the first tier with a match decides (the longest match in it is kept
# as the raw keyword). Earlier tiers are the more specific or the more serious readings.
# fmt: off
PHRASES: tuple[tuple[str, tuple[Phrase, ...]], ...] = (
    ("lost_damaged", _tier(
        S.EXCEPTION,
        r"\bhilang\b", r"\blost\b", r"\brusak\b", r"\bdamaged?\b", r"\bbroken\b", r"\bpecah\b",
        r"\bdisposed?\b", r"\b(?:di ?)?musnahkan\b", r"\bpemusnahan\b", r"\bstolen\b",
        r"\bdicuri\b", r"\bdestroyed\b",
    )),
    ("expired", _tier(
        S.EXPIRED,  # J&T: a waybill nobody handed over lapses ("Expired AWB")
        r"\bexpired awb\b", r"\bawb (?:is )?expired\b",
        r"\bresi (?:sudah |telah )?(?:kedaluwarsa|kadaluarsa|kadaluwarsa|expired)\b",
    )),
    ("returned", _tier(
        S.RETURNED_TO_SENDER,
        r"(?:\b|di)retur", r"\brts\b", r"\bpengembalian\b",
        r"\b(?:di ?)?kembalikan\b(?! (?:ke|di) (?:gudang|hub|cabang|kantor|drop ?point|agen"
        r"|gerai|warehouse|loket)\b)",
        r"\bkembali ke (?:pengirim|penjual|asal|seller|shipper|toko|origin)",
        r"\bback to (?:the )?(?:sender|shipper|seller|origin|merchant)",
    )),
    ("cancelled", _tier(
        S.EXCEPTION,
        r"\bcancel", r"\b(?:di ?)?batal(?:kan)?\b", r"\bpembatalan\b", r"\bvoid(?:ed)?\b",
        r"\b(?:courier|kurir|driver) (?:not found|tidak ditemukan|tidak tersedia|unavailable)",
    )),
    ("failed", _tier(
        S.FAILED_ATTEMPT,
        r"\bgagal\b(?! (?:di ?)?(?:pick|jemput|ambil|diambil|menjemput))", r"\bundelivered\b",
        r"\bnot delivered\b", r"\bunsuccess", r"\bdelivery attempt", r"\battempted\b",
        r"(?<!pickup )(?<!pick up )\bfailed\b(?! (?:to )?pick)",
        r"\bnot (?:received|successful)\b", r"\btidak berhasil\b(?! (?:di ?)?(?:pick|jemput))",
        r"\b(?:tidak|belum|bukan|tak) (?:ber ?hasil )?"
        r"(?:di ?terima|terkirim|di ?antar|sampai)\b",
        r"\b(?:tidak|tak|tdk) (?:dapat|bisa) (?:di ?)?(?:antar|kirim|terima)(?:kan)?\b",
        r"\b(?:unable|could not|couldn t|cannot|can t) (?:to )?(?:be )?deliver",
        r"\bpenerima (?:tidak|tdk|belum) "
        r"(?:di ?tempat|ada|dikenal|ditemukan|dapat|bisa|menjawab|mau)",
        r"\bpenerima (?:pindah|sudah pindah|meninggal)", r"\btidak ada (?:yang|orang) (?:di ?rumah|"
        r"menerima)",
        r"\b(?:tidak|tdk) (?:ada )?di ?tempat\b", r"\btidak ada orang\b", r"\brumah kosong\b",
        r"\b(?:not|nobody|no one) (?:at )?home\b", r"\bno one (?:at|available)\b",
        r"\balamat (?:tidak|tdk|kurang|belum) (?:ditemukan|lengkap|jelas|dikenal|sesuai|valid)",
        r"\b(?:alamat salah|salah alamat|pindah alamat)\b",
        r"\b(?:bad|wrong|incorrect|incomplete|insufficient|invalid|unknown) address",
        r"\baddress (?:not found|unknown|incomplete|incorrect|not complete)",
        r"\b(?:consignee|cnee|recipient|receiver|customer) (?:is |was )?"
        r"(?:unknown|not|moved|refused|tidak|absent|unavailable)", r"\bnotice (?:card )?left\b",
        r"\b(?:di ?)?tolak\b", r"\bmenolak\b", r"\brefuse", r"\bpenolakan\b",
        r"\brejected by (?:the )?(?:consignee|recipient|customer|receiver|penerima)",
        r"\bpercobaan (?:pengiriman|pengantaran|antar)",
        r"\b(?:toko|kantor|rumah|office|shop|business) (?:tutup|closed)\b",
        r"\b(?:tidak|tak|tdk) (?:dapat|bisa) dihubungi\b", r"\bunreachable\b",
        r"\b(?:telepon|telp|hp|nomor) (?:penerima )?(?:tidak|tdk) aktif\b",
        r"\bcod (?:ditolak|gagal|rejected)", r"\buang (?:tidak|kurang) cukup\b",
    )),
    ("pickup_point_at", _tier(
        S.AVAILABLE_FOR_PICKUP,
        r"\b(?:ready|siap|available|tersedia|dapat|bisa|menunggu|tunggu) (?:for |to be |to "
        rf"|untuk )?(?:di ?)?(?:pick ?up|picked up|collect\w*|ambil|diambil) (?:at|di|from|dari) "
        rf"(?:the )?(?:\w+ ){{0,3}}?{_HERE}\b",
        r"\bhold (?:for|at) (?:\w+ )?(?:pick ?up|collection)",
        r"\b(?:delivered|taken|brought) to (?:the |a )?(?:retail outlet|parcel ?shop|packstation"
        r"|service point|pick ?up point|post office|pudo|collection point|access point)",
        r"\bheld (?:for|at) (?:the )?(?:\w+ )?(?:pick ?up|collection|counter|post office|branch"
        r"|outlet|pudo|locker)",
    )),
    ("problem", _tier(
        S.EXCEPTION,
        r"\bon ?hold\b", r"\bhold\b", r"\bheld\b", r"\b(?:di ?)?tahan\b", r"\btertahan\b",
        r"\bbermasalah\b", r"\bproblem", r"\bkendala\b", r"\bexception\b", r"\bmisrout",
        r"\bmissort", r"\bsalah (?:kirim|sortir|rute|routing|tujuan)\b",
        r"\bdisimpan di gudang\b", r"\bklaim\b", r"\bclaim", r"\binvestigasi\b",
        r"\binvestigation\b", r"\bforce majeure\b", r"\bbencana\b", r"\bsedang ditangani\b",
        r"\bpenanganan khusus\b", r"\bsita\b", r"\bdisita\b", r"\bseized\b",
    )),
    ("delay", _tier(
        # A late vessel, flight or truck reschedules the parcel, not a delivery: in transit.
        S.IN_TRANSIT,
        r"\btertunda\b", r"\bditunda\b", r"\bdelay(?:ed)?\b", r"\bterlambat\b",
        r"\bketerlambatan\b", r"\bcuaca\b", r"\bweather\b", r"\bhigh volume\b",
        r"\bvolume (?:kiriman )?(?:tinggi|padat)\b", r"\b(?:vessel|flight|truck) schedule\b",
        r"\bjadwal (?:kapal|pesawat|penerbangan|keberangkatan|truk|armada)\b",
    ) + _tier(
        S.INFO_RECEIVED,  # unless it is the pickup that is late
        rf"\b{_PICK} (?:tertunda|ditunda|delayed|postponed)\b",
        rf"\b(?:tertunda|ditunda|delayed|postponed) {_DI}{_PICK}\b",
    )),
    ("failed_again", _tier(
        S.FAILED_ATTEMPT,  # another run after a missed delivery
        r"\bantar ulang\b", r"\bkirim ulang\b", r"\bantar kembali\b", r"\bredeliver",
        r"\bakan (?:di ?)?(?:antar|kirim)(?:kan)? (?:ulang|kembali)\b",
        r"\bre delivery\b", r"\breschedul", r"\b(?:di ?jadwalkan|jadwal) ulang\b",
    )),
    ("before_pickup", _tier(
        S.INFO_RECEIVED,
        rf"\b(?:request|permintaan|req|minta) ?{_DI}{_PICK}", rf"\b{_PICK} request",
        r"\b(?:menunggu|waiting|awaiting|pending|siap|ready|akan|will be|to be) "
        rf"(?:for |to be |to )?{_DI}{_PICK}",
        r"\b(?:menunggu|waiting for|awaiting) (?:di ?ambil|diambil|collection) "
        r"(?:oleh |by )?(?:kurir|courier|driver)",
        r"\b(?:menunggu|waiting|awaiting|belum) (?:for )?(?:\w+ ){0,3}?"
        r"(?:di ?serahkan|diserah ?terimakan|handed over|to be handed|dropped off)\b",
        r"\b(?:pengirim|penjual|seller|shipper) (?:telah |sudah |has )?(?:mengatur|arranged) "
        r"(?:pengiriman|shipment)",
        r"\bsiap (?:di ?)?ambil (?:oleh )?(?:kurir|courier|driver)",
        r"\bmenunggu (?:kurir|driver|courier|penjemputan)\b",
        r"\b(?:en ?route|on the way|otw|menuju|heading) (?:to |ke )?(?:the )?"
        rf"(?:{_PICK}|lokasi (?:pengirim|penjual|penjemputan)|pickup location)",
        r"\b(?:akan|sedang) (?:menjemput|mengambil) (?:paket|pesanan|barang)",
        rf"\bsedang {_DI}(?:jemput|pick ?up)\b",
        r"\b(?:di ?proses|processed) (?:oleh )?(?:penjual|seller|toko|merchant)",
        r"\blabel (?:pengiriman )?(?:telah |sudah )?(?:di ?cetak|printed|created|dibuat)",
        r"\bkurir (?:sedang |akan )?(?:dalam perjalanan|menuju|on the way) (?:untuk |to )?"
        r"(?:mengambil|menjemput|pick|ke (?:lokasi|alamat|tempat) "
        r"(?:penjual|pengirim|seller|toko))",
        r"\b(?:courier|driver) (?:is )?on the way to pick", r"\bto pick ?up (?:the )?item",
        r"\b(?:kurir|driver|courier) (?:telah |sudah )?ditugaskan (?:untuk )?"
        r"(?:menjemput|mengambil|pick)",
        rf"\bgagal {_DI}(?:{_PICK}|ambil|diambil|menjemput)", rf"\b{_PICK} (?:failed|gagal)",
        rf"\bfailed (?:to )?{_PICK}", rf"\b{_PICK} (?:scheduled|dijadwalkan|terjadwal)",
        rf"\btidak berhasil {_DI}{_PICK}", rf"\b{_PICK} (?:exception|fail)\b",
        r"\b(?:pesanan|order|paket|parcel) (?:sedang )?(?:disiapkan|dikemas|being prepared)",
        r"\b(?:penjual|seller) (?:sedang |is )?(?:menyiapkan|mempersiapkan|preparing)",
        r"\blocating (?:the )?(?:nearest )?driver", r"\bmencari (?:driver|kurir)",
        r"\bfinding (?:a )?driver\b",
        r"(?<!picked and )(?<!picked up and )\b(?:siap|ready) (?:di ?kirim|to (?:be )?ship)",
        r"^manifes$",
    )),
    ("pickup_point", _tier(
        S.AVAILABLE_FOR_PICKUP,
        r"\b(?:siap|dapat|bisa|silakan|silahkan) (?:untuk )?(?:di ?)?ambil\b",
        r"\btersedia untuk (?:di ?)?ambil\b",
        r"\bmenunggu (?:untuk )?(?:di ?)?ambil (?:oleh )?(?:penerima|pembeli|customer|recipient)",
        r"\b(?:available|ready) for (?:collection|pick ?up)\b", r"\bawaiting collection\b",
        r"\b(?:di ?)?ambil sendiri\b", r"\bdrop ?point pengambilan\b", r"\btitik pengambilan\b",
        r"\bcollection point\b", r"\bheld at (?:the )?(?:counter|post office|branch|outlet)",
        r"\b(?:masuk|di|in|placed in|deposited in) (?:the )?(?:loker|locker|parcel locker)\b",
        r"\barrived at (?:the )?(?:distribution|collection|pickup|pick up) point\b",
    )),
    ("not_delivery", _tier(
        S.IN_TRANSIT,
        r"\b(?:di ?)?terima di\b", r"\breceived (?:at|in|on)\b",
        rf"\breceived by {_CARRIER_SIDE}\b", rf"\b(?:di ?)?terima (?:oleh )?{_CARRIER_SIDE}\b",
        r"\bpenerimaan (?:di )?(?:loket|gudang|hub|kantor|agen|counter|gerai|cabang)\b",
        r"\bpicked (?:up )?and ready",
        rf"\b(?:successfully|berhasil|sukses) {_DI}(?:{_PICK}|diambil|proses|processed|sorted"
        r"|sortir|kirim ke|tiba|sampai di|arrived|departed|manifest)",
        rf"\b{_PICK} (?:success|sukses|berhasil|done|completed)",
        r"\b(?:handed (?:over )?to|diserahkan (?:ke|kepada)) (?:the )?(?:courier|carrier|kurir"
        r"|logistic|3pl|jasa kirim|ekspedisi|delivery partner|mitra)",
    ) + _tier(
        S.IN_TRANSIT,
        r"\bpaket telah diterima oleh\b(?!.*\b(?:ybs|penerima|yang bersangkutan|keluarga|kel"
        r"|sendiri|tetangga|satpam|security|orang tua|receiver|pembeli)\b)",
        couriers="jnt|jnt_cargo",
    )),
    ("delivered", _tier(
        S.DELIVERED,
        r"\bterkirim\b", r"\bdelivered\b", r"\bdi ?terima\b", r"\breceived by\b",
        r"\bsuccess(?:fully)?\b", r"\bsukses\b", r"\bberhasil (?:di ?)?(?:antar|kirim|terima)",
        r"\bantaran berhasil\b", r"\bselesai (?:di ?)?(?:antar|kirim)", r"\bpod\b",
        r"\bproof of delivery\b", r"\b(?:tiba|sampai) di alamat (?:tujuan|penerima|pembeli)",
        r"\bdiserahkan (?:kepada|ke) (?:penerima|pembeli|ybs|customer|yang bersangkutan)",
        r"\bhanded (?:over )?to (?:the )?(?:recipient|consignee|customer|receiver)",
        r"\bsigned (?:for )?by\b", r"\bdelivery (?:completed|complete|success)\b",
        r"\bcollected by (?:the )?(?:recipient|consignee|customer|receiver)",
        r"\b(?:telah|sudah) (?:di ?)?ambil oleh (?:penerima|pembeli|customer|ybs)",
        r"\bleft (?:at|with) (?:the )?(?:front |back )?(?:door|doorstep|porch|neighbou?r"
        r"|security|reception|satpam)",
        r"^(?:completed?|selesai|done|finished|sampai)$",
        r"\b(?:pesanan|paket|kiriman|parcel) (?:sudah|telah) sampai(?! (?:di|ke|dari)\b)",
    )),
    ("out_for_delivery", _tier(
        S.OUT_FOR_DELIVERY,
        r"\bsedang (?:di ?)?antar", r"\bdalam (?:proses )?pengantaran\b",
        r"\bsedang (?:di ?)?kirim(?:kan)? (?:oleh )?(?:kurir|courier)",
        r"\b(?:sedang )?dalam (?:proses )?(?:pengiriman|perjalanan) (?:ke|menuju) (?:alamat )?"
        r"(?:penerima|tujuan|pembeli|anda|kamu)",
        r"\bproses (?:antar|pengantaran)\b", r"\bwith delivery courier\b",
        r"\bout for delivery\b", r"\bon ?delivery\b", r"\bon vehicle for delivery\b",
        r"\bdelivery process\b", r"\bprocess of delivery\b", r"\bdelivering\b",
        r"\bon the way to deliver", r"\bout on delivery\b", r"\bout with (?:the )?courier\b",
        r"\bkurir (?:sedang |akan )?(?:menuju|mengantar|dalam perjalanan (?:ke|menuju)) "
        r"(?:ke )?(?:alamat|lokasi|tempat|rumah|anda|penerima|pembeli|kamu)",
        r"\b(?:akan|segera) (?:segera )?(?:di ?)?antar", r"\bmengantar(?:kan)?\b",
        r"\b(?:di ?)?antar(?:kan)? (?:ke|kepada) "
        r"(?:alamat|penerima|pembeli|customer|anda|rumah)",
        r"\b(?:di ?)?kirim(?:kan)? ke alamat (?:penerima|tujuan|pembeli|anda|kamu)",
        r"\b(?:di ?)?bawa (?:oleh )?(?:kurir|sigesit|sprinter|courier|driver)",
        r"\bpaket dibawa\b",
        r"\b(?:on the way|en route|otw|menuju) (?:to )?(?:the )?(?:customer|recipient|consignee"
        r"|penerima|pembeli|alamat penerima|alamat tujuan|your address|destination address"
        r"|lokasi pengantaran|lokasi tujuan)",
        r"\bdropping ?off\b", r"\blast mile delivery\b",
    )),
    ("in_transit", _tier(
        S.IN_TRANSIT,
        r"\btiba\b", r"\bsampai (?:di|ke)\b", r"\barriv", r"\bdepart", r"\bberangkat\b",
        r"\bdiberangkatkan\b", r"\bkeberangkatan\b", r"\bkeluar\b", r"\btransit\b",
        r"\bsort", r"\bsortir", r"\b(?:di ?)?proses\b", r"\bprocess", r"\bon ?proc",
        r"\bhub\b", r"\bgateway\b", r"\bwarehouse\b", r"\bgudang\b", r"\bloket\b",
        r"\b(?:di ?)?kirim(?:kan)?\b", r"\bpengiriman\b", r"\bmenuju\b", r"\bdalam perjalanan\b",
        r"\bon the way\b", r"\bforward", r"\bditeruskan\b", r"\bmanifest", r"\bmanifes\b",
        rf"\b{_DI}{_PICK}\b", r"\b(?:telah|sudah) (?:di ?)?ambil\b", r"\bposting\b",
        r"\bbagging\b", r"\bunbagging\b", r"\b(?:un)?pack\b", r"\b(?:un)?loaded\b", r"\bscan",
        r"\boutbound\b", r"\binbound\b", r"\bshipped\b", r"\bdispatch", r"\bstaging\b",
        r"\bline ?haul\b", r"\bkonsolidat", r"\btransfer", r"\ben ?route\b",
        r"\bconsolidat", r"\bflight\b", r"\bpesawat\b", r"\bcustoms\b", r"\bbea cukai\b",
        r"\bclearance\b", r"\bin ?transit\b", r"\bdestination\b", r"\btujuan\b",
        r"\bshipment received\b",
    )),
    ("info_received", _tier(
        S.INFO_RECEIVED,
        r"\bdata entry\b", r"\bshipment entry\b",
        r"\b(?:pesanan|order|paket|resi|awb|label|booking|pengiriman|shipment|data) "
        r"(?:pengiriman )?(?:telah |sudah |has been |is |was )?(?:di ?)?"
        r"(?:buat|dibuat|created|generated|terbit|diterbitkan|confirmed|dikonfirmasi)",
        r"\border (?:received|placed)\b", r"\bbook(?:ed|ing)\b", r"\binfo(?:rmation)? received\b",
        r"\bshipping label\b", r"\b(?:courier|driver|kurir) (?:has been )?(?:allocated|assigned"
        r"|found|ditemukan)\b",
        r"\bconfirmed\b", r"\ballocated\b", r"\bpre ?transit\b", r"\blabel\b",
        r"\belectronic(?:ally)?\b", r"\binstruction data\b", r"\bpre ?shipment\b",
        r"\bshipment information (?:received|submitted|sent)\b",
    )),
)
# fmt: on

_COMPILED: tuple[tuple[str, tuple[tuple[re.Pattern[str], Phrase], ...]], ...] = tuple(
    (name, tuple((re.compile(p.pattern), p) for p in phrases)) for name, phrases in PHRASES
)


def normalize(value: str) -> str:
    """Casefold and turn every run of punctuation or spaces into one space."""
    return re.sub(r"[\W_]+", " ", value.casefold()).strip()


def classify(value: Any, courier: str | None = None) -> Match | None:
    """The status a courier's free text means, or None when no phrase is known."""
    raw = text(value)
    if raw is None:
        return None
    words = normalize(raw)
    for tier, phrases in _COMPILED:
        best: re.Match[str] | None = None
        status = None
        for regex, phrase in phrases:
            if phrase.couriers and courier not in phrase.couriers:
                continue
            found = regex.search(words)
            if found and (best is None or len(found.group(0)) > len(best.group(0))):
                best, status = found, phrase.status
        if best is not None and status is not None:
            end = best.end()
            while end < len(words) and words[end] != " ":  # whole words: "arriv" -> "arrive"
                end += 1
            return Match(status, words[best.start() : end].strip() or words, tier)
    return None


# --------------------------------------------------------------------------- dates as written


_ZONES = {"wib": 7, "wita": 8, "wit": 9}
_MONTHS = {
    "jan": 1, "januari": 1, "january": 1, "feb": 2, "februari": 2, "february": 2, "mar": 3,
    "maret": 3, "march": 3, "apr": 4, "april": 4, "mei": 5, "may": 5, "jun": 6, "juni": 6,
    "june": 6, "jul": 7, "juli": 7, "july": 7, "agu": 8, "agt": 8, "ags": 8, "aug": 8,
    "agustus": 8, "august": 8, "sep": 9, "sept": 9, "september": 9, "okt": 10, "oct": 10,
    "oktober": 10, "october": 10, "nov": 11, "nopember": 11, "november": 11, "des": 12,
    "dec": 12, "desember": 12, "december": 12,
}  # fmt: skip
_WORDY = re.compile(r"^(\d{1,2}) ([a-z]+)\.? (\d{4})(?: (\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?)?$")
_SLASHED = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M")


def local_time(value: Any) -> datetime | None:
    """A time as these APIs write it: ISO (offset kept), "YYYY-MM-DD HH:MM[:SS]" (naive, local
    Indonesian time), "DD-MM-YYYY HH:MM", "DD/MM/YYYY HH:MM", "17 Mei 2023 12:20"; a trailing
    WIB/WITA/WIT becomes +07/+08/+09. None when it cannot be read without guessing (no year)."""
    raw = text(value)
    if raw is None:
        return None
    zone = None
    parts = raw.rsplit(" ", 1)
    if len(parts) == 2 and parts[1].casefold() in _ZONES:
        raw, zone = parts[0], timezone(timedelta(hours=_ZONES[parts[1].casefold()]))
    moment = parse_time(raw) or _wordy(raw) or _slashed(raw)
    if moment is not None and zone is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment


def _wordy(raw: str) -> datetime | None:
    found = _WORDY.match(raw.casefold())
    if not found or found.group(2) not in _MONTHS:
        return None
    day, _, year, hour, minute, second = found.groups()
    try:
        return datetime(  # noqa: DTZ001  (local time as written; the offset is unknown)
            int(year), _MONTHS[found.group(2)], int(day), int(hour or 0), int(minute or 0),
            int(second or 0),
        )  # fmt: skip
    except ValueError:
        return None


def _slashed(raw: str) -> datetime | None:
    for fmt in _SLASHED:
        try:
            return datetime.strptime(raw, fmt)  # noqa: DTZ007  (local time without offset)
        except ValueError:
            continue
    return None
