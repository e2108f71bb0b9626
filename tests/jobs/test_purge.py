"""The periodic purge job, run by a real procrastinate worker on the real database."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
from sqlalchemy import select

from tests.conftest import Factory
from vixpro.accounts.secrets import token_hash
from vixpro.db.models import Invitation, LoginSession
from vixpro.db.sessions import Database
from vixpro.db.urls import libpq_url
from vixpro.jobs.app import create_job_app


async def _make_rows(db: Database, factory: Factory) -> dict[str, uuid.UUID]:
    org = await factory.org()
    now = datetime.now(UTC)
    ids: dict[str, uuid.UUID] = {}
    async with db.system_session("test setup") as session:
        for label, delta in (("old_session", -1), ("live_session", 1)):
            row = LoginSession(
                token_hash=token_hash(uuid.uuid4().hex),
                user_id=org.owner_id,
                csrf_token="x",
                expires_at=now + timedelta(hours=delta),
            )
            session.add(row)
            await session.flush()
            ids[label] = row.id
        for label, delta in (("old_invite", -1), ("live_invite", 1)):
            inv = Invitation(
                org_id=org.org_id,
                email=f"{label}@example.com",
                role="member",
                token_hash=token_hash(uuid.uuid4().hex),
                expires_at=now + timedelta(hours=delta),
            )
            session.add(inv)
            await session.flush()
            ids[label] = inv.id
    return ids


async def _exists(db: Database, model: type, ident: uuid.UUID) -> bool:
    async with db.system_session("test check") as session:
        return (await session.scalar(select(model.id).where(model.id == ident))) is not None  # type: ignore[attr-defined]


async def test_purge_job_deletes_only_expired_rows(database: Database, factory: Factory) -> None:
    ids = await _make_rows(database, factory)
    app = create_job_app(database, purge_cron="0 0 1 1 *")
    async with app.open_async():
        await app.configure_task("vixpro.purge_expired").defer_async(timestamp=0)
        await app.run_worker_async(
            wait=False, install_signal_handlers=False, queues=["maintenance"]
        )
    assert not await _exists(database, LoginSession, ids["old_session"])
    assert await _exists(database, LoginSession, ids["live_session"])
    assert not await _exists(database, Invitation, ids["old_invite"])
    assert await _exists(database, Invitation, ids["live_invite"])


async def test_worker_runs_the_purge_on_its_schedule(database: Database, db_urls) -> None:
    app = create_job_app(database, purge_cron="* * * * * *")  # every second
    async with app.open_async():
        worker = asyncio.create_task(
            app.run_worker_async(install_signal_handlers=False, fetch_job_polling_interval=0.2)
        )
        succeeded = 0
        for _ in range(50):
            await asyncio.sleep(0.2)
            with psycopg.connect(libpq_url(db_urls.owner)) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM procrastinate_jobs "
                    "WHERE task_name = 'vixpro.purge_expired' AND status = 'succeeded'"
                ).fetchone()
            succeeded = row[0] if row else 0
            if succeeded:
                break
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
    assert succeeded >= 1
    with psycopg.connect(libpq_url(db_urls.owner)) as conn:
        deferred = conn.execute(
            "SELECT count(*) FROM procrastinate_periodic_defers WHERE periodic_id = 'purge_expired'"
        ).fetchone()
    assert deferred and deferred[0] >= 1
