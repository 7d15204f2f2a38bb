"""The Indonesian/English keyword tiers of carriers.indonesia: realistic scan phrases, the order
of the tiers, per-courier words, and unknown text."""

from __future__ import annotations

from typing import Any

import pytest

from carriers import indonesia as idn
from carriers.base import Status

S = Status

# --------------------------------------------------------------------------- keyword table

# Realistic phrases, as the couriers write them (J&T, SiCepat, AnterAja, SPX, Ninja Xpress,
# Pos Indonesia, JNE, TIKI, Lion Parcel, IDExpress, RPX, PCP, Wahana, Biteship notes).
PHRASES: dict[Status, list[str]] = {
    S.DELIVERED: [
        "DELIVERED",
        "TERKIRIM",
        "TERKIRIM: DROP POINT [SUNGAI PENUH] (DITERIMA OLEH: MUHAMMAD LUTHFI ALHA)",
        "Paket telah diterima oleh Budi (YBS)",
        "PAKET DITERIMA OLEH [BU WASIH - (KEL) KELUARGA SERUMAH]",
        "DITERIMA OLEH: SITI",
        "SUCCESS / [M] RECEIVED BY: SITI",
        "Delivered to BAGUS | 14-07-2021 16:00 | YOGYAKARTA",
        "SHIPMENT RECEIVED BY CONSIGNEE",
        "SHIPMENT STATUS DELIVERED DITERIMA OLEH-ELIFINA-26-11-2019-15:15",
        "PAKET TELAH DITERIMA OLEH (RECEIPT BY PENERIMA : HERMAN), PALEMBANG",
        "Yay, pesanan sudah sampai dan diterima oleh Agung Prasetyo; Penerima asli",
        "Pesanan tiba di alamat tujuan. diterima oleh Yang bersangkutan.",
        "Paket telah diterima",
        "Your parcel has been delivered",
        "Item delivered",
        "Antaran berhasil",
        "SELESAI ANTAR",
        "Berhasil diantar ke penerima",
        "Parcel has been successfully delivered to recipient",
        "Paket sudah diambil oleh penerima di agen",
        "Completed",
        "Pesanan sudah sampai",
        "Paket telah diterima oleh [Bapak Anton] - (YBS)",
        "DELIVERED TO [RISKA | 05-03-2015 13:22 | PALEMBANG]",
        "Kiriman telah diterima oleh ANDI",
    ],
    S.OUT_FOR_DELIVERY: [
        "SEDANG DIANTAR: DROP POINT [SUNGAI PENUH] (CONTACT: ROMI EKA PUTRA +6282281231686)",
        "WITH DELIVERY COURIER",
        "With delivery courier YOGYAKARTA",
        "Paket sedang diantar ke alamat penerima",
        "Kurir sedang menuju alamat penerima",
        "Kurir sudah ditugaskan dan pesanan akan segera diantar ke pembeli.",
        "PAKET DIBAWA [SIGESIT - M IRFAN ARIF]",
        "Paket akan dikirim ke alamat penerima",
        "Pesanan sedang dalam pengantaran",
        "On Vehicle for Delivery",
        "Out for delivery",
        "SHIPMENT ON PROCESS OF DELIVERY",
        "DELIVERY PROCESS",
        "ON DELIVERY",
        "Proses antar",
        "Item is on the way to customer.",
        "Paket dibawa oleh kurir menuju alamat tujuan",
        "Sedang Dikirim Kurir",
        "Kurir sedang dalam perjalanan menuju alamat anda",
        "Proses Antar ke Alamat Penerima",
    ],
    S.FAILED_ATTEMPT: [
        "Gagal antar",
        "GAGAL ANTAR - PENERIMA TIDAK DITEMPAT",
        "PENERIMA TIDAK DITEMPAT",
        "Penerima tidak di tempat, akan dikirim ulang",
        "Alamat tidak ditemukan",
        "ALAMAT TIDAK LENGKAP",
        "UNDELIVERED - CONSIGNEE NOT AT HOME",
        "UNSUCCESS DELIVERY / BAD ADDRESS",
        "Delivery failed: recipient unreachable",
        "First delivery attempt failed",
        "Paket tidak diterima",
        "Paket ditolak oleh penerima",
        "REFUSED BY CONSIGNEE",
        "ANTAR ULANG",
        "CNEE UNKNOWN",
        "Pengiriman gagal karena toko tutup",
        "Penerima tidak dapat dihubungi",
        "Pending Reschedule",
        "Customer not available",
        "Delivery unsuccessful - recipient not available",
        "Antaran gagal, rumah kosong",
    ],
    S.RETURNED_TO_SENDER: [
        "Retur ke pengirim",
        "RETURN TO SHIPPER",
        "Paket dikembalikan",
        "Paket dikembalikan ke penjual",
        "Paket akan diretur",
        "Package returned to seller",
        "RETURNED",
        "Returned to Sender",
        "Pesanan dalam proses pengembalian",
        "Paket retur diterima oleh pengirim",
        "Return to Sender Triggered",
        "Paket dalam perjalanan kembali ke pengirim",
        "Parcel is being returned to seller",
    ],
    S.EXCEPTION: [
        "HILANG",
        "PAKET DI KEMBALIKAN DI CIREBON [CIREBON HUB] - (LOST) HILANG",
        "Paket hilang",
        "Paket rusak",
        "LOST",
        "Parcel damaged",
        "CANCELLED",
        "Pesanan dibatalkan",
        "Paket Anda bermasalah",
        "Paket disimpan di gudang J&T",
        "Shipment on hold",
        "MISROUTE",
        "Order successfully disposed.",
        "Your shipment is canceled because there's no courier available at the moment.",
        "Paket dalam penanganan khusus",
        "Parcel lost in transit",
    ],
    S.AVAILABLE_FOR_PICKUP: [
        "Siap diambil di Shopee Xpress Point",
        "Paket siap diambil di kantor pos",
        "Paket dapat diambil di loket kantor pos",
        "Ready for pickup at counter",
        "Ready to be collected at Indomaret",
        "Paket menunggu diambil oleh penerima",
        "Paket dapat diambil di drop point pengambilan",
        "Parcel is available for collection",
        "Paket sudah masuk loker",
        "Ready to collect at PUDO point",
        "Pesanan siap diambil di Agen SPX",
    ],
    S.INFO_RECEIVED: [
        "SHIPMENT DATA ENTRY AT MALANG",
        "SHIPMENT ENTRY",
        "Pesanan dibuat",
        "Order created",
        "TERIMA PERMINTAAN PICK UP DARI [SHOPEE]",
        "Penjual telah melakukan request pick-up.",
        "Kurir dalam perjalanan untuk mengambil pesanan dari penjual.",
        "Pending Pickup",
        "Menunggu pick up",
        "Penjual sedang mempersiapkan pesanan",
        "Paket Gagal dipickup",
        "Pickup failed",
        "Order has been confirmed. Locating nearest driver to pick up.",
        "Courier has been allocated. Waiting to pick up.",
        "Siap diambil kurir",
        "Pesanan sedang diproses penjual",
        "Label pengiriman dicetak",
        "Menunggu kurir pick up",
        "Kurir akan menjemput paket",
        "Order is created",
        "Van en-route to pickup",
    ],
    S.IN_TRANSIT: [
        "ON PROCESS",
        "ON PROCCESS",
        "ON TRANSIT",
        "PICKED UP",
        "Manifested",
        "Manifest",
        "PAKET TELAH DI INPUT (MANIFESTED) DI JAKARTA UTARA [JAKUT KAMAL MUARA]",
        "SHIPMENT RECEIVED BY JNE COUNTER OFFICER AT [JAKARTA]",
        "RECEIVED AT SORTING CENTER [JAKARTA]",
        "RECEIVED AT WAREHOUSE [BANDUNG]",
        "Paket telah diterima di gudang Jakarta",
        "PAKET TELAH DI TERIMA DI DKI JAKARTA [LINE HAUL DARAT JAKARTA 1]",
        "Received On Destination",
        "SORTING",
        "TELAH TIBA: TRANSIT CENTER [JAMBI] DARI [JKT_GATEWAY]",
        "TELAH BERANGKAT: PUSAT TRANSIT [JAMBI] MENUJU [SUNGAI PENUH]",
        "TELAH DIAMBIL: DROP POINT [JAKARTA] (DIPROSES OLEH: SANTOSO1)",
        "PAKET KELUAR DARI DKI JAKARTA [JAKUT KAMAL MUARA]",
        "PAKET TELAH DI PICK UP OLEH [SIGESIT - ]",
        "Pesanan sudah di-pickup oleh kurir.",
        "Pesanan sampai di sorting center Tangerang (Hub Tangerang).",
        "ARRIVED AT TIKI CIANJUR",
        "DEPARTED TO CIANJUR",
        "TRANSIT AT JAKARTA",
        "PAKET TELAH SAMPAI DI (KONSOLIDATOR TUJUAN), PALEMBANG",
        "PAKET AKAN DIKIRIMKAN OLEH (PT POS. ), PALEMBANG",
        "Paket akan dikirimkan ke SUB_GATEWAY",
        "SHIPMENT FORWARDED TO DESTINATION",
        "Successfully picked up from sender",
        "Item has been picked and ready to be shipped.",
        "Paket diterima oleh kurir",
        "POSTING LOKET",
        "Parcel is being processed at Ninja Xpress warehouse",
        "Parcel has been handed over to courier",
        "Pesanan telah diserahkan ke jasa kirim",
        "Item dispatched",
        "En-route to Sorting Hub",
        "Paket telah sampai di gateway",
        "Pesanan telah tiba di lokasi transit: Jakarta SOC",
    ],
}


