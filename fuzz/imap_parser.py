"""The IMAP command parser (`hopthu.imap.parser`), sans-IO: bytes fed in random pieces, literals
answered, IDLE's DONE and SASL continuation lines expected now and then.

Only `ParseError` may come out (the module's documented contract). Beyond not crashing, two things
are checked: the parser never holds more unparsed input than its limits allow (every `max_*` limit it
has, summed, once it has parsed all it can: a command must not grow without bound, e.g. by chaining empty
literals), and every item it hands back is one the connection knows how to act on.
"""

from __future__ import annotations

import contextlib
import random
import zlib

from fuzz.engine import Target, splits
from hopthu.imap import commands as c
from hopthu.imap.parser import CommandParser, NeedLiteral, ParseError, parse_sequence_set

MAX_LINE = 1024
MAX_LITERAL = 16 * 1024
MAX_COMMAND = 4 * 1024


class BoundExceeded(AssertionError):
    """The parser holds more than its limits allow."""


SEEDS: tuple[bytes, ...] = (
    b"a1 CAPABILITY\r\n",
    b'a2 LOGIN nvminh "Hop-Thu 2026"\r\n',
    b"a3 LOGIN {6}\r\nnvminh {4+}\r\npass\r\n",
    b"a4 AUTHENTICATE PLAIN AG52bWluaABwYXNz\r\n",
    b"a5 SELECT INBOX (CONDSTORE)\r\n",
    b'a6 LIST "" "*"\r\n',
    b'a7 LIST (SUBSCRIBED RECURSIVEMATCH) "" ("INBOX" "C\xc3\xb4ng v\xc4\x83n/%")'
    b" RETURN (CHILDREN STATUS (MESSAGES UNSEEN))\r\n",
    b'a8 LIST "" "*********Z"\r\n',
    b"a9 STATUS INBOX (MESSAGES UIDNEXT HIGHESTMODSEQ)\r\n",
    b'b1 APPEND INBOX (\\Seen $Important) " 2-Mar-2026 08:30:00 +0700" {23}\r\n'
    b"Subject: x\r\n\r\nhello\r\n\r\n",
    b"b2 APPEND Drafts ~{5+}\r\nab\x00cd\r\n",
    b"b3 UID FETCH 1:*,4,7:9 (FLAGS BODY.PEEK[1.2.HEADER.FIELDS (SUBJECT FROM)]<0.100> BINARY[2] MODSEQ)"
    b" (CHANGEDSINCE 12345 VANISHED)\r\n",
    b"b4 FETCH 1 FULL\r\n",
    b"b5 FETCH $ BODYSTRUCTURE\r\n",
    b'b6 SEARCH RETURN (MIN MAX COUNT) CHARSET UTF-8 OR (FROM "nguyen" SUBJECT {7}\r\nc\xc3\xb4ng)'
    b" NOT SEEN 1:5\r\n",
    b"b7 UID STORE 1:4 (UNCHANGEDSINCE 7) +FLAGS.SILENT (\\Deleted \\Seen)\r\n",
    b'b8 UID MOVE 5 "Th\xc6\xb0 r\xc3\xa1c"\r\n',
    b"b9 COPY 2:3 Archive\r\n",
    b"c1 UID EXPUNGE 3:5\r\n",
    b"c2 ENABLE CONDSTORE UTF8=ACCEPT\r\n",
    b'c3 ID ("name" "Thunderbird" "version" NIL)\r\n',
    b"c4 IDLE\r\nDONE\r\n",
    b"c5 RENAME old new\r\n",
    b'c6 GETQUOTAROOT INBOX\r\nc7 GETQUOTA ""\r\n',
    b"c8 NAMESPACE\r\nc9 NOOP\r\nd1 LOGOUT\r\n",
    b"d2 LOGIN {0+}\r\n {0+}\r\n\r\n",
    b"d3 APPEND INBOX {99999999999}\r\n",
    b"d4 SEARCH " + b"(" * 40 + b"ALL" + b")" * 40 + b"\r\n",
    b'd5 LSUB "" %\r\nd6 SUBSCRIBE x\r\nd7 UNSELECT\r\n',
)
TOKENS = (
    b"{0+}\r\n", b"{1}\r\nx", b"{65536}\r\n", b"{70000+}\r\n", b"~{0}\r\n", b"*", b"%", b"$", b"1:*",
    b"BODY[", b"]<", b".", b"NIL", b"UID ", b"(", b")", b" RETURN (", b"DONE\r\n", b"\\Seen",
    b"\"\\\"", b"a LOGIN ", b"a APPEND INBOX ", b"+", b"=",
)  # fmt: skip

_ITEM_TYPES = (c.Command, c.Done, c.SaslResponse, NeedLiteral)


def run(data: bytes) -> None:
    rng = random.Random(zlib.crc32(data))
    parser = CommandParser(max_line=MAX_LINE, max_literal=MAX_LITERAL, max_command=MAX_COMMAND)
    for piece in splits(data):
        parser.feed(piece)
        while True:
            try:
                item = parser.next()
            except ParseError:
                continue
            if item is None:
                _check_held(parser)  # all it could parse is parsed: what it holds is one command
                break
            assert isinstance(item, _ITEM_TYPES), f"unexpected item {item!r}"
            if isinstance(item, c.Idle):
                parser.expect_done()
            elif isinstance(item, c.Authenticate) and item.initial_response is None:
                parser.expect_sasl_response()
            elif isinstance(item, c.Command) and rng.random() < 0.02:  # as if the command were IDLE
                parser.expect_done()
    with contextlib.suppress(ParseError):
        parse_sequence_set(data[:200].decode("latin-1"))


def _check_held(parser: CommandParser) -> None:
    # One command at most: its lines, continuations and literals (`max_command`), APPEND's message
    # beside them (`max_literal`), and the few bytes of a refused line kept to find its literal.
    limit = parser.limits.max_command + parser.limits.max_literal + 64
    held = len(parser._buf)
    if held > limit:
        raise BoundExceeded(f"parser holds {held} bytes, more than its limits allow ({limit})")


def target() -> Target:
    return Target("imap_parser", run, SEEDS, TOKENS, (ParseError,), max_len=160 * 1024)
