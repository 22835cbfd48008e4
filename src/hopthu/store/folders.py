"""An account's mailboxes (folders): create, rename, delete, subscribe, with IMAP's rules on names.

Names are stored in UTF-8 with "/" as the hierarchy separator. A mailbox is created with its parents
(RFC 9051 §6.3.4 lets a server do so), and one with children is not deleted (Dovecot's
`[HASCHILDREN]`), so every name's parents exist. The special-use mailboxes every account gets are
kept: webmail and clients rely on them. A new mailbox's UIDVALIDITY is larger than any the account
had before, so a client never mistakes a recreated folder for the old one.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hopthu.errors import Conflict, HopThuError, NotFound
from hopthu.store.db import Database
from hopthu.store.editing import release_blobs
from hopthu.store.events import Change, EventBus
from hopthu.store.flags import DELETED
from hopthu.store.schema import mail_usage, mailbox, message, orphan_subscription

SEPARATOR = "/"
MAX_NAME = 500


@dataclass(frozen=True, slots=True)
class Folder:
    id: int
    account_id: int
    name: str
    special_use: str | None
    subscribed: bool
    uidvalidity: int


def check_name(name: str) -> str:
    """A mailbox name fit to store, or HopThuError saying what is wrong with it."""
    parts = name.split(SEPARATOR)
    if (
        not name
        or len(name) > MAX_NAME
        or any(not part.strip() for part in parts)
        or any(ch in name for ch in "*%")
        or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name)
    ):
        raise HopThuError(f"Tên thư mục không hợp lệ: {name!r}", f"Invalid mailbox name: {name!r}")
    if parts[0].upper() == "INBOX":
        parts[0] = "INBOX"
    return SEPARATOR.join(parts)


class Folders:
    def __init__(self, db: Database, events: EventBus, clock: Callable[[], dt.datetime]) -> None:
        self.db = db
        self.events = events
        self.clock = clock

    async def list(self, account_ids: list[int]) -> list[Folder]:
        rows = await self.db.tuples(_LIST, {"accounts": account_ids})
        return [Folder(*row) for row in rows]

    async def find(self, account_id: int, name: str) -> Folder | None:
        row = await self.db.first(_FIND, {"account": account_id, "name": name})
        return None if row is None else Folder(*row)

    async def create(self, account_id: int, name: str, *, subscribed: bool = True) -> Folder:
        """Create `name` and its missing parents. The webmail's folders are subscribed, so a mail
        client shows them; IMAP CREATE passes `subscribed=False`, since there subscribing is the
        client's own step (RFC 9051 §6.3.7), and LSUB must answer what the client subscribed."""
        name = check_name(name)
        now = self.clock()
        async with self.db.write() as conn:
            await self._lock_account(conn, account_id)
            existing = {
                row.name: row
                for row in await conn.execute(
                    sa.select(mailbox.c.name, mailbox.c.uidvalidity).where(mailbox.c.account_id == account_id)
                )
            }
            if name in existing:
                raise Conflict(f"Thư mục {name} đã có", f"Mailbox {name} already exists")
            uidvalidity = await _next_uidvalidity(
                conn, account_id, now, [row.uidvalidity for row in existing.values()]
            )
            parts = name.split(SEPARATOR)
            missing = [
                SEPARATOR.join(parts[:depth])
                for depth in range(1, len(parts) + 1)
                if SEPARATOR.join(parts[:depth]) not in existing
            ]
            adopted = await _adopt_subscriptions(conn, account_id, missing)
            await conn.execute(
                sa.insert(mailbox),
                [
                    {
                        "account_id": account_id,
                        "name": each,
                        "uidvalidity": uidvalidity,
                        "created_at": now,
                        "subscribed": subscribed or each in adopted,
                    }
                    for each in missing
                ],
            )
        self.events.publish([Change(account_id, 0, "mailbox")])
        found = await self.find(account_id, name)
        assert found is not None
        return found

    async def delete(self, account_id: int, name: str) -> None:
        """Delete a mailbox and every message in it (their space is given back at once)."""
        now = self.clock()
        async with self.db.write() as conn:
            await self._lock_account(conn, account_id)
            box = await _get(conn, account_id, name)
            if box.special_use is not None or box.name == "INBOX":
                raise HopThuError(
                    f"Không xóa được thư mục hệ thống {name}",
                    f"System mailbox {name} cannot be deleted",
                    code="cannot",
                )
            children = await conn.execute(
                sa.select(mailbox.c.id).where(
                    mailbox.c.account_id == account_id,
                    mailbox.c.name.startswith(name + SEPARATOR, autoescape=True),
                )
            )
            if children.first() is not None:
                raise HopThuError(
                    f"Thư mục {name} còn thư mục con, hãy xóa chúng trước",
                    f"Mailbox {name} has children, delete them first",
                    code="haschildren",
                )
            removed = (
                await conn.execute(
                    sa.delete(message)
                    .where(message.c.mailbox_id == box.id)
                    .returning(message.c.size, message.c.flags, message.c.blob_hash)
                )
            ).all()
            if removed:
                await conn.execute(
                    sa.update(mail_usage)
                    .where(mail_usage.c.account_id == account_id)
                    .values(
                        bytes=mail_usage.c.bytes - sum(row.size for row in removed),
                        messages=mail_usage.c.messages - len(removed),
                    )
                )
                released: dict[str, int] = defaultdict(int)
                for row in removed:
                    released[row.blob_hash] += 1
                await release_blobs(conn, released, now)
            await conn.execute(sa.delete(mailbox).where(mailbox.c.id == box.id))
            if box.subscribed:  # DELETE does not unsubscribe (RFC 9051 §6.3.4)
                await conn.execute(
                    sa.insert(orphan_subscription).values(account_id=account_id, name=box.name)
                )
        self.events.publish([Change(account_id, box.id, "mailbox")])

    async def rename(self, account_id: int, old: str, new: str) -> None:
        """Rename a mailbox and everything under it (RFC 9051 §6.3.6); INBOX is the caller's case."""
        new = check_name(new)
        now = self.clock()
        async with self.db.write() as conn:
            await self._lock_account(conn, account_id)
            box = await _get(conn, account_id, old)
            names = {
                row.name: row.id
                for row in await conn.execute(
                    sa.select(mailbox.c.name, mailbox.c.id).where(mailbox.c.account_id == account_id)
                )
            }
            if new in names:
                raise Conflict(f"Thư mục {new} đã có", f"Mailbox {new} already exists")
            if new.startswith(old + SEPARATOR):
                raise HopThuError(
                    f"Không chuyển được {old} vào chính nó", f"Cannot move {old} into itself", code="cannot"
                )
            moved = [(box.id, new)] + [
                (ident, new + each[len(old) :])
                for each, ident in names.items()
                if each.startswith(old + SEPARATOR)
            ]
            parts = new.split(SEPARATOR)
            parents = [SEPARATOR.join(parts[:depth]) for depth in range(1, len(parts))]
            missing = [p for p in parents if p not in names]
            uidvalidity = await _next_uidvalidity(conn, account_id, now, [])
            adopted = await _adopt_subscriptions(conn, account_id, [name for _, name in moved])
            for ident, name in moved:
                values: dict[str, object] = {"name": name}
                if name in adopted:
                    values["subscribed"] = True
                await conn.execute(sa.update(mailbox).where(mailbox.c.id == ident).values(**values))
            if missing:
                await _adopt_subscriptions(conn, account_id, missing)  # a new parent is subscribed
                await conn.execute(
                    sa.insert(mailbox),
                    [
                        {"account_id": account_id, "name": p, "uidvalidity": uidvalidity, "created_at": now}
                        for p in missing
                    ],
                )
        self.events.publish([Change(account_id, box.id, "mailbox")])

    async def _lock_account(self, conn: AsyncConnection, account_id: int) -> None:
        """One change to an account's mailboxes at a time: on PostgreSQL two sessions creating
        "a/x" and "a/y" would both insert the missing "a" and one would fail on the unique name
        (SQLite's writes are serialized already). The usage row is the lock, as for message copies."""
        if self.db.backend == "postgresql":
            await conn.execute(
                sa.select(mail_usage.c.account_id)
                .where(mail_usage.c.account_id == account_id)
                .with_for_update()
            )

    async def subscribe(self, account_id: int, name: str, subscribed: bool) -> None:
        """Subscribe to `name` or end its subscription, whether or not it has a mailbox (a name
        without one may be subscribed to, RFC 9051 §6.3.7); NotFound ends a subscription there is
        not."""
        async with self.db.write() as conn:
            try:
                box = await _get(conn, account_id, name)
            except NotFound:
                name = check_name(name)
                mine = (orphan_subscription.c.account_id == account_id, orphan_subscription.c.name == name)
                found = (await conn.execute(sa.select(orphan_subscription.c.name).where(*mine))).first()
                if subscribed and found is None:
                    await conn.execute(
                        sa.insert(orphan_subscription).values(account_id=account_id, name=name)
                    )
                elif not subscribed:
                    if found is None:
                        raise
                    await conn.execute(sa.delete(orphan_subscription).where(*mine))
                return
            await conn.execute(sa.update(mailbox).where(mailbox.c.id == box.id).values(subscribed=subscribed))

    async def orphan_subscriptions(self, account_ids: Sequence[int]) -> Sequence[tuple[int, str]]:
        """(account, name) of each subscription whose name has no mailbox."""
        rows = await self.db.all(
            sa.select(orphan_subscription.c.account_id, orphan_subscription.c.name)
            .where(orphan_subscription.c.account_id.in_(account_ids))
            .order_by(orphan_subscription.c.name)
        )
        return [(row[0], row[1]) for row in rows]

    async def counts(self, mailbox_id: int) -> tuple[int, int]:
        """(messages marked \\Deleted, total size): the STATUS items not kept as counters."""
        row = await self.db.first(_COUNTS, {"box": mailbox_id})
        return int(row[0]), int(row[1])


