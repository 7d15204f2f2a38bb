"""Serving the carrier simulator with uvicorn: in a thread, in a running loop, or on its own.

* :func:`serve_in_thread` for tests and synchronous callers: returns once the port is bound;
  ``.url`` has the real port (``port=0`` picks a free one); ``.stop()`` or ``with``.
* :func:`serve` for code already in an event loop (the demo):
  ``async with serve(now=clock.now) as sim: ...``.
* :func:`run` (``python -m carriers.simulator``) in the foreground until SIGINT/SIGTERM.

All three accept the options of :func:`create_app` and serve the same :class:`SimulatorApp`,
reachable as ``.app`` (registry, stats, fault plan) for in-process seeding.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx
import uvicorn

from carriers.simulator.app import SimulatorApp
from carriers.simulator.clock import ScaledWallClock

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8790
STARTUP_TIMEOUT = 10.0  # s to bind the port before giving up (it normally takes ~0.05 s)
SHUTDOWN_TIMEOUT = 5.0  # s for a thread to finish after stop()


def create_app(
    now: Callable[[], datetime] | None = None,
    *,
    api_key: str | None = None,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    webhook_client: httpx.AsyncClient | None = None,
    rate_limit: float | None = None,
    scale: float = 1.0,
    start: datetime | None = None,
    accounts: Mapping[str, Mapping[str, str]] | None = None,
) -> SimulatorApp:
    """The simulator's ASGI app.

    ``now`` returns aware UTC datetimes; without it, virtual time starts at ``start`` (default:
    now) and runs ``scale`` times faster than the wall clock. ``api_key``: required in
    ``X-Api-Key`` when set. ``webhook_url``: where changes are pushed (signed with
    ``webhook_secret`` when set, through ``webhook_client`` if given). ``rate_limit``: a
    request quota per second of the simulator's clock (429 with Retry-After beyond it).
    ``accounts``: the credentials each wire format accepts, by carrier id (default:
    :func:`carriers.simulator.formats.account`).
    """
    return SimulatorApp(
        now or ScaledWallClock(start, scale).now,
        api_key=api_key,
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        webhook_client=webhook_client,
        rate_limit=rate_limit,
        accounts=accounts,
    )


class SimulatorServer:
    """One uvicorn server for a :class:`SimulatorApp`; ``url`` is set once it listens."""

    def __init__(self, app: SimulatorApp, host: str = DEFAULT_HOST, port: int = 0) -> None:
        self.app = app
        self.host = host
        self.url = ""
        self._config = uvicorn.Config(
            app,
            host=host,
            port=port,
            lifespan="on",
            log_config=None,  # leave the host process's logging alone
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(self._config)
        self._main: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"SimulatorServer({self.url or 'not started'})"

    async def start(self) -> None:
        """Bind and start serving on the running loop; OSError if the port cannot be bound.

        Uses uvicorn's startup/main_loop/shutdown rather than ``serve()``, which would take over
        the host process's SIGINT/SIGTERM handlers.
        """
        if not self._config.loaded:
            self._config.load()
        self._server.lifespan = self._config.lifespan_class(self._config)
        try:
            await self._server.startup()
        except SystemExit as err:  # uvicorn exits when it cannot bind or the lifespan fails
            raise OSError(f"carrier simulator cannot listen on {self.host}") from err
        port = self._server.servers[0].sockets[0].getsockname()[1]
        shown = f"[{self.host}]" if ":" in self.host else self.host  # IPv6 literal
        self.url = f"http://{shown}:{port}"
        self._main = asyncio.create_task(self._server.main_loop(), name="simulator")

    async def aclose(self) -> None:
        """Stop accepting, drop hanging requests, finish the lifespan."""
        if self._main is None:
            return
        self._server.should_exit = True
        await self.app.shutdown()  # releases requests held by a timeout fault
        await self._main
        self._main = None
        await self._server.shutdown()

    def start_in_thread(self) -> SimulatorServer:
        """Serve from a daemon thread with its own loop; returns once the port is bound."""
        ready = threading.Event()
        failure: list[BaseException] = []

        async def main() -> None:
            try:
                await self.start()
            except BaseException as err:
                failure.append(err)
                return
            finally:
                ready.set()
            assert self._main is not None
            await self._main  # until stop() sets should_exit
            await self.aclose()

        def target() -> None:
            try:
                with asyncio.Runner(loop_factory=_new_loop) as runner:
                    runner.run(main())
            except Exception:  # a daemon thread has nobody to raise to
                log.exception("carrier simulator thread failed")

        self._thread = threading.Thread(target=target, name="carrier-simulator", daemon=True)
        self._thread.start()
        if not ready.wait(STARTUP_TIMEOUT) or failure:
            self._server.should_exit = True
            cause = failure[0] if failure else None
            raise OSError(f"carrier simulator did not start on {self.host}") from cause
        return self

    def stop(self) -> None:
        """Stop a server started with :meth:`start_in_thread` and wait for its thread."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(SHUTDOWN_TIMEOUT)
            self._thread = None

    def __enter__(self) -> SimulatorServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # uvicorn[standard] brings it; plain asyncio works too, only slower
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def serve_in_thread(
    host: str = DEFAULT_HOST,
    port: int = 0,
    now: Callable[[], datetime] | None = None,
    api_key: str | None = None,
    **options: Any,
) -> SimulatorServer:
    """Start a simulator in a daemon thread; the returned server is running (``.url``).

    ``options`` are those of :func:`create_app` (``webhook_url``, ``scale``...), or ``app=`` an
    existing :class:`SimulatorApp`.
    """
    app = options.pop("app", None) or create_app(now, api_key=api_key, **options)
    return SimulatorServer(app, host, port).start_in_thread()


@contextlib.asynccontextmanager
async def serve(
    host: str = DEFAULT_HOST,
    port: int = 0,
    now: Callable[[], datetime] | None = None,
    api_key: str | None = None,
    **options: Any,
) -> AsyncIterator[SimulatorServer]:
    """Serve a simulator on the running loop for the duration of an ``async with`` block."""
    app = options.pop("app", None) or create_app(now, api_key=api_key, **options)
    server = SimulatorServer(app, host, port)
    await server.start()
    try:
        yield server
    finally:
        await server.aclose()


def run(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    ready: Callable[[SimulatorServer], None] | None = None,
    **options: Any,
) -> None:
    """Serve in the foreground until SIGINT or SIGTERM; ``ready`` is called once listening."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with serve(host, port, **options) as server:
            if ready is not None:
                ready(server)
            await stop.wait()

    with asyncio.Runner(loop_factory=_new_loop) as runner:
        runner.run(main())


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m carriers.simulator [--host H] [--port P] [--scale S] [--api-key K] ...``."""
    parser = argparse.ArgumentParser(prog="carriers.simulator", description=__doc__)
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--scale", type=float, default=1.0, help="virtual seconds per second")
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--webhook-url", default=None)
    parser.add_argument("--webhook-secret", default=None)
    parser.add_argument("--rate-limit", type=float, default=None, help="requests per second")
    parser.add_argument(
        "--start", type=datetime.fromisoformat, default=None, help="virtual start (ISO-8601)"
    )
    args = parser.parse_args(argv)
    run(
        args.host,
        args.port,
        scale=args.scale,
        api_key=args.api_key,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
        rate_limit=args.rate_limit,
        start=args.start,
        ready=lambda server: print(f"carrier simulator on {server.url}", flush=True),
    )
