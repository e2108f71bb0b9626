from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from vixpro_agent.state import StateDir, StateError, default_state_dir, write_atomic


def test_default_state_dir_depends_on_the_user(monkeypatch, tmp_path):
    if os.geteuid() == 0:
        assert default_state_dir() == Path("/var/lib/vixpro-agent")
    else:
        monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
        assert default_state_dir() == tmp_path / "vixpro-agent"


def test_private_key_is_written_owner_only(state):
    assert stat.S_IMODE(state.key_path.stat().st_mode) == 0o600
    assert state.load_private_key().key_size == 3072


def test_atomic_write_replaces_whole_files_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "status.json"
    write_atomic(target, b"old")
    write_atomic(target, b"new", 0o644)
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]


def test_status_round_trips_with_an_update_time(state):
    state.write_status({"connected": True})
    status = state.read_status()
    assert status["connected"] is True and status["updated_at"] > 0
    assert json.loads(state.status_path.read_text()) == status


def test_unreadable_or_missing_state_is_a_clear_error(tmp_path):
    empty = StateDir(tmp_path)
    assert empty.read_status() == {}
    assert not empty.is_enrolled()
    with pytest.raises(StateError, match="enrol first"):
        empty.load_private_key()
    with pytest.raises(StateError, match="missing"):
        empty.load_enrollment()
    empty.platform_key_path.write_text("not a key")
    with pytest.raises(StateError, match="cannot be read"):
        empty.load_platform_key()
