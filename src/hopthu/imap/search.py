"""SEARCH (RFC 9051 §6.4.4, CONDSTORE's MODSEQ key RFC 7162 §3.1.5): a program compiled once into a tree.

What a key means is said once, in Python (`matches`); keys that the database can answer exactly
(flags, keywords, dates, sizes, UIDs, MODSEQ, TEXT/BODY over the folded search text, SUBJECT and
FROM over their fields folded at delivery) are also translated to the store's criteria
(`store.types.Criterion`), which the store compiles to SQL, so "UNSEEN SINCE 1-Mar-2026" on a
50,000-message mailbox is one indexed query. Only what SQL cannot say (To/Cc/Bcc folded,
HEADER) is checked in Python, on the rows SQL already narrowed down. Text matches fold Vietnamese
on both sides: `nguyen` finds `Nguyễn`.
TEXT and BODY both look in the message's search text (its header fields, subject, addresses, the
words of its text parts), which is what a person means by either; TO/CC first narrow to the
messages whose search text holds the needle (the full-text index), then are checked exactly.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hopthu.imap import commands as c
from hopthu.imap.parser import ParseError, parse_sequence_set
from hopthu.imap.responses import ImapRefusal, bad
from hopthu.mail.envelope import searched_text
from hopthu.mail.headers import decode_words
from hopthu.mail.searchtext import MARK
from hopthu.policy.dates import VIETNAM
from hopthu.store.flags import ANSWERED, DELETED, DRAFT, FLAGGED, SEEN, keyword_list
from hopthu.store.reading import uid_runs
from hopthu.store.types import (
    Always,
    Criterion,
    Each,
    Either,
    FieldHas,
    HasFlag,
    HasKeyword,
    InPeriod,
    MessageField,
    ModseqFrom,
    Negation,
    SentDays,
    SizeBeyond,
    StoredMessage,
    TextHas,
    UidRuns,
)
from hopthu.text import fold

CHARSETS = ("UTF-8", "US-ASCII")
MAX_SQL_RUNS = 200
_FLAG_KEYS = {
    "ANSWERED": (ANSWERED, True),
    "DELETED": (DELETED, True),
    "DRAFT": (DRAFT, True),
    "FLAGGED": (FLAGGED, True),
    "SEEN": (SEEN, True),
    "UNANSWERED": (ANSWERED, False),
    "UNDELETED": (DELETED, False),
    "UNDRAFT": (DRAFT, False),
    "UNFLAGGED": (FLAGGED, False),
    "UNSEEN": (SEEN, False),
}
_DATE_KEYS = {
    "BEFORE": ("internal", "<"),
    "ON": ("internal", "="),
    "SINCE": ("internal", ">="),
    "SENTBEFORE": ("sent", "<"),
    "SENTON": ("sent", "="),
    "SENTSINCE": ("sent", ">="),
}
_TEXT_KEYS = ("FROM", "TO", "CC", "BCC", "SUBJECT", "TEXT", "BODY")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DATE = re.compile(r"([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4})")


@dataclass(frozen=True, slots=True)
class Key:
    kind: str  # all | none | flag | keyword | date | size | uids | text | header | modseq | not | or | and
    args: tuple[Any, ...] = ()


Resolve = Callable[[c.SequenceSet, bool], list[int]]


MAX_SEARCH_KEYS = 500  # keys in one program; real clients send a handful
MAX_SEARCH_DEPTH = 64  # NOT/OR/parentheses nested: each level is a Python frame and a SQL clause
MAX_SET_KEYS = 32  # distinct sequence sets: each becomes a set of UIDs as large as the mailbox


def _limit(vi: str, en: str) -> ImapRefusal:
    return ImapRefusal(vi, en, "LIMIT")  # RFC 5530 §3: an implementation limit


class _Compiler:
    """Walks the tokens once (a deque, so taking the next token costs O(1), not O(n)), counting what
    a client could otherwise inflate: the number of keys, their nesting, and the sequence sets that
    each turn into a set of UIDs as large as the mailbox (the same set named twice is resolved once)."""

    def __init__(self, resolve: Resolve, recent: Callable[[], frozenset[int]]) -> None:
        self.resolve = resolve
        self._recent = recent
        self._recent_uids: frozenset[int] | None = None
        self.keys = 0
        self.sets: dict[tuple[str, bool], frozenset[int]] = {}

    def recent(self) -> frozenset[int]:
        """The session's \\Recent UIDs, asked for only when a key names them."""
        if self._recent_uids is None:
            self._recent_uids = self._recent()
        return self._recent_uids

    def count(self, depth: int) -> None:
        self.keys += 1
        if self.keys > MAX_SEARCH_KEYS:
            raise _limit(
                f"Tối đa {MAX_SEARCH_KEYS} điều kiện tìm kiếm", f"At most {MAX_SEARCH_KEYS} search keys"
            )
        if depth > MAX_SEARCH_DEPTH:
            raise _limit("Điều kiện tìm kiếm lồng nhau quá sâu", "Search keys nested too deeply")

    def uids(self, token: str | bytes, uid: bool) -> frozenset[int]:
        text = token.decode("ascii", "replace") if isinstance(token, bytes) else token
        found = self.sets.get((text, uid))
        if found is None:
            if len(self.sets) >= MAX_SET_KEYS:
                raise _limit(f"Tối đa {MAX_SET_KEYS} tập số thư", f"At most {MAX_SET_KEYS} message sets")
            found = self.sets[(text, uid)] = _resolved(text, self.resolve, uid)
        return found


