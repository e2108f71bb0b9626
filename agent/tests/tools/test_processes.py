from __future__ import annotations

import os
import subprocess
import sys

from vixpro_agent.protocol import messages


async def test_top_processes_by_cpu_finds_a_busy_process(call_tool):
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        output = (await call_tool("top_processes_cpu", {"limit": 5}))["output"]
    finally:
        busy.kill()
        busy.wait()
    assert busy.pid in [p["pid"] for p in output["processes"]]
    row = next(p for p in output["processes"] if p["pid"] == busy.pid)
    assert row["cpu_percent"] > 20
    assert "while True" in row["cmdline"]


async def test_top_processes_by_memory_is_sorted(call_tool):
    output = (await call_tool("top_processes_memory", {"limit": 5}))["output"]
    percents = [p["memory_percent"] for p in output["processes"]]
    assert percents == sorted(percents, reverse=True)
    assert len(percents) == 5


async def test_process_details_of_this_process(call_tool):
    output = (await call_tool("process_details", {"pid": os.getpid()}))["output"]
    assert output["pid"] == os.getpid()
    assert output["ppid"] == os.getppid()
    assert output["num_threads"] >= 1
    assert output["memory"]["rss"] > 0


async def test_process_details_of_a_missing_pid_fails(call_tool):
    result = await call_tool("process_details", {"pid": 4_000_000})
    assert result["error_kind"] == messages.ERR_FAILED
    assert "no process with pid 4000000" in result["error"]


async def test_signal_process_terminates_a_process(call_tool):
    child = subprocess.Popen(["sleep", "30"])
    try:
        result = await call_tool("signal_process", {"pid": child.pid, "signal": "TERM"})
        assert result["ok"] is True
        assert result["output"] == {
            "pid": child.pid,
            "name": "sleep",
            "signal": "SIGTERM",
            "sent": True,
        }
        assert child.wait(timeout=5) == -15
    finally:
        child.kill()
        child.wait()


async def test_signal_process_refuses_init_and_itself_and_unknown_signals(call_tool):
    assert (await call_tool("signal_process", {"pid": 1, "signal": "KILL"}))[
        "error_kind"
    ] == messages.ERR_REFUSED
    me = await call_tool("signal_process", {"pid": os.getpid(), "signal": "KILL"})
    assert me["error_kind"] == messages.ERR_REFUSED
    bad = await call_tool("signal_process", {"pid": 2, "signal": "SEGV"})
    assert bad["error_kind"] == messages.ERR_BAD_PARAMS
