"""The Markdown converter behind article bodies, with a cheaper inline stage.

Python-Markdown's inline stage tries every inline pattern (links, emphasis, code, HTML,
entities…) on every piece of text, one regular-expression search each, even where the
text holds none of the characters the pattern starts with. Most of a health article's
paragraphs are plain prose, so most of those searches fail, and they were most of the
CPU a body's rendering (and so a fixture load) cost.

`SkippingInlineProcessor` runs the same patterns in the same order, but first checks
that the text contains a literal that the pattern's expression cannot match without
(a link needs `[`, an entity `&`, emphasis `*` or `_`). A pattern that cannot match
is skipped exactly as Markdown moves past one that did not match, so the output is the
same, byte for byte (`tests/library/test_markdown_converter.py` compares it with an
unmodified converter on every shipped body and on generated ones). Patterns not listed
in `REQUIRED_LITERALS` (an extension's, or one a Markdown upgrade adds) are always tried.
"""

from __future__ import annotations

import markdown
from markdown import treeprocessors, util

# Inline pattern name → literals of which at least one occurs in any text its
# regular expression matches (read from the expressions of the pinned Python-Markdown; the tests compare
# the output with an unmodified converter's).
REQUIRED_LITERALS: dict[str, tuple[str, ...]] = {
    "backtick": ("`",),
    "escape": ("\\",),
    "footnote": ("[^",),
    "reference": ("[",),
    "link": ("[",),
    "image_link": ("![",),
    "image_reference": ("![",),
    "short_reference": ("[",),
    "short_image_ref": ("![",),
    "autolink": ("://",),
    "automail": ("@",),
    "linebreak": ("  \n",),
    "html": ("<",),
    "entity": ("&",),
    "em_strong": ("*", "_"),
}

INLINE_PRIORITY = 20  # where Markdown itself registers its inline stage


class SkippingInlineProcessor(treeprocessors.InlineProcessor):
    """Markdown's inline stage, skipping patterns whose required literals are absent."""

    def run(self, tree, ancestors=None):
        literals = {  # one literal as a string (the common, cheaper test), else a tuple
            id(self.inlinePatterns[name]): needed[0] if len(needed) == 1 else needed
            for name, needed in REQUIRED_LITERALS.items()
            if name in self.inlinePatterns
        }
        # The patterns in priority order, as Markdown indexes them.
        self._patterns = [(pattern, literals.get(id(pattern))) for pattern in self.inlinePatterns]
        return super().run(tree, ancestors)

    # Replaces the name-mangled `InlineProcessor.__handleInline`, which the base class
    # calls for every text and tail; the loop is Markdown's, plus the skip.
    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:
        if isinstance(data, util.AtomicString):
            return data
        patterns = self._patterns
        start_index = 0
        while patternIndex < len(patterns):
            pattern, needed = patterns[patternIndex]
            if needed is not None and (
                needed not in data
                if isinstance(needed, str)
                else not any(literal in data for literal in needed)
            ):
                patternIndex += 1  # as after a search that found nothing
                start_index = 0
                continue
            data, matched, start_index = self._InlineProcessor__applyPattern(
                pattern, data, patternIndex, start_index
            )
            if not matched:
                patternIndex += 1
        return data


def new_converter(extensions: list[str], extension_configs: dict) -> markdown.Markdown:
    """A Markdown converter with these extensions and the skipping inline stage."""
    converter = markdown.Markdown(
        extensions=extensions, extension_configs=extension_configs, output_format="html"
    )
    converter.treeprocessors.register(SkippingInlineProcessor(converter), "inline", INLINE_PRIORITY)
    return converter
