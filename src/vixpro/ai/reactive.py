"""Reactive diagnosis: an incident's alerts → the AI agent on its server → a report.

The organisation's ``reactive`` provider chain is tried in order (an LLM through the agent
loop); a provider that fails (5xx, 429, timeout, refused connection, bad key) hands over to
the next, and when none is left — or none is configured — the offline runbook engine does the
work, so every AI-eligible incident gets a diagnosis. Each switch is written on the timeline
with its reason. Before the model's first turn, the first tool of the incident's runbook runs
(:func:`initial_evidence`), and its result is in the model's first prompt. Each step is stamped on the incident (``diagnosis_started_at``,
``first_tool_at``, ``diagnosis_completed_at``) and each tool call goes on its timeline as it
happens. Where the plan and the organisation allow it, recommended fixes then run
(:mod:`vixpro.ai.remediation`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from psycopg.rows import namedtuple_row
from pydantic_ai.models import Model
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.accounts.principal import SYSTEM, Actor
from vixpro.ai import agent, areas, prompts, remediation, usage
from vixpro.ai import settings as settings_service
from vixpro.ai.agent import DIAGNOSIS_TIME_LIMIT_S, AgentOutcome
from vixpro.ai.failover import run_with_failover
from vixpro.ai.pacing import UNPACED, Pace, PacedModel
from vixpro.ai.providers.base import ProviderSpec
from vixpro.ai.providers.registry import build_model
from vixpro.ai.report import DiagnosisReport
from vixpro.ai.runbooks import IncidentContext, diagnose
from vixpro.ai.runbooks.base import ToolOutcome, ToolPort
from vixpro.ai.runbooks.categories import categorise
from vixpro.ai.runbooks.engine import first_call
from vixpro.ai.runbooks.platform_port import PlatformToolPort
from vixpro.ai.settings import AiSettingsView
from vixpro.ai.tooling import EventSink, Ran, ToolBridge, ToolEvent
from vixpro.core import jsontext
from vixpro.core.approvals import Area
from vixpro.db.models import Diagnosis, Incident, IncidentEvent, Manifest
from vixpro.db.sessions import Database
from vixpro.incidents.service import notify_changed
from vixpro.incidents.storage import NOTIFY_CHANNEL, NOTIFY_SQL
from vixpro.tools.catalogue import ToolView, tool_views
from vixpro.tools.executions import Requester, Runner

ACTOR = "runbook engine"
log = logging.getLogger(__name__)


# What a diagnosis reads of its incident: the title, the server and its name (columns only:
# loading the ORM objects cost more than the rest of a diagnosis's start).
_INCIDENT = (
    "SELECT i.title, i.server_id, s.name FROM incidents i "
    "LEFT JOIN servers s ON s.id = i.server_id WHERE i.id = %(id)s"
)
_ALERTS = (
    "SELECT title, description, severity, labels, annotations FROM alerts "
    "WHERE incident_id = %(id)s ORDER BY first_seen_at, id LIMIT 50"
)
_STARTED = "UPDATE incidents SET diagnosis_started_at = %(at)s WHERE id = %(id)s"
_STARTED_EVENT = (
    "INSERT INTO incident_events (org_id, incident_id, kind, actor, detail, data) "
    "VALUES (%(org)s, %(id)s, 'diagnosis_started', %(actor)s, %(detail)s, %(data)s::jsonb)"
)


def context_of(title: str, alerts: Sequence[Any]) -> IncidentContext:
    """What the runbooks read: the incident's title and its alerts' words (first alert first);
    ``alerts`` are rows of ``_ALERTS`` (with attributes)."""
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    for alert in alerts:
        for key, value in (alert.labels or {}).items():
            labels.setdefault(str(key), str(value))
        for key, value in (alert.annotations or {}).items():
            annotations.setdefault(str(key), str(value))
    first = alerts[0] if alerts else None
    return IncidentContext(
        title=first.title if first else title,
        description=first.description if first else "",
        severity=first.severity if first else "warning",
        labels=labels,
        annotations=annotations,
    )


class TimelinePort:
    """A tool port that writes each call on the incident's timeline as it finishes."""

    def __init__(
        self, inner: ToolPort, db: Database, org_id: uuid.UUID, incident_id: uuid.UUID
    ) -> None:
        self.inner = inner
        self.db = db
        self.org_id = org_id
        self.incident_id = incident_id
        self.first_tool_at: datetime | None = None

    @property
    def available(self) -> frozenset[str]:
        return self.inner.available

    async def run(self, tool: str, params: dict[str, Any]) -> ToolOutcome:
        started = datetime.now(UTC)
        outcome = await self.inner.run(tool, params)
        first = self.first_tool_at is None
        if first:
            self.first_tool_at = started
        detail = f"Ran {tool}" + ("" if outcome.ok else f": {outcome.error}")
        async with self.db.tenant_session(self.org_id) as session:
            session.add(
                IncidentEvent(
                    org_id=self.org_id,
                    incident_id=self.incident_id,
                    kind="tool",
                    actor=ACTOR,
                    detail=detail[:2000],
                    data={
                        "tool": tool,
                        "params": params,
                        "ok": outcome.ok,
                        "execution_id": str(outcome.execution_id) if outcome.execution_id else None,
                    },
                )
            )
            if first:
                await session.execute(
                    update(Incident)
                    .where(Incident.id == self.incident_id, Incident.first_tool_at.is_(None))
                    .values(first_tool_at=started)
                )
            await notify_changed(session, self.org_id)
        return outcome


