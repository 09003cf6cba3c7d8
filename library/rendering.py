"""Article bodies: Markdown rendered to HTML, then sanitised against an allow-list.

Editors write Markdown and may paste HTML; whatever they write, `<script>`, `on*=`
attributes, `javascript:` links and other active content never reach a reader.
"""

from __future__ import annotations

import html
import re

import markdown
import nh3

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
MARKDOWN_EXTENSIONS = ["extra", "sane_lists"]

_TAG_RE = re.compile(r"<[^>]*>")
_SPACE_RE = re.compile(r"\s+")


def render_markdown(text: str) -> str:
    """Markdown to safe HTML. `h1` is demoted to `h2`: the page title is the only h1."""
    raw_html = markdown.markdown(text or "", extensions=MARKDOWN_EXTENSIONS, output_format="html")
    raw_html = raw_html.replace("<h1", "<h2").replace("</h1>", "</h2>")
    return nh3.clean(
        raw_html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


_BLOCK_END_RE = re.compile(r"</(p|li|h\d|blockquote|tr|dd|dt|pre)>")
_BLOCK_TAG_RE = re.compile(r"</?(p|li|h\d|blockquote|tr|td|th|dd|dt|pre|ul|ol|br|hr|table)\b[^>]*>")
_ENDS_SENTENCE = tuple(".!?:;…")


def markdown_to_text(text: str) -> str:
    """The readable words of a Markdown body, for the search index and snippets.

    The text keeps its own spacing: inline markup (`**tacrolimus**, which`) leaves no
    space before punctuation, and each block is a line of its own. A list item or a
    heading ends a sentence (a full stop is added where it has none), so a snippet
    spanning several items does not run them together.
    """
    rendered = _BLOCK_END_RE.sub(lambda m: f"</{m.group(1)}>\n", render_markdown(text))
    rendered = _BLOCK_TAG_RE.sub(" ", rendered)
    plain = html.unescape(_TAG_RE.sub("", rendered))
    lines = []
    for line in plain.splitlines():
        line = _SPACE_RE.sub(" ", line).strip()
        if line:
            lines.append(line if line.endswith(_ENDS_SENTENCE) else line + ".")
    return "\n".join(lines)
