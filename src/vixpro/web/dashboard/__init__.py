"""The dashboard: server-rendered Jinja2 pages with HTMX, signed in by session cookie."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
