"""The search text of a message, made once at delivery: what the webmail's search looks in.

The text of every text/* part (transfer encoding and charset decoded, HTML reduced to its words),
then `MARK`, then the header: the names and addresses of From, To and Cc, the subject, and the
other fields' values decoded (IMAP SEARCH TEXT covers every header field, RFC 3501 §6.4.4; trace and
signature fields, which nobody searches, are left out). Everything is folded with `hopthu.text.fold`
so that `nguyen van minh` finds `Nguyễn Văn Minh` and `cong van` finds `Công văn`; white space runs
become one space. SEARCH BODY looks only before `MARK`: a word first found after it is in the header
alone. The text is cut at `LIMIT` characters (256 Ki, the header part at most `HEADER_LIMIT`): enough
for any letter a person writes, while a 20 MB text attachment cannot bloat the index; a word past the
cut is not found.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from ..text import fold_words
from .decode import lenient_body
from .envelope import Envelope, address_text, display_name, octets
from .headers import decode_words, to_text
from .structure import Node

LIMIT = 256 * 1024
HEADER_LIMIT = 64 * 1024
PREVIEW = 200
MARK = "\x1f"  # between the body's words and the header's (never in folded text: it is white space)
# Fields whose words are in the text already (`_people`, the subject) or are no one's words.
_UNSEARCHED = frozenset(
    {b"subject", b"from", b"to", b"cc", b"received", b"dkim-signature", b"arc-seal", b"arc-message-signature",
     b"arc-authentication-results", b"authentication-results", b"received-spf", b"domainkey-signature",
     b"x-google-dkim-signature", b"content-type", b"content-transfer-encoding", b"mime-version"}
)  # fmt: skip

_HIDDEN = re.compile(r"(?i)<(script|style|head|title)\b|<!--")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_TAG = re.compile(r"<[^<>]*>")  # stops at the next "<": linear even on "a < b < c"


def _charset(node: Node) -> str | None:
    params: Iterable[tuple[str, str]] = node.get("params") or ()
    for key, value in params:
        if key.lower() == "charset":
            return value
    return None


def text_parts(structure: Node) -> list[Node]:
    """The text/* leaves of a message, in order, nested messages included."""
    found: list[Node] = []
    stack = [structure]
    while stack:
        node = stack.pop()
        children = node.get("parts")
        if children:
            stack.extend(reversed(children))
        elif node["kind"] == "leaf" and node.get("type", "text").lower() == "text":
            found.append(node)
    return found


def part_text(data: bytes, node: Node, limit: int = LIMIT) -> str:
    """A text part as plain words: decoded, HTML tags and entities removed."""
    raw = lenient_body(data, node, limit)
    text = to_text(raw, _charset(node))
    if node.get("subtype", "plain").lower() in ("html", "xhtml+xml"):
        text = html.unescape(_TAG.sub(" ", drop_hidden(text)))
    return text


def drop_hidden(text: str) -> str:
    """HTML without scripts, styles, head and comments (whose words are not the letter's).

    One pass with `str.find` for each closer: linear on hostile HTML such as `<script ` repeated, which
    a lazy `<script.*?</script>` regex scans to the end once per opener (quadratic, minutes on 256 KB).
    """
    lower = text.translate(_ASCII_LOWER)  # the same length as `text`, unlike str.lower() on "İ"
    kept: list[str] = []
    pos = 0
    while (found := _HIDDEN.search(lower, pos)) is not None:
        kept.append(text[pos : found.start()])
        closer = "-->" if found.group(1) is None else "</" + found.group(1)
        end = lower.find(closer, found.end())
        if end < 0:
            return " ".join(kept)
        pos = end + len(closer)
        if found.group(1) is not None:
            pos = lower.find(">", pos) + 1 or len(text)
    kept.append(text[pos:])
    return " ".join(kept)


def _people(env: Envelope) -> list[str]:
    words: list[str] = []
    for field in ("from", "to", "cc"):
        for addr in env.get(field) or ():
            for value in (display_name(addr), address_text(addr)):
                if value:
                    words.append(value)
            if addr[2] is not None and addr[3] is None:  # a group's name: SEARCH TO finds it
                words.append(to_text(octets(addr[2])))
    return words


def build(
    data: bytes, structure: Node, env: Envelope, subject: str, headers: Iterable[tuple[bytes, bytes]] = ()
) -> tuple[str, str]:
    """(search text, preview): the folded search text and the first words of the body; `headers`
    are the message's fields as (lower-case name, raw value)."""
    named = [decode_words(value) for name, value in headers if name not in _UNSEARCHED]
    head = fold_words(" ".join([*_people(env), subject, *named]))[:HEADER_LIMIT]
    pieces = []
    budget = LIMIT - len(head) - 3
    preview = ""
    for node in text_parts(structure):
        if budget <= 0:
            break
        text = part_text(data, node, budget)
        if not preview:
            preview = " ".join(text[: PREVIEW * 4].split())[:PREVIEW]
        pieces.append(text)
        budget -= len(text)
    body = fold_words(" ".join(pieces))[: max(0, LIMIT - len(head) - 3)]
    return f"{body} {MARK} {head}", preview
