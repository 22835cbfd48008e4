"""The golden corpus through the real protocol: every message APPENDed over IMAP, then FETCHed, must
give the answers Dovecot gives (RFC822.SIZE, BODYSTRUCTURE, BODY, ENVELOPE, every BODY[section])
and the same SEARCH matches. The unit tests check the renderers; this checks the server uses them
on the stored columns, with our delivery headers kept out of the way."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest

from tests.imap.conftest import RunningServer
from tests.imap.rawclient import tagged
from tests.mail.corpus import CORPUS, SUFFIX, load, wire


def _names() -> list[str]:
    return sorted(p.name[: -len(SUFFIX)] for p in CORPUS.glob("*" + SUFFIX)) if CORPUS.is_dir() else []


def _value(answer: bytes, item: bytes) -> bytes:
    """The value of one FETCH item in `* n FETCH (UID u ITEM value)`."""
    first = answer.split(b"\r\n* ")[0] if not answer.startswith(b"* ") else answer
    start = first.index(b" " + item + b" ") + len(item) + 2
    end = first.rindex(b")\r\n")
    return first[start:end]


def _literal(value: bytes) -> bytes:
    found = re.match(rb"\{(\d+)\}\r\n", value)
    if found is None:
        return b"" if value == b'""' else value
    return value[found.end() : found.end() + int(found[1])]


def _digest(octets: bytes) -> dict[str, Any]:
    return {"len": len(octets), "sha256": hashlib.sha256(octets).hexdigest()}


def test_corpus_over_imap(imapserver: RunningServer, shared) -> None:
    names = _names()
    client = imapserver.raw()
    uids: dict[str, int] = {}
    for name in names:
        data = (CORPUS / f"{name}.eml").read_bytes()
        client.send(b"a APPEND INBOX {%d+}\r\n" % len(data) + data + b"\r\n")
        answer = tagged(client.until("a"))
        uids[name] = int(re.search(rb"APPENDUID \d+ (\d+)", answer)[1])
    assert b"OK" in tagged(client.command("SELECT INBOX"))
    wrong: list[str] = []
    for name in names:
        golden, _data, _parsed = load(name)
        uid = uids[name]
        for item, key in (
            (b"RFC822.SIZE", "rfc822_size"),
            (b"BODYSTRUCTURE", "bodystructure"),
            (b"BODY", "body"),
            (b"ENVELOPE", "envelope"),
        ):
            got = wire(_value(client.command(b"UID FETCH %d %s" % (uid, item)), item))
            if got != golden[key]:
                wrong.append(f"{name} {item.decode()}: {got[:80]} != {golden[key][:80]}")
        sections = {"HEADER": golden["header"], "TEXT": golden["text"], "": golden["full"]}
        for number, part in golden["parts"].items():
            if "body" in part:
                sections[number] = part["body"]
            if "mime" in part:
                sections[f"{number}.MIME"] = part["mime"]
        for section, recorded in sections.items():
            item = f"BODY[{section}]".encode()
            answer = client.command(f"UID FETCH {uid} BODY.PEEK[{section}]")
            got = _digest(_literal(_value(answer, item)))
            if got != {"len": recorded["len"], "sha256": recorded["sha256"]}:
                wrong.append(f"{name} BODY[{section}]: {got['len']} octets, Dovecot {recorded['len']}")
    client.close()
    assert not wrong, "\n".join(wrong[:30])


@pytest.mark.parametrize("key", ["subject", "from", "larger_1000"])
def test_corpus_search_over_imap(imapserver: RunningServer, shared, key: str) -> None:
    """SEARCH answers as Dovecot's for the recorded terms (our TEXT folds diacritics too).

    Two differences are kept on purpose. With two Subject fields, SUBJECT searches the subject the
    message is listed with (its ENVELOPE's), from the indexed column. TEXT and BODY search the
    words a person sees (subject, names and addresses, the text of the body parts, HTML reduced to
    its words) from the index built at delivery, as Dovecot does with a full-text index; Dovecot
    without one scans raw bytes and so also finds markup ("DOCTYPE") and field names ("Subject").
    TEXT is tested in test_search.py.
    """
    names = _names()
    client = imapserver.raw()
    wrong = []
    for name in names:
        golden, data, parsed = load(name)
        case = golden["search"].get(key)
        if not case or case.get("status") != "OK":
            continue
        if key == "subject" and len(re.findall(rb"(?mi)^subject:", data[: parsed.header_end])) > 1:
            continue  # two Subject fields: Dovecot searches both, we the one ENVELOPE shows
        box = f"g{abs(hash(name)) % 10**8}"
        client.command(f"CREATE {box}")
        client.send(b"a APPEND %s {%d+}\r\n" % (box.encode(), len(data)) + data + b"\r\n")
        client.until("a")
        client.command(f"SELECT {box}")
        term = case["term"]
        query = f"LARGER {term}" if key == "larger_1000" else f'{key.upper()} "{term}"'
        answer = client.command(f"SEARCH {query}")
        matched = b"* SEARCH 1" in answer
        if matched != case["match"]:
            wrong.append(f"{name}: SEARCH {query} matched={matched}, Dovecot {case['match']}")
    client.close()
    assert not wrong, "\n".join(wrong)
