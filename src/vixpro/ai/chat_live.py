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
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

from psycopg import AsyncConnection

from vixpro.ai.chat import NOTIFY_CHANNEL
from vixpro.db.urls import libpq_url

log = logging.getLogger(__name__)

QUEUE_LIMIT = 1000  # a stream this far behind drops deltas; entries are re-read anyway


class ChatBroadcaster:
    """One LISTEN connection per process, started with the first stream."""

    def __init__(self, url: Any) -> None:
        self._url = libpq_url(url)
        self._subscribers: dict[uuid.UUID, set[asyncio.Queue[dict[str, Any]]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()

    async def _ensure_started(self) -> None:
        if self._task is None or self._task.done():
            self._listening = asyncio.Event()
            self._task = asyncio.create_task(self._listen())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), 5)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _listen(self) -> None:
        while True:
            try:
                async with await AsyncConnection.connect(self._url, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self._listening.set()
                    async for note in conn.notifies():
                        self.publish(note.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database restarted: listen again shortly
                log.warning("chat notifications interrupted (%s); reconnecting", type(exc).__name__)
                await asyncio.sleep(1)

    def publish(self, payload: str) -> None:
        try:
            event = json.loads(payload)
            conversation = uuid.UUID(event["conversation"])
        except (ValueError, KeyError, TypeError):
            return
        for queue in self._subscribers.get(conversation, ()):
            if queue.qsize() < QUEUE_LIMIT:
                queue.put_nowait(event)

    @contextlib.asynccontextmanager
    async def subscribe(
        self, conversation_id: uuid.UUID
    ) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._subscribers.setdefault(conversation_id, set()).add(queue)
        try:
            await self._ensure_started()
            yield queue
        finally:
            subscribers = self._subscribers.get(conversation_id)
            if subscribers is not None:
                subscribers.discard(queue)
                if not subscribers:
                    del self._subscribers[conversation_id]
