"""Engines and sessions. ``tenant_session`` is how requests and jobs touch tenant data."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, LiteralString

from psycopg import AsyncConnection, AsyncPipeline
from psycopg.pq import TransactionStatus
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from vixpro.core import jsontext
from vixpro.db.urls import DatabaseUrls, libpq_url

_SET_TENANT = text(
    "SELECT set_config('app.org_id', :org, true), set_config('app.user_id', :user, true)"
)
_SET_TENANT_PLAIN = "SELECT set_config('app.org_id', %s, true), set_config('app.user_id', '', true)"

# Group commit of hot-path statements (``Database.tenant_statement``): transactions in flight at
# once per organisation, and statements per transaction.
GROUP_COMMIT_FLUSHERS = 2
GROUP_COMMIT_MAX = 64


@asynccontextmanager
async def pipelined_transaction(conn: AsyncConnection[Any]) -> AsyncIterator[AsyncPipeline]:
    """One explicit transaction on ``conn`` (an autocommit connection) in pipeline mode,
    without a round trip of its own: ``BEGIN`` goes with the block's first statements and
    ``COMMIT`` with its last, where psycopg's ``transaction()`` inside a pipeline syncs once
    more for each. The block may ``sync()`` the pipeline it is given to read results midway
    (the transaction goes on). An error rolls the whole transaction back."""
    try:
        async with conn.pipeline() as pipeline:
            await conn.execute("BEGIN", prepare=True)
            yield pipeline
            await conn.execute("COMMIT", prepare=True)
    except BaseException:
        if conn.info.transaction_status != TransactionStatus.IDLE:
            with contextlib.suppress(Exception):
                await conn.execute("ROLLBACK")
        raise


@dataclass(frozen=True, eq=False)
class SharedStatement:
    """A statement that several callers share in one execution (``Database.tenant_statement``).

    The callers' parameters arrive as one JSON array, ``%(rows)s``, of objects: each caller's
    parameters (UUIDs and times as strings) and ``n``, its 1-based position. Read it with
    ``jsonb_to_recordset(%(rows)s::jsonb) AS r(n int, ...)``. Each row returned starts with
    the ``n`` of the caller it belongs to. (One JSON parameter costs far less to send than an
    array per parameter.)
    """

    query: LiteralString


@dataclass(slots=True)
class _Pending:
    statement: SharedStatement
    params: Mapping[str, Any]
    future: asyncio.Future[list[tuple[Any, ...]]]


def _json_rows(params: list[Mapping[str, Any]]) -> str:
    return jsontext.dumps([{**p, "n": n} for n, p in enumerate(params, 1)])


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
        self._tenant_queues: dict[uuid.UUID, list[_Pending]] = {}
        self._tenant_flushers: dict[uuid.UUID, int] = {}
        self._tenant_tasks: set[asyncio.Task[None]] = set()
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

    @asynccontextmanager
    async def tenant_pipeline(self, org_id: uuid.UUID) -> AsyncIterator[AsyncConnection[Any]]:
        """One transaction as the app role, seeing only ``org_id``'s rows, on a plain psycopg
        connection (``pipelined_transaction``): no ORM, and no round trip of its own. What
        the block sends runs when it ends, and its cursors can be read after."""
        await self._open_tenant_pool()
        async with self._tenant_pool.connection() as conn, pipelined_transaction(conn):
            await conn.execute(_SET_TENANT_PLAIN, (str(org_id),), prepare=True)
            yield conn

    async def _open_tenant_pool(self) -> None:
        if self._tenant_pool.closed:
            async with self._tenant_open:
                if self._tenant_pool.closed:
                    await self._tenant_pool.open()

    async def tenant_statement(
        self, org_id: uuid.UUID, statement: SharedStatement, params: Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        """Run ``statement`` for one caller as the app role, seeing only ``org_id``'s rows
        (row-level security), in a durably committed transaction; return this caller's rows
        (without their position column).

        The hot path of tool calls: no ORM, and group commit. Callers for the same organisation
        that arrive while an earlier transaction is in flight share the next one, and callers
        of the same statement in it share one execution (their parameters as arrays).
        ``set_config('app.org_id', ..., true)`` and the statements travel together in pipeline
        mode, one implicit transaction ended by the pipeline's Sync: one round trip. If a shared
        transaction fails, each caller is retried alone, so that only the faulty one sees the
        error.
        """
        future: asyncio.Future[list[tuple[Any, ...]]] = asyncio.get_running_loop().create_future()
        queue = self._tenant_queues.get(org_id)
        if queue is None:
            queue = self._tenant_queues[org_id] = []
        queue.append(_Pending(statement, params, future))
        flushers = self._tenant_flushers.get(org_id, 0)
        if flushers < GROUP_COMMIT_FLUSHERS:
            self._tenant_flushers[org_id] = flushers + 1
            task = asyncio.create_task(self._flush_tenant(org_id))
            self._tenant_tasks.add(task)
            task.add_done_callback(self._tenant_tasks.discard)
        return await future

    async def _flush_tenant(self, org_id: uuid.UUID) -> None:
        batch: list[_Pending] = []
        try:
            while True:
                queue = self._tenant_queues.get(org_id)
                if not queue:
                    break
                batch = queue[:GROUP_COMMIT_MAX]
                del queue[:GROUP_COMMIT_MAX]
                if not queue:
                    del self._tenant_queues[org_id]
                batch = [item for item in batch if not item.future.done()]  # callers gone
                if batch:
                    await self._commit_batch(org_id, batch)
                batch = []
        except BaseException:
            for item in batch:
                if not item.future.done():
                    item.future.cancel()
            raise
        finally:
            left = self._tenant_flushers[org_id] - 1
            if left:
                self._tenant_flushers[org_id] = left
            else:
                del self._tenant_flushers[org_id]

    async def _commit_batch(self, org_id: uuid.UUID, batch: list[_Pending]) -> None:
        try:
            results = await self._tenant_transaction(org_id, batch)
        except Exception as exc:
            if len(batch) == 1:
                if not batch[0].future.done():
                    batch[0].future.set_exception(exc)
                return
            for item in batch:  # alone, so that one faulty caller fails only itself
                try:
                    rows = (await self._tenant_transaction(org_id, [item]))[0]
                except Exception as alone:
                    if not item.future.done():
                        item.future.set_exception(alone)
                else:
                    if not item.future.done():
                        item.future.set_result(rows)
            return
        for item, rows in zip(batch, results, strict=True):
            if not item.future.done():
                item.future.set_result(rows)

    async def _tenant_transaction(
        self, org_id: uuid.UUID, batch: list[_Pending]
    ) -> list[list[tuple[Any, ...]]]:
        """One transaction for ``batch``; each caller's rows, in order."""
        groups: dict[SharedStatement, list[int]] = {}
        for index, item in enumerate(batch):
            groups.setdefault(item.statement, []).append(index)
        await self._open_tenant_pool()
        results: list[list[tuple[Any, ...]]] = [[] for _ in batch]
        async with self._tenant_pool.connection() as conn:
            try:
                # No BEGIN or COMMIT: what a pipeline sends before its Sync is one implicit
                # transaction, committed (durably) at the Sync or rolled back whole on an
                # error, and the local setting lasts exactly that long. Two statements fewer
                # per transaction, on a path where each costs about as much as the work.
                async with conn.pipeline() as pipeline:
                    await conn.execute(_SET_TENANT_PLAIN, (str(org_id),))
                    cursors = []
                    for statement, members in groups.items():
                        rows = _json_rows([batch[i].params for i in members])
                        cursor = await conn.execute(statement.query, {"rows": rows})
                        cursors.append((members, cursor))
                    await pipeline.sync()
                    for members, cursor in cursors:
                        for row in await cursor.fetchall() if cursor.description else []:
                            results[members[row[0] - 1]].append(row[1:])
            except BaseException:
                if conn.info.transaction_status != TransactionStatus.IDLE:
                    with contextlib.suppress(Exception):
                        await conn.execute("ROLLBACK")
                raise
        return results

    async def dispose(self) -> None:
        for task in list(self._tenant_tasks):
            task.cancel()
        await asyncio.gather(*self._tenant_tasks, return_exceptions=True)
        await self.app_engine.dispose()
        await self.system_engine.dispose()
        if not self._counter_pool.closed:
            await self._counter_pool.close()
        if not self._tenant_pool.closed:
            await self._tenant_pool.close()
