"""A letter written with formatting: its HTML (already cleaned by the web's reading rules) read back
as the text/plain alternative every reader can show, and plain text turned into HTML the editor opens.

The text is what a careful person would type: a bulleted item is "- item", a numbered one "1. item",
a link "text <url>", a quote has "> " before each line, table cells are separated by " | ". Readers
without HTML (and the search index, and replies quoted as text) see the same letter in words.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser

_BLOCKS = frozenset(
    {
        "p",
        "div",
        "ul",
        "ol",
        "li",
        "blockquote",
        "table",
        "tr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "pre",
        "hr",
    }
)
_SKIPPED = frozenset({"style", "script", "head", "title"})
_PLAIN_TAGS = frozenset({"div", "p", "br", "span"})
_TAG_NAME = re.compile(r"<([a-zA-Z][a-zA-Z0-9]*)")


@dataclass(slots=True)
class _List:
    ordered: bool
    count: int = 0


@dataclass(slots=True)
class _Link:
    href: str
    start: int  # where its text begins in the current line


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.line = ""
        self.prefix = ""  # the list marker waiting for the line's first words
        self.quotes = 0
        self.lists: list[_List] = []
        self.links: list[_Link] = []
        self.skipping = 0
        self.cells = 0
        self.in_cell = 0  # a table cell's blocks stay on its row's line
        self.in_pre = 0

    def _break(self, *, always: bool = False) -> None:
        """End the line being written (a block ends: only when it holds words, unless `always`)."""
        if self.in_cell:
            if self.line.strip() and not self.line.endswith((" ", "| ")):
                self.line += " "
            return
        if self.line.strip() or always:
            quote = "> " * self.quotes
            self.lines.append((quote + self.line.rstrip()).rstrip() if self.line.strip() else quote.rstrip())
        self.line = ""

    def _write(self, words: str) -> None:
        if self.prefix and words.strip():
            indent = "  " * max(0, len(self.lists) - 1)
            self.line = indent + self.prefix + self.line.lstrip()
            self.prefix = ""
        self.line += words

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
            return
        if tag == "br":
            self._break(always=True)
        elif tag == "blockquote":
            self._break()
            self.quotes += 1
        elif tag in ("ul", "ol"):
            self._break()
            self.lists.append(_List(tag == "ol"))
        elif tag == "li":
            self._break()
            current = self.lists[-1] if self.lists else _List(False)
            current.count += 1
            self.prefix = f"{current.count}. " if current.ordered else "- "
        elif tag in ("td", "th"):
            self.line = self.line.rstrip()
            if self.cells:
                self._write(" | ")
            self.cells += 1
            self.in_cell += 1
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            self.links.append(_Link(href, len(self.line)))
        elif tag == "pre":
            self._break()
            self.in_pre += 1
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self._write(f"[{alt}]")
        elif tag in _BLOCKS:
            self._break()
        if tag == "tr":
            self.cells = 0
            self.in_cell = 0

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
            return
        if tag == "blockquote":
            self._break()
            self.quotes = max(0, self.quotes - 1)
        elif tag in ("ul", "ol"):
            self._break()
            if self.lists:
                self.lists.pop()
        elif tag == "a" and self.links:
            link = self.links.pop()
            shown = self.line[link.start :].strip()
            href = link.href.strip()
            target = href[len("mailto:") :] if href.lower().startswith("mailto:") else href
            bare = re.sub(r"^[a-z][a-z0-9+.-]*://", "", href, flags=re.IGNORECASE)
            if href and shown == bare and bare != href:  # the address shown without its scheme
                self.line = self.line[: link.start] + self.line[link.start :].replace(shown, href, 1)
            elif href and target != shown:
                self._write(f" <{href}>" if shown else f"<{href}>")
        elif tag == "pre":
            self._break()
            self.in_pre = max(0, self.in_pre - 1)
        elif tag in ("td", "th"):
            self.in_cell = max(0, self.in_cell - 1)
            self.line = self.line.rstrip()
        elif tag in _BLOCKS:
            self._break()
            if tag == "tr":
                self.cells = 0

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if self.in_pre:
            first, *rest = data.split("\n")
            self._write(first)
            for piece in rest:
                self._break(always=True)
                self._write(piece)
            return
        words = " ".join(data.split())
        if not words:
            if data and self.line and not self.line.endswith(" "):
                self.line += " "
            return
        if data[:1].isspace() and self.line and not self.line.endswith(" "):
            words = " " + words
        if data[-1:].isspace():
            words += " "
        self._write(words)


def html_to_text(body: str) -> str:
    """The text/plain alternative of a letter's HTML (see the module's docstring)."""
    reader = _Reader()
    reader.feed(body)
    reader.close()
    reader._break()
    # trailing spaces go, except the one of the signature's "-- " line (RFC 3676 §4.3)
    lines = [line.rstrip() if line.rstrip() != "--" else "-- " for line in reader.lines]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


def has_formatting(body: str) -> bool:
    """Whether the HTML says more than lines of text: a letter written without bold, lists, links
    or quotes leaves as plain text only, as it always did."""
    return any(name.lower() not in _PLAIN_TAGS for name in _TAG_NAME.findall(body))


def text_to_html(text: str) -> str:
    """Plain text as the editor's lines: one <div> a line, "> " lines in a <blockquote>."""
    out: list[str] = []
    quoted: list[str] = []

    def flush() -> None:
        if quoted:
            inner = text_to_html("\n".join(quoted))
            out.append(f"<blockquote>{inner}</blockquote>")
            quoted.clear()

    for line in text.replace("\r\n", "\n").split("\n"):
        if line.startswith(">"):
            quoted.append(line[2:] if line.startswith("> ") else line[1:])
            continue
        flush()
        out.append(f"<div>{html.escape(line)}</div>" if line else "<div><br></div>")
    flush()
    return "".join(out)
