"""The merchant UI's session: a signed cookie, and the CSRF token that lives inside it.

The cookie holds JSON (merchant id, a tag of the API token it was opened with, the CSRF token,
when it was issued, the UI language), base64url-encoded and signed with HMAC-SHA256 under a key
derived from ``server.session_secret``. It is HttpOnly, SameSite=Lax, scoped to ``/admin`` and
Secure when the service is served over https. Nothing in it is secret; it only has to be
unforgeable. A session ends after :data:`MAX_AGE`, at sign-out, or when the merchant's API token
changes (the tag no longer matches).

CSRF: a synchronizer token. Every session, signed in or not, carries a random ``csrf`` value;
every form posts it back as the ``csrf`` field and scripts send it as ``X-CSRF-Token``;
:func:`csrf_matches` compares in constant time. Signing in issues a fresh one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import asdict, dataclass, replace

from starlette.responses import Response

COOKIE = "notifier_admin"
PATH = "/admin"
MAX_AGE = 12 * 3600  # s a sign-in lasts
LANGS = ("id", "en")
_CONTEXT = b"notifier admin session v1"


@dataclass(frozen=True, slots=True)
class AdminSession:
    """What the cookie says. ``merchant_id`` is None before sign-in."""

    csrf: str
    issued: int
    lang: str = "id"
    merchant_id: int | None = None
    token_tag: str | None = None

    @property
    def signed_in(self) -> bool:
        return self.merchant_id is not None


def new_session(lang: str = "id") -> AdminSession:
    """An anonymous session (a CSRF token for the sign-in form)."""
    return AdminSession(csrf=secrets.token_urlsafe(24), issued=int(time.time()), lang=_lang(lang))


def signed_in(previous: AdminSession, merchant_id: int, token_hash: str) -> AdminSession:
    """The session after a successful sign-in: a new CSRF token, the merchant and its token tag."""
    return AdminSession(
        csrf=secrets.token_urlsafe(24),
        issued=int(time.time()),
        lang=previous.lang,
        merchant_id=merchant_id,
        token_tag=token_tag(token_hash),
    )


def with_lang(session: AdminSession, lang: str) -> AdminSession:
    return replace(session, lang=_lang(lang))


def token_tag(token_hash: str) -> str:
    """A short tag of the stored token hash: a new token ends the old sign-ins."""
    return token_hash[:16]


def _lang(lang: str) -> str:
    return lang if lang in LANGS else "id"


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _CONTEXT, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(secret: str, session: AdminSession) -> str:
    """The cookie value: ``payload.signature``."""
    payload = _b64(json.dumps(asdict(session), separators=(",", ":")).encode())
    signature = _b64(hmac.new(_key(secret), payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{signature}"


def decode(secret: str, value: str | None, *, now: float | None = None) -> AdminSession | None:
    """The session in a cookie value; None when missing, forged, malformed or expired."""
    if not value or value.count(".") != 1:
        return None
    payload, signature = value.split(".")
    expected = _b64(hmac.new(_key(secret), payload.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, signature):
        return None
    try:
        data = json.loads(_unb64(payload))
        session = AdminSession(**data)
    except (ValueError, TypeError, binascii.Error):
        return None
    if (now if now is not None else time.time()) - session.issued > MAX_AGE:
        return None
    return session


def csrf_matches(session: AdminSession | None, sent: str | None) -> bool:
    """Whether ``sent`` is this session's CSRF token."""
    if session is None or not sent:
        return False
    return hmac.compare_digest(session.csrf.encode(), sent.encode())


def store(response: Response, secret: str, session: AdminSession, *, secure: bool) -> None:
    """Set the cookie on ``response``."""
    response.set_cookie(
        COOKIE,
        encode(secret, session),
        max_age=MAX_AGE,
        path=PATH,
        httponly=True,
        samesite="lax",
        secure=secure,
    )


def clear(response: Response, *, secure: bool) -> None:
    response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="lax", secure=secure)
