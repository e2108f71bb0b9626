"""Notification channels (each with its rules: the events it receives), a test per channel,
and the delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from vixpro.db.models.notify import Attempt, Delivery
from vixpro.notify import channels, deliver, log
from vixpro.notify import email as email_channel
from vixpro.notify.events import LABELS
from vixpro.notify.registry import CHANNELS
from vixpro.web.api.pagination import Page, PageDep
from vixpro.web.api.schemas import Strict
from vixpro.web.deps import PrincipalDep, StateDep

router = APIRouter(tags=["notifications"])


class KindOut(BaseModel):
    kind: str
    title: str
    config_fields: list[str]
    secret_fields: list[str]


class EventOut(BaseModel):
    kind: str
    label: str


class ChannelOut(BaseModel):
    id: UUID
    kind: str
    kind_title: str
    name: str
    config: dict[str, Any]
    secret_hint: str = Field(description="the last four characters of the secret; never more")
    events: list[str]
    critical_only: bool = Field(
        description="only critical incidents, storms and host-agent trouble"
    )
    enabled: bool
    status: str = Field(description="ok, or failing: VixPro stopped sending until it is fixed")
    failure: str | None
    failing_since: datetime | None
    last_sent_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, view: channels.ChannelView) -> ChannelOut:
        return cls(**{name: getattr(view, name) for name in cls.model_fields})


class ChannelIn(Strict):
    kind: str = Field(description="one of GET /notification-channels/kinds")
    name: str = Field(min_length=1, max_length=120)
    config: dict[str, Any] = Field(default_factory=dict)
    secret: dict[str, Any] = Field(default_factory=dict, description="write-only; sealed at rest")
    events: list[str] | None = Field(default=None, description="default: incident events")
    critical_only: bool = False


class ChannelPatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    config: dict[str, Any] | None = None
    secret: dict[str, Any] | None = None
    events: list[str] | None = None
    critical_only: bool | None = None
    enabled: bool | None = None


class AttemptOut(BaseModel):
    attempt: int
    at: datetime
    ok: bool
    permanent: bool
    status: int | None
    response: str
    error: str | None

    @classmethod
    def of(cls, row: Attempt) -> AttemptOut:
        return cls(
            attempt=row.attempt,
            at=row.at,
            ok=row.ok,
            permanent=row.permanent,
            status=row.status,
            response=row.response,
            error=row.error,
        )


class DeliveryOut(BaseModel):
    id: UUID
    channel_id: UUID | None
    channel_kind: str
    target: str
    event_kind: str
    title: str
    state: str
    attempts: list[AttemptOut]
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def of(cls, row: Delivery, attempts: list[Attempt]) -> DeliveryOut:
        return cls(
            id=row.id,
            channel_id=row.channel_id,
            channel_kind=row.channel_kind,
            target=row.target,
            event_kind=row.event_kind,
            title=row.title,
            state=row.state,
            attempts=[AttemptOut.of(a) for a in attempts],
            last_error=row.last_error,
            created_at=row.created_at,
            delivered_at=row.delivered_at,
        )


class TestOut(BaseModel):
    ok: bool
    delivery: DeliveryOut
    email_configured: bool


def _fields(model: Any) -> list[str]:
    return list(model.model_fields) if model is not None else []


@router.get("/notification-channels/kinds", response_model=list[KindOut], summary="Channel kinds")
async def list_kinds(principal: PrincipalDep) -> list[KindOut]:
    return [
        KindOut(
            kind=c.kind,
            title=c.title,
            config_fields=_fields(c.Config),
            secret_fields=_fields(c.Secret),
        )
        for c in CHANNELS.values()
    ]


@router.get("/notification-channels/events", response_model=list[EventOut], summary="Events")
async def list_events(principal: PrincipalDep) -> list[EventOut]:
    return [EventOut(kind=k.value, label=label) for k, label in LABELS.items()]


@router.get("/notification-channels", response_model=list[ChannelOut], summary="Channels")
async def list_channels(principal: PrincipalDep, state: StateDep) -> list[ChannelOut]:
    async with state.db.tenant_session(principal.org_id) as session:
        rows = await channels.list_all(session)
        return [ChannelOut.of(channels.view(r)) for r in rows]


@router.post(
    "/notification-channels",
    response_model=ChannelOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a channel",
)
async def create_channel(body: ChannelIn, principal: PrincipalDep, state: StateDep) -> ChannelOut:
    async with state.db.tenant_session(principal.org_id) as session:
        row = await channels.create(
            session,
            principal,
            state.settings.master_key_bytes(),
            kind=body.kind,
            name=body.name,
            config=body.config,
            secret=body.secret,
            events=body.events,
            critical_only=body.critical_only,
        )
        return ChannelOut.of(channels.view(row))


@router.get("/notification-channels/{channel_id}", response_model=ChannelOut, summary="One")
async def get_channel(channel_id: UUID, principal: PrincipalDep, state: StateDep) -> ChannelOut:
    async with state.db.tenant_session(principal.org_id) as session:
        return ChannelOut.of(channels.view(await channels.get(session, channel_id)))


@router.patch("/notification-channels/{channel_id}", response_model=ChannelOut, summary="Change")
async def patch_channel(
    channel_id: UUID, body: ChannelPatch, principal: PrincipalDep, state: StateDep
) -> ChannelOut:
    async with state.db.tenant_session(principal.org_id) as session:
        row = await channels.update(
            session,
            principal,
            state.settings.master_key_bytes(),
            channel_id,
            name=body.name,
            config=body.config,
            secret=body.secret,
            events=body.events,
            enabled=body.enabled,
            critical_only=body.critical_only,
        )
        return ChannelOut.of(channels.view(row))


@router.delete(
    "/notification-channels/{channel_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove",
)
async def delete_channel(channel_id: UUID, principal: PrincipalDep, state: StateDep) -> None:
    async with state.db.tenant_session(principal.org_id) as session:
        await channels.delete(session, principal, channel_id)


@router.post(
    "/notification-channels/{channel_id}/test",
    response_model=TestOut,
    summary="Send the channel a test message now; the answer is in the delivery",
)
async def test_channel(channel_id: UUID, principal: PrincipalDep, state: StateDep) -> TestOut:
    async with state.db.tenant_session(principal.org_id) as session:
        await channels.get(session, channel_id)
    channels.require_writer(principal)
    async with deliver.client(state.settings) as http:
        delivery, outcome = await deliver.send_test(
            state.db, state.settings, http, principal.org_id, channel_id
        )
    async with state.db.tenant_session(principal.org_id) as session:
        row = await log.get(session, delivery.id)
        attempts = (await log.attempts(session, [row.id]))[row.id]
        out = DeliveryOut.of(row, attempts)
    return TestOut(
        ok=outcome.ok, delivery=out, email_configured=email_channel.configured(state.settings)
    )


@router.get(
    "/notification-deliveries",
    response_model=Page[DeliveryOut],
    summary="The delivery log, newest first, with every attempt",
)
async def list_deliveries(
    principal: PrincipalDep,
    state: StateDep,
    page: PageDep,
    channel_id: UUID | None = Query(default=None, description="only this channel's"),
) -> Page[DeliveryOut]:
    async with state.db.tenant_session(principal.org_id) as session:
        rows = list(
            await log.deliveries(
                session, limit=page.limit, cursor=page.cursor, channel_id=channel_id
            )
        )
        found = await log.attempts(session, [r.id for r in rows])
        items = [DeliveryOut.of(r, found[r.id]) for r in rows]
    return Page(items=items, next_cursor=page.next([(r.created_at, r.id) for r in rows]))


@router.get(
    "/notification-deliveries/{delivery_id}", response_model=DeliveryOut, summary="One delivery"
)
async def get_delivery(delivery_id: UUID, principal: PrincipalDep, state: StateDep) -> DeliveryOut:
    async with state.db.tenant_session(principal.org_id) as session:
        row = await log.get(session, delivery_id)
        attempts = (await log.attempts(session, [row.id]))[row.id]
        return DeliveryOut.of(row, attempts)
