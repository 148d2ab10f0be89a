"""The one sandbox in which merchant-edited Liquid templates are compiled and rendered.

A merchant's template is untrusted code that runs in the sender's process, so everything it
can do is bounded (docs/messaging.md, "Templates and their limits"):

- it reads only the data it is given, copied to plain dicts, lists, strings and numbers (Liquid
  reads items of mappings and sequences, never Python attributes);
- `include` and `render` are not tags at all, and the environment's loader is an empty
  dictionary: no template, file or path can be reached;
- the `safe` filter is removed, so with `html=True` every value is escaped (the merchant's own
  literal HTML is kept);
- source size, loop iterations (in all, not only per loop), output size, the size of values
  and variables, block nesting and the CPU time of a render are all limited.

python-liquid has no timeout. The deadline is checked before every node is rendered (each text
chunk, output and tag, so every loop iteration), before every filter, and at every loop's
start: only one node or one filter call runs between two checks, and the size limits (checked
before the filters whose output grows faster than their input, and after every filter) keep
each such step short. Python cannot interrupt a running C call, so this is the least-bad bound
that needs no thread, signal or process per render. A render that runs long pauses for a
moment every few milliseconds of CPU, so that the sender's other sessions (threads) are not
held back more than the render's own CPU time.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from liquid import BoundTemplate, Environment, RenderContext
from liquid.builtin.filters.array import uniq as liquid_uniq
from liquid.builtin.tags.for_tag import ForLoop
from liquid.builtin.tags.tablerow_tag import TableRow
from liquid.exceptions import (
    BlockNestingError,
    ContextDepthError,
    LiquidError,
    LiquidSyntaxError,
    LocalNamespaceLimitError,
    LoopIterationLimitError,
    OutputStreamLimitError,
)
from liquid.filter import sequence_filter
from liquid.output import LimitedStringIO
from liquid.stream import TokenStream
from liquid.tag import Tag
from liquid.token import Token
from liquid.undefined import is_undefined

MAX_SOURCE_CHARS = 50_000  # a template part, as the merchant typed it
MAX_OUTPUT_BYTES = 100_000  # UTF-8 bytes rendered; Gmail clips an email over 102 kB
MAX_LOOP_ITERATIONS = 10_000  # every iteration of every loop of one render, added up
MAX_VALUE_CHARS = 100_000  # one string, or the text in one list, made by a filter
MAX_ITEMS = 10_000  # items in one list or range given to or made by a filter
MAX_NUMBER_BITS = 1_024  # integers given to or made by a filter (about 308 digits)
MAX_VARIABLES_BYTES = 250_000  # `assign` and `capture` variables (sys.getsizeof, summed)
MAX_BLOCK_NESTING = 20  # blocks (if, for, case, capture…) inside one another
MAX_CONTEXT_DEPTH = 30  # scopes at render time; above the nesting limit, so rarely reached
RENDER_SECONDS = 0.25  # CPU time of the rendering thread, one render of one part
PAUSE_EVERY_SECONDS = 0.002  # CPU time of a render between two pauses for other threads
PAUSE_SECONDS = 0.0001
CACHE_SIZE = 512  # compiled templates kept in this process


class TemplateFailed(Exception):
    """A template that cannot be compiled or rendered within the limits.

    `reason` says why, in plain words a merchant can act on, starting with the line number
    where Liquid gives one ("line 3: unexpected tag 'endfor'").
    """

    code = "template_failed"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check(source: str, *, html: bool) -> None:
    """Compile `source` (nothing is rendered or cached); raise TemplateFailed if it cannot be."""
    _compile(source, html)


def render(source: str, data: Mapping[str, Any], *, html: bool, key: str | None = None) -> str:
    """Render `source` with `data` within the limits; raise TemplateFailed if it cannot be.

    `html=True` escapes every value (literal HTML in the template is kept); `html=False` is
    plain text. A variable that is not in `data` renders as "", and filters take it as "".
    `key` (such as "tpl_…:3:html") caches the compiled template in this process; the source
    is part of the cache key too, so a key reused for new words never renders old ones.
    `data` holds plain dicts, lists, strings, numbers, booleans and None only (TypeError
    otherwise: that is our bug, not the merchant's).
    """
    template = _compile(source, html) if key is None else _compile_cached(key, html, source)
    context = _SandboxContext(template, data=_plain(data), budget=_Budget())
    buffer = LimitedStringIO(limit=MAX_OUTPUT_BYTES)
    try:
        template.render_with_context(context, buffer)
    except Exception as exc:  # anything a template makes fail is the template's failure
        raise TemplateFailed(_reason(exc)) from exc
    return buffer.getvalue()


@functools.lru_cache(maxsize=CACHE_SIZE)
def _compile_cached(key: str, html: bool, source: str) -> BoundTemplate:
    """`_compile`, remembered. A failure raises and so is never cached."""
    return _compile(source, html)


def _compile(source: str, html: bool) -> BoundTemplate:
    if len(source) > MAX_SOURCE_CHARS:
        raise TemplateFailed(
            f"the template is {len(source):,} characters long; at most "
            f"{MAX_SOURCE_CHARS:,} are allowed"
        )
    env = _ENVIRONMENTS[html]
    try:
        template = env.from_string(source)
    except Exception as exc:  # syntax, nesting, or the parser's own recursion limit
        raise TemplateFailed(_reason(exc)) from exc
    # Liquid finds an unknown filter only when it runs; a typo should fail on saving.
    for name, spans in template.analyze(include_partials=False).filters.items():
        if name not in env.filters:
            line = spans[0].line_col(source)[0] if spans else None
            raise TemplateFailed(_at(line, f"unknown filter '{name}'"))
    return template


class _RenderError(LiquidError):
    """A limit of ours reached, or a filter misused, while rendering (with the line)."""


class _TimeLimitError(Exception):
    """The render's deadline passed (not a LiquidError: no line is meaningful)."""


class _Budget:
    """What one render may still spend: time, and loop iterations over all loops."""

    __slots__ = ("deadline", "iterations", "pause_at")

    def __init__(self) -> None:
        # The thread's CPU time, not the wall clock: a hostile template burns CPU, while a
        # process that the host starves of it must not fail a good message for good.
        now = time.thread_time()
        self.deadline = now + RENDER_SECONDS
        self.pause_at = now + PAUSE_EVERY_SECONDS
        self.iterations = 0

    def tick(self) -> None:
        now = time.thread_time()
        if now > self.deadline:
            raise _TimeLimitError
        if now > self.pause_at:
            # A long render lets the sender's other sessions run: without a pause, each of
            # their waits for the GIL lasts up to the 5 ms switch interval, and a hostile
            # template held them back about three times its own limit (benches/messaging.py).
            # sleep(0) would not do: this thread takes the GIL back before a waiter wakes.
            self.pause_at = now + PAUSE_EVERY_SECONDS
            time.sleep(PAUSE_SECONDS)

    def spend_iterations(self, count: int) -> None:
        # Counted when a loop starts, for its full length: a `break` only makes us stricter.
        self.iterations += count
        if self.iterations > MAX_LOOP_ITERATIONS:
            raise LoopIterationLimitError("loop iteration limit reached", token=None)


class _SandboxContext(RenderContext):
    """A render context that spends a `_Budget` and guards every filter call."""

    __slots__ = ("_disabled_tags", "budget")

    def __init__(
        self, template: BoundTemplate, *, data: Mapping[str, object], budget: _Budget
    ) -> None:
        self.budget = budget
        super().__init__(template, globals=data)

    # Every node's render reads `disabled_tags` first (liquid.ast.Node.render): the one hook
    # that runs between any two nodes, so the deadline is checked on every loop iteration.
    # tests/test_messaging_render.py fails if a later python-liquid stops reading it.
    @property
    def disabled_tags(self) -> list[str]:
        self.budget.tick()
        return self._disabled_tags

    @disabled_tags.setter
    def disabled_tags(self, value: list[str]) -> None:
        self._disabled_tags = value

    @contextmanager
    def loop(
        self, namespace: Mapping[str, object], forloop: ForLoop | TableRow
    ) -> Iterator[RenderContext]:
        self.budget.tick()
        self.budget.spend_iterations(forloop.length)
        with super().loop(namespace, forloop) as context:
            yield context

    def filter(self, name: str, token: Token | None) -> Callable[..., object]:
        self.budget.tick()
        func = super().filter(name, token)

        def guarded(left: object, *args: object, **kwargs: object) -> object:
            for value in (left, *args, *kwargs.values()):
                _check_value(value, token)
            _check_cost(name, left, args, token)
            if args and name in _WITHOUT_MISSING_ARGUMENT and _is_missing(args[0]):
                return _WITHOUT_MISSING_ARGUMENT[name](left)
            if name == "concat" and args and not isinstance(args[0], (list, tuple)):
                # Liquid's own error for this fails to build (python-liquid 2.3).
                raise _RenderError("concat takes a list", token=token)
            result = func(left, *args, **kwargs)
            _check_value(result, token)
            return result

        return guarded


def _check_value(value: object, token: Token | None) -> None:
    """Refuse a value too big to pass to (or return from) a filter."""
    if isinstance(value, str):
        if len(value) > MAX_VALUE_CHARS:
            raise _RenderError(
                f"a value would be longer than {MAX_VALUE_CHARS:,} characters", token=token
            )
    elif isinstance(value, (list, tuple, range)):
        if len(value) > MAX_ITEMS:
            raise _RenderError(f"a list would hold more than {MAX_ITEMS:,} items", token=token)
        # Items may all be the same long string (`concat` doubles the references), and
        # joining or printing them would copy each one.
        if not isinstance(value, range) and _text_size(value) > MAX_VALUE_CHARS:
            raise _RenderError(
                f"a list would hold more than {MAX_VALUE_CHARS:,} characters", token=token
            )
    elif isinstance(value, int) and value.bit_length() > MAX_NUMBER_BITS:
        raise _RenderError("a number would be too large", token=token)


def _text_size(items: list[object] | tuple[object, ...]) -> int:
    return sum(len(item) for item in items if isinstance(item, str))


def _check_cost(name: str, left: object, args: tuple[object, ...], token: Token | None) -> None:
    """Refuse, before the call, what would take one filter call too long or grow too much."""
    slow_limit = _SLOW_FILTER_CHARS.get(name)
    if slow_limit is not None and len(_text(left)) > slow_limit:
        raise _RenderError(f"{name} takes at most {slow_limit:,} characters", token=token)
    if name == "replace" and args:
        text, old = _text(left), _text(args[0])
        new = _text(args[1]) if len(args) > 1 else ""
        size = len(text) + text.count(old) * max(len(new) - len(old), 0)
    elif name == "join" and isinstance(left, (list, tuple, range)):
        separator = _text(args[0]) if args else " "
        size = len(separator) * max(len(left) - 1, 0)
    else:
        return
    if size > MAX_VALUE_CHARS:
        raise _RenderError(
            f"a value would be longer than {MAX_VALUE_CHARS:,} characters", token=token
        )


# Filters whose time grows faster than their input (measured on 100,000 characters:
# html.parser takes 0.35 s on "<<<…", dateutil 1.6 s on "1.1.1…"); real input is short.
_SLOW_FILTER_CHARS = {"strip_html": 20_000, "date": 100}


# A missing value must not fail a message (merchants type names wrong, and any value may
# be ""): dividing by one gives "", and concatenating one adds nothing.
_WITHOUT_MISSING_ARGUMENT: dict[str, Callable[[object], object]] = {
    "divided_by": lambda left: "",
    "modulo": lambda left: "",
    "concat": lambda left: left,
}


def _is_missing(value: object) -> bool:
    return value is None or value == "" or is_undefined(value)


def _text(value: object) -> str:
    """`value` as the string filters see it (a list as its repr, a missing value as "")."""
    return "" if value is None else str(value)


@sequence_filter
def _uniq(sequence: list[object], key: object = None) -> list[object]:
    """Liquid's `uniq` in linear time: its own compares every pair (seconds for 10,000)."""
    if key is None:
        try:
            return list(dict.fromkeys(sequence))
        except TypeError:  # unhashable items (dicts from the data): few, so the slow way
            pass
    result: list[object] = liquid_uniq(sequence, key)
    return result


class _UnavailableTag(Tag):
    """A tag merchants' templates may not use: it fails when the template is compiled."""

    block = False

    def parse(self, stream: TokenStream) -> Any:
        raise LiquidSyntaxError(
            f"the '{self.name}' tag is not available in message templates", token=stream.current
        )


class _NoInclude(_UnavailableTag):
    name = "include"


class _NoRender(_UnavailableTag):
    name = "render"


class _SandboxEnvironment(Environment):
    loop_iteration_limit = MAX_LOOP_ITERATIONS  # per nest of loops, before any iteration
    output_stream_limit = MAX_OUTPUT_BYTES  # also bounds `capture`
    local_namespace_limit = MAX_VARIABLES_BYTES
    block_nesting_limit = MAX_BLOCK_NESTING
    context_depth_limit = MAX_CONTEXT_DEPTH


def _environment(*, html: bool) -> Environment:
    # The default loader is an empty DictLoader: nothing to load even if a tag asked.
    env = _SandboxEnvironment(autoescape=html, strict_filters=True)
    env.add_tag(_NoInclude)
    env.add_tag(_NoRender)
    del env.filters["safe"]  # would let a value (an advocate's note) through unescaped
    env.add_filter("uniq", _uniq)
    return env


_ENVIRONMENTS = {True: _environment(html=True), False: _environment(html=False)}


def _plain(value: Any) -> Any:
    """Copy `value` as plain data, so a template can reach no object of ours."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        # A str subclass (markupsafe.Markup, Django's SafeString) would skip escaping.
        return str.__str__(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, Mapping):
        return {_key(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    raise TypeError(f"template data must be plain, not {type(value).__name__}")


def _key(key: object) -> str:
    if not isinstance(key, str):
        raise TypeError(f"template data keys must be strings, not {type(key).__name__}")
    return str.__str__(key)


# Liquid's limit errors, in words a merchant can act on.
_LIMIT_WORDS: dict[type[Exception], str] = {
    LoopIterationLimitError: f"loops would run more than {MAX_LOOP_ITERATIONS:,} times in all",
    OutputStreamLimitError: f"the result would be longer than {MAX_OUTPUT_BYTES:,} bytes",
    LocalNamespaceLimitError: (
        f"variables made with assign or capture would hold more than {MAX_VARIABLES_BYTES:,} bytes"
    ),
    BlockNestingError: f"blocks are nested more than {MAX_BLOCK_NESTING} deep",
    ContextDepthError: "blocks are nested too deeply",
}


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TemplateFailed):
        return exc.reason
    if isinstance(exc, _TimeLimitError):
        return f"the template took more than {RENDER_SECONDS} seconds of CPU to render"
    if isinstance(exc, RecursionError) or isinstance(exc.__cause__, RecursionError):
        return "the template is nested too deeply"
    if isinstance(exc, LiquidError):
        words = _LIMIT_WORDS.get(type(exc)) or str(exc.message)
        return _at(_line(exc), words)
    return f"the template could not be rendered ({type(exc).__name__}: {exc})"


def _line(exc: LiquidError) -> int | None:
    token = exc.token
    if token is None or token.start_index < 0:
        return None
    return token.source.count("\n", 0, token.start_index) + 1


def _at(line: int | None, words: str) -> str:
    return f"line {line}: {words}" if line else words
