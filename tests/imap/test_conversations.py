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
    for _ in range(MAX_BAD_COMMANDS - 2):
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

    await imap.transact(OK, "SELECT INBOX")
    answer = await imap.transact(OK, "FETCH 1:2 (UID FLAGS RFC822.SIZE)")
    assert answer.named(b"FETCH") == [
        b"1 FETCH (UID 1 FLAGS (\\Seen) RFC822.SIZE %d)" % len(data),
        b"2 FETCH (UID 2 FLAGS () RFC822.SIZE %d)" % len(data),
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
    assert answer.named(b"FETCH") == [b"1 FETCH (UID 1 FLAGS (\\Flagged))"]


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
