"""A set of UIDs read in parts of a few constant shapes (`store.reading.uid_parts`): together the
parts select exactly the set, in ascending order, and a thinned-out mailbox reads, flags and
expunges exactly what was asked, on both backends, also when the set takes several parts."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hopthu.mail import canonical, parse
from hopthu.store import Store, reading
from hopthu.store.flags import FLAGGED
from hopthu.store.mailstore import Target
from tests.factories import make_account, make_message


def selected_by(params: dict[str, object]) -> list[int]:
    """The UIDs a part's parameters select, as the database reads its clause."""
    chosen = set(params.get("uid_singles", []))  # type: ignore[call-overload]
    for name, lo in params.items():
        if name.startswith("uid_lo"):
            chosen |= set(range(lo, params["uid_hi" + name[6:]] + 1))  # type: ignore[call-overload,operator]
    return sorted(chosen)


@given(st.sets(st.integers(min_value=1, max_value=5000), max_size=3000))
def test_parts_select_exactly_the_set_in_ascending_order(uids: set[int]) -> None:
    wanted = sorted(uids)
    parts = list(reading.uid_parts(wanted))
    read = [uid for _clause, params in parts for uid in selected_by(params)]
    assert read == wanted  # every UID once, none more, parts one after another
    for _clause, params in parts:
        assert len(params.get("uid_singles", [])) <= reading.SINGLES_PER_PART  # type: ignore[arg-type]
        assert sum(name.startswith("uid_lo") for name in params) in reading.RANGE_SLOTS


def test_few_shapes_whatever_the_gaps() -> None:
    rng = random.Random(7)
    shapes = set()
    for _ in range(300):
        uids = sorted(rng.sample(range(1, 3000), rng.randint(1, 900)))
        shapes |= {clause for clause, _params in reading.uid_parts(uids)}
    assert len(shapes) <= 2 * len(reading.RANGE_SLOTS)


async def test_a_thinned_mailbox_reads_flags_and_expunges_exactly_what_was_asked(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small parts, so that a set of forty messages takes several of them.
    monkeypatch.setattr(reading, "RANGES_PER_PART", 2)
    monkeypatch.setattr(reading, "SINGLES_PER_PART", 3)
    account_id = await make_account(store, "nvminh")
    for number in range(40):
        data = canonical(make_message(f"Công văn số {number}"))
        [delivered] = await store.mail.deliver(data, parse(data), [Target(account_id, quota=10**9)])
    box = delivered.mailbox_id
    thinned = [uid for uid in range(1, 41) if uid % 7 != 0 and uid not in (20, 21, 22)]
    assert await store.mail.expunge(box, [uid for uid in range(1, 41) if uid not in thinned]) == [
        uid for uid in range(1, 41) if uid not in thinned
    ]

    rng = random.Random(3)
    for _ in range(5):
        asked = sorted(rng.sample(range(1, 45), 25))
        found = await reading.messages(store.db, box, asked, {"flags"})
        assert [row.uid for row in found] == [uid for uid in asked if uid in thinned]

    marked = thinned[::2]
    result = await store.mail.editor.set_flags(account_id, box, marked, "+", FLAGGED)
    assert sorted(result.changed) == marked
    everything = await reading.messages(store.db, box, thinned, {"flags"})
    assert [row.uid for row in everything if row.flags & FLAGGED] == marked

    gone = thinned[1::3]
    assert await store.mail.expunge(box, gone) == gone
    left = await reading.messages(store.db, box, list(range(1, 41)), {"flags"})
    assert [row.uid for row in left] == [uid for uid in thinned if uid not in gone]
