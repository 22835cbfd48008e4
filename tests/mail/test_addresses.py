"""The strict address reader (RFC 5322 §3.4): tables of clean, ambiguous and invalid headers, the
author fields of a header block, and properties on any input (only `AddressError`, linear time,
round trip of generated lists)."""

from __future__ import annotations

import contextlib
import gc
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hopthu.mail import canonical
from hopthu.mail.addresses import (
    AddressError,
    Group,
    Mailbox,
    header_fields,
    mailboxes,
    mentioned_domains,
    read_address_list,
    read_author,
    read_mailbox,
    read_mailbox_list,
)
from hopthu.mail.headers import clean_text, decode_words
from hopthu.mail.params import decode_value

from .corpus import CORPUS

OURS = ("cantho.gov.vn", "soctrang.gov.vn", "haugiang.gov.vn")

CLEAN = [
    ("a@b.example", [("", "a@b.example")]),
    ("Nguyễn Văn Minh <nvminh@cantho.gov.vn>", [("Nguyễn Văn Minh", "nvminh@cantho.gov.vn")]),
    (
        '"Trần, Ánh" <ttnanh@cantho.gov.vn>, ban@example.org',
        [("Trần, Ánh", "ttnanh@cantho.gov.vn"), ("", "ban@example.org")],
    ),
    ("=?utf-8?b?VsSDbiBwaMOybmc=?= <vp@example.org>", [("Văn phòng", "vp@example.org")]),
    ("a@b.example (Ban tiep dan)", [("Ban tiep dan", "a@b.example")]),
    ("Pete(A wonderful \\) chap) <pete@silly.test>", [("Pete", "pete@silly.test")]),
    ('"a@b.example" <a@b.example>', [("a@b.example", "a@b.example")]),  # the name is the address
    ("J. Smith <j@x.example>", [("J. Smith", "j@x.example")]),  # §4.1 obs-phrase
    ("<@relay.example,@r2.example:a@b.example>", [("", "a@b.example")]),  # §4.4 obs-route
    ("a@b.example,, ,c@d.example", [("", "a@b.example"), ("", "c@d.example")]),  # §4.4 obs-addr-list
    ('j."q x".d@b.example', [("", 'j."q x".d@b.example')]),  # §4.4 obs-local-part
    ("a@[192.0.2.1]", [("", "a@[192.0.2.1]")]),
    ("Folded\r\n Name <a@b.example>", [("Folded Name", "a@b.example")]),
    ("", []),
]

AMBIGUOUS = [
    "me@cantho.gov.vn <giamdoc@cantho.gov.vn>",  # the bare address or the one in brackets?
    '"me@evil.example" <giamdoc@cantho.gov.vn>',
    "=?utf-8?q?giamdoc=40cantho.gov.vn?= <me@evil.example>",  # an encoded name that shows an address
    "me@evil.example (giamdoc@cantho.gov.vn)",  # an address hidden in a comment
    "Giam doc (giamdoc@cantho.gov.vn) <me@evil.example>",
]

INVALID = [
    "garbage",
    "Ban tiep dan",
    '"unbalanced <a@b.example>',
    "<a@b.example",
    "a@b.example>",
    "(a@b.example",
    "a@b.example)",
    "a @b.example",  # white space inside an addr-spec
    "a@ b.example",
    "a(x)@b.example",
    "a@",
    "@b.example",
    "<>",
    "a@b.example\rBcc: c@d.example",  # a bare CR
    "a@b.example\r\nBcc: c@d.example",  # a line break that is no fold
    "Name\x00 <a@b.example>",
    "a@[1.2.3.4",
    "<<a@b.example>>",
    "x: a@b.example",  # a group without its ";"
]


@pytest.mark.parametrize(("value", "expected"), CLEAN)
def test_clean_lists(value: str, expected: list[tuple[str, str]]) -> None:
    assert [(m.name, m.address) for m in mailboxes(read_address_list(value))] == expected


def test_groups() -> None:
    assert read_address_list("undisclosed-recipients:;") == [Group("undisclosed-recipients")]
    items = read_address_list('Nhom: a@b.example, "X" <c@d.example>;, e@f.example')
    assert items[0] == Group("Nhom", (Mailbox("", "a", "b.example"), Mailbox("X", "c", "d.example")))
    assert [m.address for m in mailboxes(items)] == ["a@b.example", "c@d.example", "e@f.example"]
    with pytest.raises(AddressError):
        read_mailbox_list("Nhom: a@b.example;")  # From: is a mailbox-list, no groups (§3.6.2)
    with pytest.raises(AddressError):
        read_address_list("A: B: a@b.example;;")  # no group in a group


