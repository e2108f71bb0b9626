"""The tool bridge: a server's enabled tools, offered to an LLM as pydantic-ai tools.

Each tool the organisation has enabled in the signed manifest becomes one pydantic-ai tool
whose argument schema is the manifest's JSON schema. A call goes through the platform's
runner like any other (permission, approval, the host agent, the audit row). Calls that need
approval wait up to the area's timeout; a denial or an expiry is told to the model, which
carries on. The model sees bounded output (head and tail kept, the cut stated) and at most
``budget`` calls per run.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from pydantic_ai import Tool
from sqlalchemy import text

from vixpro.accounts.errors import Conflict, Forbidden, InvalidInput, NotFound
from vixpro.accounts.principal import Actor
from vixpro.core.approvals import Area, approval_timeout
from vixpro.db.models import Manifest, ToolExecution
from vixpro.tools.catalogue import ToolView, tool_views
from vixpro.tools.executions import FINAL, Requester, Runner, approval_for

DEFAULT_BUDGET = 25
DEFAULT_OUTPUT_LIMIT = 6000  # characters of one tool's output the model reads


@dataclass(frozen=True)
class ToolEvent:
    """Something the bridge did, for the timeline or a chat stream.

    ``kind``: ``tool_started``, ``approval_requested``, ``tool_finished`` or ``tool_refused``.
    """

    kind: str
    tool: str
    params: dict[str, Any]
    execution_id: uuid.UUID | None = None
    approval_id: uuid.UUID | None = None
    status: str | None = None
    detail: str = ""
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    server: str = ""  # the server's name, when a run spans several


EventSink = Callable[[ToolEvent], Awaitable[None]]


@dataclass(frozen=True)
class Ran:
    """One execution this run made (what evidence may cite, by its short ``ref``: E1, E2...).

    The model cites refs rather than execution ids: short names are hard to garble, and the
    platform maps them back to the executions."""

    ref: str
    execution_id: uuid.UUID
    tool: str
    params: dict[str, Any]
    status: str
    output: Any


def bounded(value: Any, limit: int = DEFAULT_OUTPUT_LIMIT) -> str:
    """``value`` as JSON text of at most about ``limit`` characters: head and tail kept, and
    the cut stated in the middle so the model knows it did not see everything."""
    rendered = value if isinstance(value, str) else json.dumps(value, default=str)
    if len(rendered) <= limit:
        return rendered
    head = rendered[: limit * 2 // 3]
    tail = rendered[-(limit // 3) :]
    cut = len(rendered) - len(head) - len(tail)
    return (
        f"{head}\n[... output truncated: {cut} of {len(rendered)} characters cut from the "
        f"middle ...]\n{tail}"
    )


def describe(view: ToolView) -> str:
    """The tool's description with what the model must know about running it."""
    notes = []
    if view.risk == "mutate":
        notes.append("changes the server")
    if view.approval_required:
        notes.append("needs a person's approval before it runs")
    suffix = f" ({'; '.join(notes)})" if notes else ""
    return f"{view.spec.get('description', view.name)}{suffix}"


_EXPIRE = text(
    """
WITH expired AS (
    UPDATE approvals SET state = 'expired'
    WHERE execution_id = :id AND state = 'pending'
    RETURNING execution_id
)
UPDATE tool_executions SET status = 'expired', error = 'nobody approved the request in time',
       error_kind = 'expired', finished_at = now()
WHERE id IN (SELECT execution_id FROM expired) AND status = 'awaiting_approval'
"""
)


