"""The host agent went offline: can it be reached now, and did the server reboot."""

from __future__ import annotations

from vixpro.ai.report import DiagnosisReport
from vixpro.ai.runbooks.base import IncidentContext, Investigation, ToolPort

RECENT_BOOT_S = 3600


async def diagnose(context: IncidentContext, tools: ToolPort) -> DiagnosisReport:
    inv = Investigation("runbook:agent_offline", tools)
    overview = await inv.run("system_overview")
    if overview is None:
        return inv.escalate(
            "The host agent cannot be reached, so nothing can be checked on the server.",
            "the server may be down, unreachable or its host agent stopped: someone must look",
        )
    out = overview.output
    uptime = int(out.get("uptime_s") or 0)
    inv.found(
        overview,
        f"the host agent answers again: {out.get('hostname')} up {uptime} s since "
        f"{out.get('boot_time')}, load per CPU {out.get('load_per_cpu')}",
    )
    if uptime < RECENT_BOOT_S:
        return inv.conclude(
            f"{out.get('hostname')} rebooted at {out.get('boot_time')}.",
            f"The server rebooted at {out.get('boot_time')} ({uptime} s ago): the host agent "
            "was offline while it was down.",
            0.75,
        )
    return inv.escalate(
        f"The host agent on {out.get('hostname')} answers again; the server did not reboot.",
        "the host agent is back without a reboot: its connection or process was interrupted, "
        "which the server's own tools cannot explain",
    )