@pytest.mark.parametrize("value", AMBIGUOUS)
def test_ambiguous_names_are_refused_with_every_domain_named(value: str) -> None:
    with pytest.raises(AddressError) as refused:
        read_mailbox_list(value)
    assert refused.value.ambiguous
    assert {"cantho.gov.vn"} <= set(refused.value.domains)


@pytest.mark.parametrize("value", INVALID)
def test_invalid_lists(value: str) -> None:
    with pytest.raises(AddressError):
        read_address_list(value)


def test_mailbox_means_exactly_one() -> None:
    assert read_mailbox("A <a@b.example>").address == "a@b.example"
    with pytest.raises(AddressError) as refused:
        read_mailbox("a@b.example, c@cantho.gov.vn")
    assert "cantho.gov.vn" in refused.value.domains


def test_too_long_is_refused_before_reading() -> None:
    with pytest.raises(AddressError, match="too long"):
        read_address_list("a@b.example, " * 10, limit=50)


def test_mentioned_domains_see_names_comments_and_encoded_words() -> None:
    assert mentioned_domains('"x@Cantho.gov.vn" (y@soctrang.gov.vn) =?utf-8?q?z=40haugiang.gov.vn?=') == (
        "cantho.gov.vn",
        "soctrang.gov.vn",
        "haugiang.gov.vn",
    )


# --- the author fields of a header block ---------------------------------------------------------------


