"""Participants from a CSV file, a batch at a time: upserted by `external_id` with one lookup,
one bulk insert (COPY on PostgreSQL) and one `executemany` of updates per batch, with a
`participant.updated` domain event for each participant the file changed (as the API's
`upsert_participant` records; the rollups re-segment their advocates from it)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection

from goodword.events.models import DomainEvent
from goodword.lib import bulk, sql
from goodword.lib.emails import normalize_email
from goodword.lib.errors import Invalid
from goodword.lib.ids import new_ids
from goodword.participants.models import Participant

REQUIRED = ("external_id",)
ATTR = "attr."
MAX_ATTRIBUTES = 50  # as the API's `attributes`
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
Value = str | int | bool


@dataclass
class Person:
    """One row of the file: None leaves a field as it is (an empty cell sets nothing)."""

    line: int
    external_id: str
    email: str | None
    name: str | None
    attributes: dict[str, Value]


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def attribute_value(text: str) -> Value:
    """A cell as an attribute: `true`/`false` a boolean, a whole number written plainly (no
    sign `+`, no leading zero) an integer, anything else text. The export writes values so."""
    if text in ("true", "false"):
        return text == "true"
    if len(text) <= 15 and re.fullmatch(r"-?(0|[1-9][0-9]*)", text):
        return int(text)
    return text


def attribute_text(value: Any) -> str:
    """An attribute as the export writes it (the inverse of `attribute_value`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int):
        return str(value)
    return json.dumps(value, sort_keys=True)


def check_header(header: Sequence[str]) -> None:
    for name in header:
        if name.startswith(ATTR) and not 1 <= len(name) - len(ATTR) <= 100:
            raise Invalid(
                f"column {name[:120]!r}: an attribute name has 1 to 100 characters",
                code="bad_header",
            )


def parse(line: int, values: dict[str, str]) -> Person | str:
    """The row as a Person, or why it is refused."""
    external_id = values["external_id"].strip()
    if not external_id:
        return "external_id is empty"
    if len(external_id) > 255:
        return "external_id is longer than 255 characters"
    email = values.get("email", "").strip() or None
    if email is not None and (len(email) > 320 or not _EMAIL.match(email)):
        return "email is not an address like name@example.com"
    name = values.get("name", "") or None
    if name is not None and len(name) > 200:
        return "name is longer than 200 characters"
    attributes: dict[str, Value] = {}
    for column, text in values.items():
        if column.startswith(ATTR) and text != "":
            if len(text) > 200:
                return f"{column} is longer than 200 characters"
            attributes[column[len(ATTR) :]] = attribute_value(text)
    if len(attributes) > MAX_ATTRIBUTES:
        return f"more than {MAX_ATTRIBUTES} attributes"
    return Person(line, external_id, email, name, attributes)


def existing(
    workspace_id: int, names: Sequence[str], external_ids: Sequence[str]
) -> dict[str, tuple[Any, ...]]:
    """The rows (columns `names`, after `external_id`) of these participants, by external id."""
    table = Participant._meta.db_table
    cols = ", ".join(["external_id", *names])
    where = "workspace_id = %s AND external_id " + keys_in()
    params = [workspace_id, keys_param(external_ids)]
    rows = lookup(f"SELECT {cols} FROM {table} WHERE {where}", params)  # noqa: S608
    return {row[0]: row[1:] for row in rows}


def keys_in() -> str:
    """`IN`/`= ANY` of one parameter holding a batch's keys (`keys_param`): one statement per
    batch on both databases, not one per few hundred keys."""
    if connection.vendor == "postgresql":
        return "= ANY(%s)"
    return "IN (SELECT value FROM json_each(%s))"


def keys_param(keys: Sequence[str]) -> Any:
    return list(keys) if connection.vendor == "postgresql" else json.dumps(list(keys))


def lookup(statement: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Rows of a SELECT with a batch's keys as one array: bound on the server on PostgreSQL,
    as Django's cursor would quote 5,000 keys into the SQL text (0.1 s a batch, measured)."""
    with sql._bulk_cursor() as cursor:
        cursor.execute(statement, params)
        return list(cursor.fetchall())


_ATTRIBUTES = Participant._meta.get_field("attributes")
NEW = ("public_id", "external_id", "email", "email_normalized", "name", "attributes")
SET = ("email", "email_normalized", "name", "attributes", "updated_at")


def _merged(people: list[Person]) -> dict[str, Person]:
    """One Person per external id: a later row of the batch over an earlier one."""
    out: dict[str, Person] = {}
    for p in people:
        seen = out.get(p.external_id)
        if seen is None:
            out[p.external_id] = p
            continue
        seen.email = p.email if p.email is not None else seen.email
        seen.name = p.name if p.name is not None else seen.name
        seen.attributes = {**seen.attributes, **p.attributes}
    return out


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def write(workspace_id: int, people: list[Person], now: datetime) -> Counts:
    """Upsert a batch. Call inside the batch's transaction."""
    counts = Counts()
    merged = _merged(people)
    found = existing(workspace_id, ("id", "public_id", "email", "name", "attributes"), list(merged))
    fresh: list[Person] = []
    changes: list[dict[str, Any]] = []
    updated_events: list[tuple[Any, ...]] = []
    for key, p in merged.items():
        row = found.get(key)
        if row is None:
            fresh.append(p)
            continue
        pk, public_id, email, name, stored = row
        attributes = sql.convert(_ATTRIBUTES, stored) or {}
        fields = []
        if p.email is not None and p.email != email:
            fields.append("email")
            email = p.email
        if p.name is not None and p.name != name:
            fields.append("name")
            name = p.name
        keys = sorted(
            k
            for k, v in p.attributes.items()
            if k not in attributes or _text(attributes[k]) != _text(v)
        )
        if keys:
            fields.append("attributes")
            attributes = {**attributes, **p.attributes}
        if not fields:
            continue
        changes.append(
            {"id": pk, "email": email, "email_normalized": normalize_email(email), "name": name,
             "attributes": attributes, "updated_at": now}
        )  # fmt: skip
        updated_events.append(
            ("participant.updated", public_id, {"fields": sorted(fields), "attributes": keys})
        )
    # Ids for the batch from one read of the random source each (`new_ids`).
    par_ids = new_ids("par", len(fresh))
    new = [
        (pid, p.external_id, p.email or "", normalize_email(p.email or ""), p.name or "",
         p.attributes)
        for pid, p in zip(par_ids, fresh, strict=True)
    ]  # fmt: skip
    fixed = {"workspace_id": workspace_id, "created_at": now, "updated_at": now}
    bulk.write_rows(Participant, NEW, new, fixed=fixed)
    sql.update_many(Participant, SET, "", changes)
    # No `participant.created` per new row: the import's one `import.completed` stands for
    # them, and the rollups read new participants by id. Written per row, the events were
    # nearly half the database's work (benches/imports.py, docs/import-export.md).
    bulk.write_rows(
        DomainEvent,
        ("name", "subject_id", "data"),
        updated_events,
        fixed={"workspace_id": workspace_id, "created_at": now},
    )
    counts.created, counts.updated = len(new), len(changes)
    # Rows that changed nothing, a later row of the same person in the batch among them.
    counts.unchanged = len(people) - counts.created - counts.updated
    return counts
