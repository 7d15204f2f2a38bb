"""The outbox sender writes real, parseable messages, atomically, one file each."""

from __future__ import annotations

from email import message_from_bytes, policy

from notifier.senders.base import OutgoingMessage
from notifier.senders.outbox import OutboxSender


def msg(channel: str, **kw) -> OutgoingMessage:
    base = dict(
        notification_id=7,
        dedupe_key=f"s1:shipped:1:{channel}",
        merchant_id=1,
        trigger="shipped",
        channel=channel,
        to="rina@example.com" if channel == "email" else "+6281234567890",
        to_name="Rina Wulandari",
        text="Halo Kak Rina, paketmu dikirim",
        subject="Pesananmu dikirim" if channel == "email" else None,
        html="<p>Halo Kak Rina</p>" if channel == "email" else None,
        shop_name="Toko Batik Sekar",
        unsubscribe_url="http://x/u/abc" if channel == "email" else None,
    )
    return OutgoingMessage(**(base | kw))


async def test_email_file_is_rfc5322_with_both_parts(tmp_path) -> None:
    sender = OutboxSender({"dir": tmp_path})
    result = await sender.send(msg("email"))
    [path] = list(tmp_path.glob("*.eml"))
    parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert parsed["Subject"] == "Pesananmu dikirim"
    assert parsed["To"] == "Rina Wulandari <rina@example.com>"
    assert parsed["List-Unsubscribe"] == "<http://x/u/abc>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["X-Notifier-Dedupe-Key"] == "s1:shipped:1:email"
    assert parsed.get_body(("plain",)).get_content().strip() == "Halo Kak Rina, paketmu dikirim"
    assert "<p>Halo Kak Rina</p>" in parsed.get_body(("html",)).get_content()
    assert result.provider_message_id.startswith("outbox-")
    assert not list(tmp_path.glob("*.tmp"))


async def test_whatsapp_file_and_a_second_send_is_a_second_file(tmp_path) -> None:
    sender = OutboxSender({"dir": tmp_path})
    await sender.send(msg("whatsapp"))
    await sender.send(msg("whatsapp"))
    files = sorted(tmp_path.glob("*.txt"))
    assert len(files) == 2  # a repeated send stays visible
    parsed = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert parsed["To"] == "+6281234567890" and parsed["Channel"] == "whatsapp"
