"""Structured header tokens (RFC 5322 §3.2, RFC 2045 §5.1): atoms, quoted strings, comments, phrases.

IMAP clients compare what we answer with what Dovecot answers, so this tokenizer follows Dovecot's
forgiving reading of broken headers (lib-mail `rfc822-parser.c`) rather than the strict grammar:
comments are skipped anywhere white space may be, CR and LF count as white space, a NUL inside a
quoted string or comment becomes U+FFFD. Every method returns what Dovecot's returns: 1 when more
input follows, 0 at the end of the input, -1 on a syntax error; tokens are appended to `out`.
"""

from __future__ import annotations

NUL_REPLACEMENT = "\ufffd".encode()

# 1: atext that is not a MIME tspecial, 2: letters, digits and 8-bit octets, 4: atext that is a
# MIME tspecial ("/", "=", "?"). RFC 5322 §3.2.3 atext, RFC 2045 §5.1 tspecials.
_CLASS = bytearray(256)
for _c in b"!#$%&'*+-^_`{|}~":
    _CLASS[_c] = 1
for _c in b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz":
    _CLASS[_c] = 2
for _c in range(128, 256):
    _CLASS[_c] = 2
for _c in b"/=?":
    _CLASS[_c] = 4
ATEXT = bytes(1 if c else 0 for c in _CLASS)
TOKEN = bytes(1 if c & 3 or i == 0x2E else 0 for i, c in enumerate(_CLASS))  # MIME token and "."
_WSP = b" \t\r\n"


