"""The action-item pipeline as a service: each move checked by ``core.action_items``, stamped in
the item's history, audited, and notified to the organisation.

While an item is ``pending_fix`` its tool is disabled for the organisation (a hold remembers the
permissions it had); when the fix is deployed (or the item leaves ``pending_fix`` otherwise) the
hold is released, the tool's permissions are restored, and the organisation is told.

Staff work across organisations in a system session; the organisation works in its tenant session.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.accounts import audit
from vixpro.accounts.errors import Conflict, Forbidden, InvalidInput, NotFound
from vixpro.accounts.principal import Actor, Principal
from vixpro.core.action_items import InvalidMove, Mover, Status, disables_tool, move
from vixpro.core.pagination import Cursor
from vixpro.core.roles import Role
from vixpro.db.models import ActionItem, Manifest, Organisation, ToolSetting
from vixpro.db.models.support import ActionItemEvent, ActionItemToolHold
from vixpro.db.paging import keyset
from vixpro.notify.events import EventKind
from vixpro.notify.outbox import emit
from vixpro.tools.catalogue import default_permissions, tool_spec

LABELS = {
    Status.PENDING: "Pending",
    Status.PENDING_FIX: "Pending VixPro fix",
    Status.PENDING_ORG_REVIEW: "Pending your review",
    Status.RESOLVED: "Resolved",
    Status.BACKLOG: "Backlog",
}
MAX_NOTE = 2000


@dataclass(frozen=True)
class ItemDetail:
    item: ActionItem
    events: list[ActionItemEvent]
    tool_held: bool
    org_name: str = ""


def status_label(value: str) -> str:
    return LABELS[Status(value)]


def _status(value: str) -> Status:
    try:
        return Status(value)
    except ValueError:
        choices = ", ".join(s.value for s in Status)
        raise InvalidInput("status", f"must be one of: {choices}") from None


async def list_items(
    session: AsyncSession, *, status: str | None, limit: int, cursor: Cursor | None
) -> Sequence[ActionItem]:
    """The tenant session's organisation's items, most recently seen first."""
    query = keyset(
        select(ActionItem), ActionItem.last_seen_at, ActionItem.id, cursor, limit, newest_first=True
    )
    if status:
        query = query.where(ActionItem.status == _status(status).value)
    return (await session.scalars(query)).all()


async def _detail(session: AsyncSession, item: ActionItem, org_name: str = "") -> ItemDetail:
    events = (
        await session.scalars(
            select(ActionItemEvent)
            .where(ActionItemEvent.action_item_id == item.id)
            .order_by(ActionItemEvent.at, ActionItemEvent.id)
        )
    ).all()
    held = await session.get(ActionItemToolHold, item.id) is not None
    return ItemDetail(item, list(events), held, org_name)


async def get_item(session: AsyncSession, item_id: uuid.UUID) -> ItemDetail:
    item = await session.get(ActionItem, item_id)
    if item is None:
        raise NotFound("action item")
    return await _detail(session, item)


async def review(
    session: AsyncSession,
    principal: Principal,
    manifest: Manifest | None,
    item_id: uuid.UUID,
    *,
    fixed: bool,
    note: str = "",
) -> ItemDetail:
    """The organisation verifies a deployed fix: it works (resolved) or it does not (back to
    the platform team, and the tool is held again)."""
    if not principal.role.at_least(Role.ADMIN):
        raise Forbidden("only owners and admins verify action items")
    item = await _locked(session, item_id)
    to = Status.RESOLVED if fixed else Status.PENDING_FIX
    await _transition(session, item, to, Mover.ORG, principal.actor, manifest, note)
    return await _detail(session, item)


async def staff_queue(
    session: AsyncSession, actor: Actor, *, statuses: Sequence[str], limit: int = 200
) -> list[tuple[ActionItem, str]]:
    """The engineering queue across organisations (system session; the read is audited)."""
    wanted = [_status(s).value for s in statuses]
    query = (
        select(ActionItem, Organisation.name)
        .join(Organisation, Organisation.id == ActionItem.org_id)
        .order_by(ActionItem.last_seen_at.desc(), ActionItem.id)
        .limit(limit)
    )
    if wanted:
        query = query.where(ActionItem.status.in_(wanted))
    rows = [(item, str(name)) for item, name in (await session.execute(query)).all()]
    await audit.record(
        session,
        actor,
        "staff.action_items_listed",
        org_id=None,
        details={"count": len(rows), "statuses": wanted},
    )
    return rows


async def staff_counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(ActionItem.status, func.count()).group_by(ActionItem.status)
    )
    return {str(s): int(n) for s, n in rows.all()}


async def staff_get(session: AsyncSession, actor: Actor, item_id: uuid.UUID) -> ItemDetail:
    item = await session.get(ActionItem, item_id)
    if item is None:
        raise NotFound("action item")
    org = await session.get(Organisation, item.org_id)
    await audit.record(
        session,
        actor,
        "staff.action_item_viewed",
        org_id=item.org_id,
        target_type="action_item",
        target_id=item.id,
    )
    return await _detail(session, item, org.name if org else "")


async def staff_move(
    session: AsyncSession,
    actor: Actor,
    manifest: Manifest | None,
    item_id: uuid.UUID,
    to: str,
    note: str = "",
) -> ItemDetail:
    item = await _locked(session, item_id)
    await _transition(session, item, _status(to), Mover.STAFF, actor, manifest, note)
    org = await session.get(Organisation, item.org_id)
    return await _detail(session, item, org.name if org else "")


async def _locked(session: AsyncSession, item_id: uuid.UUID) -> ActionItem:
    item = await session.scalar(
        select(ActionItem).where(ActionItem.id == item_id).with_for_update()
    )
    if item is None:
        raise NotFound("action item")
    return item


async def _transition(
    session: AsyncSession,
    item: ActionItem,
    to: Status,
    mover: Mover,
    actor: Actor,
    manifest: Manifest | None,
    note: str,
) -> None:
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise InvalidInput("note", f"at most {MAX_NOTE} characters")
    current = Status(item.status)
    try:
        move(current, to, mover)
    except InvalidMove as exc:
        raise Conflict(str(exc)) from None
    item.status = to.value
    session.add(
        ActionItemEvent(
            org_id=item.org_id,
            action_item_id=item.id,
            from_status=current.value,
            to_status=to.value,
            mover=mover.value,
            actor_label=actor.label,
            note=note,
        )
    )
    tool_change = await _hold_or_release(session, item, to, manifest, actor)
    await session.flush()
    await audit.record(
        session,
        actor,
        "action_item.moved",
        org_id=item.org_id,
        target_type="action_item",
        target_id=item.id,
        details={"from": current.value, "to": to.value, "tool": tool_change or "unchanged"},
    )
    body = _message(item, to, tool_change)
    if note:
        body += f"\n\nNote: {note}"
    await emit(
        session,
        item.org_id,
        EventKind.ACTION_ITEM_CHANGED,
        f"Action item {LABELS[to].lower()}: {item.title}",
        body=body,
        link=f"/action-items/{item.id}",
        subject_id=item.id,
        data={"audience": "members", "status": to.value, "tool": item.tool},
    )
    if mover is Mover.ORG:  # the platform team hears the organisation's verdict
        await emit(
            session,
            item.org_id,
            EventKind.ACTION_ITEM_CHANGED,
            f"Organisation review: {LABELS[to].lower()}: {item.title}",
            body=body,
            link=f"/staff/engineering/{item.id}",
            subject_id=item.id,
            data={"audience": "staff", "status": to.value, "tool": item.tool},
        )


def _message(item: ActionItem, to: Status, tool_change: str | None) -> str:
    text = {
        Status.PENDING: "The item is waiting for triage by the VixPro team.",
        Status.PENDING_FIX: "The VixPro team is fixing this.",
        Status.PENDING_ORG_REVIEW: "A fix is deployed. Please check that it works and verify it.",
        Status.RESOLVED: "The item is resolved.",
        Status.BACKLOG: "The item is in the backlog; you will hear when work starts.",
    }[to]
    if tool_change == "disabled":
        text += f" The {item.tool} tool is disabled for your organisation until it is fixed."
    elif tool_change == "restored":
        text += f" The {item.tool} tool is enabled again."
    return text


async def _hold_or_release(
    session: AsyncSession, item: ActionItem, to: Status, manifest: Manifest | None, actor: Actor
) -> str | None:
    """Disable the item's tool while it is being fixed; restore it afterwards. Returns what
    happened to the tool ("disabled", "restored") or None."""
    hold = await session.get(ActionItemToolHold, item.id)
    if disables_tool(to):
        spec = tool_spec(manifest, item.tool) if manifest is not None else None
        if hold is not None or spec is None:  # already held, or not a tool (e.g. a manifest)
            return None
        setting = await session.get(ToolSetting, (item.org_id, item.tool))
        if setting is None:
            enabled, approval = default_permissions(str(spec["risk"]))
        else:
            enabled, approval = setting.enabled, setting.approval_required
        session.add(
            ActionItemToolHold(
                action_item_id=item.id,
                org_id=item.org_id,
                tool=item.tool,
                was_enabled=enabled,
                was_approval_required=approval,
            )
        )
        await _set_tool(session, item.org_id, item.tool, False, approval, actor)
        return "disabled"
    if hold is None:
        return None
    await _set_tool(
        session, item.org_id, hold.tool, hold.was_enabled, hold.was_approval_required, actor
    )
    await session.delete(hold)
    return "restored"


async def _set_tool(
    session: AsyncSession,
    org_id: uuid.UUID,
    tool: str,
    enabled: bool,
    approval: bool,
    actor: Actor,
) -> None:
    label = f"action item ({actor.label})"[:254]
    setting = await session.get(ToolSetting, (org_id, tool))
    if setting is None:
        session.add(
            ToolSetting(
                org_id=org_id,
                tool=tool,
                enabled=enabled,
                approval_required=approval,
                updated_by=label,
            )
        )
    else:
        setting.enabled, setting.approval_required = enabled, approval
        setting.updated_by = label
        setting.updated_at = func.now()
    await session.flush()
    await audit.record(
        session,
        actor,
        "tool.permissions_changed",
        org_id=org_id,
        target_type="tool",
        target_id=tool,
        details={"enabled": enabled, "approval_required": approval, "by": "action item"},
    )
