"""The Jinja2 environment of the dashboard: filters, globals and the layout's per-request context."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates

from vixpro import __version__
from vixpro.accounts.auth import SignedIn
from vixpro.core.roles import API_KEY_ROLES, Role
from vixpro.web.state import AppState

TEMPLATES = Path(__file__).parent.parent / "templates"


def when(value: datetime | None) -> str:
    """A timestamp as people read it, in UTC so that every viewer sees the same figure."""
    if value is None:
        return "never"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def number(value: int) -> str:
    return f"{value:,}"


def compact_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(", ", ": "), default=str)


def layout_context(request: Request) -> dict[str, Any]:
    """The signed-in user (if any) for the header; also present on error pages."""
    viewer: SignedIn | None = getattr(request.state, "signed_in", None)
    return {
        "viewer": viewer,
        "principal": viewer.principal if viewer else None,
        "csrf_token": viewer.csrf_token if viewer else "",
        "path": request.url.path,
    }


def make_templates(state: AppState) -> Jinja2Templates:
    templates = Jinja2Templates(directory=TEMPLATES, context_processors=[layout_context])
    env = templates.env
    env.globals["settings"] = state.settings
    env.globals["version"] = __version__
    env.globals["roles"] = tuple(Role)
    env.globals["api_key_roles"] = API_KEY_ROLES
    env.filters["when"] = when
    env.filters["number"] = number
    env.filters["compact_json"] = compact_json
    env.trim_blocks = True
    env.lstrip_blocks = True
    return templates
