"""Changes to stored messages after delivery: flags, copy, move, expunge (IMAP and the webmail).

Each is one transaction that takes its locks in the order delivery takes them (the owners' usage
rows by account id, then mailbox rows by id), so concurrent deliveries, copies and expunges queue up
instead of deadlocking. Every change raises the mailbox's HIGHESTMODSEQ and gives the changed messages
that MODSEQ (RFC 7162 §3.1); change events go out only after the commit.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hopthu.policy.quota import fits
from hopthu.store.db import Database
from hopthu.store.events import Change, EventBus
from hopthu.store.flags import SEEN, keyword_list, keyword_text
from hopthu.store.reading import uid_parts
from hopthu.store.schema import blob, mail_usage, mailbox, message
from hopthu.store.types import FlagRow


@dataclass(frozen=True, slots=True)
class FlagResult:
    rows: list[FlagRow]  # every message found, with its flags after the change
    changed: set[int]  # UIDs whose flags changed
    modified: list[int]  # UIDs refused by UNCHANGEDSINCE (RFC 7162 §3.1.3)


@dataclass(frozen=True, slots=True)
class CopyResult:
    uidvalidity: int
    pairs: list[tuple[int, int]]  # (source UID, new UID), ascending
    refused: str | None = None  # "over_quota" | "no_mailbox"


log = logging.getLogger(__name__)
PARALLEL_FLAG_BATCHES = 4  # flag batches handed to SQLite's shared transaction at once

_FLAG_UPDATE = (
    sa.update(message)
    .where(message.c.mailbox_id == sa.bindparam("k_box"), message.c.uid == sa.bindparam("k_uid"))
    .values(
        flags=sa.bindparam("k_flags"), keywords=sa.bindparam("k_keywords"), modseq=sa.bindparam("k_modseq")
    )
)


def apply_flags(
    mode: str, old_bits: int, old_keywords: str | None, bits: int, keywords: Sequence[str]
) -> tuple[int, str | None]:
    """New (bits, keywords) of a message for STORE mode "+" (add), "-" (remove) or "" (replace)."""
    current = keyword_list(old_keywords)
    if mode == "+":
        known = {k.upper() for k in current}
        return old_bits | bits, keyword_text(current + [k for k in keywords if k.upper() not in known])
    if mode == "-":
        gone = {k.upper() for k in keywords}
        return old_bits & ~bits, keyword_text([k for k in current if k.upper() not in gone])
    return bits, keyword_text(list(keywords))


@dataclass(slots=True)
class _FlagJob:
    account_id: int
    mailbox_id: int
    uids: list[int]
    mode: str
    bits: int
    keywords: tuple[str, ...]
    unchanged_since: int | None
    origin: int
    future: asyncio.Future[FlagResult] = field(init=False, repr=False)


class StoreError(Exception):
    """The store could not make a change durable; the caller answers a temporary failure."""


class MessageEditor:
    def __init__(self, db: Database, events: EventBus, clock: Callable[[], dt.datetime]) -> None:
        self.db = db
        self.events = events
        self.clock = clock
        self._flag_jobs: list[_FlagJob] = []
        self._flag_writers: set[asyncio.Task[None]] = set()
        # On SQLite the database joins waiting batches into its writer's next transaction, so a
        # batch is handed over while the one before it is still committing; on PostgreSQL one at a
        # time, each its own commit.
        self._parallel = PARALLEL_FLAG_BATCHES if db.backend == "sqlite" else 1

    async def set_flags(
        self,
        account_id: int,
        mailbox_id: int,
        uids: Sequence[int],
        mode: str,
        bits: int,
        keywords: Sequence[str] = (),
        *,
        unchanged_since: int | None = None,
        origin: int = 0,
    ) -> FlagResult:
        """STORE: change the flags of the messages with these UIDs (sorted, distinct).

        Flag changes that arrive while a transaction is being written share the next one, as
        deliveries do: many sessions marking mail read cost one commit, not one each.
        """
        if not uids:
            return FlagResult([], set(), [])
        job = _FlagJob(
            account_id, mailbox_id, list(uids), mode, bits, tuple(keywords), unchanged_since, origin
        )
        job.future = asyncio.get_running_loop().create_future()
        self._flag_jobs.append(job)
        # A finished writer leaves the set only later (its done callback), and one still running
        # will see this job before it ends: only the running ones count.
        if sum(not writer.done() for writer in self._flag_writers) < self._parallel:
            writer = asyncio.create_task(self._write_flags())
            self._flag_writers.add(writer)
            writer.add_done_callback(self._flag_writers.discard)
        return await job.future

    async def _write_flags(self) -> None:
        while self._flag_jobs:
            batch, self._flag_jobs = self._flag_jobs, []
            try:
                self._finish_flags(batch, await self._flag_batch(batch))
            except Exception:
                # One bad change must not fail its neighbours: each is tried again by itself.
                for job in batch:
                    try:
                        self._finish_flags([job], await self._flag_batch([job]))
                    except Exception:
                        log.exception("flag change failed")
                        if not job.future.done():
                            job.future.set_exception(StoreError("flag change failed"))

    async def close(self) -> None:
        """Let flag changes already asked for reach the database."""
        await asyncio.gather(*self._flag_writers, return_exceptions=True)

    async def _flag_batch(self, batch: list[_FlagJob]) -> list[tuple[FlagResult, int]]:
        backend = self.db.backend
        return await self.db.run_in_writer(lambda conn: _store_flags(conn, backend, batch))

    def _finish_flags(self, batch: list[_FlagJob], outcomes: list[tuple[FlagResult, int]]) -> None:
        changes = [
            Change(job.account_id, job.mailbox_id, "flags", tuple(sorted(result.changed)), modseq, job.origin)
            for job, (result, modseq) in zip(batch, outcomes, strict=True)
            if result.changed
        ]
        self.events.publish(changes)
        for job, (result, _modseq) in zip(batch, outcomes, strict=True):
            if not job.future.done():
                job.future.set_result(result)

    async def copy(
        self,
        source: tuple[int, int],
        uids: Sequence[int],
        target: tuple[int, int],
        *,
        quota: int,
        move: bool = False,
        origin: int = 0,
    ) -> CopyResult:
        """COPY or MOVE (RFC 6851) the messages with these UIDs from `source` to `target`, both
        (account id, mailbox id), in one transaction; `quota` is the target owner's limit (R5.1)."""
        backend = self.db.backend
        result, changes = await self.db.run_in_writer(
            lambda conn: _copy(conn, backend, source, list(uids), target, quota, move, origin)
        )
        self.events.publish(changes)
        return result

    async def expunge(
        self, account_id: int, mailbox_id: int, uids: Sequence[int], *, origin: int = 0
    ) -> list[int]:
        """Remove messages for good: rows, usage and body references, in one transaction."""
        wanted = sorted(set(uids))
        if not wanted:
            return []
        now, backend = self.clock(), self.db.backend
        gone, modseq = await self.db.run_in_writer(
            lambda conn: _expunge(conn, backend, account_id, mailbox_id, wanted, now)
        )
        if gone:
            self.events.publish([Change(account_id, mailbox_id, "expunge", tuple(gone), modseq, origin)])
        return gone


