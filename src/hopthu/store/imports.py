"""The record of imports from the former provinces' servers (R13.7): runs, their mailboxes, the
per-folder checkpoints that make an import resumable and incremental, and what was skipped.

See `schema.import_run` for the layout. A checkpoint and the counts it adds are written in one
transaction after each batch whose messages are committed, so after a crash the record never claims
more than is stored; the messages stored after the last checkpoint are found by `digests_from`
(our folder's messages at or above the checkpoint's `target_mark`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hopthu.store.db import Database
from hopthu.store.schema import import_folder, import_mailbox, import_run, import_skip, message

UNFINISHED = ("running", "paused", "incomplete")  # a rerun of the same plan resumes these


@dataclass(frozen=True, slots=True)
class RunRow:
    id: int
    plan: str
    digest: str
    status: str
    actor: str
    started_at: dt.datetime
    finished_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class MailboxRow:
    id: int
    run_id: int
    line: int
    source: str
    old_address: str
    new_address: str
    account_id: int | None
    status: str
    source_messages: int
    source_bytes: int
    messages: int
    bytes: int
    error: str | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class FolderRow:
    id: int
    account_id: int
    source: str
    source_name: str
    target_name: str
    uidvalidity: int
    last_uid: int
    target_mark: int
    source_messages: int
    source_bytes: int
    messages: int
    bytes: int
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class SkipRow:
    folder: str
    uid: int
    size: int
    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class NewMailbox:
    line: int
    source: str
    old_address: str
    new_address: str


_RUN = sa.select(*import_run.c)
_MAILBOX = sa.select(*import_mailbox.c)
_FOLDER = sa.select(*import_folder.c)


async def _insert_skips(conn: AsyncConnection, mailbox_id: int, skips: Sequence[SkipRow]) -> None:
    if skips:
        await conn.execute(
            sa.insert(import_skip),
            [
                {
                    "mailbox_id": mailbox_id,
                    "folder": skip.folder[:1000],
                    "uid": skip.uid,
                    "size": skip.size,
                    "reason": skip.reason[:32],
                    "detail": skip.detail[:2000],
                }
                for skip in skips
            ],
        )


class ImportLedger:
    """Typed operations on the import tables; each call is its own transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # --- runs -------------------------------------------------------------------------------------

    async def unfinished_run(self, digest: str) -> RunRow | None:
        """The newest run of this plan that did not finish, to resume."""
        rows = await self.db.all(
            _RUN.where(import_run.c.digest == digest, import_run.c.status.in_(UNFINISHED))
            .order_by(import_run.c.id.desc())
            .limit(1)
        )
        return RunRow(*rows[0]) if rows else None

    async def start_run(
        self, plan: str, digest: str, actor: str, at: dt.datetime, mailboxes: Sequence[NewMailbox]
    ) -> int:
        async with self.db.write() as conn:
            run_id = (
                await conn.execute(
                    sa.insert(import_run)
                    .values(
                        plan=plan[:500], digest=digest, status="running", actor=actor[:200], started_at=at
                    )
                    .returning(import_run.c.id)
                )
            ).scalar_one()
            if mailboxes:
                await conn.execute(
                    sa.insert(import_mailbox),
                    [
                        {
                            "run_id": run_id,
                            "line": each.line,
                            "source": each.source,
                            "old_address": each.old_address,
                            "new_address": each.new_address,
                            "status": "pending",
                        }
                        for each in mailboxes
                    ],
                )
        return int(run_id)

    async def run(self, run_id: int) -> RunRow | None:
        rows = await self.db.all(_RUN.where(import_run.c.id == run_id))
        return RunRow(*rows[0]) if rows else None

    async def runs(self, limit: int = 20) -> list[RunRow]:
        rows = await self.db.all(_RUN.order_by(import_run.c.id.desc()).limit(limit))
        return [RunRow(*row) for row in rows]

    async def set_run(self, run_id: int, status: str, at: dt.datetime | None = None) -> None:
        values: dict[str, object] = {"status": status}
        if status not in UNFINISHED:
            values["finished_at"] = at
        async with self.db.write() as conn:
            await conn.execute(sa.update(import_run).where(import_run.c.id == run_id).values(**values))

    # --- mailboxes --------------------------------------------------------------------------------

    async def mailboxes(self, run_id: int) -> list[MailboxRow]:
        rows = await self.db.all(
            _MAILBOX.where(import_mailbox.c.run_id == run_id).order_by(import_mailbox.c.line)
        )
        return [MailboxRow(*row) for row in rows]

    async def set_mailbox(self, mailbox_id: int, **values: object) -> None:
        """Change a mailbox row's status, error, account, times or source totals."""
        allowed = {
            "status",
            "error",
            "account_id",
            "started_at",
            "finished_at",
            "source_messages",
            "source_bytes",
        }
        unknown = set(values) - allowed
        if unknown:
            raise ValueError(f"not a column to set: {sorted(unknown)}")
        async with self.db.write() as conn:
            await conn.execute(
                sa.update(import_mailbox).where(import_mailbox.c.id == mailbox_id).values(**values)
            )

    # --- folders ----------------------------------------------------------------------------------

    async def folders(self, account_id: int, source: str) -> list[FolderRow]:
        rows = await self.db.all(
            _FOLDER.where(
                import_folder.c.account_id == account_id, import_folder.c.source == source
            ).order_by(import_folder.c.id)
        )
        return [FolderRow(*row) for row in rows]

    async def begin_folder(
        self,
        account_id: int,
        source: str,
        source_name: str,
        *,
        target_name: str,
        uidvalidity: int,
        target_mark: int,
        source_messages: int,
        source_bytes: int,
        restart: bool,
        at: dt.datetime,
    ) -> FolderRow:
        """The folder's checkpoint before a pass: made when new; `restart` (the source's UIDVALIDITY
        changed) starts it again from UID 0. `target_mark` is our folder's UIDNEXT now."""
        key = (
            import_folder.c.account_id == account_id,
            import_folder.c.source == source,
            import_folder.c.source_name == source_name,
        )
        values: dict[str, object] = {
            "target_name": target_name,
            "target_mark": target_mark,
            "source_messages": source_messages,
            "source_bytes": source_bytes,
            "updated_at": at,
        }
        async with self.db.write() as conn:
            existing = (await conn.execute(sa.select(import_folder.c.id).where(*key))).first()
            if existing is None:
                await conn.execute(
                    sa.insert(import_folder).values(
                        account_id=account_id,
                        source=source,
                        source_name=source_name,
                        uidvalidity=uidvalidity,
                        **values,
                    )
                )
            else:
                if restart:  # the whole folder is compared by digest until this pass completes
                    values.update(uidvalidity=uidvalidity, last_uid=0, target_mark=1)
                else:  # the mark moves at checkpoints only: a batch cut short lies above it
                    del values["target_mark"]
                await conn.execute(sa.update(import_folder).where(*key).values(**values))
            row = (await conn.execute(_FOLDER.where(*key))).one()
        return FolderRow(*row)

    async def checkpoint(
        self,
        folder_id: int,
        mailbox_id: int,
        *,
        last_uid: int,
        target_mark: int,
        messages: int,
        size: int,
        skips: Sequence[SkipRow],
        at: dt.datetime,
    ) -> None:
        """After a batch is committed: its last source UID, our folder's UIDNEXT, the messages and
        bytes it added (to the folder's totals and to the run's mailbox) and what it skipped."""
        async with self.db.write() as conn:
            await conn.execute(
                sa.update(import_folder)
                .where(import_folder.c.id == folder_id)
                .values(
                    last_uid=sa.func.max(import_folder.c.last_uid, last_uid)
                    if self.db.backend == "sqlite"
                    else sa.func.greatest(import_folder.c.last_uid, last_uid),
                    target_mark=target_mark,
                    messages=import_folder.c.messages + messages,
                    bytes=import_folder.c.bytes + size,
                    updated_at=at,
                )
            )
            await conn.execute(
                sa.update(import_mailbox)
                .where(import_mailbox.c.id == mailbox_id)
                .values(
                    messages=import_mailbox.c.messages + messages,
                    bytes=import_mailbox.c.bytes + size,
                )
            )
            await _insert_skips(conn, mailbox_id, skips)

    async def add_skips(self, mailbox_id: int, skips: Sequence[SkipRow]) -> None:
        """Record what was skipped outside a batch (a folder the server would not open)."""
        async with self.db.write() as conn:
            await _insert_skips(conn, mailbox_id, skips)

    async def skips(self, mailbox_id: int, limit: int = 100_000) -> list[SkipRow]:
        rows = await self.db.all(
            sa.select(
                import_skip.c.folder,
                import_skip.c.uid,
                import_skip.c.size,
                import_skip.c.reason,
                import_skip.c.detail,
            )
            .where(import_skip.c.mailbox_id == mailbox_id)
            .order_by(import_skip.c.id)
            .limit(limit)
        )
        return [SkipRow(*row) for row in rows]

    # --- our side ---------------------------------------------------------------------------------

    async def digests_from(self, mailbox_id: int, uid_from: int) -> list[str]:
        """The body digests of our folder's messages with UIDs from `uid_from` on: what a batch cut
        short may already have stored (or, from 1, all of a folder imported again)."""
        rows = await self.db.all(
            sa.select(message.c.blob_hash).where(
                message.c.mailbox_id == mailbox_id, message.c.uid >= uid_from
            ),
            large=True,
        )
        return [row[0] for row in rows]
