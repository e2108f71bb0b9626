"""How long a tool call waits for a human's approval, by where it came from."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum


class Area(StrEnum):
    MANUAL = "manual"  # a person ran it from the dashboard, the API or the CLI
    REACTIVE = "reactive"
    CHAT = "chat"
    CIRCLES = "circles"
    MAINTENANCE = "maintenance"


# The seed: 5 minutes for plain-language questions and scheduled checks, 10 for reactive
# alerts, 30 for scheduled maintenance. A person's own request waits as long as a reactive one.
APPROVAL_TIMEOUTS: dict[Area, timedelta] = {
    Area.MANUAL: timedelta(minutes=10),
    Area.REACTIVE: timedelta(minutes=10),
    Area.CHAT: timedelta(minutes=5),
    Area.CIRCLES: timedelta(minutes=5),
    Area.MAINTENANCE: timedelta(minutes=30),
}


def approval_timeout(area: Area) -> timedelta:
    return APPROVAL_TIMEOUTS[area]
