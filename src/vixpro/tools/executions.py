"""Running tools: permission, then approval, then dispatch through the hub, then the record.

Every request becomes a ``tool_executions`` row before anything runs; that row is the audit
trail (who or what asked, parameters, approval, status, bounded output, duration, error).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from vixpro_agent.protocol import messages as m
from vixpro_agent.protocol.schema import ValidationError, validate

from vixpro.accounts import audit
from vixpro.accounts.errors import Conflict, Forbidden, InvalidInput, NotFound
from vixpro.accounts.principal import Actor, Principal
from vixpro.core.approvals import Area, approval_timeout
from vixpro.core.pagination import Cursor
from vixpro.core.roles import Role
from vixpro.db.action_items import raise_action_item
from vixpro.db.models import Approval, Manifest, ToolExecution
from vixpro.db.paging import keyset
from vixpro.db.sessions import Database, SharedStatement
from vixpro.hub.hub import Call, Hub, Row
from vixpro.tools.catalogue import default_permissions, tool_spec
from vixpro.tools.servers import get_server

# A tool request, checked and recorded in one statement that concurrent requests share (group
# commit, see ``Database.tenant_statement``): the server as the organisation sees it (row-level
# security), the organisation's permission on the tool (its setting, or the default for the
# tool's risk) and, when everything allows it ("go": the tool exists and the parameters are
# valid), the execution row, its approval if one is required, and the audit event. Every caller
# gets its row back, so that it can say which check refused.
_REQUEST = SharedStatement(
    """
