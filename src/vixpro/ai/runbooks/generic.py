"""Any other alert: a health sweep of the host, concluding only on a clear anomaly."""

from __future__ import annotations

from vixpro.ai.report import DiagnosisReport
from vixpro.ai.runbooks.base import IncidentContext, Investigation, ToolPort

DISK_PERCENT = 90.0
MEMORY_PERCENT = 90.0
LOAD_PER_CPU = 2.0


async def diagnose(context: IncidentContext, tools: ToolPort) -> DiagnosisReport:
    inv = Investigation("runbook:generic", tools)
    overview = await inv.run("system_overview")
    if overview is None:
        return inv.escalate("Could not read the server's overview.")
    out = overview.output
    memory = float(out.get("memory", {}).get("percent", 0.0))
    disk = float(out.get("root_disk", {}).get("percent", 0.0))
    load = float(out.get("load_per_cpu") or 0.0)
    inv.found(
        overview,
        f"{out.get('hostname')}: CPU {out.get('cpu', {}).get('percent')}%, load per CPU "
        f"{load:g}, memory {memory:g}%, root disk {disk:g}%, up {out.get('uptime_s')} s",
    )
    anomalies = []
    if disk >= DISK_PERCENT:
        anomalies.append(f"the root filesystem is {disk:g}% full")
    if memory >= MEMORY_PERCENT:
        anomalies.append(f"memory is {memory:g}% used")
    if load >= LOAD_PER_CPU:
        anomalies.append(f"the load is {load:g} per CPU")
    failed = None
    if "systemd_failed_units" in tools.available:
        failed = await inv.run("systemd_failed_units")
        inv.problems.clear()  # no systemd is normal on containers: not a reason to escalate
    if failed is not None:
        units = [str(u.get("unit")) for u in failed.output.get("failed_units", [])]
        inv.found(failed, f"failed units: {', '.join(units)}" if units else "no failed units")
        if units:
            anomalies.append(f"failed systemd units: {', '.join(units)}")
    if len(anomalies) == 1:
        return inv.conclude(
            f"One anomaly on {out.get('hostname')}: {anomalies[0]}.",
            f"On {out.get('hostname')}, {anomalies[0]}; nothing else stands out.",
            0.5,
        )
    if anomalies:
        return inv.escalate(
            f"Several anomalies on {out.get('hostname')}: {'; '.join(anomalies)}.",
            "several anomalies and an alert this runbook does not recognise: which one "
            "matters needs a person",
        )
    return inv.escalate(
        f"Nothing stands out on {out.get('hostname')}.",
        "the alert is of a kind this runbook does not recognise and the host looks healthy",
    )
