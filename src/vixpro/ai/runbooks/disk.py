"""Disk space or inodes running out: which filesystem, how full, and what fills it."""

from __future__ import annotations

import re
from typing import Any

from vixpro.ai.report import DiagnosisReport
from vixpro.ai.runbooks.base import IncidentContext, Investigation, ToolPort, human_bytes, mutate
from vixpro.ai.runbooks.targets import mountpoint

FULL_PERCENT = 85.0  # at or above this a filesystem is short of space (or inodes)
INODES = re.compile(r"inode|out ?of ?files|files? (count|limit)", re.IGNORECASE)


def _pick(rows: list[dict[str, Any]], target: str | None) -> dict[str, Any] | None:
    if target is not None:
        wanted = target.rstrip("/") or "/"
        return next((r for r in rows if r.get("mountpoint") == wanted), None)
    return rows[0] if rows else None  # the tools list the fullest first


async def diagnose(context: IncidentContext, tools: ToolPort) -> DiagnosisReport:
    inv = Investigation("runbook:disk", tools)
    target = mountpoint(context)
    inodes = bool(INODES.search(context.text()))
    tool = "inode_usage" if inodes else "disk_usage"
    what = "inodes" if inodes else "space"
    listing = await inv.run(tool)
    if listing is None:
        return inv.escalate(f"Could not read the filesystems' {what}.")
    rows = [r for r in listing.output.get("filesystems", []) if isinstance(r, dict)]
    row = _pick(rows, target)
    if row is None:
        known = ", ".join(str(r.get("mountpoint")) for r in rows) or "none"
        return inv.escalate(
            f"No filesystem mounted at {target} on this server.",
            f"the alert names {target}, but {tool} lists only: {known}",
        )
    mount = str(row["mountpoint"])
    percent = float(row["percent"])
    if inodes:
        inv.found(
            listing,
            f"{mount} ({row.get('fstype')}) uses {percent:g}% of its inodes: "
            f"{row['inodes_used']} of {row['inodes_total']}, {row['inodes_free']} free",
        )
    else:
        inv.found(
            listing,
            f"{mount} ({row.get('device')}, {row.get('fstype')}) is {percent:g}% full: "
            f"{human_bytes(row['used'])} used of {human_bytes(row['total'])}, "
            f"{human_bytes(row['free'])} free",
        )
    if percent < FULL_PERCENT:
        return inv.escalate(
            f"{mount} is at {percent:g}% {what} now, below the {FULL_PERCENT:g}% this runbook "
            "treats as full.",
            "the alert's condition is not present on the server now (it may have cleared "
            "or the alert's threshold differs)",
        )
    sizes = await inv.run("largest_directories", {"path": mount, "depth": 3, "limit": 15})
    if sizes is None:
        return inv.conclude(
            f"{mount} is {percent:g}% full ({what}).",
            f"The filesystem {mount} is short of {what} ({percent:g}% used); what fills it "
            "could not be measured.",
            0.6,
        )
    directories = [d for d in sizes.output.get("directories", []) if isinstance(d, dict)]
    total = int(sizes.output.get("total_bytes") or 0)
    counted = int(sizes.output.get("files_counted") or 0)
    partial = "" if sizes.output.get("complete", True) else " (partial: stopped at the time limit)"
    if not directories:
        inv.found(sizes, f"nothing under {mount} could be measured{partial}")
        return inv.conclude(
            f"{mount} is {percent:g}% full ({what}).",
            f"The filesystem {mount} is short of {what} ({percent:g}% used).",
            0.6,
        )
    # The deepest large directory: a level-2 entry holding most of its parent's bytes wins.
    top = directories[0]
    for entry in directories:
        if entry.get("level", 1) > top.get("level", 1) and entry["bytes"] >= 0.6 * top["bytes"]:
            top = entry
    share = 100 * top["bytes"] / total if total else 0.0
    listed = ", ".join(f"{d['path']} {human_bytes(d['bytes'])}" for d in directories[:5])
    inv.found(
        sizes,
        f"largest directories under {mount}{partial}: {listed}; {counted} files, "
        f"{human_bytes(total)} in all",
    )
    actions = [
        mutate(
            "delete_old_files",
            {"path": top["path"], "older_than_days": 7, "recursive": True, "dry_run": True},
            f"see what files older than a week under {top['path']} would free (dry run), "
            "then run it again without dry_run",
        )
    ]
    confidence = 0.9 if share >= 50 else 0.75
    cause = (
        f"{top['path']} holds {human_bytes(top['bytes'])} ({share:.0f}% of what is on {mount}), "
        f"filling {mount} to {percent:g}% {what}."
        if not inodes
        else f"{mount} has used {percent:g}% of its inodes; {top['path']} is the largest "
        f"directory ({counted} files counted under {mount})."
    )
    return inv.conclude(f"{mount} is {percent:g}% full ({what}).", cause, confidence, actions)
