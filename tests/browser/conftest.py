"""Browser tests: the real app served by uvicorn in a thread, driven by Debian's Chromium.

Fixtures (all marked tests should carry ``@pytest.mark.browser``):

``live`` -> :class:`Live` (function scope)
    The whole app (``notifier.web.app.create_app``) served on ``127.0.0.1`` at a free port, on
    a fresh SQLite database, with the same runtime as ``tests/conftest.py`` builds (frozen clock
    at Tuesday 1 December 2026 10:00 in Jakarta, memory sender on every channel, the
    ``scripted`` carrier). ``live.url`` is the base URL without a trailing slash,
    ``live.rt`` the :class:`~notifier.runtime.Runtime` (seed it with ``tests.factories``:
    ``parcel(live.rt, live.merchant)``; the server reads the same database),
    ``live.merchant`` the Indonesian sample shop "Toko Batik Sekar" (bearer token
    ``tok-sekar``, slug ``sekar``), and ``live.app`` the FastAPI app. ``live.run(coro)`` runs
    a coroutine to completion (e.g. ``live.run(poll.sweep(live.rt))``): Playwright's sync API
    keeps an event loop running in the test's thread, so ``asyncio.run`` cannot be used there.

``browser`` -> ``playwright.sync_api.Browser`` (function scope)
    Chromium from ``/usr/bin/chromium`` (``--headless --no-sandbox --disable-gpu
    --disable-background-networking``); never a downloaded browser (no ``playwright install``).
    Started and stopped with each test (about a second): while Playwright's sync API is alive
    it marks an event loop as running in the thread, which would break every asyncio test
    that runs after it in the same worker.

``phone`` -> ``playwright.sync_api.Page`` (function scope)
    A fresh context at a phone viewport (390x844, touch, device scale 2), Indonesian locale
    and the Asia/Jakarta zone. After the test a full-page screenshot is written to
    ``var/screenshots/<test name>.png``.

``screenshot`` -> ``Callable[[Page, str], Path]``
    Saves ``var/screenshots/<test name>-<label>.png`` for intermediate states.

Example::

    @pytest.mark.browser
    def test_sign_in(live, phone):
        phone.goto(f"{live.url}/admin")
        ...

Sync Playwright cannot run inside an event loop: write browser tests as plain ``def``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import re
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvicorn
from fastapi import FastAPI
from sqlmodel import SQLModel

from notifier.runtime import Runtime, build_runtime
from notifier.settings import Settings
from notifier.store.db import make_engine
from notifier.store.models import Merchant
from notifier.testing import FrozenClock, MemorySender, ScriptedCarrier
from notifier.web.app import create_app

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE = {"width": 390, "height": 844}
START = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # Tuesday 10:00 in Jakarta
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
SERVER_START_TIMEOUT = 10.0  # s
T = TypeVar("T")


@dataclass
class Live:
    """A running app: ``url`` (no trailing slash), its runtime, the sample shop, the app."""

    url: str
    rt: Runtime
    merchant: Merchant
    app: FastAPI

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` to completion on a fresh event loop in another thread."""
        return run_async(coro)


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)`` in a worker thread (the test thread has Playwright's loop)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _serve(app: FastAPI) -> tuple[uvicorn.Server, threading.Thread, int]:
    """uvicorn in a daemon thread on a free port (it leaves signals alone off the main
    thread); returns when it accepts connections."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="live-app", daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the app did not start under uvicorn")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, port


def _sample_shop(rt: Runtime) -> Merchant:
    with rt.sessions() as session, session.begin():
        merchant = Merchant(
            slug="sekar",
            name="Toko Batik Sekar",
            api_token_hash=hashlib.sha256(b"tok-sekar").hexdigest(),
            country="ID",
            locale="id",
            timezone="Asia/Jakarta",
            settings={"notify": {"channels": ["email", "whatsapp"]}},
            created_at=START,
        )
        session.add(merchant)
    return merchant


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    """The app on a fresh SQLite database, served at ``live.url`` (see the module docstring)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'live.db'}")
    SQLModel.metadata.create_all(engine)
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'live.db'}",
        var_dir=tmp_path / "var",
        senders={"outbox": {"dir": tmp_path / "outbox"}},
    )
    rt = build_runtime(settings, FrozenClock(START), engine=engine)
    sender = MemorySender()
    for channel in ("email", "sms", "whatsapp"):
        rt.senders.install(channel, sender)
    rt.carriers.install("scripted", ScriptedCarrier())
    rt.extra["sender"] = sender
    merchant = _sample_shop(rt)
    app = create_app(rt)
    server, thread, port = _serve(app)
    url = f"http://127.0.0.1:{port}"
    rt.settings.server.public_url = url  # links the pages print point at this server
    try:
        yield Live(url, rt, merchant, app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        run_async(rt.carriers.aclose())
        engine.dispose()


@pytest.fixture
def browser() -> Iterator[playwright_api.Browser]:
    """Debian's Chromium, headless, for one test (see the module docstring)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _test_name(request: pytest.FixtureRequest) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[playwright_api.Page, str], Path]:
    """``screenshot(page, "label")`` saves var/screenshots/<test>-<label>.png."""

    def save(page: playwright_api.Page, label: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{_test_name(request)}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


@pytest.fixture
def phone(
    browser: playwright_api.Browser, request: pytest.FixtureRequest
) -> Iterator[playwright_api.Page]:
    """A page at a phone viewport, Indonesian, in Jakarta; screenshotted after the test."""
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="id-ID",
        timezone_id="Asia/Jakarta",
    )
    page = context.new_page()
    try:
        yield page
    finally:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        if page.url.startswith("http"):
            page.screenshot(path=str(SCREENSHOTS / f"{_test_name(request)}.png"), full_page=True)
        context.close()