WITH req AS (
    SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(
        n int, id uuid, org uuid, server uuid, tool text, risk text, default_enabled bool,
        default_approval bool, go bool, params jsonb, by_type text, by_id uuid, by_label text,
        ip text, area text, incident uuid, deadline int, approval_id uuid,
        expires timestamptz, audit_id uuid, details jsonb
    )
), chk AS (
    SELECT req.*, srv.status AS server_status,
           coalesce(ts.enabled, req.default_enabled) AS enabled,
           coalesce(ts.approval_required, req.default_approval) AS approval
    FROM req
    LEFT JOIN servers AS srv ON srv.id = req.server
    LEFT JOIN tool_settings AS ts ON ts.tool = req.tool
), ins AS (
    INSERT INTO tool_executions (
        id, org_id, server_id, tool, risk, params, requested_by_type, requested_by_id,
        requested_by_label, area, incident_id, status, deadline_ms
    )
    SELECT id, org, server, tool, risk, params, by_type, by_id, by_label, area, incident,
           CASE WHEN approval THEN 'awaiting_approval' ELSE 'queued' END, deadline
    FROM chk
    WHERE go AND enabled AND server_status IS NOT NULL
      AND NOT (server_status = 'tampered' AND risk = 'mutate')
    RETURNING id, status
), appr AS (
    INSERT INTO approvals (id, org_id, execution_id, state, expires_at)
    SELECT chk.approval_id, chk.org, chk.id, 'pending', chk.expires
    FROM chk JOIN ins ON ins.id = chk.id
    WHERE ins.status = 'awaiting_approval'
), aud AS (
    INSERT INTO audit_events (
        id, org_id, actor_type, actor_id, actor_label, action, target_type, target_id,
        details, ip
    )
    SELECT chk.audit_id, chk.org, chk.by_type, chk.by_id, chk.by_label, 'tool.requested',
           'tool_execution', chk.id::text,
           chk.details || jsonb_build_object('approval_required', ins.status = 'awaiting_approval'),
           chk.ip
    FROM chk JOIN ins ON ins.id = chk.id
)
SELECT chk.n, chk.server_status, chk.enabled, chk.approval, ins.status
FROM chk LEFT JOIN ins ON ins.id = chk.id
"""
)

# Failures that are the platform's problem, not the server's: tracked as action items.
PLATFORM_FAILURES = {m.ERR_CRASHED, m.ERR_UNAVAILABLE, m.ERR_UNKNOWN_TOOL}
FINAL = ("succeeded", "failed", "denied", "expired")


def _orm(found: Row | ToolExecution) -> ToolExecution:
    return found if isinstance(found, ToolExecution) else ToolExecution(**found)


@dataclass(frozen=True)
class Requester:
    actor: Actor
    area: Area = Area.MANUAL
    incident_id: uuid.UUID | None = None


class Runner:
    """Requests, approves and runs tools for one process (it owns the background tasks)."""

    def __init__(self, db: Database, hub: Hub) -> None:
        self.db = db
        self.hub = hub
        self._tasks: set[asyncio.Task[None]] = set()

    def _background(self, call: Call) -> None:
        task = asyncio.create_task(self._run_quietly(call))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_quietly(self, call: Call) -> None:
        await self.run(call)

    async def request(
        self,
        org_id: uuid.UUID,
        requester: Requester,
        manifest: Manifest,
        server_id: uuid.UUID,
        tool: str,
        params: dict[str, Any],
        *,
        wait: bool = True,
        deadline_ms: int | None = None,
    ) -> ToolExecution:
        """``request_stored``, the execution always as its ORM row."""
        found = await self.request_stored(
            org_id,
            requester,
            manifest,
            server_id,
            tool,
            params,
            wait=wait,
            deadline_ms=deadline_ms,
        )
        return _orm(found)

    async def request_stored(
        self,
        org_id: uuid.UUID,
        requester: Requester,
        manifest: Manifest,
        server_id: uuid.UUID,
        tool: str,
        params: dict[str, Any],
        *,
        wait: bool = True,
        deadline_ms: int | None = None,
    ) -> Row | ToolExecution:
        """Ask for a tool run. Without approval it runs now (``wait``: until it has finished);
        with approval required it waits, as ``awaiting_approval``, for an owner or admin.

        The checks and the record are one statement in one durable transaction (see
        ``_REQUEST``): the server as the organisation sees it, the organisation's permission
        on the tool, then the execution row, its approval and its audit event."""
        spec = tool_spec(manifest, tool)
        problem: InvalidInput | None = None
        deadline = 0
        if spec is not None:
            try:
                params = validate(params, spec["parameters"], "params")
                deadline = _deadline(spec, deadline_ms)
            except ValidationError as exc:
                field, _, message = exc.errors[0].partition(": ")
                problem = InvalidInput(
                    field or "params",
                    "; ".join([message, *exc.errors[1:]]) if message else str(exc),
                )
            except InvalidInput as exc:
                problem = exc
        risk = str(spec["risk"]) if spec is not None else "read"
        enabled, approval = default_permissions(risk)
        execution_id = uuid.uuid4()
        actor = requester.actor
        rows = await self.db.tenant_statement(
            org_id,
            _REQUEST,
            {
                "id": execution_id,
                "org": org_id,
                "server": server_id,
                "tool": tool,
                "risk": risk,
                "default_enabled": enabled,
                "default_approval": approval,
                "go": spec is not None and problem is None,
                "params": params,
                "by_type": actor.type,
                "by_id": actor.id,
                "by_label": actor.label,
                "ip": actor.ip,
                "area": requester.area.value,
                "incident": requester.incident_id,
                "deadline": deadline,
                "approval_id": uuid.uuid4(),
                "expires": datetime.now(UTC) + approval_timeout(requester.area),
                "audit_id": uuid.uuid4(),
                "details": {
                    "server_id": str(server_id),
                    "tool": tool,
                    "area": requester.area.value,
                },
            },
        )
        server_status, enabled, _approval, status = rows[0]
        if server_status is None:
            raise NotFound("server")
        if spec is None:
            raise NotFound(f"tool {tool!r}")
        if not enabled:
            raise Forbidden(f"the {tool} tool is disabled for this organisation")
        if server_status == "tampered" and risk == "mutate":
            # The host agent refuses too; the platform does not even ask until an admin has
            # looked and re-issued the signed config.
            raise Forbidden(
                f"{await self._server_name(org_id, server_id)} is marked tampered: mutating "
                "tools are refused until an admin re-issues its signed config"
            )
        if problem is not None:
            raise problem
        assert status is not None
        if status == "queued":
            call = Call(org_id, execution_id, server_id, tool, params, deadline)
            if wait:
                return await self.run_stored(call)
            self._background(call)
        return await self.get(org_id, execution_id)

    async def _server_name(self, org_id: uuid.UUID, server_id: uuid.UUID) -> str:
        async with self.db.tenant_session(org_id) as session:
            return (await get_server(session, server_id)).name

    async def run(self, call: Call) -> ToolExecution:
        """``run_stored``, the execution always as its ORM row."""
        return _orm(await self.run_stored(call))

    async def run_stored(self, call: Call) -> Row | ToolExecution:
        """Dispatch a queued call and return its row once the result is stored; a failure that
        is the platform's problem becomes an action item.

        The row is the one the result's statement returned when this process stored it (a
        mapping, as cheap as the API needs: no ORM object on the hot path), else read back."""
        stored = await self.hub.execute(call)
        row: Row | ToolExecution
        if stored is None:  # stored by the replica holding the connection, or no longer queued
            read = await self.get(call.org_id, call.execution_id)
            row, tool, error_kind, error = read, read.tool, read.error_kind, read.error
        else:
            row, tool, error_kind, error = (
                stored,
                stored["tool"],
                stored["error_kind"],
                stored["error"],
            )
        if error_kind in PLATFORM_FAILURES:
            async with self.db.tenant_session(call.org_id) as session:
                await raise_action_item(
                    session,
                    call.org_id,
                    tool,
                    error_kind,
                    f"The {tool} tool failed ({error_kind})",
                    error or "",
                )
        return row

    async def get(self, org_id: uuid.UUID, execution_id: uuid.UUID) -> ToolExecution:
        async with self.db.tenant_session(org_id) as session:
            row = await session.get(ToolExecution, execution_id)
            if row is None:
                raise NotFound("tool execution")
            return row

    async def wait_for(
        self, org_id: uuid.UUID, execution_id: uuid.UUID, seconds: float
    ) -> ToolExecution:
        """Poll until the execution is final or ``seconds`` pass (the AI agent waits this way)."""
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            row = await self.get(org_id, execution_id)
            if row.status in FINAL or asyncio.get_running_loop().time() >= deadline:
                return row
            await asyncio.sleep(0.2)

    async def decide(
        self, principal: Principal, approval_id: uuid.UUID, approve: bool, reason: str = ""
    ) -> Approval:
        if not principal.role.at_least(Role.ADMIN):
            raise Forbidden("only owners and admins decide approvals")
        async with self.db.tenant_session(principal.org_id) as session:
            approval = await session.get(Approval, approval_id, with_for_update=True)
            if approval is None:
                raise NotFound("approval")
            if approval.state == "pending" and approval.expires_at <= datetime.now(UTC):
                await _expire(session, approval)  # kept: the refusal below happens after commit
            refused = approval.state if approval.state != "pending" else None
            if refused is None:
                call = await self._apply_decision(session, principal, approval, approve, reason)
        if refused is not None:
            raise Conflict(f"this approval is already {refused}")
        if approve:
            self._background(call)
        return approval

    async def _apply_decision(
        self,
        session: AsyncSession,
        principal: Principal,
        approval: Approval,
        approve: bool,
        reason: str,
    ) -> Call:
        execution = await session.get(ToolExecution, approval.execution_id, with_for_update=True)
        assert execution is not None
        approval.state = "approved" if approve else "denied"
        approval.decided_by = principal.label
        approval.decided_at = datetime.now(UTC)
        approval.reason = reason[:2000] or None
        execution.status = "queued" if approve else "denied"
        if not approve:
            execution.error = f"denied by {principal.label}" + (f": {reason}" if reason else "")
            execution.error_kind = "denied"
            execution.finished_at = datetime.now(UTC)
        await audit.record(
            session,
            principal.actor,
            "tool.approved" if approve else "tool.denied",
            org_id=principal.org_id,
            target_type="tool_execution",
            target_id=execution.id,
            details={
                "tool": execution.tool,
                "server_id": str(execution.server_id),
                "reason": reason[:500],
            },
        )
        return Call.of(execution)


def _deadline(spec: dict[str, Any], asked_ms: int | None) -> int:
    """The tool's own timeout, or a shorter deadline the caller asked for."""
    limit = int(spec.get("timeout_s", m.MAX_TIMEOUT_S)) * 1000
    if asked_ms is None:
        return limit
    if asked_ms < 100:
        raise InvalidInput("deadline_ms", "must be at least 100")
    return min(asked_ms, limit)


