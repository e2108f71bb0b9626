"""A scripted Anthropic Messages API server on 127.0.0.1 (``POST /v1/messages``).

Answers are ``message`` objects with ``text`` and ``tool_use`` content blocks; with
``"stream": true`` they are the Messages streaming events (``message_start``,
``content_block_start``/``delta``/``stop`` with ``text_delta`` and ``input_json_delta``,
``message_delta`` with the stop reason and usage, ``message_stop``). The SDK streams behind the
scenes when ``max_tokens`` is large, so both forms matter. Errors use Anthropic's body
(``{"type": "error", "error": {"type", "message"}}``); the key is read from
``Authorization: Bearer`` (what the SDK sends) or ``x-api-key``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.llm_script import Calls, ScriptedServer, Step, Text

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


class FakeAnthropic(ScriptedServer):
    """Anthropic Messages, scripted. ``url`` is the base URL to give the SDK (no /v1)."""

    @property
    def url(self) -> str:
        return self.base

    def routes(self) -> list[Route]:
        return [Route("/v1/messages", self._messages, methods=["POST"])]

    def key_of(self, request: Request) -> str | None:
        # The SDK sends the key as ``Authorization: Bearer``; the API also takes ``x-api-key``.
        auth = request.headers.get("authorization", "")
        if auth.startswith("Bearer "):
            return auth.removeprefix("Bearer ")
        return request.headers.get("x-api-key")

    def invalid_key_message(self, key: str | None) -> str:
        return f"invalid x-api-key: {key}"

    def native_output(self, body: dict[str, Any]) -> bool:
        return bool((body.get("output_config") or {}).get("format"))

    def error_response(self, status: int, message: str, headers: dict[str, str]) -> Response:
        body = {
            "type": "error",
            "error": {"type": _ERROR_TYPES.get(status, "api_error"), "message": message},
        }
        return JSONResponse(body, status_code=status, headers=headers)

    async def _messages(self, request: Request) -> Response:
        return await self.handle(request, self._render)

    async def _render(self, request: Request, body: dict[str, Any], step: Step) -> Response:
        assert isinstance(step, Text | Calls)
        serial = len(self.requests)
        blocks: list[dict[str, Any]] = []
        if step.text:
            blocks.append({"type": "text", "text": step.text})
        if isinstance(step, Calls):
            blocks.extend(
                {
                    "type": "tool_use",
                    "id": call.id or f"toolu_{serial}_{i}",
                    "name": call.name,
                    "input": call.args,
                }
                for i, call in enumerate(step.calls)
            )
        stop = "tool_use" if isinstance(step, Calls) else "end_turn"
        message = {
            "id": f"msg_{serial}",
            "type": "message",
            "role": "assistant",
            "model": str(body.get("model", "")),
            "content": blocks,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {"input_tokens": step.tokens_in, "output_tokens": step.tokens_out},
        }
        if body.get("stream"):
            return StreamingResponse(
                _events(message, step.tokens_out), media_type="text/event-stream"
            )
        return JSONResponse(message)


async def _events(message: dict[str, Any], tokens_out: int) -> AsyncIterator[str]:
    def event(kind: str, payload: dict[str, Any]) -> str:
        return f"event: {kind}\ndata: {json.dumps({'type': kind, **payload})}\n\n"

    start = {
        **message,
        "content": [],
        "stop_reason": None,
        "usage": {**message["usage"], "output_tokens": 1},
    }
    yield event("message_start", {"message": start})
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            yield event(
                "content_block_start",
                {"index": index, "content_block": {"type": "text", "text": ""}},
            )
            half = len(block["text"]) // 2
            for piece in (block["text"][:half], block["text"][half:]):
                if piece:
                    yield event(
                        "content_block_delta",
                        {"index": index, "delta": {"type": "text_delta", "text": piece}},
                    )
        else:
            head = {**block, "input": {}}
            yield event("content_block_start", {"index": index, "content_block": head})
            arguments = json.dumps(block["input"])
            half = len(arguments) // 2
            for piece in (arguments[:half], arguments[half:]):
                yield event(
                    "content_block_delta",
                    {"index": index, "delta": {"type": "input_json_delta", "partial_json": piece}},
                )
        yield event("content_block_stop", {"index": index})
    yield event(
        "message_delta",
        {
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
            "usage": {"output_tokens": tokens_out},
        },
    )
    yield event("message_stop", {})
