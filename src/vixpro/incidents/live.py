"""Live incident lists: PostgreSQL NOTIFY (from any replica) → every subscriber of that org.

One LISTEN connection per process; each subscriber gets a queue that holds at most one
pending wake-up (a burst of a thousand alerts is one refresh, not a thousand).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

from psycopg import AsyncConnection

from vixpro.db.urls import libpq_url
from vixpro.incidents.ingest import NOTIFY_CHANNEL

log = logging.getLogger(__name__)


class Broadcaster:
    def __init__(self, url: Any) -> None:
        self._url = libpq_url(url)
        self._subscribers: dict[uuid.UUID, set[asyncio.Queue[None]]] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen())

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
                    async for note in conn.notifies():
                        self.publish(note.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database restarted: listen again shortly
                log.warning(
                    "incident notifications interrupted (%s); reconnecting", type(exc).__name__
                )
                await asyncio.sleep(1)

    def publish(self, payload: str) -> None:
        try:
            org_id = uuid.UUID(payload)
        except ValueError:
            return
        for queue in self._subscribers.get(org_id, ()):
            if queue.empty():
                queue.put_nowait(None)

    @contextlib.asynccontextmanager
    async def subscribe(self, org_id: uuid.UUID) -> AsyncIterator[asyncio.Queue[None]]:
        queue: asyncio.Queue[None] = asyncio.Queue(maxsize=1)
        self._subscribers.setdefault(org_id, set()).add(queue)
        try:
            yield queue
        finally:
            subscribers = self._subscribers.get(org_id)
            if subscribers is not None:
                subscribers.discard(queue)
                if not subscribers:
                    del self._subscribers[org_id]
