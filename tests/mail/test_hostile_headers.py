"""Header values found by the fuzzers (`make fuzz`) that once made the parse at delivery raise.

`parse` is documented never to raise on malformed input: a message it cannot read must still be
stored, or the sender's server retries it for days and the person never gets it.
"""

from __future__ import annotations

import time

from hopthu.mail import canonical, parse
from hopthu.mail.headers import codec_for, decode_words, to_text
from hopthu.mail.lenient import MAX_ADDRESSES


def test_charset_label_with_a_nul_falls_back_to_utf8() -> None:
    # codecs.lookup raises ValueError (not LookupError) for a label holding a NUL.
    assert codec_for("a\0b") == "utf-8"
    assert to_text("Công".encode(), "utf\0-8") == "Công"


def test_encoded_word_with_a_nul_in_its_charset_does_not_stop_delivery() -> None:
    assert decode_words(b"=?a\x00b?q?x?=") == "x"
    parsed = parse(canonical(b"Subject: =?a\x00b?q?C=C3=B4ng?=\r\nFrom: a@b\r\n\r\nbody\r\n"))
    assert parsed.subject == "Công"


def test_an_address_field_gives_the_envelope_a_bounded_number_of_entries() -> None:
    """4 MiB of commas (each an empty member Dovecot reports as MISSING_MAILBOX) took 13 s and 1 GB
    per 2 MiB at delivery; valid addresses past the bound are kept in the message, not the envelope."""
    commas = "\r\n ".join(["," * 900] * 4600)
    people = ",\r\n ".join(f"nguoi{i}@cantho.gov.vn" for i in range(10_000))
    for value in (commas, people):
        started = time.process_time()
        parsed = parse(canonical(f"From: a@b.vn\r\nTo: {value}\r\nCc: x@b.vn\r\n\r\nbody\r\n".encode()))
        assert time.process_time() - started < 1.0
        assert len(parsed.envelope["to"]) == MAX_ADDRESSES
        assert parsed.envelope["cc"] == [[None, None, "x", "b.vn"]]
    assert parsed.envelope["to"][-1][2] == f"nguoi{MAX_ADDRESSES - 1}"
