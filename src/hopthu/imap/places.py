"""What a signed-in person sees as mailboxes: their own, and the agency mailboxes delegated to them.

The personal namespace is "" with "/" as separator (RFC 2342). An agency mailbox that the head of the
agency delegated to this person (R8.2) appears under the shared namespace as "Shared/<address>/...",
e.g. "Shared/sonv/INBOX", with full use of its folders: the delegate manages the agency's mail
without its password. LIST patterns (RFC 9051 §6.3.9) are matched here, over names only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa

from hopthu.directory.delegations import delegated_to
from hopthu.imap.responses import ImapRefusal
from hopthu.imap.selected import Place
from hopthu.store.db import Database
from hopthu.store.folders import SEPARATOR, Folder, Folders
from hopthu.store.schema import account

SHARED = "Shared"


@dataclass(frozen=True, slots=True)
class Owner:
    account_id: int
    local: str
    prefix: str  # "" for one's own mailboxes, "Shared/<local>/" for a delegated agency mailbox

    @property
    def quota_root(self) -> str:
        return self.prefix.rstrip(SEPARATOR)


async def owners_for(db: Database, account_id: int, local: str) -> list[Owner]:
    """The person's own account first, then each agency mailbox delegated to them."""
    shared = [
        Owner(box.account_id, box.local, f"{SHARED}{SEPARATOR}{box.local}{SEPARATOR}")
        for box in await delegated_to(db, account_id)
    ]
    return [Owner(account_id, local, ""), *shared]


def no_such_mailbox(name: str, code: str = "NONEXISTENT") -> ImapRefusal:
    return ImapRefusal(f"Không có thư mục {name}", f"No mailbox {name}", code)


class Places:
    def __init__(self, folders: Folders, owners: list[Owner]) -> None:
        self.folders = folders
        self.owners = owners

    @property
    def own(self) -> Owner:
        return self.owners[0]

    def locate(self, name: str) -> tuple[Owner, str]:
        """The owner of an IMAP name and the name stored in their account."""
        if name == SHARED or name.startswith(SHARED + SEPARATOR):
            for owner in self.owners[1:]:
                if name.startswith(owner.prefix):
                    stored = name[len(owner.prefix) :]
                    if stored.upper() == "INBOX":
                        stored = "INBOX"
                    return owner, stored
            raise no_such_mailbox(name)
        return self.own, name

    def owner_by_root(self, root: str) -> Owner | None:
        return next((owner for owner in self.owners if owner.quota_root == root), None)

    async def place(self, name: str, *, missing_code: str = "NONEXISTENT") -> Place:
        owner, stored = self.locate(name)
        folder = await self.folders.find(owner.account_id, stored)
        if folder is None:
            raise no_such_mailbox(name, missing_code)
        return Place(owner.prefix + folder.name, owner.account_id, folder.id, folder.name, folder.special_use)

    async def listing(self) -> list[tuple[str, Folder | None]]:
        """Every name to consider for LIST, with its folder (None for the shared namespace's levels)."""
        folders = await self.folders.list([owner.account_id for owner in self.owners])
        own = self.own.account_id
        names: list[tuple[str, Folder | None]] = [(f.name, f) for f in folders if f.account_id == own]
        if len(self.owners) > 1:
            names.append((SHARED, None))
            for owner in self.owners[1:]:
                names.append((owner.quota_root, None))
                names.extend((owner.prefix + f.name, f) for f in folders if f.account_id == owner.account_id)
        return names


def pattern_matcher(reference: str, pattern: str) -> re.Pattern[str]:
    """RFC 9051 §6.3.9: "*" matches anything, "%" anything but the separator; INBOX in any case."""
    full = reference + pattern
    head = ""
    if full[:5].upper() == "INBOX" and full[5:6] in ("", SEPARATOR, "*", "%"):
        head, full = "(?i:INBOX)", full[5:]
    return re.compile(head + "".join(_WILDCARDS.get(ch, re.escape(ch)) for ch in full) + r"\Z")


_WILDCARDS = {"*": ".*", "%": f"[^{re.escape(SEPARATOR)}]*"}


def has_children(name: str, names: set[str]) -> bool:
    prefix = name + SEPARATOR
    return any(other.startswith(prefix) for other in names)


async def quota_limit(db: Database, account_id: int) -> int:
    """The account's quota in bytes (R5.1; the directory's, the store only counts usage)."""
    row = await db.first(_QUOTA, {"account": account_id})
    return int(row[0]) if row else 0


_QUOTA = sa.select(account.c.quota_bytes).where(account.c.id == sa.bindparam("account"))
