"""Live chat streams: PostgreSQL NOTIFY on ``vixpro_chat`` (from any replica) → the streams of
that conversation in this process.

Events are small JSON objects: ``message`` (entry ``seq`` was stored: read it from the
database), ``delta`` (a piece of the answer being written) and ``done``. Entries are read from
the database, so a stream that missed a notification still shows everything on the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from typing import Any

from vixpro.ai.chat import NOTIFY_CHANNEL
from vixpro.incidents.live import NotifyListener

QUEUE_LIMIT = 1000  # a stream this far behind drops deltas; entries are re-read anyway


class ChatBroadcaster(NotifyListener[dict[str, Any]]):
    """One LISTEN connection per process, started with the first stream."""

    def __init__(self, url: Any) -> None:
        super().__init__(url, NOTIFY_CHANNEL, "chat")

    async def _subscribed(self) -> None:
        if self._task is None or self._task.done():
            await self.start()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), 5)

    def _parse(self, payload: str) -> tuple[uuid.UUID, dict[str, Any]] | None:
        try:
            event = json.loads(payload)
            return uuid.UUID(event["conversation"]), event
        except (ValueError, KeyError, TypeError):
            return None

    def _offer(self, queue: asyncio.Queue[dict[str, Any]], event: dict[str, Any]) -> None:
        if queue.qsize() < QUEUE_LIMIT:
            queue.put_nowait(event)
