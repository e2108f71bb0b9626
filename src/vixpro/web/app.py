"""Build the FastAPI application for one process."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.telemetry import TelemetryConfig

from vixpro import __version__
from vixpro.web import health, hostagent, problems
from vixpro.web.api import router as api_router
from vixpro.web.api import tools, webhooks
from vixpro.web.dashboard import router as dashboard_router
from vixpro.web.dashboard.templating import make_templates
from vixpro.web.fastpath import FastPath
from vixpro.web.middleware import BodyLimitMiddleware, IngestCollector, Metrics, MetricsMiddleware
from vixpro.web.state import AppState

STATIC = Path(__file__).parent / "static"


def telemetry(environ: Mapping[str, str]) -> TelemetryConfig:
    """FastAPI's native OpenTelemetry support, on only where the environment configures
    OpenTelemetry (``FASTAPI_OTEL_AUTO_CONFIGURE`` or any ``OTEL_*`` variable).

    Left on, FastAPI asks OpenTelemetry for its tracer, meter and logger providers on every
    request, which reads the environment each time: about 4 % of the web process's CPU in a
    flood of webhooks, for telemetry that nothing collects."""
    configured = any(name.startswith("OTEL_") for name in environ) or environ.get(
        "FASTAPI_OTEL_AUTO_CONFIGURE", ""
    ).lower() in ("true", "1")
    return TelemetryConfig(tracing=configured, metrics=configured, logs=configured)


def create_app(state: AppState) -> FastAPI:
    app = FastAPI(
        telemetry=telemetry(os.environ),
        title="VixPro API",
        version=__version__,
        summary="Alerts in, incidents out, diagnosed by an AI agent through signed host-agent tools.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.vixpro = state
    app.state.metrics = Metrics()
    app.state.metrics.registry.register(IngestCollector(lambda: state.ingest.transactions))
    app.state.templates = make_templates(state)
    problems.install(app)
    app.include_router(health.router)
    app.include_router(api_router)
    app.include_router(hostagent.router)
    app.include_router(dashboard_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(BodyLimitMiddleware, limit=state.settings.max_body_bytes)
    app.add_middleware(
        FastPath,
        state=state,
        routes=[webhooks.WEBHOOK_FAST, tools.RUN_FAST],
        limit=state.settings.max_body_bytes,
    )
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(hostagent.HostAgentSocketShortcut)
    return app
