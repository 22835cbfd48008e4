"""Tier 1 and tier 5 tests of the IMAP command parser: wire bytes to command values, framing
(literals, partial reads, limits) and property tests that no input escapes as another exception."""

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hopthu.imap import commands as c
from hopthu.imap.mutf7 import decode_mutf7, encode_mutf7
from hopthu.imap.parser import CommandParser, NeedLiteral, ParseError

Item = c.Command | c.Done | c.SaslResponse | NeedLiteral | ParseError


def drain(parser: CommandParser) -> list[Item]:
    """Everything the parser yields until it needs more bytes; ParseErrors are collected."""
    items: list[Item] = []
    for _ in range(10_000):
        try:
            item = parser.next()
        except ParseError as error:
            items.append(error)
            continue
        if item is None:
            return items
        items.append(item)
    raise AssertionError("parser did not ask for more bytes")


def parse(data: bytes, **limits: int) -> list[Item]:
    parser = CommandParser(**limits)
    parser.feed(data)
    return drain(parser)


def only_command(data: bytes) -> c.Command:
    items = [i for i in parse(data) if not isinstance(i, NeedLiteral)]
    assert len(items) == 1, items
    assert isinstance(items[0], c.Command), items[0]
    return items[0]


def seq(*ranges: tuple[int | None, int | None]) -> c.SequenceSet:
    return c.SequenceSet(tuple(c.SeqRange(a, b) for a, b in ranges))


def att(name: str, **kwargs: object) -> c.FetchAttribute:
    return c.FetchAttribute(name, **kwargs)  # type: ignore[arg-type]


