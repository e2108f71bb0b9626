"""Reactive diagnosis: an incident's alerts → the runbook engine on its server → a report.

Until an organisation configures an AI provider, the offline runbook engine does this work,
so every AI-eligible incident gets a diagnosis out of the box. Each step is stamped on the
incident (``diagnosis_started_at``, ``first_tool_at``, ``diagnosis_completed_at``) and each
tool call goes on its timeline as it happens.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from vixpro.ai.report import DiagnosisReport
from vixpro.ai.runbooks import IncidentContext, diagnose
from vixpro.ai.runbooks.base import ToolOutcome, ToolPort
from vixpro.ai.runbooks.categories import categorise
from vixpro.ai.runbooks.platform_port import PlatformToolPort
from vixpro.db.models import Alert, Diagnosis, Incident, IncidentEvent, Manifest
from vixpro.db.sessions import Database
from vixpro.incidents.service import notify_changed
from vixpro.tools.executions import Runner

ACTOR = "runbook engine"


def context_of(incident: Incident, alerts: Sequence[Alert]) -> IncidentContext:
    """What the runbooks read: the incident's title and its alerts' words (first alert first)."""
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    for alert in alerts:
        for key, value in (alert.labels or {}).items():
            labels.setdefault(str(key), str(value))
        for key, value in (alert.annotations or {}).items():
            annotations.setdefault(str(key), str(value))
    first = alerts[0] if alerts else None
    return IncidentContext(
        title=first.title if first else incident.title,
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


async def diagnose_incident(
    db: Database,
    runner: Runner | None,
    manifest: Manifest | None,
    org_id: uuid.UUID,
    incident_id: uuid.UUID,
) -> DiagnosisReport:
    """Diagnose one incident with the offline runbook engine and store the report."""
    started = datetime.now(UTC)
    async with db.tenant_session(org_id) as session:
        incident = await session.get(Incident, incident_id)
        if incident is None:
            raise LookupError(f"incident {incident_id} not found")
        alerts = (
            await session.scalars(
                select(Alert)
                .where(Alert.incident_id == incident_id)
                .order_by(Alert.first_seen_at, Alert.id)
                .limit(50)
            )
        ).all()
        context = context_of(incident, alerts)
        engine = f"runbook:{categorise(context).value}"
        server_id = incident.server_id
        incident.diagnosis_started_at = started
        session.add(
            IncidentEvent(
                org_id=org_id,
                incident_id=incident_id,
                kind="diagnosis_started",
                actor=ACTOR,
                detail=f"Diagnosis started: offline runbook engine ({engine})",
                data={"engine": engine},
            )
        )
        await notify_changed(session, org_id)

    if server_id is None:
        report = _no_server_report(engine)
    elif runner is None or manifest is None:
        report = _no_runner_report(engine)
    else:
        port = await PlatformToolPort.open(
            runner, manifest, org_id, server_id, incident_id=incident_id
        )
        report = await diagnose(context, TimelinePort(port, db, org_id, incident_id))

    completed = datetime.now(UTC)
    async with db.tenant_session(org_id) as session:
        session.add(
            Diagnosis(
                org_id=org_id,
                incident_id=incident_id,
                engine=report.engine,
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
                actor=ACTOR,
                detail=_summary(report),
                data={"engine": report.engine, "outcome": report.outcome},
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
