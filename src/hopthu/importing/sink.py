"""Where imported mail lands: one account's folders, through the store's one delivery path.

A source names its folders its own way: Exchange's "Sent Items" and "Deleted Items", Outlook's
"Junk E-mail", a Vietnamese client's "Hộp thư đến", each with its own hierarchy separator. `our_name`
maps them to ours (RFC 6154 SPECIAL-USE first, then the name), keeping the hierarchy below a special
folder ("Sent Items/2019" → "Sent/2019"). `MailboxSink.put_many` hands a batch to `MailStore.deliver_many`
with `Target`s only, as IMAP APPEND does one message: bodies deduplicated by the blob store and
made durable together, the quota counted, and nothing relayed, answered or forwarded.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from hopthu.directory.standing import quota_limit
from hopthu.errors import HopThuError
from hopthu.mail import ParsedMessage, canonical_keeping_binary, parse
from hopthu.store import Store
from hopthu.store.blobs import Staged, blob_hash
from hopthu.store.flags import keyword_text, split_flags
from hopthu.store.folders import SEPARATOR, check_name
from hopthu.store.types import Remote, Target

# Hashing a message to recognise it is CPU work: above this size it runs in a thread, so an
# import in the server's process never holds its event loop for long.
INLINE_PARSE = 64 * 1024
QUOTA_FRESH = 5.0

# Our special folders by RFC 6154 attribute, and the names other systems give them (compared after
# NFC and casefold). INBOX is INBOX everywhere (RFC 9051 §5.1).
SPECIAL_BY_USE = {
    "\\sent": "Sent",
    "\\drafts": "Drafts",
    "\\trash": "Trash",
    "\\junk": "Junk",
    "\\archive": "Archive",
}
SPECIAL_BY_NAME = {
    name.casefold(): ours
    for ours, names in {
        "INBOX": ("INBOX", "Hộp thư đến", "Inbox", "Thư đến"),
        "Sent": ("Sent", "Sent Items", "Sent Messages", "Sent Mail", "Thư đã gửi", "Đã gửi"),
        "Drafts": ("Drafts", "Draft", "Thư nháp", "Nháp"),
        "Trash": ("Trash", "Deleted Items", "Deleted Messages", "Bin", "Thùng rác", "Thư đã xóa", "Đã xóa"),
        "Junk": ("Junk", "Junk E-mail", "Junk Email", "Spam", "Bulk Mail", "Thư rác"),
        "Archive": ("Archive", "Archives", "Lưu trữ"),
    }.items()
    for name in names
}


def _prepare_all(bodies: Sequence[bytes]) -> list[tuple[bytes, ParsedMessage] | Exception]:
    """Each body made canonical and parsed, or the error it raised (one broken message must not
    cost its batch)."""
    found: list[tuple[bytes, ParsedMessage] | Exception] = []
    for data in bodies:
        try:
            found.append(_prepared(data))
        except Exception as error:
            found.append(error)
    return found


def _prepared(data: bytes) -> tuple[bytes, ParsedMessage]:
    """The message's stored form (CRLF line ends) and its parse, the CPU work of a delivery."""
    data = canonical_keeping_binary(data)
    return data, parse(data)


class OverQuota(HopThuError):
    """The account has no room left for this message (R5.1)."""


def our_name(name: str, delimiter: str | None, attributes: Sequence[str] = ()) -> str:
    """Our name for a source folder: its special folder if it is one (by SPECIAL-USE attribute,
    else by name), its hierarchy kept below, parts joined with our separator. A separator of ours
    inside a source part becomes "-", so a part never splits in two."""
    parts = name.split(delimiter) if delimiter else [name]
    parts = [unicodedata.normalize("NFC", part).replace(SEPARATOR, "-").strip() or "-" for part in parts]
    top = parts[0]
    special = next((SPECIAL_BY_USE[a.lower()] for a in attributes if a.lower() in SPECIAL_BY_USE), None)
    if special is not None and len(parts) == 1:
        top = special
    elif top.casefold() in SPECIAL_BY_NAME:
        top = SPECIAL_BY_NAME[top.casefold()]
    return check_name(SEPARATOR.join([top, *parts[1:]]))


