"""Plans, their limits, and the one check every capability uses to enforce them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Limit(StrEnum):
    """A countable plan limit. The value is the plan column that holds the maximum."""

    SERVERS = "max_servers"
    TEAM_MEMBERS = "max_team_members"
    STAKEHOLDER_SEATS = "max_stakeholders"
    API_REQUESTS_PER_HOUR = "api_requests_per_hour"
    ALERT_BUDGET_PER_SERVER_DAY = "alert_budget_per_server_day"
    CONCURRENT_REACTIVE_AGENTS = "max_concurrent_reactive_agents"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Limit.SERVERS: "servers",
    Limit.TEAM_MEMBERS: "team members",
    Limit.STAKEHOLDER_SEATS: "stakeholder seats",
    Limit.API_REQUESTS_PER_HOUR: "API requests per hour",
    Limit.ALERT_BUDGET_PER_SERVER_DAY: "alerts per server per day",
    Limit.CONCURRENT_REACTIVE_AGENTS: "concurrent reactive agents",
}


@dataclass(frozen=True, slots=True)
class PlanLimits:
    code: str
    name: str
    price_cents: int
    billing: str  # "free", "once" or "month"
    max_servers: int
    max_team_members: int
    max_stakeholders: int
    alert_triage: bool
    auto_remediation: bool
    priority_support: bool
    api_requests_per_hour: int
    alert_budget_per_server_day: int
    max_concurrent_reactive_agents: int

    def maximum(self, limit: Limit) -> int:
        value = getattr(self, limit.value)
        assert isinstance(value, int)
        return value

    @property
    def price_label(self) -> str:
        if self.billing == "free" or self.price_cents == 0:
            return "free"
        dollars = f"${self.price_cents / 100:,.0f}"
        return f"{dollars} once" if self.billing == "once" else f"{dollars}/month"


class LimitExceeded(Exception):
    """Raised when an action would take an organisation past its plan's limit."""

    def __init__(self, limit: Limit, plan: PlanLimits, usage: int) -> None:
        self.limit = limit
        self.plan = plan
        self.usage = usage
        self.maximum = plan.maximum(limit)
        super().__init__(
            f"the {plan.name} plan allows {self.maximum} {limit.label}; "
            f"this organisation already uses {usage}"
        )


def check_limit(plan: PlanLimits, limit: Limit, usage: int, adding: int = 1) -> None:
    """Refuse (with :class:`LimitExceeded`) taking ``usage`` up by ``adding`` past the plan's limit.

    ``usage`` is what the organisation uses now; later capabilities (servers, alert budgets,
    reactive agents) count their own usage and call this one function.
    """
    if usage + adding > plan.maximum(limit):
        raise LimitExceeded(limit, plan, usage)


# The seed's capacity table. The database holds the live copy (staff can edit it);
# this is what a new installation starts with.
DEFAULT_PLANS: tuple[PlanLimits, ...] = (
    PlanLimits("free", "Free", 0, "free", 0, 1, 0, False, False, False, 1, 0, 0),
    PlanLimits("preview", "Preview", 3800, "once", 1, 1, 1, True, True, True, 1000, 50, 1),
    PlanLimits("starter", "Starter", 7800, "month", 1, 2, 2, True, True, True, 1000, 50, 3),
    PlanLimits("lean", "Lean", 14800, "month", 3, 6, 6, True, True, True, 2000, 50, 3),
)
