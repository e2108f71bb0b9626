"""The job queue: a procrastinate app on the app role's connection, and every task registered on it."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from procrastinate import App, PsycopgConnector

from vixpro.accounts.purge import purge_expired
from vixpro.db.sessions import Database
from vixpro.db.urls import libpq_url
from vixpro.hub.presence import Presence
from vixpro.jobs import incidents as incident_jobs
from vixpro.jobs import notify as notify_jobs
from vixpro.jobs import support as support_jobs
from vixpro.settings import Settings
from vixpro.tools.executions import expire_due

log = logging.getLogger("vixpro.jobs")

FETCHERS = 4  # at most
JOBS_PER_FETCHER = 8  # a worker of default concurrency (4) fetches with one loop


class JobApp(App):
    """procrastinate's app, whose worker fetches with several loops side by side.

    A procrastinate worker fetches one job per database round trip, one after the other, and
    only then starts it. When a burst of incidents defers fifty diagnoses at once, the last
    starts fifty round trips after the first: seconds on a busy machine, and each round trip
    waits behind the jobs already running on the event loop. So a worker process runs
    ``fetchers`` procrastinate workers on its one event loop, sharing its concurrency between
    them; they fetch at the same time, like as many worker processes would. A loop per
    ``JOBS_PER_FETCHER`` slots: every loop asks for a job each time one is deferred, so a
    small worker keeps one.
    """

    def __init__(self, *args: Any, fetchers: int = FETCHERS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fetchers = fetchers

    async def run_worker_async(self, **kwargs: Any) -> None:
        concurrency = int(kwargs.get("concurrency") or self.worker_defaults.get("concurrency", 1))
        loops = max(1, min(self.fetchers, -(-concurrency // JOBS_PER_FETCHER)))
        if loops == 1:
            await super().run_worker_async(**kwargs)
            return
        name = kwargs.pop("name", None) or "worker"
        shares = [
            concurrency // loops + (1 if i < concurrency % loops else 0) for i in range(loops)
        ]
        async with asyncio.TaskGroup() as group:  # one failing stops the others
            for i, share in enumerate(shares):
                group.create_task(
                    super().run_worker_async(
                        **{**kwargs, "concurrency": share, "name": f"{name}-{i}"}
                    )
                )


def create_job_app(
    db: Database,
    *,
    purge_cron: str,
    sweep_cron: str = "* * * * * */15",
    tools: incident_jobs.ToolAccess | None = None,
    settings: Settings | None = None,
) -> App:
    connector = PsycopgConnector(
        conninfo=libpq_url(db.urls.app),
        kwargs={"application_name": "vixpro-jobs"},
        # A worker's fetchers each hold one connection to listen for new jobs.
        min_size=2,
        max_size=FETCHERS + 6,
    )
    app = JobApp(connector=connector)

    @app.periodic(cron=purge_cron, periodic_id="purge_expired")
    @app.task(name="vixpro.purge_expired", queue="maintenance", queueing_lock="purge_expired")
    async def purge(timestamp: int) -> dict[str, int]:
        """Delete expired login sessions, expired invitations and old throttle counters."""
        async with db.system_session("periodic purge of expired rows") as session:
            purged = await purge_expired(session)
        log.info(
            "purged %d sessions, %d invitations, %d counters",
            purged.sessions,
            purged.invitations,
            purged.counters,
        )
        return {
            "sessions": purged.sessions,
            "invitations": purged.invitations,
            "counters": purged.counters,
        }

    @app.periodic(cron=sweep_cron, periodic_id="hostagent_sweep")
    @app.task(name="vixpro.hostagent_sweep", queue="maintenance", queueing_lock="hostagent_sweep")
    async def hostagent_sweep(timestamp: int) -> dict[str, int]:
        """Mark silent host agents offline (raising an event) and expire unanswered approvals."""
        offline = await Presence(db, "sweeper").sweep()
        async with db.system_session("periodic approval expiry") as session:
            expired = await expire_due(session)
        return {"offline": offline, "expired_approvals": expired}

    incident_jobs.register(
        app,
        db,
        sweep_cron=sweep_cron,
        tools=tools,
        master_key=settings.master_key_bytes if settings is not None else None,
    )
    if settings is not None:  # notifications need the master key and the SMTP settings
        notify_jobs.register(app, db, settings)
    support_jobs.register(app, db)
    return app
