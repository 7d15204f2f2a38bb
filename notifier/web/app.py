"""The FastAPI application served by ``notifier run``."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse, RedirectResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from notifier.runtime import Runtime
from notifier.web import api, lookup, pages
from notifier.web.limits import BodyLimit


def create_app(rt: Runtime) -> FastAPI:
    app = FastAPI(
        title="shipment-notifier",
        version="0.1.0",
        summary="Order intake, tracking pages and provider webhooks.",
        docs_url="/docs",  # the OpenAPI document itself: /api/openapi.json
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.runtime = rt
    app.add_middleware(BodyLimit)  # 413 for oversized bodies before any route reads them
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(lookup.router)
    app.mount("/static", pages.static_files(), name="static")  # shopper pages' CSS/JS, no CDN
    from notifier.web.admin import include as include_admin  # merchant UI and admin REST API

    include_admin(app)
    from notifier.web.webhooks_senders import router as sender_hooks  # Twilio/SendGrid callbacks

    app.include_router(sender_hooks)
    from notifier.web.webhooks_carriers import router as carrier_pushes  # carrier push webhooks

    app.include_router(carrier_pushes)
    from notifier.web.webhooks_orders import router as store_hooks  # order-store webhooks

    app.include_router(store_hooks)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> Response:
        """200 when the database answers, 503 otherwise."""
        try:
            with rt.engine.connect() as conn:
                conn.execute(sa.text("select 1"))
        except sa.exc.SQLAlchemyError as err:
            return JSONResponse({"status": "down", "database": type(err).__name__}, 503)
        return JSONResponse({"status": "ok", "worker": rt.worker})

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> Response:
        return RedirectResponse("/docs", status_code=308)

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
