"""Tool ports for tests: the real host-agent tool implementations run in this process, and a
port whose every tool fails."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from vixpro_agent.config import AgentConfig
from vixpro_agent.output import fit_output, normalise
from vixpro_agent.protocol import messages
from vixpro_agent.protocol.schema import ValidationError, validate
from vixpro_agent.tools.base import RISK_READ, ToolContext, ToolError
from vixpro_agent.tools.registry import implementations

from vixpro.ai.runbooks.base import ToolOutcome


@dataclass
class LocalToolPort:
    """Runs the built-in tools in-process, the way the host agent's runner does: parameters
    validated (defaults filled) against the tool's spec, a ToolContext with a deadline and a
    config, the tool in a thread, errors mapped to their error kind, output bounded."""

    log_roots: tuple[str, ...] = ()
    cleanup_roots: tuple[str, ...] = ()
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def available(self) -> frozenset[str]:
        return frozenset(n for n, t in implementations().items() if t.risk == RISK_READ)

    async def run(self, tool: str, params: dict[str, Any]) -> ToolOutcome:
        self.calls.append((tool, params))
        implementation = implementations()[tool]
        assert implementation.risk == RISK_READ, f"a playbook ran the mutate tool {tool}"
        execution_id = uuid.uuid4()
        try:
            params = validate(params, implementation.parameters, "params")
        except ValidationError as exc:
            return ToolOutcome(execution_id, tool, False, None, str(exc), messages.ERR_BAD_PARAMS)
        config = AgentConfig(
            version=1,
            server_id=str(uuid.uuid4()),
            org_id=str(uuid.uuid4()),
            platform_url="http://127.0.0.1",
            allowed_log_roots=self.log_roots,
            allowed_cleanup_roots=self.cleanup_roots,
            issued_at="2026-01-01T00:00:00Z",
        )
        ctx = ToolContext(config=config, deadline=time.monotonic() + implementation.timeout_s)
        try:
            value = await asyncio.to_thread(implementation.func, params, ctx)
        except ToolError as exc:
            return ToolOutcome(execution_id, tool, False, exc.output, str(exc), exc.kind)
        output, _truncated = fit_output(normalise(value), messages.DEFAULT_OUTPUT_LIMIT)
        return ToolOutcome(execution_id, tool, True, output)

    def ran(self) -> list[str]:
        return [name for name, _ in self.calls]


@dataclass
class FailingToolPort:
    """Every tool is offered and every call fails, as when the host agent stops answering."""

    error: str = "the host agent did not answer within 15 s"
    kind: str = messages.ERR_TIMEOUT
    calls: list[str] = field(default_factory=list)

    @property
    def available(self) -> frozenset[str]:
        return frozenset(implementations())

    async def run(self, tool: str, params: dict[str, Any]) -> ToolOutcome:
        self.calls.append(tool)
        return ToolOutcome(uuid.uuid4(), tool, False, None, self.error, self.kind)


@dataclass
class NoToolsPort(LocalToolPort):
    """A server whose organisation has turned every tool off."""

    @property
    def available(self) -> frozenset[str]:
        return frozenset()
