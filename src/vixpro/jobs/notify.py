"""Notification jobs: the dispatcher (periodic, and deferred when there is news) and one
delivery job per channel and event, retried with exponential backoff."""

from __future__ import annotations

import logging
import uuid

from procrastinate import App, JobContext, RetryStrategy
from procrastinate.exceptions import AlreadyEnqueued

from vixpro.db.sessions import Database
from vixpro.notify import deliver as delivering
from vixpro.notify import dispatch as dispatching
from vixpro.settings import Settings

log = logging.getLogger("vixpro.jobs.notify")

DISPATCH = "vixpro.notify_dispatch"
DELIVER = "vixpro.notify_deliver"
QUEUE = "notify"
# Six tries over about six minutes (3, 9, 27, 81, 243 s apart), then the delivery is failed.
MAX_RETRIES = 5
BACKOFF_BASE = 3


class Retry(Exception):
    """A transient failure: procrastinate schedules the next attempt."""


async def defer_dispatch(app: App) -> bool:
    """Ask for a dispatcher run now; False if one is already waiting (that one will do)."""
    try:
        await app.configure_task(
            DISPATCH, queueing_lock="notify_dispatch", queue=QUEUE
        ).defer_async(timestamp=0)
    except AlreadyEnqueued:
        return False
    return True


async def defer_deliveries(app: App, planned: list[dispatching.Planned]) -> None:
    for item in planned:
        await app.configure_task(DELIVER, queue=QUEUE).defer_async(
            org_id=str(item.org_id), delivery_id=str(item.delivery_id)
        )


def register(
    app: App, db: Database, settings: Settings, *, dispatch_cron: str | None = None
) -> None:
    cron = dispatch_cron or settings.notify_dispatch_cron

    @app.periodic(cron=cron, periodic_id="notify_dispatch")
    @app.task(name=DISPATCH, queue=QUEUE, queueing_lock="notify_dispatch")
    async def notify_dispatch(timestamp: int) -> dict[str, int]:
        """Turn new outbox events into deliveries (and bell rings), and defer their jobs."""
        events = rung = deferred = 0
        for _ in range(20):  # bounded: a backlog is finished by the next runs
            async with db.system_session("notification dispatch") as session:
                batch = await dispatching.dispatch(session)
            planned = batch.planned or []
            await defer_deliveries(app, planned)
            events, rung, deferred = (
                events + batch.events,
                rung + batch.rung,
                deferred + len(planned),
            )
            if batch.events < dispatching.BATCH:
                break
        async with db.system_session("notification dispatch: stranded deliveries") as session:
            stranded = await dispatching.pending_deliveries(session)
        await defer_deliveries(app, stranded)
        purged = 0
        if timestamp and timestamp % 3600 < 5:  # the scheduled run at the top of each hour
            async with db.system_session("notification retention") as session:
                purged = await dispatching.purge_old(session)
        return {
            "events": events,
            "rung": rung,
            "deliveries": deferred + len(stranded),
            "purged": purged,
        }

    @app.task(
        name=DELIVER,
        queue=QUEUE,
        pass_context=True,
        retry=RetryStrategy(
            max_attempts=MAX_RETRIES, exponential_wait=BACKOFF_BASE, retry_exceptions={Retry}
        ),
    )
    async def notify_deliver(context: JobContext, org_id: str, delivery_id: str) -> str:
        """Send one delivery once; a transient failure raises ``Retry`` for the backoff."""
        attempts = context.job.attempts if context.job else 0
        final = attempts >= MAX_RETRIES
        async with delivering.client(settings) as http:
            state, outcome = await delivering.deliver(
                db, settings, http, uuid.UUID(org_id), uuid.UUID(delivery_id), final=final
            )
        if state == "retrying":
            error = outcome.error if outcome else "failed"
            raise Retry(error)
        if outcome is not None and outcome.permanent:
            log.warning("delivery %s failed permanently: %s", delivery_id, outcome.error)
            await defer_dispatch(context.app)  # the organisation is told now, not at the next tick
        return state
