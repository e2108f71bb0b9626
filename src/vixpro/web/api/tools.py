from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field

from vixpro.accounts.errors import NotFound
from vixpro.accounts.principal import Principal
from vixpro.db.models import Approval, ToolExecution
from vixpro.hub.hub import EXECUTION_COLUMNS
from vixpro.tools import catalogue, executions
from vixpro.tools.executions import Requester
from vixpro.web.api.pagination import Page, PageDep
from vixpro.web.api.schemas import Strict
from vixpro.web.deps import SESSION_COOKIE, PrincipalDep, StateDep, authenticate
from vixpro.web.fastpath import FastAnswer, FastRequest, FastRoute
from vixpro.web.state import AppState

router = APIRouter(tags=["tools"])


class ToolOut(BaseModel):
    name: str
    version: str
    description: str
    risk: str
    parameters: dict[str, Any]
    timeout_s: int
    enabled: bool
    approval_required: bool


class ToolPatch(Strict):
    enabled: bool | None = None
    approval_required: bool | None = None


class RunIn(Strict):
    params: dict[str, Any] = Field(default_factory=dict)
    wait: bool = Field(default=True, description="answer when the tool has finished")
    deadline_ms: int | None = Field(
        default=None, ge=100, le=60_000, description="shorter than the tool's own timeout"
    )


class ApprovalOut(BaseModel):
    id: UUID
    state: str
    expires_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None