VALID = [
    (b"a1 CAPABILITY\r\n", c.Capability("a1")),
    (b"a1 noop\r\n", c.Noop("a1")),
    (b"A LOGOUT\r\n", c.Logout("A")),
    (b"t.1 STARTTLS\r\n", c.StartTLS("t.1")),
    (b'a LOGIN nguyen.van.a "m\\"t\\\\khau"\r\n', c.Login("a", "nguyen.van.a", 'm"t\\khau')),
    (b"a LOGIN {5+}\r\nan.nv {9+}\r\nb\xc3\xad m\xe1\xba\xadt\r\n", c.Login("a", "an.nv", "bí mật")),
    (b"a AUTHENTICATE plain\r\n", c.Authenticate("a", "PLAIN")),
    (b"a AUTHENTICATE PLAIN =\r\n", c.Authenticate("a", "PLAIN", "")),
    (b"a AUTHENTICATE PLAIN AGFuAHB3\r\n", c.Authenticate("a", "PLAIN", "AGFuAHB3")),
    (b"a SELECT inbox\r\n", c.Select("a", "INBOX")),
    (b"a SELECT Inbox (CONDSTORE)\r\n", c.Select("a", "INBOX", condstore=True)),
    (b'a EXAMINE "H&Htk-p th&AbA- &AREevw-n"\r\n', c.Examine("a", "H&Htk-p th&AbA- &AREevw-n")),
    (
        b'a CREATE "H\xe1\xbb\x99p th\xc6\xb0 \xc4\x91\xe1\xba\xbfn"\r\n',
        c.Create("a", "Hộp thư đến"),
    ),
    (b"a DELETE Drafts\r\n", c.Delete("a", "Drafts")),
    (b'a RENAME "Old" New/Sub\r\n', c.Rename("a", "Old", "New/Sub")),
    (b"a SUBSCRIBE Sent\r\n", c.Subscribe("a", "Sent")),
    (b"a UNSUBSCRIBE Sent\r\n", c.Unsubscribe("a", "Sent")),
    (b'a LIST "" *\r\n', c.List("a", "", ("*",))),
    (b"a LIST ~/ %/%]\r\n", c.List("a", "~/", ("%/%]",))),
    (
        b'a LIST (SUBSCRIBED RECURSIVEMATCH) "" ("*" %) RETURN (SPECIAL-USE STATUS (MESSAGES UNSEEN))\r\n',
        c.List(
            "a",
            "",
            ("*", "%"),
            frozenset({"SUBSCRIBED", "RECURSIVEMATCH"}),
            frozenset({"SPECIAL-USE", "STATUS"}),
            ("MESSAGES", "UNSEEN"),
        ),
    ),
    (b'a LIST "" % RETURN ()\r\n', c.List("a", "", ("%",))),
    (b'a LSUB "" "*"\r\n', c.Lsub("a", "", "*")),
    (
        b"a STATUS INBOX (MESSAGES UIDNEXT unseen HIGHESTMODSEQ)\r\n",
        c.Status("a", "INBOX", ("MESSAGES", "UIDNEXT", "UNSEEN", "HIGHESTMODSEQ")),
    ),
    (b"a APPEND Sent {5}\r\nHello\r\n", c.Append("a", "Sent", b"Hello")),
    (
        b'a APPEND Sent (\\SEEN $Forwarded) " 7-Feb-1994 21:52:25 +0700" ~{3+}\r\nA\x00B\r\n',
        c.Append(
            "a",
            "Sent",
            b"A\x00B",
            ("\\Seen", "$Forwarded"),
            datetime(1994, 2, 7, 21, 52, 25, tzinfo=timezone(timedelta(hours=7))),
            binary=True,
        ),
    ),
    (
        b'a APPEND Sent "17-Jul-2026 01:02:03 -0330" {0}\r\n\r\n',
        c.Append(
            "a",
            "Sent",
            b"",
            date_time=datetime(2026, 7, 17, 1, 2, 3, tzinfo=timezone(-timedelta(minutes=210))),
        ),
    ),
    (b"a IDLE\r\n", c.Idle("a")),
    (b"a CHECK\r\n", c.Check("a")),
    (b"a CLOSE\r\n", c.Close("a")),
    (b"a UNSELECT\r\n", c.Unselect("a")),
    (b"a EXPUNGE\r\n", c.Expunge("a")),
    (b"a UID EXPUNGE 4,7:9\r\n", c.UidExpunge("a", seq((4, 4), (7, 9)))),
    (b"a SEARCH UNSEEN\r\n", c.Search("a", False, ("UNSEEN",))),
    (
        b'a uid search CHARSET utf-8 OR (FROM "an" SUBJECT {8}\r\nH\xe1\xbb\x8dp \xc4\x91) '
        b"1:* NOT \\Seen\r\n",
        c.Search(
            "a", True, ("OR", ("FROM", b"an", "SUBJECT", "Họp đ".encode()), "1:*", "NOT", "\\Seen"), "UTF-8"
        ),
    ),
    (
        b"a SEARCH RETURN (MIN COUNT SAVE) $ ((DELETED))\r\n",
        c.Search("a", False, ("$", (("DELETED",),)), returns=("MIN", "COUNT", "SAVE")),
    ),
    (b"a FETCH 1 FLAGS\r\n", c.Fetch("a", False, seq((1, 1)), (att("FLAGS"),))),
    (
        b"a FETCH 2:4 fast\r\n",
        c.Fetch("a", False, seq((2, 4)), (att("FLAGS"), att("INTERNALDATE"), att("RFC822.SIZE"))),
    ),
    (
        b"a FETCH * ALL\r\n",
        c.Fetch(
            "a",
            False,
            seq((None, None)),
            (att("FLAGS"), att("INTERNALDATE"), att("RFC822.SIZE"), att("ENVELOPE")),
        ),
    ),
    (
        b"a FETCH $ FULL\r\n",
        c.Fetch(
            "a",
            False,
            c.SequenceSet(saved=True),
            (att("FLAGS"), att("INTERNALDATE"), att("RFC822.SIZE"), att("ENVELOPE"), att("BODY")),
        ),
    ),
    (
        b"a UID FETCH 1:*,4,7:9 (UID BODY.PEEK[1.2.HEADER.FIELDS (From to)]<0.100> BODY[] "
        b"BODY[TEXT] BODY[3.MIME] BODY[HEADER.FIELDS.NOT (Bcc)] BINARY[1]<5.6> BINARY.PEEK[] "
        b"BINARY.SIZE[2] BODYSTRUCTURE BODY MODSEQ) (CHANGEDSINCE 12345 VANISHED)\r\n",
        c.Fetch(
            "a",
            True,
            seq((1, None), (4, 4), (7, 9)),
            (
                att("UID"),
                att(
                    "BODY",
                    section=c.Section((1, 2), "HEADER.FIELDS", ("FROM", "TO")),
                    partial=c.Partial(0, 100),
                    peek=True,
                ),
                att("BODY", section=c.Section()),
                att("BODY", section=c.Section((), "TEXT")),
                att("BODY", section=c.Section((3,), "MIME")),
                att("BODY", section=c.Section((), "HEADER.FIELDS.NOT", ("BCC",))),
                att("BINARY", section=c.Section((1,)), partial=c.Partial(5, 6)),
                att("BINARY", section=c.Section(), peek=True),
                att("BINARY.SIZE", section=c.Section((2,))),
                att("BODYSTRUCTURE"),
                att("BODY"),
                att("MODSEQ"),
            ),
            changed_since=12345,
            vanished=True,
        ),
    ),
    (b"a FETCH 1 BODY[1.2]\r\n", c.Fetch("a", False, seq((1, 1)), (att("BODY", section=c.Section((1, 2))),))),
    (
        b"a STORE 1 FLAGS (\\Seen)\r\n",
        c.Store("a", False, seq((1, 1)), "", ("\\Seen",)),
    ),
    (
        b"a UID STORE 1:3 (UNCHANGEDSINCE 5) +FLAGS.SILENT (\\deleted $Junk)\r\n",
        c.Store("a", True, seq((1, 3)), "+", ("\\Deleted", "$Junk"), silent=True, unchanged_since=5),
    ),
    (b"a STORE 5:2 -flags \\Seen foo\r\n", c.Store("a", False, seq((5, 2)), "-", ("\\Seen", "foo"))),
    (b"a STORE 1 FLAGS ()\r\n", c.Store("a", False, seq((1, 1)), "", ())),
    (b"a COPY 1:2 Archive\r\n", c.Copy("a", False, seq((1, 2)), "Archive")),
    (b'a UID COPY 7 "Th&APk-ng r&AOE-c"\r\n', c.Copy("a", True, seq((7, 7)), "Th&APk-ng r&AOE-c")),
    (b"a MOVE 1 Junk\r\n", c.Move("a", False, seq((1, 1)), "Junk")),
    (b"a UID MOVE 1:* inbox\r\n", c.Move("a", True, seq((1, None)), "INBOX")),
    (b"a ENABLE CONDSTORE utf8=accept\r\n", c.Enable("a", ("CONDSTORE", "UTF8=ACCEPT"))),
    (b"a ID NIL\r\n", c.Id("a", None)),
    (
        b'a ID ("name" "Thunderbird" "version" NIL)\r\n',
        c.Id("a", (("name", "Thunderbird"), ("version", None))),
    ),
    (b"a ID ()\r\n", c.Id("a", ())),
    (b"a NAMESPACE\r\n", c.Namespace("a")),
    (b"a GETQUOTAROOT INBOX\r\n", c.GetQuotaRoot("a", "INBOX")),
    (b'a GETQUOTA ""\r\n', c.GetQuota("a", "")),
]

