from __future__ import annotations

from vixpro.core.roles import API_KEY_ROLES, Role


def test_rank_order() -> None:
    assert Role.OWNER.at_least(Role.ADMIN) and Role.ADMIN.at_least(Role.MEMBER)
    assert not Role.STAKEHOLDER.at_least(Role.MEMBER)


def test_only_stakeholders_are_read_only_and_use_stakeholder_seats() -> None:
    assert [r for r in Role if r.read_only] == [Role.STAKEHOLDER]
    assert [r for r in Role if not r.counts_as_team_member] == [Role.STAKEHOLDER]


def test_admins_cannot_grant_owner() -> None:
    assert Role.OWNER.may_grant(Role.OWNER)
    assert Role.ADMIN.may_grant(Role.ADMIN) and not Role.ADMIN.may_grant(Role.OWNER)
    assert not Role.MEMBER.may_grant(Role.STAKEHOLDER)


def test_api_keys_never_own() -> None:
    assert Role.OWNER not in API_KEY_ROLES