@pytest.mark.parametrize(
    ("phrase", "status"),
    [(p, s) for s, phrases in PHRASES.items() for p in phrases],
)
def test_realistic_phrases(phrase: str, status: Status) -> None:
    found = idn.classify(phrase)
    assert found is not None, phrase
    assert found.status is status, (phrase, found)
    assert found.keyword  # the raw keyword is kept


@pytest.mark.parametrize(
    ("phrase", "status", "why"),
    [
        ("Paket tidak diterima oleh penerima", S.FAILED_ATTEMPT, "negation before diterima"),
        ("Paket belum diterima", S.FAILED_ATTEMPT, "belum is a negation"),
        ("Paket tidak terkirim", S.FAILED_ATTEMPT, "tidak terkirim is not terkirim"),
        ("UNDELIVERED", S.FAILED_ATTEMPT, "undelivered contains delivered"),
        ("UNSUCCESS / RECEIVED BY: -", S.FAILED_ATTEMPT, "unsuccess contains success"),
        ("Retur diterima oleh pengirim", S.RETURNED_TO_SENDER, "retur beats diterima"),
        ("Paket telah dikembalikan dan diterima penjual", S.RETURNED_TO_SENDER, "return wins"),
        ("Gagal antar, kurir sedang mengantar ulang", S.FAILED_ATTEMPT, "gagal beats antar"),
        ("Pengantaran gagal", S.FAILED_ATTEMPT, "gagal beats pengantaran"),
        ("Paket sedang diantar ulang", S.OUT_FOR_DELIVERY, "diantar ulang is a new run"),
        ("PAKET DI KEMBALIKAN - (LOST) HILANG", S.EXCEPTION, "lost beats returned"),
        ("Paket rusak, diretur ke pengirim", S.EXCEPTION, "damage beats return"),
        ("Paket diterima di gudang sortir", S.IN_TRANSIT, "diterima di is a hub scan"),
        ("Received by JNE counter officer", S.IN_TRANSIT, "carrier-side receipt"),
        ("Paket diterima oleh kurir SiCepat", S.IN_TRANSIT, "the courier received it"),
        ("Gagal pickup, kurir akan kembali besok", S.INFO_RECEIVED, "pickup failure is not"),
        ("Siap dipickup", S.INFO_RECEIVED, "ready for the courier's pickup"),
        ("Siap diambil di loket", S.AVAILABLE_FOR_PICKUP, "ready at a counter"),
        ("Hold for pickup at post office", S.AVAILABLE_FOR_PICKUP, "held for collection"),
        ("Paket ditahan karena alamat tidak lengkap", S.FAILED_ATTEMPT, "the reason decides"),
        ("Terkirim ke hub Jakarta? no: TIDAK TERKIRIM", S.FAILED_ATTEMPT, "negation wins"),
    ],
)
def test_ordering(phrase: str, status: Status, why: str) -> None:
    found = idn.classify(phrase)
    assert found is not None and found.status is status, why