INVALID = [
    b"a FOO\r\n",
    b"a UID NOOP\r\n",
    b"a NOOP extra\r\n",
    b"a LOGIN onlyuser\r\n",
    b"a LOGIN \xff x\r\n",
    b'a LOGIN "\xff" x\r\n',
    b"a SELECT INBOX (QRESYNC)\r\n",
    b"a SELECT INBOX ()\r\n",
    b"a STATUS INBOX (BOGUS)\r\n",
    b"a STATUS INBOX ()\r\n",
    b'a LIST (RECURSIVEMATCH) "" *\r\n',
    b'a LIST (RECURSIVEMATCH REMOTE) "" *\r\n',  # RFC 5258 §3: REMOTE is not enough
    b'a LIST (BOGUS) "" *\r\n',
    b'a LIST "" * RETURN (BOGUS)\r\n',
    b"a FETCH 0 FLAGS\r\n",
    b"a FETCH 1:4294967296 FLAGS\r\n",
    b"a FETCH 1,,2 FLAGS\r\n",
    b"a FETCH 1 ()\r\n",
    b"a FETCH 1 BOGUS\r\n",
    b"a FETCH 1 BODY.PEEK\r\n",
    b"a FETCH 1 BODY[MIME]\r\n",
    b"a FETCH 1 BODY[0]\r\n",
    b"a FETCH 1 BODY[]<1.0>\r\n",
    b"a FETCH 1 FLAGS (VANISHED)\r\n",
    b"a UID FETCH 1 FLAGS (VANISHED)\r\n",
    b"a FETCH 1 FLAGS (CHANGEDSINCE 99999999999999999999999)\r\n",
    b"a STORE 1 LABELS (x)\r\n",
    b'a APPEND INBOX "30-Feb-2026 00:00:00 +0000" {1}\r\nx\r\n',
    b'a APPEND INBOX "01-Foo-2026 00:00:00 +0000" {1}\r\nx\r\n',
    b"a APPEND INBOX\r\n",
    b"a LOGIN ~{1}\r\nx y\r\n",
    b"a AUTHENTICATE PLAIN abc\r\n",
    b"a ENABLE\r\n",
    b"a SEARCH\r\n",
    b"a SEARCH (" + b"(" * 40 + b"ALL" + b")" * 41 + b"\r\n",
    b"a SEARCH (ALL\r\n",
    b'a ID ("name")\r\n',
]


