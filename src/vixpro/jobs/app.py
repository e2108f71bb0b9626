"""The job queue: a procrastinate app on the app role's connection, and every task registered on it."""

from __future__ import annotations

import logging

from procrastinate import App, PsycopgConnector

from vixpro.accounts.purge import purge_expired
from vixpro.db.sessions import Database
from vixpro.db.urls import libpq_url

log = logging.getLogger("vixpro.jobs")


def create_job_app(db: Database, *, purge_cron: str) -> App:
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

    return app
