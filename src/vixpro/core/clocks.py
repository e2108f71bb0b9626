"""Support response clocks: business hours and the service-level page's targets.

Business hours are Monday to Friday, 08:00 to 20:00 in America/Los_Angeles (12 hours a day,
so "one business day" is 12 business hours). Plans with priority support get clocks:

* Critical: a first response within 4 business hours, or within 8 hours when the ticket opens
  outside business hours; then an update at least every 4 hours until mitigated; resolution
  within 24 hours.
* Normal: a first response within 1 business day; resolution within 5 business days.

The free plan gets best effort: no clock. A first response is a staff reply, never an
automatic one; callers pass the time of the first reply written by staff.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from vixpro.core.alerts import Tier

BUSINESS_ZONE = ZoneInfo("America/Los_Angeles")
OPENS = time(8, 0)
CLOSES = time(20, 0)
BUSINESS_DAY = timedelta(hours=12)

CRITICAL_FIRST_RESPONSE = timedelta(hours=4)  # business hours
CRITICAL_FIRST_RESPONSE_OUT_OF_HOURS = timedelta(hours=8)  # wall clock
CRITICAL_UPDATE_EVERY = timedelta(hours=4)
CRITICAL_RESOLUTION = timedelta(hours=24)
NORMAL_FIRST_RESPONSE = BUSINESS_DAY  # business hours
NORMAL_RESOLUTION = 5 * BUSINESS_DAY  # business hours


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("times must carry a time zone")
    return at


def in_business_hours(at: datetime) -> bool:
    local = _aware(at).astimezone(BUSINESS_ZONE)
    return local.weekday() < 5 and OPENS <= local.time() < CLOSES


def _day_bounds(day: datetime) -> tuple[datetime, datetime]:
    """Opening and closing of ``day``'s business hours (a local date), as aware datetimes."""
    opens = datetime.combine(day.date(), OPENS, BUSINESS_ZONE)
    closes = datetime.combine(day.date(), CLOSES, BUSINESS_ZONE)
    return opens, closes


def add_business_hours(start: datetime, amount: timedelta) -> datetime:
    """``start`` moved forward by ``amount`` of business time (in UTC)."""
    if amount < timedelta(0):
        raise ValueError("only forward")
    local = _aware(start).astimezone(BUSINESS_ZONE)
    remaining = amount
    while True:
        if local.weekday() >= 5:
            local = _next_opening(local)
            continue
        opens, closes = _day_bounds(local)
        local = max(local, opens)
        if local >= closes:
            local = _next_opening(local)
            continue
        left_today = closes - local
        if remaining <= left_today:
            return (local + remaining).astimezone(UTC)
        remaining -= left_today
        local = _next_opening(local)


def _next_opening(local: datetime) -> datetime:
    day = local
    while True:
        day = datetime.combine(day.date() + timedelta(days=1), OPENS, BUSINESS_ZONE)
        if day.weekday() < 5:
            return day


def business_time_between(start: datetime, end: datetime) -> timedelta:
    """Business time elapsed from ``start`` to ``end`` (zero if ``end`` is earlier)."""
    total = timedelta(0)
    local = _aware(start).astimezone(BUSINESS_ZONE)
    finish = _aware(end).astimezone(BUSINESS_ZONE)
    while local < finish:
        opens, closes = _day_bounds(local)
        if local.weekday() < 5:
            begin = max(local, opens)
            stop = min(finish, closes)
            if stop > begin:
                total += stop - begin
        local = datetime.combine(local.date() + timedelta(days=1), time(0), BUSINESS_ZONE)
    return total


class ClockName(StrEnum):
    FIRST_RESPONSE = "first_response"
    UPDATE = "update"
    RESOLUTION = "resolution"


class ClockState(StrEnum):
    RUNNING = "running"
    MET = "met"
    MET_LATE = "met_late"
    BREACHED = "breached"


@dataclass(frozen=True, slots=True)
class Clock:
    name: ClockName
    due_at: datetime
    met_at: datetime | None = None

    def breached(self, now: datetime) -> bool:
        if self.met_at is not None:
            return self.met_at > self.due_at
        return _aware(now) > self.due_at

    @property
    def key(self) -> str:
        """Names this deadline: each missed Critical update is a breach of its own."""
        return f"{self.name.value}@{self.due_at.astimezone(UTC).isoformat()}"

    def state(self, now: datetime) -> ClockState:
        if self.met_at is not None:
            return ClockState.MET if self.met_at <= self.due_at else ClockState.MET_LATE
        return ClockState.BREACHED if _aware(now) > self.due_at else ClockState.RUNNING

    def remaining(self, now: datetime) -> timedelta:
        """Time left until due (negative once breached); zero when met in time."""
        if self.met_at is not None and self.met_at <= self.due_at:
            return timedelta(0)
        return self.due_at - _aware(now)


@dataclass(frozen=True, slots=True)
class Ticket:
    """What the clocks need to know about a support ticket."""

    severity: Tier
    opened_at: datetime
    first_staff_reply_at: datetime | None = None
    last_staff_reply_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None


def clocks(ticket: Ticket, *, priority_support: bool) -> list[Clock]:
    """The ticket's clocks under the plan; empty for best effort (the free plan)."""
    if not priority_support:
        return []
    # Wall-clock targets are counted in UTC: 24 hours stay 24 hours across a DST change.
    opened = _aware(ticket.opened_at).astimezone(UTC)
    if ticket.severity is Tier.CRITICAL:
        first_due = (
            add_business_hours(opened, CRITICAL_FIRST_RESPONSE)
            if in_business_hours(opened)
            else opened + CRITICAL_FIRST_RESPONSE_OUT_OF_HOURS
        )
        result = [Clock(ClockName.FIRST_RESPONSE, first_due, ticket.first_staff_reply_at)]
        if ticket.first_staff_reply_at is not None and ticket.mitigated_at is None:
            last = ticket.last_staff_reply_at or ticket.first_staff_reply_at
            result.append(
                Clock(ClockName.UPDATE, _aware(last).astimezone(UTC) + CRITICAL_UPDATE_EVERY)
            )
        result.append(Clock(ClockName.RESOLUTION, opened + CRITICAL_RESOLUTION, ticket.resolved_at))
        return result
    return [
        Clock(
            ClockName.FIRST_RESPONSE,
            add_business_hours(opened, NORMAL_FIRST_RESPONSE),
            ticket.first_staff_reply_at,
        ),
        Clock(
            ClockName.RESOLUTION,
            add_business_hours(opened, NORMAL_RESOLUTION),
            ticket.resolved_at,
        ),
    ]


def open_breaches(ticket: Ticket, *, priority_support: bool, now: datetime) -> list[Clock]:
    """Clocks breached at ``now`` and still unmet: the ones that escalate a ticket.

    A resolved ticket has nothing left to escalate."""
    if ticket.resolved_at is not None:
        return []
    return [
        c
        for c in clocks(ticket, priority_support=priority_support)
        if c.met_at is None and c.breached(now)
    ]


def escalated(ticket: Ticket, *, priority_support: bool, now: datetime) -> list[Clock]:
    """The clocks ``ticket`` has breached at ``now`` (a breach flags the ticket escalated)."""
    return [c for c in clocks(ticket, priority_support=priority_support) if c.breached(now)]
