"""R6.5: using the webmail counts as access even within one long-lived session (the session's touch,
at most once a minute, carries the account's last access with it), on both backends."""

import datetime as dt

import sqlalchemy as sa

from hopthu.directory.people import PersonRow
from hopthu.directory.service import Directory
from hopthu.directory.websessions import WebSessions
from hopthu.policy.sessions import PRIVATE_IDLE, PUBLIC_IDLE
from hopthu.store.schema import account
from tests.conftest import Clock


async def test_a_session_in_use_keeps_the_mailbox_in_use(directory: Directory, clock: Clock) -> None:
    await directory.agencies.add("Sở Nội vụ", actor="test")
    await directory.people.register([PersonRow("Nguyễn", "Văn", "Minh", "sonv")], actor="test")
    owner = (await directory.accounts.get("nvminh")).id
    db = directory.ctx.store.db
    sessions = WebSessions(db, clock)
    token = await sessions.create(owner, public=False, must_change_password=False, user_agent="t", address="")

    async def last_access():
        return (await db.all(sa.select(account.c.last_access_at).where(account.c.id == owner)))[0][0]

    assert await last_access() is None
    clock.advance(days=10)
    assert await sessions.find(token) is not None
    assert await last_access() == clock()
    clock.advance(seconds=30)
    await sessions.find(token)  # within the minute: nothing written
    assert await last_access() == clock() - dt.timedelta(seconds=30)


async def test_sessions_end_after_the_idle_times_of_the_rule(directory: Directory, clock: Clock) -> None:
    """R11.4 as production applies it: `WebSessions.find` and `listing` ask `policy.sessions`."""
    await directory.agencies.add("Sở Nội vụ", actor="test")
    await directory.people.register([PersonRow("Nguyễn", "Văn", "Minh", "sonv")], actor="test")
    owner = (await directory.accounts.get("nvminh")).id
    sessions = WebSessions(directory.ctx.store.db, clock)
    opened = dict(must_change_password=False, user_agent="t", address="")
    public = await sessions.create(owner, public=True, **opened)
    private = await sessions.create(owner, public=False, **opened)
    clock.advance(seconds=PUBLIC_IDLE.total_seconds() - 1)
    assert len(await sessions.listing(owner)) == 2
    clock.advance(seconds=1)
    assert [s.public for s in await sessions.listing(owner)] == [False]
    assert await sessions.find(public) is None
    clock.advance(seconds=PRIVATE_IDLE.total_seconds() - PUBLIC_IDLE.total_seconds())
    assert await sessions.find(private) is None