def compile_program(
    tokens: tuple[c.SearchToken, ...], resolve: Resolve, recent: Callable[[], frozenset[int]] = frozenset
) -> Key:
    """The search program as a tree; `resolve(set, is_uid)` gives the UIDs a set names, `recent`
    those that are \\Recent in this session (RFC 3501 §2.3.2)."""
    compiler = _Compiler(resolve, recent)
    stream = deque(tokens)
    keys = []
    while stream:
        keys.append(_key(stream, compiler, 0))
    return keys[0] if len(keys) == 1 else Key("and", tuple(keys))


def _atom(stream: deque[c.SearchToken], what: str) -> str | bytes:
    if not stream:
        raise bad("Thiếu tham số tìm kiếm", f"missing {what}")
    token = stream.popleft()
    if isinstance(token, tuple):
        raise bad("Tham số tìm kiếm sai", f"expected {what}")
    return token


def _string(stream: deque[c.SearchToken]) -> str:
    token = _atom(stream, "string")
    if isinstance(token, bytes):
        try:
            return token.decode("utf-8")
        except UnicodeDecodeError:
            raise ImapRefusal(
                "Chuỗi tìm kiếm không phải UTF-8", "search string is not UTF-8", "BADCHARSET (UTF-8 US-ASCII)"
            ) from None
    return token


def _number(stream: deque[c.SearchToken], limit: int = 2**63 - 1) -> int:
    token = _atom(stream, "number")
    text = token.decode("ascii", "replace") if isinstance(token, bytes) else token
    if not text.isdigit() or int(text) > limit:
        raise bad("Cần một số", "expected a number")
    return int(text)


def _date(stream: deque[c.SearchToken]) -> dt.date:
    token = _atom(stream, "date")
    text = token.decode("ascii", "replace") if isinstance(token, bytes) else token
    found = _DATE.fullmatch(text)
    if found is None or found[2].upper() not in _MONTHS:
        raise bad("Ngày không hợp lệ", f"invalid date {text!r}")
    try:
        return dt.date(int(found[3]), _MONTHS.index(found[2].upper()) + 1, int(found[1]))
    except ValueError:
        raise bad("Ngày không hợp lệ", f"invalid date {text!r}") from None


