"""Scripted IMAP conversations over an in-memory transport, against a real store: the protocol's rules
as RFC 9051's examples show them (§6 for each command), with no socket in the way.

Every expectation is a value of the reply catalogue (`hopthu.imap.responses`): a condition, a
`Code`, a named status line. The wire itself (quoting, literals, TLS) is checked by the golden and
real-client tests beside this file; these run on SQLite only, the store's backends being tested
elsewhere.
"""

from __future__ import annotations

import base64
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from hopthu.config import Settings
from hopthu.directory.auth import Authenticator
from hopthu.directory.context import DirectoryContext
from hopthu.directory.people import PersonRow
from hopthu.directory.service import Directory
from hopthu.imap import cmd_mailbox
from hopthu.imap import responses as r
from hopthu.imap.responses import Code
from hopthu.imap.session import MAX_BAD_COMMANDS, MAX_FAILED_LOGINS, ImapContext
from hopthu.imap.state import AUTHENTICATED, NOT_AUTHENTICATED, SELECTED
from hopthu.mail import canonical, parse
from hopthu.policy.lifecycle import Action, Reason
from hopthu.store import Store
from hopthu.store.mailstore import Target
from tests.imap.conftest import PASSWORD, message
from tests.imap.conversation import BAD, NO, OK, Conversation

Open = Callable[..., Awaitable[Conversation]]


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'hopthu.db'}"


@pytest.fixture
async def people(directory: Directory) -> None:
    """nvminh and ttnanh of Sở Nội vụ, signing in with PASSWORD."""
    await directory.agencies.add("Sở Nội vụ", actor="test")
    rows = [PersonRow("Nguyễn", "Văn", "Minh", "sonv"), PersonRow("Trần", "Thị Ngọc", "Ánh", "sonv")]
    for result in await directory.people.register(rows, actor="test"):
        assert result.address is not None and result.temporary_password is not None
        await directory.accounts.change_password(result.address, result.temporary_password, PASSWORD)


@pytest.fixture
def ctx(settings: Settings, store: Store, clock, people: None) -> ImapContext:
    authenticator = Authenticator(DirectoryContext(store, settings, clock=clock))
    return ImapContext(settings, store, authenticator, ssl.create_default_context(ssl.Purpose.CLIENT_AUTH))


@pytest.fixture
async def connect(ctx: ImapContext) -> AsyncIterator[Open]:
    """Open conversations (greeted, not signed in); each is hung up at the end of the test."""
    opened: list[Conversation] = []

    async def open_one(**transport: object) -> Conversation:
        conversation = await Conversation(ctx, **transport).start()  # type: ignore[arg-type]
        opened.append(conversation)
        return conversation

    yield open_one
    for conversation in opened:
        await conversation.close()


@pytest.fixture
async def imap(connect: Open) -> Conversation:
    """nvminh, signed in."""
    conversation = await connect()
    await conversation.login("nvminh", PASSWORD)
    return conversation


async def deliver(store: Store, directory: Directory, local: str, data: bytes, flags: int = 0) -> int:
    account = await directory.accounts.get(local)
    data = canonical(data)
    (delivered,) = await store.mail.deliver(data, parse(data), [Target(account.id, 10**10, "INBOX", flags)])
    assert delivered.uid is not None
    return delivered.uid


# --- the connection: RFC 9051 §6.1, §6.2, §7.1.5 -------------------------------------------------


async def test_greeting_names_the_capabilities(connect: Open) -> None:
    # S: * OK [CAPABILITY IMAP4rev2 STARTTLS AUTH=PLAIN ...] ready
    imap = await connect()
    assert imap.greeting == bytes(r.greeting(imap.session.capabilities()))
    answer = await imap.transact(OK, "CAPABILITY")
    assert answer.named(b"CAPABILITY") == [b"CAPABILITY " + imap.session.capabilities().encode()]
    assert answer.text == r.completed("CAPABILITY")


async def test_login_then_logout(connect: Open) -> None:
    # C: a001 LOGIN nvminh "..."   S: a001 OK [CAPABILITY ...] signed in
    imap = await connect()
    answer = await imap.login("nvminh", PASSWORD)
    assert answer.code is not None and answer.code.startswith(f"{Code.CAPABILITY} ")
    assert "UIDPLUS" in answer.code.split() and answer.text == r.SIGNED_IN
    assert imap.session.state == AUTHENTICATED
    # C: a002 LOGOUT   S: * BYE ...   S: a002 OK LOGOUT completed
    answer = await imap.transact(OK, "LOGOUT")
    assert answer.untagged == [bytes(r.LOGGING_OUT)[2:-2]]
    await imap.finished()


