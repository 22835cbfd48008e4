"""Properties of the parser on any input: it never raises, and every section lies in the message."""

from __future__ import annotations

import contextlib
import json
import unicodedata
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hopthu.mail import (
    DecodeError,
    ParsedMessage,
    binary,
    bodystructure_imap,
    canonical,
    envelope_imap,
    parse,
    section_range,
)
from hopthu.text import fold, fold_words

from .corpus import CORPUS, SUFFIX

_SEEDS = sorted(CORPUS.glob("*.eml"))[::3] if CORPUS.is_dir() else []
_MIME_BITS = st.sampled_from(
    [
        b"\r\n",
        b"\n",
        b"\r",
        b"--",
        b"--b",
        b"--b--",
        b"\r\n--b\r\n",
        b":",
        b" ",
        b"\t",
        b"\0",
        b"=",
        b"=?utf-8?b?",
        b"?=",
        b'"',
        b"(",
        b")",
        b"<",
        b">",
        b"@",
        b",",
        b";",
        b"\\",
        b"\xc3\xa2",
        b"Content-Type: multipart/mixed; boundary=b\r\n",
        b'Content-Type: multipart/digest; boundary="b"\r\n',
        b"Content-Type: message/rfc822\r\n",
        b"Content-Transfer-Encoding: base64\r\n",
        b"Content-Transfer-Encoding: quoted-printable\r\n",
        b"MIME-Version: 1.0\r\n",
        b"From: =?UTF-8?B?Tmd1eeG7hW4=?= <a@b>, undisclosed:;\r\n",
        b"Content-Disposition: attachment; filename*0*=utf-8''%C3%A2; filename*1=x\r\n",
    ]
)
_MESSAGES = st.lists(st.one_of(_MIME_BITS, st.binary(max_size=12)), max_size=40).map(b"".join)


def _numbers(node: dict[str, Any], prefix: str) -> list[str]:
    """Every part number IMAP can name in this structure."""
    found = []
    if node["kind"] == "multipart":
        for i, child in enumerate(node.get("parts") or (), 1):
            number = f"{prefix}{i}"
            found.append(number)
            found += _inside(child, number)
    else:
        found.append(prefix + "1")
        found += _inside(node, prefix + "1")
    return found


def _inside(node: dict[str, Any], number: str) -> list[str]:
    if node["kind"] == "multipart":
        return _numbers(node, number + ".")
    if node["kind"] == "message":
        return _numbers(node["parts"][0], number + ".")
    return []


def _check(data: bytes) -> None:
    data = canonical(data)
    parsed = parse(data)
    root = parsed.structure
    assert (root["start"], root["end"]) == (0, len(data)) and parsed.size == len(data)
    assert 0 <= parsed.header_end <= len(data)
    bodystructure_imap(root)
    bodystructure_imap(root, extensible=False)
    envelope_imap(parsed.envelope)
    sections = ["", "HEADER", "TEXT"]
    for number in _numbers(root, ""):
        sections += [number, number + ".MIME", number + ".HEADER", number + ".TEXT"]
    for section in sections:
        span = section_range(root, section)
        if span is not None:
            assert 0 <= span[0] <= span[1] <= len(data), section
    with contextlib.suppress(DecodeError):
        binary(data, root)
    stored = json.loads(json.dumps(parsed.to_json()))
    assert ParsedMessage.from_json(stored) == parsed


def _nested(node: dict[str, Any]) -> None:
    for child in node.get("parts") or ():
        assert node["body_start"] <= child["start"] <= child["body_start"] <= child["end"] <= node["end"]
        _nested(child)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_MESSAGES)
def test_any_bytes_parse(data: bytes) -> None:
    _check(data)
    _nested(parse(canonical(data)).structure)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(_SEEDS or [None]),
    st.lists(st.tuples(st.floats(0, 1), st.integers(0, 40), _MESSAGES), min_size=1, max_size=6),
)
def test_mutated_corpus_messages_parse(seed: Any, edits: list[tuple[float, int, bytes]]) -> None:
    """Corpus messages with slices cut out and MIME-ish bytes put in (skipped without corpus)."""
    if seed is None:
        return
    data = bytearray(seed.read_bytes())
    for where, cut, insert in edits:
        at = int(where * len(data))
        data[at : at + cut] = insert
    _check(bytes(data))


def test_corpus_seeds_are_messages() -> None:
    for path in _SEEDS:
        assert path.with_name(path.name[:-4] + SUFFIX).exists()


def _folded_by_definition(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.translate(str.maketrans("đĐðÐ", "dddd")))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", bare).lower()


@given(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=60)
    | st.lists(
        st.sampled_from(
            [
                "Nguyễn",
                "Văn",
                "Đỗ",
                "ĐẶNG",
                " ",
                "\t",
                "\u0301",
                "\u00a0",
                "\u1100\u1161",
                "Å",
                "ǅ",
                "ﬃ",
                "İ",
                "x",
            ]
        )
    ).map("".join)
)
def test_fold_is_its_definition(text: str) -> None:
    """`fold`'s learnt table of characters gives what its definition gives on the whole text:
    NFC of NFD without combining marks, lower case, đ as d (search and addresses rely on both
    sides of a comparison folding alike)."""
    assert fold(text) == _folded_by_definition(text)
    assert fold_words(text) == " ".join(fold(text).split())


@given(st.text(max_size=40))
def test_fold_any_text(text: str) -> None:
    """The same over any Unicode text, not only Vietnamese letters and their marks."""
    assert fold(text) == _folded_by_definition(text)
    assert fold_words(text) == " ".join(fold(text).split())


def test_fold_table_is_bounded() -> None:
    """Text holding every character of the first two planes leaves the learnt table at its bound."""
    from hopthu.text import _REMEMBERED, _UNMARKED, _UNMARKED_SPACED

    everything = "".join(map(chr, range(0x20000)))
    assert fold(everything) == _folded_by_definition(everything)
    assert fold_words(everything) == " ".join(fold(everything).split())
    assert len(_UNMARKED) <= _REMEMBERED and len(_UNMARKED_SPACED) <= _REMEMBERED