class ToolBridge:
    """The tools of one server for one AI run, with its budget and its record of executions."""

    def __init__(
        self,
        runner: Runner,
        manifest: Manifest,
        org_id: uuid.UUID,
        server_id: uuid.UUID,
        views: list[ToolView],
        requester: Requester,
        *,
        budget: int = DEFAULT_BUDGET,
        approval_wait_s: float | None = None,
        output_limit: int = DEFAULT_OUTPUT_LIMIT,
        on_event: EventSink | None = None,
        evidence: Sequence[Ran] = (),
    ) -> None:
        """``evidence``: executions made for this run before it started (the diagnosis's
        initial evidence); the model may cite them and they count against the budget."""
        self.runner = runner
        self.manifest = manifest
        self.org_id = org_id
        self.server_id = server_id
        self.views = {v.name: v for v in views if v.enabled}
        self.requester = requester
        self.budget = budget
        self.approval_wait_s = (
            approval_timeout(requester.area).total_seconds()
            if approval_wait_s is None
            else approval_wait_s
        )
        self.output_limit = output_limit
        self.on_event = on_event
        self.ran: dict[str, Ran] = {ran.ref: ran for ran in evidence}  # by ref
        self.calls = len(self.ran)
        self.first_tool_at: datetime | None = None

    @classmethod
    async def open(
        cls,
        runner: Runner,
        manifest: Manifest,
        org_id: uuid.UUID,
        server_id: uuid.UUID,
        *,
        actor: Actor,
        area: Area,
        incident_id: uuid.UUID | None = None,
        budget: int = DEFAULT_BUDGET,
        approval_wait_s: float | None = None,
        output_limit: int = DEFAULT_OUTPUT_LIMIT,
        on_event: EventSink | None = None,
    ) -> ToolBridge:
        """The bridge with the tools the organisation has enabled, as it sees them now."""
        async with runner.db.tenant_session(org_id) as session:
            views = await tool_views(session, manifest)
        return cls(
            runner,
            manifest,
            org_id,
            server_id,
            views,
            Requester(actor=actor, area=area, incident_id=incident_id),
            budget=budget,
            approval_wait_s=approval_wait_s,
            output_limit=output_limit,
            on_event=on_event,
        )

    @property
    def names(self) -> list[str]:
        return sorted(self.views)

    def tools(self) -> list[Tool[Any]]:
        """One pydantic-ai tool per enabled tool; its schema is the manifest's."""
        return [
            Tool.from_schema(
                self._function(name),
                name=name,
                description=describe(view),
                json_schema=view.spec["parameters"],
            )
            for name, view in sorted(self.views.items())
        ]

    def _function(self, name: str) -> Callable[..., Awaitable[str]]:
        async def call(**params: Any) -> str:
            return await self.call(name, params)

        return call

    async def _emit(self, event: ToolEvent) -> None:
        if self.on_event is not None:
            await self.on_event(event)

    async def call(self, tool: str, params: dict[str, Any]) -> str:
        """Run ``tool`` and say what happened, in words the model can act on."""
        return (await self.execute(tool, params))[1]

    async def execute(self, tool: str, params: dict[str, Any]) -> tuple[Ran | None, str]:
        """Run ``tool``: the execution (None: refused before running) and what to tell the
        model."""
        if self.calls >= self.budget:
            await self._emit(ToolEvent("tool_refused", tool, params, detail="budget spent"))
            return None, (
                f"Refused: the tool-call budget of {self.budget} calls for this run is spent. "
                "No more tools will run; conclude with what you have, and escalate if unsure."
            )
        self.calls += 1
        if self.first_tool_at is None:
            self.first_tool_at = datetime.now(UTC)
        await self._emit(ToolEvent("tool_started", tool, params))
        try:
            row = await self.runner.request(
                self.org_id, self.requester, self.manifest, self.server_id, tool, params, wait=True
            )
        except (Conflict, Forbidden, InvalidInput, NotFound) as exc:
            await self._emit(ToolEvent("tool_refused", tool, params, detail=str(exc)))
            return None, f"Refused: {exc}"
        if row.status == "awaiting_approval":
            row = await self._wait_for_approval(row)
        elif row.status not in FINAL:
            row = await self.runner.wait_for(self.org_id, row.id, row.deadline_ms / 1000 + 5)
        ref = f"E{len(self.ran) + 1}"
        ran = self.ran[ref] = Ran(ref, row.id, tool, dict(row.params), row.status, row.output)
        await self._emit(
            ToolEvent(
                "tool_finished",
                tool,
                params,
                execution_id=row.id,
                status=row.status,
                detail=row.error or "",
            )
        )
        return ran, self._tell(ref, row)

    async def _wait_for_approval(self, row: ToolExecution) -> ToolExecution:
        async with self.runner.db.tenant_session(self.org_id) as session:
            approval = await approval_for(session, row.id)
        await self._emit(
            ToolEvent(
                "approval_requested",
                row.tool,
                dict(row.params),
                execution_id=row.id,
                approval_id=approval.id if approval else None,
                status=row.status,
            )
        )
        row = await self.runner.wait_for(self.org_id, row.id, self.approval_wait_s)
        if row.status == "awaiting_approval":
            # The run's wait is over: nobody may approve it any more.
            async with self.runner.db.tenant_session(self.org_id) as session:
                await session.execute(_EXPIRE, {"id": row.id})
            row = await self.runner.get(self.org_id, row.id)
        if row.status not in FINAL:  # approved at the last moment: let it finish
            row = await self.runner.wait_for(self.org_id, row.id, row.deadline_ms / 1000 + 5)
        return row

    def _tell(self, ref: str, row: ToolExecution) -> str:
        if row.status == "succeeded":
            note = " (the host agent cut this output short)" if row.truncated else ""
            return (
                f"ref: {ref}\ntool: {row.tool}\nstatus: succeeded{note}\n"
                f"output:\n{bounded(row.output, self.output_limit)}"
            )
        if row.status == "denied":
            return (
                f"ref: {ref}\nThe request to run {row.tool} was denied "
                f"({row.error}). Do not ask for it again in this run; carry on without it."
            )
        if row.status == "expired":
            minutes = self.approval_wait_s / 60
            return (
                f"ref: {ref}\nNobody approved running {row.tool} within "
                f"{minutes:g} minutes, so it did not run. Carry on without it."
            )
        if row.status in FINAL:
            return (
                f"ref: {ref}\ntool: {row.tool}\nstatus: failed "
                f"({row.error_kind}): {bounded(row.error or '', self.output_limit)}"
            )
        return (
            f"ref: {ref}\n{row.tool} has not finished in time "
            f"(status {row.status}); carry on without it."
        )