def _key(stream: deque[c.SearchToken], compiler: _Compiler, depth: int) -> Key:
    compiler.count(depth)
    token = stream.popleft()
    if isinstance(token, tuple):
        inner = deque(token)
        keys = []
        while inner:
            keys.append(_key(inner, compiler, depth + 1))
        return keys[0] if len(keys) == 1 else Key("and", tuple(keys))
    if isinstance(token, bytes):
        raise bad("Khóa tìm kiếm không hợp lệ", "a string where a search key was expected")
    name = token.upper()
    if name == "ALL":
        return Key("all")
    if name in ("RECENT", "NEW", "OLD"):  # RFC 3501 §6.4.4: NEW is RECENT UNSEEN, OLD is NOT RECENT
        recent = Key("uids", (compiler.recent(),))
        if name == "OLD":
            return Key("not", (recent,))
        return recent if name == "RECENT" else Key("and", (recent, Key("flag", (SEEN, False))))
    if name in _FLAG_KEYS:
        return Key("flag", _FLAG_KEYS[name])
    if name in ("KEYWORD", "UNKEYWORD"):
        return Key("keyword", (_string(stream).upper(), name == "KEYWORD"))
    if name in _DATE_KEYS:
        column, op = _DATE_KEYS[name]
        return Key("date", (column, op, _date(stream)))
    if name in ("LARGER", "SMALLER"):
        return Key("size", (">" if name == "LARGER" else "<", _number(stream)))
    if name in _TEXT_KEYS:
        return Key("text", (name, fold(_string(stream))))
    if name == "HEADER":
        field = _string(stream)
        return Key("header", (field.lower(), fold(_string(stream))))
    if name == "NOT":
        return Key("not", (_key(stream, compiler, depth + 1),))
    if name == "OR":
        return Key("or", (_key(stream, compiler, depth + 1), _key(stream, compiler, depth + 1)))
    if name == "UID":
        return Key("uids", (compiler.uids(_atom(stream, "UID set"), True),))
    if name == "MODSEQ":
        # RFC 7162 §3.1.5: MODSEQ [entry-name entry-type-req] mod-sequence-valzer
        if len(stream) >= 3 and isinstance(stream[0], bytes):
            stream.popleft()
            stream.popleft()
        return Key("modseq", (_number(stream),))
    if name[:1].isdigit() or name[:1] in "*$":
        return Key("uids", (compiler.uids(token, False),))
    raise bad("Khóa tìm kiếm không biết", f"unknown search key {token}")


def _resolved(text: str, resolve: Resolve, uid: bool) -> frozenset[int]:
    try:
        found = parse_sequence_set(text)
    except ParseError:
        raise bad("Tập số thư không hợp lệ", f"invalid sequence set {text!r}") from None
    return frozenset(resolve(found, uid))


# --- what the store answers -------------------------------------------------------------------


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    # RFC 9051 §6.4.4: dates disregard time and timezone; days here are Vietnam's days.
    start = dt.datetime(day.year, day.month, day.day, tzinfo=VIETNAM)
    return start, start + dt.timedelta(days=1)


def to_criterion(key: Key) -> Criterion | None:
    """What `key` asks of the store when the database can answer it exactly, else None."""
    kind, args = key.kind, key.args
    if kind == "all":
        return Always(True)
    if kind == "none":
        return Always(False)
    if kind == "flag":
        return HasFlag(*args)
    if kind == "keyword":
        return HasKeyword(*args)
    if kind == "date" and args[0] == "sent":
        # RFC 3501 §6.4.4: SENT* compare the Date header's own day, in its own time zone (Dovecot too)
        _column, op, day = args
        after = day + dt.timedelta(days=1)
        return SentDays(None, day) if op == "<" else SentDays(day, None if op == ">=" else after)
    if kind == "date":
        column_name, op, day = args
        start, end = _day_bounds(day)
        since, before = (None, start) if op == "<" else (start, None) if op == ">=" else (start, end)
        return InPeriod(column_name, since, before)
    if kind == "size":
        op, size = args
        return SizeBeyond(size, op == ">")
    if kind == "uids":
        runs = uid_runs(sorted(args[0]))
        if len(runs) > MAX_SQL_RUNS:
            return None  # a scattered set is checked in Python on what the other keys left
        return UidRuns(tuple(runs))
    if kind == "modseq":
        return ModseqFrom(args[0])
    if kind == "text" and args[0] in ("TEXT", "BODY"):
        return TextHas(args[1], body_only=args[0] == "BODY")
    if kind == "text" and args[0] in ("SUBJECT", "FROM"):
        # folded at delivery and kept; the store narrows a rare word by the full-text index first
        return FieldHas("subject" if args[0] == "SUBJECT" else "from", args[1])
    if kind in ("not", "or", "and"):
        parts = [to_criterion(child) for child in args]
        present = [part for part in parts if part is not None]
        if len(present) < len(parts):
            return None
        if kind == "not":
            return Negation(present[0])
        return Either(tuple(present)) if kind == "or" else Each(tuple(present))
    return None


