"""What every merchant UI page shares: the signed-in merchant, CSRF checks, rendering.

A page that needs a merchant takes :data:`AdminDep`: without a valid session it answers 303 to
the sign-in page (a script's fetch gets 401 instead). Every state-changing request takes
:data:`CsrfDep`, which answers 403 unless the form's ``csrf`` field (or the ``X-CSRF-Token``
header) is the session's token. Responses carry a strict Content-Security-Policy: scripts and
styles from ``/admin/static`` only, no framing, forms post only to this site.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from notifier import formatting
from notifier.runtime import Runtime
from notifier.settings import CHANNELS, TRIGGERS
from notifier.store import merchants
from notifier.store.models import Merchant
from notifier.web import session as cookies
from notifier.web.admin_text import CHANNEL_NAMES, TEXT, TRIGGER_NAMES
from notifier.web.deps import RuntimeDep, SessionDep

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' https: data:; frame-src 'self'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'; object-src 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _secret(rt: Runtime) -> str:
    return rt.settings.server.session_secret.get_secret_value()


def secure(rt: Runtime) -> bool:
    return rt.settings.server.public_url.startswith("https://")


def read_session(request: Request, rt: Runtime) -> cookies.AdminSession | None:
    return cookies.decode(_secret(rt), request.cookies.get(cookies.COOKIE))


def visitor(request: Request, rt: RuntimeDep) -> cookies.AdminSession:
    """The session in the cookie, or a new anonymous one (stored when the page is rendered)."""
    found = read_session(request, rt)
    if found is None:
        found = cookies.new_session(_guess_lang(request))
        request.state.new_admin_session = found
    return found


def _guess_lang(request: Request) -> str:
    return "en" if request.headers.get("accept-language", "")[:2].lower() == "en" else "id"


VisitorDep = Annotated[cookies.AdminSession, Depends(visitor)]


@dataclass(frozen=True, slots=True)
class Admin:
    """The signed-in merchant and its session."""

    merchant: Merchant
    session: cookies.AdminSession

    @property
    def lang(self) -> str:
        return self.session.lang

    @property
    def merchant_id(self) -> int:
        assert self.merchant.id is not None
        return self.merchant.id


def require_admin(request: Request, rt: RuntimeDep, db: SessionDep) -> Admin:
    """The signed-in merchant; 303 to the sign-in page (401 for scripts) otherwise."""
    found = read_session(request, rt)
    merchant = db.get(Merchant, found.merchant_id) if found and found.merchant_id else None
    tag = cookies.token_tag(merchant.api_token_hash) if merchant else None
    if found is None or merchant is None or found.token_tag != tag:
        if request.headers.get("x-requested-with") == "fetch" or request.method != "GET":
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "sign in first")
        target = f"/admin/login?next={quote(request.url.path)}"
        raise HTTPException(status.HTTP_303_SEE_OTHER, headers={"Location": target})
    return Admin(merchant, found)


AdminDep = Annotated[Admin, Depends(require_admin)]


async def require_csrf(request: Request, rt: RuntimeDep) -> None:
    """403 unless the request carries the session's CSRF token (form field or header)."""
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get("csrf")
        sent = value if isinstance(value, str) else None
    if not cookies.csrf_matches(read_session(request, rt), sent):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "CSRF token missing or wrong")


CsrfDep = Depends(require_csrf)


def safe_next(target: str | None) -> str:
    """Only paths inside the merchant UI: never another site after sign-in."""
    if target and target.startswith("/admin") and not target.startswith("/admin//"):
        return target
    return "/admin"


def redirect(target: str) -> RedirectResponse:
    return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER, headers=HEADERS)


def render(
    request: Request,
    rt: Runtime,
    name: str,
    context: dict[str, Any],
    *,
    admin: Admin | None = None,
    visitor: cookies.AdminSession | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """A page with the words in the session's language, the CSRF token and the headers."""
    sess = admin.session if admin else visitor or cookies.new_session()
    lang = sess.lang
    merchant = admin.merchant if admin else None
    zone = merchant.timezone if merchant else "Asia/Jakarta"
    base = {
        "t": TEXT[lang],
        "lang": lang,
        "csrf": sess.csrf,
        "merchant": merchant,
        "shop": _shop_name(merchant),
        "triggers": TRIGGERS,
        "channels": CHANNELS,
        "trigger_name": lambda t: TRIGGER_NAMES[lang].get(t, t),
        "channel_name": lambda c: CHANNEL_NAMES.get(c, c),
        "status_name": lambda s: formatting.status_label(s, lang) if s else "",
        "when": lambda v: _when(v, lang, zone),
        "path": request.url.path,
    }
    response = templates.TemplateResponse(
        request, f"admin/{name}", base | context, status_code=status_code, headers=HEADERS
    )
    fresh = getattr(request.state, "new_admin_session", None)
    if fresh is not None and admin is None:
        cookies.store(response, _secret(rt), fresh, secure=secure(rt))
    return response


def _shop_name(merchant: Merchant | None) -> str:
    if merchant is None:
        return ""
    return ((merchant.settings or {}).get("brand") or {}).get("name") or merchant.name


def _when(value: datetime | date | None, lang: str, zone: str) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return formatting.format_datetime(value, lang, zone)
    return formatting.format_date(value, lang)


def sign_in(
    response: Response, rt: Runtime, sess: cookies.AdminSession, merchant: Merchant
) -> None:
    assert merchant.id is not None
    new = cookies.signed_in(sess, merchant.id, merchant.api_token_hash)
    cookies.store(response, _secret(rt), new, secure=secure(rt))


def store_session(response: Response, rt: Runtime, sess: cookies.AdminSession) -> None:
    cookies.store(response, _secret(rt), sess, secure=secure(rt))


def sign_out(response: Response, rt: Runtime) -> None:
    cookies.clear(response, secure=secure(rt))


def merchant_by_token(db: SessionDep, token: str) -> Merchant | None:
    return merchants.by_token(db, token.strip()) if token.strip() else None
