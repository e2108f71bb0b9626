from __future__ import annotations

import os
import time

from vixpro_agent.protocol import messages

DAY = 86400


async def test_disk_usage_lists_the_root_filesystem(call_tool):
    output = (await call_tool("disk_usage"))["output"]
    root = next(f for f in output["filesystems"] if f["mountpoint"] == "/")
    assert root["total"] >= root["used"] > 0


async def test_inode_usage_has_percentages(call_tool):
    output = (await call_tool("inode_usage"))["output"]
    for row in output["filesystems"]:
        assert 0 <= row["percent"] <= 100
        assert row["inodes_total"] >= row["inodes_used"]


def make_tree(base):
    (base / "big").mkdir()
    (base / "big" / "inner").mkdir()
    (base / "small").mkdir()
    (base / "big" / "inner" / "blob").write_bytes(os.urandom(400_000))
    (base / "big" / "file").write_bytes(os.urandom(100_000))
    (base / "small" / "file").write_bytes(os.urandom(5_000))
    os.symlink("/usr", base / "link-to-usr")  # not followed


async def test_largest_directories_ranks_by_size_at_the_given_depth(call_tool, tmp_path):
    make_tree(tmp_path)
    output = (await call_tool("largest_directories", {"path": str(tmp_path), "depth": 2}))["output"]
    ranked = [(d["path"], d["level"]) for d in output["directories"]]
    assert ranked[:3] == [
        (str(tmp_path / "big"), 1),
        (str(tmp_path / "big" / "inner"), 2),
        (str(tmp_path / "small"), 1),
    ]
    assert output["directories"][0]["bytes"] >= 500_000
    assert output["complete"] is True
    assert output["total_bytes"] < 10_000_000  # /usr was not counted through the symlink


async def test_largest_directories_depth_one_only_lists_children(call_tool, tmp_path):
    make_tree(tmp_path)
    output = (await call_tool("largest_directories", {"path": str(tmp_path)}))["output"]
    assert {d["level"] for d in output["directories"]} == {1}


async def test_largest_directories_rejects_a_relative_path(call_tool):
    result = await call_tool("largest_directories", {"path": "var/log"})
    assert result["error_kind"] == messages.ERR_BAD_PARAMS


def aged(path, days):
    path.write_text("old data")
    then = time.time() - days * DAY
    os.utime(path, (then, then))


async def test_delete_old_files_removes_only_old_matching_files(call_tool, roots):
    aged(roots.cleanup / "old.gz", 10)
    aged(roots.cleanup / "old.txt", 10)
    aged(roots.cleanup / "new.gz", 0)
    (roots.cleanup / "sub").mkdir()
    aged(roots.cleanup / "sub" / "deep.gz", 10)
    result = await call_tool(
        "delete_old_files",
        {"path": str(roots.cleanup), "older_than_days": 7, "name_pattern": "*.gz"},
    )
    assert result["ok"] is True, result
    assert result["output"]["files"] == 1
    assert result["output"]["paths"] == [str(roots.cleanup / "old.gz")]
    assert sorted(p.name for p in roots.cleanup.iterdir()) == ["new.gz", "old.txt", "sub"]
    assert (roots.cleanup / "sub" / "deep.gz").exists()

    recursive = await call_tool(
        "delete_old_files", {"path": str(roots.cleanup), "older_than_days": 7, "recursive": True}
    )
    assert recursive["output"]["files"] == 2
    assert not (roots.cleanup / "sub" / "deep.gz").exists()


async def test_delete_old_files_dry_run_deletes_nothing(call_tool, roots):
    aged(roots.cleanup / "old.log", 30)
    result = await call_tool(
        "delete_old_files", {"path": str(roots.cleanup), "older_than_days": 1, "dry_run": True}
    )
    assert result["output"]["files"] == 1
    assert (roots.cleanup / "old.log").exists()


async def test_delete_old_files_refuses_paths_outside_the_cleanup_roots(call_tool, roots, tmp_path):
    outside = tmp_path / "precious"
    outside.mkdir()
    aged(outside / "keep.gz", 30)
    os.symlink(outside, roots.cleanup / "escape")
    for path in (
        str(outside),
        str(roots.cleanup / "escape"),
        str(roots.cleanup / ".." / "precious"),
    ):
        result = await call_tool("delete_old_files", {"path": path, "older_than_days": 1})
        assert result["error_kind"] == messages.ERR_REFUSED, path
    assert (outside / "keep.gz").exists()


async def test_delete_old_files_does_not_follow_symlinks_inside_the_root(
    call_tool, roots, tmp_path
):
    outside = tmp_path / "precious"
    outside.mkdir()
    aged(outside / "keep.gz", 30)
    os.symlink(outside, roots.cleanup / "escape")
    os.symlink(outside / "keep.gz", roots.cleanup / "file-link.gz")
    result = await call_tool(
        "delete_old_files", {"path": str(roots.cleanup), "older_than_days": 1, "recursive": True}
    )
    assert result["output"]["files"] == 0
    assert (outside / "keep.gz").exists()


async def test_delete_old_files_needs_at_least_one_day(call_tool, roots):
    result = await call_tool("delete_old_files", {"path": str(roots.cleanup), "older_than_days": 0})
    assert result["error"] == "params.older_than_days: must be at least 1"


async def test_delete_old_files_without_verified_config_is_refused(call_tool, roots):
    result = await call_tool(
        "delete_old_files", {"path": str(roots.cleanup), "older_than_days": 1}, with_config=False
    )
    assert result["error_kind"] == messages.ERR_REFUSED