@dataclass(frozen=True, slots=True)
class Incoming:
    """One message to import: its bytes as the source had them, its flags and keywords, and the
    date the source received it."""

    data: bytes
    flags: Sequence[str] = ()
    internal_date: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    """A batch ready to commit: its messages, each one's stored form and parse (or the error that
    made it unreadable), and the kept bodies of those readable, in order."""

    items: list[Incoming]
    made: list[tuple[bytes, ParsedMessage] | Exception]
    kept: list[Staged]


@dataclass(frozen=True, slots=True)
class Imported:
    uid: int
    size: int  # as stored (line ends made CRLF)


class MailboxSink:
    """One account's folders as an import's destination."""

    def __init__(self, store: Store, account_id: int) -> None:
        self.store = store
        self.account_id = account_id
        self._known: set[str] = set()
        self._quota: tuple[float, int] | None = None  # (when read, the account's quota)

    async def quota(self) -> int:
        """The account's quota, read again at most every `QUOTA_FRESH` seconds: asked once per
        message it was a database read per message, and an operator's change reaches an import
        within seconds (the store checks each delivery against it in the delivery transaction)."""
        now = time.monotonic()
        if self._quota is None or now - self._quota[0] > QUOTA_FRESH:
            self._quota = (now, await quota_limit(self.store.db, self.account_id))
        return self._quota[1]

    async def room(self) -> int:
        """Bytes the account may still take before its quota (R5.1); negative when over."""
        used, _ = await self.store.mail.usage(self.account_id)
        return await quota_limit(self.store.db, self.account_id) - used

    async def ensure(self, name: str) -> str:
        """Our folder `name` (see `our_name`), created with its parents when missing."""
        name = check_name(name)
        if name not in self._known:
            if await self.store.folders.find(self.account_id, name) is None:
                await self.store.folders.create(self.account_id, name)
            self._known.add(name)
        return name

    async def put_many(self, folder: str, items: Sequence[Incoming]) -> list[Imported | Exception]:
        """Store a batch in `folder` (made with `ensure`), in order: each message's `Imported`, or
        why it was not stored (`OverQuota`, a `HopThuError`, or the error that made it unreadable
        here). See `prepare` and `commit`, its two halves."""
        return await self.commit(folder, await self.prepare(items))

    async def prepare(self, items: Sequence[Incoming]) -> Prepared:
        """The CPU and disk half of storing a batch: each message made canonical and parsed, and
        the bodies made durable together (two file-system syncs for the batch, not two fsyncs a
        message). Nothing refers to them until `commit`, as with a delivery between its fsync and
        its commit; an import stopped in between finds them in place when it resumes."""
        made = await asyncio.to_thread(_prepare_all, [item.data for item in items])
        usable = [m for m in made if not isinstance(m, Exception)]
        kept = await self.store.blobs.keep_many([data for data, _ in usable]) if usable else []
        return Prepared(list(items), made, kept)

    async def commit(self, folder: str, prepared: Prepared) -> list[Imported | Exception]:
        """The database half: the prepared messages delivered to `folder` in one go (they share
        group commits), in order."""
        quota = await self.quota()
        results: list[Imported | Exception | None] = [None] * len(prepared.items)
        ready: list[tuple[int, tuple[bytes, ParsedMessage, list[Target | Remote], dt.datetime | None]]] = []
        for index, (item, made) in enumerate(zip(prepared.items, prepared.made, strict=True)):
            if isinstance(made, Exception):
                results[index] = made
                continue
            bits, keywords = split_flags(list(item.flags))
            target = Target(self.account_id, quota, folder, bits, keyword_text(keywords))
            ready.append((index, (made[0], made[1], [target], item.internal_date)))
        stored = await self.store.mail.deliver_many([message for _, message in ready], kept=prepared.kept)
        for (index, (data, _, _, _)), (done,) in zip(ready, stored, strict=True):
            if done.refused == "over_quota":
                results[index] = OverQuota("Hộp thư đã đầy dung lượng", "The mailbox is over its quota")
            elif done.refused is not None or done.uid is None:
                results[index] = HopThuError(f"Không có thư mục {folder}", f"No mailbox {folder}")
            else:
                results[index] = Imported(done.uid, len(data))
        return [result for result in results if result is not None]

    async def digest(self, data: bytes) -> str:
        """The digest the blob store gives `data` once stored (that of its canonical octets), to
        recognise a message already imported without storing it again."""
        if len(data) > INLINE_PARSE:
            return await asyncio.to_thread(_digest, data)
        return _digest(data)


def _digest(data: bytes) -> str:
    return blob_hash(canonical_keeping_binary(data))
