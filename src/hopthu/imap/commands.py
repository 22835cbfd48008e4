"""Typed values for IMAP client commands, as produced by `hopthu.imap.parser`.

The server dispatches on these classes and never looks at wire syntax again. Keywords are
upper-cased, mailbox names are the wire text decoded as UTF-8 (modified UTF-7 decoding depends
on whether the session enabled UTF8=ACCEPT, so it belongs to the server, see `mutf7`), and
"INBOX" in any case is normalised to "INBOX" (RFC 9051 §5.1).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, TypeAlias


@dataclass(frozen=True, slots=True)
class SeqRange:
    """One element of a sequence set; None stands for "*", the largest number in use."""

    start: int | None
    stop: int | None


@dataclass(frozen=True, slots=True)
class SequenceSet:
    """RFC 9051 §9 sequence-set; `saved` is "$", the result of the last SEARCH (RFC 5182)."""

    ranges: tuple[SeqRange, ...] = ()
    saved: bool = False

    def contains(self, number: int, largest: int) -> bool:
        """Whether `number` is in the set when "*" means `largest` ("$" must be resolved first)."""
        if self.saved:
            raise ValueError("resolve '$' before testing membership")
        for item in self.ranges:
            low = largest if item.start is None else item.start
            high = largest if item.stop is None else item.stop
            if min(low, high) <= number <= max(low, high):
                return True
        return False


# A search program kept as the client wrote it: atoms as str, strings as bytes, lists as tuples.
SearchToken: TypeAlias = "str | bytes | tuple[SearchToken, ...]"


@dataclass(frozen=True, slots=True)
class Section:
    """BODY[...] / BINARY[...] section (RFC 9051 §6.4.5): part numbers, then an optional text."""

    part: tuple[int, ...] = ()
    text: str | None = None  # HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT or MIME
    headers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Partial:
    """The "<offset.length>" suffix of BODY[...] and BINARY[...]."""

    offset: int
    length: int


@dataclass(frozen=True, slots=True)
class FetchAttribute:
    """One FETCH data item; `section` is set for BODY[...], BINARY[...] and BINARY.SIZE[...]."""

    name: str
    section: Section | None = None
    partial: Partial | None = None
    peek: bool = False


@dataclass(frozen=True, slots=True)
class Command:
    """Base of every tagged command; `name` is the command as the state table knows it."""

    name: ClassVar[str]
    tag: str


@dataclass(frozen=True, slots=True)
class Capability(Command):
    name = "CAPABILITY"


@dataclass(frozen=True, slots=True)
class Noop(Command):
    name = "NOOP"


@dataclass(frozen=True, slots=True)
class Logout(Command):
    name = "LOGOUT"


@dataclass(frozen=True, slots=True)
class StartTLS(Command):
    name = "STARTTLS"


@dataclass(frozen=True, slots=True)
class Login(Command):
    name = "LOGIN"
    username: str
    password: str


@dataclass(frozen=True, slots=True)
class Authenticate(Command):
    """`initial_response` is the SASL-IR base64 text (RFC 4959); "" for "=", None if absent."""

    name = "AUTHENTICATE"
    mechanism: str
    initial_response: str | None = None


@dataclass(frozen=True, slots=True)
class Select(Command):
    name = "SELECT"
    mailbox: str
    condstore: bool = False


@dataclass(frozen=True, slots=True)
class Examine(Select):
    name = "EXAMINE"


@dataclass(frozen=True, slots=True)
class Create(Command):
    name = "CREATE"
    mailbox: str


@dataclass(frozen=True, slots=True)
class Delete(Command):
    name = "DELETE"
    mailbox: str


@dataclass(frozen=True, slots=True)
class Rename(Command):
    name = "RENAME"
    mailbox: str
    new_name: str


@dataclass(frozen=True, slots=True)
class Subscribe(Command):
    name = "SUBSCRIBE"
    mailbox: str


@dataclass(frozen=True, slots=True)
class Unsubscribe(Command):
    name = "UNSUBSCRIBE"
    mailbox: str


@dataclass(frozen=True, slots=True)
class List(Command):
    """LIST with the LIST-EXTENDED options (RFC 5258) and LIST-STATUS (RFC 5819)."""

    name = "LIST"
    reference: str
    patterns: tuple[str, ...]
    selection: frozenset[str] = frozenset()
    returns: frozenset[str] = frozenset()
    status_items: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Lsub(Command):
    name = "LSUB"
    reference: str
    pattern: str


@dataclass(frozen=True, slots=True)
class Status(Command):
    name = "STATUS"
    mailbox: str
    items: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Append(Command):
    """APPEND of one message; `binary` when it came as a literal8 (RFC 3516)."""

    name = "APPEND"
    mailbox: str
    message: bytes
    flags: tuple[str, ...] = ()
    date_time: datetime | None = None
    binary: bool = False


@dataclass(frozen=True, slots=True)
class Idle(Command):
    name = "IDLE"


@dataclass(frozen=True, slots=True)
class Check(Command):
    name = "CHECK"


@dataclass(frozen=True, slots=True)
class Close(Command):
    name = "CLOSE"


@dataclass(frozen=True, slots=True)
class Unselect(Command):
    name = "UNSELECT"


@dataclass(frozen=True, slots=True)
class Expunge(Command):
    name = "EXPUNGE"


@dataclass(frozen=True, slots=True)
class UidExpunge(Command):
    name = "UID EXPUNGE"
    uids: SequenceSet


@dataclass(frozen=True, slots=True)
class Search(Command):
    """SEARCH / UID SEARCH; `returns` holds the ESEARCH RETURN options (RFC 4731), None if absent."""

    name = "SEARCH"
    uid: bool
    keys: tuple[SearchToken, ...]
    charset: str | None = None
    returns: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Fetch(Command):
    """FETCH / UID FETCH with macros expanded; CHANGEDSINCE/VANISHED from RFC 7162."""

    name = "FETCH"
    uid: bool
    messages: SequenceSet
    attributes: tuple[FetchAttribute, ...]
    changed_since: int | None = None
    vanished: bool = False


@dataclass(frozen=True, slots=True)
class Store(Command):
    """STORE / UID STORE; `mode` is "+" (add), "-" (remove) or "" (replace)."""

    name = "STORE"
    uid: bool
    messages: SequenceSet
    mode: str
    flags: tuple[str, ...]
    silent: bool = False
    unchanged_since: int | None = None


@dataclass(frozen=True, slots=True)
class Copy(Command):
    name = "COPY"
    uid: bool
    messages: SequenceSet
    mailbox: str


@dataclass(frozen=True, slots=True)
class Move(Copy):
    name = "MOVE"


@dataclass(frozen=True, slots=True)
class Enable(Command):
    name = "ENABLE"
    capabilities: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Id(Command):
    """ID (RFC 2971); `parameters` is None for "ID NIL"."""

    name = "ID"
    parameters: tuple[tuple[str, str | None], ...] | None


@dataclass(frozen=True, slots=True)
class Namespace(Command):
    name = "NAMESPACE"


@dataclass(frozen=True, slots=True)
class GetQuotaRoot(Command):
    name = "GETQUOTAROOT"
    mailbox: str


@dataclass(frozen=True, slots=True)
class GetQuota(Command):
    name = "GETQUOTA"
    root: str


@dataclass(frozen=True, slots=True)
class Done:
    """The untagged "DONE" line that ends IDLE (RFC 2177)."""


@dataclass(frozen=True, slots=True)
class SaslResponse:
    """A client line during AUTHENTICATE: base64 `data`, or `cancelled` for "*" (RFC 9051 §6.2.2)."""

    data: str
    cancelled: bool = False
