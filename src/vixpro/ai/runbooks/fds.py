"""File-descriptor exhaustion: system-wide handles, and processes near their own limit."""

from __future__ import annotations

from vixpro.ai.report import DiagnosisReport
from vixpro.ai.runbooks.base import IncidentContext, Investigation, ToolPort, read

NEAR_LIMIT_PERCENT = 80.0


async def diagnose(context: IncidentContext, tools: ToolPort) -> DiagnosisReport:
    inv = Investigation("runbook:fds", tools)
    usage = await inv.run("fd_usage", {"limit": 50})
    if usage is None:
        return inv.escalate("Could not read the open file descriptors.")
    system = usage.output.get("system", {})
    rows = [r for r in usage.output.get("top_processes", []) if isinstance(r, dict)]
    near = sorted(
        (r for r in rows if (r.get("percent_of_limit") or 0) >= NEAR_LIMIT_PERCENT),
        key=lambda r: r["percent_of_limit"],
        reverse=True,
    )
    listed = ", ".join(
        f"{r['name']} (pid {r['pid']}) {r['open_fds']}/{r.get('soft_limit')}" for r in rows[:5]
    )
    inv.found(
        usage,
        f"system: {system.get('allocated')} of {system.get('max')} file handles "
        f"({system.get('percent')}%); most open: {listed}"
        + (
            f"; {usage.output.get('processes_not_readable')} processes not readable"
            if usage.output.get("processes_not_readable")
            else ""
        ),
    )
    if system.get("percent") is not None and system["percent"] >= NEAR_LIMIT_PERCENT:
        return inv.conclude(
            "The system is running out of file handles.",
            f"{system['allocated']} of the system's {system['max']} file handles are in use "
            f"({system['percent']}%); the most open are held by {listed}.",
            0.8,
        )
    if near:
        top = near[0]
        return inv.conclude(
            f"{top['name']} is near its open-files limit.",
            f"{top['name']} (pid {top['pid']}) has {top['open_fds']} files open of its soft "
            f"limit {top['soft_limit']} ({top['percent_of_limit']}%): it leaks descriptors or "
            "its limit (LimitNOFILE / ulimit -n) is too low.",
            0.85,
            [read("process_details", {"pid": top["pid"]}, "see what the process holds open")],
        )
    return inv.escalate(
        "No process is near its open-files limit now.",
        "file handles are not short now: the evidence does not support a root cause",
    )
