"""The branded email around a message's content, and a plain-text part made from HTML.

The layout is product code (`templates/messaging/email.html`, Django's template engine), not
something a merchant edits: their template renders the content block and `wrap` puts it in a
responsive, single-column document with their logo, colour and footer. The CSS is written once
in a <style> block and copied onto each element by css-inline, because Gmail's apps and Outlook
drop <style>; the block stays for what cannot be inlined (dark mode, small screens).
"""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Mapping
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import css_inline
from django.template import Context, Engine
from django.utils import translation
from django.utils.html import escape

DEFAULT_COLOR = "#1f6f5c"
_HEX = re.compile(r"#[0-9a-fA-F]{6}")
_WHITE, _INK = "#ffffff", "#18181b"
_CARD_DARK = "#27272a"
# Invisible characters after the preheader keep the first words of the body out of the inbox
# preview when the preheader is short.
_PREHEADER_PAD = 90


@functools.cache
def _engine() -> Engine:
    # Its own engine: the layout needs no request, context processor or installed app.
    return Engine(
        dirs=[str(Path(__file__).parent / "templates")],
        libraries={"i18n": "django.templatetags.i18n"},
    )


@functools.cache
def _inliner() -> css_inline.CSSInliner:
    # Never fetch a stylesheet: a merchant's content could name any URL.
    return css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


def wrap(
    content_html: str,
    *,
    brand: Mapping[str, str],
    language: str,
    preheader: str,
    unsubscribe_url: str,
    footer: str,
) -> str:
    """A complete HTML email: `content_html` (trusted, already escaped by its template) in the
    brand's layout, with CSS inlined. Brand values are the merchant's: escaped, the colour
    checked (`#RRGGBB`, else the default) and the logo used only when it is an http(s) URL."""
    shell = _shell(
        brand.get("color", ""),
        brand.get("name", ""),
        brand.get("logo_url", ""),
        language,
        preheader,
        footer,
        has_unsubscribe=bool(unsubscribe_url),
    )
    # The link first: the content (a merchant's) is never searched for a slot.
    html = shell.replace(_UNSUBSCRIBE_SLOT, escape(unsubscribe_url), 1)
    html = html.replace(_CONTENT_SLOT, content_html, 1)
    return str(_inliner().inline(html))


# Where a message's own content and unsubscribe link go in a brand's cached layout: random
# per process, so no brand value or content can hold one.
_CONTENT_SLOT = f"gw-content-{secrets.token_hex(16)}"
_UNSUBSCRIBE_SLOT = f"gw-unsubscribe-{secrets.token_hex(16)}"


@functools.lru_cache(maxsize=256)
def _shell(
    color: str,
    brand_name: str,
    logo_url: str,
    language: str,
    preheader: str,
    footer: str,
    *,
    has_unsubscribe: bool,
) -> str:
    """The layout of a brand and language rendered once (not once per message: it was half
    of `wrap`'s time), its content and unsubscribe link left as slots."""
    context = layout_context(color, brand_name, logo_url, language, preheader, footer)
    context.update(
        content=_CONTENT_SLOT, unsubscribe_url=_UNSUBSCRIBE_SLOT if has_unsubscribe else ""
    )
    return render_layout(context, language)


def layout_context(
    color: str, brand_name: str, logo_url: str, language: str, preheader: str, footer: str
) -> dict[str, object]:
    """The layout template's data, less the message's `content` and `unsubscribe_url`."""
    color = brand_color(color)
    return {
        "language": language,
        "brand_name": brand_name,
        "logo_url": _web_url(logo_url),
        "preheader": preheader,
        "preheader_pad": range(_PREHEADER_PAD),
        "footer": footer,
        "color": color,
        "button_text": readable_text(color),
        "link": legible_on(color, _WHITE),
        "link_dark": legible_on(color, _CARD_DARK),
        "card_dark": _CARD_DARK,
    }


def render_layout(context: dict[str, object], language: str) -> str:
    """The layout template rendered with `context` (no CSS inlined)."""
    with translation.override(language):
        return _engine().get_template("messaging/email.html").render(Context(context))


