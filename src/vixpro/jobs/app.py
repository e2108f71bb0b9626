"""The job queue: a procrastinate app on the app role's connection, and every task registered on it."""

from __future__ import annotations

import logging

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


def create_job_app(
    db: Database,
    *,
    purge_cron: str,
    sweep_cron: str = "* * * * * */15",
    tools: incident_jobs.ToolAccess | None = None,
    settings: Settings | None = None,
) -> App:
    connector = PsycopgConnector(
        conninfo=libpq_url(db.urls.app), kwargs={"application_name": "vixpro-jobs"}
    )
    app = App(connector=connector)

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
