"""What a posted schema form stands for: the document (`parse`), and the changes its own
buttons ask for (`apply`). The inverse of `SchemaForm.render`, walking the same schema."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from goodword.dashboard.programs.form import MARK, MISSING, SchemaForm, Stack, join
from goodword.lib import money as money_lib

Errors = dict[str, list[str]]


def parse(
    form: SchemaForm, data: Mapping[str, str]
) -> tuple[dict[str, Any], Errors, dict[str, str]]:
    """The document a posted form stands for, the inputs that did not parse (their messages),
    and their text as typed. An empty input is left out of the document, so the model's
    default applies, as in an API call that leaves the field out."""
    errors: Errors = {}
    raw: dict[str, str] = {}
    doc = _group(form, form.name, form.root, "", data, [], errors, raw)
    return doc, errors, raw


def _group(
    form: SchemaForm,
    name: str,
    schema: Mapping[str, Any],
    path: str,
    data: Mapping[str, str],
    stack: Stack,
    errors: Errors,
    raw: dict[str, str],
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    stack = [*stack, (name, out)]
    # Plain values first, then money (which reads the currency and kind just parsed), then
    # what is nested (a cap's amount is in its rule's currency).
    passes: tuple[list[str], list[str], list[str]] = ([], [], [])
    for prop in form.props(name, schema):
        _, spec, _ = form.resolve(schema["properties"][prop])
        nested = "properties" in spec or form.item_schema(spec) is not None
        passes[2 if nested else 1 if f"{name}.{prop}" in form.layout.money else 0].append(prop)
    for prop in [*passes[0], *passes[1], *passes[2]]:
        value = _prop(form, name, prop, schema, path, data, stack, errors, raw)
        if value is not MISSING:
            out[prop] = value
    return out


def _indexes(data: Mapping[str, str], where: str) -> list[int]:
    """The items of the list at `where` that the form holds (`where.N.…`), in order."""
    found = set()
    for key in data:
        if key.startswith(where + "."):
            head = key[len(where) + 1 :].split(".", 1)[0]
            if head.isdigit():
                found.add(int(head))
    return sorted(found)


def _prop(
    form: SchemaForm,
    owner: str,
    prop: str,
    parent: Mapping[str, Any],
    path: str,
    data: Mapping[str, str],
    stack: Stack,
    errors: Errors,
    raw: dict[str, str],
) -> Any:
    where = join(path, prop)
    name, schema, nullable = form.resolve(parent["properties"][prop])
    if "properties" in schema:
        if nullable and join(where, MARK) not in data:
            return MISSING
        return _group(form, name, schema, where, data, stack, errors, raw)
    item = form.item_schema(schema)
    if item is not None:
        items = [
            _group(form, item[0], item[1], join(where, i), data, stack, errors, raw)
            for i in _indexes(data, where)
        ]
        if not items and (nullable or prop not in parent.get("required", [])):
            return MISSING
        return items
    if schema.get("type") == "boolean":
        return where in data
    text = str(data.get(where, "")).strip()
    if not text:
        return MISSING
    try:
        return _scalar(form, f"{owner}.{prop}", schema, text, stack)
    except ValueError as exc:
        errors.setdefault(where, []).append(str(exc))
        raw[where] = text
        return MISSING


def _scalar(form: SchemaForm, key: str, schema: Mapping[str, Any], text: str, stack: Stack) -> Any:
    kind = schema.get("type")
    if kind == "integer":
        currency = form.layout.currency(stack, key) if key in form.layout.money else None
        return _whole(text) if currency is None else _money(text, currency)
    if kind == "array":
        words = [w.strip() for w in text.replace("\n", ",").split(",") if w.strip()]
        item = schema.get("items", {})
        return [_whole(w) for w in words] if item.get("type") == "integer" else words
    if kind == "object":
        out: dict[str, list[str]] = {}
        for line in text.splitlines():
            if not line.strip():
                continue
            name, colon, values = line.partition(":")
            if not colon or not name.strip():
                raise ValueError("write one per line, as  name: value, value")
            out[name.strip()] = [v.strip() for v in values.split(",") if v.strip()]
        return out
    if schema.get("format") == "date-time":
        # A datetime-local input gives "2026-04-01T09:30", which the form says is UTC.
        return text + ":00Z" if len(text) == 16 else text
    return text


def _whole(text: str) -> int:
    cleaned = text.replace(",", "").replace(" ", "")
    if not cleaned.lstrip("-").isdigit():
        raise ValueError("enter a whole number")
    return int(cleaned)


def _money(text: str, currency: str) -> int:
    if currency == "PTS":
        try:
            return _whole(text)
        except ValueError:
            raise ValueError("enter a whole number of points") from None
    return money_lib.parse_major(text, currency)


def apply(form: SchemaForm, doc: dict[str, Any], op: str) -> bool:
    """`add:<path>` (a list's new item, or an optional object) or `remove:<path>`; False when
    the path names nothing that can be added or removed."""
    verb, _, path = op.partition(":")
    found = form.schema_at(path)
    if found is None or verb not in ("add", "remove") or not path:
        return False
    parent_path, _, last = path.rpartition(".")
    parent = _get(doc, parent_path)
    _, schema, nullable = found
    if verb == "add":
        if isinstance(parent, dict) and "properties" in schema and nullable:
            parent.setdefault(last, {})
            return True
        if isinstance(parent, dict) and form.item_schema(schema) is not None:
            items = parent.setdefault(last, [])
            if isinstance(items, list) and len(items) < int(schema.get("maxItems", 100)):
                items.append({})
                return True
        return False
    if last.isdigit() and isinstance(parent, list) and int(last) < len(parent):
        del parent[int(last)]
        return True
    if isinstance(parent, dict) and nullable and last in parent:
        del parent[last]
        return True
    return False


def _get(doc: Any, path: str) -> Any:
    for part in path.split(".") if path else []:
        if isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        elif isinstance(doc, dict):
            doc = doc.get(part)
        else:
            return None
    return doc
