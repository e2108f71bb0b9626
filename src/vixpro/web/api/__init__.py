"""The ``/api/v1`` routers, one module per resource."""

from __future__ import annotations

from fastapi import APIRouter

from vixpro.web.api import api_keys, audit, invitations, me, members, org, servers, staff, tools

router = APIRouter(prefix="/api/v1")
for module in (me, org, members, invitations, api_keys, audit, servers, tools, staff):
    router.include_router(module.router)
