"""A program's page texts: the words of its portal, landing page and share messages, each a
Liquid template per language (docs/sharing-branding.md). Writes go through
`goodword.messaging.brand_services`; reading falls back to the defaults."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from goodword.api.v1.programs import get_program
from goodword.api.v1.schemas import ERRORS
from goodword.messaging import brand_services, pagecopy
from goodword.messaging.journeys import LANGUAGES
from goodword.messaging.models import PageText
from goodword.programs.models import Program

router = Router(tags=["page texts"])

PAGE_TEXT = "/programs/{program_id}/page-texts/{key}"


class PageTextIn(Schema):
    source: Annotated[str, Field(strict=True, max_length=50_000)] = Field(
        description="a Liquid template (plain text), checked before it is saved"
    )


class PageTextOut(Schema):
    key: str
    language: str
    source: str = Field(description="the program's own template, or the default's")
    is_default: bool
    version: int | None = Field(description="the program's own text's version; null: default")
    updated_at: datetime | None


class PageTextList(Schema):
    data: list[PageTextOut]


def _out(program: Program, key: str, language: str, row: PageText | None) -> dict[str, Any]:
    if row is None:
        return {
            "key": key,
            "language": language,
            "source": pagecopy.default_source(key, language),
            "is_default": True,
            "version": None,
            "updated_at": None,
        }
    return {
        "key": key,
        "language": language,
        "source": row.source,
        "is_default": False,
        "version": row.version,
        "updated_at": row.updated_at,
    }


@router.get("/programs/{program_id}/page-texts", response={200: PageTextList, **ERRORS})
def list_page_texts(request: HttpRequest, program_id: str) -> dict[str, Any]:
    """Every page text in every language: the program's own, or the default."""
    program = get_program(request, program_id)
    own = {(r.key, r.language): r for r in PageText.objects.filter(program=program)}
    return {
        "data": [
            _out(program, key, language, own.get((key, language)))
            for key in pagecopy.DEFAULTS
            for language in LANGUAGES
        ]
    }


@router.put(PAGE_TEXT, response={200: PageTextOut, **ERRORS})
def save_page_text(
    request: HttpRequest, program_id: str, key: str, language: str, body: PageTextIn
) -> dict[str, Any]:
    """Save the program's own text; 422 `template_invalid` says the line and the reason."""
    program = get_program(request, program_id)
    row = brand_services.save_page_text(
        program=program, key=key, language=language, source=body.source
    )
    return _out(program, key, language, row)


@router.delete(PAGE_TEXT, response={204: None, **ERRORS})
def delete_page_text(
    request: HttpRequest, program_id: str, key: str, language: str
) -> Status[None]:
    """Go back to the default text (204 also when there was none of its own)."""
    program = get_program(request, program_id)
    brand_services.delete_page_text(program=program, key=key, language=language)
    return Status(204, None)
