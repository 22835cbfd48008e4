"""The body structure kept beside each message: what BODYSTRUCTURE and BODY[section] need.

One JSON object per part (RFC 3501 §7.4.2 body fields), keys left out when empty:

    {"kind": "multipart" | "message" | "leaf",
     "start": int, "body_start": int, "end": int,   # data[start:body_start] header, then body
     "type": str, "subtype": str,                   # as written; absent without Content-Type
     "params": [[name, value], ...],                # RFC 2231 continuations joined, not decoded
     "id": str, "description": str, "encoding": str, "md5": str, "location": str,
     "disposition": [name, [[name, value], ...] | None],
     "language": [str, ...],
     "lines": int,                                  # text/* and message/rfc822 only
     "cte": "base64" | "qp" | "unknown",            # how BINARY decodes it; absent: as is
     "envelope": {...},                             # message/rfc822: the enclosed header
     "parts": [part, ...]}                          # multipart children, or the enclosed message

The body size (RFC 3501 body-fld-octets) is `end - body_start`: the stored bytes are canonical, so
it is the size clients see. Strings are raw octets one character per octet (see `envelope`).
Field values follow Dovecot's reading of broken headers (lib-mail `message-part-data.c`): the first
Content-Type, -ID, -Description... wins (a Content-Disposition without parameters may be replaced
by a later one); without MIME-Version or Content-Type all Content-* fields are ignored (RFC 2045
§4). `find_part` maps IMAP part numbers to nodes.
"""

from __future__ import annotations

from typing import Any

from . import mime
from .envelope import build_envelope, header_string, raw
from .params import Params, parse_params
from .rfc822 import Rfc822

Node = dict[str, Any]


def _params(params: Params) -> list[list[str]]:
    return [[raw(k), raw(v)] for k, v in params]


class _Fields:
    __slots__ = (
        "description",
        "disposition",
        "disposition_params",
        "encoding",
        "id",
        "language",
        "location",
        "md5",
        "params",
        "subtype",
        "type",
    )

    def __init__(self) -> None:
        self.type: bytes | None = None
        self.subtype: bytes | None = None
        self.params: Params = []
        self.id: bytes | None = None
        self.description: bytes | None = None
        self.encoding: bytes | None = None
        self.md5: bytes | None = None
        self.disposition: bytes | None = None
        self.disposition_params: Params | None = None
        self.language: list[bytes] | None = None
        self.location: bytes | None = None

    def read(self, name: bytes, value: bytes) -> None:
        """One Content-* header (RFC 2045 §5-§6, RFC 2183, RFC 3282, RFC 2557 §4, RFC 1864)."""
        field = name[8:]
        if field == b"type" and self.type is None:
            parser = Rfc822(value)
            parser.skip_lwsp()
            kind = bytearray()
            ret = parser.parse_content_type(kind)
            slash = kind.find(b"/")
            self.type = bytes(kind if slash < 0 else kind[:slash])
            self.subtype = b"" if slash < 0 else bytes(kind[slash + 1 :])
            if ret >= 0:
                self.params = parse_params(parser)[0]
        elif field == b"transfer-encoding" and self.encoding is None:
            parser = Rfc822(value)
            parser.skip_lwsp()
            token = bytearray()
            if parser.parse_mime_token(token) >= 0 and parser.skip_lwsp() == 0 and token:
                self.encoding = bytes(token)
        elif field == b"disposition" and not self.disposition_params:
            parser = Rfc822(value)
            parser.skip_lwsp()
            token = bytearray()
            if parser.parse_mime_token(token) >= 0:
                self.disposition = bytes(token)
                self.disposition_params = parse_params(parser)[0]
        elif field == b"id" and self.id is None:
            self.id = header_string(value)
        elif field == b"md5" and self.md5 is None:
            self.md5 = header_string(value)
        elif field == b"description" and self.description is None:
            self.description = header_string(value)
        elif field == b"location" and self.location is None:
            self.location = header_string(value)
        elif field == b"language" and self.language is None:
            self.language = _languages(value)


