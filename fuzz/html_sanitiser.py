"""The webmail's rendering of a message body as safe HTML (`web.htmlmail.render_body`).

Beyond not raising, the output must be safe whatever came in: no script element, no event-handler
attribute, no javascript: URL, no style that fetches from outside, no remote image when images are
off. These checks are deliberately coarse (they look at the output text), so a finding is a case to
read, not necessarily a hole.
"""

from __future__ import annotations

import re

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

_SCRIPT = re.compile(r"<\s*script", re.IGNORECASE)
# Only inside tags: text is escaped (a "<" in text becomes "&lt;"), so a raw "<" starts a real tag.
_HANDLER = re.compile(r"<[a-z][^<>]*\son[a-z]+\s*=", re.IGNORECASE)
_JS_URL = re.compile(r"<[a-z][^<>]*\s(?:href|src|action)\s*=\s*[\"']?\s*javascript:", re.IGNORECASE)
_REMOTE_IMG = re.compile(r"<img[^<>]*\ssrc\s*=\s*[\"']?\s*(?:https?:|//)", re.IGNORECASE)
_STYLE_URL = re.compile(r"<[a-z][^<>]*\sstyle\s*=\s*[\"'][^\"']*url\(", re.IGNORECASE)


class Unsafe(AssertionError):
    """The sanitised output still carries something the sanitiser exists to remove."""


def run(raw: bytes) -> None:
    data = canonical(raw)
    parsed = parse(data)
    body = render_body(data, parsed.structure, images=False, inline=lambda cid: f"/inline/{len(cid)}")
    html = body.html
    for pattern, what in (
        (_SCRIPT, "a script element"),
        (_HANDLER, "an event-handler attribute"),
        (_JS_URL, "a javascript: URL"),
        (_REMOTE_IMG, "a remote image with images off"),
        (_STYLE_URL, "a style that loads a URL"),
    ):
        found = pattern.search(html)
        if found:
            raise Unsafe(f"{what} in the output: {html[max(0, found.start() - 40) : found.end() + 40]!r}")
    render_body(data, parsed.structure, images=True, inline=lambda cid: None)


def target() -> Target:
    return Target(
        "html_sanitiser", run, HTML_SEEDS + seeds.messages(limit=60), TOKENS, (), max_len=128 * 1024
    )
