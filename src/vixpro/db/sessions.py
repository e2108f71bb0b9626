"""Engines and sessions. ``tenant_session`` is how requests and jobs touch tenant data."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, LiteralString

from psycopg import AsyncConnection
from psycopg.pq import TransactionStatus
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from vixpro.db.urls import DatabaseUrls, libpq_url

_SET_TENANT = text(
    "SELECT set_config('app.org_id', :org, true), set_config('app.user_id', :user, true)"
)
_SET_TENANT_PLAIN = "SELECT set_config('app.org_id', %s, true), set_config('app.user_id', '', true)"


class Database:
    """Connection pools for the app role and the system role."""

    def __init__(self, urls: DatabaseUrls, *, pool_size: int = 10) -> None:
        self.urls = urls
        self.app_engine: AsyncEngine = create_async_engine(
            urls.app, pool_size=pool_size, max_overflow=pool_size
        )
        self.system_engine: AsyncEngine = create_async_engine(
            urls.system,
            pool_size=max(2, pool_size // 2),
            max_overflow=pool_size,
            pool_pre_ping=True,
        )
        # Authentication and request counting run on every API call: one statement each, on a
        # plain psycopg pool (no ORM), autocommit, without waiting for the WAL flush. Losing the
        # last few milliseconds of request counts in a crash is harmless; making every API call
        # wait for an fsync while it holds the organisation's counter row is not.
        self._counter_pool = AsyncConnectionPool(
            libpq_url(urls.system),
            min_size=1,
            max_size=pool_size * 2,
            kwargs={"autocommit": True, "options": "-c synchronous_commit=off"},
            open=False,
            name="vixpro-counters",
        )
        self._counter_open = asyncio.Lock()
        # The hot path of tool calls: plain statements as the app role (row-level security
        # applies), each transaction pipelined into one round trip (see ``tenant_statement``).
        self._tenant_pool = AsyncConnectionPool(
            libpq_url(urls.app),
            min_size=1,
            max_size=pool_size * 2,
            kwargs={"autocommit": True},
            open=False,
            name="vixpro-tenant",
        )
        self._tenant_open = asyncio.Lock()
        self._app = async_sessionmaker(self.app_engine, expire_on_commit=False)
        self._system = async_sessionmaker(self.system_engine, expire_on_commit=False)

    @asynccontextmanager
    async def tenant_session(
        self, org_id: uuid.UUID, *, user_id: uuid.UUID | None = None
    ) -> AsyncIterator[AsyncSession]:
        """One transaction as the app role, seeing only ``org_id``'s rows (row-level security)."""
        async with self._app() as session, session.begin():
            await session.execute(
                _SET_TENANT, {"org": str(org_id), "user": str(user_id) if user_id else ""}
            )
            yield session

    @asynccontextmanager
    async def unscoped_session(self) -> AsyncIterator[AsyncSession]:
        """A transaction as the app role with no organisation set: it sees no tenant rows."""
        async with self._app() as session, session.begin():
            yield session

    @asynccontextmanager
    async def system_session(self, reason: str) -> AsyncIterator[AsyncSession]:
        """One transaction as the system role, which crosses organisations.

        Only for the few cross-org paths (authentication lookups, webhook tokens, the staff
        console, sweeps); ``reason`` names the path so that every use is greppable.
        """
        if not reason:
            raise ValueError("a system session needs a reason")
        async with self._system() as session, session.begin():
            yield session

    @asynccontextmanager
    async def counter_connection(self) -> AsyncIterator[AsyncConnection[Any]]:
        """A system-role psycopg connection in autocommit mode for the per-request hot path."""
        if self._counter_pool.closed:
            async with self._counter_open:
                if self._counter_pool.closed:
                    await self._counter_pool.open()
        async with self._counter_pool.connection() as conn:
            yield conn

    async def tenant_statement(
        self, org_id: uuid.UUID, query: LiteralString, params: Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        """One statement in its own transaction as the app role, seeing only ``org_id``'s rows
        (row-level security), and its rows.

        ``BEGIN``, ``set_config('app.org_id', ..., true)``, the statement and ``COMMIT`` travel
        together in pipeline mode: one round trip to PostgreSQL and no ORM work. The commit is
        durable (``synchronous_commit`` as configured).
        """
        if self._tenant_pool.closed:
            async with self._tenant_open:
                if self._tenant_pool.closed:
                    await self._tenant_pool.open()
        async with self._tenant_pool.connection() as conn:
            try:
                async with conn.pipeline() as pipeline:
                    await conn.execute("BEGIN")
                    await conn.execute(_SET_TENANT_PLAIN, (str(org_id),))
                    cursor = await conn.execute(query, params)
                    await conn.execute("COMMIT")
                    await pipeline.sync()
                    rows = await cursor.fetchall() if cursor.description else []
            except BaseException:
                if conn.info.transaction_status != TransactionStatus.IDLE:
                    with contextlib.suppress(Exception):
                        await conn.execute("ROLLBACK")
                raise
        return rows

    async def dispose(self) -> None:
        await self.app_engine.dispose()
        await self.system_engine.dispose()
        if not self._counter_pool.closed:
            await self._counter_pool.close()
        if not self._tenant_pool.closed:
            await self._tenant_pool.close()