@pytest.mark.parametrize(("wire", "expected"), VALID, ids=[w[:30].decode("latin-1") for w, _ in VALID])
def test_commands(wire: bytes, expected: c.Command) -> None:
    assert only_command(wire) == expected


@pytest.mark.parametrize(("wire", "expected"), VALID, ids=[w[:30].decode("latin-1") for w, _ in VALID])
def test_byte_by_byte_gives_the_same_result(wire: bytes, expected: c.Command) -> None:
    parser = CommandParser()
    items: list[Item] = []
    for byte in wire:
        parser.feed(bytes([byte]))
        items += drain(parser)
    assert [i for i in items if not isinstance(i, NeedLiteral)] == [expected]


@pytest.mark.parametrize("wire", INVALID, ids=[w[:30].decode("latin-1") for w in INVALID])
def test_invalid_commands_are_bad_with_their_tag(wire: bytes) -> None:
    items = [i for i in parse(wire) if not isinstance(i, NeedLiteral)]
    assert len(items) == 1, items
    assert isinstance(items[0], ParseError)
    assert items[0].tag == "a"
    assert items[0].code is None


def test_unknown_tagless_line_has_no_tag() -> None:
    (error,) = parse(b"\r\n")
    assert isinstance(error, ParseError) and error.tag is None
    (error,) = parse(b"+x NOOP\r\n")
    assert isinstance(error, ParseError) and error.tag is None


def test_parser_recovers_after_an_error() -> None:
    items = parse(b"a FOO\r\nb NOOP\r\n")
    assert isinstance(items[0], ParseError)
    assert items[1] == c.Noop("b")


def test_synchronising_literal_waits_for_the_continuation() -> None:
    parser = CommandParser()
    parser.feed(b"a LOGIN {5}\r\n")
    assert parser.next() == NeedLiteral(5, synchronizing=True)
    assert parser.next() is None
    parser.feed(b"an.nv")
    assert parser.next() is None
    parser.feed(b" {3}\r\n")
    assert parser.next() == NeedLiteral(3, synchronizing=True)
    parser.feed(b"pw1\r\nb NOOP\r\n")
    assert parser.next() == c.Login("a", "an.nv", "pw1")
    assert parser.next() == c.Noop("b")
    assert parser.next() is None


