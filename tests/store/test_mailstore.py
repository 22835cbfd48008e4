"""The mail store on both backends: delivery, UIDs, quota usage, single-instance bodies, removal."""

from __future__ import annotations

import asyncio
import datetime as dt
import os

import pytest
import sqlalchemy as sa

from hopthu.mail import canonical, parse
from hopthu.store import Store
from hopthu.store.flags import SEEN
from hopthu.store.mailstore import DEFAULT_MAILBOXES, StoreError, Target
from hopthu.store.schema import blob
from tests.factories import make_account, make_message


async def deliver(store: Store, data: bytes, targets: list[Target]):
    data = canonical(data)
    return await store.mail.deliver(data, parse(data), targets)


async def blob_row(store: Store, digest: str):
    async with store.db.read() as conn:
        return (await conn.execute(sa.select(blob).where(blob.c.hash == digest))).first()


async def test_new_account_has_special_use_mailboxes(store: Store) -> None:
    account_id = await make_account(store, "nvminh")
    boxes = await store.mail.mailboxes(account_id)
    assert [(b.name, b.special_use) for b in boxes] == list(DEFAULT_MAILBOXES)
    assert all(b.uidnext == 1 and b.message_count == 0 for b in boxes)


async def test_circular_stores_one_body_for_every_recipient(store: Store) -> None:
    ids = [await make_account(store, f"user{n}") for n in range(5)]
    data = make_message("Thông báo nghỉ lễ", size=20_000)
    results = await deliver(store, data, [Target(i, quota=10**9) for i in ids])
    assert [r.uid for r in results] == [1] * 5
    assert len(list(store.blobs.root.rglob("*.zst"))) == 1
    digest = (await store.mail.messages(results[0].mailbox_id))[0].blob_hash
    row = await blob_row(store, digest)
    assert row.refcount == 5 and row.zero_since is None
    for account_id in ids:
        assert await store.mail.usage(account_id) == (len(canonical(data)), 1)
        inbox = await store.mail.mailbox(account_id, "INBOX")
        assert (inbox.uidnext, inbox.message_count, inbox.unseen_count) == (2, 1, 1)
        assert await store.mail.message_bytes(inbox.id, 1) == canonical(data)


async def test_list_columns_come_from_parsing_once(store: Store) -> None:
    account_id = await make_account(store, "ttnanh")
    [result] = await deliver(
        store,
        make_message("Giấy mời họp", "Mời đồng chí dự họp."),
        [Target(account_id, quota=10**9, flags=SEEN)],
    )
    [summary] = await store.mail.messages(result.mailbox_id)
    assert summary.subject == "Giấy mời họp"
    assert "Nguyễn Văn Minh" in summary.sender
    assert summary.flags == SEEN
    assert (await store.mail.mailbox(account_id, "INBOX")).unseen_count == 0


async def test_concurrent_deliveries_get_distinct_increasing_uids(store: Store) -> None:
    account_id = await make_account(store, "nvminh")
    results = await asyncio.gather(
        *[deliver(store, make_message(f"Thư {n}"), [Target(account_id, quota=10**9)]) for n in range(60)]
    )
    uids = sorted(r[0].uid for r in results)
    assert uids == list(range(1, 61))
    inbox = await store.mail.mailbox(account_id, "INBOX")
    assert inbox.uidnext == 61 and inbox.message_count == 60
    page = await store.mail.messages(inbox.id, limit=25)
    assert [m.uid for m in page] == list(range(60, 35, -1))
    older = await store.mail.messages(inbox.id, limit=25, before_uid=page[-1].uid)
    assert older[0].uid == 35