# COPY, MOVE and EXPUNGE run whole in the database's writer (`Database.run_in_writer`): on SQLite the
# write lock is held for the statements alone, not for a trip through the busy event loop between
# each of them, which made every other writer (deliveries, flag changes) wait behind it.


def _copy(
    conn: sa.Connection,
    backend: str,
    source: tuple[int, int],
    uids: list[int],
    target: tuple[int, int],
    quota: int,
    move: bool,
    origin: int,
) -> tuple[CopyResult, list[Change]]:
    source_account, source_box = source
    target_account, target_box = target
    usage = _lock_usage(conn, backend, sorted({source_account, target_account}))
    boxes = _lock_mailboxes(conn, backend, sorted({source_box, target_box}))
    if target_box not in boxes or source_box not in boxes:
        return CopyResult(0, [], "no_mailbox"), []
    found: list[Any] = []
    for condition, params in uid_parts(uids):
        found.extend(
            conn.execute(
                sa.select(*_COPIED)
                .where(message.c.mailbox_id == source_box, condition)
                .order_by(message.c.uid),
                params,
            ).mappings()
        )
    target_state = boxes[target_box]
    if not found:
        return CopyResult(target_state.uidvalidity, []), []
    size = sum(row["size"] for row in found)
    charged = not move or source_account != target_account
    if charged and not fits(usage.get(target_account, 0), quota, size):  # R5.1
        return CopyResult(target_state.uidvalidity, [], "over_quota"), []
    modseq = target_state.highestmodseq + 1
    uid = target_state.uidnext
    pairs: list[tuple[int, int]] = []
    inserted: list[dict[str, Any]] = []
    for row in found:
        inserted.append({**row, "mailbox_id": target_box, "uid": uid, "modseq": modseq})
        pairs.append((row["uid"], uid))
        uid += 1
    unseen = sum(1 for row in found if not row["flags"] & SEEN)
    conn.execute(sa.insert(message), inserted)
    conn.execute(
        sa.update(mailbox)
        .where(mailbox.c.id == target_box)
        .values(
            uidnext=uid,
            highestmodseq=modseq,
            message_count=mailbox.c.message_count + len(found),
            unseen_count=mailbox.c.unseen_count + unseen,
        )
    )
    changes = [Change(target_account, target_box, "append", tuple(p[1] for p in pairs), modseq, origin)]
    if charged:
        _charge(conn, target_account, size, len(found))
    if move:
        gone = [row["uid"] for row in found]
        source_modseq = modseq if source_box == target_box else boxes[source_box].highestmodseq + 1
        _delete_rows(conn, source_box, gone, unseen, source_modseq)
        if charged:
            _charge(conn, source_account, -size, -len(found))
        changes.append(Change(source_account, source_box, "expunge", tuple(gone), source_modseq, origin))
    else:
        counts: dict[str, int] = defaultdict(int)
        for row in found:
            counts[row["blob_hash"]] += 1
        _reference(conn, counts)
    return CopyResult(target_state.uidvalidity, pairs), changes


