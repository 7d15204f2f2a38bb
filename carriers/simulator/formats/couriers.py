"""What the Indonesian aggregator formats (Binderbyte, Biteship, RajaOngkir) share: the courier
codes each API accepts, the couriers' display names, and the manifest wording.

These APIs relay the courier's own free text and a summary word (DELIVERED, ON PROCESS, ...),
with no status codes, so the wording *is* the code: each native code has one courier sentence
in the style of Indonesian manifests ("Paket sedang diantar ke alamat penerima [...]"), and the
summary word a courier shows while the parcel is in that state.
"""

from __future__ import annotations

from carriers.simulator.formats.base import Event


def _codes(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Request codes each API documents (Binderbyte GET /v1/list_courier; Biteship courier codes;
# RajaOngkir Pro / Komerce ``courier`` values).
BINDERBYTE = _codes(
    "jne pos jnt jnt_cargo sicepat tiki anteraja wahana ninja lion pcp jet rex "
    "first ide spx kgx sap rpx lex indah_cargo dakota kurir_tokopedia"
)
BITESHIP = _codes(
    "jne jnt sicepat anteraja idexpress ninja lion pos tiki wahana sap rpx "
    "sentralcargo ncs jdl grab gojek paxel lalamove borzo deliveree rara"
)
RAJAONGKIR = _codes(
    "jne pos tiki rpx pandu wahana sicepat jnt pahala sap jet indah dse slis "
    "first ncs star ninja lion idl rex ide sentral anteraja jtl spx"
)
NAMES = {"jne": "JNE", "jnt": "J&T Express", "jnt_cargo": "J&T Cargo", "sicepat": "SiCepat",
         "anteraja": "AnterAja", "spx": "Shopee Express", "lion": "Lion Parcel",
         "ninja": "Ninja Xpress", "pos": "Pos Indonesia", "tiki": "TIKI", "wahana": "Wahana",
         "ide": "ID Express", "idexpress": "ID Express", "sap": "SAP Express", "jet": "JET Express",
         "rex": "REX Express", "first": "First Logistics", "rpx": "RPX", "ncs": "NCS"}  # fmt: skip

# native code -> the courier's sentence ({place} is the scan's place)
PHRASES: dict[str, str] = {
    "MANIFESTED": "Data pengiriman telah dibuat, menunggu penjemputan [{place}]",
    "PICKED_UP": "Paket telah di pick up oleh kurir [{place}]",
    "ARRIVED_HUB": "Paket telah sampai di {place}",
    "DEPARTED_HUB": "Paket keluar dari {place}",
    "DELAYED": "Paket tertunda di {place}, estimasi tiba diperbarui",
    "OUT_FOR_DELIVERY": "Paket sedang diantar ke alamat penerima [{place}]",
    "DELIVERY_FAILED": "Paket gagal diantar, penerima tidak di tempat [{place}]",
    "READY_FOR_PICKUP": "Paket siap diambil di {place}",
    "COLLECTED": "Paket telah diambil oleh penerima di {place}",
    "DELIVERED": "Paket telah diterima oleh penerima (YBS) [{place}]",
    "DAMAGED": "Paket rusak, dalam proses klaim [{place}]",
    "CUSTOMS_HOLD": "Paket tertahan di bea cukai [{place}]",
    "RETURNING": "Paket dalam proses retur ke pengirim [{place}]",
    "RETURNED": "Paket retur telah diterima oleh pengirim [{place}]",
}
# native code -> the summary word; in-progress states all read "ON PROCESS" (the newest
# manifest line says more); before the first pickup there is no summary yet.
SUMMARY: dict[str, str] = {
    "PENDING": "",
    "MANIFESTED": "",
    "DELIVERED": "DELIVERED",
    "COLLECTED": "DELIVERED",
    "DAMAGED": "RUSAK",
    "CUSTOMS_HOLD": "ON HOLD",
    "RETURNING": "RETUR",
    "RETURNED": "RETURNED",
    "EXPIRED": "",  # couriers do not expire a label: nothing more to say
}
IN_PROGRESS = "ON PROCESS"


def phrase(event: Event) -> str:
    return PHRASES[event.code].format(place=event.place)


def summary(code: str) -> str:
    return SUMMARY.get(code, IN_PROGRESS)


def name(courier: str) -> str:
    return NAMES.get(courier, courier.upper())
