from __future__ import annotations

import pytest

from vixpro.core.action_items import InvalidMove, Mover, Status, allowed, disables_tool, move


def test_the_pipeline_from_pending_to_resolved() -> None:
    status = Status.PENDING
    status = move(status, Status.PENDING_FIX, Mover.STAFF)
    assert disables_tool(status)
    status = move(status, Status.PENDING_ORG_REVIEW, Mover.STAFF)
    assert not disables_tool(status)
    assert move(status, Status.RESOLVED, Mover.ORG) is Status.RESOLVED


def test_the_organisation_can_send_a_fix_back() -> None:
    assert move(Status.PENDING_ORG_REVIEW, Status.PENDING_FIX, Mover.ORG) is Status.PENDING_FIX


def test_only_staff_start_and_deploy_fixes() -> None:
    with pytest.raises(InvalidMove, match="only staff may move"):
        move(Status.PENDING, Status.PENDING_FIX, Mover.ORG)
    with pytest.raises(InvalidMove, match="only staff may move"):
        move(Status.PENDING_FIX, Status.PENDING_ORG_REVIEW, Mover.ORG)


def test_impossible_moves_say_what_is_possible() -> None:
    with pytest.raises(
        InvalidMove, match="cannot become resolved; it can become: backlog, pending_fix"
    ):
        move(Status.PENDING, Status.RESOLVED, Mover.STAFF)


def test_backlog_and_recurrence() -> None:
    assert move(Status.PENDING, Status.BACKLOG, Mover.STAFF) is Status.BACKLOG
    assert allowed(Status.BACKLOG, Mover.STAFF) == [Status.PENDING, Status.PENDING_FIX]
    assert allowed(Status.BACKLOG, Mover.ORG) == []
    assert move(Status.RESOLVED, Status.PENDING, Mover.SYSTEM) is Status.PENDING
