"""The words on a program's pages (portal, landing page, flyer, widget) that a workspace may
change: each is a Liquid template rendered in the messaging sandbox, with the same limits.

Until the workspace writes its own, each key has a default in the page's language. Data the
templates get: `advocate` (name, first_name, code, link), `offer` (friend, advocate: plain
words, "" when none), `program` (name), `workspace` (name).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from goodword.messaging import render
from goodword.programs.models import Program

# key -> the default template. Keys are stable: workspaces' own texts are stored by them.
DEFAULTS: dict[str, Any] = {
    # The message prefilled in every share channel (the link is added after it).
    "share_message": _(
        "{% if offer.friend != '' %}Get {{ offer.friend }} at {{ workspace.name }} with my "
        "link.{% else %}I think you'd like {{ workspace.name }}.{% endif %}"
    ),
    # Said with every prefilled share message when the advocate is rewarded (many places' laws
    # on endorsements want it).
    "disclosure": _(
        "{% if offer.advocate != '' %}(I get {{ offer.advocate }} if you join.){% endif %}"
    ),
    "landing_headline": _(
        "{% if advocate.first_name != '' %}{{ advocate.first_name }} gave you "
        "{% else %}You've been given {% endif %}{% if offer.friend != '' %}{{ offer.friend }}"
        "{% else %}an invitation{% endif %}"
    ),
    "landing_body": _("Shop at {{ workspace.name }} through this invitation."),
    "portal_intro": _(
        "Share your link with friends.{% if offer.friend != '' %} They get "
        "{{ offer.friend }}{% endif %}{% if offer.advocate != '' %}, and you get "
        "{{ offer.advocate }} for each friend who buys{% endif %}."
    ),
}


def text(program: Program, key: str, language: str, data: Mapping[str, Any]) -> str:
    """The page text `key` of `program` in `language`, rendered with `data` (plain text: the
    page escapes it). A template that fails falls back to the default."""
    with translation.override(language):
        source = str(DEFAULTS[key])
    return render.render(source, data, html=False, key=f"page:{key}:{language}").strip()