async def _next_uidvalidity(
    conn: AsyncConnection, account_id: int, now: dt.datetime, existing: list[int]
) -> int:
    """A UIDVALIDITY larger than any the account's mailboxes had (RFC 9051 §2.3.1.1), recorded;
    the caller holds the account's lock."""
    last = (
        await conn.execute(
            sa.select(mail_usage.c.last_uidvalidity).where(mail_usage.c.account_id == account_id)
        )
    ).scalar() or 0
    value = max([int(now.timestamp()), last + 1, *(v + 1 for v in existing)])
    await conn.execute(
        sa.update(mail_usage).where(mail_usage.c.account_id == account_id).values(last_uidvalidity=value)
    )
    return value


@dataclass(frozen=True, slots=True)
class _Found:
    id: int
    name: str
    special_use: str | None
    subscribed: bool


async def _adopt_subscriptions(conn: AsyncConnection, account_id: int, names: list[str]) -> set[str]:
    """Of `names`, about to have mailboxes, those subscribed while they had none: their
    subscriptions leave `orphan_subscription` for the mailbox rows, so each stays in one place."""
    mine = (orphan_subscription.c.account_id == account_id, orphan_subscription.c.name.in_(names))
    found = {row[0] for row in await conn.execute(sa.select(orphan_subscription.c.name).where(*mine))}
    if found:
        await conn.execute(sa.delete(orphan_subscription).where(*mine))
    return found


