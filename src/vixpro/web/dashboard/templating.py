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


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def size(value: Any) -> str:
    """A byte count as people read it (binary units: a 16 GiB machine shows 16.0 GiB)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "—"
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(amount) < 1024 or unit == "TiB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} PiB"  # pragma: no cover - the loop always returns


def duration(ms: int | None) -> str:
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{ms} ms"
    return f"{ms / 1000:.1f} s"


def relative(value: datetime | None, now: datetime | None = None) -> str:
    """How far ``value`` is from now: "in 9 min", "3 min ago"."""
    if value is None:
        return "never"
    seconds = int((value - (now or datetime.now(UTC))).total_seconds())
    ahead, seconds = seconds > 0, abs(seconds)
    if seconds < 60:
        text = f"{seconds} s"
    elif seconds < 3600:
        text = f"{seconds // 60} min"
    elif seconds < 86400:
        text = f"{seconds // 3600} h {seconds % 3600 // 60} min"
    else:
        text = f"{seconds // 86400} d"
    return f"in {text}" if ahead else f"{text} ago"


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
    env.filters["pretty_json"] = pretty_json
    env.filters["size"] = size
    env.filters["duration"] = duration
    env.filters["relative"] = relative
    env.trim_blocks = True
    env.lstrip_blocks = True
    return templates
