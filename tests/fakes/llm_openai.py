"""A scripted OpenAI Chat Completions server on 127.0.0.1 (``POST /v1/chat/completions``).

Non-streaming answers are ``chat.completion`` objects; with ``"stream": true`` the answer is
Server-Sent Events of ``chat.completion.chunk`` objects, a usage chunk when the request asks for
``stream_options.include_usage``, and ``data: [DONE]``. Errors use OpenAI's error body
(``{"error": {"message", "type", "code"}}``). The key is read from ``Authorization: Bearer``.

    with FakeOpenAI() as fake:
        fake.tool_call("disk_usage", {"path": "/"})
        fake.final({"summary": "disk full"})
        model = build_model(ProviderSpec(kind="openai", model="gpt-4o", api_key=fake.api_key,
                                         base_url=fake.url, label="fake"))
        ...
        assert fake.requests[0].body["model"] == "gpt-4o"
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.llm_script import Calls, ScriptedServer, Step, Text

_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_denied", None),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


class FakeOpenAI(ScriptedServer):
    """OpenAI Chat Completions, scripted. ``url`` is the base URL to give the SDK (ends in /v1)."""

    @property
    def url(self) -> str:
        return f"{self.base}/v1"

    def routes(self) -> list[Route]:
        return [Route("/v1/chat/completions", self._completions, methods=["POST"])]

    def key_of(self, request: Request) -> str | None:
        auth = request.headers.get("authorization", "")
        return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None

    def native_output(self, body: dict[str, Any]) -> bool:
        return (body.get("response_format") or {}).get("type") == "json_schema"

    def error_response(self, status: int, message: str, headers: dict[str, str]) -> Response:
        kind, code = _ERROR_TYPES.get(status, ("server_error", None))
        body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
        return JSONResponse(body, status_code=status, headers=headers)

    async def _completions(self, request: Request) -> Response:
        return await self.handle(request, self._render)

    async def _render(self, request: Request, body: dict[str, Any], step: Step) -> Response:
        assert isinstance(step, Text | Calls)
        model = str(body.get("model", ""))
        created = int(time.time())
        serial = len(self.requests)
        usage = {
            "prompt_tokens": step.tokens_in,
            "completion_tokens": step.tokens_out,
            "total_tokens": step.tokens_in + step.tokens_out,
        }
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            chunks = _chunks(step, model, created, serial, usage if include_usage else None)
            return StreamingResponse(chunks, media_type="text/event-stream")
        message: dict[str, Any] = {"role": "assistant", "content": step.text or None}
        finish = "stop"
        if isinstance(step, Calls):
            finish = "tool_calls"
            message["tool_calls"] = [
                {
                    "id": call.id or f"call_{serial}_{i}",
                    "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(call.args)},
                }
                for i, call in enumerate(step.calls)
            ]
        return JSONResponse(
            {
                "id": f"chatcmpl-{serial}",
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
                ],
                "usage": usage,
            }
        )


async def _chunks(
    step: Text | Calls, model: str, created: int, serial: int, usage: dict[str, int] | None
) -> AsyncIterator[str]:
    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        payload = {
            "id": f"chatcmpl-{serial}",
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
            **extra,
        }
        return f"data: {json.dumps(payload)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    if step.text:
        # Two pieces, so a client that streams shows it arriving in parts.
        half = len(step.text) // 2
        for piece in (step.text[:half], step.text[half:]):
            if piece:
                yield chunk({"content": piece})
    finish = "stop"
    if isinstance(step, Calls):
        finish = "tool_calls"
        for i, call in enumerate(step.calls):
            arguments = json.dumps(call.args)
            half = len(arguments) // 2
            head = {
                "index": i,
                "id": call.id or f"call_{serial}_{i}",
                "type": "function",
                "function": {"name": call.name, "arguments": arguments[:half]},
            }
            yield chunk({"tool_calls": [head]})
            yield chunk({"tool_calls": [{"index": i, "function": {"arguments": arguments[half:]}}]})
    yield chunk({}, finish)
    if usage is not None:
        payload = {
            "id": f"chatcmpl-{serial}",
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": usage,
        }
        yield f"data: {json.dumps(payload)}\n\n"
    yield "data: [DONE]\n\n"
