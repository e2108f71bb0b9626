"""CPU saturation: how busy the host is, and which process is burning it."""

from __future__ import annotations

from vixpro.ai.report import DiagnosisReport
from vixpro.ai.runbooks.base import IncidentContext, Investigation, ToolPort, mutate

HOG_PERCENT = 80.0  # of one CPU: a process at or above this is spinning
BUSY_PERCENT = 85.0  # of the whole host
LOAD_PER_CPU = 1.5


async def diagnose(context: IncidentContext, tools: ToolPort) -> DiagnosisReport:
    inv = Investigation("runbook:cpu", tools)
    load = await inv.run("load_uptime")
    busy = None
    if load is not None:
        times = load.output.get("cpu_times_percent", {})
        busy = round(100.0 - float(times.get("idle", 100.0)), 1)
        per_cpu = load.output.get("load_per_cpu", {})
        inv.found(
            load,
            f"CPU {busy:g}% busy over {load.output.get('cpu_count')} CPUs "
            f"(user {times.get('user')}%, system {times.get('system')}%, "
            f"iowait {times.get('iowait')}%, steal {times.get('steal')}%); load per CPU "
            f"{per_cpu.get('load1')} / {per_cpu.get('load5')} / {per_cpu.get('load15')}",
        )
    top = await inv.run("top_processes_cpu", {"limit": 5})
    if top is None:
        return inv.escalate("Could not list the processes using the CPU.")
    processes = [p for p in top.output.get("processes", []) if isinstance(p, dict)]
    listed = ", ".join(f"{p['name']} (pid {p['pid']}) {p['cpu_percent']:g}%" for p in processes)
    inv.found(top, f"top processes by CPU over {top.output.get('sample_s')} s: {listed}")
    saturated = busy is not None and busy >= BUSY_PERCENT
    hog = processes[0] if processes and processes[0]["cpu_percent"] >= HOG_PERCENT else None
    if hog is None:
        if saturated:
            return inv.escalate(
                f"The CPU is {busy:g}% busy but no single process stands out.",
                "the load is spread over many processes; the evidence names no one cause",
            )
        return inv.escalate(
            "No process is using much CPU now.",
            "the CPU is not saturated at the moment and no process stands out "
            "(the spike may have passed)",
        )
    iowait = float(load.output.get("cpu_times_percent", {}).get("iowait", 0)) if load else 0.0
    cause = (
        f"Process {hog['name']} (pid {hog['pid']}, user {hog.get('username')}) is using "
        f"{hog['cpu_percent']:g}% CPU: {hog.get('cmdline') or hog['name']}"
    )
    confidence = 0.85 if saturated else 0.65
    if iowait >= 30:
        confidence -= 0.15  # the host also waits on disk: the process may not be the whole story
    actions = [
        mutate(
            "signal_process",
            {"pid": hog["pid"], "signal": "TERM"},
            f"stop {hog['name']} if it is a runaway process (check it is safe to stop first)",
        )
    ]
    return inv.conclude(
        f"{hog['name']} (pid {hog['pid']}) is burning {hog['cpu_percent']:g}% CPU"
        + (f"; the host is {busy:g}% busy." if busy is not None else "."),
        cause,
        confidence,
        actions,
    )
