from __future__ import annotations

import os


async def test_system_overview_describes_this_host(call_tool):
    output = (await call_tool("system_overview"))["output"]
    assert output["cpu"]["logical"] == os.cpu_count()
    assert output["memory"]["total"] > 0
    assert output["uptime_s"] > 0
    assert set(output["load"]) == {"load1", "load5", "load15"}
    assert output["root_disk"]["total"] > 0


async def test_load_uptime_splits_cpu_time(call_tool):
    output = (await call_tool("load_uptime"))["output"]
    assert "iowait" in output["cpu_times_percent"]
    assert output["load_per_cpu"]["load1"] >= 0


async def test_memory_swap_reports_bytes(call_tool):
    output = (await call_tool("memory_swap"))["output"]
    assert output["memory"]["total"] >= output["memory"]["available"] > 0
    assert "total" in output["swap"]


async def test_fd_usage_lists_this_process_among_the_readable(call_tool):
    output = (await call_tool("fd_usage", {"limit": 50}))["output"]
    assert output["system"]["max"] > 0
    assert len(output["top_processes"]) <= 50
    first = output["top_processes"][0]
    assert first["open_fds"] >= output["top_processes"][-1]["open_fds"]
