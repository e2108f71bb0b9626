"""Support jobs: the response-clock sweep that escalates tickets whose targets were missed."""

from __future__ import annotations

import logging

from procrastinate import App

from vixpro.db.sessions import Database
from vixpro.support.tickets import escalate_breaches

log = logging.getLogger("vixpro.jobs.support")


def register(app: App, db: Database, *, clock_cron: str = "* * * * *") -> None:
    @app.periodic(cron=clock_cron, periodic_id="ticket_clock_sweep")
    @app.task(
        name="vixpro.ticket_clock_sweep", queue="maintenance", queueing_lock="ticket_clock_sweep"
    )
    async def ticket_clock_sweep(timestamp: int) -> dict[str, int]:
        """Flag tickets with a newly breached clock as escalated and notify staff."""
        async with db.system_session("support: response clock sweep") as session:
            breaches = await escalate_breaches(session)
        if breaches:
            log.info("escalated %d missed support targets", breaches)
        return {"breaches": breaches}
