"""The body of a message made safe to show: HTML cleaned with nh3, remote images held back until the
reader allows them, inline images (cid:) served from our own address, plain text kept as text.

What the sanitiser keeps is then shown in a sandboxed frame whose own Content-Security-Policy allows
no script and no remote fetch (unless the reader allowed images): two fences, not one.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass

import nh3

from hopthu.mail.decode import lenient_body
from hopthu.mail.headers import to_text
from hopthu.mail.searchtext import text_parts
from hopthu.mail.structure import Node

LIMIT = 2 * 1024 * 1024  # characters of one part shown; the rest is in "view source"
_ATTRIBUTES = {
    "*": {"style", "title", "dir", "lang", "align", "valign", "width", "height", "bgcolor", "color"},
    "a": {"href", "name"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "font": {"face", "size", "color"},
    "table": {"border", "cellpadding", "cellspacing"},
}
_TAGS = nh3.ALLOWED_TAGS | {"font", "style"} - {"style"}


@dataclass(frozen=True, slots=True)
class Body:
    html: str  # safe to put in the frame's document
    blocked_images: int  # remote images held back


def _charset(node: Node) -> str | None:
    for key, value in node.get("params") or ():
        if key.lower() == "charset":
            return value
    return None


def _is_html(node: Node) -> bool:
    return node.get("subtype", "plain").lower() in ("html", "xhtml+xml")


def _shown_parts(structure: Node) -> list[Node]:
    """The text parts a reader sees: HTML when there is some (the richer of alternatives), else text;
    parts that are attachments are left to the attachment list."""
    parts = [
        node
        for node in text_parts(structure)
        if not (node.get("disposition") and node["disposition"][0].lower() == "attachment")
    ]
    rich = [node for node in parts if _is_html(node)]
    return rich[:1] if rich else parts


def render_body(data: bytes, structure: Node, *, images: bool, inline: Callable[[str], str | None]) -> Body:
    """The message's text as safe HTML; `inline(cid)` gives our address of an inline image part."""
    blocked = 0

    def keep(tag: str, attribute: str, value: str) -> str | None:
        nonlocal blocked
        if tag == "img" and attribute == "src":
            lowered = value.strip().lower()
            if lowered.startswith("cid:"):
                return inline(value.strip()[4:].strip("<>"))
            if lowered.startswith(("http:", "https:", "//")):
                if images:
                    return value
                blocked += 1
                return None
            return value if lowered.startswith("data:image/") else None
        if attribute == "style" and "url(" in value.lower():
            return None  # background images would fetch from outside
        return value

    pieces = []
    for node in _shown_parts(structure):
        text = to_text(lenient_body(data, node, LIMIT), _charset(node))
        if _is_html(node):
            pieces.append(
                nh3.clean(
                    text,
                    tags=_TAGS,
                    clean_content_tags={"script", "style", "head", "title"},
                    attributes=_ATTRIBUTES,
                    attribute_filter=keep,
                    url_schemes={"http", "https", "mailto", "tel", "data", "cid"},
                    link_rel="noopener noreferrer",
                    set_tag_attribute_values={"a": {"target": "_blank"}},
                )
            )
        else:
            pieces.append(f'<pre class="text">{html.escape(text)}</pre>')
    return Body("\n<hr>\n".join(pieces), blocked)
