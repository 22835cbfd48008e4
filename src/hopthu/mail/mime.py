"""The MIME scanner: one pass over the message bytes giving every part's offsets and headers.

Why our own scanner: the standard library's `email` package keeps no offsets (so `BODY[1.2]`
could not be a slice of the stored bytes) and costs far more than a byte scan. This one moves
with `bytes.find` from one candidate boundary line (`\\n--`) to the next, so a 20 MB base64
attachment is crossed in C, not line by line in Python; only header lines are walked in Python.

Broken MIME is everywhere (missing or reused boundaries, boundaries inside headers, no blank line
after the header, endless nesting), and every IMAP client has been tested against Dovecot. So
the splitting rules are Dovecot's (lib-mail `message-parser.c`, 2.3): a boundary line only has to
start with `--boundary`, the newest enclosing boundary wins a tie, a boundary seen inside a header
ends that header, a part without Content-Type is text/plain (message/rfc822 inside
multipart/digest, RFC 2046 §5.1.5), MIME nesting stops at 100 levels and 10 000 parts.
Sizes are kept the way Dovecot keeps them, so BODYSTRUCTURE sizes and BODY[section] slices agree.
"""

from __future__ import annotations

from .params import parse_params
from .rfc822 import Rfc822

MULTIPART = 0x01
MESSAGE = 0x02  # message/rfc822 whose body is parsed as a message
TEXT = 0x04
DIGEST = 0x08
IS_MIME = 0x10

MAX_NESTED = 100
MAX_PARTS = 10000
BOUNDARY_MAX = 80  # RFC 2046 §5.1.1 allows 70; longer ones are compared on their first 80 octets
_HEADER, _BODY, _EOF = 0, 1, 2


class Part:
    """One MIME part: `data[start:header_end]` is its header, `data[header_end:end]` its body."""

    __slots__ = ("body_size", "children", "flags", "header_size", "headers", "parent", "start")

    def __init__(self, start: int, parent: Part | None, flags: int = 0) -> None:
        self.start = start
        self.parent = parent
        self.flags = flags
        self.header_size = 0
        self.body_size = 0
        self.children: list[Part] = []
        # (lower-cased name, value) per header; a folded value keeps LF between its lines.
        self.headers: list[tuple[bytes, bytes]] = []

    @property
    def header_end(self) -> int:
        return self.start + self.header_size

    @property
    def end(self) -> int:
        return self.start + self.header_size + self.body_size


class _Boundary:
    __slots__ = ("epilogue", "part", "text")

    def __init__(self, part: Part, text: bytes) -> None:
        self.part = part
        self.text = text
        self.epilogue = False


def scan(data: bytes) -> Part:
    """Split canonical message bytes into a tree of parts (the root is the whole message)."""
    return _Scanner(data).run()


