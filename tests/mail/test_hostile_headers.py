"""Header values found by the fuzzers (`make fuzz`) that once made the parse at delivery raise.

`parse` is documented never to raise on malformed input: a message it cannot read must still be
stored, or the sender's server retries it for days and the person never gets it.
"""

from __future__ import annotations

from hopthu.mail import canonical, parse
from hopthu.mail.headers import codec_for, decode_words, to_text


def test_charset_label_with_a_nul_falls_back_to_utf8() -> None:
    # codecs.lookup raises ValueError (not LookupError) for a label holding a NUL.
    assert codec_for("a\0b") == "utf-8"
    assert to_text("Công".encode(), "utf\0-8") == "Công"


def test_encoded_word_with_a_nul_in_its_charset_does_not_stop_delivery() -> None:
    assert decode_words(b"=?a\x00b?q?x?=") == "x"
    parsed = parse(canonical(b"Subject: =?a\x00b?q?C=C3=B4ng?=\r\nFrom: a@b\r\n\r\nbody\r\n"))
    assert parsed.subject == "Công"
