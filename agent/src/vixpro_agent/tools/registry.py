"""Every built-in tool, by name. The platform imports :func:`builtin_specs` to build manifests.

Adding a tool group means one module under ``tools/`` with a ``TOOLS`` list, and one line here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vixpro_agent.tools import disk, docker, logs, network, packages, processes, services, system
from vixpro_agent.tools.base import Tool

GROUPS = (system, processes, disk, network, services, logs, packages, docker)


def _collect() -> dict[str, Tool]:
    tools: dict[str, Tool] = {}
    for group in GROUPS:
        for tool in group.TOOLS:
            if tool.name in tools:
                raise RuntimeError(f"two built-in tools are named {tool.name}")
            tools[tool.name] = tool
    return tools


_TOOLS = _collect()


def implementations() -> Mapping[str, Tool]:
    return dict(_TOOLS)


def builtin_specs() -> list[dict[str, Any]]:
    """ToolSpec dicts (name, version, description, risk, parameters, timeout_s), fresh copies."""
    return [tool.spec() for tool in _TOOLS.values()]