class FleetBridge:
    """The tools of every server of an organisation, for questions about the fleet.

    Each tool takes one more argument, ``server`` (one of the servers' names), and runs there
    through that server's :class:`ToolBridge`; ``list_servers`` says which servers there are.
    One budget covers the whole run.
    """

    def __init__(
        self,
        runner: Runner,
        manifest: Manifest,
        org_id: uuid.UUID,
        servers: dict[str, tuple[uuid.UUID, str]],
        views: list[ToolView],
        requester: Requester,
        *,
        budget: int = DEFAULT_BUDGET,
        approval_wait_s: float | None = None,
        on_event: EventSink | None = None,
    ) -> None:
        self.servers = servers  # name → (id, status)
        self.views = {v.name: v for v in views if v.enabled}
        self.budget = budget
        self.calls = 0
        self.bridges = {
            name: ToolBridge(
                runner,
                manifest,
                org_id,
                server_id,
                views,
                requester,
                budget=budget,
                approval_wait_s=approval_wait_s,
                on_event=_tagged(on_event, name),
            )
            for name, (server_id, _status) in servers.items()
        }

    def tools(self) -> list[Tool[Any]]:
        names = sorted(self.servers)
        tools: list[Tool[Any]] = [
            Tool.from_schema(
                self._list_servers,
                name="list_servers",
                description="The organisation's servers with their host-agent status.",
                json_schema={"type": "object", "properties": {}, "additionalProperties": False},
            )
        ]
        for name, view in sorted(self.views.items()):
            schema = dict(view.spec["parameters"])
            schema["properties"] = {
                "server": {"type": "string", "enum": names, "description": "which server"},
                **schema.get("properties", {}),
            }
            schema["required"] = ["server", *schema.get("required", [])]
            tools.append(
                Tool.from_schema(
                    self._function(name), name=name, description=describe(view), json_schema=schema
                )
            )
        return tools

    async def _list_servers(self) -> str:
        return json.dumps(
            [
                {"name": name, "status": status}
                for name, (_id, status) in sorted(self.servers.items())
            ]
        )

    def _function(self, name: str) -> Callable[..., Awaitable[str]]:
        async def call(**params: Any) -> str:
            server = str(params.pop("server", ""))
            bridge = self.bridges.get(server)
            if bridge is None:
                return f"Refused: no server is named {server!r}; call list_servers."
            if self.calls >= self.budget:
                return (
                    f"Refused: the tool-call budget of {self.budget} calls for this run is "
                    "spent. Answer with what you have."
                )
            self.calls += 1
            return f"server: {server}\n" + await bridge.call(name, params)

        return call


def _tagged(sink: EventSink | None, server: str) -> EventSink | None:
    if sink is None:
        return None

    async def tagged(event: ToolEvent) -> None:
        await sink(replace(event, server=server))

    return tagged
