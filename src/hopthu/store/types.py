"""The values that cross the store's wall: what callers hand in and the typed rows they get back.

Delivery's targets and results, a message as read for IMAP and POP3, a message's flags, and the
criteria of a search. They live here, apart from the modules that use them, so that `delivery` (one
group-commit transaction) and `mailstore` (the queue in front of it) share them without importing
each other, and so that protocol rooms (imap/, pop3/) name a search or a row without SQL.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Protocol

if TYPE_CHECKING:
    from hopthu.store.blobs import Staged
    from hopthu.store.maillog import LogEntry

# --- delivery -----------------------------------------------------------------------------------


class Parsed(Protocol):
    """What delivery needs of a parsed message (see `hopthu.mail`)."""

    @property
    def header_end(self) -> int: ...
    @property
    def envelope(self) -> Any: ...
    @property
    def structure(self) -> Any: ...
    @property
    def subject(self) -> str: ...
    @property
    def sender(self) -> str: ...
    @property
    def sent_at(self) -> dt.datetime | None: ...
    @property
    def has_attachments(self) -> bool: ...
    @property
    def preview(self) -> str: ...
    @property
    def search_text(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Target:
    """One mailbox a message goes into; `quota` is the account's limit from the directory."""

    account_id: int
    quota: int
    mailbox: str = "INBOX"
    flags: int = 0
    keywords: str | None = None


@dataclass(frozen=True, slots=True)
class Remote:
    """A recipient in another domain: the message waits in the outbound queue for it."""

    sender: str  # envelope sender; "" for bounces and notices
    recipient: str
    account_id: int | None = None  # who sent it, when one of ours did


Refusal = Literal["over_quota", "no_mailbox"]


@dataclass(frozen=True, slots=True)
class Delivered:
    target: Target | Remote
    mailbox_id: int | None = None
    uid: int | None = None
    queue_id: int | None = None
    refused: Refusal | None = None


@dataclass(slots=True)
class DeliveryJob:
    """One message waiting for the next group commit: its body (already staged in the blob store),
    where it goes, and the future its caller awaits."""

    data: bytes
    staged: Staged
    parsed: Parsed
    targets: Sequence[Target | Remote]
    internal_date: dt.datetime
    prefix: bytes | None
    future: asyncio.Future[list[Delivered]] = field(repr=False)
    log: LogEntry | None = None  # its mail log entry, written in the same transaction (R13.1)

    @property
    def digest(self) -> str:
        return self.staged.digest

    @property
    def stored_size(self) -> int:
        return self.staged.stored_size


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MailboxState:
    """What a session compares with what it last saw, to know whether anything changed."""

    uidvalidity: int
    uidnext: int
    highestmodseq: int
    message_count: int
    unseen_count: int
    recent_uid: int = 1  # the first UID not yet claimed as \Recent (`store.recent`)


class MailboxOpening(NamedTuple):
    """A mailbox as SELECT finds it, read in one statement (one snapshot): its counters, the highest
    UID it holds, and for `[UNSEEN n]` the sequence number of the first unseen message."""

    state: MailboxState
    last_uid: int  # 0: empty
    first_unseen: int | None  # a sequence number


class UidsBelow(NamedTuple):
    """Some UIDs under a bound, and how many messages under that bound the mailbox held in the same
    snapshot: a session loading its sequence map a part at a time checks the part against it."""

    uids: list[int]
    below: int


class FlagRow(NamedTuple):
    """A message's flags and the MODSEQ of their last change (RFC 7162 §3.1). A tuple: a session
    told of a change to 50,000 messages makes one per message."""

    uid: int
    flags: int
    keywords: str | None
    modseq: int


