"""Writes that share a transaction (`Database.run_in_writer`) and the \\Recent claim (`store.recent`),
on both backends: each caller gets its own outcome, a failing one takes nothing else with it, a
claim is never given to two sessions, and no change is left waiting for a writer."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from hopthu.config import Settings
from hopthu.mail import canonical, parse
from hopthu.store import Store, recent
from hopthu.store.flags import SEEN
from hopthu.store.mailstore import Target
from hopthu.store.schema import mailbox
from tests.factories import make_account, make_message


class Refused(Exception):
    pass


async def test_a_failing_write_is_rolled_back_alone_and_raises_to_its_caller(store: Store) -> None:
    account_id = await make_account(store, "nvminh")
    inbox = await store.mail.mailbox(account_id, "INBOX")

    def rename_to(name: str, fail: bool):
        def work(conn: sa.Connection) -> str:
            conn.execute(sa.update(mailbox).where(mailbox.c.id == inbox.id).values(name=name))
            if fail:
                raise Refused(name)
            return name

        return work

    # Queued together, so on SQLite they share one transaction: the third's change must not survive.
    outcomes = await asyncio.gather(
        *[store.db.run_in_writer(rename_to(f"Hộp {n}", fail=n == 2)) for n in range(4)],
        return_exceptions=True,
    )
    assert outcomes[:2] == ["Hộp 0", "Hộp 1"] and outcomes[3] == "Hộp 3"
    assert isinstance(outcomes[2], Refused)
    names = await store.db.all(sa.select(mailbox.c.name).where(mailbox.c.id == inbox.id))
    assert names[0][0] != "Hộp 2"  # on SQLite the last to run ("Hộp 3"); PostgreSQL commits in any order
    if store.db.backend == "sqlite":
        assert names[0][0] == "Hộp 3"


async def test_concurrent_claims_never_share_a_uid_and_the_floor_outlives_the_process(
    store: Store, settings: Settings
) -> None:
    account_id = await make_account(store, "ttnanh")
    inbox = await store.mail.mailbox(account_id, "INBOX")
    ends = [5, 3, 9, 9, 12, 7, 12, 20, 2, 15]
    box, validity = inbox.id, inbox.uidvalidity
    claims = await asyncio.gather(*[recent.claim(store.db, box, validity, upto) for upto in ends])
    taken = sorted(uid for claim in claims if claim is not None for uid in range(*claim))
    assert taken == list(range(1, 20))  # each UID below the highest end, to exactly one session
    stored = await store.db.all(sa.select(mailbox.c.recent_uid).where(mailbox.c.id == inbox.id))
    assert recent.floor(store.db, box, validity, stored[0][0]) == 20  # written yet or not, it counts
    # A session that opened an earlier mailbox of the same id (SQLite reuses ids) claims nothing.
    assert await recent.claim(store.db, box, validity - 1, 30) is None
    assert await recent.claim(store.db, inbox.id, inbox.uidvalidity, 20) is None
    await store.db.run_in_writer(lambda conn: None)  # queued after the floor's write: it has landed

    reopened = await Store.open(settings)  # another process, later
    try:
        stored = await reopened.db.all(sa.select(mailbox.c.recent_uid).where(mailbox.c.id == inbox.id))
        assert stored[0][0] == 20
        assert await recent.claim(reopened.db, inbox.id, inbox.uidvalidity, 20) is None
        assert await recent.claim(reopened.db, inbox.id, inbox.uidvalidity, 23) == (20, 23)
    finally:
        await reopened.close()


async def test_flag_changes_one_after_another_each_get_written(store: Store) -> None:
    """The next change, asked for the moment the previous one is answered, still finds a writer
    (it once waited forever for a writer that had just finished)."""
    account_id = await make_account(store, "lthoa")
    data = canonical(make_message("Thư cần đánh dấu"))
    [delivered] = await store.mail.deliver(data, parse(data), [Target(account_id, quota=10**9)])
    editor = store.mail.editor
    for n in range(6):
        mode = "+" if n % 2 == 0 else "-"
        async with asyncio.timeout(10):  # not `wait_for`: its own task would give the writer time
            result = await editor.set_flags(account_id, delivered.mailbox_id, [delivered.uid], mode, SEEN)
        assert result.changed == {delivered.uid}
