"""Processes: the busiest ones, one in detail, and sending one a signal."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from typing import Any, Callable

import psutil

from vixpro_agent.tools.base import (
    RISK_MUTATE,
    RISK_READ,
    Failed,
    Params,
    Refused,
    Tool,
    ToolContext,
    iso_time,
    params_schema,
)

LIMIT = {"type": "integer", "minimum": 1, "maximum": 50, "default": 10}
PID = {"type": "integer", "minimum": 1, "maximum": 4_194_304, "description": "Process id"}
SIGNALS = ["TERM", "KILL", "HUP", "INT", "QUIT", "USR1", "USR2", "STOP", "CONT"]
CMDLINE_CHARS = 300
CPU_SAMPLE_S = 0.5


def _cmdline(process: psutil.Process) -> str | None:
    try:
        return " ".join(process.cmdline())[:CMDLINE_CHARS]
    except psutil.Error:
        return None


def _row(process: psutil.Process, cpu_percent: float) -> dict[str, Any]:
    info = process.info
    memory = info.get("memory_info")
    return {
        "pid": info["pid"],
        "name": info["name"],
        "username": info.get("username"),
        "status": info.get("status"),
        "cpu_percent": round(cpu_percent, 1),
        "memory_percent": round(info.get("memory_percent") or 0.0, 2),
        "rss": memory.rss if memory else None,
        "vms": memory.vms if memory else None,
        "started_at": iso_time(info["create_time"]) if info.get("create_time") else None,
        "cmdline": _cmdline(process),
    }


ATTRS = ["pid", "name", "username", "status", "memory_percent", "memory_info", "create_time"]


def _sampled_processes() -> list[tuple[psutil.Process, float]]:
    """Each process with its CPU percentage over a short sample (psutil needs two readings)."""
    processes = list(psutil.process_iter(ATTRS))
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.cpu_percent(None)
    time.sleep(CPU_SAMPLE_S)
    sampled: list[tuple[psutil.Process, float]] = []
    for process in processes:
        try:
            sampled.append((process, process.cpu_percent(None)))
        except psutil.Error:
            continue
    return sampled


def _top(params: Params, key: Callable[[tuple[psutil.Process, float]], float]) -> dict[str, Any]:
    sampled = _sampled_processes()
    sampled.sort(key=key, reverse=True)
    return {
        "processes": [_row(p, cpu) for p, cpu in sampled[: params["limit"]]],
        "process_count": len(sampled),
        "cpu_count": psutil.cpu_count(logical=True),
        "sample_s": CPU_SAMPLE_S,
    }


def top_processes_cpu(params: Params, ctx: ToolContext) -> dict[str, Any]:
    return _top(params, key=lambda pair: pair[1])


def top_processes_memory(params: Params, ctx: ToolContext) -> dict[str, Any]:
    return _top(params, key=lambda pair: pair[0].info.get("memory_percent") or 0.0)


def _process(pid: int) -> psutil.Process:
    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        raise Failed(f"no process with pid {pid}") from None


def _safe(read: Callable[[], Any]) -> Any:
    try:
        return read()
    except (psutil.AccessDenied, psutil.ZombieProcess, NotImplementedError, OSError):
        return None


def process_details(params: Params, ctx: ToolContext) -> dict[str, Any]:
    process = _process(params["pid"])
    try:
        with process.oneshot():
            parent = _safe(process.parent)
            memory = _safe(process.memory_info)
            cpu_times = _safe(process.cpu_times)
            io = _safe(process.io_counters)
            connections = _safe(lambda: len(process.net_connections(kind="inet")))
            children = _safe(lambda: process.children(recursive=False)) or []
            return {
                "pid": process.pid,
                "name": _safe(process.name),
                "exe": _safe(process.exe),
                "cmdline": _safe(lambda: " ".join(process.cmdline())[:4000]),
                "cwd": _safe(process.cwd),
                "status": _safe(process.status),
                "username": _safe(process.username),
                "started_at": iso_time(process.create_time()),
                "ppid": _safe(process.ppid),
                "parent_name": _safe(parent.name) if parent else None,
                "nice": _safe(process.nice),
                "num_threads": _safe(process.num_threads),
                "open_fds": _safe(process.num_fds),
                "inet_connections": connections,
                "cpu_percent": _safe(lambda: process.cpu_percent(interval=0.2)),
                "cpu_times": cpu_times._asdict() if cpu_times else None,
                "memory": memory._asdict() if memory else None,
                "memory_percent": _safe(lambda: round(process.memory_percent(), 2)),
                "io": io._asdict() if io else None,
                "children": [{"pid": c.pid, "name": _safe(c.name)} for c in children[:50]],
            }
    except psutil.NoSuchProcess:
        raise Failed(f"process {params['pid']} exited while being read") from None


def signal_process(params: Params, ctx: ToolContext) -> dict[str, Any]:
    pid = params["pid"]
    if pid == 1:
        raise Refused("will not signal pid 1 (init)")
    if pid == os.getpid():
        raise Refused("will not signal the host agent itself")
    process = _process(pid)
    name = _safe(process.name)
    number = getattr(signal, "SIG" + params["signal"])
    try:
        process.send_signal(number)
    except psutil.NoSuchProcess:
        raise Failed(f"no process with pid {pid}") from None
    except psutil.AccessDenied:
        raise Failed(f"not permitted to signal pid {pid} (the host agent is not root?)") from None
    return {"pid": pid, "name": name, "signal": "SIG" + params["signal"], "sent": True}


TOOLS = [
    Tool(
        name="top_processes_cpu",
        description="Processes using the most CPU, sampled over half a second.",
        risk=RISK_READ,
        parameters=params_schema(limit=LIMIT),
        func=top_processes_cpu,
        timeout_s=20,
    ),
    Tool(
        name="top_processes_memory",
        description="Processes using the most memory (resident set size).",
        risk=RISK_READ,
        parameters=params_schema(limit=LIMIT),
        func=top_processes_memory,
        timeout_s=20,
    ),
    Tool(
        name="process_details",
        description="One process in detail: command line, owner, parent, threads, file descriptors, memory, CPU, I/O, children.",
        risk=RISK_READ,
        parameters=params_schema(["pid"], pid=PID),
        func=process_details,
        timeout_s=10,
    ),
    Tool(
        name="signal_process",
        description="Send a signal (TERM, KILL, HUP, ...) to a process. Refuses pid 1 and the host agent itself.",
        risk=RISK_MUTATE,
        parameters=params_schema(
            ["pid", "signal"],
            pid=PID,
            signal={"type": "string", "enum": SIGNALS, "description": "Signal name without SIG"},
        ),
        func=signal_process,
        timeout_s=10,
    ),
]