async def test_r5_1_quota_is_exact_under_concurrent_deliveries(store: Store) -> None:
    """R5.1: a full mailbox refuses; concurrent deliveries never overshoot the quota."""
    data = canonical(make_message("Báo cáo", size=10_000))
    room_for = 7
    account_id = await make_account(store, "full", quota=len(data) * room_for + len(data) // 2)
    results = await asyncio.gather(
        *[
            store.mail.deliver(
                data, parse(data), [Target(account_id, quota=len(data) * room_for + len(data) // 2)]
            )
            for _ in range(20)
        ]
    )
    delivered = [r[0] for r in results if r[0].uid is not None]
    refused = [r[0] for r in results if r[0].refused]
    assert len(delivered) == room_for and len(refused) == 20 - room_for
    assert {r.refused for r in refused} == {"over_quota"}
    assert await store.mail.usage(account_id) == (len(data) * room_for, room_for)


async def test_unknown_mailbox_refused_without_charging(store: Store) -> None:
    account_id = await make_account(store, "nvminh")
    [result] = await deliver(store, make_message(), [Target(account_id, quota=10**9, mailbox="Không có")])
    assert result.refused == "no_mailbox"
    assert await store.mail.usage(account_id) == (0, 0)


async def test_expunge_releases_usage_and_blob_after_grace(store: Store, clock) -> None:
    a = await make_account(store, "a")
    b = await make_account(store, "b")
    data = make_message("Chung", size=5000)
    results = await deliver(store, data, [Target(a, quota=10**9), Target(b, quota=10**9)])
    digest = (await store.mail.messages(results[0].mailbox_id))[0].blob_hash
    os.utime(store.blobs.path(digest), (clock.now.timestamp(),) * 2)  # written at the test clock's time

    assert await store.mail.expunge(results[0].mailbox_id, [1]) == [1]
    assert (await blob_row(store, digest)).refcount == 1
    assert await store.mail.usage(a) == (0, 0)

    assert await store.mail.expunge(results[1].mailbox_id, [1, 99]) == [1]
    row = await blob_row(store, digest)
    assert row.refcount == 0 and row.zero_since == clock.now
    assert await store.mail.collect_garbage() == 0  # still within the grace period
    assert store.blobs.exists(digest)

    clock.advance(hours=2)
    assert await store.mail.collect_garbage() == 1
    assert not store.blobs.exists(digest)
    assert await blob_row(store, digest) is None


async def test_redelivery_during_grace_keeps_blob(store: Store, clock) -> None:
    a = await make_account(store, "a")
    data = make_message("Lặp lại")
    [first] = await deliver(store, data, [Target(a, quota=10**9)])
    await store.mail.expunge(first.mailbox_id, [first.uid])
    clock.advance(minutes=30)
    await deliver(store, data, [Target(a, quota=10**9)])
    clock.advance(hours=5)
    assert await store.mail.collect_garbage() == 0  # referenced again: the row is not even a candidate
    digest = (await store.mail.messages(first.mailbox_id))[0].blob_hash
    assert (await blob_row(store, digest)).refcount == 1 and store.blobs.exists(digest)


async def test_changes_are_published_after_commit(store: Store) -> None:
    account_id = await make_account(store, "nvminh")
    async with store.events.subscribe(account_id) as queue:
        [result] = await deliver(store, make_message(), [Target(account_id, quota=10**9)])
        change = await asyncio.wait_for(queue.get(), 1)
        assert (change.kind, change.mailbox_id, change.uids) == ("append", result.mailbox_id, (1,))
        await store.mail.expunge(result.mailbox_id, [1])
        assert (await asyncio.wait_for(queue.get(), 1)).kind == "expunge"


@pytest.mark.parametrize(
    "when", [dt.datetime(2025, 12, 31, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=7)))]
)
async def test_internal_date_round_trips_with_zone(store: Store, when: dt.datetime) -> None:
    account_id = await make_account(store, "nvminh")
    data = canonical(make_message())
    [result] = await store.mail.deliver(
        data, parse(data), [Target(account_id, quota=10**9)], internal_date=when
    )
    [summary] = await store.mail.messages(result.mailbox_id)
    assert summary.internal_date == when and summary.internal_date.tzinfo is not None


async def test_collector_spares_a_body_reused_after_its_count_fell_to_zero(store: Store, clock) -> None:
    a = await make_account(store, "a")
    data = canonical(make_message("Gửi lại"))
    [first] = await store.mail.deliver(data, parse(data), [Target(a, quota=10**9)])
    digest = (await store.mail.messages(first.mailbox_id))[0].blob_hash
    await store.mail.expunge(first.mailbox_id, [first.uid])
    clock.advance(hours=2)
    store.blobs.put(data)  # a delivery has just found the file and is about to commit its row
    assert await store.mail.collect_garbage() == 0
    assert store.blobs.exists(digest)


async def test_remote_recipients_are_queued_in_the_same_transaction(store: Store) -> None:
    from hopthu.store.mailstore import Remote
    from hopthu.store.schema import queue_item

    local = await make_account(store, "nvminh")
    data = canonical(make_message("Gửi ra ngoài"))
    results = await store.mail.deliver(
        data,
        parse(data),
        [
            Target(local, quota=10**9),
            Remote("nvminh@cantho.gov.vn", "ban@example.org", local),
            Remote("nvminh@cantho.gov.vn", "khac@example.net", local),
        ],
    )
    assert results[0].uid == 1 and results[1].queue_id and results[2].queue_id
    async with store.db.read() as conn:
        rows = (await conn.execute(sa.select(queue_item).order_by(queue_item.c.id))).all()
    assert [(r.recipient, r.domain, r.status) for r in rows] == [
        ("ban@example.org", "example.org", "queued"),
        ("khac@example.net", "example.net", "queued"),
    ]
    assert (await blob_row(store, rows[0].blob_hash)).refcount == 3  # one message row, two queue rows


async def test_every_list_order_pages_through_each_message_once(store: Store) -> None:
    """The webmail's sortable list: sender, subject and size orders walk their index with a
    (key, uid) cursor, ties included, and fold Vietnamese so "Ánh" sorts with "Anh"."""
    account_id = await make_account(store, "sorter")
    senders = ["Ánh Trần <a@x.vn>", "Bảo Lê <b@x.vn>", "anh tran <c@x.vn>", "Zô Ly <z@x.vn>"]
    subjects = ["Re: Giấy mời", "TL: báo cáo", "Ảnh hội nghị", "Fwd: công văn"]
    for n in range(23):
        data = make_message(subjects[n % 4], sender=senders[n % 3 if n % 5 else 3], size=1000 + 37 * (n % 6))
        await deliver(store, data, [Target(account_id, quota=10**9)])
    inbox = await store.mail.mailbox(account_id, "INBOX")

    async def walk(order: str) -> list:
        seen, after = [], None
        while True:
            page = await store.mail.messages(inbox.id, limit=4, order=order, after=after)
            seen.extend(page)
            if len(page) < 4:
                return seen
            after = (page[-1].uid, page[-1].sort_value(order))

    everything = await store.mail.messages(inbox.id, limit=100, order="oldest")
    assert [m.uid for m in everything] == list(range(1, 24))
    for order, key in [
        ("sender", lambda m: (m.sort_sender, m.uid)),
        ("subject", lambda m: (m.sort_subject, m.uid)),
        ("largest", lambda m: (-m.size, -m.uid)),
        ("newest", lambda m: -m.uid),
    ]:
        walked = await walk(order)
        assert [m.uid for m in walked] == [m.uid for m in sorted(everything, key=key)], order
    by_sender = await walk("sender")
    assert by_sender[0].sort_sender == "anh tran" and by_sender[-1].sort_sender == "zo ly"
    assert {m.sort_subject for m in everything} == {"giay moi", "bao cao", "anh hoi nghi", "cong van"}


class _Unstorable:
    """A parsed message whose envelope the database cannot take (not JSON): its row fails the
    transaction it is in."""

    def __init__(self, data: bytes) -> None:
        self._parsed = parse(data)
        self.envelope = {"subject": {1, 2}}

    def __getattr__(self, name: str) -> object:
        return getattr(self._parsed, name)


async def test_a_failing_delivery_does_not_take_its_group_with_it(store: Store) -> None:
    """Deliveries arriving together share one transaction; when one of them cannot be stored the
    others are still stored (each once, under its own UID) and only that one is refused."""
    account_id = await make_account(store, "nvminh")
    good = [canonical(make_message(f"Thư {n}")) for n in range(12)]
    bad = canonical(make_message("Thư hỏng"))
    target = [Target(account_id, quota=10**9)]
    outcomes = await asyncio.gather(
        *[store.mail.deliver(data, parse(data), target) for data in good[:6]],
        store.mail.deliver(bad, _Unstorable(bad), target),
        *[store.mail.deliver(data, parse(data), target) for data in good[6:]],
        return_exceptions=True,
    )
    failed = outcomes.pop(6)
    assert isinstance(failed, StoreError)
    assert sorted(result[0].uid for result in outcomes) == list(range(1, 13))
    inbox = await store.mail.mailbox(account_id, "INBOX")
    assert (inbox.uidnext, inbox.message_count) == (13, 12)
    assert await store.mail.usage(account_id) == (sum(len(d) for d in good), 12)
    subjects = {m.subject for m in await store.mail.messages(inbox.id, limit=50)}
    assert subjects == {f"Thư {n}" for n in range(12)}
