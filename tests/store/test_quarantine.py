"""The quarantine's rows and bodies on both backends: a held body is counted like a delivered one,
a decision takes a row out of `held` exactly once, and the purge deletes what waited too long."""

from __future__ import annotations

import asyncio
import datetime as dt

import sqlalchemy as sa

from hopthu.store.blobs import blob_hash
from hopthu.store.quarantine import DELETED, HELD, RELEASED, QuarantineStore
from hopthu.store.schema import blob


def body(n: int = 1) -> bytes:
    return f"From: a@cantho.gov.vn\r\nTo: b@example.org\r\nSubject: Spam {n}\r\n\r\nMua ngay {n}\r\n".encode()


async def refcount(store, digest: str) -> int | None:
    rows = await store.db.all(sa.select(blob.c.refcount).where(blob.c.hash == digest))
    return rows[0][0] if rows else None


async def hold(quarantine: QuarantineStore, n: int = 1) -> int:
    return await quarantine.hold(
        body(n),
        prefix=b"X-Spam-Score: 12.0\r\n",
        channel="submission",
        mail_from="a@cantho.gov.vn",
        recipients=["b@example.org", "c@example.org"],
        client_ip="127.0.0.1",
        account_id=None,
        subject=f"Spam {n}",
        score=12.0,
        verdict="spam",
        symbols={f"S{i}": float(i) for i in range(50)},
    )


async def test_held_bodies_are_counted_and_given_back_once(store, clock) -> None:
    quarantine = QuarantineStore(store.db, store.blobs, clock)
    first = await hold(quarantine, 1)
    held = await quarantine.get(first)
    assert held is not None and held.status == HELD and held.recipients == ["b@example.org", "c@example.org"]
    assert held.prefix == b"X-Spam-Score: 12.0\r\n" and held.size == len(body(1)) + len(held.prefix)
    assert len(held.symbols) == 30 and held.top_symbols[0] == ("S49", 49.0)  # the strongest kept
    assert await quarantine.body(held) == body(1)
    assert await refcount(store, held.blob_hash) == 1

    claims = await asyncio.gather(*(quarantine.claim_release(first, f"op{i}") for i in range(2)))
    winners = [c for c in claims if c is not None]
    assert len(winners) == 1  # two operators at once: one claims it
    assert await quarantine.delete(first, "op3") is None  # being released: no longer deletable
    done = await quarantine.released(first)
    assert done is not None and done.status == RELEASED and done.decided_by == winners[0].decided_by
    assert await quarantine.released(first) is None  # finished once
    assert await refcount(store, held.blob_hash) == 0

    second = await hold(quarantine, 2)
    assert [h.id for h in await quarantine.listing()] == [second]
    deleted = await quarantine.delete(second, "op1")
    assert deleted is not None and deleted.status == DELETED
    assert await quarantine.delete(second, "op1") is None
    assert await quarantine.claim_release(second, "op2") is None
    assert await refcount(store, deleted.blob_hash) == 0
    assert [h.id for h in await quarantine.listing(status=None)] == [second, first]


async def test_a_failed_release_is_held_again(store, clock) -> None:
    quarantine = QuarantineStore(store.db, store.blobs, clock)
    held_id = await hold(quarantine)
    assert await quarantine.claim_release(held_id, "op1") is not None
    await quarantine.unclaim(held_id)
    again = await quarantine.get(held_id)
    assert again is not None and again.status == HELD and again.decided_by is None
    assert await quarantine.claim_release(held_id, "op2") is not None


async def test_the_purge_deletes_what_waited_past_the_day(store, clock) -> None:
    quarantine = QuarantineStore(store.db, store.blobs, clock)
    old = await hold(quarantine, 1)
    clock.advance(days=2)
    recent = await hold(quarantine, 2)
    cut_short = await hold(quarantine, 3)
    await quarantine.claim_release(cut_short, "op1")  # a release a crash broke off stays releasing
    seen: list[int] = []

    async def also(conn, held) -> None:
        seen.append(held.id)

    boundary = clock.now - dt.timedelta(days=1)
    assert await quarantine.purge(boundary, actor="jobs", also=also) == 1
    assert seen == [old]
    assert (await quarantine.get(old)).status == DELETED
    assert (await quarantine.get(recent)).status == HELD
    clock.advance(days=3)
    assert await quarantine.purge(clock.now - dt.timedelta(days=1), actor="jobs", also=also) == 2
    assert sorted(seen) == sorted([old, recent, cut_short])
    # decided long enough ago, rows are forgotten; bodies all given back
    assert [h.id for h in await quarantine.listing(status=None)] == [cut_short, recent]
    assert await quarantine.purge(clock.now + dt.timedelta(days=1), actor="jobs") == 0
    assert await quarantine.listing(status=None) == []
    for n in (1, 2, 3):
        assert await refcount(store, blob_hash(body(n))) == 0