async def _get(conn: AsyncConnection, account_id: int, name: str) -> _Found:
    row = (
        await conn.execute(
            sa.select(mailbox.c.id, mailbox.c.name, mailbox.c.special_use, mailbox.c.subscribed).where(
                mailbox.c.account_id == account_id, mailbox.c.name == name
            )
        )
    ).first()
    if row is None:
        raise NotFound(f"Không có thư mục {name}", f"No mailbox {name}")
    return _Found(row.id, row.name, row.special_use, row.subscribed)


_COLUMNS = (
    mailbox.c.id,
    mailbox.c.account_id,
    mailbox.c.name,
    mailbox.c.special_use,
    mailbox.c.subscribed,
    mailbox.c.uidvalidity,
)
_LIST = (
    sa.select(*_COLUMNS)
    .where(mailbox.c.account_id.in_(sa.bindparam("accounts", expanding=True)))
    .order_by(mailbox.c.id)
)
_FIND = sa.select(*_COLUMNS).where(
    mailbox.c.account_id == sa.bindparam("account"), mailbox.c.name == sa.bindparam("name")
)
_COUNTS = sa.select(
    sa.func.coalesce(sa.func.sum(sa.case((message.c.flags.op("&")(DELETED) != 0, 1), else_=0)), 0),
    sa.func.coalesce(sa.func.sum(message.c.size), 0),
).where(message.c.mailbox_id == sa.bindparam("box"))
