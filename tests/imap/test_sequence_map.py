"""The sequence map loaded only as far as commands reach into it (imap/selected.py): SELECT reads
the mailbox's counters, a FETCH of the newest messages loads only those, and sequence numbers stay
exactly what the client was told while other sessions expunge (RFC 9051 §2.3.1.2, §7.5.1)."""

from __future__ import annotations

import re

import pytest

from tests.imap.conftest import RunningServer, message
from tests.imap.rawclient import tagged

COUNT = 30


def _fill(imapserver: RunningServer, count: int = COUNT) -> list[int]:
    """Messages a session has seen already: no longer \\Recent, so a new session's SELECT has no
    recent message to load its map down to, and the map stays unloaded until a command reaches it."""
    uids = [imapserver.deliver("nvminh", message(f"Thư {n}")) for n in range(count)]
    seen = imapserver.raw()
    assert b"* %d RECENT" % count in seen.command("SELECT INBOX")
    seen.close()
    return uids


def _fetched(answer: bytes) -> list[tuple[int, int]]:
    """(sequence number, UID) of each untagged FETCH."""
    return [(int(s), int(u)) for s, u in re.findall(rb"\* (\d+) FETCH \(UID (\d+)", answer)]


def _expunge_elsewhere(imapserver: RunningServer, uids: list[int]) -> None:
    other = imapserver.raw()
    other.command("SELECT INBOX")
    listed = ",".join(map(str, uids))
    assert b"OK" in tagged(other.command(f"UID STORE {listed} +FLAGS.SILENT (\\Deleted)"))
    assert b"OK" in tagged(other.command(f"UID EXPUNGE {listed}"))
    other.close()


def test_newest_messages_keep_their_numbers_while_another_session_expunges(
    imapserver: RunningServer,
) -> None:
    uids = _fill(imapserver)
    client = imapserver.raw()
    assert b"* %d EXISTS" % COUNT in client.command("SELECT INBOX")
    _expunge_elsewhere(imapserver, [uids[4], uids[27]])
    # FETCH may not announce EXPUNGE (RFC 9051 §7.5.1): the numbers are those the client was given
    answer = client.command("FETCH 26:* (UID)")
    assert b"EXPUNGE" not in answer
    assert _fetched(answer) == [(26, uids[25]), (27, uids[26]), (29, uids[28]), (30, uids[29])]
    answer = client.command("NOOP")
    assert re.findall(rb"\* (\d+) EXPUNGE", answer) == [b"28", b"5"]
    answer = client.command("FETCH 1:* (UID)")
    expected = [u for u in uids if u not in (uids[4], uids[27])]
    assert _fetched(answer) == list(enumerate(expected, start=1))


def test_uid_fetch_of_the_newest_then_announces_the_expunges(imapserver: RunningServer) -> None:
    uids = _fill(imapserver)
    client = imapserver.raw()
    client.command("SELECT INBOX")
    _expunge_elsewhere(imapserver, [uids[2], uids[28]])
    answer = client.command(f"UID FETCH {uids[27]}:* (UID)")
    assert _fetched(answer) == [(28, uids[27]), (30, uids[29])]
    assert answer.index(b"* 29 EXPUNGE") < answer.index(b"* 3 EXPUNGE")
    assert _fetched(client.command(f"UID FETCH {uids[27]}:* (UID)")) == [(27, uids[27]), (28, uids[29])]


def test_sequence_numbers_reach_into_the_part_not_loaded(imapserver: RunningServer) -> None:
    uids = _fill(imapserver)
    client = imapserver.raw()
    client.command("SELECT INBOX")
    assert _fetched(client.command("FETCH 29:* (UID)")) == [(29, uids[28]), (30, uids[29])]
    _expunge_elsewhere(imapserver, [uids[1]])
    assert _fetched(client.command("FETCH 2:3 (UID)")) == [(3, uids[2])]
    assert b"* 2 EXPUNGE" in client.command("NOOP")
    assert _fetched(client.command("FETCH 1:2 (UID)")) == [(1, uids[0]), (2, uids[2])]
    assert _fetched(client.command(f"UID FETCH {uids[10]} (UID)")) == [(10, uids[10])]


