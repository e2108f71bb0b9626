"""The action-item pipeline from the service-level page, as a state machine.

``pending`` (identified, awaiting triage) → ``pending_fix`` (the platform team is fixing it)
→ ``pending_org_review`` (fix deployed, the organisation verifies) → ``resolved``; staff may
park an item in ``backlog``. Who may move an item: platform staff, the organisation (owners and
admins), or the platform itself (a failure recurring).
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    PENDING = "pending"
    PENDING_FIX = "pending_fix"
    PENDING_ORG_REVIEW = "pending_org_review"
    RESOLVED = "resolved"
    BACKLOG = "backlog"


class Mover(StrEnum):
    STAFF = "staff"
    ORG = "org"
    SYSTEM = "system"


_MOVES: dict[tuple[Status, Status], frozenset[Mover]] = {
    (Status.PENDING, Status.PENDING_FIX): frozenset({Mover.STAFF}),
    (Status.PENDING, Status.BACKLOG): frozenset({Mover.STAFF}),
    (Status.BACKLOG, Status.PENDING): frozenset({Mover.STAFF}),
    (Status.BACKLOG, Status.PENDING_FIX): frozenset({Mover.STAFF}),
    (Status.PENDING_FIX, Status.PENDING_ORG_REVIEW): frozenset({Mover.STAFF}),
    (Status.PENDING_FIX, Status.BACKLOG): frozenset({Mover.STAFF}),
    (Status.PENDING_ORG_REVIEW, Status.RESOLVED): frozenset({Mover.ORG, Mover.STAFF}),
    # The organisation says the fix did not work: back to the platform team.
    (Status.PENDING_ORG_REVIEW, Status.PENDING_FIX): frozenset({Mover.ORG, Mover.STAFF}),
    # The same failure again after resolution.
    (Status.RESOLVED, Status.PENDING): frozenset({Mover.SYSTEM, Mover.STAFF}),
}


class InvalidMove(ValueError):
    pass


def allowed(current: Status, mover: Mover) -> list[Status]:
    """Where ``mover`` may take an item that is ``current``."""
    return [to for (frm, to), movers in _MOVES.items() if frm is current and mover in movers]


def move(current: Status, to: Status, mover: Mover) -> Status:
    """``to``, if ``mover`` may make that move; otherwise :class:`InvalidMove` saying why."""
    movers = _MOVES.get((current, to))
    if movers is None:
        choices = sorted({t.value for (f, t) in _MOVES if f is current})
        raise InvalidMove(
            f"an action item that is {current.value} cannot become {to.value}"
            + (f"; it can become: {', '.join(choices)}" if choices else "")
        )
    if mover not in movers:
        who = " or ".join(sorted(m.value for m in movers))
        raise InvalidMove(f"only {who} may move an action item from {current.value} to {to.value}")
    return to


def disables_tool(status: Status) -> bool:
    """While the platform team fixes a tool, that tool is disabled for the organisation."""
    return status is Status.PENDING_FIX
