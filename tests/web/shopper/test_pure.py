"""The pure parts behind the shopper's pages: progress steps, shop settings, the brand colour,
the limiter's windows, and the two locales' words."""

from __future__ import annotations

from notifier.web import lookup, tracking
from notifier.web.ratelimit import RateLimiter, Rule
from tests.web.shopper.helpers import (
    FakeTime,
)

# --- pure parts --------------------------------------------------------------------------------


def steps(status: str, *history: str) -> list[tuple[str, str, str | None, str]]:
    return [(s.key, s.state, s.status, s.tone) for s in tracking.progress(status, history)]


def test_progress_for_each_kind_of_status():
    assert [s[1] for s in steps("pending")] == ["done", "current", "todo", "todo", "todo"]
    assert steps("in_transit")[2] == ("in_transit", "current", None, "")
    assert steps("failed_attempt")[3] == ("out_for_delivery", "current", "failed_attempt", "alert")
    pickup = steps("available_for_pickup")[3]
    assert pickup == ("out_for_delivery", "current", "available_for_pickup", "info")
    assert steps("exception", "info_received", "in_transit")[2][1:] == (
        "current",
        "exception",
        "alert",
    )
    assert steps("exception")[1][1:3] == ("current", "exception")  # no scans: still shipped
    assert steps("expired", "in_transit")[2][3] == "muted"
    returned = steps("returned_to_sender", "in_transit")
    assert returned[4] == ("delivered", "current", "returned_to_sender", "alert")
    assert [s[1] for s in steps("delivered")] == ["done"] * 4 + ["current"]
    assert steps("delivered")[4] == ("delivered", "current", None, "ok")


def test_shop_settings_of_the_wrong_kind_are_left_out():
    shop = tracking.read_shop(
        "Account name",
        {
            "brand": {
                "name": "  ",
                "color": "red; background:url(x)",
                "logo_url": "http://insecure.example/logo.png",
                "website": "javascript:alert(1)",
                "cs_whatsapp": "not a phone",
                "cs_email": "nobody",
            },
            "faq": [{"q": "Only a question"}, "nonsense", {"q": "Q?", "a": "A."}],
            "return_policy_url": "ftp://example.com/x",
        },
    )
    brand = shop.brand
    assert brand.name == "Account name" and brand.color is None and brand.logo_url is None
    assert brand.website is None and brand.cs_whatsapp is None and brand.cs_email is None
    assert shop.faq == (tracking.FaqItem("Q?", ("A.",)),)
    assert shop.return_policy_url is None
    assert tracking.read_shop("x", {"brand": "oops", "faq": {"q": 1}}).faq == ()


def test_text_on_the_brand_colour_contrasts():
    def on(color: str) -> str:
        return tracking.read_shop("x", {"brand": {"color": color}}).brand.on_color

    assert on("#FFD700") == "#111111" and on("#fff") == "#111111"
    assert on("#0f766e") == "#ffffff" and on("#123") == "#ffffff"
    assert tracking.read_shop("x", {"brand": {"color": "#ABC"}}).brand.color == "#aabbcc"


def test_cs_whatsapp_is_normalized_and_the_link_prefilled():
    brand = tracking.read_shop("x", {"brand": {"cs_whatsapp": "+62 857-1234-5678"}}).brand
    assert brand.cs_whatsapp == "+6285712345678"
    url = tracking.whatsapp_url(brand.cs_whatsapp, "Halo, pesanan INV/1 & resi?")
    assert url == "https://wa.me/6285712345678?text=Halo%2C%20pesanan%20INV%2F1%20%26%20resi%3F"


def test_first_name_only():
    assert tracking.first_name("  Rina   Wulandari ") == "Rina"
    assert tracking.first_name("") == "" and len(tracking.first_name("x" * 99)) == 40


def test_order_number_spellings():
    assert lookup.number_variants("inv/1") == ["inv/1", "INV/1", "#inv/1", "#INV/1"]
    assert lookup.number_key(" #inv/1 ") == lookup.number_key("INV/1") == "INV/1"


def test_the_limiter_windows_and_waits():
    time = FakeTime()
    limiter = RateLimiter([Rule(2, 60), Rule(3, 3600)], now=time)
    assert limiter.hit("a") == 0 and limiter.hit("a") == 0
    assert limiter.hit("a") == 60  # the first hit leaves the minute window in 60 s
    time.now += 30
    assert limiter.hit("a") == 30
    time.now += 30
    assert limiter.hit("a") == 0  # a third hit in the hour
    time.now += 60
    assert limiter.hit("a") == 3600 - 120  # the hour is full until the first hit leaves it
    assert limiter.hit("b") == 0  # another key is untouched


def test_a_refused_hit_records_nothing_on_any_key():
    time = FakeTime()
    limiter = RateLimiter([Rule(1, 60)], now=time)
    assert limiter.hit("ip:1", "order:A") == 0
    assert limiter.hit("ip:1", "order:B") > 0  # the address is over: order B not charged
    assert limiter.hit("ip:2", "order:B") == 0


def test_the_limiter_forgets_idle_keys_and_caps_memory():
    time = FakeTime()
    limiter = RateLimiter([Rule(5, 60)], now=time, max_keys=3)
    for key in "abcd":
        limiter.hit(key)
    assert len(limiter) == 3
    time.now += 61
    limiter.hit("e")
    assert len(limiter) == 1


def test_both_locales_have_the_same_words():
    from notifier.web.pages_text import TEXT

    assert set(TEXT["id"]) == set(TEXT["en"])
    assert not set(TEXT["id"]) & set(dir(dict))  # "t.copy" would be dict.copy in a template