async def test_wrong_password_and_too_many(connect: Open) -> None:
    imap = await connect()
    for _ in range(MAX_FAILED_LOGINS - 1):
        await imap.transact(NO, f'LOGIN nvminh "{PASSWORD}x"', code=Code.AUTHENTICATIONFAILED)
        assert imap.session.state == NOT_AUTHENTICATED
    answer = await imap.transact(NO, f'LOGIN nvminh "{PASSWORD}x"', code=Code.AUTHENTICATIONFAILED)
    assert answer.untagged == [bytes(r.TOO_MANY_FAILED_LOGINS)[2:-2]]
    await imap.finished()


async def test_no_password_without_tls(connect: Open) -> None:
    # RFC 9051 §6.2.3: LOGINDISABLED until STARTTLS, and LOGIN refused with PRIVACYREQUIRED
    imap = await connect(peer="192.0.2.7", secure=False)
    assert b"LOGINDISABLED" in imap.greeting and b"STARTTLS" in imap.greeting
    await imap.transact(NO, f'LOGIN nvminh "{PASSWORD}"', code=Code.PRIVACYREQUIRED)
    answer = await imap.transact(OK, "STARTTLS")
    assert answer.text == r.BEGIN_TLS
    await imap.transact(BAD, "STARTTLS")  # TLS is on now
    assert imap.transport.tls_started == 1
    capabilities = (await imap.transact(OK, "CAPABILITY")).named(b"CAPABILITY")[0]
    assert b"AUTH=PLAIN" in capabilities and b"STARTTLS" not in capabilities
    await imap.login("nvminh", PASSWORD)


async def test_authenticate_plain_with_a_continuation(connect: Open) -> None:
    # RFC 4959 / RFC 9051 §6.2.2: C: A001 AUTHENTICATE PLAIN   S: +   C: <base64>
    imap = await connect()
    await imap.transact(NO, "AUTHENTICATE CRAM-MD5", code=Code.CANNOT)
    imap.send(b"A1 AUTHENTICATE PLAIN\r\n")
    assert await imap.continuation() == r.SASL_CHALLENGE
    imap.send(base64.b64encode(f"\0nvminh\0{PASSWORD}".encode()) + b"\r\n")
    answer = await imap.answer("A1")
    assert answer.condition == OK and answer.text == r.SIGNED_IN


async def test_commands_outside_their_state_are_bad(connect: Open) -> None:
    imap = await connect()
    await imap.transact(BAD, "SELECT INBOX")
    await imap.transact(BAD, "FETCH 1 FLAGS")
    await imap.login("nvminh", PASSWORD)
    await imap.transact(BAD, "FETCH 1 FLAGS")  # RFC 9051 §6.4: only in the selected state
    await imap.transact(BAD, f'LOGIN nvminh "{PASSWORD}"')


async def test_syntax_errors_and_too_many_of_them(imap: Conversation) -> None:
    answer = await imap.transact(BAD, "FETCH")
    assert answer.text.startswith(r.syntax_error("").text)
    # Only bad commands in a row count: one good (or merely refused) command starts the count again.
    for _ in range(MAX_BAD_COMMANDS - 2):
        await imap.transact(BAD, "XYZZY")
    await imap.transact(NO, "SELECT Nowhere", code=Code.NONEXISTENT)
    for _ in range(MAX_BAD_COMMANDS - 1):
        await imap.transact(BAD, "XYZZY")
    await imap.transact(OK, "NOOP")
    for _ in range(MAX_BAD_COMMANDS - 1):
        await imap.transact(BAD, "XYZZY")
    await imap.transact(BAD, "XYZZY")  # the last one answered, then BYE and the end
    assert await imap.line() == bytes(r.TOO_MANY_BAD)
    await imap.finished()


