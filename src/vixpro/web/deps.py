"""FastAPI dependencies as ``Annotated`` aliases: the app state, the caller, their organisation."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Request, Response

from vixpro.accounts import auth
from vixpro.accounts.principal import Principal
from vixpro.accounts.ratelimit import RateDecision
from vixpro.web.problems import ApiError
from vixpro.web.state import AppState

SESSION_COOKIE = "vixpro_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.vixpro
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _rate_headers(decision: RateDecision) -> dict[str, str]:
    return {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(decision.remaining),
        "RateLimit-Reset": str(decision.reset_seconds),
        "RateLimit-Policy": f"{decision.limit};w=3600",
    }


async def authenticate(
    state: AppState,
    *,
    method: str,
    authorization: str,
    session_token: str | None,
    csrf_token: str,
    ip: str | None,
) -> tuple[Principal, dict[str, str]]:
    """Authenticate an API call (API key, or the dashboard's session cookie with its CSRF token),
    count it against the organisation's hourly limit, and refuse writes by read-only callers.

    Returns the caller and the rate-limit headers for the answer. Shared by the FastAPI
    dependency below and the fast path (``vixpro.web.fastpath``), so both decide alike.
    """
    principal: Principal | None
    if authorization:
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "bearer" or not key:
            raise ApiError(
                401,
                "use 'Authorization: Bearer <API key>'",
                type_="unauthenticated",
                headers={"WWW-Authenticate": "Bearer"},
            )
        key = key.strip()
        principal = state.api_keys.get(key, ip)
        if principal is None:
            async with state.db.counter_connection() as conn:  # system role: authentication
                principal = await auth.authenticate_api_key(conn, key, ip)
            if principal is not None:
                state.api_keys.put(key, principal)
        if principal is None:
            raise ApiError(
                401,
                "the API key is not valid or has been revoked",
                type_="unauthenticated",
                headers={"WWW-Authenticate": "Bearer"},
            )
    else:
        signed_in = None
        if session_token:
            async with state.db.system_session("authenticate dashboard session") as session:
                signed_in = await auth.resolve_session(session, session_token, ip)
        if signed_in is None or signed_in.principal is None:
            raise ApiError(
                401,
                "authentication required: send an API key as a Bearer token",
                type_="unauthenticated",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if method not in SAFE_METHODS and not secrets.compare_digest(
            csrf_token.encode(), signed_in.csrf_token.encode()
        ):
            raise ApiError(403, "missing or wrong X-CSRF-Token header", type_="csrf")
        principal = signed_in.principal
    decision = await state.requests.take(principal)
    headers = _rate_headers(decision)
    if not decision.allowed:
        headers["Retry-After"] = str(decision.reset_seconds)
        raise ApiError(
            429,
            f"the {principal.plan.name} plan allows {decision.limit} API requests per hour "
            "and this organisation has used them; the count starts again on the hour",
            type_="rate-limited",
            headers=headers,
            limit="API requests per hour",
            plan=principal.plan.code,
            maximum=decision.limit,
        )
    if method not in SAFE_METHODS and principal.role.read_only:
        raise ApiError(
            403,
            f"the {principal.role.value} role is read-only",
            type_="read-only",
            headers=headers,
        )
    return principal, headers


async def api_principal(request: Request, response: Response, state: StateDep) -> Principal:
    """The FastAPI dependency form of ``authenticate``: rate-limit headers go on the response."""
    principal, headers = await authenticate(
        state,
        method=request.method,
        authorization=request.headers.get("authorization", ""),
        session_token=request.cookies.get(SESSION_COOKIE),
        csrf_token=request.headers.get("x-csrf-token", ""),
        ip=client_ip(request),
    )
    response.headers.update(headers)
    return principal


PrincipalDep = Annotated[Principal, Depends(api_principal)]
