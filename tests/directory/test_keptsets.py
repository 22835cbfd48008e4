"""Who has sender lists or an out-of-office reply is kept in memory for delivery
(`directory.keptsets`): a change made through any service object of the node, or told by another
node, is followed at once; a change the node was not told of, after the refresh."""

from __future__ import annotations

import asyncio

from hopthu.directory.context import DirectoryContext
from hopthu.directory.keptsets import REFRESH_SECONDS, KeptAccounts
from hopthu.directory.preferences import Preferences, PreferenceService
from hopthu.directory.senderrules import SenderRuleService
from hopthu.store.events import EventBus, settings_changed
from tests.directory.test_senderrules import people


async def test_the_kept_ids_are_read_again_after_an_event_a_loss_or_the_refresh() -> None:
    bus = EventBus()
    stored = {1}
    reads = 0
    moment = [0.0]

    async def load() -> set[int]:
        nonlocal reads
        reads += 1
        return set(stored)

    kept = KeptAccounts(bus, load, monotonic=lambda: moment[0])
    assert await kept.among(set()) == set() and reads == 0  # nobody asked about: nothing read
    assert await kept.among({1, 2}) == {1} and reads == 1
    stored.add(2)
    assert await kept.among({1, 2}) == {1} and reads == 1  # kept: nobody told of the change
    bus.deliver(settings_changed(2))  # told, by this node or another
    assert await kept.among({1, 2}) == {1, 2} and reads == 2
    stored.add(3)
    bus.resynchronise()  # events may have been lost
    assert await kept.among({3}) == {3} and reads == 3
    stored.add(4)
    moment[0] += REFRESH_SECONDS
    assert await kept.among({4}) == {4} and reads == 4
    bus.deliver(settings_changed(9))
    assert await kept.among({4}) == {4} and reads == 5


async def test_a_change_committed_while_reading_is_not_missed() -> None:
    bus = EventBus()
    stored: set[int] = set()
    reading = asyncio.Event()
    release = asyncio.Event()

    async def load() -> set[int]:
        seen = set(stored)  # the read's snapshot, taken before the change commits
        reading.set()
        await release.wait()
        return seen

    kept = KeptAccounts(bus, load)
    first = asyncio.ensure_future(kept.among({5}))
    await reading.wait()
    stored.add(5)
    bus.deliver(settings_changed(5))  # committed and told while the read was under way
    release.set()
    assert await first == set()  # that read's answer, from before the change
    assert await kept.among({5}) == {5}  # the next question reads again


async def test_a_persons_new_rule_applies_at_once_on_every_service_of_the_node(
    directory, settings, store
) -> None:
    minh, anh = await people(directory)
    delivery = SenderRuleService(DirectoryContext(store, settings))  # another object, the same node
    assert await delivery.for_recipients({minh, anh}, {"ban@example.org"}) == {}  # nobody has rules
    await directory.sender_rules.add(minh, "block", "@example.org", actor="nvminh")
    assert await delivery.for_recipients({minh, anh}, {"ban@example.org"}) == {minh: "block"}
    rule = (await directory.sender_rules.listing(minh))[0]
    await directory.sender_rules.remove(minh, rule.id, actor="nvminh")
    assert await delivery.for_recipients({minh, anh}, {"ban@example.org"}) == {}


async def test_an_out_of_office_switched_on_is_seen_by_delivery_at_once(directory, settings, store) -> None:
    minh, anh = await people(directory)
    delivery = PreferenceService(DirectoryContext(store, settings))
    assert await delivery.away([minh, anh]) == {}
    chosen = Preferences(vacation_on=True, vacation_text="Tôi nghỉ phép.")
    await directory.preferences.save(anh, chosen)
    assert await delivery.away([minh, anh]) == {anh: chosen}
    await directory.preferences.save(anh, Preferences(signature="Ánh"))
    assert await delivery.away([minh, anh]) == {}
