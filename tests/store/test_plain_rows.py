"""`Database.plain_rows`: the small per-message reads of delivery, with `IN` lists, give the same rows
straight from the driver as through SQLAlchemy, on both backends, an empty list matching nothing."""

from __future__ import annotations

import sqlalchemy as sa

from hopthu.directory.people import PersonRow
from hopthu.store import Store
from hopthu.store.schema import sender_rule

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
    assert sorted(await db.plain_rows(_RULES, params)) == expected
    assert sorted(await db.plain_rows(_RULES, {**params, "not_kind": "allow"})) == [
        (ids[0], "a@example.org", "block")
    ]
    assert await db.plain_rows(_RULES, {**params, "accounts": []}) == []
