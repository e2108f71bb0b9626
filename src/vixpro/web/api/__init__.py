"""The ``/api/v1`` routers, one module per resource."""

from __future__ import annotations

from fastapi import APIRouter

from vixpro.web.api import (
    action_items,
    ai_providers,
    ai_settings,
    announcements,
    api_keys,
    audit,
    bell,
    chat,
    incident_stream,
    incidents,
    ingest_settings,
    integrations,
    invitations,
    maintenance,
    me,
    members,
    notifications,
    org,
    rejected,
    servers,
    staff,
    tickets,
    tools,
    usage,
    webhooks,
)

router = APIRouter(prefix="/api/v1")
# The hot paths first: the router is matched in order.
for module in (
    webhooks,
    tools,
    servers,
    me,
    org,
    members,
    invitations,
    api_keys,
    audit,
    staff,
    integrations,
    notifications,
    bell,
    chat,
    ai_settings,
    ai_providers,
    usage,
    incident_stream,  # before incidents: "/incidents/stream" is not an incident id
    incidents,
    maintenance,
    ingest_settings,
    rejected,
    tickets,
    action_items,
    announcements,
):
    router.include_router(module.router)
