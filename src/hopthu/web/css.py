"""CSS of a received message made unable to fetch anything: parsed by a real CSS tokenizer (tinycss2,
CSS Syntax Level 3) and written back from its tokens, so no escape survives unparsed.

A mail's style can make the reader's browser fetch a URL in many spellings: `url(...)`, the same with
escapes (`u\\72l(...)` is `url(` once the tokenizer has read it, CSS Syntax §4.3.4 and §4.3.6),
`image-set()`, `-webkit-image-set()`, `image()`, `cross-fade()`, `src()`, `@import`, `@font-face`,
and the old `expression()`, `behavior` and `-moz-binding`. Rather than chase each one, a
declaration is kept only when every function in its value is one of the harmless few below (colours,
gradients, arithmetic, transforms), it holds no URL token and no string that reads as a URL. Of a
style sheet only style rules and `@media` groups of them are kept; every other at-rule goes.

What is kept is serialised by tinycss2 from the parsed tokens, the escapes resolved, so the browser
reads exactly what was checked; `<` is written as the escape `\\3c ` so a `<style>` block's text can
never close its element.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import tinycss2
from tinycss2 import ast
from tinycss2.serializer import serialize_identifier

# Functions that only compute a value: none of them takes a URL (CSS Color 4, Images 3, Values 4,
# Transforms 1 and 2). A value with any other function is dropped with its declaration.
SAFE_FUNCTIONS = frozenset(
    {
        *("rgb", "rgba", "hsl", "hsla", "hwb", "lab", "lch", "oklab", "oklch", "color", "color-mix"),
        *("calc", "min", "max", "clamp", "abs", "sign", "round", "mod", "rem"),
        *("linear-gradient", "radial-gradient", "conic-gradient"),
        *("repeating-linear-gradient", "repeating-radial-gradient", "repeating-conic-gradient"),
        *("-webkit-linear-gradient", "-webkit-radial-gradient", "-moz-linear-gradient"),
        *("matrix", "matrix3d", "perspective", "rotate", "rotatex", "rotatey", "rotatez", "rotate3d"),
        *("scale", "scalex", "scaley", "scalez", "scale3d", "skew", "skewx", "skewy"),
        *("translate", "translatex", "translatey", "translatez", "translate3d"),
        *("counter", "counters", "rect", "inset", "circle", "ellipse", "polygon", "cubic-bezier", "steps"),
        *("blur", "brightness", "contrast", "grayscale", "hue-rotate", "invert", "opacity", "saturate"),
        *("sepia", "drop-shadow", "minmax", "repeat", "fit-content"),
    }
)
# Functions that may appear in a selector (Selectors 4); none of them fetches anything.
SELECTOR_FUNCTIONS = frozenset(
    {"not", "is", "where", "has", "lang", "dir", "nth-child", "nth-last-child", "nth-of-type"}
    | {"nth-last-of-type"}
)
# Properties that run code or bind behaviour whatever their value.
BANNED_PROPERTIES = frozenset({"behavior", "-ms-behavior", "-moz-binding", "-webkit-binding", "binding"})
# A string read as a URL: a scheme, a network path or an absolute path (RFC 3986 §3 and §4.2).
_URL_LIKE = re.compile(r"^(?:[a-z][a-z0-9+.\-]*:|//|/|\\\\)", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x20\x7f]+")
MAX_NESTING = 32  # deeper blocks are dropped (a bound on the recursion, not a limit real mail meets)


def looks_like_url(text: str) -> bool:
    """Whether a string's value (escapes already resolved) names a resource to fetch."""
    return bool(_URL_LIKE.match(_CONTROL.sub("", text)))


def _tokens_safe(tokens: Iterable[ast.Node], functions: frozenset[str], depth: int = 0) -> bool:
    """No URL token, no string that reads as a URL, and only `functions`, at any nesting depth."""
    if depth > MAX_NESTING:
        return False
    for token in tokens:
        if isinstance(token, ast.URLToken | ast.ParseError | ast.AtKeywordToken):
            return False
        if isinstance(token, ast.StringToken) and looks_like_url(token.value):
            return False
        if isinstance(token, ast.FunctionBlock):
            if token.lower_name not in functions or not _tokens_safe(token.arguments, functions, depth + 1):
                return False
        elif isinstance(token, ast.ParenthesesBlock | ast.SquareBracketsBlock | ast.CurlyBracketsBlock):
            if not _tokens_safe(token.content, functions, depth + 1):
                return False
        elif isinstance(token, ast.LiteralToken) and token.value in ("<!--", "-->"):
            return False
    return True


def _serialize(nodes: Iterable[ast.Node]) -> str:
    """tinycss2's serialisation, with `<` escaped so the text cannot end a `<style>` element."""
    return tinycss2.serialize(list(nodes)).replace("<", "\\3c ")


def _declarations(nodes: Iterable[ast.Node]) -> Iterator[str]:
    for node in nodes:
        if not isinstance(node, ast.Declaration):
            continue  # nested rules, stray at-rules and parse errors
        name = node.lower_name
        if name.startswith("--") or name in BANNED_PROPERTIES:
            continue  # custom properties would carry a value to check elsewhere, through var()
        if not _tokens_safe(node.value, SAFE_FUNCTIONS) or any(
            isinstance(token, ast.ParenthesesBlock | ast.CurlyBracketsBlock) for token in node.value
        ):
            continue  # a bare block in a value is no CSS a mail needs; `url/**/(…)` would be one
        value = _serialize(node.value).strip()
        if not value:
            continue
        yield f"{serialize_identifier(name)}: {value}{' !important' if node.important else ''}"


def clean_declarations(text: str) -> str:
    """A `style=""` attribute's declarations, only the harmless ones, written anew ("" for none)."""
    try:
        parsed = tinycss2.parse_declaration_list(text, skip_comments=True, skip_whitespace=True)
        return "; ".join(_declarations(parsed))
    except ValueError:  # a number of over 4,300 digits (Python's int limit): no style, the text stays
        return ""


def _rules(nodes: Iterable[ast.Node], depth: int) -> Iterator[str]:
    for node in nodes:
        if isinstance(node, ast.QualifiedRule):
            if not _tokens_safe(node.prelude, SELECTOR_FUNCTIONS):
                continue
            kept = "; ".join(_declarations(tinycss2.parse_declaration_list(node.content, True, True)))
            selector = _serialize(node.prelude).strip()
            if kept and selector:
                yield f"{selector} {{ {kept} }}"
        elif isinstance(node, ast.AtRule) and node.lower_at_keyword == "media" and node.content is not None:
            if depth >= MAX_NESTING or not _tokens_safe(node.prelude, frozenset()):
                continue
            inner = "\n".join(_rules(tinycss2.parse_rule_list(node.content, True, True), depth + 1))
            if inner:
                yield f"@media {_serialize(node.prelude).strip()} {{\n{inner}\n}}"
        # @import, @font-face, @namespace, @keyframes, @page, @supports…: dropped


def clean_stylesheet(text: str) -> str:
    """A `<style>` block's rules, only the harmless ones, written anew ("" for none)."""
    try:
        return "\n".join(_rules(tinycss2.parse_stylesheet(text, skip_comments=True, skip_whitespace=True), 0))
    except ValueError:  # a number of over 4,300 digits (Python's int limit): no style, the text stays
        return ""
