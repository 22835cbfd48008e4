"""A message's conversation (store/webmail.py `conversation`) on both backends: one base subject
across the person's folders, chained by dates or replies, never another person's mail, bounded."""

from __future__ import annotations

import datetime as dt
import re

from hopthu.mail import canonical, parse
from hopthu.store import Store, webmail
from hopthu.store.types import Target
from tests.factories import make_account, make_message

START = dt.datetime(2026, 3, 2, 1, 30, tzinfo=dt.UTC)


async def put(
    store: Store,
    account_id: int,
    subject: str,
    *,
    folder: str = "INBOX",
    days: float = 0,
    headers: str = "",
) -> tuple[int, int]:
    data = make_message(subject)
    if headers.startswith("Message-ID:"):  # in place of the one the factory wrote
        data = re.sub(rb"Message-ID: [^\r]*\r\n", b"", data)
    data = canonical(headers.encode() + data)
    [done] = await store.mail.deliver(
        data,
        parse(data),
        [Target(account_id, quota=10**9, mailbox=folder)],
        internal_date=START + dt.timedelta(days=days),
    )
    assert done.mailbox_id is not None and done.uid is not None
    return done.mailbox_id, done.uid


async def boxes(
    store: Store, account_id: int, *, without: tuple[str, ...] = ("\\Trash", "\\Junk")
) -> list[int]:
    return [b.id for b in await store.mail.mailboxes(account_id) if b.special_use not in without]


async def test_one_subject_across_inbox_and_sent_without_trash_or_others(store: Store) -> None:
    me = await make_account(store, "ttnanh")
    other = await make_account(store, "nvminh")
    first = await put(store, me, "Giấy mời họp")
    reply = await put(store, me, "Trả lời: Giấy mời họp", folder="Sent", days=1)
    await put(store, me, "Re: Giấy mời họp", folder="Trash", days=2)
    await put(store, me, "Re: Giấy mời họp", folder="Junk", days=2)
    await put(store, other, "Re: Giấy mời họp", days=2)  # the same subject in someone else's mailbox
    await put(store, me, "Báo cáo tuần", days=2)
    answer = await put(store, me, "RE: TL: Giấy mời họp", days=3)
    found = await webmail.conversation(store.db, await boxes(store, me), *answer)
    assert found is not None
    assert [(m.mailbox_id, m.uid) for m in found.messages] == [first, reply, answer]
    assert found.opened == 2 and found.total == 3 and (found.earlier, found.later) == (0, 0)
    assert found.messages[1].subject == "Trả lời: Giấy mời họp"
    # Opened from Trash, the caller's folders are searched and the opened one is kept.
    trash = next(b.id for b in await store.mail.mailboxes(me) if b.special_use == "\\Trash")
    found = await webmail.conversation(store.db, await boxes(store, me), trash, 1)
    assert found is not None and found.total == 4 and found.messages[found.opened].mailbox_id == trash


async def test_an_empty_subject_groups_nothing(store: Store) -> None:
    me = await make_account(store, "ttnanh")
    await put(store, me, "")
    opened = await put(store, me, "Re:", days=1)  # nothing left once the prefix is taken off
    assert await webmail.conversation(store.db, await boxes(store, me), *opened) is None


async def test_far_apart_messages_join_only_through_a_reply(store: Store) -> None:
    me = await make_account(store, "ttnanh")
    old = await put(store, me, "Báo cáo tuần", headers="Message-ID: <old@cantho.gov.vn>\r\n")
    await put(store, me, "Báo cáo tuần", days=200)
    latest = await put(store, me, "Báo cáo tuần", days=250)
    found = await webmail.conversation(store.db, await boxes(store, me), *latest)
    assert found is not None and found.total == 2  # 200 days after the first: another conversation
    answer = await put(
        store, me, "Re: Báo cáo tuần", days=400, headers="In-Reply-To: <old@cantho.gov.vn>\r\n"
    )
    found = await webmail.conversation(store.db, await boxes(store, me), *answer)
    assert found is not None
    assert [(m.mailbox_id, m.uid) for m in found.messages] == [old, answer]


async def test_at_most_the_bound_is_shown_and_the_rest_counted(store: Store) -> None:
    me = await make_account(store, "ttnanh")
    sent = [await put(store, me, "Lịch trực", folder="Sent", days=n) for n in range(30)]
    got = [await put(store, me, "Re: Lịch trực", days=n + 0.5) for n in range(30)]
    found = await webmail.conversation(store.db, await boxes(store, me), *got[-1], shown=50)
    assert found is not None and len(found.messages) == 50
    assert (found.total, found.earlier, found.later) == (60, 10, 0)
    assert (found.messages[-1].mailbox_id, found.messages[-1].uid) == got[-1]
    # The oldest opened: shown with the messages around it, the newer ones counted.
    found = await webmail.conversation(store.db, await boxes(store, me), *sent[0], shown=50)
    assert found is not None and found.opened == 0 and found.later == 10


async def test_messages_a_moment_apart_keep_their_order(store: Store) -> None:
    me = await make_account(store, "ttnanh")
    first = await put(store, me, "Lịch trực")
    reply = await put(store, me, "Re: Lịch trực", folder="Sent", days=0.4 / 86400)  # within one second
    answer = await put(store, me, "Re: Lịch trực", days=0.7 / 86400)
    found = await webmail.conversation(store.db, await boxes(store, me), *answer)
    assert found is not None
    assert [(m.mailbox_id, m.uid) for m in found.messages] == [first, reply, answer]
