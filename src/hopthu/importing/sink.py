"""Where imported mail lands: one account's folders, through the store's one delivery path.

A source names its folders its own way: Exchange's "Sent Items" and "Deleted Items", Outlook's
"Junk E-mail", a Vietnamese client's "Hộp thư đến", each with its own hierarchy separator. `our_name`
maps them to ours (RFC 6154 SPECIAL-USE first, then the name), keeping the hierarchy below a special
folder ("Sent Items/2019" → "Sent/2019"). `MailboxSink.put` hands each message to `MailStore.deliver`
as IMAP APPEND does (a `Target`, no `Remote`): bodies deduplicated by the blob store, the quota
counted, and nothing relayed, answered or forwarded.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from hopthu.directory.standing import quota_limit
from hopthu.errors import HopThuError
from hopthu.mail import ParsedMessage, canonical_keeping_binary, parse
from hopthu.store import Store
from hopthu.store.blobs import blob_hash
from hopthu.store.flags import keyword_text, split_flags
from hopthu.store.folders import SEPARATOR, check_name
from hopthu.store.types import Target

# Parsing a message is CPU work: above this size it runs in a thread, so an import in the server's
# process never holds its event loop for long.
INLINE_PARSE = 64 * 1024

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
class Imported:
    uid: int
    size: int  # as stored (line ends made CRLF)


class MailboxSink:
    """One account's folders as an import's destination."""

    def __init__(self, store: Store, account_id: int) -> None:
        self.store = store
        self.account_id = account_id
        self._known: set[str] = set()

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

    async def put(
        self, folder: str, data: bytes, *, flags: Sequence[str] = (), internal_date: dt.datetime | None = None
    ) -> Imported:
        """Store one message in `folder` (made with `ensure`) with its flags, keywords and date."""
        if len(data) > INLINE_PARSE:
            data, parsed = await asyncio.to_thread(_prepared, data)
        else:
            data, parsed = _prepared(data)
        bits, keywords = split_flags(list(flags))
        quota = await quota_limit(self.store.db, self.account_id)
        target = Target(self.account_id, quota, folder, bits, keyword_text(keywords))
        (done,) = await self.store.mail.deliver(data, parsed, [target], internal_date=internal_date)
        if done.refused == "over_quota":
            raise OverQuota("Hộp thư đã đầy dung lượng", "The mailbox is over its quota")
        if done.refused is not None or done.uid is None:
            raise HopThuError(f"Không có thư mục {folder}", f"No mailbox {folder}")
        return Imported(done.uid, len(data))

    async def digest(self, data: bytes) -> str:
        """The digest the blob store gives `data` once stored (that of its canonical octets), to
        recognise a message already imported without storing it again."""
        if len(data) > INLINE_PARSE:
            return await asyncio.to_thread(_digest, data)
        return _digest(data)


def _prepared(data: bytes) -> tuple[bytes, ParsedMessage]:
    canonical = canonical_keeping_binary(data)
    return canonical, parse(canonical)


def _digest(data: bytes) -> str:
    return blob_hash(canonical_keeping_binary(data))
