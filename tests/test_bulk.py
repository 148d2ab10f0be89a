"""`bulk.write_rows`: plain tuples written as rows (COPY on PostgreSQL), with every column not
given taking its fixed value or the model's default."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from goodword.accounts.models import Workspace
from goodword.accounts.services import create_workspace
from goodword.lib import bulk
from goodword.participants.models import Participant

NOW = datetime(2026, 3, 1, 12, 30, 5, tzinfo=UTC)


def make_acme() -> Workspace:
    workspace, _ = create_workspace(name="Acme", owner_email="owner@acme.test")
    return workspace


def test_columns_not_given_take_their_fixed_values_and_defaults(db: None) -> None:
    acme = make_acme()
    bulk.write_rows(
        Participant,
        ("external_id", "email", "attributes", "first_purchase_at"),
        [
            ("alice", "alice@acme.test", {"plan": "gold", "note": "tab\there"}, NOW),
            ("bob", "bob@acme.test", {}, None),
        ],
        fixed={"workspace_id": acme.pk, "created_at": NOW, "updated_at": NOW},
    )
    alice, bob = Participant.objects.for_workspace(acme).order_by("pk")
    assert (alice.external_id, alice.email) == ("alice", "alice@acme.test")
    assert alice.attributes == {"plan": "gold", "note": "tab\there"}
    assert alice.first_purchase_at == NOW
    assert (bob.attributes, bob.first_purchase_at) == ({}, None)
    for person in (alice, bob):
        assert person.public_id.startswith("par_")
        assert (person.name, person.purchase_count, person.test) == ("", 0, False)
        assert (person.nps_score, person.nps_at) == (None, None)
        assert (person.created_at, person.updated_at) == (NOW, NOW)
    assert alice.public_id != bob.public_id  # a callable default is called for every row
    # Dates compare in SQL as Django wrote them (text on SQLite).
    assert Participant.objects.filter(first_purchase_at=NOW).get() == alice
    assert bob.pk == alice.pk + 1


def test_given_ids_are_kept(db: None) -> None:
    acme = make_acme()
    bulk.write_rows(
        Participant,
        ("id", "external_id"),
        [(700, "alice"), (702, "bob")],
        fixed={"workspace_id": acme.pk, "created_at": NOW, "updated_at": NOW},
    )
    assert list(Participant.objects.order_by("pk").values_list("pk", "external_id")) == [
        (700, "alice"),
        (702, "bob"),
    ]


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (("email",), "Participant.external_id has no default: give its value"),
        (("external_id", "nickname"), "Participant has no column nickname"),
    ],
)
def test_a_missing_or_unknown_column_writes_nothing(
    db: None, columns: tuple[str, ...], message: str
) -> None:
    acme = make_acme()
    with pytest.raises(ValueError, match=message):
        bulk.write_rows(
            Participant,
            columns,
            [("x",) * len(columns)],
            fixed={"workspace_id": acme.pk, "created_at": NOW, "updated_at": NOW},
        )
    assert not Participant.objects.exists()