def block(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\nbody From: x@cantho.gov.vn\r\n").encode()


def test_author_one_from() -> None:
    author = read_author(block("Subject: x", "From: Minh <nvminh@cantho.gov.vn>", "To: a@b.example"))
    assert author.sender.address == "nvminh@cantho.gov.vn" and author.sender_field is None


def test_author_several_from_need_a_sender() -> None:
    with pytest.raises(AddressError) as refused:
        read_author(block("From: a@b.example, giamdoc@cantho.gov.vn"))
    assert refused.value.ambiguous and "cantho.gov.vn" in refused.value.domains
    author = read_author(block("From: a@b.example, c@d.example", "Sender: a@b.example"))
    assert [m.address for m in author.authors] == ["a@b.example", "c@d.example"]
    assert author.sender.address == "a@b.example"


@pytest.mark.parametrize(
    "lines",
    [
        ("Subject: no author",),
        ("From: a@b.example", "From: giamdoc@cantho.gov.vn"),
        ("From: a@b.example", "Sender: a@b.example, c@cantho.gov.vn"),
        ("From: a@b.example", "Sender: a@b.example", "Sender: c@cantho.gov.vn"),
        ("From: a@b.example", 'Reply-To: "giamdoc@cantho.gov.vn" <x@b.example>'),
        ("From : a@b.example <giamdoc@cantho.gov.vn>",),  # white space before the colon (§4.5)
        ("fRoM: a@b.example,\r\n\tgiamdoc@cantho.gov.vn",),  # folded, any case
    ],
)
def test_author_refused(lines: tuple[str, ...]) -> None:
    with pytest.raises(AddressError) as refused:
        read_author(block(*lines))
    assert refused.value.ambiguous


def test_header_fields_stop_at_the_body() -> None:
    fields = header_fields(
        block("From: a@b.example", "X: y", " folded", "Reply-To: c@d.example"), [b"from", b"x"]
    )
    assert fields == {b"from": [b" a@b.example"], b"x": [b" y\n folded"]}


@pytest.mark.skipif(not CORPUS.is_dir(), reason="golden corpus not found")
def test_corpus_authors_that_are_refused_never_name_us() -> None:
    """Odd mail from outside may be refused by the strict reader; none of it claims our domains,
    so the MX still takes it (its refusal is only counted as forged when it names us)."""
    read = refused = 0
    for path in sorted(CORPUS.glob("*.eml")):
        data = canonical(path.read_bytes())
        try:
            read_author(data)
            read += 1
        except AddressError as error:
            refused += 1
            assert not any(d.endswith(OURS) for d in error.domains), (path.name, error.domains)
    assert read > 100 and refused < read


# --- decoded header text carries no control character --------------------------------------------------


def test_decoded_words_and_file_names_carry_no_line_break() -> None:
    assert decode_words(b"=?utf-8?q?B=C3=A1o_c=C3=A1o=0DBcc:_x@example.org?=") == "Báo cáo Bcc: x@example.org"
    assert decode_words(b"=?utf-8?b?YQ0KYgBjG2Q=?=") == "a  b\ufffdc\ufffdd"
    assert decode_value(b"filename*", b"utf-8''bao%0D%0Acao.pdf") == (b"filename", "bao  cao.pdf")
    assert decode_value(b"name", b"=?utf-8?q?ke=0D=0Ahoach.pdf?=") == (b"name", "ke  hoach.pdf")
    assert clean_text("x\u2028y\x85z\x7f") == "x y z\ufffd"


# --- properties -----------------------------------------------------------------------------------------

_PIECES = st.sampled_from(
    [
        "a",
        "b.example",
        "@",
        "<",
        ">",
        "(",
        ")",
        '"',
        "\\",
        ",",
        ";",
        ":",
        ".",
        " ",
        "\r\n ",
        "[",
        "]",
        "=?",
        "?=",
        "é",
    ]
)


@given(st.one_of(st.text(max_size=200), st.lists(_PIECES, max_size=60).map("".join)))
@settings(max_examples=400, deadline=None)
def test_never_raises_anything_else(value: str) -> None:
    for read in (read_address_list, read_mailbox_list, read_mailbox):
        with contextlib.suppress(AddressError):
            read(value)
    mentioned_domains(value)


@given(st.binary(max_size=300))
@settings(max_examples=200, deadline=None)
def test_author_never_raises_anything_else(header: bytes) -> None:
    with contextlib.suppress(AddressError):
        read_author(b"From: " + header + b"\r\n\r\n")


def _cost(value: str) -> float:
    """The least of three timings (CPU time of this process, which other processes on a loaded
    machine disturb far less than the clock) of reading `value` and naming its domains, with the
    garbage collector paused rather than run before each: a full collection in a test worker that
    has run hundreds of tests costs seconds, and the timings need only not be interrupted."""
    costs = []
    collecting = gc.isenabled()
    gc.disable()
    try:
        for _ in range(3):
            started = time.process_time()
            with contextlib.suppress(AddressError):
                read_address_list(value)
            mentioned_domains(value)
            costs.append(time.process_time() - started)
    finally:
        if collecting:
            gc.enable()
    return min(costs)


@pytest.mark.parametrize(
    "unit",
    ["<", "(", '"', "a@", "a.", " ", "a <", "=?", "[", "x:", "a@b.example,", "\\", '"a@b" <', "a(b@c)"],
)
def test_linear_on_adversarial_repetition(unit: str) -> None:
    """Eight times the input costs about eight times the time, not sixty-four (the old webmail
    regex took 8 s on 32 KB of spaces, four times as long on twice as much). A ratio of CPU times,
    so the machine's load does not decide."""
    small, large = unit * (1_500 // len(unit)), unit * (12_000 // len(unit))
    if unit == " ":
        small, large = f"a{small}b", f"a{large}b"
    _cost(small)  # warm up
    ratio = _cost(large) / max(_cost(small), 1e-6)
    assert ratio < 32, (unit, ratio)


def test_a_hundred_thousand_brackets() -> None:
    started = time.process_time()
    with pytest.raises(AddressError):
        read_address_list("<" * 100_000)
    assert time.process_time() - started < 5


_ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~"
_LOCAL = st.lists(st.text(_ATEXT, min_size=1, max_size=8), min_size=1, max_size=3).map(".".join)
_DOMAIN = st.lists(
    st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10), min_size=1, max_size=3
).map(lambda labels: ".".join([*labels, "example"]))
_NAME = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp", "Cf", "Co", "Cn")), max_size=20
).map(lambda s: " ".join(s.replace("@", "").split()))


def _written(name: str, local: str, domain: str) -> str:
    if not name:
        return f"{local}@{domain}"
    quoted = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{quoted} <{local}@{domain}>"


@given(st.lists(st.tuples(_NAME, _LOCAL, _DOMAIN), max_size=8))
@settings(max_examples=300, deadline=None)
def test_round_trip_of_generated_lists(people: list[tuple[str, str, str]]) -> None:
    text = ",\r\n ".join(_written(*person) for person in people)
    read = read_address_list(text)
    expected = [
        Mailbox(name if "=?" not in name else decode_words(name.encode()), local, domain)
        for name, local, domain in people
    ]
    assert [(m.local, m.domain) for m in read] == [(m.local, m.domain) for m in expected]
    assert [m.name for m in read if "=?" not in m.name] == [m.name for m in expected if "=?" not in m.name]
