"""MIME parameters (RFC 2045 §5.1) with RFC 2231 continuations, the way IMAP shows them.

BODYSTRUCTURE carries parameters as the sender wrote them after joining RFC 2231 continuations:
`filename*0*=utf-8''a; filename*1*=b` becomes `("filename*" "utf-8''ab")`, still percent-encoded,
because that is what Dovecot answers and clients decode it themselves. `decode_value` turns such a
value into text for our own use (attachment names, search).
"""

from __future__ import annotations

import re

from .headers import clean_text, decode_words, to_text
from .rfc822 import NUL_REPLACEMENT, Rfc822

Params = list[tuple[bytes, bytes]]


def parse_params(parser: Rfc822) -> tuple[Params, bool]:
    """Read `; key=value` pairs from the cursor to the end: (pairs in wire order, broken)."""
    saved_nul, parser.nul = parser.nul, NUL_REPLACEMENT
    result: Params = []
    continued: list[tuple[bytes, int, bool, bytes]] = []
    broken = False
    idx = 0  # Dovecot keeps the last index seen when `key*` has none; so do we.
    while True:
        ret, key, value = parser.parse_content_param()
        if ret == 0:
            break
        if ret < 0:
            broken = True
            if parser.pos >= parser.end:
                break
            parser.pos += 1
            continue
        star = key.find(b"*")
        if star >= 0:
            p = star
            if p + 1 < len(key):
                p += 1
                idx = 0
                while p < len(key) and 0x30 <= key[p] <= 0x39:
                    idx = idx * 10 + key[p] - 0x30
                    p += 1
            extended = p < len(key) and key[p] == 0x2A
            if extended:
                p += 1
            if p == len(key):
                continued.append((key[:star], idx, extended, value.split(b"\0", 1)[0]))
                continue
        result.append((key, value.split(b"\0", 1)[0]))
    parser.nul = saved_nul
    if continued:
        result.extend(_merge_continuations(continued))
    return result, broken


def _merge_continuations(items: list[tuple[bytes, int, bool, bytes]]) -> Params:
    """RFC 2231 §3-4: join `key*0`, `key*1*`...; leave them apart when an index is missing."""
    items.sort(key=lambda item: (item[0], item[1]))
    merged: Params = []
    i = 0
    while i < len(items):
        name = items[i][0].lower()
        j = i
        while j < len(items) and items[j][0].lower() == name:
            j += 1
        group = items[i:j]
        if any(item[1] != n for n, item in enumerate(group)):
            for key, index, extended, value in group:
                merged.append((key + b"*%d" % index + (b"*" if extended else b""), value))
        else:
            any_extended = any(item[2] for item in group)
            value = b"''" if any_extended and not group[0][2] else b""
            for _key, _index, extended, part in group:
                value += part.replace(b"%", b"%25") if any_extended and not extended else part
            merged.append((group[0][0] + (b"*" if any_extended else b""), value))
        i = j
    return merged


_PERCENT = re.compile(rb"%([0-9A-Fa-f]{2})")


def decode_value(key: bytes, value: bytes) -> tuple[bytes, str]:
    """The parameter's plain name and its text: RFC 2231 `charset'lang'%XX` decoded when marked `*`.

    Values that are not RFC 2231 but carry RFC 2047 encoded words (common for file names sent by
    Outlook and webmail) are decoded as such.
    """
    if key.endswith(b"*"):
        charset, _, rest = value.partition(b"'")
        _language, quote, text = rest.partition(b"'")
        if not quote:
            return key[:-1], decode_words(value)
        raw = _PERCENT.sub(lambda m: bytes([int(m.group(1), 16)]), text)
        # Like an encoded word, a %0D%0A here never reaches a file name (`clean_text`).
        return key[:-1], clean_text(to_text(raw, charset.decode("ascii", "replace") or "utf-8"))
    return key, decode_words(value)
