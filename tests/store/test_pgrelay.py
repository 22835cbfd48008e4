"""Change events between nodes (PostgreSQL LISTEN/NOTIFY): carried in order, not echoed to the node
that sent them, too-large payloads sent without their UIDs, and a lost listening connection
re-established with every subscriber told to compare with the store."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from hopthu.store.events import Change, EventBus, settings_changed
from hopthu.store.pgrelay import MAX_PAYLOAD, PgRelay, asyncpg_dsn, decode, encode


@pytest.fixture
async def nodes(database_url: str):
    if not database_url.startswith("postgresql"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    buses = (EventBus(), EventBus())
    relays = [PgRelay(bus, database_url) for bus in buses]
    for relay in relays:
        await relay.start()
    yield buses, relays
    for relay in relays:
        await relay.close()


async def test_changes_reach_the_other_node_only(nodes) -> None:
    (a, b), _relays = nodes
    async with a.subscribe(7) as here, b.subscribe(7) as there:
        a.publish([Change(7, 1, "append", (1,), 2, 99), Change(7, 1, "flags", (1,), 3, 99)])
        assert await asyncio.wait_for(there.get(), 5) == Change(7, 1, "append", (1,), 2, 99)
        assert await asyncio.wait_for(there.get(), 5) == Change(7, 1, "flags", (1,), 3, 99)
        assert here.qsize() == 2  # the local delivery only, no echo from the database
        await asyncio.sleep(0.2)
        assert here.qsize() == 2


async def test_a_persons_settings_changed_on_one_node_are_read_again_on_the_other(nodes) -> None:
    """What delivery keeps of who has sender lists or an out-of-office (`directory.keptsets`) is
    stale on every node once one of them changed a setting."""
    (a, b), _relays = nodes
    before = b.settings_generation()
    async with b.subscribe(7) as there:
        a.publish(settings_changed(7))
        assert await asyncio.wait_for(there.get(), 5) == Change(7, 0, "settings")
    assert b.settings_generation() == before + 1


async def test_a_lost_listening_connection_is_re_established(nodes, database_url: str) -> None:
    (a, b), (_relay_a, relay_b) = nodes
    async with b.subscribe(7) as there:
        pid = relay_b._listener.get_server_pid()
        admin = await asyncpg.connect(asyncpg_dsn(database_url))
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
        await admin.close()
        generation = b.settings_generation()
        assert await asyncio.wait_for(there.get(), 10) is None  # "re-read the store"
        assert b.settings_generation() > generation  # what is kept of settings, too
        a.publish([Change(7, 1, "expunge", (4,), 5, 0)])
        assert await asyncio.wait_for(there.get(), 5) == Change(7, 1, "expunge", (4,), 5, 0)


def test_a_payload_too_large_goes_without_its_uids() -> None:
    big = Change(1, 2, "expunge", tuple(range(1, 5000)), 9, 0)
    text = encode(big, "node")
    assert len(text) <= MAX_PAYLOAD
    assert decode(text) == ("node", Change(1, 2, "expunge", (), 9, 0))
