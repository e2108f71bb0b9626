"""``GET /api/v1/incidents/stream``: Server-Sent Events that say when incidents changed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from vixpro.web.deps import PrincipalDep, StateDep

router = APIRouter(tags=["incidents"])

KEEPALIVE_S = 15.0


@router.get(
    "/incidents/stream",
    summary="Server-Sent Events: 'changed' whenever an incident of this organisation changes",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream(request: Request, principal: PrincipalDep, state: StateDep) -> StreamingResponse:
    async def events() -> AsyncIterator[bytes]:
        async with state.live.subscribe(principal.org_id) as queue:
            yield b"retry: 3000\nevent: ready\ndata: {}\n\n"
            while not await request.is_disconnected():
                try:
                    await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                yield b"event: changed\ndata: {}\n\n"

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
