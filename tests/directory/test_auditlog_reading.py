"""R13.4: the audit log read back as the portal pages it, newest first by id, filtered by who, a
dotted prefix of what (its `_` and `%` taken literally), on whom and a time window; and in the
order things happened for the export."""

import datetime as dt

from hopthu.directory import audit, auditlog
from hopthu.directory.auditlog import AuditFilter
from hopthu.directory.service import Directory
from tests.conftest import Clock


async def test_the_log_is_filtered_and_paged_by_id(directory: Directory, clock: Clock) -> None:
    db = directory.ctx.store.db
    start = clock()
    async with db.write() as conn:
        for minute, (actor, action, target) in enumerate(
            [
                ("quantri", "account.locked", "nvminh"),
                ("quantri", "account.unlocked", "nvminh"),
                ("hotro", "agency.renamed", "sonv"),
                ("quantri", "account%x", "nvminh"),
            ]
        ):
            await audit.record(
                conn, at=start + dt.timedelta(minutes=minute), actor=actor, action=action, target=target
            )
    everything = await auditlog.newest(db, AuditFilter(), before=None, limit=10)
    mine = [row for row in everything if row.at >= start]
    newest_first = ["account%x", "agency.renamed", "account.unlocked", "account.locked"]
    assert [row.action for row in mine] == newest_first

    accounts = AuditFilter(actor="quantri", action_prefix="account.", target="nvminh", since=start)
    first = await auditlog.newest(db, accounts, before=None, limit=1)
    assert [row.action for row in first] == ["account.unlocked"]
    rest = await auditlog.newest(db, accounts, before=first[0].id, limit=10)
    assert [row.action for row in rest] == ["account.locked"]

    literal = await auditlog.newest(db, AuditFilter(action_prefix="account%"), before=None, limit=10)
    assert [row.action for row in literal] == ["account%x"]  # "%" is no wildcard

    window = AuditFilter(since=start + dt.timedelta(minutes=1), until=start + dt.timedelta(minutes=3))
    exported = await auditlog.oldest_first(db, window, limit=10)
    assert [(row.actor, row.target) for row in exported] == [("quantri", "nvminh"), ("hotro", "sonv")]
    assert AuditFilter(actor="") != AuditFilter()  # an empty name filters (nobody), None does not
