"""Incident jobs: the AI handoff (``diagnose_incident``), storm release and the queue sweep."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Iterable

from procrastinate import App
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import JobDeferrer
from sqlalchemy import text

from vixpro.ai import reactive
from vixpro.ai.pacing import Pacer
from vixpro.core.incidents import AiState
from vixpro.db.models import IncidentEvent, Manifest
from vixpro.db.sessions import Database
from vixpro.db.urls import libpq_url
from vixpro.incidents import handoff, platform_alerts
from vixpro.incidents.service import notify_changed
from vixpro.tools.executions import Runner

log = logging.getLogger("vixpro.jobs.incidents")

DIAGNOSE = "vixpro.diagnose_incident"
# A worker fetches its jobs one at a time, highest priority first: diagnoses, which have a
# time target from the alert, go before notification dispatch and sweeps waiting with them.
DIAGNOSE_PRIORITY = 10


async def defer_diagnoses(app: App, org_id: uuid.UUID, incident_ids: Iterable[uuid.UUID]) -> int:
    """Defer a ``diagnose_incident`` job per incident; one waiting job per incident at most.

    Callers defer only what fits in the organisation's free slots (``handoff.startable``); a
    finishing diagnosis defers the next. A job that finds its incident already running or done
    does nothing, so a duplicate is harmless. The jobs go in one statement (an alert storm's
    fifty incidents in one round trip); should one of them be waiting already, that statement
    is refused as a whole and they are deferred one by one.
    """
    jobs = [
        _diagnose_job(app, incident_id).make_new_job(
            org_id=str(org_id), incident_id=str(incident_id)
        )
        for incident_id in incident_ids
    ]
    if not jobs:
        return 0
    if len(jobs) > 1:
        with contextlib.suppress(AlreadyEnqueued):
            await app.job_manager.batch_defer_jobs_async(jobs)
            return len(jobs)
    deferred = 0
    for job in jobs:
        try:
            await app.job_manager.defer_job_async(job)
            deferred += 1
        except AlreadyEnqueued:
            pass
    return deferred


def _diagnose_job(app: App, incident_id: uuid.UUID) -> JobDeferrer:
    return app.configure_task(
        DIAGNOSE,
        queueing_lock=f"diagnose:{incident_id}",
        queue="reactive",
        priority=DIAGNOSE_PRIORITY,
    )


async def start_diagnoses(app: App, db: Database, org_id: uuid.UUID) -> int:
    """Defer jobs for the queued incidents that fit in ``org_id``'s free slots now."""
    async with db.tenant_session(org_id) as session:
        ready = await handoff.startable(session, org_id)
    return await defer_diagnoses(app, org_id, ready)


async def retry_stalled_diagnoses(app: App, db: Database, stalled_after_s: float) -> int:
    """Hand diagnoses whose worker stopped heartbeating (killed mid-run) back to the queue: the
    incident becomes queued again, with a word on its timeline, and its job is retried."""
    stalled = await app.job_manager.get_stalled_jobs(
        task_name=DIAGNOSE, seconds_since_heartbeat=stalled_after_s
    )
    retried = 0
    for job in stalled:
        try:
            org = uuid.UUID(str(job.task_kwargs["org_id"]))
            incident_id = uuid.UUID(str(job.task_kwargs["incident_id"]))
        except (KeyError, ValueError):
            continue
        async with db.tenant_session(org) as session:
            await session.execute(_REQUEUE, {"id": incident_id})
            session.add(
                IncidentEvent(
                    org_id=org,
                    incident_id=incident_id,
                    kind="diagnosis_interrupted",
                    actor="AI agent",
                    detail="The worker running this diagnosis stopped; it starts again.",
                    data={"job_id": job.id},
                )
            )
            await notify_changed(session, org)
        await app.job_manager.retry_job(job)
        retried += 1
    return retried


_REQUEUE = text("UPDATE incidents SET ai_state = 'queued' WHERE id = :id AND ai_state = 'running'")


