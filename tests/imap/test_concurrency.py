"""Many connections at once: UIDs strictly increasing and never reused under concurrent APPEND,
COPY and MOVE; changes made in one session reach every other session on that mailbox (untagged
EXISTS, FETCH FLAGS, EXPUNGE on the next command, and during IDLE within a second)."""

from __future__ import annotations

import asyncio
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from imapclient import IMAPClient

from hopthu.mail import canonical
from hopthu.store import Store
from tests.imap.conftest import PASSWORD, RunningServer, insecure_tls, message, second_node
from tests.imap.rawclient import tagged

WRITERS = 8
EACH = 15


def _appender(imapserver: RunningServer, worker: int) -> list[int]:
    client = imapserver.raw()
    uids = []
    for n in range(EACH):
        data = message(f"Thư {worker}-{n}")
        client.send(b"a APPEND INBOX {%d+}\r\n" % len(data) + data + b"\r\n")
        uids.append(int(re.search(rb"APPENDUID \d+ (\d+)", tagged(client.until("a")))[1]))
    client.close()
    return uids


def _copier(imapserver: RunningServer, worker: int) -> list[int]:
    client = imapserver.raw()
    client.command("SELECT Archive")
    uids = []
    for _ in range(4):
        answer = tagged(client.command("COPY 1:3 INBOX"))
        found = re.search(rb"COPYUID \d+ [\d:,]+ ([\d:,]+)", answer)
        assert found, answer
        for part in found[1].decode().split(","):
            low, _, high = part.partition(":")
            uids.extend(range(int(low), int(high or low) + 1))
    client.close()
    return uids


def test_uids_unique_and_increasing_under_concurrent_append_and_copy(imapserver: RunningServer) -> None:
    for n in range(3):
        imapserver.deliver("nvminh", message(f"Lưu trữ {n}"), mailbox="Archive")
    with ThreadPoolExecutor(WRITERS + 4) as pool:
        appended = [pool.submit(_appender, imapserver, w) for w in range(WRITERS)]
        copied = [pool.submit(_copier, imapserver, w) for w in range(4)]
        results = [f.result() for f in appended + copied]
    for uids in results:
        assert uids == sorted(uids)  # each writer sees its own UIDs grow
    every = [uid for uids in results for uid in uids]
    assert len(every) == len(set(every)) == WRITERS * EACH + 4 * 4 * 3
    client = imapserver.raw()
    client.command("SELECT INBOX")
    listed = client.command("UID SEARCH ALL").split(b"\r\n")[0].split()[2:]
    assert sorted(map(int, listed)) == sorted(every)
    status = client.command("STATUS INBOX (MESSAGES UIDNEXT)")
    assert b"MESSAGES %d UIDNEXT %d" % (len(every), max(every) + 1) in status


def _appender_of(imapserver: RunningServer, local: str, worker: int) -> dict[int, bytes]:
    """APPENDs with synchronising literals, as imaplib sends them; each message by its UID."""
    client = imapserver.login(local)
    stored = {}
    for n in range(EACH):
        data = canonical(message(f"Thư {local} {worker}-{n}", body=f"Nội dung {worker}-{n}." * 40))
        typ, answer = client.append("INBOX", "(\\Seen)", None, data)
        assert typ == "OK", answer
        stored[int(re.search(rb"APPENDUID \d+ (\d+)", answer[0])[1])] = data
    client.logout()
    return stored


def test_concurrent_appends_share_commits_and_each_is_kept(imapserver: RunningServer) -> None:
    """APPENDs from several clients at once join the delivery's group commit: each OK names a UID of
    its own, and once it is said the message is stored: a store opened afresh on the same database
    and blob folder reads back every message's exact bytes under its UID."""
    with ThreadPoolExecutor(6) as pool:
        futures = [
            pool.submit(_appender_of, imapserver, local, w)
            for local in ("nvminh", "ttnanh")
            for w in range(3)
        ]
        results = [f.result() for f in futures]
    expected = {"nvminh": results[:3], "ttnanh": results[3:]}
    owners = {local: imapserver.account_id(local) for local in expected}
    for parts in expected.values():
        uids = sorted(uid for part in parts for uid in part)
        assert uids == list(range(1, 3 * EACH + 1))

    async def read_back() -> None:
        store = await Store.open(imapserver.server.settings, migrate=False)
        try:
            for local, parts in expected.items():
                box = await store.folders.find(owners[local], "INBOX")
                assert box is not None
                for part in parts:
                    for uid, data in part.items():
                        stored = await store.mail.message_bytes(box.id, uid)
                        assert stored is not None and stored.endswith(data), (local, uid)
        finally:
            await store.close()

    asyncio.run(read_back())


