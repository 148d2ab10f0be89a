from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import template
from django.utils.html import format_html

from goodword.lib import money as money_lib

register = template.Library()


@register.filter
def money(amount: int | None, currency: str) -> str:
    """`{{ reward.amount|money:reward.currency }}` -> "$10.50"."""
    if amount is None:
        return "—"
    return money_lib.display(amount, currency)


@register.filter
def took(end: datetime | None, start: datetime | None) -> str:
    """`{{ referral.converted_at|took:referral.created_at }}` -> "3 days 4 h"."""
    if end is None or start is None:
        return ""
    return duration(end - start)


def duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return f"{max(seconds, 0)} s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if days:
        rest = hours - days * 24
        return f"{days} day{'s' if days > 1 else ''}" + (f" {rest} h" if rest else "")
    if hours:
        rest = minutes - hours * 60
        return f"{hours} h" + (f" {rest} min" if rest else "")
    return f"{minutes} min"


@register.simple_tag
def sort_header(listing: Any, key: str, label: str) -> str:
    """A sortable column's `<th>`: a link that sorts by it (or reverses), and its state."""
    if listing.sort == key:
        arrow, state = " ▲", "ascending"
    elif listing.sort == "-" + key:
        arrow, state = " ▼", "descending"
    else:
        arrow, state = "", "none"
    return format_html(
        '<th scope="col" aria-sort="{}"><a href="{}">{}{}</a></th>',
        state,
        listing.sort_url(key),
        label,
        arrow,
    )
