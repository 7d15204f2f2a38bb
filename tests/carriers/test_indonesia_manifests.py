"""Couriers' manifest lines (JNE, J&T, SiCepat, AnterAja... as the aggregators relay them) and
the simulator's manifests, read to statuses by carriers.indonesia."""

from __future__ import annotations

from datetime import datetime

import pytest

from carriers import indonesia as idn
from carriers.base import Status, TrackingEvent

S = Status

# --------------------------------------------------------------------------- manifest lines

# Manifest lines as couriers write them, per courier, with the status a shopper should hear.
# Sources: JNE's tracking API history (desc + code PU0/RC1/OP1/OP3/IP2/IP3/D01), J&T's status
# list ("Manifes", "Paket akan dikirimkan ke ...", "Paket telah diterima oleh <outlet>", "Paket
# disimpan di gudang J&T", "Expired AWB"...) and its older drop-point wording (Binderbyte docs),
# SiCepat track_history (PICKREQ/IN/OUT/ANT/DELIVERED), SPX timelines, Ninja Xpress granular
# statuses, Pos Indonesia (Penerimaan di Loket, Proses antar, Selesai Antar), Biteship notes for
# Grab/GoSend; wording of AnterAja, Lion Parcel, ID Express, Wahana, SAP and Paxel as their
# public tracking pages show it. ``None`` as courier: any courier.
IR, IT, OFD, FA, PU, DL, EX, RT, EXP = (
    S.INFO_RECEIVED, S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.FAILED_ATTEMPT, S.AVAILABLE_FOR_PICKUP,
    S.DELIVERED, S.EXCEPTION, S.RETURNED_TO_SENDER, S.EXPIRED,
)  # fmt: skip
MANIFEST_LINES: list[tuple[str | None, str, Status]] = [
    # JNE: tracking API history (desc + code), Binderbyte/RajaOngkir relays
    ("jne", "SHIPMENT PICKED UP BY JNE COURIER [JAKARTA TIMUR]", IT),
    ("jne", "SHIPMENT RECEIVED BY JNE COUNTER OFFICER AT [JAKARTA]", IT),
    ("jne", "RECEIVED AT SORTING CENTER [JAKARTA]", IT),
    ("jne", "PROCESSED AT SORTING CENTER [CILACAP]", IT),
    (
        "jne",
        "SHIPMENT FORWARDED FROM TRANSIT CITY TO DESTINATION CITY [JAKARTA , HUB VETERAN BINTARO]",
        IT,
    ),
    ("jne", "RECEIVED AT INBOUND STATION  [JAKARTA , HUB VETERAN BINTARO]", IT),
    ("jne", "RECEIVED AT WAREHOUSE [JAKARTA]", IT),
    ("jne", "SHIPMENT FORWARDED TO DESTINATION [JAKARTA , ANGKE(DESP)]", IT),
    ("jne", "RECEIVED AT ORIGIN GATEWAY [GATEWAY JAKARTA]", IT),
    ("jne", "DEPARTED FROM TRANSIT [GATEWAY JAKARTA]", IT),
    ("jne", "WITH DELIVERY COURIER  [JAKARTA]", OFD),
    ("jne", "DELIVERED TO [XXX | 10-08-2022 20:23 | JAKARTA ]", DL),
    ("jne", "DELIVERED TO [PAK MURADI  | 04-02-2021 10:22 | BEKASI ]", DL),
    ("jne", "SHIPMENT DATA ENTRY AT MALANG", IR),
    ("jne", "ON PROCESS", IT),
    ("jne", "MANIFESTED", IT),
    ("jne", "UNDELIVERED - BAD ADDRESS [BEKASI]", FA),
    ("jne", "UNDELIVERED - CONSIGNEE MOVED", FA),
    ("jne", "UNDELIVERED - CLOSED ONCE DELIVERY ATTEMPT", FA),
    ("jne", "CONSIGNEE UNKNOWN [DEPOK]", FA),
    ("jne", "REFUSED BY CONSIGNEE", FA),
    ("jne", "RETURN TO SHIPPER [JAKARTA]", RT),
    ("jne", "SHIPMENT RETURNED TO SHIPPER", RT),
    ("jne", "MISROUTED [SURABAYA]", EX),
    ("jne", "SHIPMENT ON HOLD [MEDAN]", EX),
    ("jne", "CRISS CROSS - MISSORT [BANDUNG]", EX),
    # J&T Express: current wording (J&T status list) and the older drop-point wording (Binderbyte)
    ("jnt", "Manifes", IR),
    ("jnt", "Paket telah diterima oleh SUKOMANUNGGAL", IT),
    ("jnt", "Paket akan dikirimkan ke SUB_GATEWAY", IT),
    ("jnt", "Paket telah dikirimkan ke DC_CIJAGRA", IT),
    ("jnt", "Paket telah sampai di BDO_GATEWAY", IT),
    ("jnt", "Paket akan dikirim ke alamat penerima", OFD),
    ("jnt", "Paket akan dikirim ke alamat penerima, Sprinter: ANDI (081234567890)", OFD),
    ("jnt", "Paket telah diterima", DL),
    ("jnt", "Paket disimpan di gudang J&T", EX),
    ("jnt", "Pack", IT),
    ("jnt", "Unpack", IT),
    ("jnt", "Paket akan diretur", RT),
    ("jnt", "Package returned to seller", RT),
    ("jnt", "Paket Gagal dipickup", IR),
    ("jnt", "Pickup Failed", IR),
    ("jnt", "Paket Gagal dikirim", FA),
    ("jnt", "Expired AWB", EXP),
    ("jnt", "Cancelled AWB by Seller", EX),
    ("jnt", "TELAH DIAMBIL: DROP POINT [JAKARTA] (DIPROSES OLEH: SANTOSO1)", IT),
    ("jnt", "TELAH BERANGKAT: PUSAT TRANSIT [JAKARTA] MENUJU [JAMBI]", IT),
    ("jnt", "TELAH TIBA: TRANSIT CENTER [JAMBI] DARI [JKT_GATEWAY]", IT),
    (
        "jnt",
        "SEDANG DIANTAR: DROP POINT [SUNGAI PENUH] (CONTACT: ROMI EKA PUTRA +6282281231686)",
        OFD,
    ),
    ("jnt", "TERKIRIM: DROP POINT [SUNGAI PENUH] (DITERIMA OLEH: MUHAMMAD LUTHFI ALHA)", DL),
    ("jnt", "BERMASALAH: DROP POINT [SUNGAI PENUH] (ALASAN: ALAMAT TIDAK LENGKAP)", FA),
    ("jnt", "BERMASALAH: DROP POINT [SUNGAI PENUH] (ALASAN: CUACA BURUK)", EX),
    ("jnt", "Paket telah diterima oleh [Bapak Anton] - (YBS)", DL),
    # SiCepat: track_history (PICKREQ, IN, OUT, ANT, DELIVERED) as Binderbyte relays it
    ("sicepat", "Terima permintaan pick up dari [Tokopedia]", IR),
    ("sicepat", "Paket telah di input (manifested) di Bandung [Bandung Sumberasih]", IT),
    ("sicepat", "Paket keluar dari Bandung [Bandung Sumberasih]", IT),
    ("sicepat", "Paket telah di terima di Bandung [Bandung Rancasari]", IT),
    ("sicepat", "PAKET TELAH DI TERIMA DI JAKARTA UTARA [LINE HAUL DARAT JAKARTA 1]", IT),
    ("sicepat", "PAKET KELUAR DARI CIREBON [CIREBON SORTATION]", IT),
    ("sicepat", "Paket telah di pick up oleh [SIGESIT - Andi]", IT),
    ("sicepat", "Paket dibawa [SIGESIT - Suhendra]", OFD),
    ("sicepat", "Paket diterima oleh [Kamil - (YBS) Yang Bersangkutan]", DL),
    ("sicepat", "PAKET DITERIMA OLEH [NELA - (KEL) KELUARGA SERUMAH]", DL),
    ("sicepat", "Paket diterima oleh [Satpam - (SEC) Security]", DL),
    ("sicepat", "Paket diterima oleh [Budi - (TTG) Tetangga]", DL),
    ("sicepat", "PENERIMA TIDAK DIKENAL [SIGESIT - ANDI]", FA),
    ("sicepat", "ALAMAT TIDAK DITEMUKAN", FA),
    ("sicepat", "Penerima tidak di tempat, paket akan diantar kembali", FA),
    ("sicepat", "Paket retur di [Jakarta Hub]", RT),
    ("sicepat", "Paket dalam proses retur ke pengirim", RT),
    ("sicepat", "Paket tertahan di gudang [Cirebon Sortation]", EX),
    ("sicepat", "PAKET DI KEMBALIKAN DI CIREBON [CIREBON HUB] - (LOST) HILANG", EX),
    # AnterAja (tracking page and API "message" wording)
    ("anteraja", "Pesanan telah dibuat", IR),
    ("anteraja", "Kurir sedang menuju lokasi penjemputan", IR),
    ("anteraja", "Paket telah dijemput oleh kurir AnterAja", IT),
    ("anteraja", "Pesanan sampai di sorting center Tangerang (Hub Tangerang).", IT),
    ("anteraja", "Pesanan keluar dari sorting center Tangerang", IT),
    ("anteraja", "Paket sedang dalam perjalanan menuju Hub Bandung", IT),
    ("anteraja", "Paket sedang diantar oleh kurir AnterAja", OFD),
    ("anteraja", "Paket telah diterima oleh Rina - (Penerima Langsung)", DL),
    ("anteraja", "Delivery failed - recipient not at home", FA),
    ("anteraja", "Paket dalam proses pengembalian ke pengirim", RT),
    ("anteraja", "Shipment has been created", IR),
    ("anteraja", "Pick up has been done", IT),
    ("anteraja", "Received at Tangerang Hub", IT),
    ("anteraja", "Delivery completed", DL),
    # SPX (Shopee Xpress): tracking timeline titles and sentences
    ("spx", "Pengirim telah mengatur pengiriman. Menunggu pesanan diserahkan ke jasa kirim.", IR),
    ("spx", "Pesanan diterima oleh Agen SPX Express Service Point Kalideres 2.", IT),
    ("spx", "Pesanan Diterima Service Point", IT),
    ("spx", "Pesanan diserahkan ke jasa kirim", IT),
    ("spx", "Pesanan dikirim dari lokasi transit Kalideres 9 First Mile Hub.", IT),
    ("spx", "Pesanan telah tiba di lokasi transit: Jakarta SOC", IT),
    ("spx", "Pesanan sedang dalam perjalanan ke alamat tujuan", OFD),
    ("spx", "Pesananmu sedang diantar oleh kurir", OFD),
    ("spx", "Pesanan telah diterima oleh yang bersangkutan", DL),
    ("spx", "Pesanan tiba di alamat tujuan. diterima oleh Yang bersangkutan.", DL),
    ("spx", "Pengiriman gagal: penerima tidak dapat dihubungi", FA),
    ("spx", "Pesanan siap diambil di Shopee Xpress Point", PU),
    ("spx", "Pesanan dalam proses pengembalian ke penjual", RT),
    ("spx", "Paket hilang", EX),
    # Ninja Xpress: granular statuses and tracking-page events
    ("ninja", "Pending Pickup", IR),
    ("ninja", "Van en-route to pickup", IR),
    ("ninja", "Pickup fail", IR),
    ("ninja", "Successfully picked up from sender", IT),
    ("ninja", "En-route to Sorting Hub", IT),
    ("ninja", "Arrived at Sorting Hub", IT),
    ("ninja", "Arrived at Origin Hub", IT),
    ("ninja", "Staging", IT),
    ("ninja", "Transferred to 3PL", IT),
    ("ninja", "On Vehicle for Delivery", OFD),
    ("ninja", "Delivered, Received by Customer", DL),
    ("ninja", "Delivered, Left at Doorstep", DL),
    ("ninja", "Delivered, Collected by Customer", DL),
    ("ninja", "Completed", DL),
    ("ninja", "Pending Reschedule", FA),
    ("ninja", "Delivery is unsuccessful", FA),
    ("ninja", "Arrived at Distribution Point", PU),
    ("ninja", "Returned to Sender", RT),
    ("ninja", "Cancelled", EX),
    ("ninja", "On Hold", EX),
    # Lion Parcel (STT status wording)
    ("lion", "Paket telah di booking", IR),
    ("lion", "Paket dijemput oleh kurir Lion Parcel", IT),
    ("lion", "Paket diterima di Consolidator Jakarta", IT),
    ("lion", "Paket diberangkatkan dari Jakarta ke Makassar", IT),
    ("lion", "Paket tiba di kota tujuan Makassar", IT),
    ("lion", "Paket sedang diantar ke alamat penerima", OFD),
    ("lion", "Paket telah diterima oleh Andi", DL),
    ("lion", "Paket gagal diantar: alamat tidak lengkap", FA),
    ("lion", "Paket dalam proses retur ke pengirim", RT),
    ("lion", "Kiriman ditahan oleh petugas karena dokumen kurang", EX),
    # Pos Indonesia
    ("pos", "Penerimaan di Loket: TANGERANG SELATAN. Pengirim: Universitas Terbuka", IT),
    ("pos", "Tiba di Hub: TANGERANG SELATAN", IT),
    ("pos", "Diteruskan ke Kantor Kota Bandung", IT),
    ("pos", "Proses antar ke Cimahi", OFD),
    ("pos", "Selesai Antar. Penerima: Agus Pranoto", DL),
    ("pos", "POSTING LOKET", IT),
    ("pos", "Dikirim ke kantor tujuan", IT),
    ("pos", "Antar Gagal: penerima tidak di tempat", FA),
    ("pos", "Paket siap diambil di kantor pos", PU),
    ("pos", "Paket dapat diambil di loket kantor pos", PU),
    ("pos", "Paket dikembalikan ke pengirim", RT),
    ("pos", "Kiriman tertahan di bea cukai", EX),
    ("pos", "Pemeriksaan bea cukai selesai", IT),
    # TIKI
    ("tiki", "ARRIVED AT TIKI CIANJUR", IT),
    ("tiki", "DEPARTED TO CIANJUR", IT),
    ("tiki", "TRANSIT AT JAKARTA", IT),
    ("tiki", "ON DELIVERY", OFD),
    ("tiki", "SUCCESS / [M] RECEIVED BY: SITI", DL),
    ("tiki", "UNSUCCESS / RECEIVED BY: -", FA),
    ("tiki", "UNSUCCESS DELIVERY / BAD ADDRESS", FA),
    ("tiki", "RECEIVED AT TIKI JAKARTA", IT),
    ("tiki", "PICKUP BY TIKI", IT),
    # ID Express
    ("ide", "Paket telah diserahkan ke kurir ID Express", IT),
    ("ide", "Paket telah dijemput oleh kurir", IT),
    ("ide", "Paket telah sampai di DC Cakung", IT),
    ("ide", "Paket sedang dikirim ke alamat penerima", OFD),
    ("ide", "Paket sudah diterima oleh penerima", DL),
    ("ide", "Paket gagal dikirim, penerima menolak paket", FA),
    ("ide", "Paket dalam proses retur", RT),
    # Wahana
    ("wahana", "Diterima di Sortir Jakarta", IT),
    ("wahana", "Diberangkatkan ke Semarang", IT),
    ("wahana", "Dalam pengantaran ke alamat penerima", OFD),
    ("wahana", "Diterima oleh BUDI (Penerima)", DL),
    ("wahana", "Kiriman tidak dapat diantar: rumah kosong", FA),
    # SAP Express
    ("sap", "Pickup Success", IT),
    ("sap", "Shipment received at origin branch", IT),
    ("sap", "Shipment in transit to destination", IT),
    ("sap", "Shipment out for delivery", OFD),
    ("sap", "Shipment delivered to RINA", DL),
    ("sap", "Unable to deliver - consignee not available", FA),
    # Paxel
    ("paxel", "Paket sedang dijemput", IR),
    ("paxel", "Paket sudah dijemput", IT),
    ("paxel", "Paket sedang diantar ke penerima", OFD),
    ("paxel", "Paket sudah diterima oleh penerima", DL),
    ("paxel", "Paket akan diantar ulang besok", FA),
    # Grab / GoSend (Biteship notes)
    ("grab", "Order has been confirmed. Locating nearest driver to pick up.", IR),
    ("grab", "Courier has been allocated. Waiting to pick up.", IR),
    ("grab", "Driver is on the way to pick up the item", IR),
    ("grab", "Item has been picked and ready to be shipped.", IT),
    ("grab", "Driver is on the way to deliver the item", OFD),
    ("grab", "Item has been delivered.", DL),
    ("grab", "Your shipment is canceled because there's no courier available at the moment.", EX),
    ("gojek", "Mencari driver", IR),
    ("gojek", "Driver ditemukan", IR),
    ("gojek", "Driver menuju lokasi penjemputan", IR),
    ("gojek", "Paket sudah diambil driver", IT),
    ("gojek", "Driver menuju lokasi pengantaran", OFD),
    ("gojek", "Paket sudah sampai", DL),
    ("gojek", "Pesanan dibatalkan", EX),
    # Delays: a late vehicle is in transit, not a failed delivery
    (None, "Jadwal kapal tertunda, paket dijadwalkan ulang", IT),
    (None, "VESSEL SCHEDULE DELAYED, SHIPMENT RESCHEDULED [JAKARTA GATEWAY]", IT),
    (None, "Pengiriman tertunda karena cuaca buruk, estimasi tiba diperbarui", IT),
    (None, "Paket tertunda karena volume kiriman tinggi di DC Denpasar", IT),
    (None, "Delayed due to high volume [DC DENPASAR]", IT),
    (None, "Penerbangan ditunda, paket diberangkatkan besok", IT),
    (None, "Pengiriman tertunda karena penerima tidak di tempat", FA),
    (None, "Penjemputan tertunda", IR),
    # Generic look-alikes from simulated manifests
    (None, "Pesanan telah dibuat, menunggu paket diserahkan ke kurir", IR),
    (None, "Paket tersedia untuk diambil di Indomaret Jl. Sudirman, Denpasar", PU),
    (None, "SHIPMENT AVAILABLE FOR COLLECTION AT [ALFAMART JL. PAHLAWAN, MALANG]", PU),
    (None, "HELD BY CUSTOMS FOR INSPECTION [SURABAYA GATEWAY]", EX),
    (None, "Paket ditahan Bea Cukai untuk pemeriksaan dokumen impor", EX),
    (None, "Held at post office for pickup", PU),
    (None, "Paket telah diambil oleh penerima [RINA]", DL),
    (None, "COLLECTED BY CONSIGNEE [RINA | 01-01-2024 10:00]", DL),
    (None, "Paket retur telah diterima oleh pengirim [Toko Sinar Jaya]", RT),
    (None, "RETURN SHIPMENT RECEIVED AT [JAKARTA GATEWAY]", RT),
    (None, "Paket dikembalikan ke gudang karena toko tutup", FA),
    (None, "Customer tidak bisa dihubungi, nomor telepon tidak aktif", FA),
    (None, "Paket belum diterima oleh penerima", FA),
    (None, "Paket sedang diantar ulang", OFD),
]


