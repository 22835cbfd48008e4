"""`Database.tuples`: the short reads of IMAP, delivery and the webmail, with `IN` lists, give the
same rows straight from the driver as through SQLAlchemy, on both backends, an empty list matching
nothing, dates, booleans and a statement's own literal lists bound and converted as SQLAlchemy does."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from hopthu.directory.people import PersonRow
from hopthu.store import Store
from hopthu.store import db as db_module
from hopthu.store.schema import account, sender_rule

_RULES = sa.select(sender_rule.c.account_id, sender_rule.c.pattern, sender_rule.c.kind).where(
    sender_rule.c.account_id.in_(sa.bindparam("accounts", expanding=True)),
    sender_rule.c.pattern.in_(sa.bindparam("patterns", expanding=True)),
    sender_rule.c.kind != sa.bindparam("not_kind"),
)


async def test_lists_and_plain_values_bind_as_through_sqlalchemy(store: Store, directory) -> None:
    db = store.db
    await directory.agencies.add("Sở Nội vụ", actor="test")
    people = [PersonRow("Nguyễn", "Văn", "Minh", "sonv"), PersonRow("Trần", "Thị", "Lan", "sonv")]
    people.append(PersonRow("Lê", "Văn", "Bình", "sonv"))
    made = await directory.people.register(people, actor="test")
    ids = [(await directory.accounts.get(row.address)).id for row in made]
    rows = [
        {"account_id": ids[0], "pattern": "a@example.org", "kind": "block"},
        {"account_id": ids[0], "pattern": "example.net", "kind": "allow"},
        {"account_id": ids[1], "pattern": "a@example.org", "kind": "allow"},
        {"account_id": ids[2], "pattern": "a@example.org", "kind": "block"},
    ]
    async with db.write() as conn:
        await conn.execute(
            sa.insert(sender_rule), [{**row, "created_at": store.mail.clock()} for row in rows]
        )
    params = {"accounts": [ids[0], ids[1]], "patterns": ["a@example.org", "example.net"], "not_kind": "x"}
    expected = sorted(tuple(row) for row in await db.all(_RULES, params))
    assert len(expected) == 3
    assert sorted(await db.tuples(_RULES, params)) == expected
    assert sorted(await db.tuples(_RULES, {**params, "not_kind": "allow"})) == [
        (ids[0], "a@example.org", "block")
    ]
    assert await db.tuples(_RULES, {**params, "accounts": []}) == []


_ACCOUNTS = (
    sa.select(
        account.c.id,
        account.c.local,
        account.c.must_change_password,
        account.c.password_changed_at,
        account.c.registered_on,
        account.c.last_access_at,
    )
    .where(
        account.c.id.in_(sa.bindparam("ids", expanding=True)),
        account.c.status.notin_(["deleted", "revoked"]),  # a list the statement holds itself
        account.c.created_at < sa.bindparam("before", type_=account.c.created_at.type),
    )
    .order_by(account.c.id)
)


async def test_dates_booleans_and_literal_lists_convert_as_through_sqlalchemy(
    store: Store, directory
) -> None:
    await directory.agencies.add("Sở Nội vụ", actor="test")
    people = [PersonRow("Nguyễn", "Văn", "Minh", "sonv"), PersonRow("Trần", "Thị", "Lan", "sonv")]
    made = await directory.people.register(people, actor="test")
    ids = [(await directory.accounts.get(row.address)).id for row in made]
    before = store.mail.clock() + dt.timedelta(days=1)
    params = {"ids": ids, "before": before}
    expected = [tuple(row) for row in await store.db.all(_ACCOUNTS, params)]
    assert len(expected) == 2
    found = await store.db.tuples(_ACCOUNTS, params)
    assert found == expected
    assert all(
        isinstance(row[2], bool) and isinstance(row[3], dt.datetime) and isinstance(row[4], dt.date)
        for row in found
    )
    assert await store.db.tuples(_ACCOUNTS, {**params, "before": before - dt.timedelta(days=30)}) == []


async def test_statements_kept_are_bounded(store: Store, monkeypatch) -> None:
    monkeypatch.setattr(db_module, "KEPT_MAX", 3)
    statements = [sa.select(account.c.id).where(account.c.id > n) for n in range(8)]
    for statement in statements:
        assert await store.db.tuples(statement) == []
    assert await store.db.tuples(statements[0]) == []  # dropped, made again
    assert len(store.db._kept) <= 3