def split(key: Key) -> tuple[list[Criterion], list[Key]]:
    """The conjuncts of `key` the store can answer, and the rest for `matches`."""
    conjuncts = key.args if key.kind == "and" else (key,)
    in_store: list[Criterion] = []
    in_python: list[Key] = []
    for part in conjuncts:
        criterion = to_criterion(part)
        if criterion is None:
            in_python.append(part)
            if (narrowing := _prefilter(part)) is not None:
                in_store.append(narrowing)
        else:
            in_store.append(criterion)
    return in_store, in_python


_PREFILTERED = ("TO", "CC")


def _prefilter(key: Key) -> Criterion | None:
    """For TO/CC, the search text holding the needle: a superset the index answers fast (the search
    text holds these fields' names and addresses, white space runs made single), which `matches`
    then checks exactly. None when that would not be a superset."""
    if key.kind != "text" or key.args[0] not in _PREFILTERED:
        return None
    needle: str = key.args[1]
    return TextHas(needle) if needle and " ".join(needle.split()) == needle else None


# --- Python -------------------------------------------------------------------------------------

_TEXT_COLUMN: dict[str, MessageField] = {"SUBJECT": "subject", "TEXT": "search_text", "BODY": "search_text"}


def needs(keys: list[Key]) -> set[MessageField]:
    """The fields `matches` reads for these keys."""
    found: set[MessageField] = set()
    for key in keys:
        if key.kind in ("not", "or", "and"):
            found |= needs(list(key.args))
        elif key.kind == "text":
            found.add(_TEXT_COLUMN.get(key.args[0], "envelope"))
        elif key.kind == "header":
            found |= {"blob_hash", "prefix", "header_end"}
        else:
            found |= {"flags", "keywords", "internal_date", "sent_day", "size", "modseq"}
    return found


def needs_headers(keys: list[Key]) -> bool:
    return any(
        key.kind == "header" or (key.kind in ("not", "or", "and") and needs_headers(list(key.args)))
        for key in keys
    )


def matches(key: Key, row: StoredMessage, headers: dict[str, list[str]] | None = None) -> bool:
    """Whether the message in `row` satisfies `key`; `headers` are its folded header fields."""
    kind, args = key.kind, key.args
    if kind == "and":
        return all(matches(child, row, headers) for child in args)
    if kind == "or":
        return matches(args[0], row, headers) or matches(args[1], row, headers)
    if kind == "not":
        return not matches(args[0], row, headers)
    if kind == "all":
        return True
    if kind == "none":
        return False
    if kind == "flag":
        return bool(row.flags & args[0]) is bool(args[1])
    if kind == "keyword":
        return (args[0] in {k.upper() for k in keyword_list(row.keywords)}) is bool(args[1])
    if kind == "date" and args[0] == "sent":
        _column, op, day = args
        sent = row.sent_day
        if sent is None:
            return False
        return bool(sent < day if op == "<" else sent >= day if op == ">=" else sent == day)
    if kind == "date":
        _column, op, day = args
        moment = row.internal_date
        start, end = _day_bounds(day)
        return bool(moment < start if op == "<" else moment >= start if op == ">=" else start <= moment < end)
    if kind == "size":
        return bool(row.size > args[1] if args[0] == ">" else row.size < args[1])
    if kind == "uids":
        return row.uid in args[0]
    if kind == "modseq":
        return bool(row.modseq >= args[0])
    if kind == "text":
        return bool(args[1] in _field_text(row, args[0]))
    if kind == "header":
        name, needle = args
        values = (headers or {}).get(name)
        return values is not None and any(needle in value for value in values)
    raise AssertionError(kind)


def _field_text(row: StoredMessage, field: str) -> str:
    if field == "TEXT":
        return row.search_text
    if field == "BODY":  # the words before the header's (`mail.searchtext.MARK`)
        return row.search_text.partition(MARK)[0]
    if field == "SUBJECT":
        return fold(row.subject)
    return searched_text((row.envelope or {}).get(field.lower()))


def header_fields(header: bytes) -> dict[str, list[str]]:
    """A header block's fields by lower-case name, values unfolded, decoded and folded."""
    fields: dict[str, list[str]] = {}
    for line in re.split(rb"\r\n(?![ \t])", header):
        name, colon, value = line.partition(b":")
        if not colon:
            continue
        text = decode_words(re.sub(rb"\r\n[ \t]", b" ", value).strip())
        fields.setdefault(name.strip().decode("ascii", "replace").lower(), []).append(fold(text))
    return fields
