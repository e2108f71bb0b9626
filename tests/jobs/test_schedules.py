"""Every periodic job runs at the cadence the product promises, as ``vixpro serve`` builds them.

croniter (procrastinate's) reads a sixth cron field as *seconds*: ``*/15 * * * * *`` would mean
"every second of every fifteenth minute", so the sweeps behind the 60-second offline promise
would run in bursts four times an hour. This test reads each schedule the way the worker does.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from croniter import croniter

from vixpro.db.sessions import Database
from vixpro.jobs.app import create_job_app
from vixpro.settings import Settings

EXPECTED_SECONDS = {
    "hostagent_sweep": 15,
    "incident_sweep": 15,
    "notify_dispatch": 5,
    "purge_expired": 600,
    "ticket_clock_sweep": 60,
}


def _gaps(cron: str, start: datetime, count: int) -> set[float]:
    schedule = croniter(cron, start)
    ticks = [schedule.get_next(datetime) for _ in range(count)]
    return {(b - a).total_seconds() for a, b in itertools.pairwise(ticks)}


def test_each_periodic_job_runs_at_its_steady_cadence(state, settings: Settings) -> None:
    db: Database = state.db
    app = create_job_app(db, purge_cron=settings.purge_cron, settings=settings)
    found = {p.periodic_id: p for p in app.periodic_registry.periodic_tasks.values()}
    assert set(EXPECTED_SECONDS) <= set(found)
    start = datetime(2026, 1, 1, 12, 0, 3, tzinfo=UTC)
    for periodic_id, seconds in EXPECTED_SECONDS.items():
        gaps = _gaps(found[periodic_id].cron, start, 12)
        assert gaps == {float(seconds)}, (periodic_id, found[periodic_id].cron, gaps)
