"""Incident rules: states and their transitions, grouping, budgets, storms, maintenance windows.

Pure functions and small value types; the incidents service applies them to stored rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class State(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Action(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"
    REOPEN = "reopen"


_TRANSITIONS: dict[tuple[State, Action], State] = {
    (State.OPEN, Action.ACKNOWLEDGE): State.ACKNOWLEDGED,
    (State.OPEN, Action.RESOLVE): State.RESOLVED,
    (State.ACKNOWLEDGED, Action.RESOLVE): State.RESOLVED,
    (State.RESOLVED, Action.REOPEN): State.OPEN,
}


class InvalidTransition(ValueError):
    def __init__(self, state: State, action: Action) -> None:
        self.state = state
        self.action = action
        allowed = sorted(a.value for (s, a) in _TRANSITIONS if s is state)
        super().__init__(
            f"an incident that is {state.value} cannot be {_PAST[action]}"
            + (f"; it can be: {', '.join(_PAST[Action(a)] for a in allowed)}" if allowed else "")
        )


_PAST = {
    Action.ACKNOWLEDGE: "acknowledged",
    Action.RESOLVE: "resolved",
    Action.REOPEN: "reopened",
}


def transition(state: State, action: Action) -> State:
    """The state after ``action``, or :class:`InvalidTransition` saying what is allowed."""
    try:
        return _TRANSITIONS[(state, action)]
    except KeyError:
        raise InvalidTransition(state, action) from None


class AiState(StrEnum):
    NONE = "none"  # not decided yet
    QUEUED = "queued"  # waiting for a reactive-agent slot
    RUNNING = "running"
    DONE = "done"
    HELD = "held"  # storm: waiting for quiet
    INELIGIBLE = "ineligible"  # manual mode or plan without triage
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Rules:
    """One organisation's ingestion settings, with the plan's limits folded in."""

    group_window: timedelta = timedelta(minutes=5)
    auto_resolve: bool = True
    alert_budget: int = 50  # per server per day
    storm_threshold: int = 20  # more than this many alerts ...
    storm_window: timedelta = timedelta(minutes=5)  # ... within this time is a storm
    storm_quiet: timedelta = timedelta(minutes=10)  # a storm ends after this long without alerts
    triage: bool = True  # the plan allows AI triage
    max_reactive_agents: int = 1


def effective_budget(plan_budget: int, org_budget: int | None) -> int:
    """An organisation may lower its plan's alert budget, never raise it."""
    if org_budget is None:
        return plan_budget
    return max(0, min(plan_budget, org_budget))


def over_budget(count_today: int, budget: int) -> bool:
    """``count_today`` includes the alert being judged."""
    return count_today > budget


def storm_begins(alerts_in_window: int, threshold: int) -> bool:
    """The seed: more than ``threshold`` alerts within the window from one server."""
    return alerts_in_window > threshold


def storm_over(last_alert_at: datetime, now: datetime, quiet: timedelta) -> bool:
    return now - last_alert_at >= quiet


def group_key(server_id: uuid.UUID | None, fingerprint: str) -> str:
    """Alerts from one server group together; alerts from nowhere known group by fingerprint."""
    return f"server:{server_id}" if server_id else f"fp:{fingerprint}"


def joins_incident(last_alert_at: datetime, now: datetime, window: timedelta) -> bool:
    """An open incident takes a new alert of its group if its last alert is within the window."""
    return now - last_alert_at <= window


def is_flap(resolved_at: datetime | None, now: datetime, window: timedelta) -> bool:
    """Re-firing within the window of resolving reopens the same incident."""
    return resolved_at is not None and now - resolved_at <= window


class Scope(StrEnum):
    ALL = "all"
    SERVERS = "servers"
    LABELS = "labels"


@dataclass(frozen=True, slots=True)
class Window:
    id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    scope: Scope
    server_ids: frozenset[uuid.UUID] = frozenset()
    labels: Mapping[str, str] | None = None


def window_applies(
    window: Window, at: datetime, server_id: uuid.UUID | None, labels: Mapping[str, str]
) -> bool:
    """Whether an alert at ``at`` for ``server_id`` with ``labels`` falls in the window."""
    if not window.starts_at <= at < window.ends_at:
        return False
    if window.scope is Scope.ALL:
        return True
    if window.scope is Scope.SERVERS:
        return server_id is not None and server_id in window.server_ids
    wanted = window.labels or {}
    return bool(wanted) and all(labels.get(key) == value for key, value in wanted.items())


def covering_window(
    windows: Sequence[Window], at: datetime, server_id: uuid.UUID | None, labels: Mapping[str, str]
) -> Window | None:
    for window in windows:
        if window_applies(window, at, server_id, labels):
            return window
    return None
