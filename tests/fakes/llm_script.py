"""What the scripted LLM fakes share: the script of steps, the record of requests, the server thread.

Each fake (``llm_openai``, ``llm_anthropic``, ``llm_gemini``) is a small real HTTP server on
127.0.0.1 that speaks one vendor's wire protocol. A test scripts what the next requests get,
in order, then runs the real SDK client against the fake's URL and asserts on what was sent.

Steps are vendor-neutral: a text answer, tool calls (pydantic-ai's structured output is a call
to a tool named ``final_result``, or, when the request carries a response schema, the same
arguments as JSON text: ``final(...)`` covers both), an HTTP fault, or a hang (the request is never answered, so
the client's timeout fires). A request that finds the script empty is answered 500 with
"script exhausted", which fails the test loudly instead of hanging it.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


@dataclass(frozen=True)
class ToolCall:
    name: str
    args: dict[str, Any]
    id: str = ""


@dataclass(frozen=True)
class Text:
    text: str
    tokens_in: int = 11
    tokens_out: int = 7


@dataclass(frozen=True)
class Calls:
    calls: tuple[ToolCall, ...]
    text: str = ""
    tokens_in: int = 11
    tokens_out: int = 7


@dataclass(frozen=True)
class Fault:
    status: int
    message: str = "scripted fault"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Hang:
    """Never answer: the client's own timeout ends the request."""


Step = Text | Calls | Fault | Hang


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    body: dict[str, Any]


Handler = Callable[[Request, dict[str, Any], Step], Awaitable[Response]]


class ScriptedServer:
    """A Starlette app under uvicorn on a loopback port, in its own thread and event loop.

    Subclasses give ``routes()`` and render each step in their protocol; the base pops steps,
    records requests, checks the key and implements ``Hang``.
    """

    def __init__(self, api_key: str | None = "test-key") -> None:
        """``api_key`` is the one key accepted (others get the vendor's 401); None accepts any."""
        self.api_key = api_key
        self.requests: list[RecordedRequest] = []
        self._script: deque[Step] = deque()
        self._lock = threading.Lock()
        self._started = threading.Event()
        self._server: uvicorn.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._release: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    # --- scripting -------------------------------------------------------------------------
    def script(self, *steps: Step) -> None:
        """Append steps: each following request gets the next one."""
        with self._lock:
            self._script.extend(steps)

    def text(self, text: str, *, tokens_in: int = 11, tokens_out: int = 7) -> None:
        self.script(Text(text, tokens_in, tokens_out))

    def tool_call(
        self, name: str, args: dict[str, Any], *, tokens_in: int = 11, tokens_out: int = 7
    ) -> None:
        self.script(Calls((ToolCall(name, args),), tokens_in=tokens_in, tokens_out=tokens_out))

    def final(self, args: dict[str, Any], *, tool: str = "final_result") -> None:
        """Structured output the way pydantic-ai asks for it: a call to its output tool."""
        self.tool_call(tool, args)

    def fail(
        self, status: int, message: str = "scripted fault", *, retry_after: int | None = None
    ) -> None:
        headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
        self.script(Fault(status, message, headers))

    def hang(self) -> None:
        self.script(Hang())

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self.requests.clear()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._script)

    def _next(self) -> Step | None:
        with self._lock:
            return self._script.popleft() if self._script else None

    # --- protocol hooks ----------------------------------------------------------------------
    def routes(self) -> list[Route]:
        raise NotImplementedError

    def key_of(self, request: Request) -> str | None:
        raise NotImplementedError

    def error_response(self, status: int, message: str, headers: dict[str, str]) -> Response:
        raise NotImplementedError

    def native_output(self, body: dict[str, Any]) -> bool:
        """Whether the request asks for structured output as JSON text (a response schema)."""
        return False

    def invalid_key_message(self, key: str | None) -> str:
        return f"Incorrect API key provided: {key}"

    async def handle(self, request: Request, render: Handler) -> Response:
        """Record the request, check its key, take the next step and render it."""
        body: dict[str, Any] = await request.json() if await request.body() else {}
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.url.path,
                headers={k.lower(): v for k, v in request.headers.items()},
                query=dict(request.query_params),
                body=body,
            )
        )
        key = self.key_of(request)
        if self.api_key is not None and key != self.api_key:
            # Real providers echo part of the key back; echo all of it, so tests catch any
            # VixPro code that passes a provider's message through.
            return self.error_response(401, self.invalid_key_message(key), {})
        step = self._next()
        if step is None:
            return self.error_response(500, "script exhausted", {})
        if isinstance(step, Fault):
            return self.error_response(step.status, step.message, step.headers)
        if isinstance(step, Hang):
            assert self._release is not None
            await self._release.wait()
            return self.error_response(503, "server stopping", {})
        if isinstance(step, Calls) and self.native_output(body):
            # With a response schema the model answers JSON text, not an output tool call:
            # a scripted ``final(...)`` becomes that text.
            finals = [c for c in step.calls if c.name == "final_result"]
            if finals and len(finals) == len(step.calls):
                step = Text(json.dumps(finals[0].args), step.tokens_in, step.tokens_out)
        return await render(request, body, step)

    # --- lifecycle ---------------------------------------------------------------------------
    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._release = asyncio.Event()
        config = uvicorn.Config(
            Starlette(routes=self.routes()),
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        task = asyncio.create_task(self._server.serve())
        for _ in range(500):
            if self._server.started:
                break
            await asyncio.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        self._started.set()
        await task

    def start(self) -> Self:
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError(f"{type(self).__name__} did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._release is not None:
            self._loop.call_soon_threadsafe(self._release.set)
        if self._server is not None:
            self._server.should_exit = True
        self._thread.join(10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
