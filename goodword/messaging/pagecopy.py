"""The words on a program's pages (portal, landing page, flyer, widget) that a workspace may
change: each is a Liquid template rendered in the messaging sandbox, with the same limits.

A program may write its own text per key and language (`PageText`, saved through
`brand_services.save_page_text`, which compiles it first); otherwise, or when its text fails
while rendering (a limit of the sandbox reached on this data), the default in the page's
language is used and the failure is logged: a page never fails for its words. Data the
templates get: `advocate` (name, first_name, code, link), `offer` (friend, advocate: plain
words, "" when none), `program` (name), `workspace` (name).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from goodword.messaging import render
from goodword.messaging.content import offers
from goodword.messaging.models import PageText
from goodword.programs.models import Program

logger = logging.getLogger(__name__)

# key -> the default template. Keys are stable: workspaces' own texts are stored by them.
DEFAULTS: dict[str, Any] = {
    # The message prefilled in every share channel (the link is added after it).
    "share_message": _(
        "{% if offer.friend != '' %}A gift for you at {{ workspace.name }} when you use my "
        "link: {{ offer.friend }}.{% else %}I think you'd like {{ workspace.name }}.{% endif %}"
    ),
    # Said with every prefilled share message when the advocate is rewarded (many places' laws
    # on endorsements want it).
    "disclosure": _(
        "{% if offer.advocate != '' %}(I get {{ offer.advocate }} if you join.){% endif %}"
    ),
    "landing_headline": _(
        "{% if offer.friend != '' %}{% if advocate.first_name != '' %}A gift from "
        "{{ advocate.first_name }}: {% else %}A gift for you: {% endif %}{{ offer.friend }}"
        "{% elsif advocate.first_name != '' %}{{ advocate.first_name }} invited you"
        "{% else %}You've been invited{% endif %}"
    ),
    "landing_body": _("Shop at {{ workspace.name }} through this invitation."),
    "portal_intro": _(
        "Share your link with friends.{% if offer.friend != '' %} Their gift: "
        "{{ offer.friend }}.{% endif %}{% if offer.advocate != '' %} Yours, for each friend "
        "who buys: {{ offer.advocate }}.{% endif %}"
    ),
}


def text(program: Program, key: str, language: str, data: Mapping[str, Any]) -> str:
    """The page text `key` of `program` in `language`, rendered with `data` (plain text: the
    page escapes it). A template that fails falls back to the default."""
    return shown(program, key, language, data).text


@dataclass(frozen=True)
class Shown:
    text: str
    is_own: bool  # the program's own text was rendered
    error: str  # why the program's own text failed ("" when it did not)


def shown(
    program: Program, key: str, language: str, data: Mapping[str, Any], source: str | None = None
) -> Shown:
    """`text`, saying whose words were used and why the program's failed; `source` renders
    those words instead of the saved ones (the editor's preview)."""
    own = source
    if own is None:
        own = (
            PageText.objects.filter(program_id=program.pk, key=key, language=language)
            .values_list("source", flat=True)
            .first()
        )
    if own:
        try:
            rendered = render.render(own, data, html=False, key=f"page:{program.pk}:{key}")
        except render.TemplateFailed as exc:
            logger.warning(
                "page text %s (%s) of program %s failed, default used: %s",
                key,
                language,
                program.public_id,
                exc.reason,
            )
            return Shown(default(key, language, data), is_own=False, error=exc.reason)
        return Shown(rendered.strip(), is_own=True, error="")
    return Shown(default(key, language, data), is_own=False, error="")


def default_source(key: str, language: str) -> str:
    with translation.override(language):
        return str(DEFAULTS[key])


def default(key: str, language: str, data: Mapping[str, Any]) -> str:
    """The default text `key` in `language`, rendered with `data`."""
    source = default_source(key, language)
    return render.render(source, data, html=False, key=f"page:{key}:{language}").strip()


# Each text's name in the editor.
NAMES: dict[str, Any] = {
    "share_message": _("Share message"),
    "disclosure": _("Disclosure"),
    "landing_headline": _("Landing page headline"),
    "landing_body": _("Landing page text"),
    "portal_intro": _("Portal introduction"),
}

# What each text is for, in the editor's words.
PURPOSES: dict[str, Any] = {
    "share_message": _("The message prefilled in every share channel; the link goes after it."),
    "disclosure": _("Said with every share message when the advocate is rewarded for it."),
    "landing_headline": _("The headline of the friend's landing page."),
    "landing_body": _("The words under the landing page's headline."),
    "portal_intro": _("The words above the advocate's link, in the portal and on the share page."),
}


def sample_data(program: Program, language: str) -> dict[str, Any]:
    """The data of the editor's preview: Alice Example (code ALICE10) and the program's offer."""
    return {
        "advocate": {
            "name": "Alice Example",
            "first_name": "Alice",
            "code": "ALICE10",
            "link": f"{settings.SITE_URL}/r/ALICE10",
        },
        "offer": offers(program, language),
        "program": {"name": program.name},
        "workspace": {"name": program.workspace.name},
    }
