"""Who is looking at the dashboard: the session cookie, CSRF, and the role checks every route uses.

A missing or expired session sends the browser to the sign-in page; every state-changing POST
carries the session's CSRF token; stakeholders are refused every write on the server, whatever
the page showed them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, HTTPException, Request, Response

from vixpro.accounts import auth
from vixpro.accounts.errors import Forbidden
from vixpro.accounts.principal import Actor, Principal
from vixpro.core.roles import Role
from vixpro.web.deps import SAFE_METHODS, SESSION_COOKIE, StateDep, client_ip
from vixpro.web.state import AppState

HOME = "/plan"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def safe_next(value: str | None, default: str = HOME) -> str:
    """``value`` if it is a path on this site, else ``default`` (no open redirects)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    if any(ord(ch) < 32 for ch in value) or urlsplit(value).netloc:
        return default
    return value


def cookie_secure(request: Request, state: AppState) -> bool:
    public = state.settings.public_url or ""
    return request.url.scheme == "https" or public.startswith("https")


def set_session_cookie(
    response: Response, request: Request, state: AppState, login: auth.NewLogin
) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        login.token,
        max_age=int(state.login_policy.session_ttl.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request, state),
        path="/",
    )


def clear_session_cookie(response: Response, request: Request, state: AppState) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request, state),
    )


async def optional_signed_in(request: Request, state: StateDep) -> auth.SignedIn | None:
    """The valid session behind the cookie, if any. Kept on ``request.state`` for the layout."""
    cached: auth.SignedIn | None = getattr(request.state, "signed_in", None)
    if cached is not None:
        return cached
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    async with state.db.system_session("authenticate dashboard session") as session:
        found = await auth.resolve_session(session, token, client_ip(request))
    request.state.signed_in = found
    return found


def _login_location(request: Request) -> str:
    if request.method in SAFE_METHODS:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    else:  # after signing in, a POST cannot be replayed: go back to the page it came from
        current = request.headers.get("hx-current-url") or request.headers.get("referer") or ""
        parts = urlsplit(current)
        here = parts.path + (f"?{parts.query}" if parts.query else "")
    return f"/login?next={quote(safe_next(here), safe='/')}"


def login_redirect(request: Request) -> HTTPException:
    location = _login_location(request)
    if request.headers.get("hx-request") == "true":
        # htmx follows a 303 inside its XMLHttpRequest; HX-Redirect makes the browser navigate.
        return HTTPException(401, "sign in to continue", headers={"HX-Redirect": location})
    return HTTPException(303, "sign in to continue", headers={"Location": location})


async def require_signed_in(
    request: Request, found: Annotated[auth.SignedIn | None, Depends(optional_signed_in)]
) -> auth.SignedIn:
    if found is None:
        raise login_redirect(request)
    return found


SignedInDep = Annotated[auth.SignedIn, Depends(require_signed_in)]
MaybeSignedInDep = Annotated[auth.SignedIn | None, Depends(optional_signed_in)]


async def require_csrf(request: Request, expected: str) -> None:
    """Refuse a POST that does not carry ``expected`` as its CSRF token (form field or header)."""
    form = await request.form()
    sent = [str(form.get(CSRF_FIELD, "")), request.headers.get(CSRF_HEADER, "")]
    want = expected.encode()
    # Compared as bytes: compare_digest refuses non-ASCII text, and any text may be posted.
    if not any(value and secrets.compare_digest(value.encode(), want) for value in sent):
        raise Forbidden("this form has expired or did not come from VixPro; reload and try again")


async def check_csrf(request: Request, signed_in: SignedInDep) -> auth.SignedIn:
    await require_csrf(request, signed_in.csrf_token)
    return signed_in


CsrfDep = Annotated[auth.SignedIn, Depends(check_csrf)]


@dataclass(frozen=True)
class Member:
    """A signed-in user acting in their current organisation."""

    signed_in: auth.SignedIn
    principal: Principal

    @property
    def role(self) -> Role:
        return self.principal.role

    @property
    def manages(self) -> bool:
        """Owners and admins manage the team and API keys."""
        return self.role.at_least(Role.ADMIN)


def _member(signed_in: auth.SignedIn) -> Member:
    if signed_in.principal is None:
        if signed_in.is_staff:
            raise HTTPException(303, "staff console", headers={"Location": "/staff"})
        raise Forbidden("this account does not belong to any organisation")
    return Member(signed_in, signed_in.principal)


async def require_member(signed_in: SignedInDep) -> Member:
    return _member(signed_in)


async def require_writer(signed_in: CsrfDep) -> Member:
    """A CSRF-checked POST that changes organisation data: stakeholders are read-only."""
    member = _member(signed_in)
    if member.role.read_only:
        raise Forbidden(f"the {member.role.value} role is read-only")
    return member


MemberDep = Annotated[Member, Depends(require_member)]
WriterDep = Annotated[Member, Depends(require_writer)]


def staff_actor(request: Request, signed_in: auth.SignedIn) -> Actor:
    if not signed_in.is_staff:
        raise Forbidden("the staff console is for platform staff only")
    return Actor("staff", signed_in.user_id, signed_in.email, client_ip(request))


@dataclass(frozen=True)
class Staff:
    signed_in: auth.SignedIn
    actor: Actor


async def require_staff(request: Request, signed_in: SignedInDep) -> Staff:
    return Staff(signed_in, staff_actor(request, signed_in))


async def require_staff_writer(request: Request, signed_in: CsrfDep) -> Staff:
    return Staff(signed_in, staff_actor(request, signed_in))


StaffDep = Annotated[Staff, Depends(require_staff)]
StaffWriterDep = Annotated[Staff, Depends(require_staff_writer)]