async def _expire(session: AsyncSession, approval: Approval) -> None:
    approval.state = "expired"
    execution = await session.get(ToolExecution, approval.execution_id)
    if execution is not None and execution.status == "awaiting_approval":
        execution.status = "expired"
        execution.error = "nobody approved the request in time"
        execution.error_kind = "expired"
        execution.finished_at = datetime.now(UTC)


_EXPIRE_DUE = text(
    """
WITH expired AS (
    UPDATE approvals SET state = 'expired'
    WHERE state = 'pending' AND expires_at <= now()
    RETURNING execution_id
)
UPDATE tool_executions SET status = 'expired', error = 'nobody approved the request in time',
       error_kind = 'expired', finished_at = now()
WHERE id IN (SELECT execution_id FROM expired) AND status = 'awaiting_approval'
RETURNING id
"""
)


async def expire_due(session: AsyncSession) -> int:
    """Expire every approval past its time (system session: a periodic sweep)."""
    return len((await session.execute(_EXPIRE_DUE)).all())


async def list_approvals(
    session: AsyncSession, *, state: str | None = "pending", limit: int = 100
) -> Sequence[tuple[Approval, ToolExecution]]:
    query = (
        select(Approval, ToolExecution)
        .join(ToolExecution, ToolExecution.id == Approval.execution_id)
        .order_by(Approval.created_at.desc())
        .limit(limit)
    )
    if state:
        query = query.where(Approval.state == state)
    return [(a, e) for a, e in (await session.execute(query)).all()]


async def list_executions(
    session: AsyncSession,
    *,
    limit: int = 50,
    cursor: Cursor | None = None,
    server_id: uuid.UUID | None = None,
    tool: str | None = None,
    status: str | None = None,
) -> Sequence[ToolExecution]:
    query = keyset(
        select(ToolExecution),
        ToolExecution.created_at,
        ToolExecution.id,
        cursor,
        limit,
        newest_first=True,
    )
    if server_id is not None:
        query = query.where(ToolExecution.server_id == server_id)
    if tool:
        query = query.where(ToolExecution.tool == tool)
    if status:
        query = query.where(ToolExecution.status == status)
    return (await session.scalars(query)).all()


async def approval_for(session: AsyncSession, execution_id: uuid.UUID) -> Approval | None:
    return await session.scalar(select(Approval).where(Approval.execution_id == execution_id))
