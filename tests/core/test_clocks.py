"""Support response clocks: business hours in Los Angeles, and the service-level targets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from vixpro.core.alerts import Tier
from vixpro.core.clocks import (
    ClockName,
    Ticket,
    add_business_hours,
    business_time_between,
    clocks,
    escalated,
    in_business_hours,
)

LA = ZoneInfo("America/Los_Angeles")


def la(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LA)


def test_business_hours_are_weekdays_eight_to_eight_in_los_angeles() -> None:
    assert in_business_hours(la(2026, 11, 25, 8, 0))  # Wednesday
    assert not in_business_hours(la(2026, 11, 25, 7, 59))
    assert not in_business_hours(la(2026, 11, 25, 20, 0))
    assert not in_business_hours(la(2026, 11, 28, 12, 0))  # Saturday
    # 16:00 UTC is 08:00 in Los Angeles in winter (PST, UTC-8).
    assert in_business_hours(datetime(2026, 11, 25, 16, 0, tzinfo=UTC))
    assert not in_business_hours(datetime(2026, 11, 25, 15, 59, tzinfo=UTC))


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        (la(2026, 11, 25, 10, 0), 4, la(2026, 11, 25, 14, 0)),  # within the day
        (la(2026, 11, 25, 18, 0), 4, la(2026, 11, 26, 10, 0)),  # spills to the next morning
        (la(2026, 11, 27, 19, 0), 4, la(2026, 11, 30, 11, 0)),  # Friday evening to Monday
        (la(2026, 11, 28, 12, 0), 4, la(2026, 11, 30, 12, 0)),  # from a Saturday
        (la(2026, 11, 25, 6, 0), 12, la(2026, 11, 25, 20, 0)),  # before opening: a full day
        (la(2026, 11, 25, 10, 0), 60, la(2026, 12, 2, 10, 0)),  # five business days
    ],
)
def test_adding_business_hours(start: datetime, hours: int, due: datetime) -> None:
    assert add_business_hours(start, timedelta(hours=hours)) == due


def test_business_hours_across_the_spring_clock_change() -> None:
    # 2027-03-14 is a Sunday (clocks go forward); Friday 18:00 + 4 h is Monday 10:00 local.
    due = add_business_hours(la(2027, 3, 12, 18, 0), timedelta(hours=4))
    assert due == la(2027, 3, 15, 10, 0)
    assert due.astimezone(UTC).hour == 17  # PDT, UTC-7


def test_business_time_between_counts_only_open_hours() -> None:
    assert business_time_between(la(2026, 11, 27, 19, 0), la(2026, 11, 30, 9, 0)) == timedelta(
        hours=2
    )
    assert business_time_between(la(2026, 11, 30, 9, 0), la(2026, 11, 27, 19, 0)) == timedelta(0)


def test_critical_in_business_hours_four_business_hours_to_first_response() -> None:
    ticket = Ticket(Tier.CRITICAL, la(2026, 11, 25, 17, 0))
    first, resolution = clocks(ticket, priority_support=True)
    assert first.name is ClockName.FIRST_RESPONSE
    assert first.due_at == la(2026, 11, 26, 9, 0)
    assert resolution.due_at == la(2026, 11, 26, 17, 0)  # 24 hours


def test_critical_outside_business_hours_eight_hours_to_first_response() -> None:
    ticket = Ticket(Tier.CRITICAL, la(2026, 11, 28, 22, 0))  # Saturday night
    first = clocks(ticket, priority_support=True)[0]
    assert first.due_at == la(2026, 11, 29, 6, 0)


def test_critical_needs_an_update_every_four_hours_until_mitigated() -> None:
    opened = la(2026, 11, 25, 10, 0)
    replied = la(2026, 11, 25, 11, 0)
    ticket = Ticket(
        Tier.CRITICAL, opened, first_staff_reply_at=replied, last_staff_reply_at=replied
    )
    names = {c.name: c for c in clocks(ticket, priority_support=True)}
    assert names[ClockName.UPDATE].due_at == la(2026, 11, 25, 15, 0)
    late = escalated(ticket, priority_support=True, now=la(2026, 11, 25, 15, 1))
    assert [c.name for c in late] == [ClockName.UPDATE]
    mitigated = Ticket(
        Tier.CRITICAL, opened, replied, replied, mitigated_at=la(2026, 11, 25, 12, 0)
    )
    assert ClockName.UPDATE not in {c.name for c in clocks(mitigated, priority_support=True)}


def test_normal_one_business_day_to_respond_and_five_to_resolve() -> None:
    ticket = Ticket(Tier.NORMAL, la(2026, 11, 25, 10, 0))
    first, resolution = clocks(ticket, priority_support=True)
    assert first.due_at == la(2026, 11, 26, 10, 0)
    assert resolution.due_at == la(2026, 12, 2, 10, 0)


def test_a_reply_in_time_meets_the_clock_and_a_late_one_breaches_it() -> None:
    opened = la(2026, 11, 25, 10, 0)
    on_time = Ticket(Tier.NORMAL, opened, first_staff_reply_at=la(2026, 11, 25, 12, 0))
    first = clocks(on_time, priority_support=True)[0]
    assert not first.breached(la(2026, 12, 9, 0, 0))
    assert first.remaining(la(2026, 12, 9, 0, 0)) == timedelta(0)
    late = Ticket(Tier.NORMAL, opened, first_staff_reply_at=la(2026, 11, 26, 11, 0))
    assert clocks(late, priority_support=True)[0].breached(la(2026, 11, 26, 11, 0))


def test_best_effort_plans_have_no_clock() -> None:
    ticket = Ticket(Tier.CRITICAL, la(2026, 11, 25, 10, 0))
    assert clocks(ticket, priority_support=False) == []
    assert escalated(ticket, priority_support=False, now=la(2027, 1, 1, 0, 0)) == []


def test_times_without_a_zone_are_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        in_business_hours(datetime(2026, 11, 25, 10, 0))
