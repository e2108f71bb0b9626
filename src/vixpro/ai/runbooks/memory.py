"""Memory pressure and OOM kills: what the kernel killed, how full memory is, who holds it."""

from __future__ import annotations

from typing import Any

from vixpro.ai.report import DiagnosisReport
from vixpro.ai.runbooks.base import IncidentContext, Investigation, ToolPort, human_bytes, read

PRESSURE_PERCENT = 90.0
SWAP_PERCENT = 50.0


def _oom_summary(kills: list[dict[str, Any]]) -> str:
    last = kills[-1]
    return f"last: {last.get('process')} (pid {last.get('pid')}) at {last.get('time') or '?'}"


async def diagnose(context: IncidentContext, tools: ToolPort) -> DiagnosisReport:
    inv = Investigation("runbook:memory", tools)
    figures = await inv.run("memory_swap")
    memory_percent: float | None = None
    swap_percent = 0.0
    if figures is not None:
        memory = figures.output.get("memory", {})
        swap = figures.output.get("swap", {})
        memory_percent = float(memory.get("percent", 0.0))
        swap_percent = float(swap.get("percent", 0.0))
        inv.found(
            figures,
            f"memory {memory_percent:g}% used ({human_bytes(memory.get('available', 0))} "
            f"available of {human_bytes(memory.get('total', 0))}); swap {swap_percent:g}% used "
            f"of {human_bytes(swap.get('total', 0))}",
        )
    kernel = await inv.run("kernel_messages_oom", {"lines": 20})
    kills: list[dict[str, Any]] = []
    if kernel is not None:
        kills = [k for k in kernel.output.get("oom_kills", []) if isinstance(k, dict)]
        since_boot = kernel.output.get("oom_kill_count_since_boot")
        inv.found(
            kernel,
            f"{len(kills)} OOM kills in the kernel log ({kernel.output.get('source')}), "
            f"{since_boot if since_boot is not None else 'unknown'} since boot"
            + (f"; {_oom_summary(kills)}" if kills else ""),
        )
    top = await inv.run("top_processes_memory", {"limit": 5})
    hog: dict[str, Any] | None = None
    if top is not None:
        processes = [p for p in top.output.get("processes", []) if isinstance(p, dict)]
        hog = processes[0] if processes else None
        listed = ", ".join(
            f"{p['name']} (pid {p['pid']}) {p['memory_percent']:g}% "
            f"{human_bytes(p.get('rss') or 0)}"
            for p in processes
        )
        inv.found(top, f"top processes by memory: {listed}")
    if figures is None and kernel is None:
        return inv.escalate("Could not read memory figures or the kernel log.")
    pressure = memory_percent is not None and memory_percent >= PRESSURE_PERCENT
    if kills:
        last = kills[-1]
        cause = (
            f"The kernel OOM killer killed {last.get('process')} (pid {last.get('pid')}); "
            f"{len(kills)} OOM kills in the kernel log."
        )
        if hog is not None:
            cause += f" The largest process now is {hog['name']} ({hog['memory_percent']:g}%)."
        return inv.conclude(
            f"Out of memory: {len(kills)} processes killed by the kernel.", cause, 0.85
        )
    if pressure and hog is not None:
        return inv.conclude(
            f"Memory is {memory_percent:g}% used.",
            f"{hog['name']} (pid {hog['pid']}) holds {hog['memory_percent']:g}% of memory "
            f"({human_bytes(hog.get('rss') or 0)}) on a host at {memory_percent:g}% used.",
            0.75 if hog["memory_percent"] >= 30 else 0.55,
            [read("process_details", {"pid": hog["pid"]}, "see what the process is doing")],
        )
    if swap_percent >= SWAP_PERCENT and hog is not None:
        return inv.escalate(
            f"Swap is {swap_percent:g}% used while memory is {memory_percent:g}%.",
            "memory was short at some point (swap in use) but is not now; no OOM kills logged",
        )
    return inv.escalate(
        "No memory pressure and no OOM kills found now.",
        f"memory is {memory_percent:g}% used and the kernel log has no OOM kills: "
        "the evidence does not support a root cause",
    )
