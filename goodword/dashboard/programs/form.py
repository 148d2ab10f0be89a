"""An HTML form generated from a pydantic model's JSON schema, so the dashboard accepts exactly
what the API accepts and a new option appears in both at once.

The schema is walked once per render: objects become fieldsets, lists of objects repeatable
groups ("add another" / "remove" are named submit buttons, so they work without JavaScript),
enums selects, booleans checkboxes, date-times date-time inputs, lists of words one text input,
and `{name: [values]}` maps a text area. Each input is named by the path of its value in the
document (`rewards.0.caps.1.count`), so pydantic's error `loc` is the input's name: that is how
every error lands next to its field.

Posted data goes back through the same walk (`posted.parse`) into the document the API would
take; the model validates it. A `Layout` adds what a schema cannot say: labels, which options are
"more options", and which numbers are money (typed and shown in major units).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel

from goodword.lib import money as money_lib

# A hidden input `<path>._` says "this object is in the form" (an optional object that was
# added, an item of a list), so one whose inputs are all empty still counts.
MARK = "_"
# The parsed objects from the document's root down to the one being read, each with the name
# of its schema: what a money field looks at to know its currency.
Stack = list[tuple[str, dict[str, Any]]]


class _Missing:
    pass


MISSING = _Missing()


@dataclass(frozen=True)
class Layout:
    """What the schema does not say about the form."""

    labels: Mapping[str, str] = field(default_factory=dict)  # "Def.prop" or "prop" -> label
    help: Mapping[str, str] = field(default_factory=dict)  # "Def.prop" or "prop" -> help
    first: Mapping[str, Sequence[str]] = field(default_factory=dict)  # Def -> props first
    advanced: frozenset[str] = frozenset()  # "Def.prop" shown under "More options"
    hidden: frozenset[str] = frozenset()  # "Def.prop" not in the form
    # "Def.prop" -> label of the empty choice of a select that may be left empty.
    empty: Mapping[str, str] = field(default_factory=dict)
    item_labels: Mapping[str, str] = field(default_factory=dict)  # list prop -> "Reward"
    # "Def.prop" -> the values of its sibling `kind` it is for (the others hide it).
    kinds: Mapping[str, Sequence[str]] = field(default_factory=dict)
    add_labels: Mapping[str, str] = field(default_factory=dict)  # prop -> "Add a reward"
    # "Def.prop" or prop -> the (value, label) choices of a select.
    choices: Mapping[str, Sequence[tuple[str, str]]] = field(default_factory=dict)
    # "Def.prop" whose integer value may be money; `currency(stack, key)` says in which
    # currency (None: not money this time, e.g. a tier's `min` counted in referrals).
    money: frozenset[str] = frozenset()
    currency: Callable[[Stack, str], str | None] = lambda stack, key: None


@dataclass
class Node:
    kind: str
    path: str
    label: str
    help: str = ""
    errors: list[str] = field(default_factory=list)
    kinds: str = ""  # the reward kinds it is for, space-separated; "" for every kind

    @property
    def id(self) -> str:
        return ("f-" if self.kind == "field" else "g-") + (self.path.replace(".", "-") or "root")


@dataclass
class Field(Node):
    widget: str = "text"  # text textarea number money select checkbox datetime url
    value: str = ""
    checked: bool = False
    choices: list[tuple[str, str]] = field(default_factory=list)
    required: bool = False
    prefix: str = ""
    suffix: str = ""
    inputmode: str = ""
    placeholder: str = ""
    minimum: int | None = None
    maximum: int | None = None
    default: str = ""


@dataclass
class Group(Node):
    fields: list[Node] = field(default_factory=list)
    more: list[Node] = field(default_factory=list)  # under "More options"
    more_open: bool = False
    optional: bool = False  # may be left out: "Add …" / "Remove …"
    present: bool = True
    item: bool = False  # an item of a repeatable list
    removable: bool = False
    add_label: str = ""


@dataclass
class Repeat(Node):
    items: list[Group] = field(default_factory=list)
    can_add: bool = True
    add_label: str = ""


def join(path: str, part: str | int) -> str:
    return f"{path}.{part}" if path else str(part)


def loc_path(loc: Sequence[Any]) -> str:
    """pydantic's `loc` as an input's name: `("rewards", 0, "amount")` -> `rewards.0.amount`;
    the names pydantic gives a union's branches (`function-after[...]`, `int`) dropped."""
    parts = [
        str(p)
        for p in loc
        if isinstance(p, int) or (str(p).replace("_", "a").isalnum() and str(p).islower())
    ]
    return ".".join(p for p in parts if p not in ("str", "int", "none", "list", "dict"))


