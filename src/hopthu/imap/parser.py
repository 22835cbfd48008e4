"""Incremental, sans-IO parser of IMAP client commands.

The connection feeds whatever bytes arrived and asks for the next item: a command value from
`hopthu.imap.commands`, a `NeedLiteral` (send "+ Ready" when it is synchronising), or None
(read more). Keeping I/O out lets one parser serve the listener, the table tests and the fuzzers,
and lets the limits (line length, literal size) be enforced before any byte reaches the store.
`ParseError` is the only exception raised on any input; the server answers it with BAD, or with
NO [TOOBIG] when `code` says so. Grammar references are RFC 9051 §9 unless stated otherwise.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TypeVar

from hopthu.imap import commands as c

T = TypeVar("T")

DEFAULT_MAX_LINE = 64 * 1024
DEFAULT_MAX_LITERAL = 50 * 1024 * 1024
DEFAULT_MAX_COMMAND = 1024 * 1024  # a whole command but APPEND's message
MAX_NESTING = 32  # parenthesised lists deeper than this are refused, not recursed into
MAX_NUMBER = 2**32 - 1  # number, nz-number
MAX_NUMBER64 = 2**63 - 1  # number64, mod-sequence-value (RFC 7162)

# ATOM-CHAR = any CHAR except atom-specials; ASTRING-CHAR adds resp-specials "]";
# tag = 1*<any ASTRING-CHAR except "+">; list-char adds list-wildcards "%" "*".
_ATOM = re.compile(rb'[^\x00-\x20\x7f-\xff(){%*"\\\]]+')
_ASTRING = re.compile(rb'[^\x00-\x20\x7f-\xff(){%*"\\]+')
_LIST_CHARS = re.compile(rb'[^\x00-\x20\x7f-\xff(){"\\]+')
_TAG = re.compile(rb'[^\x00-\x20\x7f-\xff(){%*"\\+]+')
_DIGITS = re.compile(rb"[0-9]+")
_LITERAL = re.compile(rb"(~?)\{([0-9]{1,12})(\+?)\}\r\n")  # literal, literal8 (RFC 3516), LITERAL+ (RFC 7888)
_LITERAL_AT_END = re.compile(rb"~?\{([0-9]{1,12})(\+?)\}\Z")
_QUOTED = re.compile(rb'"((?:[^"\\\r\n]|\\["\\])*)"')  # quoted-specials escaped, no CR/LF
_SEQUENCE = re.compile(rb"[0-9:*,$]+")
_SEQ_ITEM = re.compile(r"([0-9]{1,10}|\*)(?::([0-9]{1,10}|\*))?")
_FETCH_NAME = re.compile(rb"[A-Za-z0-9.]+")
_SECTION_TEXT = re.compile(rb"[A-Za-z.]+")
_SEARCH_WORD = re.compile(rb'[^\x00-\x20\x7f-\xff(){"]+')
_BASE64 = re.compile(rb"[A-Za-z0-9+/]*={0,2}")
# date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
_DATE_TIME = re.compile(
    rb"([ 0-9][0-9])-([A-Za-z]{3})-([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{4})"
)
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")

_STATUS_ITEMS = frozenset(
    {"MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "DELETED", "SIZE", "HIGHESTMODSEQ"}
)
_LIST_SELECTION = frozenset({"SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"})  # RFC 5258, 6154
_LIST_RETURN = frozenset({"SUBSCRIBED", "CHILDREN", "SPECIAL-USE", "STATUS"})  # RFC 5258, 6154, 5819
_SYSTEM_FLAGS = {f.upper(): f for f in ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")}
_SIMPLE_FETCH = frozenset(
    {
        "ENVELOPE",
        "FLAGS",
        "INTERNALDATE",
        "RFC822",
        "RFC822.HEADER",
        "RFC822.SIZE",
        "RFC822.TEXT",
        "BODYSTRUCTURE",
        "UID",
        "MODSEQ",
    }
)
# RFC 9051 §6.4.5: the macros are equivalent to these lists.
_FAST = (c.FetchAttribute("FLAGS"), c.FetchAttribute("INTERNALDATE"), c.FetchAttribute("RFC822.SIZE"))
_ALL = (*_FAST, c.FetchAttribute("ENVELOPE"))
_MACROS = {"FAST": _FAST, "ALL": _ALL, "FULL": (*_ALL, c.FetchAttribute("BODY"))}


class ParseError(Exception):
    """Bad client input; `tag` when known so the reply can be tagged, `code` e.g. "TOOBIG".

    `literal_refused` is true when what was refused is a synchronising literal: the client waits for
    "+" and sends nothing more of that command, so the connection can go on. Any other refusal of
    an oversized command leaves the client sending the rest of it."""

    def __init__(
        self, tag: str | None, text: str, code: str | None = None, *, literal_refused: bool = False
    ) -> None:
        super().__init__(text)
        self.tag = tag
        self.text = text
        self.code = code
        self.literal_refused = literal_refused


@dataclass(frozen=True, slots=True)
class NeedLiteral:
    """A literal of `size` bytes follows; answer "+ Ready" first when `synchronizing`."""

    size: int
    synchronizing: bool


@dataclass(frozen=True, slots=True)
class Limits:
    """How much of one command the parser holds before refusing it.

    `max_command` bounds a WHOLE command: its lines, continuation lines and literals together, so
    a client cannot grow one command without end by ending every line with "{0+}". APPEND's
    message is the one exception: its literals may add up to `max_literal` more (RFC 9051 §6.3.12;
    RFC 7889 APPENDLIMIT is the same idea). The session tightens all three before login."""

    max_line: int = DEFAULT_MAX_LINE
    max_command: int = DEFAULT_MAX_COMMAND
    max_literal: int = DEFAULT_MAX_LITERAL


_APPEND = re.compile(rb"[^ ]+ APPEND ", re.IGNORECASE)
_ID = re.compile(rb'[^\x00-\x20\x7f-\xff(){%*"\\+]+ ID ', re.IGNORECASE)
# RFC 2971 §3.3: at most 30 field-value pairs, fields up to 30 octets, values up to 1024. The largest
# ID a client may send, as quoted strings, is about 31 KiB: every ID that size is read, even before
# sign-in, where other commands are held to far less (the ID of the client names it for the logs of
# its sign-in; refusing it would lose that).
ID_MAX_COMMAND = 32 * 1024
_MARKER_TAIL = 16  # len(b"~{999999999999+}"): what of a discarded line is kept to find its literal


class CommandParser:
    """Frames the byte stream into commands (lines joined by literals) and parses each one."""

    def __init__(
        self,
        max_line: int = DEFAULT_MAX_LINE,
        max_literal: int = DEFAULT_MAX_LITERAL,
        max_command: int | None = None,
    ) -> None:
        self.limits = Limits(
            max_line, max(max_line, DEFAULT_MAX_COMMAND) if max_command is None else max_command, max_literal
        )
        self._buf = bytearray()
        self._line_start = 0  # offset of the current line of the pending command in _buf
        self._scanned = 0  # _buf offset up to which the current line is known to hold no CRLF
        self._literal_end: int | None = None  # _buf offset where the awaited literal ends
        self._literal_total = 0
        self._exempt = 0  # bytes of APPEND's message literals, counted against max_literal instead
        self._is_append: bool | None = None  # whether the pending command is an APPEND, once known
        self._is_id: bool | None = None  # whether it is an ID, once it has grown past the limits
        self._skip = 0  # bytes of a refused non-synchronising literal still to throw away
        self._discard_line = False  # throw away input up to the next CRLF
        self._continuation: Callable[[bytes], c.Done | c.SaslResponse] | None = None

    @property
    def max_line(self) -> int:
        return self.limits.max_line

    @property
    def max_literal(self) -> int:
        return self.limits.max_literal

    @property
    def held(self) -> int:
        """Bytes of input held (a pending command, or what is being thrown away)."""
        return len(self._buf)

    def feed(self, data: bytes) -> None:
        self._buf += data

    def expect_done(self) -> None:
        """The server entered IDLE: the next line must be "DONE" (RFC 2177)."""
        self._continuation = _parse_done

    def expect_sasl_response(self) -> None:
        """The server sent an AUTHENTICATE challenge: the next line is a SASL response."""
        self._continuation = _parse_sasl_response

    def next(self) -> c.Command | c.Done | c.SaslResponse | NeedLiteral | None:
        buf = self._buf
        limits = self.limits
        while True:
            if self._skip:
                dropped = min(self._skip, len(buf))
                del buf[:dropped]
                self._skip -= dropped
                if self._skip:
                    return None
                self._discard_line = True
            if self._discard_line:
                end = buf.find(b"\r\n")
                if end < 0:
                    del buf[: max(len(buf) - _MARKER_TAIL, 0)]
                    return None
                self._drop_line(end)
                continue
            if self._literal_end is not None:
                if len(buf) < self._literal_end:
                    return None
                self._line_start = self._literal_end
                self._literal_end = None
            end = buf.find(b"\r\n", max(self._line_start, self._scanned))
            stop = end if end >= 0 else len(buf) - buf.endswith(b"\r")
            if (
                stop - self._line_start > limits.max_line or stop - self._exempt > limits.max_command
            ) and not self._id_fits(stop):
                line_only = stop - self._line_start > limits.max_line
                tag = None if self._continuation is not None else self._tag()
                self._continuation = None  # the DONE or SASL line it was is refused too
                self._reset(0)
                if end >= 0:
                    self._drop_line(end)
                else:
                    self._discard_line = True
                    del buf[: max(len(buf) - _MARKER_TAIL, 0)]
                if line_only:
                    raise ParseError(tag, "line too long", "TOOBIG")
                raise ParseError(tag, f"command larger than {limits.max_command} bytes", "TOOBIG")
            if end < 0:
                self._scanned = max(len(buf) - 1, 0)  # byte-at-a-time input must not cost O(n²)
                return None
            if self._continuation is not None:
                line = bytes(buf[:end])
                parse_line, self._continuation = self._continuation, None
                self._reset(end + 2)
                return parse_line(line)
            marker = _LITERAL_AT_END.search(buf, self._line_start, end)
            if marker is None:
                command = bytes(buf[: end + 2])
                self._reset(end + 2)
                return _parse_command(command)
            size = int(marker[1])
            synchronizing = not marker[2]
            if self._is_append is None:  # once a command: its first line is looked at once
                self._is_append = _APPEND.match(buf, 0, end) is not None
            append = self._is_append
            # RFC 9051 §6.3.12: the message of APPEND may be up to max_literal on top of the command
            over_literal = self._literal_total + size > limits.max_literal
            over_command = end + 2 + size - self._exempt > limits.max_command
            if over_literal or (not append and over_command and not self._id_fits(end + 2 + size)):
                tag = self._tag()
                self._reset(end + 2)
                if not synchronizing:  # RFC 7888 §4: the client sends the data regardless
                    self._skip = size
                    self._discard_line = True
                limit = limits.max_literal if over_literal else limits.max_command
                what = "literal" if over_literal else "command"
                raise ParseError(
                    tag, f"{what} larger than {limit} bytes", "TOOBIG", literal_refused=synchronizing
                )
            self._literal_total += size
            if append:
                self._exempt += size
            self._literal_end = end + 2 + size
            return NeedLiteral(size, synchronizing)

    def _id_fits(self, size: int) -> bool:
        """Whether the pending command is an ID still within RFC 2971's largest (`ID_MAX_COMMAND`):
        only asked once the command outgrew the limits, which a tag and "ID " never do alone, so
        what the command is can be decided then, once."""
        if size > ID_MAX_COMMAND:
            return False
        if self._is_id is None:
            self._is_id = _ID.match(self._buf) is not None
        return self._is_id

    def _drop_line(self, end: int) -> None:
        """Throw away a refused line up to its CRLF at `end`; when it ended with a non-synchronising
        literal, that literal's bytes are on their way (RFC 7888 §4) and are thrown away too."""
        marker = _LITERAL_AT_END.search(self._buf, max(end - _MARKER_TAIL, 0), end)
        follows = int(marker[1]) if marker is not None and marker[2] else None  # read before the del
        del self._buf[: end + 2]
        self._discard_line = False
        if follows is not None:
            self._skip = follows
            self._discard_line = not follows

    def _tag(self) -> str | None:
        found = _TAG.match(self._buf)
        if found is None or self._buf[found.end() : found.end() + 1] != b" ":
            return None
        return found[0].decode("ascii")

    def _reset(self, consumed: int) -> None:
        del self._buf[:consumed]
        self._line_start = 0
        self._scanned = 0
        self._literal_end = None
        self._literal_total = 0
        self._exempt = 0
        self._is_append = None
        self._is_id = None


