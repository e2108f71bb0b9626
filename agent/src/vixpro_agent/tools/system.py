"""Whole-host figures: overview, load, memory, file descriptors."""

from __future__ import annotations

import os
import platform
import socket
import time
from pathlib import Path
from typing import Any

import psutil

from vixpro_agent.facts import os_summary
from vixpro_agent.tools.base import RISK_READ, Params, Tool, ToolContext, iso_time, params_schema

LIMIT = {"type": "integer", "minimum": 1, "maximum": 50, "default": 10}


def _load() -> dict[str, float]:
    one, five, fifteen = os.getloadavg()
    return {"load1": one, "load5": five, "load15": fifteen}


def _memory() -> dict[str, Any]:
    memory = psutil.virtual_memory()
    return {
        "total": memory.total,
        "available": memory.available,
        "used": memory.used,
        "percent": memory.percent,
    }


def system_overview(params: Params, ctx: ToolContext) -> dict[str, Any]:
    boot = psutil.boot_time()
    cpu_count = psutil.cpu_count(logical=True) or 1
    root = psutil.disk_usage("/")
    swap = psutil.swap_memory()
    return {
        "hostname": socket.gethostname(),
        "os": os_summary(),
        "kernel": platform.release(),
        "arch": platform.machine(),
        "boot_time": iso_time(boot),
        "uptime_s": int(time.time() - boot),
        "cpu": {
            "logical": cpu_count,
            "physical": psutil.cpu_count(logical=False),
            "percent": psutil.cpu_percent(interval=0.3),
        },
        "load": _load(),
        "load_per_cpu": round(os.getloadavg()[0] / cpu_count, 2),
        "memory": _memory(),
        "swap": {"total": swap.total, "used": swap.used, "percent": swap.percent},
        "root_disk": {
            "total": root.total,
            "used": root.used,
            "free": root.free,
            "percent": root.percent,
        },
        "process_count": len(psutil.pids()),
        "users_logged_in": len(psutil.users()),
    }


def load_uptime(params: Params, ctx: ToolContext) -> dict[str, Any]:
    boot = psutil.boot_time()
    cpu_count = psutil.cpu_count(logical=True) or 1
    times = psutil.cpu_times_percent(interval=0.5)._asdict()
    load = _load()
    return {
        "load": load,
        "load_per_cpu": {k: round(v / cpu_count, 2) for k, v in load.items()},
        "cpu_count": cpu_count,
        "cpu_times_percent": {k: round(v, 1) for k, v in times.items()},
        "uptime_s": int(time.time() - boot),
        "boot_time": iso_time(boot),
    }


def memory_swap(params: Params, ctx: ToolContext) -> dict[str, Any]:
    memory = psutil.virtual_memory()._asdict()
    swap = psutil.swap_memory()._asdict()
    return {"memory": memory, "swap": swap}


def fd_usage(params: Params, ctx: ToolContext) -> dict[str, Any]:
    system: dict[str, Any] = {}
    try:
        # allocated, unused (always 0 since 2.6), maximum
        allocated, _unused, maximum = Path("/proc/sys/fs/file-nr").read_text().split()
        system = {
            "allocated": int(allocated),
            "max": int(maximum),
            "percent": round(100 * int(allocated) / int(maximum), 2) if int(maximum) else None,
        }
    except (OSError, ValueError):
        system = {"allocated": None, "max": None, "percent": None}
    rows: list[dict[str, Any]] = []
    inaccessible = 0
    for process in psutil.process_iter(["pid", "name", "username"]):
        ctx.check_deadline()
        try:
            count = process.num_fds()
            limit = (
                process.rlimit(psutil.RLIMIT_NOFILE)[0]
                if hasattr(psutil, "RLIMIT_NOFILE")
                else None
            )
        except (psutil.AccessDenied, psutil.ZombieProcess):
            inaccessible += 1
            continue
        except psutil.NoSuchProcess:
            continue
        rows.append(
            {
                "pid": process.info["pid"],
                "name": process.info["name"],
                "username": process.info["username"],
                "open_fds": count,
                "soft_limit": limit if limit is None or limit >= 0 else None,
                "percent_of_limit": round(100 * count / limit, 1) if limit and limit > 0 else None,
            }
        )
    rows.sort(key=lambda r: r["open_fds"], reverse=True)
    return {
        "system": system,
        "top_processes": rows[: params["limit"]],
        "processes_not_readable": inaccessible,
    }


TOOLS = [
    Tool(
        name="system_overview",
        description="Host summary: OS, kernel, uptime, CPU, load, memory, swap, root disk, process count.",
        risk=RISK_READ,
        parameters=params_schema(),
        func=system_overview,
        timeout_s=15,
    ),
    Tool(
        name="load_uptime",
        description="Load averages (also per CPU), CPU time split (user, system, iowait, steal) and uptime.",
        risk=RISK_READ,
        parameters=params_schema(),
        func=load_uptime,
        timeout_s=15,
    ),
    Tool(
        name="memory_swap",
        description="Memory and swap figures in bytes (total, available, used, buffers, cached, swap in/out).",
        risk=RISK_READ,
        parameters=params_schema(),
        func=memory_swap,
        timeout_s=10,
    ),
    Tool(
        name="fd_usage",
        description="System-wide open file handles against the maximum, and the processes with the most open file descriptors.",
        risk=RISK_READ,
        parameters=params_schema(limit=LIMIT),
        func=fd_usage,
        timeout_s=30,
    ),
]