def _no_server_report(engine: str) -> DiagnosisReport:
    return DiagnosisReport(
        summary="No enrolled server matched this incident's alerts, so no tool could run.",
        confidence=0.0,
        escalate=True,
        escalation_reason=(
            "no server matched: enrol the affected server's host agent, or make the alert "
            "name its host (hostname, instance label or address)"
        ),
        outcome="escalated",
        engine=engine,
    )


def _no_runner_report(engine: str) -> DiagnosisReport:
    return DiagnosisReport(
        summary="This process cannot run tools, so the runbook could not look at the server.",
        confidence=0.0,
        escalate=True,
        escalation_reason="the worker has no tool runner",
        outcome="escalated",
        engine=engine,
    )


def _summary(report: DiagnosisReport) -> str:
    if report.escalate:
        return f"Escalated to you: {report.escalation_reason}"
    cause = f" Root cause: {report.root_cause}" if report.root_cause else ""
    return f"Diagnosis ({report.confidence:.0%} confidence): {report.summary}{cause}"[:4000]


class TimelineSink:
    """Writes the AI agent's tool calls on the incident's timeline as they happen, and stamps
    ``first_tool_at`` with the time the first one started (written with that call's entry,
    saving a transaction on the way to the first tool)."""

    def __init__(self, db: Database, org_id: uuid.UUID, incident_id: uuid.UUID) -> None:
        self.db = db
        self.org_id = org_id
        self.incident_id = incident_id
        self.actor = "AI agent"
        self.first_tool_at: datetime | None = None
        self._stamped = False

    async def __call__(self, event: ToolEvent) -> None:
        if event.kind == "tool_started":
            if self.first_tool_at is None:
                self.first_tool_at = event.at
            return
        entry = _timeline_entry(event)
        if entry is None:
            return
        kind, detail = entry
        async with self.db.tenant_session(self.org_id) as session:
            if self.first_tool_at is not None and not self._stamped:
                self._stamped = True
                await session.execute(
                    update(Incident)
                    .where(Incident.id == self.incident_id, Incident.first_tool_at.is_(None))
                    .values(first_tool_at=self.first_tool_at)
                )
            session.add(
                IncidentEvent(
                    org_id=self.org_id,
                    incident_id=self.incident_id,
                    kind=kind,
                    actor=self.actor,
                    detail=detail[:2000],
                    data={
                        "tool": event.tool,
                        "params": event.params,
                        "ok": event.status == "succeeded",
                        "status": event.status,
                        "execution_id": str(event.execution_id) if event.execution_id else None,
                        "approval_id": str(event.approval_id) if event.approval_id else None,
                    },
                )
            )
            await notify_changed(session, self.org_id)


def _timeline_entry(event: ToolEvent) -> tuple[str, str] | None:
    if event.kind == "tool_finished":
        ok = event.status == "succeeded"
        return "tool", f"Ran {event.tool}" + ("" if ok else f" ({event.status}): {event.detail}")
    if event.kind == "approval_requested":
        return "approval_requested", f"Waiting for approval to run {event.tool}"
    if event.kind == "tool_refused":
        return "tool", f"Refused {event.tool}: {event.detail}"
    return None


async def _event(
    db: Database,
    org_id: uuid.UUID,
    incident_id: uuid.UUID,
    kind: str,
    actor: str,
    detail: str,
    data: dict[str, Any],
) -> None:
    async with db.tenant_session(org_id) as session:
        session.add(
            IncidentEvent(
                org_id=org_id,
                incident_id=incident_id,
                kind=kind,
                actor=actor,
                detail=detail[:2000],
                data=data,
            )
        )
        await notify_changed(session, org_id)