def _expunge(
    conn: sa.Connection, backend: str, account_id: int, mailbox_id: int, wanted: list[int], now: dt.datetime
) -> tuple[list[int], int]:
    """The UIDs removed and the mailbox's new MODSEQ (none removed: `[]`, 0)."""
    if backend == "postgresql":  # the usage row locked first, in delivery's order; SQLite has one writer
        _lock_usage(conn, backend, [account_id])
    boxes = _lock_mailboxes(conn, backend, [mailbox_id])
    if mailbox_id not in boxes:
        return [], 0
    removed: list[Any] = []
    for condition, params in uid_parts(wanted):
        removed.extend(
            conn.execute(
                sa.select(message.c.uid, message.c.size, message.c.flags, message.c.blob_hash).where(
                    message.c.mailbox_id == mailbox_id, condition
                ),
                params,
            )
        )
    if not removed:
        return [], 0
    modseq = boxes[mailbox_id].highestmodseq + 1
    gone = sorted(row.uid for row in removed)
    unseen = sum(1 for row in removed if not row.flags & SEEN)
    _delete_rows(conn, mailbox_id, gone, unseen, modseq)
    _charge(conn, account_id, -sum(row.size for row in removed), -len(removed))
    released: dict[str, int] = defaultdict(int)
    for row in removed:
        released[row.blob_hash] += 1
    release_blob_rows(conn, released, now)
    return gone, modseq


def _store_flags(conn: sa.Connection, backend: str, batch: list[_FlagJob]) -> list[tuple[FlagResult, int]]:
    """Every flag change of a batch in the caller's transaction, in arrival order."""
    boxes = sorted({job.mailbox_id for job in batch})
    query = (
        sa.select(mailbox.c.id, mailbox.c.highestmodseq).where(mailbox.c.id.in_(boxes)).order_by(mailbox.c.id)
    )
    if backend == "postgresql":
        query = query.with_for_update()
    modseqs = {row.id: row.highestmodseq for row in conn.execute(query)}
    unseen_deltas: dict[int, int] = defaultdict(int)
    touched: set[int] = set()
    outcomes: list[tuple[FlagResult, int]] = []
    for job in batch:
        if job.mailbox_id not in modseqs:
            outcomes.append((FlagResult([], set(), []), 0))
            continue
        current: list[Any] = []
        for condition, params in uid_parts(job.uids):
            current.extend(
                conn.execute(
                    sa.select(message.c.uid, message.c.flags, message.c.keywords, message.c.modseq)
                    .where(message.c.mailbox_id == job.mailbox_id, condition)
                    .order_by(message.c.uid),
                    params,
                )
            )
        new_modseq = modseqs[job.mailbox_id] + 1
        rows: list[FlagRow] = []
        updates: list[dict[str, Any]] = []
        modified: list[int] = []
        for row in current:
            if job.unchanged_since is not None and row.modseq > job.unchanged_since:
                modified.append(row.uid)
                rows.append(FlagRow(row.uid, row.flags, row.keywords, row.modseq))
                continue
            new_bits, new_keywords = apply_flags(job.mode, row.flags, row.keywords, job.bits, job.keywords)
            if new_bits == row.flags and new_keywords == row.keywords:
                rows.append(FlagRow(row.uid, row.flags, row.keywords, row.modseq))
                continue
            unseen_deltas[job.mailbox_id] += bool(row.flags & SEEN) - bool(new_bits & SEEN)
            updates.append(
                {"k_box": job.mailbox_id, "k_uid": row.uid, "k_flags": new_bits,
                 "k_keywords": new_keywords, "k_modseq": new_modseq}
            )  # fmt: skip
            rows.append(FlagRow(row.uid, new_bits, new_keywords, new_modseq))
        if updates:
            conn.execute(_FLAG_UPDATE, updates)
            modseqs[job.mailbox_id] = new_modseq
            touched.add(job.mailbox_id)
        outcomes.append((FlagResult(rows, {u["k_uid"] for u in updates}, modified), new_modseq))
    if touched:
        conn.execute(
            _MAILBOX_FLAGS,
            [
                {"k_id": box, "k_modseq": modseqs[box], "k_unseen": unseen_deltas[box]}
                for box in sorted(touched)
            ],
        )
    return outcomes


