"""A service down or crash-looping: its systemd unit or Docker container, state and logs."""

from __future__ import annotations

from typing import Any

from vixpro.ai.report import DiagnosisReport
from vixpro.ai.runbooks.base import IncidentContext, Investigation, ToolPort, mutate
from vixpro.ai.runbooks.targets import container, systemd_unit

CRASH_LOOP_RESTARTS = 3
ERROR_PRIORITIES = ("emerg", "alert", "crit", "err")


async def _last_errors(inv: Investigation, unit: str) -> str | None:
    logs = await inv.run("service_logs", {"unit": unit, "lines": 30})
    if logs is None:
        return None
    entries = [e for e in logs.output.get("entries", []) if isinstance(e, dict)]
    errors = [e for e in entries if e.get("priority") in ERROR_PRIORITIES] or entries[-3:]
    if not errors:
        inv.found(logs, f"the journal has no entries for {unit}")
        return None
    last = errors[-1]
    inv.found(
        logs,
        f"last journal lines of {unit}: " + " | ".join(str(e.get("message")) for e in errors[-3:]),
    )
    return str(last.get("message"))


async def _systemd(inv: Investigation, unit: str) -> DiagnosisReport:
    status = await inv.run("systemd_service_status", {"unit": unit})
    if status is None:
        return inv.escalate(f"Could not read the state of {unit}.")
    props: dict[str, Any] = status.output.get("properties", {})
    state = f"{props.get('ActiveState')}/{props.get('SubState')}"
    restarts = props.get("NRestarts") or 0
    inv.found(
        status,
        f"{unit}: {state}, result {props.get('Result')}, exit status "
        f"{props.get('ExecMainStatus')}, {restarts} restarts, main pid {props.get('MainPID')}",
    )
    if not status.output.get("exists"):
        return inv.escalate(
            f"There is no unit {unit} on this server.",
            f"systemd does not know {unit} (LoadState {props.get('LoadState')}): the alert "
            "may name the service differently",
        )
    restart = mutate("restart_service", {"unit": unit}, f"start {unit} again")
    if not status.output.get("active"):
        message = await _last_errors(inv, unit)
        cause = (
            f"{unit} is {state} (result {props.get('Result')}, exit status "
            f"{props.get('ExecMainStatus')})"
            + (f"; its last log line: {message}" if message else "")
        )
        return inv.conclude(f"{unit} is not running.", cause, 0.85, [restart])
    if restarts >= CRASH_LOOP_RESTARTS:
        message = await _last_errors(inv, unit)
        cause = f"{unit} keeps crashing and being restarted by systemd ({restarts} restarts)" + (
            f"; its last log line: {message}" if message else ""
        )
        return inv.conclude(f"{unit} is crash-looping.", cause, 0.7)
    return inv.escalate(
        f"{unit} is running now ({state}, {restarts} restarts).",
        "the service is up and not restarting: the evidence does not support a root cause",
    )


async def _docker(inv: Investigation, name: str) -> DiagnosisReport:
    listing = await inv.run("docker_containers", {"all": True})
    if listing is None:
        return inv.escalate(f"Could not list the Docker containers to check {name}.")
    rows = [c for c in listing.output.get("containers", []) if isinstance(c, dict)]
    row = next((c for c in rows if name in str(c.get("name", "")).split(",")), None)
    if row is None:
        return inv.escalate(
            f"No container named {name} on this server.",
            f"docker lists {len(rows)} containers, none named {name}",
        )
    inv.found(listing, f"container {name}: {row.get('state')} ({row.get('status')})")
    if row.get("state") == "running" and "restarting" not in str(row.get("status")).lower():
        return inv.escalate(
            f"Container {name} is running now.",
            "the container is up: the evidence does not support a root cause",
        )
    logs = await inv.run("docker_container_logs", {"container": name, "lines": 20})
    last = None
    if logs is not None:
        lines = [*logs.output.get("stderr", []), *logs.output.get("stdout", [])]
        last = lines[-1] if lines else None
        inv.found(logs, f"last log lines of {name}: " + (" | ".join(lines[-3:]) or "none"))
    cause = f"Container {name} is {row.get('state')} ({row.get('status')})" + (
        f"; last log line: {last}" if last else ""
    )
    restart = mutate("restart_docker_container", {"container": name}, f"start {name} again")
    return inv.conclude(f"Container {name} is not running.", cause, 0.8, [restart])


async def diagnose(context: IncidentContext, tools: ToolPort) -> DiagnosisReport:
    inv = Investigation("runbook:service", tools)
    name = container(context)
    if name is not None:
        return await _docker(inv, name)
    unit = systemd_unit(context)
    if unit is not None:
        return await _systemd(inv, unit)
    failed = await inv.run("systemd_failed_units")
    if failed is None:
        return inv.escalate("The alert names no service, and failed units could not be listed.")
    units = [u for u in failed.output.get("failed_units", []) if isinstance(u, dict)]
    if not units:
        inv.found(failed, "no systemd unit is in the failed state")
        return inv.escalate(
            "The alert names no service and no unit has failed.",
            "the evidence does not say which service is down",
        )
    names = ", ".join(str(u["unit"]) for u in units)
    inv.found(failed, f"failed units: {names}")
    if len(units) == 1:
        return await _systemd(inv, str(units[0]["unit"]))
    return inv.escalate(
        f"{len(units)} units have failed: {names}.",
        "several units have failed and the alert does not say which one it is about",
    )