@dataclass(frozen=True)
class OrgSetup:
    """What a diagnosis reads of its organisation: the AI settings, the reactive provider
    chain (keys unsealed) and the tool permissions (read only when a chain will use them)."""

    settings: AiSettingsView
    chain: list[ProviderSpec]
    views: list[ToolView]


async def _read_org_setup(
    session: AsyncSession,
    org_id: uuid.UUID,
    manifest: Manifest | None,
    master_key: bytes | None,
    chain: Sequence[ProviderSpec] | None = None,
) -> OrgSetup:
    ai_settings = await settings_service.for_org(session, org_id)
    if chain is None:
        chain = (
            await areas.chain_for(session, master_key, org_id, "reactive")
            if master_key is not None
            else []
        )
    views = await tool_views(session, manifest) if manifest is not None and chain else []
    return OrgSetup(ai_settings, list(chain), views)


_org_reads: dict[tuple[Any, ...], asyncio.Future[OrgSetup]] = {}


async def _org_setup(
    db: Database, org_id: uuid.UUID, manifest: Manifest | None, master_key: bytes | None
) -> OrgSetup:
    """The organisation's setup, read in a session of its own, or shared with a diagnosis of the same
    organisation that is reading it right now: when a burst of incidents starts together,
    one reads it for all that start meanwhile (so a diagnosis may get a setup whose read
    began a moment before it started)."""
    loop = asyncio.get_running_loop()
    key = (loop, org_id, manifest.version if manifest is not None else None, master_key)
    pending = _org_reads.get(key)
    if pending is not None:
        try:
            return await asyncio.shield(pending)
        except asyncio.CancelledError:
            if not pending.cancelled():
                raise  # this diagnosis is being stopped
        except Exception:
            log.warning("a shared read of organisation %s's AI setup failed", org_id)
        # The other's read failed or was stopped: read it here.
        async with db.tenant_session(org_id) as session:
            return await _read_org_setup(session, org_id, manifest, master_key)
    future: asyncio.Future[OrgSetup] = loop.create_future()
    _org_reads[key] = future
    try:
        async with db.tenant_session(org_id) as session:
            setup = await _read_org_setup(session, org_id, manifest, master_key)
    except Exception as exc:
        future.set_exception(exc)
        future.exception()  # retrieved: nobody may be waiting
        raise
    except BaseException:
        future.cancel()
        raise
    finally:
        del _org_reads[key]
    future.set_result(setup)
    return setup


@dataclass(frozen=True)
class Investigation:
    """Everything one diagnosis works with."""

    db: Database
    runner: Runner
    manifest: Manifest
    org_id: uuid.UUID
    incident_id: uuid.UUID
    server_id: uuid.UUID
    server_name: str
    context: IncidentContext
    settings: AiSettingsView
    views: list[ToolView]  # the organisation's tool permissions, read when the run started


async def initial_evidence(
    work: Investigation, sink: EventSink, pace: Pace
) -> tuple[Ran, str] | None:
    """Run the first tool of the incident's runbook before the model's first turn, as an SRE
    looks before asking: the execution and what the model is told of it. Only a read tool the
    organisation has enabled without approval; otherwise None, and the model starts without.
    The diagnosis's start ends when the tool is sent."""
    reads = frozenset(v.name for v in work.views if v.risk == "read")
    call = await first_call(work.context, reads)
    if call is None:
        return None
    tool, params = call
    view = next((v for v in work.views if v.name == tool), None)
    if view is None or not view.enabled or view.approval_required or view.risk != "read":
        return None

    async def on_event(event: ToolEvent) -> None:
        if event.kind == "tool_started":
            pace.started()
        else:  # the start is over: its timeline entry waits for the others' starts
            await pace.turn()
        await sink(event)

    bridge = ToolBridge(
        work.runner,
        work.manifest,
        work.org_id,
        work.server_id,
        [view],
        Requester(
            actor=Actor(SYSTEM.type, None, "AI agent"),
            area=Area.REACTIVE,
            incident_id=work.incident_id,
        ),
        budget=1,
        on_event=on_event,
    )
    ran, told = await bridge.execute(tool, params)
    return (ran, told) if ran is not None else None


