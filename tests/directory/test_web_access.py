"""R6.5: using the webmail counts as access even within one long-lived session (the session's touch,
at most once a minute, carries the account's last access with it); R13.3: sessions end after the idle
minutes of the settings, an administrator's sooner; on both backends."""

import datetime as dt

import sqlalchemy as sa

from hopthu.config import PolicySettings
from hopthu.directory.people import PersonRow
from hopthu.directory.service import Directory
from hopthu.directory.websessions import WebSessions, idle_limits
from hopthu.store.schema import account
from tests.conftest import Clock


async def test_a_session_in_use_keeps_the_mailbox_in_use(directory: Directory, clock: Clock) -> None:
    await directory.agencies.add("Sở Nội vụ", actor="test")
    await directory.people.register([PersonRow("Nguyễn", "Văn", "Minh", "sonv")], actor="test")
    owner = (await directory.accounts.get("nvminh")).id
    db = directory.ctx.store.db
    sessions = WebSessions(db, clock, idle_limits(PolicySettings(session_idle_minutes=30 * 24 * 60)))
    token = await sessions.create(owner, public=False, must_change_password=False, user_agent="t", address="")

    async def last_access():
        return (await db.all(sa.select(account.c.last_access_at).where(account.c.id == owner)))[0][0]

    assert await last_access() is None
    clock.advance(days=10)  # within the (long) limit set here
    assert await sessions.find(token) is not None
    assert await last_access() == clock()
    clock.advance(seconds=30)
    await sessions.find(token)  # within the minute: nothing written
    assert await last_access() == clock() - dt.timedelta(seconds=30)


async def test_sessions_end_after_the_idle_times_of_the_rule(directory: Directory, clock: Clock) -> None:
    """R13.3 as production applies it: `WebSessions.find` and `listing` ask `policy.sessions` with the
    settings' minutes (here 40, public 20, administrators 10), and a role given makes the person's
    sessions an administrator's at once."""
    await directory.agencies.add("Sở Nội vụ", actor="test")
    people = [PersonRow("Nguyễn", "Văn", "Minh", "sonv"), PersonRow("Trần", "Thị", "Ánh", "sonv")]
    await directory.people.register(people, actor="test")
    owner = (await directory.accounts.get("nvminh")).id
    chief = (await directory.accounts.get("ttanh")).id
    await directory.roles.grant("ttanh", "auditor", actor="test")
    policy = PolicySettings(
        session_idle_minutes=40, session_public_idle_minutes=20, session_admin_idle_minutes=10
    )
    sessions = WebSessions(directory.ctx.store.db, clock, idle_limits(policy))
    opened = dict(must_change_password=False, user_agent="t", address="")
    public = await sessions.create(owner, public=True, **opened)
    private = await sessions.create(owner, public=False, **opened)
    administrator = await sessions.create(chief, public=False, **opened)
    clock.advance(minutes=10)
    assert await sessions.find(administrator) is None
    clock.advance(minutes=10, seconds=-1)
    assert len(await sessions.listing(owner)) == 2
    clock.advance(seconds=1)
    assert [s.public for s in await sessions.listing(owner)] == [False]
    assert await sessions.find(public) is None
    clock.advance(minutes=20)
    assert await sessions.find(private) is None
