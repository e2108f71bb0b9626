"""Accepted means stored: normalised alerts → alert rows → incidents, in batched transactions.

Concurrent webhook requests are gathered into one transaction (group commit): each request
waits until the transaction holding its alerts has committed, then answers 202. Within the
transaction each organisation costs a fixed number of round trips however many alerts it
brings (psycopg pipelines: reads, reads that depend on server matching, writes), all as the
app role with ``app.org_id`` set, so row-level security holds here too. Organisations are
serialised across replicas by a transaction-scoped advisory lock, except the transactions
of a process holding the organisation's ingest lease, which overlap when their keys are
disjoint (``overlap``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from vixpro.core.alerts import NormalizedAlert
from vixpro.core.incidents import AiState
from vixpro.db.sessions import pipelined_transaction
from vixpro.db.urls import libpq_url
from vixpro.incidents.batch import OrgBatch, StoreError, Submission, clean
from vixpro.incidents.overlap import Leases, OverlapRefused, Plan
from vixpro.incidents.storage import NOTIFY_CHANNEL, SERVERS, read, write_org

__all__ = [
    "NOTIFY_CHANNEL",
    "IngestWriter",
    "Outcome",
    "StoreError",
    "Submission",
    "clean",
    "store",
]

log = logging.getLogger(__name__)

# Alerts per transaction at most. While an organisation's transactions overlap (``overlap``),
# a flood is spread over several of them rather than gathered into one that keeps a core busy
# while the other waits; while they run alone, one at a time, fewer and larger is cheaper.
MAX_BATCH_ALERTS = 2000
OVERLAP_BATCH_ALERTS = 400
GATHER_ROUNDS = 4
PLAN_LIFETIME_S = 30.0


@dataclass(frozen=True, slots=True)
class Outcome:
    alert_ids: tuple[uuid.UUID, ...]
    incident_ids: tuple[uuid.UUID, ...]  # incidents the alerts went to (new or existing)
    suppressed: int  # alerts inside a maintenance window
    queued_for_ai: tuple[uuid.UUID, ...]  # incidents that now wait for a diagnosis
    # Queued incidents of the organisation that fit in its free reactive-agent slots now
    # (read in the same transaction): the diagnoses to start once it commits.
    start_now: tuple[uuid.UUID, ...] = ()


async def store(
    conn: AsyncConnection[Any],
    submissions: Sequence[Submission],
    read_done: Callable[[], None] | None = None,
    plans: Mapping[uuid.UUID, Plan] | None = None,
) -> list[Outcome]:
    """Store ``submissions`` in one transaction on ``conn`` (an autocommit connection: this
    sends its own BEGIN and COMMIT), committed when this returns.

    Round trips: one per organisation to read (its ingest lock taken first), then one for
    every organisation's writes together with the COMMIT. ``read_done`` is called once every
    organisation's reads are back (its locks held), before the writes are sent.

    An organisation with a plan in ``plans`` runs under its ingest lease, overlapping this
    process's other transactions for it (``overlap``); ``OverlapRefused`` (raised before any
    write) means the transaction must run again without plans.
    """
    by_org: dict[uuid.UUID, list[int]] = {}
    for index, submission in enumerate(submissions):
        by_org.setdefault(submission.org_id, []).append(index)
    outcomes: list[Outcome | None] = [None] * len(submissions)
    now = datetime.now(UTC)
    written = []
    # BEGIN goes with the first reads and COMMIT with the writes: two round trips in all.
    async with pipelined_transaction(conn) as pipeline:
        last = max(by_org)
        for org_id in sorted(by_org):
            indexes = by_org[org_id]
            alerts = [a for i in indexes for a in submissions[i].alerts]
            batch = OrgBatch(org_id=org_id, now=now)
            plan = plans.get(org_id) if plans else None
            await read(conn, pipeline, batch, alerts, plan)
            if org_id == last and read_done is not None:
                read_done()  # before deciding: the next writer's reads go meanwhile
            if plan is not None:
                # Every incident read must be under a key this transaction claims.
                keys = {incident.group_key for incident in batch.incidents.values()}
                if not plan.lease.extend(plan.claim, keys):
                    raise OverlapRefused
                batch.next_number = max(batch.next_number, plan.lease.next_number)
            decided = []
            for i in indexes:
                alert_ids, incident_ids, suppressed = batch.apply(submissions[i])
                queued = tuple(
                    x
                    for x in incident_ids
                    if batch.incidents[x].new and batch.incidents[x].ai_state is AiState.QUEUED
                )
                decided.append((i, alert_ids, incident_ids, suppressed, queued))
            batch.finish()
            if plan is not None:
                plan.lease.next_number = batch.next_number
            written.append((decided, await write_org(conn, batch)))
    # The pipeline synced with the COMMIT: every result is in.
    for decided, startable in written:
        start_now = tuple(r[0] for r in await startable.fetchall()) if startable else ()
        for i, alert_ids, incident_ids, suppressed, queued in decided:
            outcomes[i] = Outcome(
                tuple(alert_ids), tuple(incident_ids), suppressed, queued, start_now
            )
    return [o for o in outcomes if o is not None]


# ---- the batching writer -------------------------------------------------------------------


Committed = Callable[[Sequence[Submission], Sequence[Outcome]], Awaitable[None]]


class IngestWriter:
    """Gathers concurrent submissions into shared transactions (group commit)."""

    def __init__(
        self,
        app_url: Any,
        *,
        workers: int = 2,
        pool_size: int = 4,
        on_committed: Committed | None = None,
        overlap: bool = True,
    ) -> None:
        # Reads and updates are planned with their values (no server-side prepared
        # statement): a generic plan is made once, with the statistics of that moment, and
        # kept; made while the tables are empty or never analysed, it can probe incidents
        # through an organisation-wide index for every row. The inserts, whose plans have
        # no choice to make, are prepared (storage.py). Plans cached inside a session (the
        # outbox trigger's, the foreign-key checks') are made the same way and as kept:
        # connections are replaced every PLAN_LIFETIME_S so that none outlives a table's
        # growth by long (a trigger plan chosen on a near-empty table cost 1.2 ms per alert
        # at 10,000 incidents, see BENCHMARKS.md, Ingest).
        self._pool = AsyncConnectionPool(
            libpq_url(app_url),
            min_size=1,
            max_size=pool_size,
            open=False,
            name="vixpro-ingest",
            max_lifetime=PLAN_LIFETIME_S,
            # Autocommit: ``store`` sends its own BEGIN and COMMIT inside the pipeline.
            kwargs={"prepare_threshold": None, "autocommit": True},
        )
        # Ingest leases (``overlap``): this process's transactions for an organisation whose
        # lease it holds run at once when their keys are disjoint.
        self._leases = Leases(libpq_url(app_url)) if overlap else None
        self._overlapping = False  # the last transaction planned overlapped
        # Transactions by how they ran (``/metrics``): ``overlapped`` under a lease, ``alone``
        # with the lock exclusive, ``sent_back`` refused before writing and run again alone.
        self.transactions = {"overlapped": 0, "alone": 0, "sent_back": 0}
        self._queue: asyncio.Queue[tuple[Submission, asyncio.Future[Outcome]]] = asyncio.Queue()
        self._workers = workers
        self._turn = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._after_tasks: set[asyncio.Task[None]] = set()
        self.on_committed = on_committed

    async def start(self) -> None:
        await self._pool.open()
        self._tasks = [asyncio.create_task(self._work()) for _ in range(self._workers)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._after_tasks:
            await asyncio.gather(*self._after_tasks, return_exceptions=True)
        if self._leases is not None:
            await self._leases.close()
        await self._pool.close()

    async def submit(self, submission: Submission) -> Outcome:
        """Store one request's alerts; returns once they are committed."""
        if not self._tasks:
            raise RuntimeError("the ingest writer is not running")
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        await self._queue.put((submission, future))
        return await future

    async def _work(self) -> None:
        while True:
            # Writers take turns: one gathers and sends its reads only once the previous
            # one's reads are back. Its ingest locks then wait in PostgreSQL behind the
            # previous transaction's writes, and its reads run the moment that commits.
            await self._turn.acquire()
            handed_on = False

            def hand_on() -> None:
                nonlocal handed_on
                if not handed_on:
                    handed_on = True
                    self._turn.release()

            try:
                items = await self._gather()
                await self._commit(items, hand_on)
            finally:
                hand_on()

    async def _gather(self) -> list[tuple[Submission, asyncio.Future[Outcome]]]:
        first = await self._queue.get()
        items = [first]
        size = len(first[0].alerts)
        limit = OVERLAP_BATCH_ALERTS if self._overlapping else MAX_BATCH_ALERTS
        # Requests whose bytes have already arrived join this transaction: let the event
        # loop run their handlers up to ``submit`` while the queue keeps growing (a
        # transaction costs far more than the alerts it carries).
        for _ in range(GATHER_ROUNDS):
            while size < limit and not self._queue.empty():
                item = self._queue.get_nowait()
                items.append(item)
                size += len(item[0].alerts)
            if size >= limit:
                break
            await asyncio.sleep(0)
            if self._queue.empty():
                break
        return items

    async def _commit(
        self,
        items: list[tuple[Submission, asyncio.Future[Outcome]]],
        read_done: Callable[[], None] | None = None,
        *,
        alone: bool = False,
    ) -> None:
        submissions = [s for s, _ in items]
        plans = {} if alone else self._plans(submissions)
        try:
            outcomes = await self._transaction(submissions, read_done, plans)
        except OverlapRefused as refused:
            self.transactions["sent_back"] += 1
            _release(plans)
            if refused.lost and self._leases is not None:
                await self._leases.lost(plan.lease.pid for plan in plans.values())
            await self._commit(items, read_done, alone=True)
            return
        except Exception as exc:
            _release(plans)
            if read_done is not None:
                read_done()
            if len(items) == 1:
                log.warning("alerts could not be stored: %s", type(exc).__name__)
                _settle(items[0][1], exc=StoreError(_describe(exc)))
                return
            # One bad submission must not sink the others: store them one by one.
            for item in items:
                await self._commit([item], alone=True)
            return
        _release(plans)
        self.transactions["overlapped" if plans else "alone"] += 1
        for (_, future), outcome in zip(items, outcomes, strict=True):
            _settle(future, outcome=outcome)
        if self.on_committed is not None and any(o.start_now for o in outcomes):
            # In the background, so that the next batch does not wait for it.
            task = asyncio.create_task(self._after([s for s, _ in items], outcomes))  # noqa: RUF006 - kept in self._after_tasks
            self._after_tasks.add(task)
            task.add_done_callback(self._after_tasks.discard)

    async def _after(self, submissions: list[Submission], outcomes: list[Outcome]) -> None:
        assert self.on_committed is not None
        try:
            await self.on_committed(submissions, outcomes)
        except Exception:
            log.exception("after-commit hook failed; the sweep will pick the incidents up")

    def _plans(self, submissions: list[Submission]) -> dict[uuid.UUID, Plan]:
        """Each organisation's plan to overlap (its keys claimed), where it can."""
        if self._leases is None:
            return {}
        alerts: dict[uuid.UUID, list[NormalizedAlert]] = {}
        for submission in submissions:
            alerts.setdefault(submission.org_id, []).extend(submission.alerts)
        plans = {}
        for org_id in sorted(alerts):
            plan = self._leases.plan(org_id, alerts[org_id], SERVERS.get(org_id))
            if plan is not None:
                plans[org_id] = plan
        self._overlapping = bool(plans)
        return plans

    async def _transaction(
        self,
        submissions: list[Submission],
        read_done: Callable[[], None] | None = None,
        plans: Mapping[uuid.UUID, Plan] | None = None,
    ) -> list[Outcome]:
        async with self._pool.connection() as conn:
            return await store(conn, submissions, read_done, plans)


def _release(plans: Mapping[uuid.UUID, Plan]) -> None:
    for plan in plans.values():
        plan.lease.release(plan.claim)


def _settle(
    future: asyncio.Future[Outcome], *, outcome: Outcome | None = None, exc: Exception | None = None
) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        assert outcome is not None
        future.set_result(outcome)


def _describe(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"the alerts could not be stored: {text[:300]}"