def test_non_synchronising_literal_needs_no_continuation() -> None:
    parser = CommandParser()
    parser.feed(b"a APPEND INBOX {11+}\r\nSubject: x\n\r\n")
    assert parser.next() == NeedLiteral(11, synchronizing=False)
    assert parser.next() == c.Append("a", "INBOX", b"Subject: x\n")


def test_literal_bodies_are_opaque() -> None:
    body = b"a NOOP\r\n{5}\r\n)\r\n"
    assert only_command(b"a APPEND INBOX {%d}\r\n%s\r\n" % (len(body), body)) == c.Append("a", "INBOX", body)


def test_long_line_is_refused_and_the_rest_discarded() -> None:
    parser = CommandParser(max_line=100)
    parser.feed(b"a LOGIN " + b"x" * 200)
    with pytest.raises(ParseError) as error:
        parser.next()
    assert (error.value.tag, error.value.code) == ("a", "TOOBIG")
    parser.feed(b"y" * 500 + b"\r")
    assert parser.next() is None
    parser.feed(b"\nb NOOP\r\n")
    assert parser.next() == c.Noop("b")


def test_long_line_instead_of_done_ends_the_continuation() -> None:
    """After IDLE (or a SASL challenge) a line over the limit is refused, and the next line is a
    command again, not taken for the awaited DONE."""
    parser = CommandParser(max_line=100)
    parser.expect_done()
    parser.feed(b"x" * 200 + b"\r\nn NOOP\r\n")
    with pytest.raises(ParseError) as error:
        parser.next()
    assert (error.value.tag, error.value.code) == (None, "TOOBIG")
    assert parser.next() == c.Noop("n")


def test_long_complete_line_is_refused() -> None:
    items = parse(b"a SEARCH " + b"ALL " * 40 + b"ALL\r\nb NOOP\r\n", max_line=100)
    assert isinstance(items[0], ParseError) and items[0].code == "TOOBIG"
    assert items[1:] == [c.Noop("b")]


def test_big_synchronising_literal_is_refused_without_continuation() -> None:
    items = parse(b"a APPEND INBOX {1001}\r\nb NOOP\r\n", max_literal=1000)
    assert isinstance(items[0], ParseError)
    assert (items[0].tag, items[0].code) == ("a", "TOOBIG")
    assert items[1:] == [c.Noop("b")]


def test_big_non_synchronising_literal_is_skipped() -> None:
    parser = CommandParser(max_literal=10)
    parser.feed(b"a APPEND INBOX {20+}\r\n" + b"z" * 15)
    with pytest.raises(ParseError) as error:
        parser.next()
    assert (error.value.tag, error.value.code) == ("a", "TOOBIG")
    assert parser.next() is None
    parser.feed(b"z" * 5 + b" rest\r\nb NOOP\r\n")
    assert parser.next() == c.Noop("b")


def test_literals_of_one_command_share_the_limit() -> None:
    items = parse(b"a LOGIN {6+}\r\nabcdef {6+}\r\nabcdef\r\n", max_literal=10)
    assert isinstance(items[1], ParseError) and items[1].code == "TOOBIG"


def test_idle_done_and_sasl_continuations() -> None:
    parser = CommandParser()
    parser.feed(b"a IDLE\r\n")
    assert parser.next() == c.Idle("a")
    parser.expect_done()
    parser.feed(b"done\r\nb AUTHENTICATE PLAIN\r\n")
    assert parser.next() == c.Done()
    assert parser.next() == c.Authenticate("b", "PLAIN")
    parser.expect_sasl_response()
    parser.feed(b"AGFuAHB3\r\n")
    assert parser.next() == c.SaslResponse("AGFuAHB3")
    parser.expect_sasl_response()
    parser.feed(b"*\r\n")
    assert parser.next() == c.SaslResponse("", cancelled=True)
    parser.expect_done()
    parser.feed(b"c NOOP\r\n")
    with pytest.raises(ParseError):
        parser.next()
    parser.expect_sasl_response()
    parser.feed(b"not base64!\r\n")
    with pytest.raises(ParseError):
        parser.next()


