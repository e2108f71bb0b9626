"""The dashboard: server-rendered Jinja2 pages with HTMX, signed in by session cookie."""

from __future__ import annotations

from fastapi import APIRouter

from vixpro.web.dashboard import audit, invite, keys, login, plan, staff, team

router = APIRouter(include_in_schema=False)
for module in (login, plan, team, keys, audit, invite, staff):
    router.include_router(module.router)
