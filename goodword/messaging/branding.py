"""A program's brand as people see it on Goodword's pages (portal, landing page, flyer, widget)
and in its emails: a name, a colour and a logo. The workspace's messaging settings hold it;
a program may have its own colour or logo (`ProgramBrand`), which wins where it is set."""

from __future__ import annotations

from dataclasses import dataclass

from goodword.accounts.models import Workspace
from goodword.messaging.layout import DEFAULT_COLOR, brand_color, readable_text
from goodword.messaging.models import MessagingSettings
from goodword.programs.models import Program


@dataclass(frozen=True)
class Brand:
    name: str
    color: str  # #RRGGBB, checked
    logo_url: str  # "" when none; an http(s) URL otherwise

    @property
    def text_color(self) -> str:
        """White or near-black, whichever reads better on `color` (WCAG contrast)."""
        return readable_text(self.color)


def for_workspace(workspace: Workspace) -> Brand:
    """The workspace's own brand (one query)."""
    found = MessagingSettings.objects.filter(workspace_id=workspace.pk).first()
    name = workspace.name if found is None or not found.from_name else found.from_name
    if found is None:
        return Brand(name=name, color=DEFAULT_COLOR, logo_url="")
    return Brand(name=name, color=brand_color(found.brand_color), logo_url=_web(found.logo_url))


def for_program(program: Program) -> Brand:
    """The brand of `program`'s pages: the workspace's, with the program's own colour and
    logo where it has them (one query)."""
    row = (
        Program.objects.filter(pk=program.pk)
        .values(
            "workspace__name",
            "workspace__messagingsettings__from_name",
            "workspace__messagingsettings__brand_color",
            "workspace__messagingsettings__logo_url",
            "brand__color",
            "brand__logo_url",
        )
        .first()
    )
    if row is None:  # deleted meanwhile: its workspace's defaults
        return Brand(name=program.workspace.name, color=DEFAULT_COLOR, logo_url="")
    base = Brand(
        name=row["workspace__messagingsettings__from_name"] or row["workspace__name"],
        color=brand_color(row["workspace__messagingsettings__brand_color"] or ""),
        logo_url=_web(row["workspace__messagingsettings__logo_url"] or ""),
    )
    return merge(base, color=row["brand__color"] or "", logo_url=row["brand__logo_url"] or "")


def merge(base: Brand, *, color: str, logo_url: str) -> Brand:
    """`base` with a program's colour and logo over it ("" keeps the base's)."""
    return Brand(
        name=base.name,
        color=brand_color(color) if color else base.color,
        logo_url=_web(logo_url) or base.logo_url,
    )


def _web(url: str) -> str:
    return url if url.startswith(("https://", "http://")) else ""
