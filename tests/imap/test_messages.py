"""FETCH, STORE, COPY, MOVE, EXPUNGE, CLOSE over the real protocol (RFC 9051 §6.4, UIDPLUS RFC 4315,
MOVE RFC 6851, CONDSTORE RFC 7162, BINARY RFC 3516)."""

from __future__ import annotations

import base64
import imaplib
import re

from tests.imap.conftest import RunningServer, message
from tests.imap.rawclient import tagged


def _fill(imapserver: RunningServer, count: int, local: str = "nvminh") -> list[int]:
    return [imapserver.deliver(local, message(f"Thư số {n}", f"Nội dung {n}")) for n in range(1, count + 1)]


def test_fetch_items_come_from_stored_columns(imapserver: RunningServer) -> None:
    imapserver.deliver("nvminh", message("Công văn khẩn", "Kính gửi: các phòng ban."))
    client = imapserver.raw()
    client.command("SELECT INBOX")
    answer = client.command("FETCH 1 (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)")
    assert answer.startswith(b'* 1 FETCH (UID 1 FLAGS (\\Recent) INTERNALDATE "')  # new to this session
    assert b'ENVELOPE ("Mon, 02 Mar 2026 08:30:00 +0700" "=?utf-8?b?' in answer
    assert b'BODYSTRUCTURE ("text" "plain" ("charset" "utf-8") NIL NIL "8bit"' in answer
    size = int(re.search(rb"RFC822.SIZE (\d+)", answer)[1])
    body = client.command("FETCH 1 BODY.PEEK[]")
    assert b"{%d}\r\n" % size in body  # the size announced is the size served
    assert b"OK" in tagged(answer)


def test_body_fetch_sets_seen_and_peek_does_not(imapserver: RunningServer) -> None:
    _fill(imapserver, 2)
    client = imapserver.raw()
    client.command("SELECT INBOX")
    peek = client.command("FETCH 1 (BODY.PEEK[TEXT] FLAGS)")
    assert b"FLAGS (\\Recent)" in peek and b"\\Seen" not in peek
    seen = client.command("FETCH 1 BODY[TEXT]")
    assert b"FLAGS (\\Seen \\Recent)" in seen  # RFC 9051 §6.4.5: the flag change is reported
    assert b"FLAGS (\\Seen \\Recent)" in client.command("FETCH 1 FLAGS")
    client.command("EXAMINE INBOX")
    client.command("FETCH 2 BODY[]")
    assert b"\\Seen" not in client.command("FETCH 2 FLAGS")  # read-only: nothing changes


def test_sections_partial_and_header_fields(imapserver: RunningServer) -> None:
    imapserver.deliver("nvminh", message("Báo cáo", "Dòng một.\r\nDòng hai."))
    client = imapserver.raw()
    client.command("SELECT INBOX")
    fields = client.command("FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)]")
    assert b"BODY[HEADER.FIELDS (SUBJECT FROM)] {" in fields
    assert b"From: ban@example.org\r\nSubject: =?utf-8?b?" in fields and b"To:" not in fields
    not_fields = client.command("FETCH 1 BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT FROM)]")
    assert b"To: nvminh@cantho.gov.vn" in not_fields and b"Subject:" not in not_fields
    partial = client.command("FETCH 1 BODY.PEEK[]<0.4>")
    assert b"BODY[]<0> {4}\r\nFrom" in partial
    text = client.command("FETCH 1 BODY.PEEK[1]")
    assert "Dòng một.\r\nDòng hai.".encode() in text
    missing = client.command("FETCH 1 BODY.PEEK[7]")
    assert b"BODY[7] {0}\r\n" in missing or b'BODY[7] ""' in missing


def test_binary_decodes_the_part(imapserver: RunningServer) -> None:
    pdf = bytes(range(256)) * 4
    data = (
        b"From: ban@example.org\r\nTo: nvminh@cantho.gov.vn\r\nSubject: Tep\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nxin chao\r\n"
        b"--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(pdf).replace(b"\n", b"\r\n")
        + b"--b--\r\n"
    )
    imapserver.deliver("nvminh", data)
    client = imapserver.raw()
    client.command("SELECT INBOX")
    answer = client.command("FETCH 1 (BINARY.SIZE[2] BINARY.PEEK[2])")
    assert b"BINARY.SIZE[2] %d" % len(pdf) in answer
    assert b"BINARY[2] ~{%d}\r\n" % len(pdf) + pdf in answer  # literal8: the data holds NUL