def _parse_done(line: bytes) -> c.Done:
    if line.upper() != b"DONE":
        raise ParseError(None, "expected DONE")
    return c.Done()


def _parse_sasl_response(line: bytes) -> c.SaslResponse:
    # RFC 9051 §9: authenticate = ... *(CRLF base64); "*" cancels (§6.2.2)
    if line == b"*":
        return c.SaslResponse("", cancelled=True)
    if not _BASE64.fullmatch(line) or len(line) % 4:
        raise ParseError(None, "invalid base64 in SASL response")
    return c.SaslResponse(line.decode("ascii"))


class _Reader:
    """Cursor over one complete command (its lines and literals), with the grammar's tokens."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.tag: str | None = None

    def error(self, text: str, code: str | None = None) -> ParseError:
        return ParseError(self.tag, f"{text} at byte {self.pos}", code)

    def match(self, pattern: re.Pattern[bytes], what: str) -> re.Match[bytes]:
        found = pattern.match(self.data, self.pos)
        if found is None:
            raise self.error(f"expected {what}")
        self.pos = found.end()
        return found

    def at(self, prefix: bytes) -> bool:
        return self.data[self.pos : self.pos + len(prefix)].upper() == prefix

    def accept(self, prefix: bytes) -> bool:
        if self.at(prefix):
            self.pos += len(prefix)
            return True
        return False

    def expect(self, prefix: bytes) -> None:
        if not self.accept(prefix):
            raise self.error(f"expected {prefix.decode('ascii')!r}")

    def sp(self) -> None:
        self.expect(b" ")

    def end(self) -> None:
        if self.data[self.pos :] != b"\r\n":
            raise self.error("expected end of command")

    def atom(self) -> str:
        return self.match(_ATOM, "atom")[0].decode("ascii")

    def keyword(self) -> str:
        return self.atom().upper()

    def number(self, limit: int = MAX_NUMBER, nonzero: bool = False) -> int:
        digits = self.match(_DIGITS, "number")[0]
        value = int(digits) if len(digits) <= 20 else limit + 1
        if value > limit or (nonzero and value == 0):
            raise self.error("number out of range")
        return value

    def literal(self) -> tuple[bytes, bool]:
        """literal / literal8; returns the data and whether it was a literal8."""
        found = self.match(_LITERAL, "literal")
        size = int(found[2])
        if len(self.data) < self.pos + size:
            raise self.error("truncated literal")
        data = self.data[self.pos : self.pos + size]
        self.pos += size
        return data, bool(found[1])

    def string(self) -> bytes:
        if self.at(b'"'):
            raw = self.match(_QUOTED, "quoted string")[1]
            return re.sub(rb"\\(.)", rb"\1", raw)
        data, binary = self.literal()
        if binary:
            raise self.error("literal8 not allowed here")
        return data

    def astring(self) -> bytes:
        if self.at(b'"') or self.at(b"{"):
            return self.string()
        return self.match(_ASTRING, "astring")[0]

    def nstring(self) -> bytes | None:
        return None if self.accept(b"NIL") else self.string()

    def text(self, raw: bytes) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.error("invalid UTF-8") from None

    def mailbox(self) -> str:
        # mailbox = "INBOX" / astring; INBOX is case-insensitive (§5.1)
        name = self.text(self.astring())
        return "INBOX" if name.upper() == "INBOX" else name

    def list_mailbox(self) -> str:
        # list-mailbox = 1*list-char / string
        if self.at(b'"') or self.at(b"{"):
            return self.text(self.string())
        return self.match(_LIST_CHARS, "list-mailbox")[0].decode("ascii")

    def parens(self, item: Callable[[], T], allow_empty: bool = True) -> list[T]:
        self.expect(b"(")
        items: list[T] = []
        if not self.accept(b")"):
            items.append(item())
            while self.accept(b" "):
                items.append(item())
            self.expect(b")")
        if not items and not allow_empty:
            raise self.error("empty list")
        return items

    def sequence_set(self) -> c.SequenceSet:
        raw = self.match(_SEQUENCE, "sequence set")[0].decode("ascii")
        if raw == "$":  # seq-last-command, RFC 5182
            return c.SequenceSet(saved=True)
        ranges = []
        for item in raw.split(","):
            found = _SEQ_ITEM.fullmatch(item)
            if found is None:
                raise self.error("invalid sequence set")
            start = self._seq_number(found[1])
            ranges.append(c.SeqRange(start, start if found[2] is None else self._seq_number(found[2])))
        return c.SequenceSet(tuple(ranges))

    def _seq_number(self, text: str) -> int | None:
        if text == "*":
            return None
        value = int(text)
        if not 0 < value <= MAX_NUMBER:
            raise self.error("sequence number out of range")
        return value

    def flag(self) -> str:
        # flag = "\Answered" / ... / flag-keyword / flag-extension
        if self.accept(b"\\"):
            name = "\\" + self.atom()
            return _SYSTEM_FLAGS.get(name.upper(), name)
        return self.atom()

    def flag_list(self) -> tuple[str, ...]:
        return tuple(self.parens(self.flag))

    def search_tokens(self, depth: int = 0) -> tuple[c.SearchToken, ...]:
        tokens = [self.search_token(depth)]
        while self.accept(b" "):
            tokens.append(self.search_token(depth))
        return tuple(tokens)

    def search_token(self, depth: int) -> c.SearchToken:
        if self.accept(b"("):
            if depth >= MAX_NESTING:
                raise self.error("too deeply nested")
            inner = self.search_tokens(depth + 1)
            self.expect(b")")
            return inner
        if self.at(b'"') or self.at(b"{"):
            return self.string()
        return self.match(_SEARCH_WORD, "search key")[0].decode("ascii")


def _parse_command(data: bytes) -> c.Command:
    reader = _Reader(data)
    found = _TAG.match(data)
    if found is None or data[found.end() : found.end() + 1] != b" ":
        raise ParseError(None, "expected tag and command")
    reader.tag = found[0].decode("ascii")
    reader.pos = found.end() + 1
    name = reader.keyword()
    uid = name == "UID"
    if uid:
        reader.sp()
        name = "UID " + reader.keyword()
    handler = _HANDLERS.get(name)
    if handler is None:
        raise reader.error(f"unknown command {name}")
    command = handler(reader, reader.tag)
    reader.end()
    return command


def _no_arguments(cls: type[c.Command]) -> Callable[[_Reader, str], c.Command]:
    return lambda _reader, tag: cls(tag)


def _login(r: _Reader, tag: str) -> c.Command:
    r.sp()
    user = r.text(r.astring())
    r.sp()
    return c.Login(tag, user, r.text(r.astring()))


def _authenticate(r: _Reader, tag: str) -> c.Command:
    # authenticate = "AUTHENTICATE" SP auth-type [SP (base64 / "=")]  (RFC 9051, RFC 4959)
    r.sp()
    mechanism = r.keyword()
    if not r.accept(b" "):
        return c.Authenticate(tag, mechanism)
    if r.accept(b"="):
        return c.Authenticate(tag, mechanism, "")
    raw = r.match(_BASE64, "base64")[0]
    if not raw or len(raw) % 4:
        raise r.error("invalid base64")
    return c.Authenticate(tag, mechanism, raw.decode("ascii"))


def _select(cls: type[c.Select]) -> Callable[[_Reader, str], c.Command]:
    # select = "SELECT" SP mailbox [select-params]; CONDSTORE is RFC 7162 §3.1.8
    def parse(r: _Reader, tag: str) -> c.Command:
        r.sp()
        mailbox = r.mailbox()
        params: list[str] = []
        if r.accept(b" "):
            params = r.parens(r.keyword, allow_empty=False)
        if any(p != "CONDSTORE" for p in params):
            raise r.error("unsupported SELECT parameter")
        return cls(tag, mailbox, condstore=bool(params))

    return parse


def _one_mailbox(cls: Callable[[str, str], c.Command]) -> Callable[[_Reader, str], c.Command]:
    def parse(r: _Reader, tag: str) -> c.Command:
        r.sp()
        return cls(tag, r.mailbox())

    return parse


def _rename(r: _Reader, tag: str) -> c.Command:
    r.sp()
    old = r.mailbox()
    r.sp()
    return c.Rename(tag, old, r.mailbox())


def _list(r: _Reader, tag: str) -> c.Command:
    # list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]  (RFC 5258 §5)
    r.sp()
    selection: frozenset[str] = frozenset()
    if r.at(b"("):
        selection = frozenset(r.parens(r.keyword))
        if not selection <= _LIST_SELECTION:
            raise r.error("unknown LIST selection option")
        # RFC 5258 §3: RECURSIVEMATCH modifies another selection option, and REMOTE is not one
        if "RECURSIVEMATCH" in selection and not selection & {"SUBSCRIBED", "SPECIAL-USE"}:
            raise r.error("RECURSIVEMATCH without SUBSCRIBED or SPECIAL-USE")
        r.sp()
    reference = r.text(r.astring())
    r.sp()
    patterns = tuple(r.parens(r.list_mailbox, allow_empty=False)) if r.at(b"(") else (r.list_mailbox(),)
    options: dict[str, tuple[str, ...]] = {}
    if r.accept(b" "):
        r.expect(b"RETURN ")
        options = dict(r.parens(lambda: _list_return_option(r)))
    return c.List(tag, reference, patterns, selection, frozenset(options), options.get("STATUS", ()))


def _list_return_option(r: _Reader) -> tuple[str, tuple[str, ...]]:
    option = r.keyword()
    if option not in _LIST_RETURN:
        raise r.error("unknown LIST return option")
    if option == "STATUS":  # RFC 5819 §2: STATUS (status-att ...)
        r.sp()
        return option, _status_items(r)
    return option, ()


def _status_items(r: _Reader) -> tuple[str, ...]:
    items = tuple(r.parens(r.keyword, allow_empty=False))
    if not set(items) <= _STATUS_ITEMS:
        raise r.error("unknown STATUS item")
    return items


def _lsub(r: _Reader, tag: str) -> c.Command:
    r.sp()
    reference = r.text(r.astring())
    r.sp()
    return c.Lsub(tag, reference, r.list_mailbox())


def _status(r: _Reader, tag: str) -> c.Command:
    r.sp()
    mailbox = r.mailbox()
    r.sp()
    return c.Status(tag, mailbox, _status_items(r))


def _append(r: _Reader, tag: str) -> c.Command:
    # append = "APPEND" SP mailbox [SP flag-list] [SP date-time] SP literal  (literal8: RFC 3516)
    r.sp()
    mailbox = r.mailbox()
    r.sp()
    flags: tuple[str, ...] = ()
    date_time = None
    if r.at(b"("):
        flags = r.flag_list()
        r.sp()
    if r.at(b'"'):
        date_time = _date_time(r)
        r.sp()
    message, binary = r.literal()
    return c.Append(tag, mailbox, message, flags, date_time, binary)


def _date_time(r: _Reader) -> datetime:
    found = _DATE_TIME.fullmatch(r.string())
    month = found[2].upper().decode("ascii") if found else ""
    if found is None or month not in _MONTHS:
        raise r.error("invalid date-time")
    offset = int(found[8][:2]) * 60 + int(found[8][2:])
    try:
        zone = timezone(timedelta(minutes=-offset if found[7] == b"-" else offset))
        return datetime(
            int(found[3]), _MONTHS.index(month) + 1, int(found[1]),
            int(found[4]), int(found[5]), int(found[6]), tzinfo=zone,
        )  # fmt: skip
    except ValueError:
        raise r.error("invalid date-time") from None


def _uid_expunge(r: _Reader, tag: str) -> c.Command:
    # uid-expunge = "UID" SP "EXPUNGE" SP sequence-set  (RFC 4315, RFC 9051)
    r.sp()
    return c.UidExpunge(tag, r.sequence_set())


def _search(uid: bool) -> Callable[[_Reader, str], c.Command]:
    # search = "SEARCH" [search-return-opts] SP search-program  (RFC 9051, ESEARCH RFC 4731)
    def parse(r: _Reader, tag: str) -> c.Command:
        r.sp()
        returns = None
        charset = None
        if r.accept(b"RETURN "):
            returns = tuple(r.parens(r.keyword))
            r.sp()
        if r.accept(b"CHARSET "):
            charset = r.text(r.astring()).upper()
            r.sp()
        return c.Search(tag, uid, r.search_tokens(), charset, returns)

    return parse


def _fetch(uid: bool) -> Callable[[_Reader, str], c.Command]:
    # fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" / fetch-att /
    #         "(" fetch-att *(SP fetch-att) ")") [fetch-modifiers]  (modifiers: RFC 7162 §3.1.4)
    def parse(r: _Reader, tag: str) -> c.Command:
        r.sp()
        messages = r.sequence_set()
        r.sp()
        if r.at(b"("):
            attributes = tuple(r.parens(lambda: _fetch_att(r), allow_empty=False))
        else:
            start = r.pos
            name = r.match(_FETCH_NAME, "fetch attribute")[0].decode("ascii").upper()
            if name in _MACROS:
                attributes = _MACROS[name]
            else:
                r.pos = start
                attributes = (_fetch_att(r),)
        modifiers: dict[str, int | None] = {}
        if r.accept(b" "):
            modifiers = dict(r.parens(lambda: _fetch_modifier(r, uid), allow_empty=False))
            if "VANISHED" in modifiers and "CHANGEDSINCE" not in modifiers:
                raise r.error("VANISHED needs CHANGEDSINCE")
        return c.Fetch(tag, uid, messages, attributes, modifiers.get("CHANGEDSINCE"), "VANISHED" in modifiers)

    return parse


def _fetch_modifier(r: _Reader, uid: bool) -> tuple[str, int | None]:
    # fetch-modifier = chgsince-fetch-mod / "VANISHED" (the latter UID FETCH only, RFC 7162 §3.2.6)
    name = r.keyword()
    if name == "CHANGEDSINCE":
        r.sp()
        return name, r.number(MAX_NUMBER64)
    if name == "VANISHED" and uid:
        return name, None
    raise r.error(f"unknown FETCH modifier {name}")


def _fetch_att(r: _Reader) -> c.FetchAttribute:
    name = r.match(_FETCH_NAME, "fetch attribute")[0].decode("ascii").upper()
    if name in _SIMPLE_FETCH or (name == "BODY" and not r.at(b"[")):
        return c.FetchAttribute(name)
    if name in ("BODY", "BODY.PEEK"):
        section = _section(r)
        return c.FetchAttribute("BODY", section, _partial(r), peek=name == "BODY.PEEK")
    if name in ("BINARY", "BINARY.PEEK"):  # RFC 3516 §4.2, RFC 9051
        section = _binary_section(r)
        return c.FetchAttribute("BINARY", section, _partial(r), peek=name == "BINARY.PEEK")
    if name == "BINARY.SIZE":
        return c.FetchAttribute(name, _binary_section(r))
    raise r.error(f"unknown fetch attribute {name}")


def _section_part(r: _Reader) -> list[int]:
    # section-part = nz-number *("." nz-number)
    part = [r.number(nonzero=True)]
    while r.at(b".") and r.data[r.pos + 1 : r.pos + 2].isdigit():
        r.pos += 1
        part.append(r.number(nonzero=True))
    return part


def _binary_section(r: _Reader) -> c.Section:
    # section-binary = "[" [section-part] "]"
    r.expect(b"[")
    part = [] if r.at(b"]") else _section_part(r)
    r.expect(b"]")
    return c.Section(tuple(part))


def _section(r: _Reader) -> c.Section:
    # section = "[" [section-spec] "]"; section-spec = section-msgtext / (section-part ["." section-text])
    r.expect(b"[")
    part: list[int] = []
    if r.at(b"]"):
        r.pos += 1
        return c.Section()
    if r.data[r.pos : r.pos + 1].isdigit():
        part = _section_part(r)
        if not r.accept(b"."):
            r.expect(b"]")
            return c.Section(tuple(part))
    text = r.match(_SECTION_TEXT, "section text")[0].decode("ascii").upper()
    headers: tuple[str, ...] = ()
    if text in ("HEADER.FIELDS", "HEADER.FIELDS.NOT"):
        r.sp()
        headers = tuple(h.upper() for h in r.parens(lambda: r.text(r.astring()), allow_empty=False))
    elif text not in ("HEADER", "TEXT") and not (text == "MIME" and part):
        raise r.error(f"invalid section {text}")
    r.expect(b"]")
    return c.Section(tuple(part), text, headers)


def _partial(r: _Reader) -> c.Partial | None:
    # partial = "<" number "." nz-number ">"
    if not r.accept(b"<"):
        return None
    offset = r.number()
    r.expect(b".")
    length = r.number(nonzero=True)
    r.expect(b">")
    return c.Partial(offset, length)


def _store(uid: bool) -> Callable[[_Reader, str], c.Command]:
    # store = "STORE" SP sequence-set [store-modifiers] SP store-att-flags  (modifiers: RFC 7162 §3.1.3)
    # store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))
    def parse(r: _Reader, tag: str) -> c.Command:
        r.sp()
        messages = r.sequence_set()
        r.sp()
        unchanged_since = None
        if r.accept(b"(UNCHANGEDSINCE "):
            unchanged_since = r.number(MAX_NUMBER64)
            r.expect(b") ")
        mode = "+" if r.accept(b"+") else "-" if r.accept(b"-") else ""
        r.expect(b"FLAGS")
        silent = r.accept(b".SILENT")
        r.sp()
        if r.at(b"("):
            flags = r.flag_list()
        else:
            flags_list = [r.flag()]
            while r.accept(b" "):
                flags_list.append(r.flag())
            flags = tuple(flags_list)
        return c.Store(tag, uid, messages, mode, flags, silent, unchanged_since)

    return parse


def _copy(cls: type[c.Copy], uid: bool) -> Callable[[_Reader, str], c.Command]:
    # copy = "COPY" SP sequence-set SP mailbox; move = "MOVE" ... (RFC 6851)
    def parse(r: _Reader, tag: str) -> c.Command:
        r.sp()
        messages = r.sequence_set()
        r.sp()
        return cls(tag, uid, messages, r.mailbox())

    return parse


def _enable(r: _Reader, tag: str) -> c.Command:
    # enable = "ENABLE" 1*(SP capability)  (RFC 5161)
    capabilities = []
    while r.accept(b" "):
        capabilities.append(r.keyword())
    if not capabilities:
        raise r.error("ENABLE needs a capability")
    return c.Enable(tag, tuple(capabilities))


def _id(r: _Reader, tag: str) -> c.Command:
    # id-params-list = "(" *(string SP nstring) ")" / nil  (RFC 2971 §4)
    r.sp()
    if r.accept(b"NIL"):
        return c.Id(tag, None)
    pairs: list[tuple[str, str | None]] = []
    r.expect(b"(")
    while not r.accept(b")"):
        if pairs:
            r.sp()
        key = r.text(r.string())
        r.sp()
        value = r.nstring()
        pairs.append((key, None if value is None else r.text(value)))
    return c.Id(tag, tuple(pairs))


def _get_quota(r: _Reader, tag: str) -> c.Command:
    # getquota = "GETQUOTA" SP quota-root-name  (RFC 9208 §7)
    r.sp()
    return c.GetQuota(tag, r.text(r.astring()))


_HANDLERS: dict[str, Callable[[_Reader, str], c.Command]] = {
    "CAPABILITY": _no_arguments(c.Capability),
    "NOOP": _no_arguments(c.Noop),
    "LOGOUT": _no_arguments(c.Logout),
    "STARTTLS": _no_arguments(c.StartTLS),
    "LOGIN": _login,
    "AUTHENTICATE": _authenticate,
    "SELECT": _select(c.Select),
    "EXAMINE": _select(c.Examine),
    "CREATE": _one_mailbox(c.Create),
    "DELETE": _one_mailbox(c.Delete),
    "RENAME": _rename,
    "SUBSCRIBE": _one_mailbox(c.Subscribe),
    "UNSUBSCRIBE": _one_mailbox(c.Unsubscribe),
    "LIST": _list,
    "LSUB": _lsub,
    "STATUS": _status,
    "APPEND": _append,
    "IDLE": _no_arguments(c.Idle),
    "CHECK": _no_arguments(c.Check),
    "CLOSE": _no_arguments(c.Close),
    "UNSELECT": _no_arguments(c.Unselect),
    "EXPUNGE": _no_arguments(c.Expunge),
    "UID EXPUNGE": _uid_expunge,
    "SEARCH": _search(uid=False),
    "UID SEARCH": _search(uid=True),
    "FETCH": _fetch(uid=False),
    "UID FETCH": _fetch(uid=True),
    "STORE": _store(uid=False),
    "UID STORE": _store(uid=True),
    "COPY": _copy(c.Copy, uid=False),
    "UID COPY": _copy(c.Copy, uid=True),
    "MOVE": _copy(c.Move, uid=False),
    "UID MOVE": _copy(c.Move, uid=True),
    "ENABLE": _enable,
    "ID": _id,
    "NAMESPACE": _no_arguments(c.Namespace),
    "GETQUOTAROOT": _one_mailbox(c.GetQuotaRoot),
    "GETQUOTA": _get_quota,
}


def parse_sequence_set(text: str) -> c.SequenceSet:
    """A sequence set met as a SEARCH key ("1:4,7", "$"), with the grammar of a command's."""
    reader = _Reader(text.encode("ascii", "replace") + b"\r\n")
    found = reader.sequence_set()
    reader.end()
    return found
