"""Rendering pages, one-time flash messages across a redirect, and errors shown inside a page.

A form POST answers with a 303 redirect (Post/Redirect/Get). What the next page must show once,
such as a new API key or an invitation link, travels in a short-lived signed cookie bound to the
login session, and is deleted by the page that shows it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import asdict, dataclass
from typing import Any, Literal

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from vixpro.accounts import auth
from vixpro.accounts.errors import Conflict, Forbidden, InvalidInput, LimitExceeded, NotFound
from vixpro.web.dashboard.session import cookie_secure
from vixpro.web.state import AppState

FLASH_COOKIE = "vixpro_flash"
FLASH_SECONDS = 120
# The service errors a form shows inline, next to the form, rather than as a bare error page.
FORM_ERRORS = (InvalidInput, Conflict, LimitExceeded, Forbidden, NotFound)


@dataclass(frozen=True)
class Flash:
    text: str
    kind: Literal["success", "error"] = "success"
    reveal: str | None = None  # shown once, with a copy button (a new API key, an invite link)
    reveal_label: str = ""


def _state(request: Request) -> AppState:
    state: AppState = request.app.state.vixpro
    return state


def _sign(request: Request, session_id: str, payload: str) -> str:
    key = _state(request).settings.derived_secret("dashboard:flash").encode()
    return hmac.new(key, f"{session_id}|{payload}".encode(), hashlib.sha256).hexdigest()


def set_flash(response: Response, request: Request, signed_in: auth.SignedIn, flash: Flash) -> None:
    payload = base64.urlsafe_b64encode(json.dumps(asdict(flash)).encode()).decode()
    value = f"{payload}.{_sign(request, str(signed_in.session_id), payload)}"
    response.set_cookie(
        FLASH_COOKIE,
        value,
        max_age=FLASH_SECONDS,
        httponly=True,
        samesite="strict",
        secure=cookie_secure(request, _state(request)),
        path="/",
    )


def read_flash(request: Request, signed_in: auth.SignedIn | None) -> Flash | None:
    value = request.cookies.get(FLASH_COOKIE)
    if not value or signed_in is None:
        return None
    payload, _, signature = value.partition(".")
    expected = _sign(request, str(signed_in.session_id), payload)
    if not hmac.compare_digest(signature, expected):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload))
        return Flash(**data)
    except (ValueError, TypeError):
        return None


def redirect(
    request: Request,
    location: str,
    signed_in: auth.SignedIn | None = None,
    flash: Flash | None = None,
) -> RedirectResponse:
    response = RedirectResponse(location, status_code=303)
    if flash is not None and signed_in is not None:
        set_flash(response, request, signed_in, flash)
    return response


def error_message(exc: Exception) -> tuple[int, str]:
    """The status and the words to show for a service error raised by a form's action."""
    if isinstance(exc, InvalidInput):
        return 422, f"{exc.field}: {exc.message}"
    if isinstance(exc, NotFound):
        return 404, str(exc)
    if isinstance(exc, Conflict):
        return 409, str(exc)
    return 403, str(exc)  # Forbidden, LimitExceeded


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    error: str | None = None,
    flash: Flash | None = None,
) -> Response:
    """Render a page with the layout's needs: the session (if any), a flash, an inline error.

    A flash that reveals a secret (a new API key, an invitation link) is passed here and
    rendered in the POST's own response, never carried across a redirect in a cookie.
    """
    templates: Jinja2Templates = request.app.state.templates
    signed_in: auth.SignedIn | None = getattr(request.state, "signed_in", None)
    if flash is None and request.method == "GET":
        flash = read_flash(request, signed_in)
    if error is not None:
        flash = Flash(error, kind="error")
    headers = {"Cache-Control": "no-store"}
    if request.method == "POST":
        # A form re-shown (with an error, or a secret shown once): keep the page's URL in the
        # address bar (htmx boost).
        headers["HX-Push-Url"] = "false"
    response = templates.TemplateResponse(
        request,
        template,
        {**(context or {}), "flash": flash},
        status_code=status,
        headers=headers,
    )
    if request.cookies.get(FLASH_COOKIE) and request.method == "GET":
        response.delete_cookie(
            FLASH_COOKIE,
            path="/",
            httponly=True,
            samesite="strict",
            secure=cookie_secure(request, _state(request)),
        )
    return response
