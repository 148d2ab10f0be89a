"""The advocates list sorted by referrals or conversions (read from the rollups' per-advocate
totals) shows the order and the counts of counting each advocate's referrals: on random
histories, both ways, searched, filtered by program and cut into pages; ties (every advocate
without a referral, at least) go by id the same way; another workspace's advocates never
show."""

from __future__ import annotations

import csv
import io
import random
from typing import Any

import pytest
from django.test import Client

from goodword.accounts.models import Workspace
from goodword.analytics import rollups
from goodword.analytics.models import AdvocateTotal
from goodword.analytics.scope import computed_raw
from goodword.dashboard.people import views
from goodword.participants.models import Advocate, Participant
from goodword.programs.models import Program
from goodword.referrals.models import Referral
from tests import test_analytics as history
from tests.dashboard import member

SORTS = ("referrals_made", "-referrals_made", "conversions", "-conversions")


def plain_counts(ws: Workspace) -> dict[int, tuple[int, int]]:
    """Per advocate id: (friends who came, converted and standing), by a loop over the rows."""
    counts = {
        pk: [0, 0] for pk in Advocate.objects.filter(workspace=ws).values_list("pk", flat=True)
    }
    for r in Referral.objects.filter(workspace=ws, test=False):
        if r.status != "rejected" or r.reject_reason == "expired":
            counts[r.advocate_id][0] += 1
        if r.status in ("converted", "rewarded"):
            counts[r.advocate_id][1] += 1
    return {pk: (came, converted) for pk, (came, converted) in counts.items()}


def expected(counts: dict[int, tuple[int, int]], sort: str) -> list[tuple[int, int, int]]:
    column = 0 if sort.lstrip("-") == "referrals_made" else 1
    rows = [(pk, *c) for pk, c in counts.items()]
    return sorted(rows, key=lambda r: (r[1 + column], r[0]), reverse=sort.startswith("-"))


def shown(client: Client, params: dict[str, Any]) -> list[tuple[int, int, int]]:
    """Every page of the list: (advocate id, referrals, conversions) in order."""
    rows: list[tuple[int, int, int]] = []
    for page in range(1, 50):
        answer = client.get("/dashboard/advocates/", {**params, "page": page})
        assert answer.status_code == 200
        rows += [
            (r.advocate.pk, r.advocate.referrals_made, r.advocate.conversions)
            for r in answer.context["rows"]
        ]
        if not answer.context["listing"].page.has_next():
            return rows
    raise AssertionError("too many pages")


def exported(client: Client, params: dict[str, Any]) -> list[tuple[int, int, int]]:
    answer = client.get("/dashboard/advocates/export.csv", params)
    ids = dict(Advocate.objects.values_list("public_id", "pk"))
    return [
        (ids[r["advocate_id"]], int(r["referrals"]), int(r["conversions"]))
        for r in csv.DictReader(io.StringIO(answer.content.decode()))
    ]


def idle_advocates(ws: Workspace, n: int) -> None:
    """Advocates without a click or a referral: no totals at all, tied at zero."""
    program = Program.objects.filter(workspace=ws).order_by("pk").first()
    for i in range(n):
        person = Participant.objects.create(workspace=ws, external_id=f"{ws.name}-idle{i}")
        code = f"{ws.name}-IDLE{i}".upper()
        Advocate.objects.create(
            workspace=ws, program=program, participant=person, code=code, code_normalized=code
        )


@pytest.mark.parametrize("how", ["rebuilt", "incremental"])
@pytest.mark.parametrize("seed", range(5))
def test_sorted_by_counts_equals_counting_the_referrals(
    db: None, seed: int, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "PER_PAGE", 3)  # several pages of a few advocates
    rng = random.Random(seed)
    history.make_random_history(rng, f"noise{seed}")  # another workspace: never shown
    if how == "incremental":
        rollups.rebuild()
    ws = history.make_random_history(rng, f"s{seed}")
    idle_advocates(ws, 2)
    if how == "rebuilt":
        rollups.rebuild()
    else:
        history.announce(ws)  # rolled up as the page catches up
    counts = plain_counts(ws)
    client = member(ws, f"analyst@s{seed}.test", "analyst")
    for sort in SORTS:
        want = expected(counts, sort)
        assert shown(client, {"sort": sort}) == want, sort
        assert exported(client, {"sort": sort}) == want, sort
        with computed_raw():
            assert shown(client, {"sort": sort}) == want, sort
        program = Program.objects.filter(workspace=ws).order_by("pk").first()
        assert program is not None
        mine = set(Advocate.objects.filter(program=program).values_list("pk", flat=True))
        of_program = shown(client, {"sort": sort, "program": program.public_id})
        assert of_program == [r for r in want if r[0] in mine], sort
        idle = set(Advocate.objects.filter(code__contains="IDLE").values_list("pk", flat=True))
        assert shown(client, {"sort": sort, "q": "idle"}) == [r for r in want if r[0] in idle]
    assert not AdvocateTotal.objects.filter(
        advocate_id__in=Advocate.objects.filter(code__contains="IDLE").values("pk")
    ).exists()  # some advocates have no totals at all
    assert len(set(counts.values())) < len(counts)  # ties, at least at zero
