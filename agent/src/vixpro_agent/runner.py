"""Running one tool call: manifest and parameter checks, deadline, output bound, result.

Each call runs in its own daemon thread: tools are plain blocking functions (psutil,
sockets, subprocesses), and a thread stuck past its deadline must not hold up the others
or the host agent's exit. What can be killed (subprocess trees) is killed at the deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Mapping
from typing import Any, Protocol

from vixpro_agent.config import AgentConfig
from vixpro_agent.manifest import ManifestStore
from vixpro_agent.output import OutputError, fit_output, normalise
from vixpro_agent.protocol import messages
from vixpro_agent.protocol.schema import ValidationError, validate
from vixpro_agent.tools.base import RISK_MUTATE, Params, Tool, ToolContext, ToolError
from vixpro_agent.tools.registry import implementations

log = logging.getLogger("vixpro_agent.runner")


class Guard(Protocol):
    """What the runner needs from the config guard (see ``tamper.ConfigGuard``)."""

    @property
    def tampered(self) -> bool: ...

    @property
    def config(self) -> AgentConfig | None: ...


class Runner:
    def __init__(
        self,
        manifests: ManifestStore,
        guard: Guard,
        tools: Mapping[str, Tool] | None = None,
        output_limit: int = messages.DEFAULT_OUTPUT_LIMIT,
    ) -> None:
        self._manifests = manifests
        self._guard = guard
        self._tools = dict(tools) if tools is not None else dict(implementations())
        self._output_limit = output_limit

    async def run(self, call: Mapping[str, Any]) -> messages.Message:
        """The ``tool_result`` message for a ``tool_call`` message. Never raises."""
        started = time.monotonic()
        call_id = call.get("id")

        def result(
            ok: bool,
            output: Any = None,
            error: str | None = None,
            kind: str | None = None,
            truncated: bool = False,
        ) -> messages.Message:
            return messages.message(
                messages.TOOL_RESULT,
                id=call_id,
                ok=ok,
                output=output,
                error=error,
                error_kind=kind,
                duration_ms=int((time.monotonic() - started) * 1000),
                truncated=truncated,
            )

        name = call.get("tool")
        params = call.get("params", {})
        deadline_ms = call.get("deadline_ms", messages.DEFAULT_DEADLINE_MS)
        problem = _call_problem(call_id, name, params, deadline_ms)
        if problem or not isinstance(name, str):
            return result(False, error=problem, kind=messages.ERR_BAD_PARAMS)
        # This call keeps these specs even if a newer manifest arrives while it runs.
        manifest = self._manifests.current
        spec = manifest.tools.get(name) if manifest else None
        tool = self._tools.get(name)
        refusal = _refusal(name, spec, tool)
        if refusal or spec is None or tool is None:
            return result(False, error=refusal, kind=messages.ERR_UNKNOWN_TOOL)
        try:
            params = validate(params, spec["parameters"], "params")
        except ValidationError as exc:
            return result(False, error=str(exc), kind=messages.ERR_BAD_PARAMS)
        if spec["risk"] == RISK_MUTATE and self._guard.tampered:
            return result(
                False,
                error="mutating tools are refused: the config file failed verification (tampering)",
                kind=messages.ERR_REFUSED,
            )
        budget = min(deadline_ms / 1000, float(spec["timeout_s"]))
        ctx = ToolContext(
            config=self._guard.config,
            deadline=time.monotonic() + budget,
            output_limit=self._output_limit,
        )
        future = _start_thread(tool, params, ctx)
        try:
            done, _pending = await asyncio.wait({future}, timeout=budget)
        except asyncio.CancelledError:
            # The host agent is stopping: leave no process tree of this call behind.
            future.add_done_callback(_discard)
            ctx.cancel()
            raise
        if not done:
            future.add_done_callback(_discard)
            await asyncio.get_running_loop().run_in_executor(None, ctx.cancel)
            error = f"{name} did not finish within {budget:g} s"
            return result(False, error=error, kind=messages.ERR_TIMEOUT)
        failure = future.exception()
        if isinstance(failure, ToolError):
            output = (
                None if failure.output is None else _bounded(failure.output, self._output_limit)[0]
            )
            return result(False, output=output, error=str(failure), kind=failure.kind)
        if failure is not None:
            log.warning("tool %s raised %s", name, type(failure).__name__, exc_info=failure)
            error = f"{type(failure).__name__}: {failure}"
            return result(False, error=error, kind=messages.ERR_CRASHED)
        try:
            output, truncated = _bounded(future.result(), self._output_limit)
        except OutputError as exc:
            return result(False, error=str(exc), kind=messages.ERR_CRASHED)
        return result(True, output=output, truncated=truncated)


def _refusal(name: str, spec: Mapping[str, Any] | None, tool: Tool | None) -> str | None:
    if spec is None:
        return f"{name} is not in the verified manifest"
    if tool is None:
        return f"{name} is not implemented by this host agent"
    if tool.version != spec["version"]:
        return (
            f"the manifest has {name} version {spec['version']}, "
            f"this host agent implements version {tool.version}"
        )
    return None


def _call_problem(call_id: Any, name: Any, params: Any, deadline_ms: Any) -> str | None:
    if not isinstance(call_id, str) or not call_id:
        return "tool_call.id: must be a non-empty string"
    if not isinstance(name, str):
        return "tool_call.tool: must be a string"
    if not isinstance(params, dict):
        return "tool_call.params: must be an object"
    if (
        isinstance(deadline_ms, bool)
        or not isinstance(deadline_ms, (int, float))
        or deadline_ms <= 0
    ):
        return "tool_call.deadline_ms: must be a positive number"
    return None


def _bounded(output: Any, limit: int) -> tuple[Any, bool]:
    return fit_output(normalise(output), limit)


def _start_thread(tool: Tool, params: Params, ctx: ToolContext) -> asyncio.Future[Any]:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(value: Any, exc: BaseException | None) -> None:
        if future.done():
            return
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(value)

    def target() -> None:
        value: Any = None
        error: BaseException | None = None
        try:
            value = tool.func(params, ctx)
        except Exception as exc:  # noqa: BLE001 - reported as error_kind "crashed"
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop has closed: the host agent is stopping
            loop.call_soon_threadsafe(settle, value, error)

    threading.Thread(target=target, name=f"tool:{tool.name}", daemon=True).start()
    return future


def _discard(future: asyncio.Future[Any]) -> None:
    # A call abandoned at its deadline may still end later; its outcome is not wanted.
    if not future.cancelled():
        future.exception()
