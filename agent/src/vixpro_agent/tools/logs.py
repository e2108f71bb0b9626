"""Logs: a unit's journal, the tail of a log file, kernel messages and OOM kills, truncation."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import time
from pathlib import Path
from typing import Any

import psutil

from vixpro_agent.tools.base import (
    RISK_MUTATE,
    RISK_READ,
    Failed,
    Params,
    Tool,
    ToolContext,
    Unavailable,
    fit_lines,
    iso_time,
    params_schema,
    resolve_under,
)
from vixpro_agent.tools.disk import ABSOLUTE_PATH
from vixpro_agent.tools.services import UNIT

PRIORITIES = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"]
MAX_LINE_CHARS = 4000
TAIL_BLOCK = 64 * 1024
TAIL_MAX_SCAN = 16 * 1024 * 1024  # how far back a filtered tail looks before giving up
OOM_KILL = re.compile(
    r"(?:Memory cgroup out of memory|Out of memory)[^:]*: Kill(?:ed)? process (\d+) \(([^)]*)\)"
)
OOM_INVOKED = re.compile(r"^(\S+) invoked oom-killer")
DMESG_LINE = re.compile(r"^\[\s*(\d+\.\d+)\]\s?(.*)$")


def _budget(ctx: ToolContext) -> int:
    # Leave room for the rest of the output so the runner never has to cut the lines itself.
    return max(ctx.output_limit - 4096, 1024)


def _journald_available() -> bool:
    if shutil.which("journalctl") is None:
        return False
    if os.path.isdir("/run/systemd/journal"):
        return True
    # A persistent journal can be read even while journald is not running.
    try:
        return any(os.scandir("/var/log/journal"))
    except OSError:
        return False


def _require_journald() -> None:
    if not _journald_available():
        raise Unavailable("journald is not running on this host (no /run/systemd/journal)")


def _journal_entries(argv: list[str], ctx: ToolContext) -> list[dict[str, Any]]:
    result = ctx.run(argv, check=True, what="journalctl")
    entries = []
    for line in result.stdout.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        message = record.get("MESSAGE")
        if isinstance(message, list):  # journald stores non-UTF-8 messages as byte arrays
            message = bytes(b for b in message if isinstance(b, int) and 0 <= b < 256).decode(
                "utf-8", errors="replace"
            )
        micros = record.get("__REALTIME_TIMESTAMP")
        entries.append(
            {
                "time": iso_time(int(micros) / 1e6) if micros and str(micros).isdigit() else None,
                "priority": _priority_name(record.get("PRIORITY")),
                "pid": int(record["_PID"]) if str(record.get("_PID", "")).isdigit() else None,
                "identifier": record.get("SYSLOG_IDENTIFIER"),
                "message": str(message or "")[:MAX_LINE_CHARS],
            }
        )
    return entries


def _priority_name(value: Any) -> str | None:
    if isinstance(value, str) and value.isdigit() and int(value) < len(PRIORITIES):
        return PRIORITIES[int(value)]
    return None


def _fit_entries(entries: list[dict[str, Any]], budget: int) -> tuple[list[dict[str, Any]], int]:
    encoded = [json.dumps(e, ensure_ascii=False) for e in entries]
    kept, omitted = fit_lines(encoded, budget)
    return entries[len(entries) - len(kept) :], omitted


def service_logs(params: Params, ctx: ToolContext) -> dict[str, Any]:
    _require_journald()
    argv = [
        "journalctl",
        "--unit=" + params["unit"],
        "--lines=" + str(params["lines"]),
        "--output=json",
        "--no-pager",
        "--quiet",
    ]
    if params.get("since_minutes"):
        since = time.strftime(
            "%Y-%m-%d %H:%M:%S", time.localtime(time.time() - 60 * params["since_minutes"])
        )
        argv.append("--since=" + since)
    if params.get("priority"):
        argv.append("--priority=" + params["priority"])
    entries, omitted = _fit_entries(_journal_entries(argv, ctx), _budget(ctx))
    return {
        "unit": params["unit"],
        "entries": entries,
        "returned": len(entries),
        "omitted_older": omitted,
    }


def _open_log(path: str, flags: int) -> tuple[int, os.stat_result]:
    # O_NOFOLLOW and O_NONBLOCK: never follow a link swapped in after the check, never
    # hang on a FIFO someone put among the logs.
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise Failed(f"cannot open {path}: {exc.strerror}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise Failed(f"{path} is not a regular file")
    return fd, info


def _read_tail(fd: int, size: int, wanted: int, contains: str | None) -> tuple[list[str], bool]:
    """The last ``wanted`` lines (containing ``contains``), reading backwards in blocks.

    Also says whether it gave up before the start of the file (a filter that matches little).
    """
    position = size
    if size and os.pread(fd, 1, size - 1) == b"\n":
        position -= 1  # a final newline ends the last line; it does not start an empty one
    pending = b""
    found: list[str] = []  # newest first
    scanned = 0
    while position > 0 and len(found) < wanted and scanned < TAIL_MAX_SCAN:
        step = min(TAIL_BLOCK, position)
        position -= step
        scanned += step
        pieces = (os.pread(fd, step, position) + pending).split(b"\n")
        pending = pieces[0]  # may continue in the block before this one
        for raw in reversed(pieces[1:]):
            if len(found) >= wanted:
                break
            _keep(raw, contains, found)
    if position == 0 and len(found) < wanted and (pending or size):
        _keep(pending, contains, found)
    found.reverse()
    return found, position > 0 and len(found) < wanted


def _keep(raw: bytes, contains: str | None, found: list[str]) -> None:
    line = raw.decode("utf-8", errors="replace").rstrip("\r")
    if contains is None or contains in line:
        found.append(line[:MAX_LINE_CHARS])


def tail_log_file(params: Params, ctx: ToolContext) -> dict[str, Any]:
    config = ctx.require_config()
    path = resolve_under(params["path"], config.allowed_log_roots, "allowed log roots")
    fd, info = _open_log(path, os.O_RDONLY)
    try:
        lines, scan_limited = _read_tail(fd, info.st_size, params["lines"], params.get("contains"))
    finally:
        os.close(fd)
    lines, omitted = fit_lines(lines, _budget(ctx))
    return {
        "path": path,
        "size": info.st_size,
        "modified_at": iso_time(info.st_mtime),
        "lines": lines,
        "returned": len(lines),
        "omitted_older": omitted,
        "filter": params.get("contains"),
        "scan_limited": scan_limited,
    }


def truncate_log_file(params: Params, ctx: ToolContext) -> dict[str, Any]:
    config = ctx.require_config()
    path = resolve_under(params["path"], config.allowed_log_roots, "allowed log roots")
    fd, info = _open_log(path, os.O_WRONLY)
    try:
        os.ftruncate(fd, 0)
    finally:
        os.close(fd)
    return {"path": path, "bytes_freed": info.st_size, "truncated": True}


def _oom_kill_counter() -> int | None:
    try:
        for line in Path("/proc/vmstat").read_text().splitlines():
            if line.startswith("oom_kill "):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None  # kernels before 4.13 do not count


def _kernel_lines(ctx: ToolContext) -> tuple[str, list[tuple[str | None, str]]]:
    if _journald_available():
        entries = _journal_entries(
            ["journalctl", "--dmesg", "--lines=5000", "--output=json", "--no-pager", "--quiet"], ctx
        )
        if entries:
            return "journald", [(e["time"], e["message"]) for e in entries]
    result = ctx.run(["dmesg"])
    if result.returncode != 0:
        detail = result.stderr.strip()
        if "not permitted" in detail.lower():
            raise Unavailable(
                "the kernel log is restricted (kernel.dmesg_restrict): the host agent must run as root"
            )
        raise result.failure("dmesg")
    boot = psutil.boot_time()
    lines: list[tuple[str | None, str]] = []
    for line in result.stdout.splitlines():
        match = DMESG_LINE.match(line)
        if match:
            lines.append((iso_time(boot + float(match.group(1))), match.group(2)))
        else:
            lines.append((None, line))
    return "dmesg", lines


def kernel_messages_oom(params: Params, ctx: ToolContext) -> dict[str, Any]:
    source, lines = _kernel_lines(ctx)
    kills = []
    invoked = 0
    for when, text in lines:
        match = OOM_KILL.search(text)
        if match:
            kills.append(
                {
                    "time": when,
                    "pid": int(match.group(1)),
                    "process": match.group(2),
                    "line": text[:500],
                }
            )
        elif OOM_INVOKED.search(text):
            invoked += 1
    recent = [
        {"time": when, "message": text[:MAX_LINE_CHARS]} for when, text in lines[-params["lines"] :]
    ]
    encoded = [json.dumps(r, ensure_ascii=False) for r in recent]
    kept, omitted = fit_lines(encoded, _budget(ctx) // 2)
    return {
        "source": source,
        "oom_kills": kills[-50:],
        "oom_kills_in_log": len(kills),
        "oom_killer_invocations_in_log": invoked,
        "oom_kill_count_since_boot": _oom_kill_counter(),
        "recent_messages": recent[len(recent) - len(kept) :],
        "recent_omitted": omitted,
    }


LINES = {"type": "integer", "minimum": 1, "maximum": 2000, "default": 100}

TOOLS = [
    Tool(
        name="service_logs",
        description="The latest journal entries of a systemd unit (journalctl -u), optionally since N minutes ago and at a minimum priority.",
        risk=RISK_READ,
        parameters=params_schema(
            ["unit"],
            unit=UNIT,
            lines={**LINES, "maximum": 1000},
            since_minutes={"type": "integer", "minimum": 1, "maximum": 43200},
            priority={"type": "string", "enum": PRIORITIES},
        ),
        func=service_logs,
        timeout_s=30,
    ),
    Tool(
        name="tail_log_file",
        description="The last lines of a log file under the allowed log roots, optionally only lines containing a text.",
        risk=RISK_READ,
        parameters=params_schema(
            ["path"],
            path=ABSOLUTE_PATH,
            lines=LINES,
            contains={"type": "string", "minLength": 1, "maxLength": 200},
        ),
        func=tail_log_file,
        timeout_s=20,
    ),
    Tool(
        name="kernel_messages_oom",
        description="Kernel messages (journalctl -k or dmesg) with OOM kills picked out, plus the kernel's OOM kill counter.",
        risk=RISK_READ,
        parameters=params_schema(
            lines={"type": "integer", "minimum": 1, "maximum": 500, "default": 50}
        ),
        func=kernel_messages_oom,
        timeout_s=20,
    ),
    Tool(
        name="truncate_log_file",
        description="Truncate a log file under the allowed log roots to zero bytes (keeps the file and its open handles).",
        risk=RISK_MUTATE,
        parameters=params_schema(["path"], path=ABSOLUTE_PATH),
        func=truncate_log_file,
        timeout_s=10,
    ),
]
