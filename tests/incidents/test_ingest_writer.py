"""The ingest writer's two writers take turns on an organisation's lock: concurrent requests
must be decided as if one at a time (one incident per group, one alert per fingerprint,
numbers without duplicates), and a submission that fails must not stall the other writer."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import text

from tests.conftest import Factory
from tests.incidents.helpers import firing
from vixpro.db.sessions import Database
from vixpro.incidents.ingest import IngestWriter, StoreError, Submission


async def _writer(database: Database) -> IngestWriter:
    writer = IngestWriter(database.urls.app, workers=2)
    await writer.start()
    return writer


async def test_concurrent_requests_for_one_fingerprint_make_one_alert(
    database: Database, factory: Factory
) -> None:
    org = await factory.org("lean")
    writer = await _writer(database)
    try:
        outcomes = await asyncio.gather(
            *(writer.submit(Submission(org.org_id, None, (firing("same"),))) for _ in range(60))
        )
    finally:
        await writer.stop()
    assert len({o.alert_ids for o in outcomes}) == 1
    async with database.tenant_session(org.org_id) as session:
        counts = (await session.execute(text("SELECT count(*), max(count) FROM alerts"))).one()
        incidents = (await session.execute(text("SELECT count(*) FROM incidents"))).scalar()
    assert tuple(counts) == (1, 60)
    assert incidents == 1


async def test_concurrent_new_incidents_get_distinct_consecutive_numbers(
    database: Database, factory: Factory
) -> None:
    org = await factory.org("lean")
    writer = await _writer(database)
    try:
        await asyncio.gather(
            *(writer.submit(Submission(org.org_id, None, (firing(f"fp-{i}"),))) for i in range(80))
        )
    finally:
        await writer.stop()
    async with database.tenant_session(org.org_id) as session:
        numbers = (
            await session.execute(text("SELECT number FROM incidents ORDER BY number"))
        ).scalars()
        assert list(numbers) == list(range(1, 81))


async def test_a_failed_submission_does_not_stall_the_writers(
    database: Database, factory: Factory
) -> None:
    org = await factory.org("lean")
    writer = await _writer(database)
    try:
        gone = writer.submit(Submission(uuid.uuid4(), None, (firing("nobody"),)))
        kept = [
            writer.submit(Submission(org.org_id, None, (firing(f"ok-{i}"),))) for i in range(10)
        ]
        results = await asyncio.wait_for(
            asyncio.gather(gone, *kept, return_exceptions=True), timeout=30
        )
        after = await asyncio.wait_for(
            writer.submit(Submission(org.org_id, None, (firing("after"),))), timeout=30
        )
    finally:
        await writer.stop()
    assert isinstance(results[0], StoreError)
    assert all(not isinstance(r, BaseException) for r in results[1:])
    assert len(after.alert_ids) == 1


@pytest.mark.parametrize("workers", [1, 2])
async def test_every_worker_count_stores_every_submission(
    database: Database, factory: Factory, workers: int
) -> None:
    org = await factory.org("lean")
    writer = IngestWriter(database.urls.app, workers=workers)
    await writer.start()
    try:
        await asyncio.gather(
            *(
                writer.submit(Submission(org.org_id, None, (firing(f"w{workers}-{i}"),)))
                for i in range(40)
            )
        )
    finally:
        await writer.stop()
    async with database.tenant_session(org.org_id) as session:
        stored = (await session.execute(text("SELECT count(*) FROM alerts"))).scalar()
    assert stored == 40
