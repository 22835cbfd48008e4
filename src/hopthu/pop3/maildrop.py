"""A POP3 session's view of an account's INBOX: numbered messages, frozen when the session opens.

RFC 1939 §8 lets a session number messages once and keep those numbers: mail arriving later is left
for the next session, and a message removed elsewhere (IMAP, webmail) answers -ERR when asked for.
Deletions are only marks until QUIT; only then are they removed from the store. Uids and sizes sit in
two compact arrays, so a session over a mailbox of 100,000 messages holds about 1.6 MB.

One POP3 session per maildrop at a time (RFC 1939 §8 "exclusive-access lock"): `MaildropLocks`
keeps the open mailboxes of this process.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field

from hopthu.store import Store, reading
from hopthu.store.mailstore import MailboxInfo


class MaildropLocks:
    """The mailboxes a POP3 session holds open in this process."""

    def __init__(self) -> None:
        self._held: set[int] = set()

    def acquire(self, mailbox_id: int) -> bool:
        if mailbox_id in self._held:
            return False
        self._held.add(mailbox_id)
        return True

    def release(self, mailbox_id: int) -> None:
        self._held.discard(mailbox_id)

    def __contains__(self, mailbox_id: int) -> bool:
        return mailbox_id in self._held

    def __len__(self) -> int:
        return len(self._held)


@dataclass
class Maildrop:
    mailbox_id: int
    uidvalidity: int
    uids: array[int] = field(default_factory=lambda: array("q"))
    sizes: array[int] = field(default_factory=lambda: array("q"))
    deleted: set[int] = field(default_factory=set)  # message numbers marked by DELE

    @classmethod
    async def open(cls, store: Store, box: MailboxInfo) -> Maildrop:
        """The mailbox's messages as they are now, numbered 1.. in uid order (arrival order)."""
        uids, sizes = await reading.uids_and_sizes(store.db, box.id)
        return cls(box.id, box.uidvalidity, array("q", uids), array("q", sizes))

    def exists(self, number: int) -> bool:
        """RFC 1939 §5: a number names a message if it is in range and not marked as deleted."""
        return 1 <= number <= len(self.uids) and number not in self.deleted

    def in_range(self, number: int) -> bool:
        return 1 <= number <= len(self.uids)

    def uid(self, number: int) -> int:
        return self.uids[number - 1]

    def size(self, number: int) -> int:
        return self.sizes[number - 1]

    def unique_id(self, number: int) -> str:
        """RFC 1939 §7 UIDL: the same message gets the same id in every session, across restarts;
        uidvalidity changes only if uids are ever reassigned."""
        return f"{self.uidvalidity}.{self.uids[number - 1]}"

    def numbers(self) -> Iterator[int]:
        """The numbers of the messages not marked as deleted, in order."""
        return (n for n in range(1, len(self.uids) + 1) if n not in self.deleted)

    def stat(self) -> tuple[int, int]:
        """RFC 1939 §5 STAT: count and octets, messages marked as deleted not counted."""
        gone = sum(self.sizes[n - 1] for n in self.deleted)
        return len(self.uids) - len(self.deleted), sum(self.sizes) - gone

    def delete(self, number: int) -> None:
        self.deleted.add(number)

    def reset(self) -> None:
        """RFC 1939 §5 RSET: every deletion mark is removed."""
        self.deleted.clear()

    def deleted_uids(self) -> list[int]:
        return sorted(self.uids[n - 1] for n in self.deleted)
