"""systemd services: one unit's state, the failed units, restarting a unit."""

from __future__ import annotations

from typing import Any

from vixpro_agent.tools.base import (
    RISK_MUTATE,
    RISK_READ,
    Params,
    Tool,
    ToolContext,
    params_schema,
    require_systemd,
)

# Starts with an alphanumeric so a unit name can never be read as an option.
UNIT = {
    "type": "string",
    "minLength": 1,
    "maxLength": 256,
    "pattern": "^[A-Za-z0-9][A-Za-z0-9@._:\\\\-]*$",
    "description": "systemd unit name, e.g. nginx.service or nginx",
}
SHOW_PROPERTIES = (
    "Id",
    "Description",
    "LoadState",
    "ActiveState",
    "SubState",
    "UnitFileState",
    "Result",
    "MainPID",
    "ExecMainStatus",
    "ExecMainStartTimestamp",
    "ActiveEnterTimestamp",
    "InactiveEnterTimestamp",
    "NRestarts",
    "MemoryCurrent",
    "TasksCurrent",
    "FragmentPath",
)
NUMBERS = ("MainPID", "ExecMainStatus", "NRestarts", "MemoryCurrent", "TasksCurrent")


def _show(unit: str, ctx: ToolContext) -> dict[str, Any]:
    result = ctx.run(
        ["systemctl", "show", "--no-pager", "--property=" + ",".join(SHOW_PROPERTIES), "--", unit],
        check=True,
        what=f"systemctl show {unit}",
    )
    fields: dict[str, Any] = {}
    for line in result.stdout.splitlines():
        key, sep, value = line.partition("=")
        if not sep:
            continue
        if key in NUMBERS:
            # systemd prints "[not set]" or 2^64-1 for "no value"
            fields[key] = int(value) if value.isdigit() and len(value) < 19 else None
        else:
            fields[key] = value or None
    return fields


def systemd_service_status(params: Params, ctx: ToolContext) -> dict[str, Any]:
    require_systemd()
    fields = _show(params["unit"], ctx)
    return {
        "unit": params["unit"],
        "exists": fields.get("LoadState") not in ("not-found", None),
        "active": fields.get("ActiveState") == "active",
        "properties": fields,
    }


def systemd_failed_units(params: Params, ctx: ToolContext) -> dict[str, Any]:
    require_systemd()
    result = ctx.run(
        ["systemctl", "list-units", "--failed", "--all", "--no-legend", "--plain", "--no-pager"],
        check=True,
        what="systemctl list-units --failed",
    )
    units: list[dict[str, Any]] = []
    for line in result.stdout.splitlines():
        parts = line.split(None, 4)
        if len(parts) < 4:
            continue
        units.append(
            {
                "unit": parts[0],
                "load": parts[1],
                "active": parts[2],
                "sub": parts[3],
                "description": parts[4] if len(parts) > 4 else "",
            }
        )
    return {"failed_units": units, "count": len(units)}


def restart_service(params: Params, ctx: ToolContext) -> dict[str, Any]:
    require_systemd()
    unit = params["unit"]
    before = _show(unit, ctx)
    ctx.run(["systemctl", "restart", "--", unit], check=True, what=f"systemctl restart {unit}")
    after = _show(unit, ctx)
    return {
        "unit": unit,
        "restarted": True,
        "main_pid_before": before.get("MainPID"),
        "main_pid_after": after.get("MainPID"),
        "active_state": after.get("ActiveState"),
        "sub_state": after.get("SubState"),
    }


TOOLS = [
    Tool(
        name="systemd_service_status",
        description="A systemd unit's state: load/active/sub state, main PID, restarts, memory, since when.",
        risk=RISK_READ,
        parameters=params_schema(["unit"], unit=UNIT),
        func=systemd_service_status,
        timeout_s=15,
    ),
    Tool(
        name="systemd_failed_units",
        description="All systemd units in the failed state.",
        risk=RISK_READ,
        parameters=params_schema(),
        func=systemd_failed_units,
        timeout_s=15,
    ),
    Tool(
        name="restart_service",
        description="Restart a systemd unit (systemctl restart) and report its state afterwards. Needs root.",
        risk=RISK_MUTATE,
        parameters=params_schema(["unit"], unit=UNIT),
        func=restart_service,
        timeout_s=60,
    ),
]
