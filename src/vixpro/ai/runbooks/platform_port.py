"""Running a playbook's tools on a real server: through the platform's tool runner, so every
call is permission-checked, recorded as a tool execution and sent to the host agent."""

from __future__ import annotations

import uuid
from typing import Any

from vixpro.accounts.errors import Conflict, Forbidden, InvalidInput, NotFound
from vixpro.accounts.principal import SYSTEM, Actor
from vixpro.ai.runbooks.base import ToolOutcome
from vixpro.core.approvals import Area
from vixpro.db.models import Manifest, ToolExecution
from vixpro.tools.catalogue import tool_views
from vixpro.tools.executions import Requester, Runner

RUNBOOK_ACTOR = Actor(SYSTEM.type, None, "runbook engine")


def outcome_of(row: ToolExecution) -> ToolOutcome:
    ok = row.status == "succeeded"
    error = None if ok else (row.error or f"the execution ended as {row.status}")
    return ToolOutcome(
        execution_id=row.id,
        tool=row.tool,
        ok=ok,
        output=row.output,
        error=error,
        error_kind=None if ok else (row.error_kind or row.status),
    )


class PlatformToolPort:
    """A :class:`~vixpro.ai.runbooks.base.ToolPort` on one server of one organisation."""

    def __init__(
        self,
        runner: Runner,
        manifest: Manifest,
        org_id: uuid.UUID,
        server_id: uuid.UUID,
        available: frozenset[str],
        *,
        incident_id: uuid.UUID | None = None,
        actor: Actor = RUNBOOK_ACTOR,
    ) -> None:
        self.runner = runner
        self.manifest = manifest
        self.org_id = org_id
        self.server_id = server_id
        self._available = available
        self.requester = Requester(actor=actor, area=Area.REACTIVE, incident_id=incident_id)

    @classmethod
    async def open(
        cls,
        runner: Runner,
        manifest: Manifest,
        org_id: uuid.UUID,
        server_id: uuid.UUID,
        *,
        incident_id: uuid.UUID | None = None,
    ) -> PlatformToolPort:
        """The port with the read tools the organisation has enabled (runbooks run no others)."""
        async with runner.db.tenant_session(org_id) as session:
            views = await tool_views(session, manifest)
        available = frozenset(v.name for v in views if v.enabled and v.risk == "read")
        return cls(runner, manifest, org_id, server_id, available, incident_id=incident_id)

    @property
    def available(self) -> frozenset[str]:
        return self._available

    async def run(self, tool: str, params: dict[str, Any]) -> ToolOutcome:
        try:
            row = await self.runner.request(
                self.org_id, self.requester, self.manifest, self.server_id, tool, params, wait=True
            )
        except (Conflict, Forbidden, InvalidInput, NotFound) as exc:
            return ToolOutcome(None, tool, False, None, str(exc), type(exc).__name__.lower())
        return outcome_of(row)
