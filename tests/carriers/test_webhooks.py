"""Push signatures for every carrier with secrets made here (valid, tampered body, wrong secret,
missing header, replay), and what each push body says."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import unicodedata
from pathlib import Path

import pytest

from carriers import webhooks
from carriers.base import Status
from carriers.webhooks import Mention, PushFormatError, SignatureError, read, verify

SAMPLES = Path(__file__).parent / "samples"
BODY = b'{"event":"tracking_update","msg":{"tracking_number":"1Z999AA10123456784"}}'


def sign(carrier: str, body: bytes, secret: str) -> dict[str, str]:
    """The header each carrier sends, computed here independently of the module."""
    if carrier == "aftership":
        mac = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        return {"aftership-hmac-sha256": base64.b64encode(mac).decode()}
    if carrier == "17track":
        return {"sign": hashlib.sha256(body + b"/" + secret.encode()).hexdigest()}
    if carrier == "easypost":
        key = unicodedata.normalize("NFKD", secret).encode()
        return {"X-Hmac-Signature": "hmac-sha256-hex=" + hmac.new(key, body, "sha256").hexdigest()}
    if carrier == "simulator":
        return {
            "X-Simulator-Signature": "sha256="
            + hmac.new(secret.encode(), body, "sha256").hexdigest()
        }
    raise AssertionError(carrier)


SIGNED = ["aftership", "17track", "easypost", "simulator"]


@pytest.fixture
def secret() -> str:
    return secrets.token_urlsafe(24)


@pytest.mark.parametrize("carrier", SIGNED)
def test_a_correct_signature_is_accepted(carrier: str, secret: str) -> None:
    verify(carrier, BODY, sign(carrier, BODY, secret), secret)


@pytest.mark.parametrize("carrier", SIGNED)
def test_header_names_are_case_insensitive(carrier: str, secret: str) -> None:
    headers = {k.upper(): v for k, v in sign(carrier, BODY, secret).items()}
    verify(carrier, BODY, headers, secret)


@pytest.mark.parametrize("carrier", SIGNED)
def test_a_tampered_body_is_refused(carrier: str, secret: str) -> None:
    headers = sign(carrier, BODY, secret)
    with pytest.raises(SignatureError, match="does not match"):
        verify(carrier, BODY.replace(b"1Z999", b"1Z998"), headers, secret)
    with pytest.raises(SignatureError):
        verify(carrier, BODY + b" ", headers, secret)  # even whitespace counts: raw bytes


@pytest.mark.parametrize("carrier", SIGNED)
def test_a_wrong_secret_is_refused(carrier: str, secret: str) -> None:
    with pytest.raises(SignatureError, match="does not match"):
        verify(carrier, BODY, sign(carrier, BODY, secret + "x"), secret)


@pytest.mark.parametrize("carrier", SIGNED)
def test_a_missing_or_empty_header_is_refused(carrier: str, secret: str) -> None:
    with pytest.raises(SignatureError, match=r"no .* header"):
        verify(carrier, BODY, {}, secret)
    (name,) = sign(carrier, BODY, secret)
    with pytest.raises(SignatureError):
        verify(carrier, BODY, {name: ""}, secret)
    with pytest.raises(SignatureError):  # a non-ASCII header is never ours
        verify(carrier, BODY, {name: "é" * 10}, secret)


@pytest.mark.parametrize("carrier", SIGNED)
def test_no_configured_secret_accepts_nothing(carrier: str, secret: str) -> None:
    with pytest.raises(SignatureError, match="no webhook secret"):
        verify(carrier, BODY, sign(carrier, BODY, secret), None)


@pytest.mark.parametrize("carrier", SIGNED)
def test_a_replayed_signature_fits_only_its_own_body(carrier: str, secret: str) -> None:
    headers = sign(carrier, BODY, secret)
    verify(carrier, BODY, headers, secret)
    verify(carrier, BODY, headers, secret)  # the same push again: accepted, applied idempotently
    other = b'{"event":"tracking_update","msg":{"tracking_number":"OTHER"}}'
    with pytest.raises(SignatureError):
        verify(carrier, other, headers, secret)


def test_easypost_secret_is_nfkd_normalized() -> None:
    composed = "caf\u00e9-\ufb01"  # é as one code point and the "fi" ligature
    headers = sign("easypost", BODY, unicodedata.normalize("NFKD", composed))
    verify("easypost", BODY, headers, composed)
    assert headers["X-Hmac-Signature"].startswith("hmac-sha256-hex=")


def test_17track_sign_is_a_plain_digest_not_an_hmac(secret: str) -> None:
    expected = hashlib.sha256(BODY + b"/" + secret.encode()).hexdigest()
    assert webhooks.track17_signature(BODY, secret) == expected
    wrong = hmac.new(secret.encode(), BODY, hashlib.sha256).hexdigest()
    with pytest.raises(SignatureError):
        verify("17track", BODY, {"sign": wrong}, secret)


@pytest.mark.parametrize("carrier", ["shippo", "biteship"])
def test_token_carriers_compare_the_url_token(carrier: str, secret: str) -> None:
    verify(carrier, BODY, {}, secret, token=secret)
    wrong = secret[:-1] + ("B" if secret.endswith("A") else "A")  # one character off, never equal
    with pytest.raises(SignatureError, match="wrong token"):
        verify(carrier, BODY, {}, secret, token=wrong)
    with pytest.raises(SignatureError, match="no token"):
        verify(carrier, BODY, {}, secret)
    with pytest.raises(SignatureError, match="no webhook secret"):
        verify(carrier, BODY, {}, "", token="")


def test_unknown_carrier_has_no_webhook(secret: str) -> None:
    with pytest.raises(SignatureError):
        verify("ups", BODY, {}, secret)
    assert webhooks.uses_token("shippo") and not webhooks.uses_token("aftership")


# ----------------------------------------------------------------------------- bodies


def aftership_push(sample: str = "get-tracking-delivered-fedex-111111111111.json") -> bytes:
    """AfterShip posts the tracking object as ``msg`` (the same object GET returns)."""
    tracking = json.loads((SAMPLES / "aftership" / sample).read_text())["data"]["tracking"]
    push = {"event": "tracking_update", "event_id": "e-1", "is_tracking_first_tag": False,
            "msg": tracking, "ts": 1700000000}  # fmt: skip
    return json.dumps(push).encode()


def test_aftership_push_carries_the_whole_tracking() -> None:
    push = read("aftership", aftership_push())
    assert push.event == "tracking_update" and not push.mentions
    (result,) = push.results
    assert result.tracking_number == "111111111111" and result.status is Status.DELIVERED
    assert result.events


def test_17track_push_sample() -> None:
    body = (SAMPLES / "17track" / "webhook-tracking-updated-exception-dhl-paket.json").read_bytes()
    push = read("17track", body)
    assert push.event == "TRACKING_UPDATED"
    (result,) = push.results
    assert result.status is Status.EXCEPTION and result.events


def test_17track_stopped_push_has_no_news() -> None:
    body = json.dumps({"event": "TRACKING_STOPPED", "data": {"number": "RR1", "carrier": 3011}})
    push = read("17track", body.encode())
    assert push.results == () and push.mentions == ()


def test_easypost_push_sample_and_other_events() -> None:
    sample = "webhook-event-tracker-updated-delivered-EZ4000000004.json"
    push = read("easypost", (SAMPLES / "easypost" / sample).read_bytes())
    assert push.event == "tracker.updated"
    assert [r.tracking_number for r in push.results] == ["EZ4000000004"]
    assert push.results[0].status is Status.DELIVERED
    other = {"object": "Event", "description": "batch.updated", "result": {"object": "Batch"}}
    assert read("easypost", json.dumps(other).encode()).results == ()


def test_shippo_track_updated_and_other_events() -> None:
    track = json.loads(
        (SAMPLES / "shippo" / "track-get-usps-delivered-9205590164917337534322.json").read_text()
    )
    push = read(
        "shippo", json.dumps({"event": "track_updated", "test": True, "data": track}).encode()
    )
    assert [r.status for r in push.results] == [Status.DELIVERED]
    # a transaction event carries a tracking_status string, not tracking news
    other = {
        "event": "transaction_updated",
        "data": {"tracking_number": "X", "tracking_status": "UNKNOWN"},
    }
    assert read("shippo", json.dumps(other).encode()).results == ()


def test_biteship_status_push_only_names_the_waybill() -> None:
    body = {"event": "order.status", "order_id": "5dd599ebdefcd4158eb8470b",
            "courier_tracking_id": "6d1f1bd4-a66f-4d23-a41d-b3d0a9a1a1ab",
            "courier_waybill_id": "JX1541346437", "courier_company": "jnt",
            "courier_type": "ez", "status": "dropping_off"}  # fmt: skip
    push = read("biteship", json.dumps(body).encode())
    assert push.mentions == (Mention("JX1541346437", "jnt"),) and push.results == ()
    assert read("biteship", b"{}").mentions == ()  # the dashboard's installation check
    price = {"event": "order.price", "order_id": "x", "price": 10000}
    assert read("biteship", json.dumps(price).encode()).mentions == ()


def test_simulator_push_names_the_number() -> None:
    body = {
        "event": "tracking.updated",
        "tracking_number": "SIMNRM0001",
        "status_code": "OUT_FOR_DELIVERY",
        "occurred_at": "2026-11-28T08:59:32+07:00",
    }
    assert read("simulator", json.dumps(body).encode()).mentions == (Mention("SIMNRM0001"),)


@pytest.mark.parametrize(
    ("carrier", "body"),
    [
        ("aftership", b"not json"),
        ("aftership", b"[1, 2]"),
        ("aftership", b'{"event": "tracking_update"}'),  # no msg
        ("aftership", b'{"event": "tracking_update", "msg": {"checkpoints": 5}, "meta": 1}'),
        ("17track", b'{"event": "TRACKING_UPDATED", "data": {}}'),
        ("easypost", b'{"object": "Tracker"}'),
        ("shippo", b'{"data": {}}'),
        ("simulator", b'{"event": "tracking.updated"}'),
        ("ups", b"{}"),
    ],
)
def test_malformed_pushes(carrier: str, body: bytes) -> None:
    with pytest.raises(PushFormatError):
        read(carrier, body)