_MAILBOX_FLAGS = (
    sa.update(mailbox)
    .where(mailbox.c.id == sa.bindparam("k_id"))
    .values(
        highestmodseq=sa.bindparam("k_modseq"), unseen_count=mailbox.c.unseen_count + sa.bindparam("k_unseen")
    )
)
_COPIED = [c for c in message.c if c.name != "id"]


@dataclass(frozen=True, slots=True)
class _Locked:
    uidvalidity: int
    uidnext: int
    highestmodseq: int


def _lock_usage(conn: sa.Connection, backend: str, accounts: list[int]) -> dict[int, int]:
    query = (
        sa.select(mail_usage.c.account_id, mail_usage.c.bytes)
        .where(mail_usage.c.account_id.in_(accounts))
        .order_by(mail_usage.c.account_id)
    )
    if backend == "postgresql":
        query = query.with_for_update()
    return {row.account_id: row.bytes for row in conn.execute(query)}


def _lock_mailboxes(conn: sa.Connection, backend: str, ids: list[int]) -> dict[int, _Locked]:
    query = (
        sa.select(mailbox.c.id, mailbox.c.uidvalidity, mailbox.c.uidnext, mailbox.c.highestmodseq)
        .where(mailbox.c.id.in_(ids))
        .order_by(mailbox.c.id)
    )
    if backend == "postgresql":
        query = query.with_for_update()
    return {row.id: _Locked(row.uidvalidity, row.uidnext, row.highestmodseq) for row in conn.execute(query)}


def _delete_rows(conn: sa.Connection, mailbox_id: int, uids: list[int], unseen: int, modseq: int) -> None:
    for condition, params in uid_parts(uids):
        conn.execute(sa.delete(message).where(message.c.mailbox_id == mailbox_id, condition), params)
    conn.execute(
        sa.update(mailbox)
        .where(mailbox.c.id == mailbox_id)
        .values(
            highestmodseq=sa.case((mailbox.c.highestmodseq < modseq, modseq), else_=mailbox.c.highestmodseq),
            message_count=mailbox.c.message_count - len(uids),
            unseen_count=mailbox.c.unseen_count - unseen,
        )
    )


def _charge(conn: sa.Connection, account_id: int, size: int, count: int) -> None:
    conn.execute(
        sa.update(mail_usage)
        .where(mail_usage.c.account_id == account_id)
        .values(bytes=mail_usage.c.bytes + size, messages=mail_usage.c.messages + count)
    )


def _reference(conn: sa.Connection, counts: dict[str, int]) -> None:
    conn.execute(_REFERENCE, [{"k_hash": digest, "k_count": counts[digest]} for digest in sorted(counts)])


# Constant statements run for many rows at once (executemany), in hash order as delivery takes these
# rows: one statement compiled once instead of one built and looked up per body.
_REFERENCE = (
    sa.update(blob)
    .where(blob.c.hash == sa.bindparam("k_hash"))
    .values(refcount=blob.c.refcount + sa.bindparam("k_count"), zero_since=None)
)
_RELEASE = (
    sa.update(blob)
    .where(blob.c.hash == sa.bindparam("k_hash"))
    .values(
        refcount=blob.c.refcount - sa.bindparam("k_count"),
        zero_since=sa.case(
            (
                blob.c.refcount - sa.bindparam("k_count") <= 0,
                sa.bindparam("k_now", type_=blob.c.zero_since.type),
            ),
            else_=None,
        ),
    )
)


async def release_blobs(conn: AsyncConnection, released: dict[str, int], now: dt.datetime) -> None:
    """Drop references to bodies (a message expunged, a queue row finished), in the caller's transaction.

    A body whose count reaches zero is marked, and collected after the grace period.
    """
    await conn.run_sync(release_blob_rows, released, now)


def release_blob_rows(conn: sa.Connection, released: dict[str, int], now: dt.datetime) -> None:
    """`release_blobs` on a synchronous connection (a transaction run whole in the writer)."""
    if released:
        conn.execute(
            _RELEASE,
            [{"k_hash": digest, "k_count": released[digest], "k_now": now} for digest in sorted(released)],
        )
