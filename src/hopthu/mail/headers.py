"""Header text for people: RFC 2047 encoded words, 8-bit fallbacks, dates.

IMAP answers carry header values raw; the webmail, the attachment list and the search text need
them decoded. Encoded words in one charset are joined before decoding (RFC 2047 §6.2 drops the
white space between them), which also repairs words split inside a multi-byte character, a habit
of some Vietnamese mailers. Unknown charsets fall back to UTF-8 with replacement characters:
a readable subject is worth more than an exception.
"""

from __future__ import annotations

import binascii
import codecs
import datetime as dt
import email.utils
import functools
import re
import unicodedata

from hopthu.policy.dates import VIETNAM

# RFC 2047 §2 encoded-word; the charset may carry an RFC 2231 §5 "*language" suffix.
_WORD = re.compile(rb"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_WSP = re.compile(rb"[ \t\r\n]*")

# Labels that Python's codec registry does not know, or knows as a narrower charset.
_CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "iso-2022-jp": "iso2022_jp_ext",
    "unknown-8bit": "utf-8",
    "x-unknown": "utf-8",
    "us-ascii": "utf-8",
}


@functools.lru_cache(maxsize=256)
def codec_for(charset: str) -> str:
    """A Python codec name for a MIME charset label; UTF-8 when the label is unknown."""
    label = charset.strip().strip('"').lower().partition("*")[0]
    label = _CHARSET_ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except (LookupError, ValueError):  # ValueError: a label with a NUL in it, e.g. "=?a\0b?q?x?="
        return "utf-8"


def to_text(raw: bytes, charset: str | None = None) -> str:
    """Bytes in `charset` (or undeclared 8-bit: UTF-8, else windows-1252) as NFC text.

    NUL becomes U+FFFD: text columns (PostgreSQL's above all) cannot hold it.
    """
    if charset is not None:
        text = raw.decode(codec_for(charset), "replace")
    elif raw.isascii():
        text = raw.decode("ascii")
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", "replace")
    if "\0" in text:
        text = text.replace("\0", "\ufffd")
    return unicodedata.normalize("NFC", text) if not text.isascii() else text


# Control characters never reach header text for people: the line breaks and tabs an encoded word
# (RFC 2047) or an RFC 2231 value can smuggle in become spaces, the other C0 and C1 controls and
# DEL become U+FFFD. Text decoded here is written into new messages (a reply's subject, a
# forwarded file's name), where a CR or LF would start a new header line.
_CONTROLS = {
    code: (" " if code in (0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x85) else "\ufffd")
    for code in (*range(0x20), 0x7F, *range(0x80, 0xA0))
}
_CONTROLS.update({0x2028: " ", 0x2029: " "})


def clean_text(text: str) -> str:
    """`text` with every control character replaced (see `_CONTROLS`); one pass in C."""
    return text.translate(_CONTROLS) if not text.isprintable() else text


def _word_bytes(encoding: bytes, text: bytes) -> bytes:
    if encoding in b"bB":
        text = text.rstrip(b"=")
        text += b"=" * (-len(text) % 4)
        try:
            return binascii.a2b_base64(text)
        except binascii.Error:
            return b""
    return binascii.a2b_qp(text, header=True)  # RFC 2047 §4.2: "_" is a space


def decode_words(value: bytes) -> str:
    """Unstructured header text (RFC 2047 §5 (1)) as Unicode; folding is removed, and no control
    character survives (`clean_text`), whatever an encoded word carried."""
    if b"=?" not in value:
        return clean_text(to_text(value.replace(b"\r", b"").replace(b"\n", b"")))
    pieces: list[str] = []
    pending = bytearray()
    pending_charset: str | None = None
    pos = 0

    def flush() -> None:
        nonlocal pending_charset
        if pending_charset is not None:
            pieces.append(to_text(bytes(pending), pending_charset))
            del pending[:]
            pending_charset = None

    for match in _WORD.finditer(value):
        between = value[pos : match.start()]
        if pending_charset is None or _WSP.fullmatch(between) is None:
            flush()
            pieces.append(to_text(between.replace(b"\r", b"").replace(b"\n", b"")))
        charset = codec_for(match.group(1).decode("ascii", "replace"))
        if charset != pending_charset:
            flush()
            pending_charset = charset
        pending += _word_bytes(match.group(2), match.group(3))
        pos = match.end()
    flush()
    pieces.append(to_text(value[pos:].replace(b"\r", b"").replace(b"\n", b"")))
    return clean_text("".join(pieces))


def parse_date(value: bytes | None) -> dt.datetime | None:
    """RFC 5322 §3.3 date-time (obsolete forms too) as an aware datetime, or None."""
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value.decode("latin-1"))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": time zone unknown (RFC 5322 §3.3), read as UTC
        when = when.replace(tzinfo=dt.UTC)
    return when


def sent_day(date: dt.datetime | None, arrived: dt.datetime) -> dt.date:
    """The day a message says it was written: its Date header's own calendar day, in the time zone
    the header gives (RFC 3501 §6.4.4 SENTON and friends, as Dovecot reads them), or, without a
    readable Date, the day it arrived in Vietnam's time."""
    if date is not None:
        return date.date()
    return arrived.astimezone(VIETNAM).date()