def _languages(value: bytes) -> list[bytes] | None:
    # RFC 3282 §2: Content-Language = 1#Language-tag
    parser = Rfc822(value)
    parser.skip_lwsp()
    tags: list[bytes] = []
    tag = bytearray()
    while parser.parse_atom(tag) >= 0:
        tags.append(bytes(tag))
        del tag[:]
        if parser.pos >= parser.end or parser.data[parser.pos] != 0x2C:
            break
        parser.pos += 1
        parser.skip_lwsp()
    return tags or None


def _transfer_decoding(headers: list[tuple[bytes, bytes]]) -> str | None:
    """How BINARY (RFC 3516) decodes the part: the last Content-Transfer-Encoding decides."""
    value = None
    for name, val in headers:
        if name == b"content-transfer-encoding":
            value = val
    if value is None:
        return None
    if b"\n" in value:  # a folded value is read line by line by Dovecot, and is unknown
        return "unknown"
    parser = Rfc822(value)
    parser.skip_lwsp()
    token = bytearray()
    parser.parse_mime_token(token)
    kind = bytes(token).lower()
    if kind in (b"7bit", b"8bit", b"binary"):
        return None
    if kind == b"base64":
        return "base64"
    if kind == b"quoted-printable":
        return "qp"
    return "unknown"


def build_structure(data: bytes, part: mime.Part) -> Node:
    """The JSON node of `part` and everything inside it."""
    fields = _Fields()
    if part.flags & mime.IS_MIME:
        for name, value in part.headers:
            if name.startswith(b"content-"):
                fields.read(name, value)
    node: Node = {
        "kind": "multipart"
        if part.flags & mime.MULTIPART
        else "message"
        if part.flags & mime.MESSAGE
        else "leaf",
        "start": part.start,
        "body_start": part.header_end,
        "end": part.end,
    }
    if fields.type is not None:
        node["type"] = raw(fields.type)
        node["subtype"] = raw(fields.subtype or b"")
    if fields.params:
        node["params"] = _params(fields.params)
    for key in ("id", "description", "encoding", "md5", "location"):
        value = getattr(fields, key)
        if value is not None:
            node[key] = raw(value)
    if fields.disposition is not None:
        node["disposition"] = [
            raw(fields.disposition),
            _params(fields.disposition_params) if fields.disposition_params else None,
        ]
    if fields.language:
        node["language"] = [raw(tag) for tag in fields.language]
    cte = _transfer_decoding(part.headers)
    if cte is not None:
        node["cte"] = cte
    if node["kind"] == "message" or (
        node["kind"] == "leaf" and (fields.type is None or fields.type.lower() == b"text")
    ):
        node["lines"] = data.count(b"\n", part.header_end, part.end)
    if part.flags & mime.MESSAGE:
        child = part.children[0]
        node["envelope"] = build_envelope(child.headers)
    if part.children:
        node["parts"] = [build_structure(data, child) for child in part.children]
    return node


def find_part(structure: Node, number: str) -> Node | None:
    """The part numbered `number` ("1", "2.1"...; RFC 3501 §6.4.5), or None when there is none.

    A non-multipart body is part 1 of its message; inside a message/rfc822 part the numbers go
    on with the enclosed message's parts.
    """
    node: Node | None = structure
    nums = number.split(".")
    for i, num in enumerate(nums):
        if node is None or not (num.isascii() and num.isdigit()) or int(num) == 0:
            return None
        n = int(num)
        if node["kind"] == "multipart":
            children = node.get("parts") or []
            node = children[n - 1] if 1 <= n <= len(children) else None
        elif n != 1 or (i + 1 < len(nums) and node["kind"] != "message"):
            return None
        if node is not None and node["kind"] == "message" and i + 1 < len(nums):
            node = node["parts"][0]
    return node