@pytest.mark.parametrize(
    ("phrase", "courier", "status"),
    [
        ("Paket telah diterima oleh SUKOMANUNGGAL", "jnt", S.IN_TRANSIT),  # branch acceptance
        ("Paket telah diterima oleh SUKOMANUNGGAL", "sicepat", S.DELIVERED),
        ("Paket telah diterima oleh penerima BUDI", "jnt", S.DELIVERED),
        ("Paket telah diterima", "jnt", S.DELIVERED),
        ("Manifes", "jnt", S.INFO_RECEIVED),
        ("PAKET DIBAWA [SIGESIT - ANDI]", "sicepat", S.OUT_FOR_DELIVERY),
        ("Pesanan keluar dari sorting center", "anteraja", S.IN_TRANSIT),
        ("Pesanan diserahkan ke jasa kirim", "spx", S.IN_TRANSIT),
        ("Arrived at Sorting Hub", "ninja", S.IN_TRANSIT),
        ("Delivery is unsuccessful", "ninja", S.FAILED_ATTEMPT),
        ("Dikirim ke kantor tujuan", "pos", S.IN_TRANSIT),
        ("Paket sedang dikirim ke alamat penerima", "ide", S.OUT_FOR_DELIVERY),
    ],
)
def test_per_courier(phrase: str, courier: str, status: Status) -> None:
    found = idn.classify(phrase, courier)
    assert found is not None and found.status is status


@pytest.mark.parametrize("phrase", ["", "   ", None, 12, "Terima kasih", "#@!", "xyzzy"])
def test_unknown_text_is_none_never_a_crash(phrase: Any) -> None:
    assert idn.classify(phrase) is None


def test_unknown_phrase_event_is_in_transit_with_raw_text(caplog: pytest.LogCaptureFixture) -> None:
    event = idn.text_event("Kode 77 lorem", None, " ", courier="jne", carrier="binderbyte")
    assert event.status is S.IN_TRANSIT
    assert event.raw_code == "Kode 77 lorem"
    assert event.location is None
    assert "unknown" in caplog.text


def test_every_tier_compiles_and_has_phrases() -> None:
    assert len(idn.PHRASES) >= 10
    assert sum(len(p) for _, p in idn.PHRASES) > 200
    for _, phrases in idn.PHRASES:
        assert phrases
