"""RFC 9457 problem details for every API error; an HTML page for the same errors in the dashboard.

No handler ever puts an exception's traceback, or a secret, into a response.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from vixpro.accounts.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    LimitExceeded,
    NotFound,
    Throttled,
)

log = logging.getLogger("vixpro.web")
PROBLEM = "application/problem+json"
TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    422: "Invalid request",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class ApiError(Exception):
    """An HTTP error with a problem type and optional extra members."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        type_: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        self.status = status
        self.detail = detail
        self.type = type_
        self.headers = headers or {}
        self.extra = extra
        super().__init__(detail)


def wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/healthz", "/readyz", "/metrics")):
        return False
    return "text/html" in request.headers.get("accept", "") or request.method == "POST"


def problem_body(
    status: int, detail: str, instance: str, type_: str | None = None, **extra: Any
) -> dict[str, Any]:
    """The RFC 9457 members of one API error."""
    body: dict[str, Any] = {
        "type": f"https://vixpro.dev/problems/{type_}" if type_ else "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    body.update(extra)
    return body


def problem(
    request: Request,
    status: int,
    detail: str,
    *,
    type_: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    if wants_html(request):
        page: Response = request.app.state.templates.TemplateResponse(
            request,
            "error.html",
            {"status": status, "title": TITLES.get(status, "Error"), "detail": detail},
            status_code=status,
            headers=headers,
        )
        return page
    body = problem_body(status, detail, request.url.path, type_, **extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


DOMAIN_ERRORS: tuple[type[Exception], ...] = (
    ApiError,
    InvalidInput,
    NotFound,
    Forbidden,
    Conflict,
    LimitExceeded,
    Throttled,
)


def as_api_error(exc: Exception) -> ApiError | None:
    """The HTTP form of an error the services raise on purpose; None for anything else (a bug)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, InvalidInput):
        return ApiError(
            422,
            f"{exc.field}: {exc.message}",
            type_="validation",
            errors=[{"field": exc.field, "location": "body", "message": exc.message}],
        )
    if isinstance(exc, NotFound):
        return ApiError(404, str(exc), type_="not-found")
    if isinstance(exc, Forbidden):
        return ApiError(403, str(exc), type_="forbidden")
    if isinstance(exc, Conflict):
        return ApiError(409, str(exc), type_="conflict")
    if isinstance(exc, LimitExceeded):
        return ApiError(
            403,
            str(exc),
            type_="plan-limit",
            limit=exc.limit.label,
            plan=exc.plan.code,
            usage=exc.usage,
            maximum=exc.maximum,
        )
    if isinstance(exc, Throttled):
        return ApiError(
            429, str(exc), type_="throttled", headers={"Retry-After": str(exc.retry_after)}
        )
    return None


def log_unexpected(method: str, path: str, exc: BaseException) -> None:
    # The traceback goes to the log (which never holds request bodies), not the response.
    log.error("unhandled error on %s %s: %s", method, path, type(exc).__name__, exc_info=exc)


UNEXPECTED = "something went wrong on our side; it has been logged"


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or str(loc[0] if loc else "body")


def install(app: FastAPI) -> None:
    async def _domain(request: Request, exc: Exception) -> Response:
        err = as_api_error(exc)
        if err is None:  # not reached: registered for DOMAIN_ERRORS only
            log_unexpected(request.method, request.url.path, exc)
            return problem(request, 500, UNEXPECTED)
        return problem(
            request, err.status, err.detail, type_=err.type, headers=err.headers, **err.extra
        )

    for cls in DOMAIN_ERRORS:
        app.add_exception_handler(cls, _domain)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = []
        for err in exc.errors():
            loc = tuple(err.get("loc", ()))
            message = str(err.get("msg", "is invalid"))
            if err.get("type") == "json_invalid":
                # The location ends with the character position; the field is the body.
                loc, message = ("body",), "request body is not valid JSON"
            errors.append(
                {
                    "field": _field_name(loc),
                    "location": str(loc[0]) if loc else "body",
                    "message": message,
                }
            )
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
        return problem(request, 422, detail, type_="validation", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "Error")
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such route: {request.method} {request.url.path}"
        return problem(request, exc.status_code, detail, headers=dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log_unexpected(request.method, request.url.path, exc)
        return problem(request, 500, UNEXPECTED)