def test_store_modes_and_silent(imapserver: RunningServer) -> None:
    _fill(imapserver, 3)
    client = imapserver.raw()
    client.command("SELECT INBOX")
    added = client.command("STORE 1:2 +FLAGS (\\Flagged $Cong_van)")
    # RFC 3501 §7.2.6: the new keyword is announced before the FETCH that shows it
    assert added.index(b"* FLAGS (") < added.index(b"$Cong_van)")
    assert b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft" in added
    assert b"* 1 FETCH (FLAGS (\\Flagged \\Recent $Cong_van))" in added and b"* 2 FETCH" in added
    assert b"* 2 FETCH (FLAGS (\\Flagged \\Recent))" in client.command("STORE 2 -FLAGS ($Cong_van)")
    stored = client.command("STORE 3 FLAGS (\\Seen \\Draft)")
    assert b"* 3 FETCH (FLAGS (\\Seen \\Draft \\Recent))" in stored and b"* FLAGS" not in stored
    silent = client.command("UID STORE 1 +FLAGS.SILENT (\\Answered)")
    assert b"FETCH" not in silent and b"OK" in tagged(silent)
    assert b"FLAGS (\\Answered \\Flagged \\Recent $Cong_van)" in client.command("FETCH 1 FLAGS")
    client.command("EXAMINE INBOX")
    assert b"NO [READ-ONLY]" in tagged(client.command("STORE 1 +FLAGS (\\Deleted)"))


def test_condstore_modseq_changedsince_unchangedsince(imapserver: RunningServer) -> None:
    """RFC 7162: MODSEQ per message, CHANGEDSINCE lists what changed, UNCHANGEDSINCE refuses stale
    changes with [MODIFIED]."""
    _fill(imapserver, 3)
    client = imapserver.raw()
    selected = client.command("SELECT INBOX (CONDSTORE)")
    highest = int(re.search(rb"HIGHESTMODSEQ (\d+)", selected)[1])
    changed = client.command("STORE 2 +FLAGS (\\Seen)")
    modseq = int(re.search(rb"MODSEQ \((\d+)\)", changed)[1])
    assert modseq > highest
    since = client.command(f"FETCH 1:* (FLAGS) (CHANGEDSINCE {highest})")
    assert b"* 2 FETCH" in since and b"* 1 FETCH" not in since and b"* 3 FETCH" not in since
    stale = client.command(f"STORE 2 (UNCHANGEDSINCE {highest}) +FLAGS (\\Flagged)")
    assert b"[MODIFIED 2]" in tagged(stale)
    fresh = client.command(f"STORE 2 (UNCHANGEDSINCE {modseq}) +FLAGS (\\Flagged)")
    assert b"OK" in tagged(fresh) and b"\\Flagged" in fresh


def test_copy_and_move_answer_uids(imapserver: RunningServer) -> None:
    _fill(imapserver, 4)
    client = imapserver.raw()
    client.command("SELECT INBOX")
    copied = client.command("COPY 1:2 Archive")
    assert re.search(rb"OK \[COPYUID \d+ 1:2 1:2\]", tagged(copied))
    moved = client.command("UID MOVE 3:4 Archive")
    assert re.search(rb"\* OK \[COPYUID \d+ 3:4 3:4\]", moved)
    assert b"* 4 EXPUNGE\r\n* 3 EXPUNGE\r\n" in moved
    status = client.command("STATUS Archive (MESSAGES UIDNEXT)")
    assert b"(MESSAGES 4 UIDNEXT 5)" in status
    assert b"(MESSAGES 2)" in client.command("STATUS INBOX (MESSAGES)")
    assert b"NO [TRYCREATE]" in tagged(client.command("COPY 1 Khong-co"))


def test_copy_counts_against_quota_and_move_does_not(imapserver: RunningServer) -> None:
    """R5.1: a copy takes space (the refusal is [OVERQUOTA]); a move within the account does not."""
    _fill(imapserver, 2)
    usage = imapserver.run(imapserver.services.store.mail.usage(imapserver.account_id("nvminh")))[0]
    imapserver.run(
        imapserver.services.directory.accounts.set_quota("nvminh", usage + 10, actor="test", reason="test")
    )
    client = imapserver.raw()
    client.command("SELECT INBOX")
    assert b"NO [OVERQUOTA]" in tagged(client.command("COPY 1 Archive"))
    assert b"OK" in tagged(client.command("MOVE 1 Archive"))