async def _with_llm(
    work: Investigation,
    chain: Sequence[ProviderSpec],
    *,
    approval_wait_s: float | None,
    deadline: float,
    pace: Pace,
) -> tuple[tuple[AgentOutcome, ProviderSpec] | None, Ran | None]:
    """The agent loop down the provider chain (None when every provider failed), and the
    initial evidence it started with."""
    sink = TimelineSink(work.db, work.org_id, work.incident_id)
    loop = asyncio.get_running_loop()
    first = await initial_evidence(work, sink, pace)
    evidence = [first[0]] if first else []
    told = [first[1]] if first else []

    async def attempt(model: Model, spec: ProviderSpec) -> AgentOutcome:
        await pace.turn()
        sink.actor = f"AI agent ({spec.name})"
        bridge = ToolBridge(
            work.runner,
            work.manifest,
            work.org_id,
            work.server_id,
            work.views,
            Requester(
                actor=Actor(SYSTEM.type, None, sink.actor),
                area=Area.REACTIVE,
                incident_id=work.incident_id,
            ),
            budget=work.settings.tool_call_budget,
            approval_wait_s=approval_wait_s,
            on_event=sink,
            evidence=evidence,
        )
        prompt = prompts.incident_prompt(work.context, work.server_name, bridge.names, told)
        return await agent.diagnose(
            PacedModel(model, pace),
            bridge,
            prompt,
            provider=spec.name,
            model_name=spec.model,
            threshold=work.settings.confidence_threshold,
            time_limit_s=max(1.0, deadline - loop.time()),
        )

    async def on_switch(spec: ProviderSpec, reason: str) -> None:
        await _event(
            work.db,
            work.org_id,
            work.incident_id,
            "provider_failover",
            "AI agent",
            f"{spec.name} ({spec.model}) failed: {reason}. Moving to the next provider.",
            {"provider": spec.name, "kind": spec.kind, "model": spec.model, "reason": reason},
        )

    result = await run_with_failover(chain, attempt, on_switch)
    if result is None:
        await _event(
            work.db,
            work.org_id,
            work.incident_id,
            "provider_failover",
            "AI agent",
            "No provider in the reactive list answered: the offline runbook engine takes over.",
            {"provider": None, "reason": "every provider failed"},
        )
    return result, first[0] if first else None


class PrimedPort:
    """A runbook's tool port that answers the playbook's first call with the initial evidence
    when it is that same tool (every provider failed after it ran), rather than running it
    again; every other call goes through."""

    def __init__(self, inner: ToolPort, first: Ran | None) -> None:
        self.inner = inner
        self._first = first if first is not None and first.status == "succeeded" else None

    @property
    def available(self) -> frozenset[str]:
        return self.inner.available

    async def run(self, tool: str, params: dict[str, Any]) -> ToolOutcome:
        first, self._first = self._first, None  # only ever the playbook's first call
        if first is not None and first.tool == tool:
            return ToolOutcome(first.execution_id, tool, True, first.output)
        return await self.inner.run(tool, params)


