"""Serve the API's hottest calls ahead of FastAPI's router and dependency machinery.

FastAPI matches a request's path through every included router and solves the route's
dependency graph on every call: about a millisecond of Python per request on a small server,
more than the work of the calls that come in floods (monitoring tools' webhooks in an alert
storm) or in loops (running a tool on a server, as automation and the AI agent do). A fast
route answers the plain case of such a call with the same handler the FastAPI route uses, the
same authentication and rate limit where it has them (``deps.authenticate``) and the same
problem details (``problems.as_api_error``).

The FastAPI route stays: it documents the endpoint in OpenAPI, and it serves every request a
fast route declines. A fast route declines, before authenticating, whatever is not the plain
case (a path parameter or a body that does not validate, a body over the limit): the request is
replayed to the app unchanged, so bad input always gets FastAPI's own error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vixpro.web.problems import PROBLEM, UNEXPECTED, as_api_error, log_unexpected, problem_body
from vixpro.web.state import AppState


@dataclass(frozen=True)
class FastRequest:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]  # names lower-cased
    query: str
    body: bytes
    client_ip: str | None

    def cookie(self, name: str) -> str | None:
        header = self.headers.get("cookie")
        return cookie_parser(header).get(name) if header else None


@dataclass(frozen=True)
class FastAnswer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    media_type: str = "application/json"


# None: decline, and let the FastAPI route answer the request.
FastHandler = Callable[[AppState, FastRequest], Awaitable[FastAnswer | None]]


@dataclass(frozen=True)
class FastRoute:
    method: str
    template: str  # the FastAPI route's path, e.g. "/api/v1/servers/{server_id}/run"
    handler: FastHandler

    def pattern(self) -> re.Pattern[str]:
        parts = re.split(r"\{(\w+)\}", self.template)
        regex = "".join(
            f"(?P<{part}>[^/]+)" if i % 2 else re.escape(part) for i, part in enumerate(parts)
        )
        return re.compile(regex + r"\Z")


class FastPath:
    """ASGI middleware serving ``routes`` itself and passing every other request on."""

    def __init__(
        self, app: ASGIApp, state: AppState, routes: Sequence[FastRoute], limit: int
    ) -> None:
        self.app = app
        self.state = state
        self.limit = limit
        self.routes = [(route, route.pattern()) for route in routes]

    def _match(self, scope: Scope) -> tuple[FastRoute, dict[str, str]] | None:
        if scope["type"] != "http":
            return None
        method = scope.get("method")
        path = scope.get("path", "")
        for route, pattern in self.routes:
            if route.method == method:
                found = pattern.match(path)
                if found:
                    return route, found.groupdict()
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        matched = self._match(scope)
        if matched is None:
            await self.app(scope, receive, send)
            return
        route, params = matched
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        messages, complete = await _read_body(receive, headers, self.limit)
        if not complete:  # over the limit, or the client went away: the app's own answer
            await self.app(scope, _replay(messages, receive), send)
            return
        client = scope.get("client")
        request = FastRequest(
            method=route.method,
            path=scope["path"],
            params=params,
            headers=headers,
            query=scope.get("query_string", b"").decode("latin-1"),
            body=b"".join(m.get("body", b"") for m in messages),
            client_ip=client[0] if client else None,
        )
        try:
            answer = await route.handler(self.state, request)
        except Exception as exc:
            err = as_api_error(exc)
            if err is None:
                log_unexpected(request.method, request.path, exc)
                body = problem_body(500, UNEXPECTED, request.path)
                answer = FastAnswer(500, _json(body), media_type=PROBLEM)
            else:
                body = problem_body(err.status, err.detail, request.path, err.type, **err.extra)
                answer = FastAnswer(err.status, _json(body), err.headers, PROBLEM)
        if answer is None:
            await self.app(scope, _replay(messages, receive), send)
            return
        scope["route"] = route.template  # for the metrics middleware's label
        scope["path_params"] = params
        await _send(send, answer)


async def _read_body(
    receive: Receive, headers: dict[str, str], limit: int
) -> tuple[list[Message], bool]:
    """The messages read, and whether they hold the whole body within ``limit`` bytes."""
    length = headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        return [], False
    messages: list[Message] = []
    seen = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":  # the client went away
            return messages, False
        seen += len(message.get("body", b""))
        if seen > limit:
            return messages, False
        if not message.get("more_body", False):
            return messages, True


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that gives back the messages already read, then reads on."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


def _json(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


async def _send(send: Send, answer: FastAnswer) -> None:
    raw = [
        (b"content-type", answer.media_type.encode()),
        (b"content-length", str(len(answer.body)).encode()),
    ]
    raw.extend(
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items()
    )
    await send({"type": "http.response.start", "status": answer.status, "headers": raw})
    await send({"type": "http.response.body", "body": answer.body})
