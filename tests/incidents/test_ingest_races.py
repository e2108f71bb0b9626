"""A person's action on an incident that commits while the ingest transaction holding its next
alert is deciding must survive that transaction: the ingest lock does not cover actions."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from psycopg.rows import tuple_row

from tests.conftest import Factory, owner_dsn
from vixpro.core.alerts import NormalizedAlert, Severity, Status
from vixpro.db.sessions import Database
from vixpro.db.urls import DatabaseUrls, libpq_url
from vixpro.incidents.ingest import Submission, store


def _alert(
    status: Status = Status.FIRING, severity: Severity = Severity.WARNING
) -> NormalizedAlert:
    return NormalizedAlert(
        source="test", fingerprint="disk-full", status=status, severity=severity, title="Disk full"
    )


async def _store(urls: DatabaseUrls, submission: Submission, meanwhile: str | None = None) -> None:
    """One ingest transaction. ``meanwhile`` (run as the owner) holds its rows from before the
    ingest reads them until the ingest's writes wait for them, then commits: a person's action
    committed between the ingest's reads and its writes."""
    async with await psycopg.AsyncConnection.connect(
        libpq_url(urls.app), autocommit=True, prepare_threshold=None
    ) as conn:
        if meanwhile is None:
            await store(conn, [submission])
            return
        with (
            psycopg.connect(owner_dsn(urls)) as person,
            psycopg.connect(owner_dsn(urls), autocommit=True) as watcher,
        ):
            person.execute(meanwhile)
            ingest = asyncio.create_task(store(conn, [submission]))
            for _ in range(500):  # bounded: 10 s
                waiting = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND query LIKE '%%UPDATE incidents%%'"
                ).fetchone()
                if (waiting is not None and waiting[0] > 0) or ingest.done():
                    break
                await asyncio.sleep(0.02)
            assert not ingest.done(), "the ingest did not wait for the person's action"
            person.commit()
            await ingest


def _incident(urls: DatabaseUrls, org: object) -> tuple[object, ...]:
    with psycopg.connect(owner_dsn(urls), row_factory=tuple_row) as conn:
        row = conn.execute(
            "SELECT state, acknowledged_by, resolved_by, alert_count, severity FROM incidents "
            "WHERE org_id = %s",
            (org,),
        ).fetchone()
    assert row is not None
    return tuple(row)


@pytest.mark.parametrize(
    ("action", "refire", "expected"),
    [
        # The refire raises the severity; the acknowledgement stands.
        (
            "state = 'acknowledged', acknowledged_at = now(), "
            "acknowledged_by = 'alice@example.com'",
            _alert(severity=Severity.CRITICAL),
            ("acknowledged", "alice@example.com", None, 1, "critical"),
        ),
        (
            "state = 'resolved', resolved_at = now(), resolved_by = 'bob@example.com'",
            _alert(),
            ("resolved", None, "bob@example.com", 1, "normal"),
        ),
    ],
    ids=["acknowledged", "resolved"],
)
async def test_a_persons_action_during_a_refire_is_kept(
    database: Database,
    db_urls: DatabaseUrls,
    factory: Factory,
    action: str,
    refire: NormalizedAlert,
    expected: tuple[object, ...],
) -> None:
    org = (await factory.org("lean")).org_id
    await _store(db_urls, Submission(org, None, (_alert(),)))
    meanwhile = f"UPDATE incidents SET {action} WHERE org_id = '{org}'"
    await _store(db_urls, Submission(org, None, (refire,)), meanwhile)
    assert _incident(db_urls, org) == expected


async def test_what_ingest_itself_decides_about_the_state_is_written(
    database: Database, db_urls: DatabaseUrls, factory: Factory
) -> None:
    org = (await factory.org("lean")).org_id
    await _store(db_urls, Submission(org, None, (_alert(),)))
    await _store(db_urls, Submission(org, None, (_alert(Status.RESOLVED),)))
    assert _incident(db_urls, org)[:3] == ("resolved", None, "system")
