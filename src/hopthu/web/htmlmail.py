"""The body of a message made safe to show: HTML cleaned with nh3, remote images held back until the
reader allows them, inline images (cid:) served from our own address, plain text kept as text.

CSS, in `<style>` blocks and `style=""` attributes alike, goes through `css` (a real tokenizer): no
declaration that could fetch a URL survives, however it is escaped. An image the reader allowed is
still never one of our own site's addresses (`own_hosts`): a mail must not make the reader's browser
ask our server for anything but the message's own parts.

What the sanitiser keeps is then shown in a sandboxed frame whose own Content-Security-Policy allows
no script and no fetch but the message's parts and, once the reader allowed them, remote images: two
fences, not one.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass

import nh3

from hopthu.mail.decode import lenient_body
from hopthu.mail.headers import to_text
from hopthu.mail.report import returned_part, within
from hopthu.mail.richtext import html_to_text
from hopthu.mail.searchtext import text_parts
from hopthu.mail.structure import Node
from hopthu.web.css import clean_declarations, clean_stylesheet

LIMIT = 2 * 1024 * 1024  # characters of one part shown; the rest is in "view source"
# Characters of CSS (style attributes and <style> blocks together) parsed per message: tinycss2 is
# pure Python (about a second a megabyte) and runs on the event loop. A newsletter's style sheet is
# a few tens of kilobytes; past the budget the remaining styles are dropped, never the text.
CSS_BUDGET = 128 * 1024
_ATTRIBUTES = {
    "*": {"style", "class", "title", "dir", "lang", "align", "valign", "width", "height", "bgcolor", "color"},
    "a": {"href", "name"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "font": {"face", "size", "color"},
    "table": {"border", "cellpadding", "cellspacing"},
}
_TAGS = nh3.ALLOWED_TAGS | {"font", "style"}
# nh3 keeps a <style> element's text as it came; html5ever writes it back raw (it cannot hold
# "</style>"), escapes "<" in text and '"' in attribute values, which `_styles` relies on.
_STYLE_TAG = re.compile(r"<style[\s>/]", re.IGNORECASE)


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
    parts that are attachments are left to the attachment list, and the message a delivery report
    returns to the page's summary of it (its raw header, or its own HTML, would hide the report's
    words)."""
    bounced = returned_part(structure)
    parts = [
        node
        for node in text_parts(structure)
        if not (node.get("disposition") and node["disposition"][0].lower() == "attachment")
        and not (bounced is not None and within(node, bounced))
    ]
    rich = [node for node in parts if _is_html(node)]
    return rich[:1] if rich else parts


_REMOTE = re.compile(r"^(?:https?:)?//([^/\\?#]*)")
_DNS_NAME = re.compile(r"^(?=.*[a-z])[a-z0-9-]+(?:\.[a-z0-9-]+)*\.?\Z")


def browser_url(value: str) -> str:
    """A URL as a browser reads it (WHATWG URL §4.4): without tabs and line breaks anywhere, nor C0
    controls and spaces around it, lowercased for the checks here."""
    return re.sub(r"^[\x00-\x20]+|[\x00-\x20]+$", "", re.sub(r"[\t\n\r]", "", value)).lower()


def remote_host(url: str) -> str | None:
    """The host name of an image at http(s)://NAME/… or //NAME/…, lowercased, without port or final
    dot; None for anything a browser might read otherwise: `http:/x` and `http:x` (relative to the
    page's own origin, WHATWG URL §4.4), an IP address in any of its spellings, a percent-escaped or
    non-ASCII name (which the browser's IDNA step may map onto ours)."""
    found = _REMOTE.match(browser_url(url))
    if found is None:
        return None
    host = found.group(1).rsplit("@", 1)[-1]
    name, _, port = host.partition(":")
    if port and not port.isdigit():
        return None
    if not _DNS_NAME.match(name) or re.match(r"^(0x[0-9a-f]*|[0-9]+)$", name.rstrip(".").rsplit(".", 1)[-1]):
        return None  # the last label numeric: the browser reads the name as an IPv4 address
    return name.rstrip(".")