def text_footer(footer: str, unsubscribe_url: str, language: str) -> str:
    """The plain-text part's foot: what the HTML footer says, for clients that show only text
    ("" when there is nothing to say)."""
    lines = footer.splitlines()
    if unsubscribe_url:
        with translation.override(language):
            lines.append(f"{translation.gettext('Unsubscribe')}: {unsubscribe_url}")
    return "\n\n-- \n" + "\n".join(lines) if lines else ""


def brand_color(value: str) -> str:
    """`value` as a lower-case `#rrggbb`, or the default colour when it is not one."""
    value = value.strip()
    return value.lower() if _HEX.fullmatch(value) else DEFAULT_COLOR


def _web_url(url: str) -> str:
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else ""


def _luminance(color: str) -> float:
    """WCAG 2 relative luminance of `#rrggbb`."""

    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(color[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two `#rrggbb` colours (1 to 21)."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def readable_text(background: str) -> str:
    """White or near-black, whichever reads better on `background`."""
    return _WHITE if contrast(_WHITE, background) >= contrast(_INK, background) else _INK


def legible_on(color: str, background: str) -> str:
    """`color`, darkened or lightened just enough to reach 4.5:1 on `background` (WCAG AA body
    text), so a pale brand colour still gives readable links."""
    toward = _INK if _luminance(background) > 0.5 else _WHITE
    step = 0
    candidate = color
    while contrast(candidate, background) < 4.5 and step < 10:
        step += 1
        candidate = _mix(color, toward, step / 10)
    return candidate


def _mix(a: str, b: str, share: float) -> str:
    channels = (
        round(int(a[i : i + 2], 16) * (1 - share) + int(b[i : i + 2], 16) * share)
        for i in (1, 3, 5)
    )
    return "#" + "".join(f"{c:02x}" for c in channels)


# Elements that end a line or a paragraph in the text part.
_BLOCKS = frozenset(
    {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "table", "tr", "ul", "ol", "blockquote"}
)
_SKIPPED = frozenset({"head", "style", "script", "title"})
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


def to_text(html: str) -> str:
    """A plain-text part from HTML: paragraphs separated by a blank line, `<br>` and list items
    on their own lines, links as `text (url)` (just the URL when the text is the URL), no tags."""
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    return parser.text()


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._out: list[str] = []
        self._hiding = 0  # depth inside an element whose text is not shown
        self._links: list[tuple[str, int]] = []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)  # <br/>: no end tag to count

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._hiding or tag in _SKIPPED or _hidden(attrs):
            self._hiding += tag not in _VOID
        elif tag in _BLOCKS:
            self._out.append("\n\n")
        elif tag == "br":
            self._out.append("\n")
        elif tag == "li":
            self._out.append("\n- ")
        elif tag == "a":
            self._links.append((dict(attrs).get("href") or "", len(self._out)))

    def handle_endtag(self, tag: str) -> None:
        if self._hiding:
            self._hiding -= tag not in _VOID
        elif tag in _BLOCKS:
            self._out.append("\n\n")
        elif tag == "a" and self._links:
            href, start = self._links.pop()
            label = " ".join("".join(self._out[start:]).split())
            if href.startswith(("http://", "https://", "mailto:")) and href != label:
                self._out.append(f" ({href})" if label else href)

    def handle_data(self, data: str) -> None:
        if not self._hiding:
            self._out.append(data)

    def text(self) -> str:
        lines = [" ".join(line.split()) for line in "".join(self._out).split("\n")]
        paragraphs: list[str] = []
        current: list[str] = []
        for line in lines:
            if line:
                current.append(line)
            elif current:
                paragraphs.append("\n".join(current))
                current = []
        if current:
            paragraphs.append("\n".join(current))
        return "\n\n".join(paragraphs)


def _hidden(attrs: list[tuple[str, str | None]]) -> bool:
    """The preheader and anything else kept out of sight."""
    style = (dict(attrs).get("style") or "").replace(" ", "").lower()
    return "display:none" in style