# The stored fields of a message a reader may ask for (besides its UID, always read).
MessageField = Literal[
    "flags",
    "keywords",
    "modseq",
    "internal_date",
    "size",
    "envelope",
    "structure",
    "blob_hash",
    "prefix",
    "header_end",
    "sent_at",
    "subject",
    "sender",
    "search_text",
    "sent_day",
]
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class StoredMessage(NamedTuple):
    """A message as IMAP (and the webmail, one message at a time) reads it. Only the fields asked
    for are read from the database (fetching the flags of 50,000 messages reads three small
    columns, not the envelopes); the others keep these empty values, which a reader that did not
    ask for them never looks at. A tuple, made without a call per field: a FETCH of a whole
    mailbox makes one per message."""

    uid: int
    flags: int = 0
    keywords: str | None = None
    modseq: int = 0
    internal_date: dt.datetime = EPOCH
    size: int = 0
    # `mail.envelope.Envelope` and `mail.structure.Node`, as stored (JSON); the shared empty
    # default is never changed, readers only read
    envelope: dict[str, Any] = {}  # noqa: RUF012
    structure: dict[str, Any] = {}  # noqa: RUF012
    blob_hash: str = ""
    prefix: bytes | None = None  # headers added at delivery, served before the stored body
    header_end: int = 0
    sent_at: dt.datetime | None = None
    subject: str = ""
    sender: str = ""
    search_text: str = ""
    sent_day: dt.date | None = None  # the Date header's own day (`mail.headers.sent_day`)


# --- searching ----------------------------------------------------------------------------------
# A search the database answers, as a tree: the protocol says what a key means, the store turns the
# tree into SQL (`store.searching`). Each leaf is exact, so a key means the same in either place.


@dataclass(frozen=True, slots=True)
class Always:
    """Every message (`True`) or none (`False`)."""

    value: bool


@dataclass(frozen=True, slots=True)
class HasFlag:
    """The system flag `bit` (`store.flags`) is set (`wanted`) or not."""

    bit: int
    wanted: bool


@dataclass(frozen=True, slots=True)
class HasKeyword:
    """The keyword `name` (upper case; keywords match regardless of case) is set or not."""

    name: str
    wanted: bool


@dataclass(frozen=True, slots=True)
class InPeriod:
    """`since` <= the date < `before` (either bound may be open); "sent" is the Date header's moment,
    or the arrival when the message has none."""

    date: Literal["internal", "sent"]
    since: dt.datetime | None
    before: dt.datetime | None


@dataclass(frozen=True, slots=True)
class SentDays:
    """`since` <= the day the message says it was written < `before` (either bound may be open): the
    Date header's own calendar day, whatever its time zone (`mail.headers.sent_day`)."""

    since: dt.date | None
    before: dt.date | None


@dataclass(frozen=True, slots=True)
class SizeBeyond:
    """The message is larger (`larger`) or smaller than `size` octets."""

    size: int
    larger: bool


@dataclass(frozen=True, slots=True)
class UidRuns:
    """The UID is in one of these inclusive runs."""

    runs: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class ModseqFrom:
    """The MODSEQ is at least `modseq` (RFC 7162 §3.1.5)."""

    modseq: int


@dataclass(frozen=True, slots=True)
class TextHas:
    """The folded search text (`mail.searchtext`: the words of the text parts, then the header's)
    contains `needle`; with `body_only`, among the words of the text parts (SEARCH BODY)."""

    needle: str
    body_only: bool = False


@dataclass(frozen=True, slots=True)
class FieldHas:
    """A header field folded at delivery (`hopthu.text.fold`, white space as it is) contains `needle`:
    "subject" (SEARCH SUBJECT: the stored sort key, or the whole folded subject where the key is not
    all of it, `mail.sortkeys.folded_subject`) or "from" (SEARCH FROM: its names and addresses,
    `mail.envelope.searched_text`)."""

    field: Literal["subject", "from"]
    needle: str


@dataclass(frozen=True, slots=True)
class Negation:
    criterion: Criterion


@dataclass(frozen=True, slots=True)
class Either:
    criteria: tuple[Criterion, ...]


@dataclass(frozen=True, slots=True)
class Each:
    criteria: tuple[Criterion, ...]


Criterion = (
    Always
    | HasFlag
    | HasKeyword
    | InPeriod
    | SentDays
    | SizeBeyond
    | UidRuns
    | ModseqFrom
    | TextHas
    | FieldHas
    | Negation
    | Either
    | Each
)
