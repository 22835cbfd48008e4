"""Quarantine (R3.1): mail our own people sent that scored as spam, kept for an operator to judge.

A held message's body goes to the blob store like any other (stored once, its reference counted in
`blob.refcount`, so the collector spares it), and one `quarantine` row keeps the envelope, the
headers we added (`prefix`) and the verdict. A decision moves the row out of `held` exactly once: the
row is claimed by a conditional UPDATE, so two operators pressing "release" together cannot both
deliver it. Release goes `held` -> `releasing` (delivery) -> `released`; delete goes `held` ->
`deleted`. The body's reference is given back when the row leaves the quarantine for good.
Rows decided longer ago than the keeping time are removed by `purge`, with held ones past it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hopthu.store.blobs import BlobStore
from hopthu.store.db import Database
from hopthu.store.delivery import blob_upsert
from hopthu.store.editing import release_blobs
from hopthu.store.mailstore import Clock
from hopthu.store.schema import quarantine

HELD, RELEASING, RELEASED, DELETED = "held", "releasing", "released", "deleted"
SYMBOLS_KEPT = 30  # the strongest of rspamd's symbols, enough to explain a verdict
RECIPIENTS_KEPT = 2000  # as many as an address field may give the envelope (smtp limits)

# Work done in the same transaction as a decision (the audit event), so both exist or neither.
Also = Callable[[AsyncConnection, "Held"], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Held:
    id: int
    held_at: dt.datetime
    channel: str
    mail_from: str
    recipients: list[str]
    client_ip: str
    account_id: int | None
    blob_hash: str
    prefix: bytes
    size: int
    subject: str
    score: float | None
    verdict: str
    symbols: dict[str, float]
    status: str
    decided_by: str | None
    decided_at: dt.datetime | None

    @property
    def top_symbols(self) -> list[tuple[str, float]]:
        """The symbols that weighed most, strongest first."""
        return sorted(self.symbols.items(), key=lambda item: -abs(item[1]))


_COLUMNS = (
    quarantine.c.id,
    quarantine.c.held_at,
    quarantine.c.channel,
    quarantine.c.mail_from,
    quarantine.c.recipients,
    quarantine.c.client_ip,
    quarantine.c.account_id,
    quarantine.c.blob_hash,
    quarantine.c.prefix,
    quarantine.c.size,
    quarantine.c.subject,
    quarantine.c.score,
    quarantine.c.verdict,
    quarantine.c.symbols,
    quarantine.c.status,
    quarantine.c.decided_by,
    quarantine.c.decided_at,
)


def _held(row: Any) -> Held:
    values = list(row)
    values[8] = values[8] or b""
    return Held(*values)


def strongest(symbols: dict[str, float], keep: int = SYMBOLS_KEPT) -> dict[str, float]:
    """The `keep` symbols with the largest weight (the rest explain nothing an operator reads)."""
    ranked = sorted(symbols.items(), key=lambda item: -abs(item[1]))[:keep]
    return {str(name)[:100]: float(score) for name, score in ranked}


class QuarantineStore:
    def __init__(self, db: Database, blobs: BlobStore, clock: Clock) -> None:
        self.db = db
        self.blobs = blobs
        self.clock = clock

    async def hold(
        self,
        data: bytes,
        *,
        prefix: bytes,
        channel: str,
        mail_from: str,
        recipients: Sequence[str],
        client_ip: str,
        account_id: int | None,
        subject: str,
        score: float | None,
        verdict: str,
        symbols: dict[str, float],
    ) -> int:
        """Keep one message; its id. The body is durable before the row that refers to it exists."""
        staged = await self.blobs.keep(data)
        now = self.clock()
        async with self.db.write() as conn:
            await conn.execute(
                blob_upsert(self.db.backend),
                [
                    {
                        "hash": staged.digest,
                        "size": len(data),
                        "stored_size": staged.stored_size,
                        "refcount": 1,
                        "zero_since": None,
                        "created_at": now,
                    }
                ],
            )
            held_id = (
                await conn.execute(
                    sa.insert(quarantine)
                    .values(
                        held_at=now,
                        channel=channel,
                        mail_from=mail_from[:320],
                        recipients=[r[:320] for r in recipients[:RECIPIENTS_KEPT]],
                        client_ip=client_ip[:45],
                        account_id=account_id,
                        blob_hash=staged.digest,
                        prefix=prefix or None,
                        size=len(data) + len(prefix),
                        subject=subject[:300],
                        score=score,
                        verdict=verdict[:16],
                        symbols=strongest(symbols),
                        status=HELD,
                    )
                    .returning(quarantine.c.id)
                )
            ).scalar_one()
        if not self.blobs.exists(staged.digest):  # collected while we committed: write it again
            await asyncio.to_thread(self.blobs.put, data, staged.digest)
        return int(held_id)

    async def listing(
        self, *, status: str | None = HELD, limit: int = 200, before_id: int | None = None
    ) -> list[Held]:
        """The newest rows first (of one status, or all), a page of `limit`."""
        query = sa.select(*_COLUMNS).order_by(quarantine.c.id.desc()).limit(limit)
        if status is not None:
            query = query.where(quarantine.c.status == status)
        if before_id is not None:
            query = query.where(quarantine.c.id < before_id)
        return [_held(row) for row in await self.db.all(query)]

    async def count(self, status: str = HELD) -> int:
        async with self.db.read() as conn:
            return (
                await conn.execute(
                    sa.select(sa.func.count()).select_from(quarantine).where(quarantine.c.status == status)
                )
            ).scalar_one()

    async def get(self, held_id: int) -> Held | None:
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(*_COLUMNS).where(quarantine.c.id == held_id))).first()
        return _held(row) if row is not None else None

    async def body(self, held: Held) -> bytes:
        """The message as it was sent (without our headers)."""
        return await asyncio.to_thread(self.blobs.get, held.blob_hash)

    async def claim_release(self, held_id: int, actor: str) -> Held | None:
        """Take a held message for delivery; None when it is not held (any more): another operator
        released or deleted it first."""
        async with self.db.write() as conn:
            return await self._move(conn, held_id, HELD, RELEASING, actor)

    async def unclaim(self, held_id: int) -> None:
        """Delivery failed (the store refused): the message is held again, nothing lost."""
        async with self.db.write() as conn:
            await conn.execute(
                sa.update(quarantine)
                .where(quarantine.c.id == held_id, quarantine.c.status == RELEASING)
                .values(status=HELD, decided_by=None, decided_at=None)
            )

    async def released(self, held_id: int, also: Also | None = None) -> Held | None:
        """Delivery done: the row is finished and its body's reference given back."""
        async with self.db.write() as conn:
            held = await self._move(conn, held_id, RELEASING, RELEASED, None)
            if held is not None:
                await release_blobs(conn, {held.blob_hash: 1}, self.clock())
                if also is not None:
                    await also(conn, held)
            return held

    async def delete(self, held_id: int, actor: str, also: Also | None = None) -> Held | None:
        """Delete a held message (its body's reference given back); None when it is not held."""
        async with self.db.write() as conn:
            held = await self._move(conn, held_id, HELD, DELETED, actor)
            if held is not None:
                await release_blobs(conn, {held.blob_hash: 1}, self.clock())
                if also is not None:
                    await also(conn, held)
            return held

    async def purge(
        self, before: dt.datetime, *, actor: str, also: Also | None = None, batch: int = 500
    ) -> int:
        """Delete what was held before `before` and still waits (held, or a release cut short by a
        crash); forget rows decided before it. Returns how many held messages were deleted."""
        deleted = 0
        while True:
            async with self.db.write() as conn:
                rows = (
                    await conn.execute(
                        sa.select(*_COLUMNS)
                        .where(quarantine.c.held_at < before, quarantine.c.status.in_([HELD, RELEASING]))
                        .order_by(quarantine.c.id)
                        .limit(batch)
                    )
                ).all()
                if not rows:
                    break
                found = [_held(row) for row in rows]
                await conn.execute(
                    sa.update(quarantine)
                    .where(quarantine.c.id.in_([h.id for h in found]))
                    .values(status=DELETED, decided_by=actor, decided_at=self.clock())
                )
                counts: dict[str, int] = {}
                for held in found:
                    counts[held.blob_hash] = counts.get(held.blob_hash, 0) + 1
                    if also is not None:
                        await also(conn, held)
                await release_blobs(conn, counts, self.clock())
                deleted += len(found)
        async with self.db.write() as conn:
            await conn.execute(
                sa.delete(quarantine).where(
                    quarantine.c.status.in_([RELEASED, DELETED]), quarantine.c.decided_at < before
                )
            )
        return deleted

    async def _move(
        self, conn: AsyncConnection, held_id: int, source: str, target: str, actor: str | None
    ) -> Held | None:
        """The row moved from `source` to `target` by one conditional UPDATE (which decides between
        two operators acting at once), or None when it was not in `source`."""
        values: dict[str, Any] = {"status": target}
        if actor is not None:
            values.update(decided_by=actor[:320], decided_at=self.clock())
        moved = await conn.execute(
            sa.update(quarantine)
            .where(quarantine.c.id == held_id, quarantine.c.status == source)
            .values(**values)
        )
        if moved.rowcount != 1:
            return None
        row = (await conn.execute(sa.select(*_COLUMNS).where(quarantine.c.id == held_id))).first()
        return _held(row)
