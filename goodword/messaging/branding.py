"""A program's brand as people see it on Goodword's pages (portal, landing page, flyer, widget)
and in its emails: a name, a colour and a logo. The workspace's messaging settings hold it."""

from __future__ import annotations

from dataclasses import dataclass

from goodword.messaging.layout import DEFAULT_COLOR, brand_color
from goodword.messaging.models import MessagingSettings
from goodword.programs.models import Program


@dataclass(frozen=True)
class Brand:
    name: str
    color: str  # #RRGGBB, checked
    logo_url: str  # "" when none; an http(s) URL otherwise


def for_program(program: Program) -> Brand:
    """The brand of `program`'s pages (one query)."""
    found = MessagingSettings.objects.filter(workspace_id=program.workspace_id).first()
    name = program.workspace.name if found is None or not found.from_name else found.from_name
    if found is None:
        return Brand(name=name, color=DEFAULT_COLOR, logo_url="")
    logo = found.logo_url if found.logo_url.startswith(("https://", "http://")) else ""
    return Brand(name=name, color=brand_color(found.brand_color), logo_url=logo)