def _styles(cleaned: str, budget: list[int]) -> str:
    """Each <style> element of nh3's output with only its harmless rules (removed when none is
    left). Tags are found as the serialiser writes them, so "<style>" inside an attribute's value
    is left alone: a raw "<" in text is always a tag, and a tag ends at the first ">" outside "…"."""
    out: list[str] = []
    at = 0
    while (start := cleaned.find("<", at)) >= 0:
        end, quoted = start, False
        while end < len(cleaned) and (quoted or cleaned[end] != ">"):
            quoted ^= cleaned[end] == '"'
            end += 1
        if not _STYLE_TAG.match(cleaned, start):
            out.append(cleaned[at : end + 1])
            at = end + 1
            continue
        out.append(cleaned[at:start])
        close = cleaned.find("</style>", end + 1)
        close = len(cleaned) if close < 0 else close
        sheet = cleaned[end + 1 : close]
        budget[0] -= len(sheet)
        rules = clean_stylesheet(sheet) if budget[0] >= 0 else ""
        if rules:
            out.append(f"<style>{rules}</style>")
        at = close + len("</style>")
    out.append(cleaned[at:])
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Cleaned:
    html: str
    blocked_images: int  # remote images held back


def clean_html(
    text: str,
    *,
    images: bool,
    inline: Callable[[str], str | None],
    own_hosts: frozenset[str] = frozenset(),
    budget: list[int] | None = None,
) -> Cleaned:
    """One HTML text cleaned by the reading rules: what a message shows, and what a letter written in
    the webmail may send (`web.compose`), so both sides of the city's mail keep to the same fence.
    `budget` is the CSS left to parse, shared by the parts of one message."""
    blocked = 0
    budget = budget if budget is not None else [CSS_BUDGET]

    def keep(tag: str, attribute: str, value: str) -> str | None:
        nonlocal blocked
        if tag == "img" and attribute == "src":
            lowered = browser_url(value)
            if lowered.startswith("cid:"):
                return inline(value.strip()[4:].strip("<>"))
            if lowered.startswith(("http:", "https:", "//")):
                host = remote_host(lowered)
                if host is None or host in own_hosts:
                    return None  # our own site (a request with the reader's cookies), or unclear
                if images:
                    return value
                blocked += 1
                return None
            return value if lowered.startswith("data:image/") else None
        if attribute == "style":
            budget[0] -= len(value)
            return (clean_declarations(value) or None) if budget[0] >= 0 else None  # nothing that fetches
        return value

    cleaned = _styles(
        nh3.clean(
            text,
            tags=_TAGS,
            clean_content_tags={"script", "head", "title"},
            attributes=_ATTRIBUTES,
            attribute_filter=keep,
            url_schemes={"http", "https", "mailto", "tel", "data", "cid"},
            link_rel="noopener noreferrer",
            set_tag_attribute_values={"a": {"target": "_blank"}},
        ),
        budget,
    )
    return Cleaned(cleaned, blocked)


def render_body(
    data: bytes,
    structure: Node,
    *,
    images: bool,
    inline: Callable[[str], str | None],
    own_hosts: frozenset[str] = frozenset(),
) -> Body:
    """The message's text as safe HTML; `inline(cid)` gives our address of an inline image part;
    `own_hosts` are our site's host names, never asked for a remote image."""
    blocked = 0
    budget = [CSS_BUDGET]  # what is left of it, spent by attributes and blocks alike
    pieces = []
    for node in _shown_parts(structure):
        text = to_text(lenient_body(data, node, LIMIT), _charset(node))
        if _is_html(node):
            cleaned = clean_html(text, images=images, inline=inline, own_hosts=own_hosts, budget=budget)
            blocked += cleaned.blocked_images
            pieces.append(cleaned.html)
        else:
            pieces.append(f'<pre class="text">{html.escape(text)}</pre>')
    return Body("\n<hr>\n".join(pieces), blocked)


def written_html(written: str) -> tuple[str, str]:
    """What the webmail's editor wrote (a letter, a signature), cleaned by the rules that apply when
    mail is read: no script, no event handler, no `javascript:` link, no image or style that fetches
    anything. A remote image is dropped, not held back: the recipients' readers would ask for it. The
    editor's script cleans what is pasted; this is the fence that counts. With it, the text written
    from what was kept (the text/plain alternative)."""
    if not written.strip():
        return "", ""
    rich = clean_html(written, images=False, inline=lambda _cid: None).html.strip()
    return rich, html_to_text(rich)
