"""The webmail's rendering of a message body as safe HTML (`web.htmlmail.render_body`).

Beyond not raising, the output must be safe whatever came in: no script (or frame, form, base,
meta) element, no event-handler attribute, no javascript:, vbscript: or HTML data: URL (as a browser
reads it: entities decoded, tabs and line breaks removed), no style that fetches from outside, no
remote image when images are off. The output is read with the standard library's HTML parser, so
what is checked is what a browser would see as tags and attributes, not text that looks like them.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from fuzz import seeds
from fuzz.engine import Target
from hopthu.mail import canonical, parse
from hopthu.web.htmlmail import render_body

HTML_SEEDS: tuple[bytes, ...] = tuple(
    b"Content-Type: text/html; charset=utf-8\r\n\r\n" + body
    for body in (
        b'<p onclick="x()">C\xc3\xb4ng v\xc4\x83n</p><script>alert(1)</script><a href="javascript:x">a</a>',
        b'<img src="http://tracker.example/p.gif"><img src="cid:logo@x"><img src="data:image/png;base64,AA">',
        b'<div style="background:url(http://x/y)">z</div><style>body{background:url(//x)}</style>',
        b'<svg><script>x</script></svg><math><mi xlink:href="javascript:x">',
        b'<table><tr><td background="http://x">t</td></tr></table><a href="//evil">l</a>',
        b'<!--<script>--><scr<script>ipt>alert(1)</scr</script>ipt><iframe srcdoc="<script>">',
        b'<a href="jav&#x09;ascript:x">t</a><a href="  JaVaScRiPt:x">u</a><p style="x:expression(1)">',
    )
)
TOKENS = (
    b"<script>", b"</script>", b"<img src=\"", b"http://x/", b"javascript:", b"onerror=", b"style=\"",
    b"url(", b"<svg>", b"<!--", b"-->", b"<![CDATA[", b"&#", b"&lt;", b"\"", b"'", b"<style>", b"<a href=\"",
    b"cid:", b"data:image/svg+xml,", b"<base href=\"", b"<meta http-equiv=\"refresh\"", b"<form action=\"",
)  # fmt: skip

# WHATWG URL parsing (basic URL parser, first steps): leading and trailing C0 controls and spaces are
# removed, and ASCII tab and newline anywhere, so "jav&#x09;ascript:" is a javascript: URL while
# "javascri\x11pt:" is not a URL scheme at all.
_URL_TAB_NEWLINE = re.compile(r"[\t\n\r]")


def _as_browser_reads(url: str) -> str:
    return _URL_TAB_NEWLINE.sub("", url.strip("".join(map(chr, range(0x21))))).lower()


_DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:text/html")
_URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "background", "poster", "xlink:href"})


# CSS Syntax §4.3.7: "\75 " and "\u" are both "u", so "\75rl(" and "u\rl(" are url( to a browser.
_CSS_ESCAPE = re.compile(r"\\(?:([0-9a-fA-F]{1,6})[ \t\n]?|(.))", re.DOTALL)
_CSS_FETCHES = ("url(", "image-set(", "image(", "@import", "src(")
# A whole CSS string (CSS Syntax §4.3.5) is text, as in `font-family: "Segoe UIurl(x"`: it fetches nothing.
_CSS_STRING = re.compile(r""""(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'""", re.DOTALL)


def _loads_url(style: str) -> bool:
    def unescape(found: re.Match[str]) -> str:
        if found.group(1):
            code = int(found.group(1), 16)
            return chr(code) if 0 < code <= 0x10FFFF else "\ufffd"
        return found.group(2)

    plain = _CSS_ESCAPE.sub(unescape, _CSS_STRING.sub('""', style)).lower()
    return any(fetch in plain for fetch in _CSS_FETCHES)


class Unsafe(AssertionError):
    """The sanitised output still carries something the sanitiser exists to remove."""


class _Inspector(HTMLParser):
    """Reads the output as a browser would (tags, attributes with entities decoded) and notes the
    first thing that should not be there."""

    def __init__(self, images: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.images = images
        self.problem: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "iframe", "object", "embed", "base", "meta", "form"):
            self._note(f"a <{tag}> element")
        for name, value in attrs:
            value = value or ""
            url = _as_browser_reads(value)
            if name.startswith("on"):
                self._note(f"an event-handler attribute {name}={value[:60]!r} on <{tag}>")
            elif name in _URL_ATTRIBUTES and url.startswith(_DANGEROUS_SCHEMES):
                self._note(f"a dangerous URL {name}={value[:60]!r} on <{tag}>")
            elif (
                tag == "img"
                and name == "src"
                and not self.images
                and url.startswith(("http:", "https:", "//"))
            ):
                self._note(f"a remote image {value[:60]!r} with images off")
            elif name == "style" and _loads_url(value):
                self._note(f"a style that loads a URL {value[:60]!r}")

    handle_startendtag = handle_starttag

    def _note(self, problem: str) -> None:
        if self.problem is None:
            self.problem = problem


def run(raw: bytes) -> None:
    data = canonical(raw)
    parsed = parse(data)
    for images in (False, True):
        body = render_body(data, parsed.structure, images=images, inline=lambda cid: f"/inline/{len(cid)}")
        inspector = _Inspector(images)
        inspector.feed(body.html)
        inspector.close()
        if inspector.problem is not None:
            raise Unsafe(f"{inspector.problem} in the output (images {'on' if images else 'off'})")


def target() -> Target:
    return Target(
        "html_sanitiser", run, HTML_SEEDS + seeds.messages(limit=60), TOKENS, (), max_len=128 * 1024
    )
