"""R6.5: using the webmail counts as access even within one long-lived session (the session's touch,
at most once a minute, carries the account's last access with it), on both backends."""

import datetime as dt

import sqlalchemy as sa

from hopthu.directory.people import PersonRow
from hopthu.directory.service import Directory
from hopthu.directory.websessions import WebSessions
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