@pytest.mark.parametrize(
    ("courier", "line", "status"),
    MANIFEST_LINES,
    ids=[f"{c}:{p[:40]}" for c, p, _ in MANIFEST_LINES],
)
def test_manifest_lines(courier: str | None, line: str, status: Status) -> None:
    found = idn.classify(line, courier)
    assert found is not None, line
    assert found.status is status, (line, found)


def test_manifest_table_covers_every_status_and_courier() -> None:
    assert len(MANIFEST_LINES) >= 150
    assert {s for _, _, s in MANIFEST_LINES} == set(Status) - {S.PENDING}
    couriers = {c for c, _, _ in MANIFEST_LINES}
    assert couriers >= {"jne", "jnt", "sicepat", "anteraja", "spx", "ninja", "lion", "pos",
                        "tiki", "ide", "wahana", "sap", "paxel", "grab", "gojek"}  # fmt: skip


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("DELIVERED", S.DELIVERED),
        ("ON PROCESS", S.IN_TRANSIT),
        ("ON PROCCESS", S.IN_TRANSIT),
        ("ON TRANSIT", S.IN_TRANSIT),
        ("IN TRANSIT", S.IN_TRANSIT),
        ("HILANG", S.EXCEPTION),
        ("LOST", S.EXCEPTION),
        ("RUSAK", S.EXCEPTION),
        ("RETUR", S.RETURNED_TO_SENDER),
        ("RETURN", S.RETURNED_TO_SENDER),
        ("RETURNED", S.RETURNED_TO_SENDER),
        ("CANCEL", S.EXCEPTION),
        ("CANCELLED", S.EXCEPTION),
        ("ON HOLD", S.EXCEPTION),
        ("BERMASALAH", S.EXCEPTION),
        ("TERKIRIM", S.DELIVERED),
        ("UNDELIVERED", S.FAILED_ATTEMPT),
        ("ON DELIVERY", S.OUT_FOR_DELIVERY),
        ("WITH DELIVERY COURIER", S.OUT_FOR_DELIVERY),
        ("PICKED UP", S.IN_TRANSIT),
        ("MANIFESTED", S.IN_TRANSIT),
        ("PICKUP", S.IN_TRANSIT),
    ],
)
def test_summary_words(word: str, status: Status) -> None:
    found = idn.classify(word)
    assert found is not None and found.status is status


