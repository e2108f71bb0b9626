"""Disks: space and inodes per filesystem, what fills a directory, and removing old files."""

from __future__ import annotations

import fnmatch
import os
import stat
import time
from typing import Any

import psutil

from vixpro_agent.tools.base import (
    RISK_MUTATE,
    RISK_READ,
    Failed,
    Params,
    Tool,
    ToolContext,
    iso_time,
    params_schema,
    resolve_under,
)

ABSOLUTE_PATH = {
    "type": "string",
    "minLength": 1,
    "maxLength": 4096,
    "pattern": "^/[^\\x00]*$",
    "description": "Absolute path",
}
SHOWN_PATHS = 200
SHOWN_ERRORS = 20


def _partitions() -> list[Any]:
    return list(psutil.disk_partitions(all=False))


def disk_usage(params: Params, ctx: ToolContext) -> dict[str, Any]:
    rows = []
    for partition in _partitions():
        try:
            usage = psutil.disk_usage(partition.mountpoint)
        except OSError:
            continue
        rows.append(
            {
                "mountpoint": partition.mountpoint,
                "device": partition.device,
                "fstype": partition.fstype,
                "total": usage.total,
                "used": usage.used,
                "free": usage.free,
                "percent": usage.percent,
            }
        )
    rows.sort(key=lambda r: r["percent"], reverse=True)
    return {"filesystems": rows}


def inode_usage(params: Params, ctx: ToolContext) -> dict[str, Any]:
    rows = []
    for partition in _partitions():
        try:
            figures = os.statvfs(partition.mountpoint)
        except OSError:
            continue
        total = figures.f_files
        if total == 0:  # btrfs, vfat... have no fixed inode table
            continue
        used = total - figures.f_ffree
        rows.append(
            {
                "mountpoint": partition.mountpoint,
                "fstype": partition.fstype,
                "inodes_total": total,
                "inodes_used": used,
                "inodes_free": figures.f_ffree,
                "percent": round(100 * used / total, 2),
            }
        )
    rows.sort(key=lambda r: r["percent"], reverse=True)
    return {"filesystems": rows}


def largest_directories(params: Params, ctx: ToolContext) -> dict[str, Any]:
    """Like ``du -x -d DEPTH``, bounded in time: a partial answer says so."""
    top = os.path.realpath(params["path"])
    depth = params["depth"]
    try:
        top_device = os.lstat(top).st_dev
    except OSError as exc:
        raise Failed(f"cannot read {top}: {exc.strerror}") from None
    stop_at = time.monotonic() + min(params["max_seconds"], max(ctx.remaining() - 1.0, 0.5))
    totals: dict[str, int] = {}
    seen_inodes: set[tuple[int, int]] = set()
    grand_total = 0
    files = 0
    errors = 0
    complete = True
    # (directory, the ancestor at depth <= DEPTH that its sizes count towards, with level)
    stack: list[tuple[str, list[str]]] = [(top, [])]
    while stack:
        if time.monotonic() > stop_at or ctx.cancelled:
            complete = False
            break
        directory, owners = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            errors += 1
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                errors += 1
                continue
            if stat.S_ISDIR(info.st_mode):
                if info.st_dev != top_device:
                    continue  # another filesystem (/proc, a mount): du -x
                level = len(owners) + 1
                stack.append((entry.path, [*owners, entry.path] if level <= depth else owners))
                continue
            if info.st_nlink > 1:
                if (info.st_dev, info.st_ino) in seen_inodes:
                    continue
                seen_inodes.add((info.st_dev, info.st_ino))
            size = info.st_blocks * 512
            files += 1
            grand_total += size
            for owner in owners:
                totals[owner] = totals.get(owner, 0) + size
    ranked = sorted(totals.items(), key=lambda item: item[1], reverse=True)
    return {
        "path": top,
        "depth": depth,
        "total_bytes": grand_total,
        "directories": [
            {"path": path, "bytes": size, "level": path[len(top) :].strip("/").count("/") + 1}
            for path, size in ranked[: params["limit"]]
        ],
        "files_counted": files,
        "unreadable_entries": errors,
        "complete": complete,
        "note": None if complete else "stopped at the time limit: sizes are lower bounds",
    }


