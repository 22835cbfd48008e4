"""HTML a sender wrote is reduced to words in one pass: quoting it in a reply cannot stall the loop.

A lazy `<script.*?</script>` regex scanned to the end of the text once per opener: 256 KB of
`<script ` (the most a reply quotes) took over 40 s on the event loop, 80 KB took 4 s.
"""

from __future__ import annotations

import time

from hopthu.mail import parse
from hopthu.mail.compose import QUOTE_LIMIT, body_text
from hopthu.mail.searchtext import drop_hidden


def _html_mail(html: str) -> bytes:
    return (
        "From: a@example.org\r\nTo: b@cantho.gov.vn\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/html; charset=utf-8\r\n\r\n" + html
    ).encode()


def test_openers_without_closers_are_linear() -> None:
    for opener in ("<script ", "<!--", "<STYLE>", "<title "):
        hostile = "<p>Kính gửi</p>" + opener * (QUOTE_LIMIT // len(opener))
        data = _html_mail(hostile)
        started = time.perf_counter()
        text = body_text(data, parse(data).structure)
        assert time.perf_counter() - started < 2.0, opener
        assert text == "Kính gửi"


def test_hidden_parts_still_dropped() -> None:
    html = "<head><title>t</title></head><p>A</p><script>x()</script><!-- c --><STYLE>p{}</STYLE><p>B</p>"
    assert drop_hidden(html).split() == ["<p>A</p>", "<p>B</p>"]
    # a character whose lower case is longer ("İ" becomes two) does not shift what is cut
    assert drop_hidden("İİİ<script>x</script>ok").split() == ["İİİ", "ok"]
