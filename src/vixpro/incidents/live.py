"""Live incident lists: PostgreSQL NOTIFY (from any replica) → every subscriber of that org.

One LISTEN connection per process; each subscriber gets a queue that holds at most one
pending wake-up (a burst of a thousand alerts is one refresh, not a thousand).

``NotifyListener`` is that LISTEN-and-fan-out loop on its own; live chat streams use it too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from typing import Any, Generic, TypeVar

from psycopg import AsyncConnection

from vixpro.db.urls import libpq_url
from vixpro.incidents.ingest import NOTIFY_CHANNEL

E = TypeVar("E")


class NotifyListener(ABC, Generic[E]):
    """One LISTEN connection on ``channel`` per process, handing each notification to the
    queues subscribed under the id it names. A subclass says how a payload is read
    (``_parse``), how a queue is made (``_new_queue``) and how it takes an event (``_offer``)."""

    def __init__(self, url: Any, channel: str, what: str) -> None:
        self._url = libpq_url(url)
        self._channel = channel
        self._what = what  # names the notifications in the log
        self._log = logging.getLogger(type(self).__module__)
        self._subscribers: dict[uuid.UUID, set[asyncio.Queue[E]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()

    async def start(self) -> None:
        self._listening = asyncio.Event()
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
                    await conn.execute(f"LISTEN {self._channel}")
                    self._listening.set()
                    async for note in conn.notifies():
                        self.publish(note.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database restarted: listen again shortly
                self._log.warning(
                    "%s notifications interrupted (%s); reconnecting",
                    self._what,
                    type(exc).__name__,
                )
                await asyncio.sleep(1)

    @abstractmethod
    def _parse(self, payload: str) -> tuple[uuid.UUID, E] | None:
        """The subscription id and event a payload carries; None for one to ignore."""

    def _new_queue(self) -> asyncio.Queue[E]:
        return asyncio.Queue()

    @abstractmethod
    def _offer(self, queue: asyncio.Queue[E], event: E) -> None:
        """Put ``event`` on a subscriber's queue, as this listener's queues take events."""

    async def _subscribed(self) -> None:
        """Called once a new subscriber's queue is registered, before it is handed out."""

    def publish(self, payload: str) -> None:
        parsed = self._parse(payload)
        if parsed is None:
            return
        key, event = parsed
        for queue in self._subscribers.get(key, ()):
            self._offer(queue, event)

    @contextlib.asynccontextmanager
    async def subscribe(self, key: uuid.UUID) -> AsyncIterator[asyncio.Queue[E]]:
        queue = self._new_queue()
        self._subscribers.setdefault(key, set()).add(queue)
        try:
            await self._subscribed()
            yield queue
        finally:
            subscribers = self._subscribers.get(key)
            if subscribers is not None:
                subscribers.discard(queue)
                if not subscribers:
                    del self._subscribers[key]


class Broadcaster(NotifyListener[None]):
    def __init__(self, url: Any) -> None:
        super().__init__(url, NOTIFY_CHANNEL, "incident")

    def _parse(self, payload: str) -> tuple[uuid.UUID, None] | None:
        try:
            return uuid.UUID(payload), None
        except ValueError:
            return None

    def _new_queue(self) -> asyncio.Queue[None]:
        return asyncio.Queue(maxsize=1)

    def _offer(self, queue: asyncio.Queue[None], event: None) -> None:
        if queue.empty():
            queue.put_nowait(event)