class SchemaForm:
    def __init__(self, model: type[BaseModel], layout: Layout) -> None:
        schema = model.model_json_schema()
        self.defs: dict[str, Any] = schema.pop("$defs", {})
        self.root = schema
        self.name = model.__name__
        self.layout = layout

    def with_choices(self, choices: Mapping[str, Sequence[tuple[str, str]]]) -> SchemaForm:
        """This form with more selects (`"Def.prop": [(value, label)]`), such as the
        workspace's own coupon pools; the schema is shared, not walked again."""
        form = copy.copy(self)
        form.layout = replace(self.layout, choices={**self.layout.choices, **choices})
        return form

    # The schema

    def resolve(self, prop: Mapping[str, Any]) -> tuple[str, dict[str, Any], bool]:
        """(its definition's name or "", its schema, whether it may be null)."""
        spec = dict(prop)
        nullable = False
        if "anyOf" in spec:
            options = [o for o in spec.pop("anyOf") if o.get("type") != "null"]
            nullable = True
            spec = {**spec, **options[0]}
        if "allOf" in spec and len(spec["allOf"]) == 1:
            spec = {**spec, **spec.pop("allOf")[0]}
        ref = spec.pop("$ref", None)
        if ref:
            name = ref.rsplit("/", 1)[1]
            defined = self.defs[name]
            # The field's own description says more than its class's docstring.
            return name, {**defined, **{k: v for k, v in spec.items() if k != "title"}}, nullable
        return "", spec, nullable

    def item_schema(self, spec: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
        """A list's item schema when it is an object with properties."""
        if spec.get("type") != "array":
            return None
        name, item, _ = self.resolve(spec.get("items", {}))
        return (name, item) if "properties" in item else None

    def props(self, name: str, schema: Mapping[str, Any]) -> list[str]:
        props = list(schema.get("properties", {}))
        first = [p for p in self.layout.first.get(name, ()) if p in props]
        ordered = first + [p for p in props if p not in first]
        return [p for p in ordered if f"{name}.{p}" not in self.layout.hidden]

    def schema_at(self, path: str) -> tuple[str, dict[str, Any], bool] | None:
        """The schema of the value at `path`, or None when there is no such place."""
        name, schema, nullable = self.name, self.root, False
        for part in path.split(".") if path else []:
            if part.isdigit():
                item = self.item_schema(schema)
                if item is None:
                    return None
                name, schema = item
                nullable = False
            else:
                if part not in schema.get("properties", {}):
                    return None
                name, schema, nullable = self.resolve(schema["properties"][part])
        return name, schema, nullable

    # Words

    def _label(self, name: str, prop: str, spec: Mapping[str, Any]) -> str:
        labels = self.layout.labels
        return labels.get(f"{name}.{prop}") or labels.get(prop) or spec.get("title") or prop

    def _help(self, name: str, prop: str, spec: Mapping[str, Any]) -> str:
        given = self.layout.help.get(f"{name}.{prop}") or self.layout.help.get(prop)
        text = given if given is not None else spec.get("description", "")
        # A model's docstring is for the API reference; a field's help is one short line.
        return "" if "\n" in text else text.replace("`", "")

    # Rendering

    def render(
        self, doc: Mapping[str, Any], errors: Mapping[str, list[str]], raw: Mapping[str, str]
    ) -> Group:
        """The form for `doc`, with `errors` by input name and `raw` text of inputs that did
        not parse (shown back as typed). An error whose place has no input of its own (a rule
        as a whole, a key inside a map) goes to the nearest one that holds it."""
        form = self._group(self.name, self.root, "", doc, [], raw, label="")
        index: dict[str, Node] = {}
        _walk(form, index)
        for path, messages in errors.items():
            place = path
            while place not in index and place:
                place = place.rpartition(".")[0]
            node = index.get(place, form)
            if node is form and place != path:
                messages = [f"{path}: {m}" for m in messages]
            node.errors.extend(m for m in messages if m not in node.errors)
        _open(form)
        return form

    def _group(
        self,
        name: str,
        schema: Mapping[str, Any],
        path: str,
        value: Any,
        stack: Stack,
        raw: Mapping[str, str],
        *,
        label: str,
        help: str = "",
        optional: bool = False,
        item: bool = False,
    ) -> Group:
        group = Group(
            kind="group",
            path=path,
            label=label,
            help=help,
            optional=optional,
            item=item,
            present=isinstance(value, Mapping),
        )
        if not group.present:
            return group
        values = dict(value)
        stack = [*stack, (name, values)]
        required = set(schema.get("required", []))
        for prop in self.props(name, schema):
            node = self._node(
                name, prop, schema["properties"][prop], join(path, prop), values.get(prop),
                stack, raw, required=prop in required,
            )  # fmt: skip
            node.kinds = " ".join(self.layout.kinds.get(f"{name}.{prop}", ()))
            if f"{name}.{prop}" in self.layout.advanced:
                group.more.append(node)
            else:
                group.fields.append(node)
        return group

    def _node(
        self,
        owner: str,
        prop: str,
        spec: Mapping[str, Any],
        path: str,
        value: Any,
        stack: Stack,
        raw: Mapping[str, str],
        *,
        required: bool,
    ) -> Node:
        name, schema, nullable = self.resolve(spec)
        label = self._label(owner, prop, schema)
        help = self._help(owner, prop, schema)
        if "properties" in schema:
            if value is None and not nullable:
                value = {}  # an object that is always there (its fields have defaults)
            group = self._group(
                name, schema, path, value, stack, raw, label=label, help=help, optional=nullable
            )
            group.add_label = self.layout.add_labels.get(prop, f"Add {label.lower()}")
            return group
        item = self.item_schema(schema)
        if item is not None:
            items = value if isinstance(value, list) else []
            most = int(schema.get("maxItems", 100))
            least = int(schema.get("minItems", 0))
            noun = self.layout.item_labels.get(prop, "Item")
            repeat = Repeat(
                kind="repeat",
                path=path,
                label=label,
                help=help,
                can_add=len(items) < most,
                add_label=self.layout.add_labels.get(prop, f"Add {noun.lower()}"),
            )
            for i, entry in enumerate(items):
                group = self._group(
                    item[0], item[1], join(path, i), entry if isinstance(entry, Mapping) else {},
                    stack, raw, label=f"{noun} {i + 1}", item=True,
                )  # fmt: skip
                group.removable = len(items) > least or nullable
                repeat.items.append(group)
            return repeat
        return self._field(owner, prop, schema, path, value, stack, raw, nullable, required)

    def _field(
        self,
        owner: str,
        prop: str,
        schema: Mapping[str, Any],
        path: str,
        value: Any,
        stack: Stack,
        raw: Mapping[str, str],
        nullable: bool,
        required: bool,
    ) -> Field:
        key = f"{owner}.{prop}"
        out = Field(
            kind="field",
            path=path,
            label=self._label(owner, prop, schema),
            help=self._help(owner, prop, schema),
            required=required,
            minimum=schema.get("minimum"),
            maximum=schema.get("maximum"),
            default="" if schema.get("default") is None else str(schema["default"]),
        )
        if prop.startswith("percent") or prop.endswith("_percent"):
            out.suffix = "%"
        elif prop.endswith("days"):
            out.suffix = "days"
        kind = schema.get("type")
        choices = self.layout.choices.get(key) or self.layout.choices.get(prop)
        if "enum" in schema or choices:
            out.widget = "select"
            options = choices or [(str(v), str(v).replace("_", " ")) for v in schema["enum"]]
            may_be_empty = nullable or (not required and "default" not in schema)
            offered = {v for v, _ in options}
            if (key in self.layout.empty or may_be_empty) and "" not in offered:
                options = [("", self.layout.empty.get(key, "—")), *options]
            out.choices = list(options)
            out.value = "" if value is None else str(value)
            if out.value and out.value not in {v for v, _ in options}:
                out.choices.append((out.value, out.value))  # kept, for the model to judge
            if value is None and not may_be_empty and key not in self.layout.empty:
                out.value = str(schema.get("default", ""))
        elif kind == "boolean":
            out.widget = "checkbox"
            out.checked = bool(schema.get("default", False) if value is None else value)
            out.default = "on" if schema.get("default") else ""
        elif kind == "integer":
            currency = self.layout.currency(stack, key) if key in self.layout.money else None
            if currency is not None:
                out.widget, out.inputmode = "money", "decimal"
                # Typed in major units here, whatever the API reference says.
                out.help = out.help.replace(", in minor units", "").replace(" (minor units)", "")
                out.prefix, out.suffix = _symbol(currency)
                out.value = "" if not isinstance(value, int) else _major(value, currency)
                out.minimum = out.maximum = None
            else:
                out.widget, out.inputmode = "number", "numeric"
                out.value = "" if value is None else str(value)
                if value is None and schema.get("default") is not None:
                    out.placeholder = f"{schema['default']}"
        elif kind == "array":
            out.widget = "textarea" if int(schema.get("maxItems", 0)) > 100 else "text"
            out.value = ", ".join(str(v) for v in value) if isinstance(value, list) else ""
            out.placeholder = "comma-separated"
        elif kind == "object":
            out.widget = "textarea"
            if isinstance(value, Mapping):
                out.value = "\n".join(f"{k}: {', '.join(map(str, v))}" for k, v in value.items())
            out.placeholder = "one per line, such as  segment: vip, gold"
        elif schema.get("format") == "date-time":
            out.widget = "datetime"
            out.value = str(value or "").replace("Z", "")[:16]
        else:
            long = int(schema.get("maxLength", 0)) > 500
            out.widget = "url" if prop.endswith("_url") else "textarea" if long else "text"
            out.value = "" if value is None else str(value)
            if value is None and schema.get("default"):
                out.placeholder = str(schema["default"])
        if path in raw:
            out.value = raw[path]
        return out


def _walk(node: Node, index: dict[str, Node]) -> None:
    index.setdefault(node.path, node)
    children: list[Node] = []
    if isinstance(node, Group):
        children = [*node.fields, *node.more]
    elif isinstance(node, Repeat):
        children = list(node.items)
    for child in children:
        _walk(child, index)


def _filled(node: Node) -> bool:
    """Whether a node holds anything but its defaults, or an error: "More options" opens
    when one of them does."""
    if node.errors:
        return True
    if isinstance(node, Field):
        if node.widget == "checkbox":
            return ("on" if node.checked else "") != node.default
        return node.value not in ("", node.default)
    if isinstance(node, Repeat):
        return bool(node.items)
    if isinstance(node, Group):
        return (node.optional and node.present) or any(_filled(n) for n in node.fields + node.more)
    return False


def _open(node: Node) -> None:
    if isinstance(node, Group):
        for child in [*node.fields, *node.more]:
            _open(child)
        node.more_open = any(_filled(child) for child in node.more)
    elif isinstance(node, Repeat):
        for item in node.items:
            _open(item)


def _major(amount: int, currency: str) -> str:
    return str(amount) if currency == "PTS" else money_lib.major(amount, currency)


def _symbol(currency: str) -> tuple[str, str]:
    """What goes before and after a money input: "$" or "", and the code or "points"."""
    if currency == "PTS":
        return "", "points"
    shown = money_lib.display(0, currency)
    symbol = shown.split("0", 1)[0]
    return symbol, currency
