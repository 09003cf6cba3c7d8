"""Article bodies: Markdown rendered to HTML, then sanitised against an allow-list.

Editors write Markdown and may paste HTML; whatever they write, `<script>`, `on*=`
attributes, `javascript:` links and other active content never reach a reader.

Headings get ids (Markdown's `toc` extension), prefixed by the sanitiser with
`section-` so that no heading can take an id the page itself uses (`content`); the
article page builds its "On this page" list from them.
"""

from __future__ import annotations

import html
import math
import re
import threading
from dataclasses import dataclass, field

import markdown
import nh3

from library.markdown_converter import new_converter

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "dl", "dt",
    "em", "figcaption", "figure", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "li",
    "ol", "p", "pre", "s", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "h2": {"id"},
    "h3": {"id"},
    "h4": {"id"},
}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
MARKDOWN_EXTENSIONS = ["extra", "sane_lists", "toc"]
# No `[TOC]` marker: the page renders its own contents list from the headings.
MARKDOWN_CONFIG = {"toc": {"marker": ""}}
HEADING_ID_PREFIX = "section-"
WORDS_PER_MINUTE = 200  # an unhurried reading pace for health information

_TAG_RE = re.compile(r"<[^>]*>")
_SPACE_RE = re.compile(r"\s+")
_HEADING_RE = re.compile(r'<h([23]) id="([^"]+)">(.*?)</h\1>', re.S)


@dataclass
class Heading:
    id: str  # as it appears in the sanitised HTML, prefix included
    text: str
    children: list[Heading] = field(default_factory=list)


@dataclass
class RenderedBody:
    html: str  # safe HTML
    headings: list[Heading]  # the body's h2s (Markdown's h1 and h2), each with its h3s
    words: int

    @property
    def heading_count(self) -> int:
        return sum(1 + len(heading.children) for heading in self.headings)

    @property
    def reading_minutes(self) -> int:
        return max(1, math.ceil(self.words / WORDS_PER_MINUTE))


def render_markdown(text: str) -> str:
    """Markdown to safe HTML. `h1` is demoted to `h2`: the page title is the only h1."""
    return _safe_html(text)


_converters = threading.local()


def _converter() -> markdown.Markdown:
    """This thread's Markdown converter, reset before each use: building one loads
    every extension again, which costs as much as a short body's conversion, and an
    index write renders every article of the batch. (A converter is not thread-safe.)"""
    converter = getattr(_converters, "markdown", None)
    if converter is None:
        converter = _converters.markdown = new_converter(MARKDOWN_EXTENSIONS, MARKDOWN_CONFIG)
    return converter.reset()


def _safe_html(text: str) -> str:
    raw_html = _converter().convert(text or "")
    raw_html = raw_html.replace("<h1", "<h2").replace("</h1>", "</h2>")
    return nh3.clean(
        raw_html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
        id_prefix=HEADING_ID_PREFIX,
    )


def render_body(text: str) -> RenderedBody:
    """Safe HTML plus what the article page shows around it: headings and length."""
    safe_html = _safe_html(text)
    words = len(html.unescape(_TAG_RE.sub(" ", safe_html)).split())
    return RenderedBody(safe_html, _headings(safe_html), words)


def _headings(safe_html: str) -> list[Heading]:
    """h2s as entries, each h3 under the entry before it, read from the sanitised HTML
    (not Markdown's own list) so that the contents show exactly the page's headings."""
    headings: list[Heading] = []
    for level, heading_id, inner in _HEADING_RE.findall(safe_html):
        text = _SPACE_RE.sub(" ", html.unescape(_TAG_RE.sub("", inner))).strip()
        if not text:
            continue
        heading = Heading(heading_id, text)
        if level == "2" or not headings:
            headings.append(heading)
        else:
            headings[-1].children.append(heading)
    return headings


_BLOCK_END_RE = re.compile(r"</(p|li|h\d|blockquote|tr|dd|dt|pre)>")
_BLOCK_TAG_RE = re.compile(r"</?(p|li|h\d|blockquote|tr|td|th|dd|dt|pre|ul|ol|br|hr|table)\b[^>]*>")
_ENDS_SENTENCE = tuple(".!?:;…")


# Marks where a heading's text starts while the body is turned into plain text (a
# private-use character, which Markdown and the sanitiser pass through untouched).
_SECTION_MARK = "\ue000"


@dataclass(frozen=True)
class Section:
    """Where one of the body's headings (h2 or h3) starts in its plain text."""

    heading: str  # plain text, as the article page shows it
    anchor: str  # the heading's id on the article page ("section-is-it-safe")
    start: int  # character offset of the heading's line in `markdown_to_text`'s text


def markdown_to_text(text: str) -> str:
    """The readable words of a Markdown body, for the search index and snippets.

    The text keeps its own spacing: inline markup (`**tacrolimus**, which`) leaves no
    space before punctuation, and each block is a line of its own. A list item or a
    heading ends a sentence (a full stop is added where it has none), so a snippet
    spanning several items does not run them together.
    """
    return markdown_text_and_sections(text)[0]


def markdown_text_and_sections(text: str) -> tuple[str, list[Section]]:
    """`markdown_to_text`'s text, and where each h2 and h3 section starts in it, with
    the heading's id exactly as the article page renders it (one Markdown pass)."""
    safe_html = _safe_html(text)
    headings: list[tuple[str, str]] = []

    def mark(match: re.Match) -> str:
        level, heading_id, inner = match.groups()
        heading = _SPACE_RE.sub(" ", html.unescape(_TAG_RE.sub("", inner))).strip()
        if not heading:
            return match.group(0)
        headings.append((heading, heading_id))
        return f'<h{level} id="{heading_id}">{_SECTION_MARK}{inner}</h{level}>'

    marked = _HEADING_RE.sub(mark, safe_html)
    rendered = _BLOCK_END_RE.sub(r"</\1>\n", marked)
    rendered = _BLOCK_TAG_RE.sub(" ", rendered)
    plain = html.unescape(_TAG_RE.sub("", rendered))
    lines = []
    for line in plain.splitlines():
        line = " ".join(line.split())  # as `_SPACE_RE.sub(" ", line).strip()`
        if line:
            lines.append(line if line.endswith(_ENDS_SENTENCE) else line + ".")
    marked_text = "\n".join(lines)
    parts = marked_text.split(_SECTION_MARK)
    sections: list[Section] = []
    position = len(parts[0])
    for (heading, anchor), part in zip(headings, parts[1:], strict=False):
        sections.append(Section(heading, anchor, position))
        position += len(part)
    return "".join(parts), sections
