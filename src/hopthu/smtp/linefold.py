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
    """Linear and at C speed (one split, one length per line); a regex here would rescan each line."""
    if len(data) <= limit:
        return False
    lines = data.split(b"\n")
    longest = max(map(len, lines))
    if longest <= limit:
        return False
    if longest > limit + 1:
        return True
    return any(len(line) > limit and not line.endswith(b"\r") for line in lines)  # limit + 1: CR or not


def fold_long_lines(data: bytes, limit: int = LIMIT) -> bytes:
    """`data` with every line longer than `limit` octets (CRLF not counted) folded; else `data` itself."""
    if not needs_folding(data, limit):
        return data
    out = bytearray()
    for line in data.split(b"\n"):
        ending = b"\r" if line.endswith(b"\r") else b""
        end = len(line) - len(ending)
        start = 0
        room = limit  # what the line being written may still take
        while end - start > room:
            cut = _cut(line, start, room)
            out += line[start:cut]
            if line[cut : cut + 1] in (b" ", b"\t"):
                out += b"\r\n"  # the continuation starts with the blank that was there
                room = limit
            else:
                out += b"\r\n "  # no blank to fold at: one is added, and takes its room
                room = limit - 1
            start = cut
        out += line[start:end] + ending + b"\n"
    return bytes(out[:-1])  # the split made one "line" more than there were line ends


def _cut(line: bytes, start: int, room: int) -> int:
    """Where to break the rest of `line` from `start`: before its last blank within `room` (not at
    `start`, so the rest shrinks), else at `room`, moved back off the continuation bytes of a UTF-8
    character."""
    stop = start + room + 1
    blank = max(line.rfind(b" ", start + 1, stop), line.rfind(b"\t", start + 1, stop))
    if blank > start:
        return blank
    cut = start + room
    while cut > start + 1 and 0x80 <= line[cut] < 0xC0:
        cut -= 1
    return cut
