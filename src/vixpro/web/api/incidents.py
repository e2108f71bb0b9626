from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from vixpro.core.incidents import Action
from vixpro.db.models import Alert, Diagnosis, Incident, IncidentEvent, OrgEvent
from vixpro.incidents import service
from vixpro.web.api.pagination import Page, PageDep
from vixpro.web.api.schemas import Strict
from vixpro.web.deps import PrincipalDep, StateDep

router = APIRouter(tags=["incidents"])


class IncidentOut(BaseModel):
    id: UUID
    number: int
    title: str
    state: str
    severity: str
    source: str
    server_id: UUID | None
    assignee_id: UUID | None
    manual_mode: bool
    manual_reason: str | None
    storm: bool
    ai_state: str
    alert_count: int
    open_alerts: int
    reopened: int
    first_alert_received_at: datetime
    created_at: datetime
    updated_at: datetime
    last_alert_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    diagnosis_started_at: datetime | None
    first_tool_at: datetime | None
    diagnosis_completed_at: datetime | None

    @classmethod
    def of(cls, i: Incident) -> IncidentOut:
        return cls.model_validate(i, from_attributes=True)


class AlertOut(BaseModel):
    id: UUID
    incident_id: UUID | None
    integration_id: UUID | None
    source: str
    fingerprint: str
    status: str
    severity: str
    title: str
    description: str
    labels: dict[str, Any]
    annotations: dict[str, Any]
    host_hints: list[str]
    server_id: UUID | None
    source_url: str | None
    starts_at: datetime | None
    ends_at: datetime | None
    count: int
    first_seen_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None
    suppressed_by: UUID | None
    raw: dict[str, Any] | None = None

    @classmethod
    def of(cls, a: Alert, *, raw: bool = False) -> AlertOut:
        out = cls.model_validate(a, from_attributes=True)
        if not raw:
            out.raw = None
        return out


class EventOut(BaseModel):
    id: int
    kind: str
    actor: str
    detail: str
    data: dict[str, Any]
    at: datetime

    @classmethod
    def of(cls, e: IncidentEvent) -> EventOut:
        return cls.model_validate(e, from_attributes=True)


class DiagnosisOut(BaseModel):
    id: UUID
    engine: str
    outcome: str
    report: dict[str, Any] = Field(
        description="summary, root_cause, confidence, evidence (with tool execution ids), "
        "recommended_actions, escalate, escalation_reason"
    )
    started_at: datetime
    completed_at: datetime

    @classmethod
    def of(cls, d: Diagnosis) -> DiagnosisOut:
        return cls.model_validate(d, from_attributes=True)


class IncidentDetail(BaseModel):
    incident: IncidentOut
    alerts: list[AlertOut]
    timeline: list[EventOut]
    diagnosis: DiagnosisOut | None = Field(description="the latest diagnosis, if any")


class ActionIn(Strict):
    action: Literal["acknowledge", "resolve", "reopen"]
    note: str | None = Field(default=None, max_length=10_000)


class AssignIn(Strict):
    assignee_id: UUID | None = Field(description="a member's user id; null to unassign")


class CommentIn(Strict):
    body: str = Field(min_length=1, max_length=10_000)


class OrgEventOut(BaseModel):
    id: int
    kind: str
    severity: str
    detail: str
    server_id: UUID | None
    incident_id: UUID | None
    at: datetime

    @classmethod
    def of(cls, e: OrgEvent) -> OrgEventOut:
        return cls.model_validate(e, from_attributes=True)


