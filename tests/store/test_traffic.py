"""Mail counted per day and agency (R9.3, and protection's counts for R13.2): counted in memory,
added to the table on flush (twice adds up, never replaces), read back per day with the days without
mail as zeros, on both backends."""

import datetime as dt

from hopthu.directory.people import PersonRow
from hopthu.directory.service import Directory
from hopthu.store.traffic import PROTECTION_KINDS, Traffic, per_day
from tests.conftest import Clock


async def test_counts_add_up_per_day_and_agency(directory: Directory, clock: Clock) -> None:
    await directory.agencies.add("Sở Nội vụ", actor="test")
    await directory.agencies.add("Sở Y tế", actor="test")
    rows = [PersonRow("Nguyễn", "Văn", "Minh", "sonv"), PersonRow("Lê", "Thị", "Hoa", "soyt")]
    await directory.people.register(rows, actor="test")
    minh, hoa = (await directory.accounts.get("nvminh")).id, (await directory.accounts.get("lthoa")).id
    db = directory.ctx.store.db
    traffic = Traffic(db, clock)
    await traffic.received([minh, hoa])
    await traffic.sent(minh)
    traffic.blocked()
    await traffic.protection("malware_refused", [minh, hoa])  # one message, two agencies concerned
    await traffic.protection("spam_junk", [minh])
    await traffic.protection("held_outbound", [])  # nobody known: outside the city's agencies
    await traffic.flush()
    await traffic.received([minh])
    await traffic.flush()
    await traffic.flush()  # nothing new: nothing changes
    clock.advance(days=1)
    await traffic.sent(hoa)
    await traffic.flush()

    first = clock().date() - dt.timedelta(days=1)
    days = await per_day(db, first - dt.timedelta(days=1), clock().date())
    none = dict.fromkeys(PROTECTION_KINDS, 0)
    assert list(days.values()) == [
        {"received": 0, "sent": 0, "blocked": 0, **none},
        {
            "received": 3,
            "sent": 1,
            "blocked": 1,
            **none,
            "malware_refused": 2,
            "spam_junk": 1,
            "held_outbound": 1,
        },
        {"received": 0, "sent": 1, "blocked": 0, **none},
    ]
    sonv = (await directory.agencies.get("sonv")).id
    mine = await per_day(db, first, first, {sonv})
    assert mine[first] == {
        "received": 2,
        "sent": 1,
        "blocked": 0,
        **none,
        "malware_refused": 1,
        "spam_junk": 1,
    }


async def test_a_circular_counts_each_recipient_under_their_agency(
    directory: Directory, clock: Clock
) -> None:
    """Many recipients at once (their agencies looked up together), one of them unknown to the
    directory: each is counted once, under their own agency, the unknown one outside."""
    await directory.agencies.add("Sở Nội vụ", actor="test")
    await directory.agencies.add("Sở Y tế", actor="test")
    rows = [PersonRow("Nguyễn", "Văn", "Minh", "sonv"), PersonRow("Lê", "Thị", "Hoa", "soyt")]
    rows += [PersonRow("Trần", "Văn", given, "sonv") for given in ("An", "Bình", "Châu", "Dũng", "Giang")]
    results = await directory.people.register(rows, actor="test")
    ids = [(await directory.accounts.get(result.address)).id for result in results]
    db = directory.ctx.store.db
    traffic = Traffic(db, clock)
    await traffic.received([*ids, 10**6])
    await traffic.received(ids[:1])
    await traffic.flush()
    day = clock().date()
    sonv, soyt = (await directory.agencies.get("sonv")).id, (await directory.agencies.get("soyt")).id
    assert (await per_day(db, day, day, {sonv}))[day]["received"] == 7
    assert (await per_day(db, day, day, {soyt}))[day]["received"] == 1
    assert (await per_day(db, day, day))[day]["received"] == 9
