"""The article converter's cheaper inline stage renders exactly what Markdown does.

`library.markdown_converter` skips inline patterns whose required characters are absent.
These tests compare its HTML with an unmodified Python-Markdown converter (same
extensions) on every shipped body, on generated bodies, and on bodies that use every
inline pattern, alone and nested: the page, the index text and the sections are all
built from that HTML, so the same HTML means the same page and the same index.
"""

from __future__ import annotations

import json
from pathlib import Path

import markdown
import pytest
from django.conf import settings
from django.core.management import call_command

from library.management.commands.generate_articles import ArticleFactory, Taxonomy
from library.markdown_converter import REQUIRED_LITERALS, new_converter
from library.rendering import MARKDOWN_CONFIG, MARKDOWN_EXTENSIONS

FIXTURES = Path(settings.BASE_DIR) / "fixtures"

EVERY_INLINE_PATTERN = [
    "Plain prose with no markup at all, then a second sentence.",
    "Take `tacrolimus` daily; ``code with ` inside``; \\`not code\\`.",
    "Escapes: \\*not emphasis\\*, \\[not a link\\], a \\\\ backslash.",
    "A claim.[^1] Another.[^note]\n\n[^1]: A note.\n[^note]: Another *note*.",
    "See [the trial][nct] and [NCT] and ![chart][img] and ![img].\n\n"
    '[nct]: https://clinicaltrials.gov/ "Trials"\n[img]: /static/chart.png',
    'A [link](https://example.org/a_b?c=1&d=2 "Title") and ![alt *text*](/x_y.png).',
    "Autolinks: <https://example.org/path_with_underscores> and <editor@example.org>.",
    "A line that breaks  \nhere, and a line that does not \nhere.",
    "Inline <b>HTML</b>, <span title='a*b'>span</span>, <!-- a comment --> and <br/>.",
    "Entities: &amp; &#169; &#x2014; &copy; and a bare & ampersand; AT&T.",
    "*em* **strong** ***both*** _em_ __strong__ ___both___ snake_case_name 2 * 3 * 4.",
    "**bold with [a link](https://example.org) and `code`** then *em with &amp;*.",
    "## Is *it* safe? {#safety}\n\nText.\n\n### What about `HSCT`?\n\nMore text.",
    "The HTML spec.\n\n*[HTML]: Hyper Text Markup Language",
    "| Drug | Dose |\n|---|---|\n| *a* | 1 & 2 |\n| [b](https://b.org) | `3` |",
    "Term\n:   A definition with **markup** and a [link](https://x.org).",
    '<div markdown="1">\n*Markdown* inside [HTML](https://x.org).\n</div>',
    "```\nfenced *not emphasis* [not link]\n```\n\n    indented `code`",
    "- one *item*\n- two [items](https://x.org)\n    1. nested _item_\n\n> quoted **text**",
    "Unclosed *emphasis and [bracket and <tag and `tick and &amp",
    "Mixed: a_b*c [x]* y_ **[z](https://z.org)** \\_ &lt;b&gt; <a@b.c> ![",
]


def stock_converter() -> markdown.Markdown:
    return markdown.Markdown(
        extensions=MARKDOWN_EXTENSIONS, extension_configs=MARKDOWN_CONFIG, output_format="html"
    )


def assert_same_html(bodies: list[str]) -> None:
    stock, fast = stock_converter(), new_converter(MARKDOWN_EXTENSIONS, MARKDOWN_CONFIG)
    for body in bodies:
        assert fast.reset().convert(body) == stock.reset().convert(body), body[:200]


def test_every_inline_pattern_alone_and_nested_renders_as_markdown_does():
    assert_same_html(EVERY_INLINE_PATTERN)
    assert_same_html(["\n\n".join(EVERY_INLINE_PATTERN)])


def test_every_shipped_body_renders_as_markdown_does():
    bodies = []
    for path in [FIXTURES / "articles.json", *sorted((FIXTURES / "examples").glob("*.json"))]:
        records = json.loads(path.read_text(encoding="utf-8"))
        bodies += [
            r["fields"]["body"]
            for r in records
            if isinstance(r, dict) and r.get("model") == "library.article"
        ]
    assert len(bodies) > 10
    assert_same_html(bodies)


@pytest.mark.django_db
def test_generated_bodies_render_as_markdown_does():
    call_command("loaddata", "taxonomy", verbosity=0)
    factory = ArticleFactory(Taxonomy.load(), seed=2)
    assert_same_html([factory.build(i).fields["body"] for i in range(200)])


def test_each_listed_pattern_exists_in_the_converter():
    """A listed name Markdown no longer registers would silently list nothing."""
    converter = new_converter(MARKDOWN_EXTENSIONS, MARKDOWN_CONFIG)
    assert all(name in converter.inlinePatterns for name in REQUIRED_LITERALS)
