"""Links we put in messages: the tracking page and a signed one-click unsubscribe."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

TOKEN_BYTES = 24  # 192 bits: tracking-page tokens cannot be guessed or enumerated


def new_public_token() -> str:
    """A URL-safe random token for a shipment's tracking page."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def tracking_url(public_url: str, token: str) -> str:
    return f"{public_url}/t/{token}"


def unsubscribe_token(secret: str, recipient_id: int, channel: str) -> str:
    """``<recipient>.<channel>.<signature>``: lets exactly that shopper leave that channel."""
    payload = f"{recipient_id}.{channel}"
    return f"{payload}.{_sign(secret, payload)}"


def read_unsubscribe_token(secret: str, token: str) -> tuple[int, str] | None:
    """(recipient id, channel) if the token is ours and intact, else None."""
    try:
        recipient, channel, signature = token.split(".")
        payload = f"{int(recipient)}.{channel}"
    except ValueError:
        return None
    if not hmac.compare_digest(signature, _sign(secret, payload)):
        return None
    return int(recipient), channel


def unsubscribe_url(public_url: str, secret: str, recipient_id: int, channel: str) -> str:
    return f"{public_url}/u/{unsubscribe_token(secret, recipient_id, channel)}"


def _sign(secret: str, payload: str) -> str:
    digest = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