def test_expunge_uid_expunge_and_close(imapserver: RunningServer) -> None:
    _fill(imapserver, 5)
    client = imapserver.raw()
    client.command("SELECT INBOX")
    client.command("STORE 1,2,4 +FLAGS.SILENT (\\Deleted)")
    only_four = client.command("UID EXPUNGE 4:5")
    assert b"* 4 EXPUNGE" in only_four and only_four.count(b"EXPUNGE") == 2  # the line and "UID EXPUNGE"
    rest = client.command("EXPUNGE")
    assert b"* 2 EXPUNGE\r\n* 1 EXPUNGE\r\n" in rest
    assert b"* SEARCH 3 5" in client.command("UID SEARCH ALL")
    client.command("STORE 1 +FLAGS.SILENT (\\Deleted)")
    closed = client.command("CLOSE")
    assert b"EXPUNGE" not in closed  # RFC 9051 §6.4.1: CLOSE expunges silently
    assert b"(MESSAGES 1)" in client.command("STATUS INBOX (MESSAGES)")
    assert b"BAD" in tagged(client.command("FETCH 1 FLAGS"))  # no mailbox is selected now


def test_unselect_keeps_deleted_messages(imapserver: RunningServer) -> None:
    _fill(imapserver, 1)
    client = imapserver.raw()
    client.command("SELECT INBOX")
    client.command("STORE 1 +FLAGS.SILENT (\\Deleted)")
    client.command("UNSELECT")
    assert b"(MESSAGES 1)" in client.command("STATUS INBOX (MESSAGES)")


def test_imaplib_reads_what_it_appended(imapserver: RunningServer) -> None:
    client = imapserver.login()
    data = message("Giấy mời họp", "Trân trọng kính mời.")
    typ, answer = client.append("Drafts", "(\\Draft)", imaplib.Time2Internaldate(1767225600), data)
    assert typ == "OK" and b"APPENDUID" in answer[0]
    client.select("Drafts")
    typ, fetched = client.fetch("1", "(FLAGS INTERNALDATE RFC822)")
    assert fetched[0][1] == data
    assert b"\\Draft" in fetched[0][0] and b'INTERNALDATE "01-Jan-2026 07:00:00 +0700"' in fetched[0][0]
    client.logout()


def test_large_messages_are_streamed_whole_and_exact(imapserver: RunningServer) -> None:
    """A message over the streaming threshold answers the same bytes as it was stored, with the
    other items of the same FETCH, and NUL octets sent as 0x80 outside BINARY."""
    line = b"Noi dung van ban rat dai de kiem tra viec gui theo tung phan.\r\n"
    body = line * (3 * 1024 * 1024 // len(line)) + b"co\x00nul\r\n"
    data = message("Tệp lớn").replace(b"\r\n\r\n", b"\r\n\r\n" + body, 1)
    imapserver.deliver("nvminh", data)
    stored = imapserver.run(imapserver.services.store.mail.message_bytes(*_box_and_uid(imapserver)))
    client = imapserver.raw()
    client.command("SELECT INBOX")
    answer = client.command("FETCH 1 (FLAGS BODY.PEEK[] RFC822.SIZE)")
    head = b"* 1 FETCH (FLAGS (\\Recent) RFC822.SIZE %d BODY[] {%d}\r\n" % (len(stored), len(stored))
    assert answer.startswith(head)
    assert answer[len(head) : len(head) + len(stored)] == stored.replace(b"\0", b"\x80")
    assert answer[len(head) + len(stored) :].startswith(b")\r\n")
    rfc822 = client.command("FETCH 1 RFC822")
    assert rfc822.startswith(b"* 1 FETCH (RFC822 {%d}\r\n" % len(stored))
    assert b"FLAGS (\\Seen \\Recent)" in rfc822


def _box_and_uid(imapserver: RunningServer) -> tuple[int, int]:
    owner = imapserver.account_id("nvminh")
    box = imapserver.run(imapserver.services.store.mail.mailbox(owner, "INBOX"))
    return box.id, 1


def test_imap4rev2_select_answers(imapserver: RunningServer) -> None:
    """RFC 9051 §6.3.2: after ENABLE IMAP4rev2, SELECT names the mailbox in a LIST response and
    says nothing of \\Recent; reselecting announces [CLOSED]."""
    client = imapserver.raw()
    assert b"* ENABLED IMAP4rev2" in client.command("ENABLE IMAP4rev2")
    first = client.command("SELECT Sent")
    assert b'* LIST (\\HasNoChildren \\Sent) "/" "Sent"\r\n' in first and b"RECENT" not in first
    again = client.command("SELECT INBOX")
    assert again.startswith(b"* OK [CLOSED]") and b'* LIST (\\HasNoChildren) "/" "INBOX"' in again