def delete_old_files(params: Params, ctx: ToolContext) -> dict[str, Any]:
    config = ctx.require_config()
    top = resolve_under(params["path"], config.allowed_cleanup_roots, "allowed cleanup roots")
    if not os.path.isdir(top):
        raise Failed(f"{top} is not a directory")
    cutoff = time.time() - params["older_than_days"] * 86400
    pattern = params["name_pattern"]
    dry_run = params["dry_run"]
    matched: list[str] = []
    freed = 0
    count = 0
    errors: list[str] = []
    limit_reached = False
    # fwalk hands out directory descriptors: every stat and unlink is relative to a
    # directory already opened without following symlinks, so a link swapped in
    # mid-walk cannot redirect a deletion outside the allowed root.
    for dirpath, dirnames, filenames, dir_fd in os.fwalk(top, follow_symlinks=False):
        ctx.check_deadline()
        if not params["recursive"]:
            dirnames.clear()
        for name in filenames:
            if not fnmatch.fnmatchcase(name, pattern):
                continue
            try:
                info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode) or info.st_mtime >= cutoff:
                continue
            if count >= params["max_files"]:
                limit_reached = True
                break
            path = os.path.join(dirpath, name)
            try:
                if not dry_run:
                    os.unlink(name, dir_fd=dir_fd)
            except OSError as exc:
                if len(errors) < SHOWN_ERRORS:
                    errors.append(f"{path}: {exc.strerror}")
                continue
            count += 1
            freed += info.st_size
            if len(matched) < SHOWN_PATHS:
                matched.append(path)
        if limit_reached:
            break
    return {
        "path": top,
        "dry_run": dry_run,
        "older_than": iso_time(cutoff),
        "files": count,
        "bytes": freed,
        "paths": matched,
        "paths_shown": len(matched),
        "errors": errors,
        "max_files_reached": limit_reached,
    }


TOOLS = [
    Tool(
        name="disk_usage",
        description="Space used and free on every mounted filesystem, fullest first.",
        risk=RISK_READ,
        parameters=params_schema(),
        func=disk_usage,
        timeout_s=15,
    ),
    Tool(
        name="inode_usage",
        description="Inodes used and free on every mounted filesystem, fullest first.",
        risk=RISK_READ,
        parameters=params_schema(),
        func=inode_usage,
        timeout_s=15,
    ),
    Tool(
        name="largest_directories",
        description="The largest directories under a path (like du -x -d DEPTH), stopping at a time limit and saying so.",
        risk=RISK_READ,
        parameters=params_schema(
            ["path"],
            path=ABSOLUTE_PATH,
            depth={"type": "integer", "minimum": 1, "maximum": 3, "default": 1},
            limit={"type": "integer", "minimum": 1, "maximum": 50, "default": 15},
            max_seconds={"type": "integer", "minimum": 1, "maximum": 50, "default": 20},
        ),
        func=largest_directories,
        timeout_s=60,
    ),
    Tool(
        name="delete_old_files",
        description="Delete regular files older than N days in a directory under the allowed cleanup roots (optionally recursive, optionally a dry run).",
        risk=RISK_MUTATE,
        parameters=params_schema(
            ["path", "older_than_days"],
            path=ABSOLUTE_PATH,
            older_than_days={"type": "integer", "minimum": 1, "maximum": 3650},
            name_pattern={
                "type": "string",
                "minLength": 1,
                "maxLength": 100,
                "pattern": "^[^/\\x00]+$",
                "default": "*",
                "description": "Shell-style pattern on file names, e.g. *.gz",
            },
            recursive={"type": "boolean", "default": False},
            dry_run={"type": "boolean", "default": False},
            max_files={"type": "integer", "minimum": 1, "maximum": 100000, "default": 10000},
        ),
        func=delete_old_files,
        timeout_s=60,
    ),
]
