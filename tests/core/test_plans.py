from __future__ import annotations

import pytest

from vixpro.core.plans import DEFAULT_PLANS, Limit, LimitExceeded, check_limit

PLANS = {p.code: p for p in DEFAULT_PLANS}


def test_seed_capacity_table() -> None:
    lean = PLANS["lean"]
    assert (lean.max_servers, lean.max_team_members, lean.max_stakeholders) == (3, 6, 6)
    assert (lean.api_requests_per_hour, lean.alert_budget_per_server_day) == (2000, 50)
    assert PLANS["free"].api_requests_per_hour == 1 and not PLANS["free"].priority_support
    assert PLANS["preview"].price_label == "$38 once"
    assert PLANS["starter"].price_label == "$78/month"
    assert PLANS["free"].price_label == "free"


def test_within_limit_passes() -> None:
    check_limit(PLANS["starter"], Limit.TEAM_MEMBERS, usage=1)


def test_past_limit_names_limit_plan_and_usage() -> None:
    with pytest.raises(LimitExceeded) as caught:
        check_limit(PLANS["lean"], Limit.SERVERS, usage=3)
    err = caught.value
    assert (err.limit, err.usage, err.maximum) == (Limit.SERVERS, 3, 3)
    assert str(err) == "the Lean plan allows 3 servers; this organisation already uses 3"


def test_free_plan_allows_no_servers() -> None:
    with pytest.raises(LimitExceeded):
        check_limit(PLANS["free"], Limit.SERVERS, usage=0)


def test_adding_several_at_once() -> None:
    with pytest.raises(LimitExceeded):
        check_limit(PLANS["lean"], Limit.STAKEHOLDER_SEATS, usage=4, adding=3)
