"""Pydantic's validation errors in plain words: where (the field as a client writes it) and what
to fix. The API's 422 handler and the batch endpoint's per-event errors both use these."""

from __future__ import annotations

import ast
import json
import re
from typing import Any

# pydantic's error types for "this is not an object"; its wording names our schema classes.
_NOT_AN_OBJECT = {"model_type", "model_attributes_type", "dict_type"}

# Plain words for pydantic's error types, with `{name}` taken from the error's context (a
# limit). A type not listed keeps pydantic's wording, "Input should be" read as "must be".
_PLAIN = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "none_required": "must be null",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a JSON array",
    **dict.fromkeys(_NOT_AN_OBJECT, "must be a JSON object"),
    **dict.fromkeys(
        ["datetime_type", "datetime_parsing", "datetime_from_date_parsing"],
        "must be a date and time such as 2026-01-31T09:30:00Z",
    ),
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
}
# Ninja reports where a value came from first: the body (then the parameter's name), the
# query string or the path.
_PARAMETER_SOURCES = {"query", "path", "header", "cookie"}
# A union (a PATCH field's `X | Unset`) names the branch that failed in `loc`, with pydantic's
# name for the branch's schema: `none`, `int`, `constrained-str`, `literal['a','b']`,
# `function-after[_check(), RewardSpec]`, a class name. None of our field names looks so.
_BRANCH = re.compile(r"[^a-z0-9_]|^(none|str|int|float|bool|bytes|list|dict|any)$")


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"


def _choices(expected: str) -> str:
    """`'a', 'b' or 'c'` (pydantic's list of the values allowed) as `"a", "b", "c"`."""
    head, _, last = expected.rpartition(" or ")
    items = [*head.split(", "), last] if head else [last]
    try:
        values = [ast.literal_eval(item) for item in items]
    except (ValueError, SyntaxError):
        return f"must be {expected}"
    shown = ", ".join(json.dumps(v) for v in values)
    return f"must be one of {shown}" if len(values) > 1 else f"must be {shown}"


def _plain(e: dict[str, Any]) -> str:
    """What is wrong with the value, in words that name no pydantic or Python type."""
    kind, ctx = e.get("type", ""), e.get("ctx") or {}
    if kind in ("literal_error", "enum") and "expected" in ctx:
        return _choices(str(ctx["expected"]))
    if kind in ("string_too_short", "too_short"):
        least = int(ctx.get("min_length", 1))
        thing = "character" if kind == "string_too_short" else "item"
        return "must not be empty" if least <= 1 else f"must have at least {_count(least, thing)}"
    if kind in ("string_too_long", "too_long"):
        thing = "character" if kind == "string_too_long" else "item"
        return f"must have at most {_count(int(ctx.get('max_length', 0)), thing)}"
    if kind in _PLAIN:
        return _PLAIN[kind].format(**ctx)
    message = str(e.get("msg", ""))
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if message.startswith("Input should be "):
        message = "must be " + message.removeprefix("Input should be ")
    return message


def _clean_loc(e: dict[str, Any]) -> list[Any]:
    """`loc` without the names pydantic gives a union's branches; the first two items (where
    the value came from and the parameter) and the unknown key of `extra_forbidden` (the
    client's own word) are kept as they are."""
    loc = list(e.get("loc", []))
    keep_last = e.get("type") == "extra_forbidden"
    middle = loc[2 : len(loc) - 1] if keep_last else loc[2:]
    kept = [p for p in middle if not (isinstance(p, str) and _BRANCH.search(p))]
    return loc[:2] + kept + (loc[-1:] if keep_last and len(loc) > 2 else [])


def _from_union_none(e: dict[str, Any], errors: list[dict[str, Any]]) -> bool:
    """Whether `e` is the null branch of an `X | Unset` union whose other branch failed too:
    null is never what the client meant (an explicit null is refused by `PatchIn`)."""
    if e.get("type") != "none_required":
        return False
    union = tuple(e.get("loc", ()))[:-1]
    return any(o is not e and tuple(o.get("loc", ()))[: len(union)] == union for o in errors)


def _details(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    details: list[dict[str, Any]] = []
    for e in errors:
        if _from_union_none(e, errors):
            continue
        detail = {"loc": _clean_loc(e), "msg": _plain(e), "type": e.get("type", "")}
        if detail not in details:
            details.append(detail)
    return details


def _where(loc: list[Any]) -> str:
    """`loc` as a client writes the field: `rewards[0].kind`, or `query parameter 'limit'`."""
    source, rest = (loc[0], loc[1:]) if loc else ("", [])
    if source == "body":
        rest = rest[1:]  # the operation's parameter: its name is not in the document
    path = ""
    for part in rest:
        if isinstance(part, int):
            path += f"[{part}]"
        elif str(part).isidentifier():
            path += f".{part}" if path else str(part)
        else:
            path += f"[{json.dumps(str(part))}]"
    return f"{source} parameter {path!r}" if source in _PARAMETER_SOURCES and path else path


def details(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pydantic's errors as `{loc, msg, type}` in plain words, never empty."""
    return _details(errors) or [{"loc": [], "msg": "the request is not valid", "type": ""}]


def message(details: list[dict[str, Any]]) -> str:
    """One sentence for a 422: the first problem, naming its field."""
    first = details[0]
    where = _where(first["loc"])
    whole_body = not where and first["loc"][:1] == ["body"]
    if whole_body and first["type"] == "missing":
        return "the request body is empty; send a JSON object"
    if whole_body and first["type"] in _NOT_AN_OBJECT:
        return "the request body must be a JSON object"
    return f"{where}: {first['msg']}" if where else str(first["msg"])
