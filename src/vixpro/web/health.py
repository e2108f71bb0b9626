"""Liveness, readiness and Prometheus metrics (outside ``/api/v1``: no auth, no rate limit)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from vixpro.db.migrate import current_revision
from vixpro.web.deps import StateDep

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(state: StateDep) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        revision = await asyncio.wait_for(current_revision(state.db.app_engine), timeout=3)
        checks["database"] = "ok"
        checks["migrations"] = (
            "ok"
            if revision == state.head_revision
            else f"at {revision}, expected {state.head_revision}"
        )
    except Exception as exc:  # any failure to reach the database means not ready
        checks["database"] = f"unreachable ({type(exc).__name__})"
    if not state.ready:
        checks["process"] = "shutting down"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


@router.get("/metrics")
async def metrics(request: Request) -> PlainTextResponse:
    registry = request.app.state.metrics.registry
    return PlainTextResponse(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
