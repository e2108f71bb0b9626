"""Organisation roles and what each may do."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    STAKEHOLDER = "stakeholder"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def read_only(self) -> bool:
        return self is Role.STAKEHOLDER

    @property
    def counts_as_team_member(self) -> bool:
        """Stakeholders use stakeholder seats; everyone else uses team-member seats."""
        return self is not Role.STAKEHOLDER

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank

    def may_grant(self, target: Role) -> bool:
        """Owners grant any role; admins grant up to admin; others grant nothing."""
        if self is Role.OWNER:
            return True
        return self is Role.ADMIN and target is not Role.OWNER


_RANK = {Role.STAKEHOLDER: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}

# Roles an API key may carry: a key never owns an organisation.
API_KEY_ROLES = (Role.ADMIN, Role.MEMBER, Role.STAKEHOLDER)
