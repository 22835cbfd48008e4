"""The MIME scanner and the parse done once at delivery (`mail.mime`, `mail.message.parse`), then
what IMAP renders from the stored result (BODYSTRUCTURE, ENVELOPE, BODY[n] ranges, BINARY).

`parse` is documented never to raise; `DecodeError` is the documented answer of BINARY to a part it
cannot decode. The structure's offsets must stay inside the message and the parse must survive the
JSON round trip it makes through the store.
"""

from __future__ import annotations

import json
from typing import Any

from fuzz import seeds
from fuzz.engine import Target
from hopthu.mail import (
    DecodeError,
    ParsedMessage,
    binary,
    binary_size,
    bodystructure_imap,
    canonical,
    envelope_imap,
    parse,
    section_range,
)

TOKENS = (
    b"\r\n--", b"--\r\n", b"\r\n\r\n", b"boundary=", b"Content-Type: multipart/mixed; boundary=b\r\n",
    b"\r\n--b\r\n", b"\r\n--b--\r\n", b"Content-Type: message/rfc822\r\n\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n", b"charset=", b"*0*=", b"''", b"%", b"=\r\n", b"=?",
    b"; name=\"", b"\r\n ", b"\t",
)  # fmt: skip


MAX_SECTIONS = 12  # as many as a client fetches of one message; enough to reach every code path


def _sections(node: dict[str, Any], prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    children = node.get("parts") or []
    if node.get("kind") == "message" and children:
        return (
            _sections(children[0], prefix or "1")
            if not prefix
            else [(prefix, node), *_sections(children[0], prefix)]
        )
    if node.get("kind") == "multipart":
        for number, child in enumerate(children, 1):
            name = f"{prefix}.{number}" if prefix else str(number)
            found.append((name, child))
            found += _sections(child, name)
    return found[:MAX_SECTIONS]


def _check_offsets(node: dict[str, Any], size: int, depth: int = 0) -> None:
    start, body, end = node["start"], node["body_start"], node["end"]
    assert 0 <= start <= body <= end <= size, (
        f"part offsets out of the message: {start} {body} {end} / {size}"
    )
    for child in node.get("parts") or []:
        _check_offsets(child, size, depth + 1)


def run(raw: bytes) -> None:
    data = canonical(raw)
    parsed = parse(data)
    _check_offsets(parsed.structure, len(data))
    again = ParsedMessage.from_json(json.loads(json.dumps(parsed.to_json())))
    assert again.structure == parsed.structure, "the stored structure does not read back"
    bodystructure_imap(parsed.structure)
    bodystructure_imap(parsed.structure, extensible=False)
    envelope_imap(parsed.envelope)
    for name, _node in [("", parsed.structure), *_sections(parsed.structure)]:
        for text in ("", ".HEADER", ".TEXT", ".MIME"):
            found = section_range(parsed.structure, name + text if name else text.lstrip("."))
            if found is not None:
                assert 0 <= found[0] <= found[1] <= len(data), f"section {name}{text} out of the message"
        try:
            binary(data, parsed.structure, name)
            binary_size(data, parsed.structure, name)
        except DecodeError:
            pass


def target() -> Target:
    return Target("mime_scanner", run, seeds.messages(), TOKENS, (), max_len=256 * 1024)