@router.get("/incidents", response_model=Page[IncidentOut], summary="Incidents, newest first")
async def list_incidents(
    principal: PrincipalDep,
    state: StateDep,
    page: PageDep,
    state_: Annotated[
        Literal["open", "acknowledged", "resolved", "active"] | None,
        Query(alias="state", description="'active' is open or acknowledged"),
    ] = None,
    severity: Annotated[Literal["critical", "normal"] | None, Query()] = None,
    server_id: Annotated[UUID | None, Query()] = None,
    source: Annotated[str | None, Query(max_length=32)] = None,
    since: Annotated[datetime | None, Query(description="created at or after")] = None,
    until: Annotated[datetime | None, Query(description="created before")] = None,
    manual: Annotated[bool | None, Query(description="manual mode only (or not)")] = None,
) -> Page[IncidentOut]:
    filters = service.Filters(state_, severity, server_id, source, since, until, manual)
    async with state.db.tenant_session(principal.org_id) as session:
        rows = await service.list_incidents(session, filters, page.cursor, page.limit)
    return Page(
        items=[IncidentOut.of(i) for i in rows],
        next_cursor=page.next([(i.created_at, i.id) for i in rows]),
    )


@router.get("/incidents/{incident_id}", response_model=IncidentDetail, summary="One incident")
async def get_incident(
    incident_id: UUID, principal: PrincipalDep, state: StateDep
) -> IncidentDetail:
    async with state.db.tenant_session(principal.org_id) as session:
        incident = await service.get_incident(session, incident_id)
        alerts = await service.incident_alerts(session, incident_id)
        events = await service.timeline(session, incident_id)
        diagnosis = await service.latest_diagnosis(session, incident_id)
    return IncidentDetail(
        incident=IncidentOut.of(incident),
        alerts=[AlertOut.of(a) for a in alerts],
        timeline=[EventOut.of(e) for e in events],
        diagnosis=DiagnosisOut.of(diagnosis) if diagnosis else None,
    )


@router.post(
    "/incidents/{incident_id}/actions",
    response_model=IncidentOut,
    summary="Acknowledge, resolve or reopen",
)
async def act(
    incident_id: UUID, body: ActionIn, principal: PrincipalDep, state: StateDep
) -> IncidentOut:
    async with state.db.tenant_session(principal.org_id) as session:
        incident = await service.act(
            session, principal, incident_id, Action(body.action), body.note
        )
        return IncidentOut.of(incident)


@router.put("/incidents/{incident_id}/assignee", response_model=IncidentOut, summary="Assign")
async def assign(
    incident_id: UUID, body: AssignIn, principal: PrincipalDep, state: StateDep
) -> IncidentOut:
    async with state.db.tenant_session(principal.org_id) as session:
        incident = await service.assign(session, principal, incident_id, body.assignee_id)
        return IncidentOut.of(incident)


@router.post(
    "/incidents/{incident_id}/comments", response_model=EventOut, status_code=201, summary="Comment"
)
async def comment(
    incident_id: UUID, body: CommentIn, principal: PrincipalDep, state: StateDep
) -> EventOut:
    async with state.db.tenant_session(principal.org_id) as session:
        event = await service.comment(session, principal, incident_id, body.body)
        return EventOut.of(event)


@router.get(
    "/incidents/{incident_id}/timeline",
    response_model=list[EventOut],
    summary="The timeline, optionally after an event id",
)
async def get_timeline(
    incident_id: UUID,
    principal: PrincipalDep,
    state: StateDep,
    after: Annotated[int, Query(ge=0)] = 0,
) -> list[EventOut]:
    async with state.db.tenant_session(principal.org_id) as session:
        await service.get_incident(session, incident_id)
        events = await service.timeline(session, incident_id, after)
    return [EventOut.of(e) for e in events]


@router.get(
    "/alerts/{alert_id}", response_model=AlertOut, summary="One alert, with its raw payload"
)
async def get_alert(alert_id: UUID, principal: PrincipalDep, state: StateDep) -> AlertOut:
    async with state.db.tenant_session(principal.org_id) as session:
        return AlertOut.of(await service.get_alert(session, alert_id), raw=True)


@router.get(
    "/org-events",
    response_model=list[OrgEventOut],
    summary="Budget exceeded, storms: what the organisation should know",
)
async def list_org_events(principal: PrincipalDep, state: StateDep) -> list[OrgEventOut]:
    async with state.db.tenant_session(principal.org_id) as session:
        rows = await service.org_events(session)
    return [OrgEventOut.of(e) for e in rows]