def _jnt(*lines: str) -> list[TrackingEvent]:
    events = [
        idn.text_event(line, datetime(2024, 1, 1, h), None, courier="jnt", carrier="t")
        for h, line in enumerate(lines)
    ]
    return idn.settle(events)


def test_jnt_named_receipt_after_the_delivery_run_is_the_delivery() -> None:
    events = _jnt(
        "Manifes",
        "Paket telah diterima oleh SUKOMANUNGGAL",
        "Paket telah sampai di DC",
        "Paket akan dikirim ke alamat penerima",
        "Paket telah diterima oleh [RINA]",
    )
    assert [e.status for e in events] == [IR, IT, IT, OFD, DL]


def test_jnt_named_receipt_before_more_scans_is_an_acceptance() -> None:
    events = _jnt("Manifes", "Paket telah diterima oleh SUKOMANUNGGAL")
    assert [e.status for e in events] == [IR, IT]
    events = _jnt(
        "Paket akan dikirim ke alamat penerima",
        "Paket telah diterima oleh DC_CIJAGRA",
        "Paket akan dikirim ke alamat penerima",
    )
    assert [e.status for e in events] == [OFD, IT, OFD]


# --------------------------------------------------------------------------- simulated manifests

# The simulator's manifest wording (carriers/simulator/manifest.py, both house styles) with the
# status each scan means; every courier reads them alike (J&T's named receipt is settled by its
# place in the history, see test_jnt_named_receipt_after_the_delivery_run_is_the_delivery).
SIMULATED: dict[str, Status] = {
    "manifested": S.INFO_RECEIVED, "picked_up": S.IN_TRANSIT, "received_origin": S.IN_TRANSIT,
    "departed_origin": S.IN_TRANSIT, "arrived_transit": S.IN_TRANSIT,
    "departed_transit": S.IN_TRANSIT, "arrived_destination": S.IN_TRANSIT,
    "out_for_delivery": S.OUT_FOR_DELIVERY, "delivered": S.DELIVERED,
    "failed_not_home": S.FAILED_ATTEMPT, "failed_bad_address": S.FAILED_ATTEMPT,
    "failed_refused": S.FAILED_ATTEMPT, "delayed_weather": S.IN_TRANSIT,
    "delayed_vessel": S.IN_TRANSIT, "delayed_backlog": S.IN_TRANSIT,
    "ready_for_pickup": S.AVAILABLE_FOR_PICKUP, "collected": S.DELIVERED,
    "damaged": S.EXCEPTION, "customs_hold": S.EXCEPTION, "returning": S.RETURNED_TO_SENDER,
    "returning_arrived": S.RETURNED_TO_SENDER, "returned": S.RETURNED_TO_SENDER,
}  # fmt: skip
_FIELDS = {
    "origin": "Jakarta Barat", "origin_hub": "Jakarta Gateway", "next_hub": "Surabaya Gateway",
    "transit_hub": "Surabaya Gateway", "destination": "Denpasar",
    "destination_hub": "DC Denpasar", "pickup_point": "Indomaret Jl. Sudirman, Denpasar",
    "pickup_courier": "RUDI", "courier": "JOKO", "receiver": "SITI AMINAH",
    "sender": "Toko Sinar Jaya", "stamp": "01-12-2026 10:15",
}  # fmt: skip


@pytest.mark.parametrize("style", ["id", "jne"])
@pytest.mark.parametrize("courier", [None, "jne", "sicepat", "anteraja"])
def test_simulated_manifests_read_right(style: str, courier: str | None) -> None:
    from carriers.simulator.manifest import ENGLISH, INDONESIAN

    table = INDONESIAN if style == "id" else ENGLISH
    assert set(table) == set(SIMULATED)
    for key, template in table.items():
        line = template.format_map(_FIELDS)
        line = line.upper() if style == "jne" else line
        found = idn.classify(line, courier)
        assert found is not None and found.status is SIMULATED[key], (key, line, found)
