"""What every dashboard page's frame needs: the sections, the workspaces, what this role may do."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from goodword.accounts.roles import Can, allows
from goodword.dashboard.access import memberships

# The navigation, in groups: (group, [(label, URL name), ...]). Seventeen links in one column
# were a wall; four groups read as what a marketer does: look, run, pay, administer.
NAVIGATION = [
    (
        "Numbers",
        [
            ("Overview", "dashboard:overview"),
            ("Experiments", "dashboard:experiments"),
            ("Cohorts", "dashboard:cohorts"),
            ("Goals", "dashboard:goals"),
            ("Attribution", "dashboard:attribution"),
        ],
    ),
    (
        "Programs",
        [
            ("Programs", "dashboard:programs"),
            ("Referrals", "dashboard:referrals"),
            ("Participants", "dashboard:participants"),
            ("Advocates", "dashboard:advocates"),
        ],
    ),
    (
        "Rewards",
        [
            ("Rewards", "dashboard:rewards"),
            ("Fulfilment", "dashboard:fulfilments"),
            ("Payouts", "dashboard:payouts"),
            ("Coupon pools", "dashboard:coupon_pools"),
        ],
    ),
    (
        "Workspace",
        [
            ("Team", "dashboard:team"),
            ("API keys", "dashboard:api_keys"),
            ("Webhooks", "dashboard:webhooks"),
            ("Connections", "dashboard:connections"),
            ("Imports", "dashboard:imports"),
            ("Messaging", "dashboard:messaging"),
            ("Branding", "dashboard:branding"),
            ("Messages", "dashboard:messages"),
            ("Notifications", "dashboard:staff_notifications"),
            ("Settings", "dashboard:settings"),
            ("Audit log", "dashboard:audit"),
        ],
    ),
]
# (label, URL name) of every section, in order.
SECTIONS = [section for _, sections in NAVIGATION for section in sections]


def frame(request: HttpRequest) -> dict[str, Any]:
    membership = getattr(request, "membership", None)
    if membership is None:
        return {}
    links = [(label, reverse(name)) for label, name in SECTIONS]
    # The section a page belongs to: the longest section path it starts with (a referral's
    # page is under Referrals; everything is under Overview's "/dashboard/").
    here = max((href for _, href in links if request.path.startswith(href)), key=len, default="")
    current = {href: href == here for _, href in links}
    return {
        "sections": [(label, href, current[href]) for label, href in links],
        "navigation": [
            (group, [(label, reverse(name), current[reverse(name)]) for label, name in sections])
            for group, sections in NAVIGATION
        ],
        "workspace": membership.workspace,
        "membership": membership,
        "workspaces": [m.workspace for m in memberships(request)],
        "may": {p.value: allows(membership.role, p) for p in Can},
    }
