from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

from vixpro.web.state import AppState

TEMPLATES = Path(__file__).parent.parent / "templates"


def make_templates(state: AppState) -> Jinja2Templates:
    templates = Jinja2Templates(directory=TEMPLATES)
    templates.env.globals["settings"] = state.settings
    return templates
