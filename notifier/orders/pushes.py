"""Marketplace pushes: how Shopee and TikTok Shop sign them, and what names a delivery.

The ``verify_push`` and ``webhook_event_id`` hooks of :mod:`notifier.orders.shopee` and
:mod:`notifier.orders.tiktok_shop` (see :mod:`notifier.orders.base`). Neither platform gives a
separate webhook secret: a push is signed with the app's own keys, which the merchant's source
entry holds for polling already.

* Shopee: ``Authorization = hex(HMAC-SHA256(partner_key, callback_url + "|" + raw_body))``,
  the callback URL as registered with ``set_app_push_config``. A push has no id of its own; a
  retry repeats the body, so the body's digest names it. (The notes mark the scheme v1-era,
  assumed unchanged.)
* TikTok Shop: ``Authorization = hex(HMAC-SHA256(app_secret, app_key + raw_body))``; a
  delivery is named by ``tts_notification_id`` (older payloads lack it: the body's digest).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from notifier.orders.base import WebhookRejected, WebhookUnverifiable, header
from notifier.orders.parse_contract import text
from notifier.orders.signing import shopee_push_valid, tiktok_webhook_valid


def shopee_verify(
    body: bytes, headers: Mapping[str, str], entry: Mapping[str, Any], url: str
) -> None:
    """Raise WebhookRejected unless ``Authorization`` signs ``url`` and ``body`` with the entry's
    ``partner_key``."""
    key = _required(entry, "partner_key")[0]
    if not shopee_push_valid(key, url, body, header(headers, "Authorization") or ""):
        raise WebhookRejected("missing or wrong Authorization (Shopee push signature)")


def tiktok_verify(
    body: bytes, headers: Mapping[str, str], entry: Mapping[str, Any], url: str
) -> None:
    """Raise WebhookRejected unless ``Authorization`` signs ``body`` with the entry's
    ``app_key`` and ``app_secret`` (the URL is not signed)."""
    key, secret = _required(entry, "app_key", "app_secret")
    if not tiktok_webhook_valid(key, secret, body, header(headers, "Authorization") or ""):
        raise WebhookRejected("missing or wrong Authorization (TikTok Shop webhook signature)")


def body_digest(body: bytes, headers: Mapping[str, str] | None = None) -> str:
    """The id of a push that names none: its body's digest (a retry repeats the body)."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def tiktok_event_id(body: bytes, headers: Mapping[str, str]) -> str:
    """``tts_notification_id`` (a retry repeats it), else the body's digest."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    notification = text(data.get("tts_notification_id")) if isinstance(data, dict) else None
    return f"tts:{notification}" if notification else body_digest(body)


def _required(entry: Mapping[str, Any], *names: str) -> list[str]:
    values = []
    for name in names:
        value = text(entry.get(name))
        if value is None:
            raise WebhookUnverifiable(name)
        values.append(value)
    return values
