"""What a signed-in person sees as mailboxes: their own, and the agency mailboxes delegated to them.

The personal namespace is "" with "/" as separator (RFC 2342). An agency mailbox that the head of the
agency delegated to this person (R8.2) appears under the shared namespace as "Shared/<address>/...",
e.g. "Shared/sonv/INBOX", with full use of its folders: the delegate manages the agency's mail
without its password. LIST patterns (RFC 9051 §6.3.9) are matched here, over names only.
"""

from __future__ import annotations

from dataclasses import dataclass

from hopthu.directory.delegations import delegated_to
from hopthu.imap.responses import ImapRefusal
from hopthu.imap.selected import Place
from hopthu.store.db import Database
from hopthu.store.folders import SEPARATOR, Folder, Folders

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

    async def orphan_subscriptions(self) -> list[str]:
        """The subscribed names that have no mailbox, as the client sees them."""
        prefixes = {owner.account_id: owner.prefix for owner in self.owners}
        found = await self.folders.orphan_subscriptions(list(prefixes))
        return [prefixes[account_id] + name for account_id, name in found]


class ListPattern:
    """A LIST/LSUB mailbox pattern (RFC 9051 §6.3.9): "*" matches anything, "%" anything but the
    hierarchy separator, INBOX at the start in any case; every other character stands for itself.

    The pattern comes from the client, so it is never turned into a regular expression (whose
    backtracking made `LIST "" "*********Z"` take seconds per name). It runs as a set of pattern
    positions kept in one integer (a bit-parallel NFA): each character of a name costs a few integer
    operations on a mask as wide as the pattern, with no backtracking, so a name of n characters
    costs O(n) steps however many wildcards the pattern holds. Runs of wildcards collapse first
    ("**", "*%" and "%*" are "*", "%%" is "%"), and a name shorter than the pattern's literal
    characters is refused before any step.
    """

    __slots__ = ("_accept", "_literal_count", "_literals", "_percent", "_star", "_wild")

    def __init__(self, reference: str, pattern: str) -> None:
        full = reference + pattern
        fold_upto = 0
        if full[:5].upper() == "INBOX" and full[5:6] in ("", SEPARATOR, "*", "%"):
            fold_upto = 5  # INBOX is case-insensitive (RFC 9051 §5.1)
        items: list[str] = []
        folded: list[bool] = []
        for index, ch in enumerate(full):
            if ch in "*%" and items and items[-1] in "*%":
                items[-1] = "*" if "*" in (ch, items[-1]) else "%"
                continue
            items.append(ch)
            folded.append(index < fold_upto)
        self._literals: dict[str, int] = {}
        star = percent = 0
        for position, (ch, fold) in enumerate(zip(items, folded, strict=True)):
            bit = 1 << position
            if ch == "*":
                star |= bit
            elif ch == "%":
                percent |= bit
            else:
                for key in {ch.upper(), ch.lower()} if fold else {ch}:
                    self._literals[key] = self._literals.get(key, 0) | bit
        self._star = star
        self._percent = percent
        self._wild = star | percent
        self._accept = 1 << len(items)
        self._literal_count = len(items) - bin(self._wild).count("1")

    def _closure(self, states: int) -> int:
        # A wildcard may match nothing: being before it is being after it (runs are collapsed,
        # so one step is enough).
        return states | ((states & self._wild) << 1)

    def match(self, name: str) -> bool:
        if len(name) < self._literal_count:
            return False
        states = self._closure(1)
        literals = self._literals
        star, percent = self._star, self._percent
        for ch in name:
            stay = states & (star if ch == SEPARATOR else star | percent)
            states = self._closure(((states & literals.get(ch, 0)) << 1) | stay)
            if not states:
                return False
        return bool(states & self._accept)


def pattern_matcher(reference: str, pattern: str) -> ListPattern:
    """The matcher for LIST and LSUB of `reference` + `pattern` (RFC 9051 §6.3.9)."""
    return ListPattern(reference, pattern)


def parents(names: list[str] | set[str]) -> set[str]:
    """Every name that has a child among `names`, found in one pass: asking each name against every
    other one cost O(n²) and a client can make thousands of folders before one LIST."""
    found: set[str] = set()
    for name in names:
        cut = name.rfind(SEPARATOR)
        while cut > 0:
            parent = name[:cut]
            if parent in found:
                break
            found.add(parent)
            cut = parent.rfind(SEPARATOR)
    return found
