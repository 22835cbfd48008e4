"""Folding lines over 998 octets before a message is relayed to another server.

We accept long lines (`smtp.max_line_bytes`) and store them byte for byte, but another MTA may refuse
or cut them: a line is at most 998 octets plus CRLF (RFC 5322 §2.1.1, RFC 5321 §4.5.3.1.6). So what we
relay is folded the way Postfix does it (`smtp_line_length_limit`): a long line is broken before its
last space or tab within the limit, so the next line starts with that blank; a line with no blank
there is broken at the limit (never inside a UTF-8 character) and its continuation starts with an
added space. In the header section that is RFC 5322 §2.2.3 folding, which changes nothing a reader
sees. In a body it adds a line break where there was a blank (harmless in HTML, visible in plain
text) and a continuation can never start a MIME boundary (`--`), a header-like line or a lone dot.
Re-encoding the part (quoted-printable) would keep plain text exact, at the cost of rewriting the
MIME structure of a message that may be signed; folding is the smaller change.

Folding is line-local and leaves lines of 998 octets or fewer alone, so folding a message twice
changes nothing and the DKIM signature made over the folded form (`smtp.pipeline`) stays valid
when the relayed copy is folded again here.
"""

from __future__ import annotations

LIMIT = 998  # octets before CRLF, RFC 5322 §2.1.1


def needs_folding(data: bytes, limit: int = LIMIT) -> bool:
    """Linear: one split at C speed, then one length per line (a regex here would rescan each line)."""
    if len(data) <= limit:
        return False
    return any(
        len(line) > limit + 1 or (len(line) > limit and not line.endswith(b"\r"))
        for line in data.split(b"\n")
    )


def fold_long_lines(data: bytes, limit: int = LIMIT) -> bytes:
    """`data` with every line longer than `limit` octets (CRLF not counted) folded; else `data` itself."""
    if not needs_folding(data, limit):
        return data
    out = bytearray()
    for line in data.split(b"\n"):
        ending = b"\r" if line.endswith(b"\r") else b""
        if ending:
            line = line[:-1]
        while len(line) > limit:
            cut = _cut(line, limit)
            out += line[:cut] + b"\r\n"
            line = line[cut:]
            if line[:1] not in (b" ", b"\t"):
                line = b" " + line
        out += line + ending + b"\n"
    return bytes(out[:-1])  # the split made one "line" more than there were line ends


def _cut(line: bytes, limit: int) -> int:
    """Where to break: before the last blank within the limit (not at the very start, so the line
    shrinks), else at the limit, moved back off the continuation bytes of a UTF-8 character."""
    blank = max(line.rfind(b" ", 1, limit + 1), line.rfind(b"\t", 1, limit + 1))
    if blank > 0:
        return blank
    cut = limit
    while cut > 1 and 0x80 <= line[cut] < 0xC0:
        cut -= 1
    return cut
