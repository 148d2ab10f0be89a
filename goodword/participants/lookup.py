"""Refer by name: a friend who lost the link types the advocate's name or email at checkout.

The answer names advocates as little as it can: a masked name ("Alice S."), the code and the
program; never an email, never more than MAX_MATCHES. An email matches only exactly (no
prefix), so nobody can walk the address book one letter at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from goodword.lib.emails import normalize_email
from goodword.participants.models import Advocate
from goodword.programs.models import Program

MIN_QUERY = 3
MAX_QUERY = 200
MAX_MATCHES = 5


@dataclass(frozen=True)
class Match:
    code: str
    name: str  # masked
    program: str  # public id


def mask_name(name: str) -> str:
    """The first name and the last word's initial: "Alice Smith" -> "Alice S.".

    A single word stays as it is; a word that looks like an email shows its first letter only.
    """
    words = name.split()
    if not words:
        return ""
    first = words[0] if "@" not in words[0] else words[0][0] + "."
    if len(words) == 1:
        return first
    return f"{first} {words[-1][0].upper()}."


def find_referrers(*, workspace_id: int, query: str) -> list[Match]:
    """Advocates of the workspace's active programs whose email is `query` (any case) or whose
    name has a word starting with it. Exact email matches first, then by name."""
    q = " ".join(query.split())
    by_name = Q(participant__name__istartswith=q) | Q(participant__name__icontains=" " + q)
    by_email = Q(pk__in=[])
    if "@" in q:
        # The indexed normalised form narrows; iexact keeps the match exact (no +tag folding).
        by_email = Q(participant__email_normalized=normalize_email(q), participant__email__iexact=q)
    found = (
        Advocate.objects.for_workspace(workspace_id)
        .filter(program__status=Program.Status.ACTIVE)
        .filter(by_email | by_name)
        .select_related("participant", "program")
        .order_by("pk")[:50]
    )
    ranked = sorted(found, key=lambda a: (a.participant.email.lower() != q.lower(), a.pk))
    return [
        Match(code=a.code, name=mask_name(a.participant.name), program=a.program.public_id)
        for a in ranked[:MAX_MATCHES]
    ]