@pytest.mark.parametrize(
    ("text", "largest", "inside", "outside"),
    [
        ("1:3,7", 10, [1, 2, 3, 7], [4, 8]),
        ("9:*", 12, [9, 12], [8]),
        ("*:4", 2, [2, 3], [1, 5]),
        ("*", 5, [5], [4]),
    ],
)
def test_sequence_set_contains(text: str, largest: int, inside: list[int], outside: list[int]) -> None:
    command = only_command(b"a FETCH %s FLAGS\r\n" % text.encode())
    assert isinstance(command, c.Fetch)
    assert all(command.messages.contains(n, largest) for n in inside)
    assert not any(command.messages.contains(n, largest) for n in outside)


@pytest.mark.parametrize(
    ("name", "wire"),
    [
        ("Hộp thư đến", "H&Htk-p th&AbA- &AREevw-n"),
        ("Thùng rác", "Th&APk-ng r&AOE-c"),
        ("Thư đã gửi", "Th&AbA- &AREA4w- g&Hu0-i"),
        ("A&B", "A&-B"),
        ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
        ("😀", "&2D3eAA-"),
    ],
)
def test_modified_utf7(name: str, wire: str) -> None:
    assert encode_mutf7(name) == wire
    assert decode_mutf7(wire) == name


@pytest.mark.parametrize(
    "wire", ["&", "&Jjo", "&Jjo!-", "&AGE-", "&ZeVnLIqe-&ZeVnLIqe-", "é", "&2D0-", "&AOF-"]
)
def test_modified_utf7_refuses_bad_forms(wire: str) -> None:
    with pytest.raises(ValueError):
        decode_mutf7(wire)


@given(st.text())
def test_modified_utf7_round_trip(name: str) -> None:
    try:
        encoded = encode_mutf7(name)
    except UnicodeEncodeError:  # lone surrogates are not text
        return
    assert encoded.isascii()
    assert decode_mutf7(encoded) == name


def feed_in_chunks(data: bytes, cuts: list[int]) -> list[Item]:
    parser = CommandParser(max_line=1000, max_literal=1000)
    items: list[Item] = []
    start = 0
    for cut in [*sorted(cuts), len(data)]:
        parser.feed(data[start:cut])
        start = max(start, cut)
        items += drain(parser)
    return items


def check_items(items: list[Item]) -> None:
    for item in items:
        assert isinstance(item, c.Command | c.Done | c.SaslResponse | NeedLiteral | ParseError), item


@settings(max_examples=300)
@given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=5))
def test_arbitrary_bytes_only_yield_known_results(data: bytes, cuts: list[int]) -> None:
    check_items(feed_in_chunks(data, cuts))


@st.composite
def mutated_command(draw: st.DrawFn) -> bytes:
    wire = bytearray(draw(st.sampled_from([w for w, _ in VALID] + INVALID)))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(wire)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        byte = draw(st.sampled_from(b' ()[]<>{}"\\*:,$.+~\r\n09AZaz\x00\xff'))
        if action == "insert":
            wire.insert(position, byte)
        elif position < len(wire):
            if action == "delete":
                del wire[position]
            else:
                wire[position] = byte
    return bytes(wire)


@settings(max_examples=1000)
@given(mutated_command(), st.lists(st.integers(0, 300), max_size=3))
def test_mutated_commands_only_yield_known_results(data: bytes, cuts: list[int]) -> None:
    check_items(feed_in_chunks(data, cuts))
    parser = CommandParser(max_line=1000, max_literal=1000)
    parser.expect_done()
    parser.feed(data)
    check_items(drain(parser))