def test_select_names_the_first_unseen_from_the_counters(imapserver: RunningServer) -> None:
    uids = _fill(imapserver, 8)
    client = imapserver.raw()
    client.command("SELECT INBOX")
    client.command(f"UID STORE 1:{uids[4]} +FLAGS.SILENT (\\Seen)")
    answer = client.command("SELECT INBOX")
    assert b"* 8 EXISTS" in answer and b"[UNSEEN 6]" in answer
    assert b"[UIDNEXT %d]" % (uids[-1] + 1) in answer
    client.command("STORE 1:* +FLAGS.SILENT (\\Seen)")
    assert b"UNSEEN" not in client.command("SELECT INBOX")


def test_uid_search_all_lists_what_the_client_knows(imapserver: RunningServer) -> None:
    uids = _fill(imapserver, 12)
    client = imapserver.raw()
    client.command("SELECT INBOX")
    later = imapserver.deliver("nvminh", message("Chưa báo"))
    answer = client.command("UID SEARCH ALL")
    # the new message is announced after the answer, and found by the next search
    assert answer.split(b"\r\n")[0] == b"* SEARCH " + " ".join(map(str, uids)).encode()
    assert b"* 13 EXISTS" in answer
    assert client.command("UID SEARCH ALL").split(b"\r\n")[0].endswith(b" %d" % later)
    listed = client.command("SEARCH ALL").split(b"\r\n")[0]
    assert listed == b"* SEARCH " + " ".join(map(str, range(1, 14))).encode()


def test_lost_expunge_events_end_the_session_rather_than_misnumber(
    imapserver: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    uids = _fill(imapserver, 10)
    client = imapserver.raw()
    client.command("SELECT INBOX")
    monkeypatch.setattr(imapserver.services.store.events, "publish", lambda changes: None)
    _expunge_elsewhere(imapserver, [uids[2]])  # no event reaches the first session
    answer = client.command(f"UID FETCH {uids[5]}:* (UID)")
    assert b"* BYE [UNAVAILABLE]" in answer and b"FETCH" not in answer


def test_a_kept_uid_list_is_never_served_after_a_change(imapserver: RunningServer) -> None:
    uids = _fill(imapserver, 6)
    client = imapserver.raw()
    client.command("SELECT INBOX")
    every = b"* SEARCH " + " ".join(map(str, uids)).encode()
    assert client.command("UID SEARCH ALL").split(b"\r\n")[0] == every
    assert client.command("UID SEARCH ALL").split(b"\r\n")[0] == every
    _expunge_elsewhere(imapserver, [uids[3]])
    answer = client.command("UID SEARCH ALL")
    assert answer.split(b"\r\n")[0] == b"* SEARCH " + " ".join(map(str, uids[:3] + uids[4:])).encode()
    assert b"* 4 EXPUNGE" in answer


def test_recent_messages_are_counted_from_the_part_loaded_for_them(imapserver: RunningServer) -> None:
    uids = _fill(imapserver)
    new = [imapserver.deliver("nvminh", message(f"Mới {n}")) for n in range(2)]
    client = imapserver.raw()
    answer = client.command("SELECT INBOX")
    assert b"* %d EXISTS" % (COUNT + 2) in answer and b"* 2 RECENT" in answer
    assert client.command("SEARCH RECENT").split(b"\r\n")[0] == b"* SEARCH %d %d" % (COUNT + 1, COUNT + 2)
    answer = client.command("FETCH 1:* (UID FLAGS)")
    recent = [int(u) for u in re.findall(rb"\(UID (\d+) FLAGS \([^)]*\\Recent", answer)]
    assert recent == new and len(_fetched(answer)) == COUNT + 2
    assert [u for _, u in _fetched(answer)] == [*uids, *new]
