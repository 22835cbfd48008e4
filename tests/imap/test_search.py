"""SEARCH and UID SEARCH (RFC 9051 §6.4.4) with ESEARCH (RFC 4731), SEARCHRES (RFC 5182) and
CONDSTORE's MODSEQ key (RFC 7162); text keys fold Vietnamese: `nguyen` finds `Nguyễn`."""

from __future__ import annotations

import asyncio
import re

import pytest

from hopthu.store.flags import SEEN
from tests.imap.conftest import RunningServer, message
from tests.imap.rawclient import tagged


@pytest.fixture
def mailbox(imapserver: RunningServer) -> RunningServer:
    deliver = imapserver.deliver
    deliver(
        "nvminh", message("Công văn số 1", "Kính gửi Sở Nội vụ.", sender="Nguyễn Văn An <an@example.org>")
    )
    deliver(
        "nvminh", message("Giấy mời họp", "Cuộc họp giao ban tuần.", sender="tran@example.org"), flags=SEEN
    )
    deliver("nvminh", message("Báo cáo tháng", "Số liệu " + "x" * 3000, to="ttnanh@cantho.gov.vn"))
    deliver("nvminh", message("Thông báo nghỉ lễ", "Nghỉ lễ Quốc khánh.", extra="X-Priority: 1\r\n"))
    return imapserver


def _search(client, query: str) -> bytes:
    answer = client.command(query)
    assert b"OK" in tagged(answer), answer
    return answer.split(b"\r\n")[0]


def test_text_keys_fold_vietnamese(mailbox: RunningServer) -> None:
    client = mailbox.raw()
    client.command("SELECT INBOX")
    assert _search(client, 'SEARCH FROM "nguyen van"') == b"* SEARCH 1"
    assert _search(client, 'SEARCH FROM "Nguyễn"') == b"* SEARCH 1"
    assert _search(client, 'SEARCH SUBJECT "giay moi"') == b"* SEARCH 2"
    assert _search(client, 'SEARCH TEXT "quoc khanh"') == b"* SEARCH 4"
    assert _search(client, 'SEARCH BODY "giao ban"') == b"* SEARCH 2"
    assert _search(client, 'SEARCH TO "ttnanh"') == b"* SEARCH 3"
    assert _search(client, 'SEARCH CHARSET UTF-8 SUBJECT "Báo cáo"') == b"* SEARCH 3"
    literal = "thông báo".encode()
    client.send(b"s1 SEARCH CHARSET UTF-8 SUBJECT {%d+}\r\n" % len(literal) + literal + b"\r\n")
    assert client.until("s1").startswith(b"* SEARCH 4\r\n")


def test_large_answers_are_checked_beside_the_loop(mailbox: RunningServer, monkeypatch) -> None:
    """Past `LARGE` rows the Python checks, the rows' building and the answer's text run on a
    thread (a common word in a million messages takes seconds); the answers are the same."""
    from hopthu.imap import cmd_message
    from hopthu.store import searching

    on_a_loop: list[bool] = []
    real = cmd_message._matching

    def watched(*args):
        try:
            asyncio.get_running_loop()
            on_a_loop.append(True)
        except RuntimeError:
            on_a_loop.append(False)
        return real(*args)

    monkeypatch.setattr(cmd_message, "LARGE", 0)
    monkeypatch.setattr(cmd_message, "_matching", watched)
    monkeypatch.setattr(searching, "_BUILT_ON_LOOP", 0)
    client = mailbox.raw()
    client.command("SELECT INBOX")
    assert _search(client, 'SEARCH TO "ttnanh"') == b"* SEARCH 3"
    assert _search(client, 'UID SEARCH HEADER SUBJECT "giay moi"') == b"* SEARCH 2"
    assert _search(client, 'SEARCH OR SUBJECT "cong van" TO "ttnanh"') == b"* SEARCH 1 3"
    assert on_a_loop == [False, False, False]
    # SUBJECT and FROM are answered by SQL alone: no check
    assert _search(client, 'UID SEARCH SUBJECT "giay moi"') == b"* SEARCH 2"
    assert _search(client, 'SEARCH FROM "nguyen van"') == b"* SEARCH 1"
    assert on_a_loop == [False, False, False]