class ExecutionOut(BaseModel):
    id: UUID
    server_id: UUID
    tool: str
    risk: str
    params: dict[str, Any]
    requested_by: str
    requested_by_type: str
    area: str
    incident_id: UUID | None
    status: str
    output: Any
    truncated: bool
    error: str | None
    error_kind: str | None
    duration_ms: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    approval: ApprovalOut | None = None

    @classmethod
    def of(cls, e: ToolExecution, approval: Approval | None = None) -> ExecutionOut:
        out = cls.of_stored({column: getattr(e, column) for column in EXECUTION_COLUMNS})
        if approval is not None:
            out.approval = _approval_out(approval)
        return out

    @classmethod
    def of_stored(cls, row: Mapping[str, Any]) -> ExecutionOut:
        """From an execution row as the hub's result statement returns it."""
        return cls(
            id=row["id"],
            server_id=row["server_id"],
            tool=row["tool"],
            risk=row["risk"],
            params=row["params"],
            requested_by=row["requested_by_label"],
            requested_by_type=row["requested_by_type"],
            area=row["area"],
            incident_id=row["incident_id"],
            status=row["status"],
            output=row["output"],
            truncated=row["truncated"],
            error=row["error"],
            error_kind=row["error_kind"],
            duration_ms=row["duration_ms"],
            created_at=row["created_at"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
        )


def _approval_out(a: Approval) -> ApprovalOut:
    return ApprovalOut(
        id=a.id,
        state=a.state,
        expires_at=a.expires_at,
        decided_by=a.decided_by,
        decided_at=a.decided_at,
        reason=a.reason,
    )


class PendingOut(BaseModel):
    approval: ApprovalOut
    execution: ExecutionOut


class DecisionIn(Strict):
    approve: bool
    reason: str = Field(default="", max_length=2000)


def _tool_out(view: catalogue.ToolView) -> ToolOut:
    spec = view.spec
    return ToolOut(
        name=spec["name"],
        version=spec["version"],
        description=spec["description"],
        risk=spec["risk"],
        parameters=spec["parameters"],
        timeout_s=spec["timeout_s"],
        enabled=view.enabled,
        approval_required=view.approval_required,
    )


async def _execution(state: AppState, principal: Principal, execution_id: UUID) -> ExecutionOut:
    async with state.db.tenant_session(principal.org_id) as session:
        row = await session.get(ToolExecution, execution_id)
        if row is None:
            raise NotFound("tool execution")
        return ExecutionOut.of(row, await executions.approval_for(session, row.id))


@router.get("/tools", response_model=list[ToolOut], summary="The tool catalogue and permissions")
async def list_tools(principal: PrincipalDep, state: StateDep) -> list[ToolOut]:
    assert state.manifest is not None
    async with state.db.tenant_session(principal.org_id) as session:
        return [_tool_out(v) for v in await catalogue.tool_views(session, state.manifest)]


@router.patch("/tools/{tool}", response_model=ToolOut, summary="Enable a tool, require approval")
async def patch_tool(
    tool: str, body: ToolPatch, principal: PrincipalDep, state: StateDep
) -> ToolOut:
    assert state.manifest is not None
    async with state.db.tenant_session(principal.org_id) as session:
        view = await catalogue.set_permissions(
            session,
            principal,
            state.manifest,
            tool,
            enabled=body.enabled,
            approval_required=body.approval_required,
        )
    return _tool_out(view)


async def _run(
    state: AppState, principal: Principal, server_id: UUID, tool: str, body: RunIn
) -> tuple[int, bytes]:
    """Run the tool; the status code and the execution as JSON."""
    assert state.manifest is not None
    row = await state.runner.request_stored(
        principal.org_id,
        Requester(principal.actor),
        state.manifest,
        server_id,
        tool,
        body.params,
        wait=body.wait,
        deadline_ms=body.deadline_ms,
    )
    if isinstance(row, ToolExecution):
        out = (
            await _execution(state, principal, row.id)  # with its approval
            if row.status == "awaiting_approval"
            else ExecutionOut.of(row)
        )
    else:  # as the result's statement returned it
        out = ExecutionOut.of_stored(row)
    code = status.HTTP_200_OK if out.status in executions.FINAL else status.HTTP_202_ACCEPTED
    # Serialised once, rather than re-validated against the response model by FastAPI.
    return code, out.model_dump_json().encode()


RUN_PATH = "/servers/{server_id}/tools/{tool}/run"


@router.post(
    RUN_PATH,
    response_model=ExecutionOut,
    summary="Run a tool on a server: 200 when finished, 202 when waiting for approval or running",
)
async def run_tool(
    server_id: UUID,
    tool: str,
    body: RunIn,
    principal: PrincipalDep,
    state: StateDep,
    response: Response,
) -> Response:
    code, payload = await _run(state, principal, server_id, tool, body)
    answer = Response(payload, status_code=code, media_type="application/json")
    # The headers the dependencies set (rate limits) go with it.
    answer.raw_headers.extend(
        (name, value) for name, value in response.raw_headers if name != b"content-length"
    )
    return answer


async def _run_fast(state: AppState, request: FastRequest) -> FastAnswer | None:
    """``run_tool`` for the fast path; declines what does not validate (FastAPI words the error)."""
    content_type = request.headers.get("content-type", "")
    if content_type and "json" not in content_type:
        return None
    try:
        server_id = UUID(request.params["server_id"])
        body = RunIn.model_validate_json(request.body)
    except ValueError:  # pydantic's ValidationError is one
        return None
    principal, headers = await authenticate(
        state,
        method=request.method,
        authorization=request.headers.get("authorization", ""),
        session_token=request.cookie(SESSION_COOKIE),
        csrf_token=request.headers.get("x-csrf-token", ""),
        ip=request.client_ip,
    )
    code, payload = await _run(state, principal, server_id, request.params["tool"], body)
    return FastAnswer(code, payload, headers)


# Running a tool is the call automation and the AI agent make in loops (see vixpro.web.fastpath).
RUN_FAST = FastRoute("POST", "/api/v1" + RUN_PATH, _run_fast)


@router.get("/executions", response_model=Page[ExecutionOut], summary="Every tool execution")
async def list_executions(
    principal: PrincipalDep,
    state: StateDep,
    page: PageDep,
    server_id: UUID | None = None,
    tool: str | None = Query(default=None, max_length=64),
    status_: str | None = Query(default=None, alias="status", max_length=24),
) -> Page[ExecutionOut]:
    async with state.db.tenant_session(principal.org_id) as session:
        rows = await executions.list_executions(
            session,
            limit=page.limit,
            cursor=page.cursor,
            server_id=server_id,
            tool=tool,
            status=status_,
        )
    return Page(
        items=[ExecutionOut.of(r) for r in rows],
        next_cursor=page.next([(r.created_at, r.id) for r in rows]),
    )


@router.get("/executions/{execution_id}", response_model=ExecutionOut, summary="One execution")
async def get_execution(
    execution_id: UUID, principal: PrincipalDep, state: StateDep
) -> ExecutionOut:
    return await _execution(state, principal, execution_id)


@router.get("/approvals", response_model=list[PendingOut], summary="Approval requests")
async def list_approvals(
    principal: PrincipalDep,
    state: StateDep,
    state_: str | None = Query(default="pending", alias="state", max_length=16),
) -> list[PendingOut]:
    async with state.db.tenant_session(principal.org_id) as session:
        rows = await executions.list_approvals(session, state=state_ or None)
    return [PendingOut(approval=_approval_out(a), execution=ExecutionOut.of(e)) for a, e in rows]


@router.post(
    "/approvals/{approval_id}/decision",
    response_model=ApprovalOut,
    summary="Approve or deny (owners and admins)",
)
async def decide(
    approval_id: UUID, body: DecisionIn, principal: PrincipalDep, state: StateDep
) -> ApprovalOut:
    approval = await state.runner.decide(principal, approval_id, body.approve, body.reason)
    return _approval_out(approval)