class _Scanner:
    def __init__(self, data: bytes) -> None:
        self.d = data
        self.n = len(data)
        self.boundaries: list[_Boundary] = []  # innermost last
        self.depth = 0
        self.total = 0
        self.root = Part(0, None)
        self.part = self.root

    def run(self) -> Part:
        state, pos = _HEADER, 0
        while state != _EOF:
            state, pos = self._header(pos) if state == _HEADER else self._body(pos)
        while self.part.parent is not None:
            self._finish()
        return self.root

    def _append(self, flags: int = 0) -> Part:
        parent = self.part
        child = Part(parent.start + parent.header_size + parent.body_size, parent, flags)
        parent.children.append(child)
        self.depth += 1
        self.total += 1
        self.part = child
        return child

    def _finish(self) -> None:
        part = self.part
        assert part.parent is not None
        part.parent.body_size += part.header_size + part.body_size
        self.depth -= 1
        self.part = part.parent

    def _boundary_at(self, line: int) -> _Boundary | None:
        """The boundary that the line at `line` opens or closes, if any (RFC 2046 §5.1.1).

        Only the start of the line has to match; when several enclosing boundaries match, the
        longest wins, then the innermost.
        """
        d = self.d
        if d[line : line + 2] != b"--" or self.total >= MAX_PARTS:
            return None
        s = line + 2
        best = None
        for boundary in reversed(self.boundaries):
            if d.startswith(boundary.text, s) and (best is None or len(best.text) < len(boundary.text)):
                best = boundary
        if best is not None:
            length = len(best.text)
            best.epilogue = d[s + length : s + length + 2] == b"--"
        return best

    def _header(self, pos: int) -> tuple[int, int]:
        """Read the current part's header from `pos`; decide how its body is read."""
        d, n, part = self.d, self.n, self.part
        begin = pos
        headers = part.headers
        boundary_text: bytes | None = None
        seen_content_type = multipart = continued = ended = False
        prev_newline = 0
        name = b""
        value: list[bytes] = []
        cut = 0
        while pos < n:
            c = d[pos]
            if (
                boundary_text is not None
                and part.flags & IS_MIME
                and (c == 0x0A or (c == 0x0D and pos + 1 < n and d[pos + 1] == 0x0A))
            ):
                # At the blank line: own the boundary now, so a `--boundary` that is a prefix of
                # an outer one is credited to this part.
                if self.depth + 1 < MAX_NESTED:
                    self.boundaries.append(_Boundary(part, boundary_text))
                    multipart = True
                else:
                    part.flags &= ~MULTIPART
                boundary_text = None
            if c == 0x2D and self.boundaries:
                found = self._boundary_at(pos)
                if found is not None and found.part is not part:
                    # A boundary inside the header, or right after it, ends it; the line break
                    # before the boundary line belongs to the boundary (RFC 2046 §5.1.1), hence
                    # to the parent's body, even when it is the header's blank line.
                    cut = prev_newline
                    break
            if ended:
                break
            lf = d.find(b"\n", pos)
            if lf < 0:
                content_end = nxt = n
                newline = 0
            else:
                nxt = lf + 1
                if lf > pos and d[lf - 1] == 0x0D:
                    content_end, newline = lf - 1, 2
                else:
                    content_end, newline = lf, 1
            if content_end == pos and not continued and newline:
                ended = True  # RFC 5322 §2.1: the empty line ends the header
                prev_newline = newline
                pos = nxt
                continue
            if continued:
                value.append(d[pos:content_end])  # RFC 5322 §2.2.3 unfolding, LF kept
            else:
                colon = d.find(b":", pos, content_end)
                if colon < 0:
                    name, value = d[pos:content_end], [b""]
                else:
                    stop = colon
                    while stop > pos and d[stop - 1] in (0x20, 0x09):
                        stop -= 1
                    name = d[pos:stop]
                    v = colon + 1
                    w = v
                    while w < content_end and d[w] in (0x20, 0x09):
                        w += 1
                    if w == content_end and w > v:
                        w = v + 1
                    value = [d[w:content_end]]
                name = name.lower()
                if name == b"mime-version" or name == b"content-type":
                    part.flags |= IS_MIME
            continued = newline > 0 and nxt < n and d[nxt] in (0x20, 0x09)
            if not continued:
                full = value[0] if len(value) == 1 else b"\n".join(value)
                headers.append((name, full))
                if name == b"content-type" and not seen_content_type:
                    seen_content_type = True
                    boundary_text = self._content_type(part, full)
            prev_newline = newline
            pos = nxt
        part.header_size = pos - begin - cut
        if cut:
            assert part.parent is not None
            part.parent.body_size += cut
        return self._after_header(part, seen_content_type, multipart, pos)

    def _after_header(
        self, part: Part, seen_content_type: bool, multipart: bool, pos: int
    ) -> tuple[int, int]:
        if not part.flags & IS_MIME:
            part.flags = 0  # RFC 2045 §4: without MIME-Version the Content-* fields mean nothing
        if not seen_content_type or not part.flags & IS_MIME:
            # RFC 2045 §5.2 default text/plain; RFC 2046 §5.1.5 digest default message/rfc822
            parent = part.parent
            part.flags |= MESSAGE if parent is not None and parent.flags & DIGEST else TEXT
        if multipart:
            return _BODY, pos
        if part.flags & MESSAGE and self.depth + 1 < MAX_NESTED and self.total < MAX_PARTS:
            self._append()
            return _HEADER, pos
        part.flags &= ~MESSAGE
        return _BODY, pos

    def _content_type(self, part: Part, value: bytes) -> bytes | None:
        """Flags from the first Content-Type (RFC 2045 §5.1); its boundary when multipart."""
        parser = Rfc822(value)
        parser.skip_lwsp()
        raw = bytearray()
        ret = parser.parse_content_type(raw)
        kind = bytes(raw).lower()
        if kind == b"message/rfc822":
            part.flags |= MESSAGE
        elif kind[:4] == b"text" and (len(kind) == 4 or kind[4] == 0x2F):
            part.flags |= TEXT
        elif kind.startswith(b"multipart/"):
            part.flags |= MULTIPART
            if kind == b"multipart/digest":
                part.flags |= DIGEST
        if ret < 0 or not part.flags & MULTIPART:
            return None
        for key, val in parse_params(parser)[0]:
            if key.lower() == b"boundary":
                return val[:BOUNDARY_MAX]
        return None

    def _body(self, pos: int) -> tuple[int, int]:
        """Read a body from a line start up to the next boundary line of any enclosing multipart."""
        d, n, part = self.d, self.n, self.part
        if not self.boundaries:
            part.body_size += n - pos
            return _EOF, n
        found = self._boundary_at(pos)
        if found is not None:
            return self._part_finish(found, pos, pos)
        p = pos
        while True:
            i = d.find(b"\n--", p)
            if i < 0:
                part.body_size += n - pos
                return _EOF, n
            found = self._boundary_at(i + 1)
            if found is not None:
                body_end = i - 1 if i > pos and d[i - 1] == 0x0D else i
                part.body_size += body_end - pos
                return self._part_finish(found, i + 1, body_end)
            p = i + 1

    def _part_finish(self, boundary: _Boundary, line: int, body_end: int) -> tuple[int, int]:
        """Close the parts inside `boundary`'s multipart; step over the boundary line."""
        while self.part is not boundary.part:
            self._finish()
        index = self.boundaries.index(boundary)
        del self.boundaries[index if boundary.epilogue else index + 1 :]
        part = self.part
        line_end = line + 2 + len(boundary.text) + (2 if boundary.epilogue else 0)
        lf = self.d.find(b"\n", line_end)
        if lf < 0:
            part.body_size += self.n - body_end
            return _EOF, self.n
        part.body_size += lf + 1 - body_end
        if not self.boundaries or self.boundaries[-1].part is not part:
            return _BODY, lf + 1  # after the closing boundary: the epilogue
        self._append(IS_MIME)
        return _HEADER, lf + 1
