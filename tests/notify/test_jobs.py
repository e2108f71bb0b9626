"""The notification jobs' schedule."""

from __future__ import annotations

from datetime import UTC, datetime

from croniter import croniter

from vixpro.settings import Settings


def test_the_dispatcher_runs_every_five_seconds(settings: Settings) -> None:
    # croniter (procrastinate's) reads a sixth cron field as seconds, not a leading one.
    schedule = croniter(settings.notify_dispatch_cron, datetime(2026, 1, 1, 12, 0, 3, tzinfo=UTC))
    ticks = [schedule.get_next(datetime) for _ in range(4)]
    assert [t.strftime("%H:%M:%S") for t in ticks] == [
        "12:00:05",
        "12:00:10",
        "12:00:15",
        "12:00:20",
    ]