class Rfc822:
    """A cursor over one header value; `last_comment` (if given) receives the last comment's text."""

    __slots__ = ("data", "end", "last_comment", "nul", "pos")

    def __init__(self, data: bytes, last_comment: bytearray | None = None, nul: bytes | None = None) -> None:
        self.data = data
        self.pos = 0
        self.end = len(data)
        self.last_comment = last_comment
        self.nul = nul

    def peek(self) -> int:
        """The current octet, or 0 past the end (the C code reads its terminating NUL)."""
        return self.data[self.pos] if self.pos < self.end else 0

    # RFC 5322 §3.2.2 comments: nested, with quoted-pairs.
    def skip_comment(self) -> int:
        d, end, lc = self.data, self.end, self.last_comment
        if lc is not None:
            del lc[:]
        level = 1
        self.pos += 1
        start = self.pos
        while self.pos < end:
            c = d[self.pos]
            if c == 0:
                if lc is not None and self.nul is not None:
                    lc += d[start : self.pos]
                    lc += self.nul
                    start = self.pos + 1
            elif c == 0x28:
                level += 1
            elif c == 0x29:
                level -= 1
                if level == 0:
                    if lc is not None:
                        lc += d[start : self.pos]
                    self.pos += 1
                    return 1 if self.pos < end else 0
            elif c == 0x0A:
                if lc is not None:
                    stop = self.pos - 1 if self.pos > start and d[self.pos - 1] == 0x0D else self.pos
                    lc += d[start:stop]
                    start = self.pos + 1
            elif c == 0x5C:
                self.pos += 1
                if self.pos >= end:
                    return -1
                if d[self.pos] in (0x0D, 0x0A, 0):
                    self.pos -= 1
                else:
                    if lc is not None:
                        lc += d[start : self.pos - 1]
                    start = self.pos
            self.pos += 1
        return -1

    def skip_lwsp(self) -> int:
        d, end = self.data, self.end
        while self.pos < end:
            c = d[self.pos]
            if c in _WSP:
                self.pos += 1
            elif c == 0x28:
                if self.skip_comment() < 0:
                    return -1
            else:
                break
        return 1 if self.pos < end else 0

    def _run(self, table: bytes) -> int:
        d, end, p = self.data, self.end, self.pos
        while p < end and table[d[p]]:
            p += 1
        return p

    def parse_atom(self, out: bytearray) -> int:
        if self.pos >= self.end or not ATEXT[self.data[self.pos]]:
            return -1
        stop = self._run(ATEXT)
        out += self.data[self.pos : stop]
        self.pos = stop
        return self.skip_lwsp() if stop < self.end else 0

    def parse_dot_atom(self, out: bytearray) -> int:
        """RFC 5322 §3.2.3 dot-atom, allowing white space around the dots (RFC 822)."""
        if self.pos >= self.end or not ATEXT[self.data[self.pos]]:
            return -1
        while True:
            stop = self._run(ATEXT)
            if stop == self.pos:
                return -1
            out += self.data[self.pos : stop]
            self.pos = stop
            if stop >= self.end:
                return 0
            ret = self.skip_lwsp()
            if ret <= 0:
                return ret
            if self.data[self.pos] != 0x2E:
                return 1
            self.pos += 1
            out.append(0x2E)
            if self.skip_lwsp() <= 0:
                return -1

    def parse_mime_token(self, out: bytearray) -> int:
        """RFC 2045 §5.1 token (dots allowed)."""
        stop = self._run(TOKEN)
        out += self.data[self.pos : stop]
        self.pos = stop
        return self.skip_lwsp() if stop < self.end else 0

    def parse_quoted_string(self, out: bytearray) -> int:
        """RFC 5322 §3.2.4: folding removed, quoted-pairs unescaped."""
        d, end = self.data, self.end
        self.pos += 1
        start = self.pos
        while self.pos < end:
            c = d[self.pos]
            if c == 0:
                if self.nul is not None:
                    out += d[start : self.pos]
                    out += self.nul
                    start = self.pos + 1
            elif c == 0x22:
                out += d[start : self.pos]
                self.pos += 1
                return self.skip_lwsp()
            elif c == 0x0A:
                stop = self.pos - 1 if self.pos > start and d[self.pos - 1] == 0x0D else self.pos
                out += d[start:stop]
                start = self.pos + 1
            elif c == 0x5C:
                self.pos += 1
                if self.pos >= end:
                    return -1
                if d[self.pos] in (0x0D, 0x0A, 0):
                    self.pos -= 1
                else:
                    out += d[start : self.pos - 1]
                    start = self.pos
            self.pos += 1
        return -1

    def _parse_atom_or_dot(self, out: bytearray) -> int:
        d, end, p = self.data, self.end, self.pos
        while p < end and (ATEXT[d[p]] or d[p] == 0x2E):
            p += 1
        out += d[self.pos : p]
        self.pos = p
        return self.skip_lwsp() if p < end else 0

    def parse_phrase(self, out: bytearray) -> int:
        """RFC 5322 §3.2.5 phrase, words joined by one space; obs-phrase dots allowed."""
        if self.pos >= self.end:
            return 0
        if self.data[self.pos] == 0x2E:
            return -1
        while True:
            quoted = self.data[self.pos] == 0x22
            ret = self.parse_quoted_string(out) if quoted else self._parse_atom_or_dot(out)
            if ret <= 0:
                return ret
            c = self.data[self.pos]
            if not ATEXT[c] and c != 0x22 and c != 0x2E:
                break
            out.append(0x20)
        return self.skip_lwsp()

    def _parse_domain_literal(self, out: bytearray) -> int:
        """RFC 5322 §3.4.1 domain-literal, brackets kept."""
        d, end = self.data, self.end
        start = self.pos
        self.pos += 1
        while self.pos < end:
            c = d[self.pos]
            if c == 0:
                if self.nul is not None:
                    out += d[start : self.pos]
                    out += self.nul
                    start = self.pos + 1
            elif c == 0x5B:
                return -1
            elif c == 0x5D:
                out += d[start : self.pos + 1]
                self.pos += 1
                return self.skip_lwsp()
            elif c == 0x0A:
                stop = self.pos - 1 if self.pos > start and d[self.pos - 1] == 0x0D else self.pos
                out += d[start:stop]
                start = self.pos + 1
            elif c == 0x5C:
                self.pos += 1
                if self.pos >= end:
                    return -1
                if d[self.pos] in (0x0D, 0x0A, 0):
                    out += d[start : self.pos]
                    start = self.pos
                    self.pos -= 1
            self.pos += 1
        return -1

    def parse_domain(self, out: bytearray) -> int:
        """RFC 5322 §3.4.1 domain, starting at the "@"."""
        self.pos += 1
        if self.skip_lwsp() <= 0:
            return -1
        if self.data[self.pos] == 0x5B:
            return self._parse_domain_literal(out)
        return self.parse_dot_atom(out)

    def parse_content_type(self, out: bytearray) -> int:
        """RFC 2045 §5.1 `type "/" subtype`; on garbage after the subtype nothing is kept."""
        mark = len(out)
        if self.skip_lwsp() <= 0:
            return -1
        if self.parse_mime_token(out) <= 0 or len(out) == mark:
            return -1
        if self.data[self.pos] != 0x2F:
            del out[mark:]
            return -1
        self.pos += 1
        if self.skip_lwsp() <= 0:
            del out[mark:]
            return -1
        out.append(0x2F)
        sub = len(out)
        ret = self.parse_mime_token(out)
        if ret < 0 or len(out) == sub or (self.pos != self.end and self.data[self.pos] != 0x3B):
            del out[mark:]
            return -1
        return ret

    def parse_content_param(self) -> tuple[int, bytes, bytes]:
        """RFC 2045 §5.1 `";" attribute "=" value`: (ret, key, value); ret 0 at the end."""
        if self.pos >= self.end:
            return 0, b"", b""
        if self.data[self.pos] != 0x3B:
            return -1, b"", b""
        self.pos += 1
        if self.skip_lwsp() <= 0:
            return -1, b"", b""
        key = bytearray()
        if self.parse_mime_token(key) <= 0 or self.peek() != 0x3D:
            return -1, b"", b""
        self.pos += 1
        value = bytearray()
        ret = self.skip_lwsp()
        if ret <= 0:
            pass
        elif self.data[self.pos] == 0x22:
            ret = self.parse_quoted_string(value)
        elif self.data[self.pos] == 0x3D:
            # Broken senders write name==?utf-8?b?...?= unquoted: keep it up to white space or ";".
            d, end, p = self.data, self.end, self.pos
            while p < end and d[p] not in b"; \t\r\n":
                p += 1
            value += d[self.pos : p]
            self.pos = p
        else:
            ret = self.parse_mime_token(value)
        return (-1 if ret < 0 else 1), bytes(key), bytes(value)