async def diagnose_incident(
    db: Database,
    runner: Runner | None,
    manifest: Manifest | None,
    org_id: uuid.UUID,
    incident_id: uuid.UUID,
    *,
    master_key: bytes | None = None,
    chain: Sequence[ProviderSpec] | None = None,
    approval_wait_s: float | None = None,
    time_limit_s: float = DIAGNOSIS_TIME_LIMIT_S,
    pace: Pace = UNPACED,
) -> DiagnosisReport:
    """Diagnose one incident (the ``reactive`` chain, then the runbook engine) and store the
    report. The chain is the organisation's (its keys unsealed with ``master_key``) unless
    given; without either, the runbook engine. ``approval_wait_s``: how long a tool waits for
    approval (None: the area's 10 minutes). ``pace``: this diagnosis's place among the others
    of the process (:mod:`vixpro.ai.pacing`)."""
    started = datetime.now(UTC)
    deadline = asyncio.get_running_loop().time() + time_limit_s
    # Plain pipelined statements, no ORM: a burst's diagnoses start one after the other on
    # the worker's event loop, and each start's CPU delays the next one's first tool.
    async with db.tenant_pipeline(org_id) as conn:
        incident = await conn.execute(_INCIDENT, {"id": incident_id}, prepare=True)
        alert_rows = await conn.cursor(row_factory=namedtuple_row).execute(
            _ALERTS, {"id": incident_id}, prepare=True
        )
    row = await incident.fetchone()
    if row is None:
        raise LookupError(f"incident {incident_id} not found")
    title, server_id, server_name = row
    context = context_of(title, await alert_rows.fetchall())
    engine = f"runbook:{categorise(context).value}"
    if chain is None:
        setup = await _org_setup(db, org_id, manifest, master_key)
    else:
        async with db.tenant_session(org_id) as session:
            setup = await _read_org_setup(session, org_id, manifest, master_key, chain)
    ai_settings, chain, views = setup.settings, setup.chain, setup.views
    first = chain[0] if chain else None
    async with db.tenant_pipeline(org_id) as conn:
        await conn.execute(_STARTED, {"id": incident_id, "at": started}, prepare=True)
        await conn.execute(
            _STARTED_EVENT,
            {
                "org": org_id,
                "id": incident_id,
                "actor": "AI agent" if first else ACTOR,
                "detail": f"Diagnosis started: {first.name} ({first.model})"
                if first
                else f"Diagnosis started: offline runbook engine ({engine})",
                "data": jsontext.dumps({"engine": f"llm:{first.name}" if first else engine}),
            },
            prepare=True,
        )
        await conn.execute(NOTIFY_SQL, (NOTIFY_CHANNEL, str(org_id)), prepare=True)

    used: tuple[ProviderSpec, int, int] | None = None  # tokens to record
    if server_id is None or server_name is None:
        report = _no_server_report(engine)
    elif runner is None or manifest is None:
        report = _no_runner_report(engine)
    else:
        work = Investigation(
            db,
            runner,
            manifest,
            org_id,
            incident_id,
            server_id,
            server_name,
            context,
            ai_settings,
            views,
        )
        found, initial = (
            await _with_llm(
                work, chain, approval_wait_s=approval_wait_s, deadline=deadline, pace=pace
            )
            if chain
            else (None, None)
        )
        if found is not None:
            outcome, spec = found
            report, used = outcome.report, (spec, outcome.tokens_in, outcome.tokens_out)
            if (
                ai_settings.remediation_on
                and not report.escalate  # an unsure diagnosis is for a person to act on
                and any(a.risk == "mutate" for a in report.recommended_actions)
            ):
                model = PacedModel(build_model(spec), pace)
                async with model:
                    report = await remediation.remediate(
                        work.db,
                        work.runner,
                        work.manifest,
                        org_id,
                        server_id,
                        incident_id,
                        report,
                        model=model,
                        spec=spec,
                        approval_wait_s=approval_wait_s,
                        on_event=TimelineSink(db, org_id, incident_id),
                    )
        else:
            port = await PlatformToolPort.open(
                runner, manifest, org_id, server_id, incident_id=incident_id
            )
            pace.started()
            timeline = TimelinePort(port, db, org_id, incident_id)
            report = await diagnose(context, PrimedPort(timeline, initial))

    pace.started()
    completed = datetime.now(UTC)
    actor = "AI agent" if report.provider else ACTOR
    async with db.tenant_session(org_id) as session:
        if used is not None:
            await usage.record(
                session,
                org_id,
                area="reactive",
                spec=used[0],
                tokens_in=used[1],
                tokens_out=used[2],
                incident_id=incident_id,
            )
        session.add(
            Diagnosis(
                org_id=org_id,
                incident_id=incident_id,
                engine=report.engine[:64],
                outcome=report.outcome,
                report=report.model_dump(mode="json"),
                started_at=started,
                completed_at=completed,
            )
        )
        session.add(
            IncidentEvent(
                org_id=org_id,
                incident_id=incident_id,
                kind="escalated" if report.escalate else "diagnosis",
                actor=actor,
                detail=_summary(report),
                data={
                    "engine": report.engine,
                    "outcome": report.outcome,
                    "provider": report.provider,
                    "model": report.model,
                },
            )
        )
        await session.execute(
            update(Incident)
            .where(Incident.id == incident_id)
            .values(diagnosis_completed_at=completed)
        )
        await notify_changed(session, org_id)
    return report


async def record_failure(
    db: Database, org_id: uuid.UUID, incident_id: uuid.UUID, exc: Exception
) -> None:
    """Say on the timeline that the diagnosis broke off (the job's error is in its log)."""
    async with db.tenant_session(org_id) as session:
        session.add(
            IncidentEvent(
                org_id=org_id,
                incident_id=incident_id,
                kind="diagnosis_failed",
                actor=ACTOR,
                detail=f"The diagnosis stopped with an error ({type(exc).__name__}); "
                "the incident waits for a person",
                data={},
            )
        )
        await notify_changed(session, org_id)
