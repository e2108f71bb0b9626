"""Support response clocks: business hours in Los Angeles, and the service-level targets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from vixpro.core.alerts import Tier
from vixpro.core.clocks import (
    ClockName,
    ClockState,
    Ticket,
    add_business_hours,
    business_time_between,
    clocks,
    escalated,
    in_business_hours,
    open_breaches,
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


# A ticket's first-response and resolution deadlines across business hours, nights and
# weekends (2026-11-23 is a Monday; Los Angeles is on PST, UTC-8).
@pytest.mark.parametrize(
    ("severity", "opened", "first_due", "resolution_due"),
    [
        # Critical inside business hours: 4 business hours; resolution 24 wall-clock hours.
        (Tier.CRITICAL, la(2026, 11, 23, 9, 0), la(2026, 11, 23, 13, 0), la(2026, 11, 24, 9, 0)),
        # ... late in the day: the rest spills into the next morning.
        (Tier.CRITICAL, la(2026, 11, 23, 19, 0), la(2026, 11, 24, 11, 0), la(2026, 11, 24, 19, 0)),
        # ... on Friday evening: over the weekend to Monday.
        (
            Tier.CRITICAL,
            la(2026, 11, 27, 18, 30),
            la(2026, 11, 30, 10, 30),
            la(2026, 11, 28, 18, 30),
        ),
        # Critical at night: 8 wall-clock hours.
        (Tier.CRITICAL, la(2026, 11, 24, 23, 0), la(2026, 11, 25, 7, 0), la(2026, 11, 25, 23, 0)),
        (Tier.CRITICAL, la(2026, 11, 25, 5, 0), la(2026, 11, 25, 13, 0), la(2026, 11, 26, 5, 0)),
        # Critical on a Sunday afternoon: 8 hours, whatever the day.
        (Tier.CRITICAL, la(2026, 11, 29, 15, 0), la(2026, 11, 29, 23, 0), la(2026, 11, 30, 15, 0)),
        # Normal: 12 business hours (one business day); 60 (five) to resolve.
        (Tier.NORMAL, la(2026, 11, 23, 9, 0), la(2026, 11, 24, 9, 0), la(2026, 11, 30, 9, 0)),
        # ... opened at night: the clock starts at 08:00.
        (Tier.NORMAL, la(2026, 11, 24, 22, 0), la(2026, 11, 25, 20, 0), la(2026, 12, 1, 20, 0)),
        # ... opened on Saturday: Monday's business day.
        (Tier.NORMAL, la(2026, 11, 28, 10, 0), la(2026, 11, 30, 20, 0), la(2026, 12, 4, 20, 0)),
        # ... on Friday afternoon: finishes Monday afternoon.
        (Tier.NORMAL, la(2026, 11, 27, 16, 0), la(2026, 11, 30, 16, 0), la(2026, 12, 4, 16, 0)),
    ],
)
def test_deadlines_across_business_hours_nights_and_weekends(
    severity: Tier, opened: datetime, first_due: datetime, resolution_due: datetime
) -> None:
    found = {c.name: c.due_at for c in clocks(Ticket(severity, opened), priority_support=True)}
    assert found[ClockName.FIRST_RESPONSE] == first_due
    assert found[ClockName.RESOLUTION] == resolution_due


def test_wall_clock_targets_count_real_hours_across_a_daylight_saving_change() -> None:
    # 2026-03-08 02:00 PST becomes 03:00 PDT: 24 real hours after Saturday 10:00 PST is
    # Sunday 11:00 PDT, and 8 hours after Saturday 22:00 PST is Sunday 07:00 PDT.
    ticket = Ticket(Tier.CRITICAL, la(2026, 3, 7, 10, 0))
    resolution = clocks(ticket, priority_support=True)[-1]
    assert resolution.due_at == la(2026, 3, 8, 11, 0)
    assert resolution.due_at - ticket.opened_at == timedelta(hours=24)
    night = Ticket(Tier.CRITICAL, la(2026, 3, 7, 22, 0))
    assert clocks(night, priority_support=True)[0].due_at == la(2026, 3, 8, 7, 0)


def test_clock_states_for_the_page() -> None:
    opened = la(2026, 11, 23, 9, 0)
    first = clocks(Ticket(Tier.NORMAL, opened), priority_support=True)[0]
    assert first.state(la(2026, 11, 23, 10, 0)) is ClockState.RUNNING
    assert first.state(la(2026, 11, 24, 9, 1)) is ClockState.BREACHED
    late = clocks(
        Ticket(Tier.NORMAL, opened, first_staff_reply_at=la(2026, 11, 24, 10, 0)),
        priority_support=True,
    )[0]
    assert late.state(la(2026, 11, 25, 0, 0)) is ClockState.MET_LATE


def test_each_missed_critical_update_is_a_breach_of_its_own() -> None:
    opened = la(2026, 11, 23, 9, 0)
    first = Ticket(Tier.CRITICAL, opened, la(2026, 11, 23, 10, 0), la(2026, 11, 23, 10, 0))
    second = Ticket(Tier.CRITICAL, opened, la(2026, 11, 23, 10, 0), la(2026, 11, 23, 16, 0))
    now_1, now_2 = la(2026, 11, 23, 14, 30), la(2026, 11, 23, 20, 30)
    [miss_1] = open_breaches(first, priority_support=True, now=now_1)
    [miss_2] = open_breaches(second, priority_support=True, now=now_2)
    assert miss_1.name is miss_2.name is ClockName.UPDATE
    assert miss_1.key != miss_2.key
    resolved = Ticket(Tier.CRITICAL, opened, resolved_at=la(2026, 11, 25, 9, 0))
    assert open_breaches(resolved, priority_support=True, now=la(2026, 12, 1, 0, 0)) == []