def test_flag_size_date_header_and_set_keys(mailbox: RunningServer) -> None:
    client = mailbox.raw()
    client.command("SELECT INBOX")
    assert _search(client, "SEARCH SEEN") == b"* SEARCH 2"
    assert _search(client, "SEARCH UNSEEN") == b"* SEARCH 1 3 4"
    assert _search(client, "SEARCH LARGER 2000") == b"* SEARCH 3"
    assert _search(client, "SEARCH SMALLER 2000 NOT SEEN") == b"* SEARCH 1 4"
    assert _search(client, "SEARCH OR SEEN LARGER 2000") == b"* SEARCH 2 3"
    assert _search(client, "SEARCH SENTON 2-Mar-2026") == b"* SEARCH 1 2 3 4"
    assert _search(client, "SEARCH SENTBEFORE 2-Mar-2026") == b"* SEARCH"
    assert _search(client, "SEARCH SINCE 1-Jan-2020 BEFORE 1-Jan-2100") == b"* SEARCH 1 2 3 4"
    assert _search(client, 'SEARCH HEADER X-Priority "1"') == b"* SEARCH 4"
    assert _search(client, 'SEARCH HEADER X-Priority ""') == b"* SEARCH 4"
    assert _search(client, "SEARCH 2:3") == b"* SEARCH 2 3"
    assert _search(client, "UID SEARCH UID 3:*") == b"* SEARCH 3 4"
    assert _search(client, "SEARCH (SEEN) (OR 1 4)") == b"* SEARCH"
    assert _search(client, "SEARCH NOT (OR SEEN 1)") == b"* SEARCH 3 4"
    client.command("STORE 3 +FLAGS ($Khan)")
    assert _search(client, "SEARCH KEYWORD $khan") == b"* SEARCH 3"
    assert _search(client, "SEARCH UNKEYWORD $Khan UNSEEN") == b"* SEARCH 1 4"


def test_refusals(mailbox: RunningServer) -> None:
    client = mailbox.raw()
    client.command("SELECT INBOX")
    assert b"NO [BADCHARSET (UTF-8 US-ASCII)]" in tagged(client.command('SEARCH CHARSET KOI8-R TEXT "x"'))
    assert b"BAD" in tagged(client.command("SEARCH FROBNICATE"))
    assert b"BAD" in tagged(client.command("SEARCH SINCE 31-Feb-2026"))


def test_esearch_and_searchres(mailbox: RunningServer) -> None:
    client = mailbox.raw()
    client.command("SELECT INBOX")
    answer = _search(client, "UID SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN")
    assert answer.endswith(b" UID MIN 1 MAX 4 ALL 1,3:4 COUNT 3")
    saved = client.command("SEARCH RETURN (SAVE) UNSEEN")
    assert b"ESEARCH" not in saved and b"OK" in tagged(saved)
    assert b"* 1 FETCH" in client.command("FETCH $ FLAGS") and b"* 3 FETCH" in client.command("FETCH $ FLAGS")
    client.command("ENABLE IMAP4rev2")
    assert _search(client, "SEARCH SEEN").endswith(b") ALL 2")  # IMAP4rev2 answers with ESEARCH


def test_modseq_key(mailbox: RunningServer) -> None:
    client = mailbox.raw()
    client.command("SELECT INBOX (CONDSTORE)")
    changed = client.command("STORE 1 +FLAGS (\\Flagged)")
    modseq = int(re.search(rb"MODSEQ \((\d+)\)", changed)[1])
    assert _search(client, f"SEARCH MODSEQ {modseq}") == b"* SEARCH 1 (MODSEQ %d)" % modseq


def test_search_ignores_messages_not_yet_announced(mailbox: RunningServer) -> None:
    client = mailbox.raw()
    client.command("SELECT INBOX")
    mailbox.deliver("nvminh", message("Thư mới đến"))
    answer = client.command("SEARCH ALL")
    assert answer.startswith(b"* SEARCH 1 2 3 4\r\n")  # the fifth is announced after, with EXISTS
    assert b"* 5 EXISTS" in answer
