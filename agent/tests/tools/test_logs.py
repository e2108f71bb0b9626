from __future__ import annotations

import os

from vixpro_agent.protocol import messages


async def test_tail_log_file_returns_the_last_lines(call_tool, roots):
    log = roots.logs / "app.log"
    log.write_text("".join(f"line {i}\n" for i in range(1, 1001)))
    output = (await call_tool("tail_log_file", {"path": str(log), "lines": 3}))["output"]
    assert output["lines"] == ["line 998", "line 999", "line 1000"]
    assert output["size"] == log.stat().st_size


async def test_tail_log_file_handles_a_last_line_without_newline_and_long_files(call_tool, roots):
    log = roots.logs / "big.log"
    with log.open("w") as handle:
        for i in range(200_000):  # several read blocks
            handle.write(f"entry number {i:06d} {'x' * 20}\n")
        handle.write("unfinished")
    output = (await call_tool("tail_log_file", {"path": str(log), "lines": 2}))["output"]
    assert output["lines"] == [f"entry number 199999 {'x' * 20}", "unfinished"]


async def test_tail_log_file_filters_lines(call_tool, roots):
    log = roots.logs / "mixed.log"
    log.write_text(
        "".join(f"{'ERROR' if i % 100 == 0 else 'INFO'} event {i}\n" for i in range(5000))
    )
    output = (
        await call_tool("tail_log_file", {"path": str(log), "lines": 3, "contains": "ERROR"})
    )["output"]
    assert output["lines"] == ["ERROR event 4700", "ERROR event 4800", "ERROR event 4900"]


async def test_tail_log_file_keeps_the_newest_lines_within_the_output_limit(call_tool, roots):
    log = roots.logs / "wide.log"
    log.write_text("".join(f"{i:05d} {'y' * 3000}\n" for i in range(2000)))
    result = await call_tool("tail_log_file", {"path": str(log), "lines": 2000})
    output = result["output"]
    assert output["lines"][-1].startswith("01999 ")
    assert output["omitted_older"] > 0
    assert result["truncated"] is False  # the tool fitted itself: nothing cut in the middle


async def test_tail_log_file_refuses_files_outside_the_log_roots(call_tool, roots, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("password")
    os.symlink(secret, roots.logs / "link.log")
    for path in (
        str(secret),
        "/etc/shadow",
        str(roots.logs / "link.log"),
        str(roots.logs / ".." / "secret.txt"),
    ):
        result = await call_tool("tail_log_file", {"path": path})
        assert result["error_kind"] == messages.ERR_REFUSED, path
        assert "password" not in str(result)


async def test_tail_log_file_refuses_what_is_not_a_regular_file(call_tool, roots):
    os.mkfifo(roots.logs / "pipe")
    result = await call_tool("tail_log_file", {"path": str(roots.logs / "pipe")})
    assert result["error_kind"] == messages.ERR_FAILED
    assert "not a regular file" in result["error"]


async def test_truncate_log_file_empties_the_file(call_tool, roots):
    log = roots.logs / "huge.log"
    log.write_bytes(b"z" * 10_000)
    result = await call_tool("truncate_log_file", {"path": str(log)})
    assert result["output"] == {"path": str(log), "bytes_freed": 10_000, "truncated": True}
    assert log.stat().st_size == 0


async def test_truncate_log_file_refuses_outside_the_log_roots(call_tool, roots, tmp_path):
    other = tmp_path / "data.db"
    other.write_bytes(b"keep")
    result = await call_tool("truncate_log_file", {"path": str(other)})
    assert result["error_kind"] == messages.ERR_REFUSED
    assert other.read_bytes() == b"keep"


async def test_service_logs_structured_or_unavailable(call_tool):
    result = await call_tool(
        "service_logs", {"unit": "cron.service", "lines": 5, "priority": "err"}
    )
    if result["ok"]:
        assert isinstance(result["output"]["entries"], list)
    else:
        assert result["error_kind"] == messages.ERR_UNAVAILABLE
        assert "journald" in result["error"]


async def test_kernel_messages_oom_reports_the_kernel_counter(call_tool):
    result = await call_tool("kernel_messages_oom", {"lines": 5})
    if not result["ok"]:
        assert result["error_kind"] == messages.ERR_UNAVAILABLE
        return
    output = result["output"]
    assert output["source"] in ("journald", "dmesg")
    assert isinstance(output["oom_kills"], list)
    assert len(output["recent_messages"]) <= 5


def test_oom_lines_of_old_and_new_kernels_are_recognised():
    from vixpro_agent.tools.logs import OOM_KILL

    lines = {
        "Out of memory: Killed process 4242 (java) total-vm:9000kB, anon-rss:800kB": (
            "4242",
            "java",
        ),
        "Out of memory: Kill process 77 (mysqld) score 900 or sacrifice child": ("77", "mysqld"),
        "Memory cgroup out of memory: Killed process 12 (node worker) total-vm:1kB": (
            "12",
            "node worker",
        ),
    }
    for line, expected in lines.items():
        match = OOM_KILL.search(line)
        assert match is not None and match.groups() == expected
    assert OOM_KILL.search("oom_reaper: reaped process 4242 (java)") is None
