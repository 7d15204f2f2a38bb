"""The words on a simulated manifest: places, people and scan descriptions.

Routes run between real Indonesian cities and their sorting hubs. Descriptions follow two house
styles seen on real manifests: Indonesian sentences (J&T and SiCepat style, "Paket telah diterima
oleh [RINA]") and English capitals with the place in brackets (JNE style, "WITH DELIVERY COURIER
[DENPASAR]"). Every choice is drawn from the caller's seeded generator, so it is deterministic.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class Place:
    city: str
    province: str
    hub: str
    transit: str | None = None  # the gateway a parcel from Java passes on the way here


@dataclass(frozen=True, slots=True)
class Route:
    """Where one parcel goes and who handles it."""

    origin: Place
    destination: Place
    transit_hub: str | None
    pickup_point: str
    pickup_courier: str
    courier: str
    receiver: str
    sender: str
    style: str  # "id" (Indonesian sentences) or "jne" (English capitals)

    @property
    def origin_city(self) -> str:
        return f"{self.origin.city}, {self.origin.province}"

    @property
    def origin_hub(self) -> str:
        return self.origin.hub

    @property
    def destination_city(self) -> str:
        return f"{self.destination.city}, {self.destination.province}"

    @property
    def destination_hub(self) -> str:
        return self.destination.hub

    def from_abroad(self, rng: random.Random) -> Route:
        """The same parcel, but imported: it enters through customs at Soekarno-Hatta."""
        return replace(self, origin=rng.choice(ABROAD), transit_hub=CUSTOMS_GATEWAY)


ORIGINS = (
    Place("Jakarta Barat", "DKI Jakarta", "Jakarta Gateway"),
    Place("Tangerang", "Banten", "Tangerang Sorting Center"),
    Place("Bekasi", "Jawa Barat", "Bekasi Sorting Center"),
    Place("Bandung", "Jawa Barat", "Bandung Gateway"),
    Place("Semarang", "Jawa Tengah", "Semarang Gateway"),
    Place("Surabaya", "Jawa Timur", "Surabaya Gateway"),
)
DESTINATIONS = (
    Place("Depok", "Jawa Barat", "DC Depok"),
    Place("Yogyakarta", "DI Yogyakarta", "DC Yogyakarta"),
    Place("Malang", "Jawa Timur", "DC Malang"),
    Place("Denpasar", "Bali", "DC Denpasar", transit="Surabaya Gateway"),
    Place("Makassar", "Sulawesi Selatan", "DC Makassar", transit="Surabaya Gateway"),
    Place("Manado", "Sulawesi Utara", "DC Manado", transit="Surabaya Gateway"),
    Place("Balikpapan", "Kalimantan Timur", "DC Balikpapan", transit="Surabaya Gateway"),
    Place("Medan", "Sumatera Utara", "DC Medan", transit="Jakarta Gateway"),
    Place("Palembang", "Sumatera Selatan", "DC Palembang", transit="Jakarta Gateway"),
    Place("Pontianak", "Kalimantan Barat", "DC Pontianak", transit="Jakarta Gateway"),
)
ABROAD = (
    Place("Shenzhen", "Guangdong, CN", "Shenzhen Export Hub"),
    Place("Singapore", "SG", "Singapore Changi Hub"),
    Place("Kuala Lumpur", "MY", "KUL Export Hub"),
)
CUSTOMS_GATEWAY = "Gateway Soekarno-Hatta (Bea Cukai)"
SHOPS = ("Toko Sinar Jaya", "Batik Lestari", "Kopi Nusantara", "Rumah Hijab Aisyah")
STREETS = ("Jl. Sudirman", "Jl. Ahmad Yani", "Jl. Diponegoro", "Jl. Gatot Subroto", "Jl. Pahlawan")
COURIERS = ("Rudi", "Joko", "Made", "Anton", "Heru", "Fajar", "Dimas", "Yusuf")
RECEIVERS = (
    "RINA",
    "BUDI SANTOSO",
    "SITI AMINAH",
    "AGUS",
    "DEWI LESTARI",
    "YULIANTI",
    "ANDI",
    "PUTRI",
    "NI MADE AYU",
    "RAHMAT",
)


def pick_route(rng: random.Random) -> Route:
    """A route and its people, drawn from ``rng``."""
    origin = rng.choice(ORIGINS)
    destination = rng.choice(DESTINATIONS)
    transit = destination.transit if destination.transit != origin.hub else None
    shop = rng.choice(("Indomaret", "Alfamart"))
    return Route(
        origin=origin,
        destination=destination,
        transit_hub=transit,
        pickup_point=f"{shop} {rng.choice(STREETS)}, {destination.city}",
        pickup_courier=rng.choice(COURIERS),
        courier=rng.choice(COURIERS),
        receiver=rng.choice(RECEIVERS),
        sender=rng.choice(SHOPS),
        style=rng.choice(("id", "id", "jne")),
    )


INDONESIAN = {
    "manifested": "Pesanan telah dibuat, menunggu paket diserahkan ke kurir",
    "picked_up": "Paket telah diambil oleh kurir pickup [{pickup_courier}]",
    "received_origin": "Paket telah diterima di gudang {origin_hub}",
    "departed_origin": "Paket akan dikirimkan ke {next_hub}",
    "arrived_transit": "Paket telah sampai di {transit_hub}",
    "departed_transit": "Paket akan dikirimkan ke {destination_hub}",
    "arrived_destination": "Paket telah sampai di {destination_hub}",
    "out_for_delivery": "Paket sedang diantar ke alamat tujuan oleh kurir [{courier}]",
    "delivered": "Paket telah diterima oleh [{receiver}]",
    "failed_not_home": "Pengiriman gagal, penerima tidak di tempat. Paket akan diantar kembali",
    "failed_bad_address": "Pengiriman gagal, alamat tidak ditemukan. Paket akan diantar kembali",
    "failed_refused": "Pengiriman gagal, penerima menolak paket",
    "delayed_weather": "Pengiriman tertunda karena cuaca buruk, estimasi tiba diperbarui",
    "delayed_vessel": "Jadwal kapal tertunda, paket dijadwalkan ulang",
    "delayed_backlog": "Paket tertunda karena volume kiriman tinggi di {destination_hub}",
    "ready_for_pickup": "Paket tersedia untuk diambil di {pickup_point}",
    "collected": "Paket telah diambil oleh penerima [{receiver}]",
    "damaged": "Paket rusak dalam perjalanan, sedang dalam proses klaim",
    "customs_hold": "Paket ditahan Bea Cukai untuk pemeriksaan dokumen impor",
    "returning": "Paket dalam proses retur ke pengirim",
    "returning_arrived": "Paket retur telah sampai di {origin_hub}",
    "returned": "Paket retur telah diterima oleh pengirim [{sender}]",
}
# JNE style: English, upper-cased as a whole, the place or person in brackets.
ENGLISH = {
    "manifested": "Shipment information received [{origin}]",
    "picked_up": "Shipment picked up by courier at [{origin}]",
    "received_origin": "Received at sorting center [{origin_hub}]",
    "departed_origin": "Shipment forwarded to [{next_hub}]",
    "arrived_transit": "Received at transit hub [{transit_hub}]",
    "departed_transit": "Shipment forwarded to [{destination_hub}]",
    "arrived_destination": "Received at inbound station [{destination}]",
    "out_for_delivery": "With delivery courier [{destination}]",
    "delivered": "Delivered to [{receiver} | {stamp} | {destination}]",
    "failed_not_home": "Consignee not at home, redelivery scheduled [{destination}]",
    "failed_bad_address": "Bad address, redelivery scheduled [{destination}]",
    "failed_refused": "Consignee refused to accept [{destination}]",
    "delayed_weather": "Delayed due to bad weather, new estimate given [{origin_hub}]",
    "delayed_vessel": "Vessel schedule delayed, shipment rescheduled [{origin_hub}]",
    "delayed_backlog": "Delayed due to high volume [{destination_hub}]",
    "ready_for_pickup": "Shipment available for collection at [{pickup_point}]",
    "collected": "Collected by consignee [{receiver} | {stamp}]",
    "damaged": "Shipment damaged, claim in process [{destination_hub}]",
    "customs_hold": "Held by customs for inspection [{transit_hub}]",
    "returning": "Return to shipper in process",
    "returning_arrived": "Return shipment received at [{origin_hub}]",
    "returned": "Returned to shipper [{sender}]",
}


class Phrasebook:
    """Writes the scan descriptions of one route in its house style."""

    def __init__(self, route: Route) -> None:
        self.table = ENGLISH if route.style == "jne" else INDONESIAN
        self.upper = route.style == "jne"
        self.fields = {
            "origin": route.origin.city,
            "origin_hub": route.origin_hub,
            "next_hub": route.transit_hub or route.destination_hub,
            "transit_hub": route.transit_hub or route.origin_hub,
            "destination": route.destination.city,
            "destination_hub": route.destination_hub,
            "pickup_point": route.pickup_point,
            "pickup_courier": route.pickup_courier.upper(),
            "courier": route.courier.upper(),
            "receiver": route.receiver,
            "sender": route.sender,
        }

    def describe(self, key: str, local: float) -> str:
        """The description of scan ``key`` written at ``local`` (local wall time as POSIX
        seconds, i.e. the UTC timestamp shifted by the zone offset)."""
        template = self.table[key]
        if "{stamp}" in template:
            wall = datetime.fromtimestamp(local, UTC)
            self.fields["stamp"] = wall.strftime("%d-%m-%Y %H:%M")
        text = template.format_map(self.fields)
        return text.upper() if self.upper else text
