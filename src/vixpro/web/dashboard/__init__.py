"""The dashboard: server-rendered Jinja2 pages with HTMX, signed in by session cookie."""

from __future__ import annotations

from fastapi import APIRouter

from vixpro.web.dashboard import (
    action_items,
    ai_providers,
    ai_settings,
    announcements,
    approvals,
    audit,
    bell,
    chat,
    executions,
    incidents,
    integrations,
    invite,
    keys,
    login,
    maintenance,
    notifications,
    plan,
    rejected,
    servers,
    staff,
    support,
    team,
    tools,
    usage,
)

PAGES = (
    login,
    plan,
    incidents,
    integrations,
    servers,
    maintenance,
    rejected,
    tools,
    approvals,
    executions,
    team,
    keys,
    audit,
    invite,
    staff,
    notifications,
    bell,
    support,
    action_items,
    announcements,
    chat,
    ai_settings,
    ai_providers,
    usage,
)

router = APIRouter(include_in_schema=False)
for module in PAGES:
    router.include_router(module.router)
