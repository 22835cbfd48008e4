"""Block and allow lists of senders in the directory, on both backends: what a pattern may be, how
the lists are bounded, which rule wins, and that the city's lists (kept in memory) follow changes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hopthu.directory import senderrules
from hopthu.directory.people import PersonRow
from hopthu.directory.senderrules import decide, normalise
from hopthu.errors import HopThuError, NotFound
from hopthu.store.schema import audit_event


async def people(directory) -> list[int]:
    await directory.agencies.add("Sở Nội vụ", actor="test")
    rows = [PersonRow("Nguyễn", "Văn", "Minh", "sonv"), PersonRow("Trần", "Thị Ngọc", "Ánh", "sonv")]
    made = await directory.people.register(rows, actor="test")
    return [(await directory.accounts.get(row.address)).id for row in made]


def test_patterns_are_addresses_or_domains_in_lower_case() -> None:
    assert normalise("  Ban@Example.ORG ") == "ban@example.org"
    assert normalise("<ban@example.org>") == "ban@example.org"
    assert normalise("@Example.org") == "@example.org"
    assert normalise("example.org") == "@example.org"
    for wrong in (
        "",
        "ban",
        "ban@",
        "@org",
        "a b@example.org",
        "ban@exa_mple.org",
        "x" * 250 + "@example.org",
    ):
        with pytest.raises(HopThuError) as refused:
            normalise(wrong)
        assert refused.value.vi and refused.value.en and refused.value.vi != refused.value.en


def test_the_most_specific_rule_wins_and_block_beats_allow_at_one_level() -> None:
    rules = {"@example.org": "block", "ban@example.org": "allow", "@spam.example.net": "block"}
    assert decide(rules, {"ban@example.org"}) == "allow"
    assert decide(rules, {"khac@example.org"}) == "block"
    assert decide(rules, {"a@mail.example.org"}) == "block"  # a subdomain is in its domain
    assert decide(rules, {"a@example.net"}) is None
    assert decide(rules, {"ban@example.org", "x@spam.example.net"}) == "allow"  # address level first
    assert decide({"@example.org": "allow", "@example.net": "block"}, {"a@example.org", "b@example.net"}) == (
        "block"
    )
    assert decide(rules, {"not an address"}) is None


async def test_a_person_keeps_own_lists_bounded_and_moves_a_pattern_between_them(
    directory, monkeypatch
) -> None:
    minh, anh = await people(directory)
    rules = directory.sender_rules
    await rules.add(minh, "block", "Quangcao@Example.org", actor="nvminh")
    await rules.add(minh, "allow", "@doitac.vn", actor="nvminh")
    with pytest.raises(HopThuError, match="already on the block list"):
        await rules.add(minh, "block", "quangcao@example.org", actor="nvminh")
    moved = await rules.add(minh, "allow", "quangcao@example.org", actor="nvminh")
    assert [(r.kind, r.pattern) for r in await rules.listing(minh)] == [
        ("allow", "@doitac.vn"),
        ("allow", "quangcao@example.org"),
    ]
    assert await rules.listing(anh) == [] and await rules.listing(None) == []
    with pytest.raises(NotFound):
        await rules.remove(anh, moved.id, actor="ttnanh")  # not hers
    await rules.remove(minh, moved.id, actor="nvminh")
    assert [r.pattern for r in await rules.listing(minh)] == ["@doitac.vn"]

    monkeypatch.setattr(senderrules, "PERSONAL_LIMIT", 2)
    await rules.add(minh, "block", "a@example.org", actor="nvminh")
    with pytest.raises(HopThuError, match="already hold 2 entries"):
        await rules.add(minh, "block", "b@example.org", actor="nvminh")
    await rules.add(anh, "block", "b@example.org", actor="ttnanh")  # each person's own bound


async def test_recipients_rules_are_answered_per_account(directory) -> None:
    minh, anh = await people(directory)
    rules = directory.sender_rules
    await rules.add(minh, "block", "@example.org", actor="nvminh")
    await rules.add(anh, "allow", "ban@example.org", actor="ttnanh")
    assert await rules.for_recipients({minh, anh}, {"ban@example.org"}) == {minh: "block", anh: "allow"}
    assert await rules.for_recipients({minh, anh}, {"khac@example.org"}) == {minh: "block"}
    assert await rules.for_recipients({anh}, {"khac@example.net"}) == {}
    assert await rules.for_recipients(set(), {"ban@example.org"}) == {}


async def test_the_city_lists_are_audited_and_followed_at_once(directory, store) -> None:
    await people(directory)
    rules = directory.sender_rules
    assert await rules.city({"lua@example.org"}) is None  # loaded (empty) and kept in memory
    added = await rules.add(None, "block", "@example.org", actor="ttnanh")
    assert await rules.city({"lua@example.org"}) == "block"  # refreshed by the change
    await rules.add(None, "allow", "ban@example.org", actor="ttnanh")
    assert await rules.city({"ban@example.org"}) == "allow"
    with pytest.raises(HopThuError, match="city's own domain"):
        await rules.add(None, "block", "@cantho.gov.vn", actor="ttnanh")
    await rules.remove(None, added.id, actor="ttnanh")
    assert await rules.city({"lua@example.org"}) is None
    async with store.db.read() as conn:
        events = (
            await conn.execute(
                sa.select(audit_event.c.actor, audit_event.c.action, audit_event.c.target)
                .where(audit_event.c.action.like("sender_rule.%"))
                .order_by(audit_event.c.id)
            )
        ).all()
    assert [tuple(e) for e in events] == [
        ("ttnanh", "sender_rule.block", "@example.org"),
        ("ttnanh", "sender_rule.allow", "ban@example.org"),
        ("ttnanh", "sender_rule.removed", "@example.org"),
    ]


async def test_a_change_made_elsewhere_reaches_the_city_lists_after_the_refresh(
    directory, settings, store
) -> None:
    from hopthu.directory.context import DirectoryContext
    from hopthu.directory.senderrules import REFRESH_SECONDS, SenderRuleService

    await people(directory)
    moment = [0.0]
    here = SenderRuleService(DirectoryContext(store, settings), monotonic=lambda: moment[0])
    assert await here.city({"lua@example.org"}) is None
    await directory.sender_rules.add(None, "block", "lua@example.org", actor="ttnanh")  # another node
    assert await here.city({"lua@example.org"}) is None  # still the copy in memory
    moment[0] += REFRESH_SECONDS
    assert await here.city({"lua@example.org"}) == "block"
