"""What each staff role may do. Every dashboard view and action names the permission it needs;
this table is the only place that says which roles hold it."""

from __future__ import annotations

from enum import StrEnum

from goodword.accounts.models import Membership

Role = Membership.Role


class Can(StrEnum):
    VIEW = "view"  # every page, list and export
    REVIEW = "review"  # approve, reject, reverse rewards; fulfilment; payouts
    MANAGE = "manage"  # programs, coupon pools, manual rewards and credit, settings
    TEAM = "team"  # invite, change roles, remove members; API keys
    OWN = "own"  # make or unmake owners


GRANTS: dict[str, frozenset[Can]] = {
    Role.OWNER: frozenset(Can),
    Role.ADMIN: frozenset({Can.VIEW, Can.REVIEW, Can.MANAGE, Can.TEAM}),
    Role.REVIEWER: frozenset({Can.VIEW, Can.REVIEW}),
    Role.ANALYST: frozenset({Can.VIEW}),
}


def allows(role: str, permission: Can) -> bool:
    return permission in GRANTS.get(role, frozenset())