class Claims:
    """The slot claims of one process's diagnose jobs, taken together per organisation.

    An organisation's claims take its advisory lock one after the other anyway; those that
    arrive while one transaction is in flight share the next (``handoff.claim_many``: one
    lock, one look at the free slots, one update, one commit for all, with the answers of
    claiming them in their order), rather than a transaction each with the others waiting in
    PostgreSQL, holding a pooled connection each. A job learns its answer once the
    transaction has committed. If a shared transaction fails, each claim is tried alone, so
    that only a faulty one sees the error.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._waiting: dict[uuid.UUID, list[tuple[uuid.UUID, asyncio.Future[bool]]]] = {}
        self._flushers: dict[uuid.UUID, asyncio.Task[None]] = {}

    async def claim(self, org_id: uuid.UUID, incident_id: uuid.UUID) -> bool:
        """Whether ``incident_id`` now has one of ``org_id``'s slots (it is ``running``)."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(org_id, []).append((incident_id, future))
        if org_id not in self._flushers:
            self._flushers[org_id] = asyncio.create_task(self._flush(org_id))
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            # The job was stopped while waiting: a slot it got must not stay taken.
            future.add_done_callback(lambda done: self._release(org_id, incident_id, done))
            raise

    def _release(
        self, org_id: uuid.UUID, incident_id: uuid.UUID, done: asyncio.Future[bool]
    ) -> None:
        if not done.cancelled() and done.exception() is None and done.result():

            async def release() -> None:
                async with self.db.tenant_session(org_id) as session:
                    await handoff.finish(session, org_id, incident_id, AiState.FAILED)

            task = asyncio.create_task(release())
            _background.add(task)
            task.add_done_callback(_background.discard)

    async def _flush(self, org_id: uuid.UUID) -> None:
        batch: list[tuple[uuid.UUID, asyncio.Future[bool]]] = []
        try:
            while batch := self._waiting.pop(org_id, []):
                try:
                    results = await handoff.claim_many(self.db, org_id, [i for i, _ in batch])
                except Exception as exc:
                    if len(batch) == 1:
                        if not batch[0][1].done():
                            batch[0][1].set_exception(exc)
                    else:
                        for one in batch:  # each alone: only a faulty claim fails
                            await self._alone(org_id, *one)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            for _, future in batch:  # stopped mid-way (the worker shutting down)
                if not future.done():
                    future.cancel()
            del self._flushers[org_id]
            if org_id in self._waiting:  # arrived as this one ended
                self._flushers[org_id] = asyncio.create_task(self._flush(org_id))

    async def _alone(
        self, org_id: uuid.UUID, incident_id: uuid.UUID, future: asyncio.Future[bool]
    ) -> None:
        try:
            [result] = await handoff.claim_many(self.db, org_id, [incident_id])
        except Exception as exc:
            if not future.done():
                future.set_exception(exc)
            return
        if not future.done():
            future.set_result(result)


_background: set[asyncio.Task[None]] = set()

ToolAccess = Callable[[], tuple[Runner | None, Manifest | None]]
MasterKey = Callable[[], bytes]


def register(
    app: App,
    db: Database,
    *,
    sweep_cron: str = "* * * * * */15",
    tools: ToolAccess | None = None,
    master_key: MasterKey | None = None,
    stalled_after_s: float = 60.0,
) -> None:
    """``tools`` gives the process's tool runner and current manifest (the app state's);
    ``master_key`` unseals the organisations' AI provider keys (without it, or with no
    provider chosen for ``reactive``, the offline runbook engine diagnoses)."""
    pacer = Pacer()  # this process's diagnoses: the starting ones go first
    claims = Claims(db)

    @app.task(name=DIAGNOSE, queue="reactive")
    async def diagnose_incident(org_id: str, incident_id: str) -> str:
        """Diagnose one incident, within the organisation's reactive-agent slots."""
        org, incident_uuid = uuid.UUID(org_id), uuid.UUID(incident_id)
        pace = pacer.begin()
        claimed = False
        try:
            claimed = await claims.claim(org, incident_uuid)
        finally:
            if not claimed:
                pace.started()
        if not claimed:
            return "waiting for a slot"
        runner, manifest = tools() if tools is not None else (None, None)
        state = AiState.FAILED
        try:
            report = await reactive.diagnose_incident(
                db,
                runner,
                manifest,
                org,
                incident_uuid,
                master_key=master_key() if master_key is not None else None,
                pace=pace,
            )
            state = AiState.DONE
            outcome = report.outcome
        except Exception as exc:
            await reactive.record_failure(db, org, incident_uuid, exc)
            raise
        finally:
            pace.started()
            async with db.tenant_session(org) as session:
                following = await handoff.finish(session, org, incident_uuid, state)
                await notify_changed(session, org)
            await defer_diagnoses(app, org, following)
        return outcome

    @app.periodic(cron=sweep_cron, periodic_id="incident_sweep")
    @app.task(name="vixpro.incident_sweep", queue="maintenance", queueing_lock="incident_sweep")
    async def incident_sweep(timestamp: int) -> dict[str, int]:
        """Raise host-agent events as incidents, end quiet storms (queueing their one
        diagnosis), requeue diagnoses whose worker died, start queued incidents that fit in
        free slots (a crash between commit and defer loses nothing), drop old rate rows."""
        async with db.system_session("incident sweep: host-agent events") as session:
            raised = await platform_alerts.raise_pending(session, libpq_url(db.urls.app))
        async with db.system_session("incident sweep: storms and AI queue") as session:
            ended = await handoff.end_quiet_storms(session)
            orgs = await handoff.orgs_with_queue(session)
            await session.execute(
                text("DELETE FROM alert_rates WHERE minute < now() - interval '2 hours'")
            )
        retried = await retry_stalled_diagnoses(app, db, stalled_after_s)
        started = 0
        for org in orgs:
            started += await start_diagnoses(app, db, org)
        return {
            "host_agent_alerts": raised,
            "storms_ended": len(ended),
            "diagnoses_retried": retried,
            "diagnoses_deferred": started,
        }
