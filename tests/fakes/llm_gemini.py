"""A scripted Gemini API server on 127.0.0.1 (``generateContent`` and ``streamGenerateContent``).

``POST /v1beta/models/{model}:generateContent`` answers a ``GenerateContentResponse`` whose
candidate holds ``text`` and ``functionCall`` parts, with ``usageMetadata``;
``:streamGenerateContent?alt=sse`` answers the same as Server-Sent Events, one response chunk
per event. Errors use Google's body (``{"error": {"code", "message", "status"}}``); like the real
API, a bad key is a 400 ``INVALID_ARGUMENT`` with reason ``API_KEY_INVALID``. The key is read
from the ``x-goog-api-key`` header (or the ``key`` query parameter).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.llm_script import Calls, ScriptedServer, Step, Text

_STATUS = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


class FakeGemini(ScriptedServer):
    """Gemini generateContent, scripted. ``url`` is the base URL to give the SDK."""

    @property
    def url(self) -> str:
        return self.base

    def routes(self) -> list[Route]:
        return [Route("/v1beta/models/{target:path}", self._models, methods=["POST"])]

    def key_of(self, request: Request) -> str | None:
        return request.headers.get("x-goog-api-key") or request.query_params.get("key")

    def invalid_key_message(self, key: str | None) -> str:
        return f"API key not valid. Please pass a valid API key. ({key})"

    def native_output(self, body: dict[str, Any]) -> bool:
        config = body.get("generationConfig") or {}
        return bool(config.get("responseSchema") or config.get("responseJsonSchema"))

    def error_response(self, status: int, message: str, headers: dict[str, str]) -> Response:
        error: dict[str, Any] = {
            "code": status,
            "message": message,
            "status": _STATUS.get(status, "UNKNOWN"),
        }
        if status == 401:
            # Gemini answers a bad key with 400 INVALID_ARGUMENT and this reason, not 401.
            status = 400
            error.update(
                code=400,
                status="INVALID_ARGUMENT",
                details=[
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                        "domain": "googleapis.com",
                    }
                ],
            )
        return JSONResponse({"error": error}, status_code=status, headers=headers)

    async def _models(self, request: Request) -> Response:
        return await self.handle(request, self._render)

    async def _render(self, request: Request, body: dict[str, Any], step: Step) -> Response:
        assert isinstance(step, Text | Calls)
        model, _, method = request.path_params["target"].partition(":")
        parts: list[dict[str, Any]] = []
        if step.text:
            parts.append({"text": step.text})
        if isinstance(step, Calls):
            parts.extend({"functionCall": {"name": c.name, "args": c.args}} for c in step.calls)
        usage = {
            "promptTokenCount": step.tokens_in,
            "candidatesTokenCount": step.tokens_out,
            "totalTokenCount": step.tokens_in + step.tokens_out,
        }
        serial = len(self.requests)

        def response(
            chunk_parts: list[dict[str, Any]], finish: str | None, with_usage: bool
        ) -> dict[str, Any]:
            candidate: dict[str, Any] = {
                "content": {"role": "model", "parts": chunk_parts},
                "index": 0,
            }
            if finish:
                candidate["finishReason"] = finish
            out: dict[str, Any] = {
                "candidates": [candidate],
                "modelVersion": model,
                "responseId": f"resp-{serial}",
            }
            if with_usage:
                out["usageMetadata"] = usage
            return out

        if method == "streamGenerateContent":
            chunks = [response([p], None, False) for p in parts[:-1]]
            chunks.append(response(parts[-1:], "STOP", True))
            return StreamingResponse(_sse(chunks), media_type="text/event-stream")
        if method != "generateContent":
            return self.error_response(404, f"unknown method {method!r}", {})
        return JSONResponse(response(parts, "STOP", True))


async def _sse(chunks: list[dict[str, Any]]) -> AsyncIterator[str]:
    for chunk in chunks:
        yield f"data: {json.dumps(chunk)}\n\n"