async def test_an_unexpected_failure_is_answered_serverbug(
    imap: Conversation, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(_store: object, _box: object, **_options: object) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(cmd_mailbox.reading, "opening", broken)
    answer = await imap.transact(NO, "SELECT INBOX", code=Code.SERVERBUG)
    incident = answer.text.rsplit(" ", 1)[-1]
    assert answer.text == r.server_bug(incident).text and "database" not in answer.text
    assert any(incident in record.getMessage() for record in caplog.records)
    await imap.transact(OK, "NOOP")  # the session goes on


async def test_a_client_that_hangs_up_ends_its_session(imap: Conversation) -> None:
    imap.hang_up()
    await imap.finished()
    assert not imap.transport.aborted


# --- mailboxes and messages: RFC 9051 §6.3, §6.4 --------------------------------------------------


async def test_select_and_examine(imap: Conversation, store: Store, directory: Directory) -> None:
    await deliver(store, directory, "nvminh", message("Một"))
    await deliver(store, directory, "nvminh", message("Hai"))
    # S: * 2 EXISTS   S: * OK [UIDVALIDITY ...]   S: A OK [READ-WRITE] SELECT completed
    answer = await imap.transact(OK, "SELECT INBOX", code=Code.READ_WRITE)
    assert answer.named(b"EXISTS") == [b"2 EXISTS"]
    codes = [line.split(b"]")[0][4:].split(b" ")[0].decode() for line in answer.named(b"OK")]
    assert {Code.UIDVALIDITY, Code.UIDNEXT, Code.PERMANENTFLAGS, Code.UNSEEN} <= set(codes)
    assert imap.session.state == SELECTED
    await imap.transact(OK, "EXAMINE INBOX", code=Code.READ_ONLY)
    await imap.transact(NO, "STORE 1 +FLAGS (\\Seen)", code=Code.READ_ONLY)
    await imap.transact(NO, "SELECT Nowhere", code=Code.NONEXISTENT)
    assert imap.session.state == AUTHENTICATED  # RFC 9051 §6.3.2: a failed SELECT leaves none selected


async def test_create_and_list(imap: Conversation) -> None:
    await imap.transact(OK, "CREATE Reports")
    await imap.transact(NO, "CREATE Reports", code=Code.ALREADYEXISTS)
    answer = await imap.transact(OK, 'LIST "" "*"')
    assert b'LIST (\\HasNoChildren) "/" "Reports"' in answer.named(b"LIST")
    await imap.transact(NO, "DELETE Nowhere", code=Code.NONEXISTENT)


async def test_append_with_a_literal_then_fetch(imap: Conversation) -> None:
    data = canonical(message("Báo cáo tuần"))
    # C: A003 APPEND INBOX (\Seen) {310}   S: + Ready   C: <message>   S: A003 OK [APPENDUID 38505 3955]
    answer = await imap.transact(OK, b"APPEND INBOX (\\Seen) {%d}" % len(data), literal=data)
    assert answer.continuations == [] and answer.code is not None
    appenduid, _validity, uid = answer.code.split(" ")
    assert appenduid == Code.APPENDUID and uid == "1"
    await imap.transact(NO, b"APPEND Nowhere {%d}" % len(data), literal=data, code=Code.TRYCREATE)
    # Non-synchronising (RFC 7888): no continuation request is awaited.
    await imap.transact(OK, b"APPEND INBOX {%d+}" % len(data), literal=data, code=Code.APPENDUID)

    await imap.transact(OK, "SELECT INBOX")  # the first to see them: \Recent here (RFC 3501 §2.3.2)
    answer = await imap.transact(OK, "FETCH 1:2 (UID FLAGS RFC822.SIZE)")
    assert answer.named(b"FETCH") == [
        b"1 FETCH (UID 1 FLAGS (\\Seen \\Recent) RFC822.SIZE %d)" % len(data),
        b"2 FETCH (UID 2 FLAGS (\\Recent) RFC822.SIZE %d)" % len(data),
    ]
    [whole] = (await imap.transact(OK, "UID FETCH 2 BODY.PEEK[]")).named(b"FETCH")
    assert whole == b"2 FETCH (UID 2 BODY[] {%d}\r\n" % len(data) + data + b")"


async def test_store_reports_flags_unless_silent(
    imap: Conversation, store: Store, directory: Directory
) -> None:
    for n in range(3):
        await deliver(store, directory, "nvminh", message(f"Thư {n}"))
    await imap.transact(OK, "SELECT INBOX")
    # C: A003 STORE 2:3 +FLAGS (\Deleted)   S: * 2 FETCH (FLAGS (\Deleted))   S: * 3 FETCH ...
    answer = await imap.transact(OK, "STORE 2:3 +FLAGS (\\Deleted)")
    assert [line.split(b" (", 1)[0] for line in answer.named(b"FETCH")] == [b"2 FETCH", b"3 FETCH"]
    assert all(b"\\Deleted" in line for line in answer.named(b"FETCH"))
    assert (await imap.transact(OK, "STORE 1 +FLAGS.SILENT (\\Seen)")).untagged == []
    # C: A004 EXPUNGE   S: * 3 EXPUNGE   S: * 2 EXPUNGE (RFC 9051 §6.4.3)
    assert (await imap.transact(OK, "EXPUNGE")).named(b"EXPUNGE") == [b"3 EXPUNGE", b"2 EXPUNGE"]
    assert (await imap.transact(OK, "SEARCH ALL")).named(b"SEARCH") == [b"SEARCH 1"]


async def test_search(imap: Conversation, store: Store, directory: Directory) -> None:
    await deliver(store, directory, "nvminh", message("Công văn khẩn", "Kính gửi"))
    await deliver(store, directory, "nvminh", message("Lịch họp", "Thứ hai"), flags=0)
    await imap.transact(OK, "SELECT INBOX")
    await imap.transact(OK, "STORE 1 +FLAGS.SILENT (\\Seen)")
    assert (await imap.transact(OK, "SEARCH UNSEEN")).named(b"SEARCH") == [b"SEARCH 2"]
    assert (await imap.transact(OK, "UID SEARCH SEEN")).named(b"SEARCH") == [b"SEARCH 1"]
    found = await imap.transact(OK, b'SEARCH CHARSET UTF-8 SUBJECT "L\xe1\xbb\x8bch"')
    assert found.named(b"SEARCH") == [b"SEARCH 2"]
    await imap.transact(BAD, "SEARCH NOSUCHKEY")


async def test_idle_sees_new_mail_until_done(imap: Conversation, store: Store, directory: Directory) -> None:
    await imap.transact(OK, "SELECT INBOX")
    # C: A002 IDLE   S: + idling   ...   S: * 1 EXISTS   C: DONE   S: A002 OK IDLE terminated
    imap.send(b"A2 IDLE\r\n")
    assert await imap.continuation() == r.IDLING
    await deliver(store, directory, "nvminh", message("Mới đến"))
    assert await imap.line() == b"* 1 EXISTS\r\n"
    imap.send(b"DONE\r\n")
    answer = await imap.answer("A2")
    assert answer.condition == OK and answer.text == r.IDLE_TERMINATED
    imap.send(b"A3 IDLE\r\n")
    await imap.continuation()
    imap.send(b"NOT DONE\r\n")
    assert (await imap.answer("A3")).condition == BAD


async def test_other_sessions_changes_reach_the_selected_one(
    imap: Conversation, connect: Open, store: Store, directory: Directory
) -> None:
    await deliver(store, directory, "nvminh", message("Một"))
    await imap.transact(OK, "SELECT INBOX")
    other = await connect()
    await other.login("nvminh", PASSWORD)
    await other.transact(OK, "SELECT INBOX")
    await other.transact(OK, "STORE 1 +FLAGS.SILENT (\\Flagged)")
    # RFC 9051 §7: the news comes before the tagged answer of the next command
    answer = await imap.transact(OK, "NOOP")
    assert answer.named(b"FETCH") == [b"1 FETCH (UID 1 FLAGS (\\Flagged \\Recent))"]  # it selected first


async def test_a_locked_account_is_told_bye_at_its_next_command(
    imap: Conversation, directory: Directory
) -> None:
    # R6: locking ends open sessions; the change event makes the next command re-check at once
    await directory.accounts.change_status(
        "nvminh", Action.LOCK, reason=Reason.VIOLATION, ref=None, actor="test"
    )
    imap.send(b"A9 NOOP\r\n")
    assert await imap.line() == bytes(r.ACCOUNT_UNAVAILABLE)
    await imap.finished()


# --- what Dovecot's scripted tests check: \Recent, keywords, SENT*, TEXT/BODY, groups, CONDSTORE ----


def _raw(headers: str, body: str = "noi dung") -> bytes:
    return f"From: ban@example.org\r\nTo: nvminh@cantho.gov.vn\r\n{headers}\r\n\r\n{body}\r\n".encode()


async def test_recent_belongs_to_the_first_session_that_selects(
    imap: Conversation, connect: Open, store: Store, directory: Directory
) -> None:
    for n in range(2):
        await deliver(store, directory, "nvminh", message(f"Thư {n}"))
    other = await connect()
    await other.login("nvminh", PASSWORD)
    # RFC 3501 §6.3.2: EXAMINE reports RECENT without taking it; STATUS counts what no one took
    assert (await other.transact(OK, "EXAMINE INBOX")).named(b"RECENT") == [b"2 RECENT"]
    await other.transact(OK, "CLOSE")
    status = await other.transact(OK, "STATUS INBOX (MESSAGES RECENT)")
    assert status.named(b"STATUS") == [b'STATUS "INBOX" (MESSAGES 2 RECENT 2)']
    assert (await imap.transact(OK, "SELECT INBOX")).named(b"RECENT") == [b"2 RECENT"]
    assert (await other.transact(OK, "SELECT INBOX")).named(b"RECENT") == [b"0 RECENT"]
    assert (await imap.transact(OK, "SEARCH RECENT")).named(b"SEARCH") == [b"SEARCH 1 2"]
    assert (await other.transact(OK, "SEARCH RECENT")).named(b"SEARCH") == [b"SEARCH"]
    assert (await other.transact(OK, "SEARCH OLD")).named(b"SEARCH") == [b"SEARCH 1 2"]
    await imap.transact(OK, "STORE 1 +FLAGS.SILENT (\\Seen)")
    assert (await imap.transact(OK, "SEARCH NEW")).named(b"SEARCH") == [b"SEARCH 2"]
    fetched = await imap.transact(OK, "FETCH 1:2 FLAGS")
    assert fetched.named(b"FETCH") == [b"1 FETCH (FLAGS (\\Seen \\Recent))", b"2 FETCH (FLAGS (\\Recent))"]
    assert b"2 FETCH (FLAGS ())" in (await other.transact(OK, "FETCH 2 FLAGS")).named(b"FETCH")
    # A new message is recent to the one session that hears of it first, with "* n RECENT"
    await deliver(store, directory, "nvminh", message("Mới"))
    news = await other.transact(OK, "NOOP")
    assert news.named(b"EXISTS") == [b"3 EXISTS"] and news.named(b"RECENT") == [b"1 RECENT"]
    assert (await imap.transact(OK, "NOOP")).named(b"RECENT") == [b"2 RECENT"]
    status = await imap.transact(OK, "STATUS INBOX (RECENT)")
    assert status.named(b"STATUS") == [b'STATUS "INBOX" (RECENT 0)']


async def test_copied_messages_are_recent_in_the_target(
    imap: Conversation, connect: Open, store: Store, directory: Directory
) -> None:
    await deliver(store, directory, "nvminh", message("Một"))
    await imap.transact(OK, "CREATE Luu")
    watcher = await connect()
    await watcher.login("nvminh", PASSWORD)
    await watcher.transact(OK, "SELECT Luu")
    await imap.transact(OK, "SELECT INBOX")
    await imap.transact(OK, "COPY 1 Luu", code=Code.COPYUID)
    news = await watcher.transact(OK, "NOOP")
    assert news.named(b"EXISTS") == [b"1 EXISTS"] and news.named(b"RECENT") == [b"1 RECENT"]
    assert (await watcher.transact(OK, "FETCH 1 FLAGS")).named(b"FETCH") == [b"1 FETCH (FLAGS (\\Recent))"]


async def test_a_new_keyword_is_in_flags_before_any_fetch_shows_it(
    imap: Conversation, connect: Open, store: Store, directory: Directory
) -> None:
    await deliver(store, directory, "nvminh", message("Một"))
    await imap.transact(OK, "SELECT INBOX")
    other = await connect()
    await other.login("nvminh", PASSWORD)
    await other.transact(OK, "SELECT INBOX")
    # RFC 3501 §7.2.6: FLAGS (and PERMANENTFLAGS) name the keyword before the FETCH that uses it
    stored = await other.transact(OK, "STORE 1 +FLAGS ($Khan)")
    assert [line.split(b" ", 2)[:2] for line in stored.untagged] == [
        [b"FLAGS", b"(\\Answered"],
        [b"OK", b"[PERMANENTFLAGS"],
        [b"1", b"FETCH"],
    ]
    assert b" $Khan)" in stored.untagged[0] and b" $Khan \\*)]" in stored.untagged[1]
    news = await imap.transact(OK, "NOOP")
    assert news.untagged[0].startswith(b"FLAGS (") and b"$Khan" in news.untagged[0]
    assert news.untagged[-1] == b"1 FETCH (UID 1 FLAGS (\\Recent $Khan))"
    # told once: the next change with the same keyword (any case) comes without FLAGS
    again = await other.transact(OK, "STORE 1 FLAGS ($KHAN \\Seen)")
    assert again.named(b"FLAGS") == []
    examined = await connect()
    await examined.login("nvminh", PASSWORD)
    await examined.transact(OK, "EXAMINE INBOX")
    shown = await examined.transact(OK, "FETCH 1 FLAGS")
    assert (
        shown.untagged[0].startswith(b"FLAGS (") and shown.named(b"OK") == []
    )  # read-only: no PERMANENTFLAGS


async def test_sent_dates_are_the_date_headers_own_days(
    imap: Conversation, store: Store, directory: Directory
) -> None:
    # 23:00 on the 24th at +0200 is the 25th in Vietnam and in UTC+3; SENTON goes by the header's own day
    await deliver(store, directory, "nvminh", _raw("Date: Sat, 24 Mar 2007 23:00:00 +0200"))
    await deliver(store, directory, "nvminh", _raw("Date: Sun, 25 Mar 2007 00:30:00 +0300"))
    await deliver(store, directory, "nvminh", _raw("Subject: no date"))
    await imap.transact(OK, "SELECT INBOX")
    assert (await imap.transact(OK, "SEARCH SENTON 24-Mar-2007")).named(b"SEARCH") == [b"SEARCH 1"]
    assert (await imap.transact(OK, "SEARCH SENTON 25-Mar-2007")).named(b"SEARCH") == [b"SEARCH 2"]
    assert (await imap.transact(OK, "SEARCH SENTBEFORE 25-Mar-2007")).named(b"SEARCH") == [b"SEARCH 1"]
    assert (await imap.transact(OK, "SEARCH 1:2 SENTSINCE 25-Mar-2007")).named(b"SEARCH") == [b"SEARCH 2"]
    found = await imap.transact(OK, "SEARCH 1:2 NOT SENTON 24-Mar-2007")
    assert found.named(b"SEARCH") == [b"SEARCH 2"]


async def test_text_covers_every_header_and_body_only_the_body(
    imap: Conversation, store: Store, directory: Directory
) -> None:
    await deliver(store, directory, "nvminh", _raw("Subject: qwertyuiop", "asdfghjkl"))
    await deliver(store, directory, "nvminh", _raw("X-Ho-So: qwertyuiop", "zxcvbnm"))
    await deliver(store, directory, "nvminh", _raw("Subject: khac", "zxcvbnm qwertyuiop"))
    await imap.transact(OK, "SELECT INBOX")
    # RFC 3501 §6.4.4: TEXT is the header and the body, BODY the body alone
    assert (await imap.transact(OK, "SEARCH TEXT qwertyuiop")).named(b"SEARCH") == [b"SEARCH 1 2 3"]
    assert (await imap.transact(OK, "SEARCH BODY qwertyuiop")).named(b"SEARCH") == [b"SEARCH 3"]
    assert (await imap.transact(OK, "SEARCH BODY wertyui")).named(b"SEARCH") == [b"SEARCH 3"]
    assert (await imap.transact(OK, "SEARCH NOT BODY qwertyuiop")).named(b"SEARCH") == [b"SEARCH 1 2"]
    assert (await imap.transact(OK, "SEARCH OR BODY asdfghjkl HEADER X-Ho-So qwerty")).named(b"SEARCH") == [
        b"SEARCH 1 2"
    ]


async def test_to_finds_a_group_by_its_name(imap: Conversation, store: Store, directory: Directory) -> None:
    group = "To: phong-ban: a@cantho.gov.vn, b@cantho.gov.vn;, undisclosed-recipients:;"
    await deliver(store, directory, "nvminh", _raw(group).replace(b"To: nvminh@cantho.gov.vn\r\n", b""))
    await deliver(store, directory, "nvminh", _raw("Subject: ca nhan"))
    await imap.transact(OK, "SELECT INBOX")
    assert (await imap.transact(OK, "SEARCH TO phong-ban")).named(b"SEARCH") == [b"SEARCH 1"]
    found = await imap.transact(OK, "SEARCH TO undisclosed-recipients")
    assert found.named(b"SEARCH") == [b"SEARCH 1"]
    assert (await imap.transact(OK, "SEARCH TO b@cantho")).named(b"SEARCH") == [b"SEARCH 1"]


async def test_condstore_enabled_by_fetch_and_esearch_min_max_modseq(
    imap: Conversation, store: Store, directory: Directory
) -> None:
    for n in range(3):
        await deliver(store, directory, "nvminh", message(f"Thư {n}"))
    await imap.transact(OK, "SELECT INBOX")
    # RFC 7162 §3.1: the first CONDSTORE-enabling command is answered with HIGHESTMODSEQ
    first = await imap.transact(OK, "FETCH 1 MODSEQ")
    assert [line for line in first.untagged if line.startswith(b"OK [HIGHESTMODSEQ ")]
    assert [
        line for line in (await imap.transact(OK, "FETCH 1 MODSEQ")).untagged if b"HIGHESTMODSEQ" in line
    ] == []
    modseqs = {}
    for n in (1, 3, 2):
        [line] = (await imap.transact(OK, f"STORE {n} +FLAGS (\\Seen)")).named(b"FETCH")
        modseqs[n] = int(line.rsplit(b"MODSEQ (", 1)[1].split(b")")[0])
    # MIN and MAX report the MODSEQ of the message they name; ALL the highest of all
    answers = {}
    for returns in ("MIN", "MAX", "ALL"):
        [line] = (await imap.transact(OK, f"SEARCH RETURN ({returns}) MODSEQ 1")).named(b"ESEARCH")
        answers[returns] = int(line.rsplit(b"MODSEQ ", 1)[1])
    assert answers == {"MIN": modseqs[1], "MAX": modseqs[3], "ALL": modseqs[2]}


# --- as strict as Dovecot: its imaptest compliance scripts, as conversations ----------------------


async def test_an_id_as_large_as_rfc_2971_allows_is_answered_before_sign_in(connect: Open) -> None:
    imap = await connect()
    # RFC 2971 §3.3: up to 30 pairs, fields of 30 octets, values of 1024: about 31 KiB in all,
    # four times what any other command may hold before sign-in
    pairs = " ".join(f'"{n:02d}{"f" * 28}" "{"v" * 1024}"' for n in range(30))
    answer = await imap.transact(OK, f"ID ({pairs})")
    assert answer.named(b"ID") and answer.named(b"ID")[0].startswith(b'ID ("name" ')
    # Anything else that size is still refused, and before sign-in the connection ends there.
    await imap.transact(NO, f"NOOP {pairs}", code=Code.TOOBIG)
    assert await imap.line() == bytes(r.TOO_BIG_BEFORE_LOGIN)
    await imap.finished()


async def test_an_id_past_the_rfc_2971_size_is_refused_before_sign_in(connect: Open) -> None:
    imap = await connect()
    pairs = " ".join(f'"f{n}" "{"v" * 1024}"' for n in range(40))
    await imap.transact(NO, f"ID ({pairs})", code=Code.TOOBIG)
    assert await imap.line() == bytes(r.TOO_BIG_BEFORE_LOGIN)
    await imap.finished()


async def test_search_past_the_last_message_finds_nothing(
    imap: Conversation, store: Store, directory: Directory
) -> None:
    for subject in ("Một", "Hai"):
        await deliver(store, directory, "nvminh", message(subject))
    await imap.transact(OK, "SELECT INBOX")
    # Dovecot's answer: a key selects messages, it does not point at one that must be there
    assert (await imap.transact(OK, "SEARCH 1000")).named(b"SEARCH") == [b"SEARCH"]
    assert (await imap.transact(OK, "SEARCH 2:1000")).named(b"SEARCH") == [b"SEARCH 2"]
    answer = await imap.transact(OK, "SEARCH RETURN (MIN COUNT) 1000")
    assert answer.named(b"ESEARCH")[0].endswith(b" COUNT 0")
    assert b"MIN" not in answer.named(b"ESEARCH")[0]
    # FETCH, STORE and COPY still answer BAD (RFC 3501 §6.4.8)
    await imap.transact(BAD, "FETCH 1000 FLAGS")


async def test_list_extended_recursivematch_and_childinfo(imap: Conversation) -> None:
    for name in ("Box/a", "Box/b/c", "Box/d/e", "Box/d/f"):
        await imap.transact(OK, f"CREATE {name}")
    for name in ("Box/a", "Box/b/c", "Box/d/e"):
        await imap.transact(OK, f"SUBSCRIBE {name}")
    # RFC 5258 §3: RECURSIVEMATCH modifies SUBSCRIBED (or SPECIAL-USE), REMOTE is not enough
    await imap.transact(BAD, 'LIST (RECURSIVEMATCH) "" *')
    await imap.transact(BAD, 'LIST (RECURSIVEMATCH REMOTE) "" *')
    answer = await imap.transact(OK, 'LIST (SUBSCRIBED RECURSIVEMATCH) "" Box/% RETURN (CHILDREN)')
    assert answer.named(b"LIST") == [
        b'LIST (\\HasNoChildren \\Subscribed) "/" "Box/a"',
        b'LIST (\\HasChildren) "/" "Box/b" ("CHILDINFO" ("SUBSCRIBED"))',
        b'LIST (\\HasChildren) "/" "Box/d" ("CHILDINFO" ("SUBSCRIBED"))',
    ]
    # A child the patterns reach is listed itself: its parent is not, for it
    answer = await imap.transact(OK, 'LIST (SUBSCRIBED RECURSIVEMATCH) "" (Box/b Box/b/c)')
    assert answer.named(b"LIST") == [b'LIST (\\HasNoChildren \\Subscribed) "/" "Box/b/c"']
    # Without RECURSIVEMATCH only the subscribed names themselves
    answer = await imap.transact(OK, 'LIST (SUBSCRIBED) "" Box/%')
    assert answer.named(b"LIST") == [b'LIST (\\HasNoChildren \\Subscribed) "/" "Box/a"']
    # CREATE does not subscribe (the client's step): RETURN (SUBSCRIBED) says so of each
    answer = await imap.transact(OK, 'LIST "" Box/% RETURN (CHILDREN SUBSCRIBED)')
    assert answer.named(b"LIST") == [
        b'LIST (\\HasNoChildren \\Subscribed) "/" "Box/a"',
        b'LIST (\\HasChildren) "/" "Box/b"',
        b'LIST (\\HasChildren) "/" "Box/d"',
    ]


async def test_lsub_answers_an_unsubscribed_parent_noselect(imap: Conversation) -> None:
    for name in ("Box/a", "Box/b/c"):
        await imap.transact(OK, f"CREATE {name}")
        await imap.transact(OK, f"SUBSCRIBE {name}")
    # RFC 3501 §6.3.9: "%" reaches Box/b, whose child is subscribed but not itself
    answer = await imap.transact(OK, 'LSUB "" Box/%')
    assert answer.named(b"LSUB") == [b'LSUB () "/" "Box/a"', b'LSUB (\\Noselect) "/" "Box/b"']
    await imap.transact(OK, "UNSUBSCRIBE Box/b/c")
    answer = await imap.transact(OK, 'LSUB "" Box/%')
    assert answer.named(b"LSUB") == [b'LSUB () "/" "Box/a"']


async def test_a_name_that_is_not_modified_utf7_is_no_and_a_pattern_matches_nothing(
    imap: Conversation,
) -> None:
    name = "!#$&'+,-.0123456789:;<=>?@^_`|[}"  # every atom character, with a broken "&" shift
    await imap.transact(NO, f"SELECT {name}", code=Code.CANNOT)
    await imap.transact(NO, f"CREATE {name}", code=Code.CANNOT)
    assert (await imap.transact(OK, f'LIST "" {name}%*')).named(b"LIST") == []
    await imap.transact(OK, "CREATE D&AOk-")
    # matched as the client writes names, in modified UTF-7, as Dovecot does
    assert (await imap.transact(OK, 'LIST "" D&*')).named(b"LIST") == [b'LIST (\\HasNoChildren) "/" "D&AOk-"']


async def test_a_binary_part_appended_comes_back_octet_for_octet(imap: Conversation) -> None:
    payload = b"\0-\xe4\n\r\n\n"  # NUL, 8-bit, a bare LF: data, not lines
    data = (
        b"From: user@example.org\r\nMime-Version: 1.0\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: binary\r\n\r\n" + payload
    )
    # RFC 3516 §4.4: APPEND with a literal8
    await imap.transact(OK, b"APPEND INBOX ~{%d}" % len(data), literal=data, code=Code.APPENDUID)
    await imap.transact(OK, "SELECT INBOX")
    answer = await imap.transact(OK, "FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1])")
    assert answer.named(b"FETCH") == [
        b"1 FETCH (BINARY.SIZE[1] %d BINARY[1] ~{%d}\r\n%s)" % (len(payload), len(payload), payload)
    ]
