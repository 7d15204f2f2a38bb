"""The pure side of shoppers' messages: the classifier on realistic phrasings, opening hours and
the answer texts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from notifier import answers, hours, replies
from notifier.answers import Parcel, Shop
from notifier.replies import Intent, understand

STATUS = Intent.STATUS
OTHER = Intent.OTHER

# (message, intent, language it reveals)
PHRASINGS = [
    # Indonesian, as shoppers type it
    ("cek resi", STATUS, "id"),
    ("Cek resi dong kak", STATUS, "id"),
    ("paket saya di mana?", STATUS, "id"),
    ("Paket saya dimana ya kak?", STATUS, "id"),
    ("pesanan saya sudah sampai mana", STATUS, "id"),
    ("kak paketnya udh sampe mana ya", STATUS, "id"),
    ("dmn paket sy", STATUS, "id"),
    ("min, barang sy kapan nyampe?", STATUS, "id"),
    ("Kapan sampai ya kak?", STATUS, "id"),
    ("sudah dikirim belum?", STATUS, "id"),
    ("udah dikirim?", STATUS, "id"),
    ("pesananku belum datang", STATUS, "id"),
    ("Kok lama banget paket saya", STATUS, "id"),
    ("posisi paket sekarang di mana?", STATUS, "id"),
    ("status pesanan saya gimana kak", STATUS, "id"),
    ("lacak paket", STATUS, "id"),
    ("no resinya berapa kak", STATUS, "id"),
    ("estimasi sampai kapan ya", STATUS, "id"),
    ("kirimannya sudah sampai mana kak?", STATUS, "id"),
    ("Selamat siang, orderan saya belum sampai", STATUS, "id"),
    # English
    ("where is my order", STATUS, "en"),
    ("Where's my parcel??", STATUS, "en"),
    ("wheres my package", STATUS, "en"),
    ("When will my order arrive?", STATUS, "en"),
    ("Has my order shipped?", STATUS, "en"),
    ("I haven't received my package yet", STATUS, "en"),
    ("My order is late", STATUS, "en"),
    ("any update on my order?", STATUS, "en"),
    ("order status please", STATUS, "en"),
    ("ETA?", STATUS, "en"),
    # either language
    ("status", STATUS, None),
    ("STATUS", STATUS, None),
    ("tracking", STATUS, None),
    # not about where a parcel is: the shop's people answer these
    ("Kak, ukuran L masih ada?", OTHER, "id"),
    ("terima kasih kak", OTHER, "id"),
    ("Paket sudah sampai, makasih ya", OTHER, "id"),
    ("halo", OTHER, "id"),
    ("Bisa COD?", OTHER, "id"),
    ("paket saya rusak", OTHER, "id"),
    ("barang yang datang salah warna", OTHER, "id"),
    ("paket saya hilang, tolong dibantu", OTHER, "id"),
    ("mau retur kak, kekecilan", OTHER, "id"),
    ("kapan refund saya diproses?", OTHER, "id"),
    ("Where is my refund?", OTHER, "en"),
    ("The parcel arrived damaged", OTHER, "en"),
    ("I want to cancel my order", OTHER, "en"),
    ("my order has been delivered, thanks", OTHER, "en"),
    ("", OTHER, None),
]


@pytest.mark.parametrize(("text", "intent", "language"), PHRASINGS)
def test_phrasings(text, intent, language):
    got = understand(text)
    assert (got.intent, got.language) == (intent, language), text


@pytest.mark.parametrize(
    ("text", "intent", "keyword"),
    [
        ("STOP", Intent.OPT_OUT, "STOP"),
        (" stop ", Intent.OPT_OUT, "STOP"),
        ("Stop.", Intent.OPT_OUT, "STOP"),
        ("stop all", Intent.OPT_OUT, "STOPALL"),
        ("STOPALL", Intent.OPT_OUT, "STOPALL"),
        ("unsubscribe", Intent.OPT_OUT, "UNSUBSCRIBE"),
        ("Cancel", Intent.OPT_OUT, "CANCEL"),
        ("end", Intent.OPT_OUT, "END"),
        ("QUIT", Intent.OPT_OUT, "QUIT"),
        ("berhenti", Intent.OPT_OUT, "BERHENTI"),
        ("BERHENTI!", Intent.OPT_OUT, "BERHENTI"),
        ("Berhenti langganan", Intent.OPT_OUT, "BERHENTILANGGANAN"),
        ("START", Intent.OPT_IN, "START"),
        ("unstop", Intent.OPT_IN, "UNSTOP"),
        ("Mulai", Intent.OPT_IN, "MULAI"),
        ("HELP", Intent.HELP, "HELP"),
        ("bantuan", Intent.HELP, "BANTUAN"),
    ],
)
def test_keywords_are_the_whole_message(text, intent, keyword):
    got = understand(text)
    assert (got.intent, got.keyword) == (intent, keyword)


@pytest.mark.parametrize(
    "text", ["stop sending me the wrong size", "please stop", "berhenti dulu ya kak", "start date?"]
)
def test_keywords_inside_a_sentence_are_not_keywords(text):
    assert understand(text).intent not in (Intent.OPT_OUT, Intent.OPT_IN)


def test_twilio_advanced_opt_out_verdict_wins():
    assert understand("YES", opt_out_type="START").intent is Intent.OPT_IN
    assert understand("ARRET", opt_out_type="stop").intent is Intent.OPT_OUT


@pytest.mark.parametrize(
    ("text", "intent", "refs"),
    [
        ("JP1234567890", STATUS, ("JP1234567890",)),
        ("resi JP1234567890", STATUS, ("JP1234567890",)),
        ("cek INV/2026/001 kak", STATUS, ("INV/2026/001",)),
        ("#1001", STATUS, ("1001",)),
        ("order 000123456789 please", STATUS, ("000123456789",)),
        ("INV/2026/001 sudah sampai mana?", STATUS, ("INV/2026/001",)),
        # a number in a message that asks something else goes to a person
        ("Kak, pesanan INV/2026/001 mau saya tambah 1 lagi bisa?", OTHER, ("INV/2026/001",)),
        ("JP1234567890 rusak kak", OTHER, ("JP1234567890",)),
        ("sudah transfer 150.000 ya", OTHER, ("150.000",)),
    ],
)
def test_order_and_tracking_numbers(text, intent, refs):
    got = understand(text)
    assert (got.intent, got.references) == (intent, refs)


def test_reply_locale_prefers_the_message_then_the_shopper_then_the_shop():
    assert replies.reply_locale("en", "id", "id") == "en"
    assert replies.reply_locale(None, "en-US", "id") == "en"
    assert replies.reply_locale(None, None, "in_ID") == "id"
    assert replies.reply_locale(None, "fr", None) == "id"


# --- opening hours ---------------------------------------------------------------------------

HOURS = {"mon-fri": "08:00-17:00", "sat": "09:00-13:00"}
JKT = "Asia/Jakarta"


@pytest.mark.parametrize(
    ("utc", "open_"),
    [
        (datetime(2026, 12, 1, 3, 0, tzinfo=UTC), True),  # Tue 10:00 WIB
        (datetime(2026, 12, 1, 0, 59, tzinfo=UTC), False),  # Tue 07:59
        (datetime(2026, 12, 1, 1, 0, tzinfo=UTC), True),  # Tue 08:00 opens
        (datetime(2026, 12, 1, 10, 0, tzinfo=UTC), False),  # Tue 17:00 closed
        (datetime(2026, 12, 5, 5, 59, tzinfo=UTC), True),  # Sat 12:59
        (datetime(2026, 12, 5, 6, 0, tzinfo=UTC), False),  # Sat 13:00
        (datetime(2026, 12, 6, 3, 0, tzinfo=UTC), False),  # Sunday: not listed
        (datetime(2026, 12, 4, 18, 0, tzinfo=UTC), False),  # Sat 01:00 WIB, Fri evening UTC
    ],
)
def test_opening_hours_in_the_shops_zone(utc, open_):
    assert hours.is_open(HOURS, utc, JKT) is open_


def test_opening_hours_lists_lunch_breaks_overnight_and_closed_days():
    spec = {"mon,wed": "08:00-12:00, 13:00-17:00", "fri": "20:00-02:00", "sun": "closed"}

    def at(day: int, hour: int, minute: int = 0) -> datetime:  # day 0 is Monday 30 November
        return datetime(2026, 11, 30, hour, minute, tzinfo=UTC) + timedelta(days=day)

    assert hours.is_open(spec, at(0, 9), "UTC") and not hours.is_open(spec, at(0, 12, 30), "UTC")
    assert not hours.is_open(spec, at(1, 9), "UTC")  # Tuesday not listed
    assert hours.is_open(spec, at(4, 23), "UTC") and hours.is_open(spec, at(5, 1), "UTC")
    assert not hours.is_open(spec, at(5, 2), "UTC")
    assert hours.is_open(None, at(6, 3), "UTC")  # no hours configured: always open


@pytest.mark.parametrize("bad", [{"monday": "08:00-17:00"}, {"mon": "8-5"}, {"mon": "25:00-26:00"}])
def test_opening_hours_that_do_not_parse_raise(bad):
    with pytest.raises(ValueError, match="opening_hours"):
        hours.parse_hours(bad)


def test_hours_described_per_language():
    assert hours.describe_hours(HOURS, "id") == "Sen-Jum 08.00-17.00, Sab 09.00-13.00"
    assert hours.describe_hours(HOURS, "en") == "Mon-Fri 08:00-17:00, Sat 09:00-13:00"


# --- answers ---------------------------------------------------------------------------------

SHOP = Shop(
    "Toko Batik Sekar",
    "id",
    JKT,
    {"brand": {"cs_whatsapp": "+6281234500099"}, "opening_hours": HOURS},
)
PARCEL = Parcel(
    "INV/2026/001",
    "out_for_delivery",
    "J&T Express",
    "JP1234567890",
    date(2026, 12, 1),
    tracking_url="https://notify.example.com/t/tok",
    last_event_at=datetime(2026, 12, 1, 2, 0, tzinfo=UTC),
    last_event="Paket sedang diantar, Jakarta",
)
TUESDAY_10 = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
SUNDAY = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)


def test_status_reply_in_indonesian():
    text = answers.status_reply(PARCEL, locale="id", tz=JKT, shop=SHOP, first_name="Rina")
    assert text.startswith("Halo Kak Rina, ini kabar pesanan INV/2026/001 dari Toko Batik Sekar:")
    assert "Status: Sedang diantar kurir" in text
    assert "Kurir: J&T Express, resi JP1234567890" in text
    assert "Perkiraan tiba: Selasa, 1 Desember 2026" in text
    assert "Update terakhir (1 Des 09.00 WIB): Paket sedang diantar, Jakarta" in text
    assert text.endswith("Lacak paket: https://notify.example.com/t/tok")


def test_status_reply_in_english_apologises_for_trouble_and_counts_other_orders():
    parcel = Parcel("INV/9", "failed_attempt", "JNE", "CGK1", tracking_url="https://x/t/1")
    text = answers.status_reply(parcel, locale="en", tz=JKT, shop=SHOP, others=2)
    assert "Status: Delivery attempt failed" in text and "sorry for the inconvenience" in text
    assert "There are 2 other orders" in text


def test_status_reply_for_sms_is_compact_and_gsm7():
    text = answers.status_reply(PARCEL, locale="id", tz=JKT, shop=SHOP, first_name="Rina", others=3)
    compact = answers.status_reply(
        PARCEL, locale="id", tz=JKT, shop=SHOP, first_name="Rina", others=3, compact=True
    )
    assert "Update terakhir" not in compact and "pesanan lain" not in compact
    assert len(compact) < len(text)
    from notifier.sms import segments

    assert segments(compact).encoding == "GSM-7"


def test_status_reply_delivered_and_not_yet_shipped_and_unknown():
    done = Parcel("INV/2", "delivered", "JNE", "X1", date(2026, 11, 30), delivered_at=TUESDAY_10)
    text = answers.status_reply(done, locale="id", tz=JKT, shop=SHOP)
    assert "Status: Sudah diterima (1 Des 10.00 WIB)" in text and "Perkiraan" not in text
    preparing = answers.status_reply(Parcel("INV/3"), locale="id", tz=JKT, shop=SHOP)
    assert "sedang kami siapkan" in preparing
    assert "belum menemukan pesanan" in answers.status_reply(None, locale="id", tz=JKT, shop=SHOP)


def test_pick_parcel_by_number_else_newest():
    older = Parcel("INV/1", "in_transit", "JNE", "CGK0001")
    assert answers.pick_parcel([PARCEL, older], ("CGK0001",)) is older
    assert answers.pick_parcel([PARCEL, older], ("INV/2026/001",)) is PARCEL
    assert answers.pick_parcel([PARCEL, older], ()) is PARCEL
    assert answers.pick_parcel([], ()) is None


def test_default_and_out_of_hours_replies():
    open_ = answers.default_reply(SHOP, "id", TUESDAY_10, forwarded=False)
    assert open_.startswith("Terima kasih sudah menghubungi Toko Batik Sekar")
    assert "https://wa.me/6281234500099" in open_  # nobody reads it here: point to the CS chat
    closed = answers.default_reply(SHOP, "id", SUNDAY, forwarded=True)
    assert "di luar jam operasional (Sen-Jum 08.00-17.00, Sab 09.00-13.00)" in closed
    assert "wa.me" not in closed
    assert "outside our opening hours" in answers.default_reply(SHOP, "en", SUNDAY, forwarded=True)


def test_merchants_own_replies_per_language_with_placeholders():
    shop = Shop(
        "Sekar",
        "id",
        JKT,
        {
            "opening_hours": HOURS,
            "replies": {
                "default": "Hai! {shop} akan membalas segera. {unknown}",
                "out_of_hours": {"id": "Kami buka {hours}.", "en": "We open {hours}."},
            },
        },
    )
    assert answers.default_reply(shop, "id", TUESDAY_10, forwarded=True) == (
        "Hai! Sekar akan membalas segera. {unknown}"
    )
    assert answers.default_reply(shop, "en", SUNDAY, forwarded=True) == (
        "We open Mon-Fri 08:00-17:00, Sat 09:00-13:00."
    )


def test_keyword_replies():
    stop = understand("BERHENTI")
    text = answers.keyword_reply(stop, "id", "whatsapp", SHOP)
    assert "tidak akan menerima pesan WhatsApp dari Toko Batik Sekar" in text and "MULAI" in text
    cancel = answers.keyword_reply(understand("CANCEL"), "en", "sms", SHOP)
    assert "no more" not in cancel and "SMS messages" in cancel
    assert "cancel an order" in cancel and "wa.me/6281234500099" in cancel
    start = answers.keyword_reply(understand("START"), "en", "sms", None)
    assert "from us again" in start
    assert "CEK RESI" in answers.keyword_reply(understand("bantuan"), "id", "sms", SHOP)


def test_forward_text_for_the_shops_cs():
    subject, text = answers.forward_text(
        shop=SHOP,
        channel="whatsapp",
        phone="+6281234567890",
        name="Rina Wulandari",
        body="Kak, ukuran L masih ada?\nWarna biru",
        received_at=SUNDAY,
        parcel=PARCEL,
    )
    assert subject == "Pesan WhatsApp dari pembeli: Rina Wulandari (+62 812-3456-7890)"
    assert "(di luar jam operasional)" in text
    assert "Balas lewat WhatsApp: https://wa.me/6281234567890" in text
    assert "> Kak, ukuran L masih ada?\n> Warna biru" in text
    assert "INV/2026/001, J&T Express resi JP1234567890, status: Sedang diantar kurir" in text
