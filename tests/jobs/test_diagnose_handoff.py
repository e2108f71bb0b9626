"""AI handoff: a diagnose job per AI-eligible incident, at most the plan's slots at once."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy import text

from tests.conftest import Factory
from vixpro.core.alerts import NormalizedAlert, Severity, Status
from vixpro.core.incidents import AiState
from vixpro.incidents import handoff, service
from vixpro.incidents.ingest import Submission
from vixpro.jobs.app import create_job_app
from vixpro.jobs.incidents import DIAGNOSE_PRIORITY, Claims, defer_diagnoses
from vixpro.web.state import AppState


def _alert(name: str) -> NormalizedAlert:
    return NormalizedAlert(
        source="test",
        fingerprint=f"fp-{name}-{uuid.uuid4().hex[:6]}",
        status=Status.FIRING,
        severity=Severity.WARNING,
        title=name,
    )


async def _incidents(state: AppState, org_id: uuid.UUID, n: int) -> list[uuid.UUID]:
    ids: list[uuid.UUID] = []
    for i in range(n):
        outcome = await state.ingest.submit(Submission(org_id, None, (_alert(f"a{i}"),)))
        ids.extend(outcome.incident_ids)
    return ids


async def test_slots_limit_running_diagnoses_and_the_oldest_goes_first(
    state: AppState, factory: Factory
) -> None:
    org = await factory.org("starter")  # three concurrent reactive agents
    ids = await _incidents(state, org.org_id, 5)
    claimed = [(await handoff.claim_many(state.db, org.org_id, [i]))[0] for i in ids]
    assert claimed == [True, True, True, False, False]
    async with state.db.tenant_session(org.org_id) as session:
        following = await handoff.finish(session, org.org_id, ids[0], AiState.DONE)
    assert following == [ids[3]]
    assert await handoff.claim_many(state.db, org.org_id, [ids[4]]) == [False]  # not next
    assert await handoff.claim_many(state.db, org.org_id, [ids[3]]) == [True]


async def test_the_job_diagnoses_every_new_incident_one_slot_at_a_time(
    state: AppState, factory: Factory, database
) -> None:
    org = await factory.org("preview")  # one concurrent reactive agent
    app = create_job_app(
        database, purge_cron="0 0 1 1 *", tools=lambda: (state.runner, state.manifest)
    )
    async with app.open_async():
        state.jobs = app
        try:
            ids = await _incidents(state, org.org_id, 3)
            # Jobs are deferred just after the 202 (the sweep is the backstop), only as many
            # as the plan's one slot allows; each finishing diagnosis defers the next.
            deferred = 0
            for _ in range(100):
                async with state.db.system_session("test") as session:
                    deferred = await session.scalar(
                        text(
                            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = "
                            "'vixpro.diagnose_incident' AND args->>'org_id' = :org"
                        ),
                        {"org": str(org.org_id)},
                    )
                if deferred:
                    break
                await asyncio.sleep(0.05)
        finally:
            state.jobs = None
        assert deferred == 1
        await app.run_worker_async(wait=False, install_signal_handlers=False, queues=["reactive"])
    async with state.db.tenant_session(org.org_id) as session:
        for incident_id in ids:
            incident = await service.get_incident(session, incident_id)
            assert incident.ai_state == AiState.DONE.value
            assert incident.diagnosis_started_at and incident.diagnosis_completed_at
            assert incident.diagnosis_started_at <= incident.diagnosis_completed_at
            events = await service.timeline(session, incident_id)
            kinds = [e.kind for e in events]
            assert kinds[-2:] == ["diagnosis_started", "escalated"]
            # These alerts name no enrolled server: nothing to run tools on, and it says so.
            assert "no server matched" in events[-1].detail
            diagnosis = await service.latest_diagnosis(session, incident_id)
            assert diagnosis is not None and diagnosis.outcome == "escalated"


async def test_the_sweep_starts_queued_incidents_nobody_deferred(
    state: AppState, factory: Factory, database
) -> None:
    org = await factory.org("lean")
    ids = await _incidents(state, org.org_id, 2)  # state.jobs is None: nothing was deferred
    app = create_job_app(database, purge_cron="0 0 1 1 *")
    async with app.open_async():
        with contextlib.suppress(AlreadyEnqueued):  # the periodic deferrer may have queued it
            await app.configure_task("vixpro.incident_sweep").defer_async(timestamp=0)
        await app.run_worker_async(
            wait=False, install_signal_handlers=False, queues=["maintenance"]
        )
        await app.run_worker_async(wait=False, install_signal_handlers=False, queues=["reactive"])
    async with state.db.tenant_session(org.org_id) as session:
        states = [(await service.get_incident(session, i)).ai_state for i in ids]
    assert states == ["done", "done"]


async def _waiting_jobs(state: AppState, columns: str) -> list[Any]:
    """``columns`` of the jobs waiting in the reactive queue, in the order procrastinate
    fetches them (priority first, then age)."""
    async with state.db.system_session("test") as session:
        result = await session.execute(
            text(
                f"SELECT {columns} FROM procrastinate_jobs "
                "WHERE status = 'todo' AND queue_name = 'reactive' ORDER BY priority DESC, id"
            )
        )
        return list(result.all())


async def _forget_jobs(state: AppState, incident_ids: list[uuid.UUID]) -> None:
    """Remove the test's jobs, so that no later test's worker runs them."""
    async with state.db.system_session("test") as session:
        await session.execute(
            text(
                "DELETE FROM procrastinate_jobs WHERE task_name = 'tests.other_work' "
                "OR args->>'incident_id' = ANY(:ids)"
            ),
            {"ids": [str(i) for i in incident_ids]},
        )


async def test_a_waiting_diagnosis_is_fetched_before_jobs_queued_earlier(
    state: AppState, factory: Factory, database
) -> None:
    org = await factory.org("lean")
    [incident_id] = await _incidents(state, org.org_id, 1)  # state.jobs is None: not deferred
    app = create_job_app(database, purge_cron="0 0 1 1 *")
    async with app.open_async():
        # Another job waiting first, in the same queue so that only priority separates them.
        await app.configure_task("tests.other_work", queue="reactive").defer_async()
        assert await defer_diagnoses(app, org.org_id, [incident_id]) == 1
        rows = await _waiting_jobs(state, "task_name, priority")
        await _forget_jobs(state, [incident_id])
    # The order procrastinate fetches in (priority first, then age).
    order = [name for name, _priority in rows]
    assert order[0] == "vixpro.diagnose_incident" and order.index("tests.other_work") > 0
    assert rows[0][1] == DIAGNOSE_PRIORITY > rows[order.index("tests.other_work")][1]


async def test_claims_arriving_together_keep_the_slots_and_their_order(
    state: AppState, factory: Factory
) -> None:
    org = await factory.org("starter")  # three concurrent reactive agents
    ids = await _incidents(state, org.org_id, 5)
    claims = Claims(state.db)
    # All five ask at once; those arriving while the first transaction is in flight share the
    # next one, and the answers are what claiming one after the other gives.
    results = await asyncio.gather(*(claims.claim(org.org_id, i) for i in ids))
    assert results == [True, True, True, False, False]
    async with state.db.tenant_session(org.org_id) as session:
        states = [(await service.get_incident(session, i)).ai_state for i in ids]
    assert states == ["running"] * 3 + ["queued"] * 2
    assert not await claims.claim(org.org_id, ids[4])  # still no free slot, nor next in line


async def test_claiming_several_at_once_answers_as_claiming_them_in_turn(
    state: AppState, factory: Factory
) -> None:
    org = await factory.org("starter")  # three concurrent reactive agents
    ids = await _incidents(state, org.org_id, 5)
    # Out of age order, and one asked twice: as in turn, only the three oldest get a slot,
    # and a second ask for one already claimed is refused.
    asked = [ids[4], ids[1], ids[0], ids[1], ids[2], ids[3]]
    answers = await handoff.claim_many(state.db, org.org_id, asked)
    assert answers == [False, True, True, False, True, False]
    async with state.db.tenant_session(org.org_id) as session:
        states = [(await service.get_incident(session, i)).ai_state for i in ids]
    assert states == ["running"] * 3 + ["queued"] * 2


async def test_a_job_stopped_while_its_claim_commits_gives_the_slot_back(
    state: AppState, factory: Factory
) -> None:
    org = await factory.org("preview")  # one concurrent reactive agent
    first, second = await _incidents(state, org.org_id, 2)
    claims = Claims(state.db)
    waiting = asyncio.create_task(claims.claim(org.org_id, first))
    await asyncio.sleep(0)  # it has asked; its claim's transaction is under way
    waiting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiting
    ai_state = "queued"
    for _ in range(200):  # the claim commits, then the slot it got is handed back
        async with state.db.tenant_session(org.org_id) as session:
            ai_state = (await service.get_incident(session, first)).ai_state
        if ai_state == "failed":
            break
        await asyncio.sleep(0.05)
    assert ai_state == "failed"
    assert await claims.claim(org.org_id, second)  # the one slot is free again


async def test_diagnoses_deferred_together_skip_one_already_waiting(
    state: AppState, factory: Factory, database
) -> None:
    org = await factory.org("lean")
    ids = await _incidents(state, org.org_id, 4)  # state.jobs is None: not deferred
    app = create_job_app(database, purge_cron="0 0 1 1 *")
    async with app.open_async():
        assert await defer_diagnoses(app, org.org_id, ids[:2]) == 2  # one statement
        assert await defer_diagnoses(app, org.org_id, ids) == 2  # two were waiting already
        assert await defer_diagnoses(app, org.org_id, []) == 0
        waiting = await _waiting_jobs(state, "args->>'incident_id', queueing_lock, priority")
        await _forget_jobs(state, ids)
    mine = {str(i) for i in ids}
    waiting = [r for r in waiting if r[0] in mine]  # this test's diagnoses, repeats included
    assert sorted(r[0] for r in waiting) == sorted(str(i) for i in ids)
    assert {r[1] for r in waiting} == {f"diagnose:{i}" for i in ids}
    assert {r[2] for r in waiting} == {DIAGNOSE_PRIORITY}