def test_concurrent_moves_never_lose_or_duplicate(imapserver: RunningServer) -> None:
    for n in range(20):
        imapserver.deliver("nvminh", message(f"Chuyển {n}"))

    def mover(_: int) -> None:
        client = imapserver.raw()
        client.command("SELECT INBOX")
        for _ in range(5):
            client.command("MOVE 1:2 Archive")
            client.command("NOOP")
        client.close()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(mover, range(4)))
    client = imapserver.raw()
    inbox = client.command("STATUS INBOX (MESSAGES)")
    archive = client.command("STATUS Archive (MESSAGES UIDNEXT)")
    left = int(re.search(rb"MESSAGES (\d+)", inbox)[1])
    moved = int(re.search(rb"MESSAGES (\d+)", archive)[1])
    assert left + moved == 20 and moved >= 10
    assert b"UIDNEXT %d" % (moved + 1) in archive  # every message moved got exactly one new UID


def test_changes_reach_other_sessions(imapserver: RunningServer) -> None:
    for n in range(3):
        imapserver.deliver("nvminh", message(f"Thư {n}"))
    watcher = imapserver.raw()
    actor = imapserver.raw()
    watcher.command("SELECT INBOX")
    actor.command("SELECT INBOX")
    actor.command("STORE 2 +FLAGS (\\Flagged)")
    assert b"* 2 FETCH (UID 2 FLAGS (\\Flagged \\Recent))" in watcher.command("NOOP")  # it selected first
    actor.command("STORE 1 +FLAGS.SILENT (\\Deleted)")
    actor.command("EXPUNGE")
    imapserver.deliver("nvminh", message("Thư mới"))
    news = watcher.command("NOOP")
    # 3 + 1 new (recent here: this session heard of it first), then the first one gone
    assert b"* 4 EXISTS\r\n* 4 RECENT\r\n* 1 EXPUNGE\r\n" in news
    # FETCH by sequence number must not be answered with EXPUNGE (RFC 9051 §7.5.1)
    actor.command("STORE 1 +FLAGS.SILENT (\\Deleted)")
    actor.command("EXPUNGE")
    during = watcher.command("FETCH 1 FLAGS")
    assert b"EXPUNGE" not in during
    assert b"* 1 EXPUNGE" in watcher.command("NOOP")


def test_idle_hears_changes_within_a_second(imapserver: RunningServer) -> None:
    imapserver.deliver("nvminh", message("Thư đầu"))
    watcher = IMAPClient("127.0.0.1", port=imapserver.port("imaps"), ssl=True, ssl_context=insecure_tls())
    watcher.login("nvminh", PASSWORD)
    watcher.select_folder("INBOX")
    actor = IMAPClient("127.0.0.1", port=imapserver.port("imaps"), ssl=True, ssl_context=insecure_tls())
    actor.login("nvminh", PASSWORD)
    actor.select_folder("INBOX")
    watcher.idle()
    started = time.monotonic()
    imapserver.deliver("nvminh", message("Thư đến trong lúc IDLE"))
    assert (2, b"EXISTS") in watcher.idle_check(timeout=1)
    actor.add_flags([1], [b"\\Seen"])
    heard = watcher.idle_check(timeout=1)
    assert heard and heard[0][1] == b"FETCH" and b"\\Seen" in heard[0][2][3]
    actor.delete_messages([1])
    actor.expunge()
    responses = []
    deadline = time.monotonic() + 1
    while (1, b"EXPUNGE") not in responses and time.monotonic() < deadline:
        responses += watcher.idle_check(timeout=max(deadline - time.monotonic(), 0.01))
    assert (1, b"EXPUNGE") in responses
    assert time.monotonic() - started < 5
    watcher.idle_done()
    watcher.logout()
    actor.logout()


def test_a_change_on_one_node_reaches_a_session_on_another(imapserver: RunningServer) -> None:
    """Two `hopthu serve` nodes on one PostgreSQL database: IDLE on one hears delivery on the other
    (LISTEN/NOTIFY), and NOOP notices an expunge made there."""
    if imapserver.services.store.db.backend != "postgresql":
        pytest.skip("nodes share a database only on PostgreSQL")
    other = second_node(imapserver)
    try:
        imapserver.deliver("nvminh", message("Thư một"))
        imapserver.deliver("nvminh", message("Thư hai"))
        watcher = IMAPClient("127.0.0.1", port=imapserver.port("imaps"), ssl=True, ssl_context=insecure_tls())
        watcher.login("nvminh", PASSWORD)
        watcher.select_folder("INBOX")
        watcher.idle()
        other.deliver("nvminh", message("Thư từ nút khác"))
        assert (3, b"EXISTS") in watcher.idle_check(timeout=2)
        watcher.idle_done()
        actor = IMAPClient("127.0.0.1", port=other.port("imaps"), ssl=True, ssl_context=insecure_tls())
        actor.login("nvminh", PASSWORD)
        actor.select_folder("INBOX")
        actor.delete_messages([1])
        actor.expunge()
        actor.logout()
        deadline = time.monotonic() + 2
        heard: list = []
        while (1, b"EXPUNGE") not in heard and time.monotonic() < deadline:
            heard += watcher.noop()[1]
        assert (1, b"EXPUNGE") in heard
        watcher.logout()
    finally:
        other.stop()
