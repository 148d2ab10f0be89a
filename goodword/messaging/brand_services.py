"""Writes of brands and page texts: a workspace's colour and logo, a program's own colour and
logo, and a program's own page texts. The dashboard and the API call these; each checks
everything before it writes anything. An uploaded logo is kept first (`logos.store`, which
refuses a hostile file) and its URL set here."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from goodword.accounts.models import Workspace
from goodword.lib.errors import Invalid
from goodword.messaging import checks, pagecopy, render, services
from goodword.messaging.journeys import LANGUAGES
from goodword.messaging.models import MessagingSettings, PageText, ProgramBrand
from goodword.programs.models import Program


@transaction.atomic
def set_program_brand(*, program: Program, color: str, logo_url: str) -> ProgramBrand | None:
    """Set a program's own colour and logo ("" for either: the workspace's). Both "": the
    program has no brand of its own (its row is removed). Invalid `invalid_color` or
    `invalid_url` before anything is written."""
    color = checks.clean_setting("brand_color", color) if color else ""
    logo_url = checks.clean_setting("logo_url", logo_url) if logo_url else ""
    if not color and not logo_url:
        ProgramBrand.objects.filter(program_id=program.pk).delete()
        return None
    row, _ = ProgramBrand.objects.update_or_create(
        program=program,
        defaults={"workspace_id": program.workspace_id, "color": color, "logo_url": logo_url},
    )
    return row


def update_brand(*, workspace: Workspace, changes: dict[str, str], actor: str | None) -> None:
    """Change the workspace's `brand_color` and `logo_url` (its messaging settings)."""
    unknown = set(changes) - {"brand_color", "logo_url"}
    if unknown:
        raise Invalid(f"not a brand field: {', '.join(sorted(unknown))}", code="unknown_setting")
    services.update_settings(workspace=workspace, changes=changes, actor=actor)


def settings_of(workspace: Workspace) -> MessagingSettings:
    return services.settings_of(workspace)


def check_page_text(key: str, language: str, source: str) -> None:
    """Invalid `unknown_page_text`, `unknown_language`, `page_text_empty` or
    `template_invalid` (with the line and the reason)."""
    if key not in pagecopy.DEFAULTS:
        raise Invalid(
            f"{key!r} is not a page text; the page texts are: {', '.join(pagecopy.DEFAULTS)}",
            code="unknown_page_text",
            details={"field": "key"},
        )
    if language not in LANGUAGES:
        raise checks.unknown_language(language)
    if not source.strip():
        raise Invalid(
            "the text is empty; write one, or delete it to use the default",
            code="page_text_empty",
            details={"field": "source"},
        )
    try:
        render.check(source, html=False)
    except render.TemplateFailed as exc:
        raise Invalid(
            f"the text cannot be used: {exc.reason}",
            code="template_invalid",
            details={"field": "source", "reason": exc.reason},
        ) from None


@transaction.atomic
def save_page_text(*, program: Program, key: str, language: str, source: str) -> PageText:
    """Save the program's own `key` text in `language` (a Liquid template, checked first).
    Saving the same words again changes nothing; a change adds 1 to `version`."""
    check_page_text(key, language, source)
    now = timezone.now()
    row, created = PageText.objects.select_for_update().get_or_create(
        program=program,
        key=key,
        language=language,
        defaults={
            "workspace_id": program.workspace_id,
            "source": source,
            "created_at": now,
            "updated_at": now,
        },
    )
    if not created and row.source != source:
        row.source = source
        row.version += 1
        row.updated_at = now
        row.save(update_fields=["source", "version", "updated_at"])
    return row


@transaction.atomic
def delete_page_text(*, program: Program, key: str, language: str) -> bool:
    """Go back to the default text; False when the program had none of its own."""
    if key not in pagecopy.DEFAULTS:
        raise Invalid(f"{key!r} is not a page text", code="unknown_page_text")
    if language not in LANGUAGES:
        raise checks.unknown_language(language)
    deleted, _ = PageText.objects.filter(program=program, key=key, language=language).delete()
    return bool(deleted)
