"""The IMAP connection itself, against a running server: greeting and capabilities, TLS, signing in
(LOGIN, AUTHENTICATE PLAIN) with the directory's refusals (R5.2, R6, R13.3), ID, ENABLE, NAMESPACE,
the state table, hostile or broken input, the idle timeout and LOGOUT.

Raw checks write bytes on a socket (`RawClient`) so that what the server answers is seen exactly; imaplib
and imapclient check that real clients get on with it.
"""

from __future__ import annotations

import base64
import dataclasses
import re
import time
from collections.abc import Iterator

import pytest
from imapclient import IMAPClient

from hopthu.config import Settings
from hopthu.directory.people import PersonRow
from hopthu.imap import commands as c
from hopthu.imap.parser import CommandParser, NeedLiteral
from hopthu.imap.state import AUTHENTICATED, NOT_AUTHENTICATED, SELECTED, TABLE
from hopthu.policy.lifecycle import Action, Reason
from hopthu.smtp.dns import StaticResolver
from tests.imap.conftest import PASSWORD, RunningServer, insecure_tls, message, running_server

# What a signed-in client must be offered (RFC 9051 and the extensions the server implements).
SIGNED_IN_CAPABILITIES = {
    "IDLE", "UIDPLUS", "MOVE", "SPECIAL-USE", "LIST-EXTENDED", "LIST-STATUS", "NAMESPACE", "ID", "ENABLE",
    "LITERAL+", "UNSELECT", "CHILDREN", "QUOTA", "CONDSTORE", "SASL-IR", "IMAP4rev1", "IMAP4rev2",
}  # fmt: skip


def quoted(text: str) -> bytes:
    return b'"' + text.encode().replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def plain(user: str, password: str, authzid: str = "") -> bytes:
    return base64.b64encode(f"{authzid}\0{user}\0{password}".encode())


def capabilities(line: bytes) -> set[str]:
    """The capability names of a "* CAPABILITY ..." line or of a "[CAPABILITY ...]" code."""
    found = re.search(rb"CAPABILITY ([^\]\r\n]*)", line)
    assert found is not None, line
    return set(found[1].decode().split())


# --- greeting, capabilities, TLS ----------------------------------------------------------------


def test_capabilities_and_privacy_before_and_after_tls_on_both_ports(imapserver):
    wire = imapserver.raw(None, tls="none")
    assert wire.greeting.startswith(b"* OK [CAPABILITY ")
    greeted = capabilities(wire.greeting)
    assert {"IMAP4rev1", "IMAP4rev2", "STARTTLS", "LOGINDISABLED"} <= greeted
    assert "AUTH=PLAIN" not in greeted
    (line,) = wire.ok("a1", b"CAPABILITY")
    assert capabilities(line) == greeted

    # Without TLS a password is never taken, by either way of signing in (RFC 9051 §6.2.3, RFC 5530).
    (refused,) = wire.exchange("a2", b"LOGIN nvminh " + quoted(PASSWORD))
    assert refused.startswith(b"a2 NO [PRIVACYREQUIRED] ")
    (refused,) = wire.exchange("a3", b"AUTHENTICATE PLAIN " + plain("nvminh", PASSWORD))
    assert refused.startswith(b"a3 NO [PRIVACYREQUIRED] ")

    wire.starttls()
    (line,) = wire.ok("a4", b"CAPABILITY")
    secured = capabilities(line)
    assert "AUTH=PLAIN" in secured
    assert not {"STARTTLS", "LOGINDISABLED"} & secured
    assert wire.exchange("a5", b"STARTTLS")[-1].startswith(b"a5 BAD ")  # TLS is already on

    (done,) = wire.exchange("a6", b"LOGIN nvminh " + quoted(PASSWORD))
    assert done.startswith(b"a6 OK [CAPABILITY ")
    assert capabilities(done) >= SIGNED_IN_CAPABILITIES
    (line,) = wire.ok("a7", b"CAPABILITY")
    assert capabilities(line) >= SIGNED_IN_CAPABILITIES
    assert not {"STARTTLS", "LOGINDISABLED"} & capabilities(line)
    wire.close()

    # The implicit-TLS port (993) offers AUTH=PLAIN from its greeting on
    wire = imapserver.raw(None, tls="implicit")
    greeted = capabilities(wire.greeting)
    assert "AUTH=PLAIN" in greeted
    assert not {"STARTTLS", "LOGINDISABLED"} & greeted
    wire.close()
    client = imapserver.connect(tls="implicit")
    assert client.login("nvminh", PASSWORD)[0] == "OK"
    assert client.select("INBOX")[0] == "OK"
    client.logout()


# --- signing in ---------------------------------------------------------------------------------


def test_authenticate_plain_initial_response_continuation_and_cancel(imapserver):
    # SASL-IR (RFC 4959): the credentials on the command line
    wire = imapserver.raw(None)
    (done,) = wire.exchange("a1", b"AUTHENTICATE PLAIN " + plain("nvminh", PASSWORD))
    assert done.startswith(b"a1 OK [CAPABILITY ")
    assert "IDLE" in capabilities(done)
    wire.close()

    # Without an initial response: an empty challenge "+ ", then the response (RFC 9051 §6.2.2)
    wire = imapserver.raw(None)
    wire.send(b"b1 AUTHENTICATE PLAIN\r\n")
    assert wire.line() == b"+ \r\n"
    wire.send(b"*\r\n")  # the client cancels
    assert wire.lines("b1")[-1].startswith(b"b1 BAD ")
    wire.send(b"b2 AUTHENTICATE PLAIN\r\n")
    assert wire.line() == b"+ \r\n"
    wire.send(b"not base64!\r\n")  # a malformed response ends this AUTHENTICATE with a tagged BAD
    assert wire.lines("b2")[-1].startswith(b"b2 BAD ")
    wire.send(b"b3 AUTHENTICATE PLAIN\r\n")
    assert wire.line() == b"+ \r\n"
    wire.send(plain("nvminh", PASSWORD) + b"\r\n")
    assert wire.lines("b3")[-1].startswith(b"b3 OK ")
    wire.ok("b4", b"SELECT INBOX")
    wire.close()

    # Acting as someone else is not PLAIN's business here (RFC 4616 §2 authzid)
    wire = imapserver.raw(None)
    (refused,) = wire.exchange("c1", b"AUTHENTICATE PLAIN " + plain("nvminh", PASSWORD, authzid="ttnanh"))
    assert refused.startswith(b"c1 NO [AUTHORIZATIONFAILED] ")
    (refused,) = wire.exchange("c2", b"AUTHENTICATE CRAM-MD5")
    assert refused.startswith(b"c2 NO ")
    wire.close()

    # Real clients: imaplib answers the "+ " challenge, imapclient too
    client = imapserver.connect()
    assert client.authenticate("PLAIN", lambda _: b"\0ttnanh\0" + PASSWORD.encode())[0] == "OK"
    client.logout()
    with IMAPClient("127.0.0.1", port=imapserver.port("imap"), ssl=False, timeout=30) as client:
        client.starttls(insecure_tls())
        client.plain_login("ttnanh", PASSWORD)
        assert client.select_folder("INBOX")[b"EXISTS"] == 0


def test_r13_3_wrong_password_then_bye_after_three_failures(imapserver):
    wire = imapserver.raw(None)
    (refused,) = wire.exchange("a1", b"LOGIN ttnanh wrong-password")
    assert refused.startswith(b"a1 NO [AUTHENTICATIONFAILED] ")
    (refused,) = wire.exchange("a2", b"AUTHENTICATE PLAIN " + plain("nvminh", "also-wrong"))
    assert refused.startswith(b"a2 NO [AUTHENTICATIONFAILED] ")
    lines = wire.exchange("a3", b"LOGIN nobody-here wrong")  # an unknown address is answered alike
    assert lines[0].startswith(b"* BYE ")
    assert lines[-1].startswith(b"a3 NO [AUTHENTICATIONFAILED] ")
    assert wire.closed_quietly()
    wire.close()

    # The right password still works from here: the pause of R13.3 comes after five failures.
    wire = imapserver.raw(None)
    wire.ok("b1", b"LOGIN ttnanh " + quoted(PASSWORD))
    wire.close()


def test_r5_2_temporary_password_expired_and_r6_locked_or_deleted_unavailable(imapserver):
    directory = imapserver.services.directory
    (person,) = imapserver.run(
        directory.people.register([PersonRow("Lê", "Văn", "Tâm", "sonv")], actor="test")
    )
    assert person.address and person.temporary_password
    web_url = imapserver.services.settings.server.web_url
    assert web_url.startswith("https://")

    # R5.2: a temporary password is changed on the web first, and the refusal says where
    wire = imapserver.raw(None)
    (refused,) = wire.exchange(
        "a1", b"LOGIN " + person.address.encode() + b" " + quoted(person.temporary_password)
    )
    assert refused.startswith(b"a1 NO [EXPIRED] ")
    assert web_url.encode() in refused
    temporary = plain(person.address, person.temporary_password)
    (refused,) = wire.exchange("a2", b"AUTHENTICATE PLAIN " + temporary)
    assert refused.startswith(b"a2 NO [EXPIRED] ")
    assert web_url.encode() in refused
    wire.close()

    # R6: a locked or deleted mailbox is refused, [UNAVAILABLE] (RFC 5530)
    accounts = directory.accounts
    imapserver.run(
        accounts.change_status("ttnanh", Action.LOCK, reason=Reason.VIOLATION, ref=None, actor="test")
    )
    imapserver.run(
        accounts.change_status("nvminh", Action.DELETE, reason=Reason.LEFT, ref="QĐ 15/QĐ-SNV", actor="test")
    )
    wire = imapserver.raw(None)
    (refused,) = wire.exchange("b1", b"LOGIN ttnanh " + quoted(PASSWORD))
    assert refused.startswith(b"b1 NO [UNAVAILABLE] ")
    (refused,) = wire.exchange("b2", b"AUTHENTICATE PLAIN " + plain("nvminh", PASSWORD))
    assert refused.startswith(b"b2 NO [UNAVAILABLE] ")
    wire.close()
    # ...but only to whoever knows the password
    wire = imapserver.raw(None)
    (refused,) = wire.exchange("c1", b"LOGIN ttnanh wrong")
    assert refused.startswith(b"c1 NO [AUTHENTICATIONFAILED] ")
    wire.close()


# --- ID, ENABLE, NAMESPACE, LOGOUT --------------------------------------------------------------


def test_id_enable_namespace_and_logout(imapserver):
    web_url = imapserver.services.settings.server.web_url
    wire = imapserver.raw(None)
    (answer,) = wire.ok("a1", b'ID ("name" "pytest" "version" "1")')  # RFC 2971: in any state
    assert answer.startswith(b"* ID (")
    assert b'"name" "Hop Thu"' in answer
    assert b'"support-url" "' + web_url.encode() + b'"' in answer
    assert wire.exchange("a2", b"ENABLE CONDSTORE")[-1].startswith(b"a2 BAD ")  # not before login

    wire.ok("a3", b"LOGIN nvminh " + quoted(PASSWORD))
    (enabled,) = wire.ok("a4", b"ENABLE CONDSTORE IMAP4rev2 X-UNKNOWN")
    assert enabled == b"* ENABLED CONDSTORE IMAP4rev2\r\n"
    untagged = wire.ok("a5", b"SELECT INBOX")
    assert any(line.startswith(b"* OK [HIGHESTMODSEQ ") for line in untagged)  # CONDSTORE is on
    assert not any(line.endswith(b" RECENT\r\n") for line in untagged)  # IMAP4rev2 has no RECENT

    # The delegate sees the shared namespace where the agency mailbox is (R8.2, RFC 2342)
    (namespace,) = wire.ok("a6", b"NAMESPACE")
    assert namespace == b'* NAMESPACE (("" "/")) NIL (("Shared/" "/"))\r\n'

    lines = wire.exchange("a7", b"LOGOUT")
    assert lines[0].startswith(b"* BYE ")
    assert lines[1].startswith(b"a7 OK ")
    assert wire.closed_quietly()
    wire.close()

    wire = imapserver.raw("ttnanh")
    (namespace,) = wire.ok("b1", b"NAMESPACE")
    assert namespace == b'* NAMESPACE (("" "/")) NIL NIL\r\n'
    wire.close()


# --- the state table ----------------------------------------------------------------------------

# One valid command line for every command class of the state table.
SAMPLES: dict[type[c.Command], bytes] = {
    c.Capability: b"CAPABILITY",
    c.Noop: b"NOOP",
    c.Logout: b"LOGOUT",
    c.Id: b"ID NIL",
    c.StartTLS: b"STARTTLS",
    c.Login: b"LOGIN nvminh " + quoted(PASSWORD),
    c.Authenticate: b"AUTHENTICATE PLAIN " + plain("nvminh", PASSWORD),
    c.Select: b"SELECT INBOX",
    c.Examine: b"EXAMINE INBOX",
    c.Create: b"CREATE Moi",
    c.Delete: b"DELETE Moi",
    c.Rename: b"RENAME Moi Cu",
    c.Subscribe: b"SUBSCRIBE INBOX",
    c.Unsubscribe: b"UNSUBSCRIBE INBOX",
    c.List: b'LIST "" "*"',
    c.Lsub: b'LSUB "" "*"',
    c.Status: b"STATUS INBOX (MESSAGES)",
    c.Append: b"APPEND INBOX {12+}\r\nSubject: x\r\n",
    c.Idle: b"IDLE",
    c.Enable: b"ENABLE CONDSTORE",
    c.Namespace: b"NAMESPACE",
    c.GetQuotaRoot: b"GETQUOTAROOT INBOX",
    c.GetQuota: b'GETQUOTA ""',
    c.Check: b"CHECK",
    c.Close: b"CLOSE",
    c.Unselect: b"UNSELECT",
    c.Expunge: b"EXPUNGE",
    c.UidExpunge: b"UID EXPUNGE 1",
    c.Search: b"SEARCH ALL",
    c.Fetch: b"FETCH 1 FLAGS",
    c.Store: b"STORE 1 +FLAGS (\\Seen)",
    c.Copy: b"COPY 1 Trash",
    c.Move: b"MOVE 1 Trash",
}


def test_state_table_samples_cover_every_command():
    every = set().union(*TABLE.values())
    assert every == set(SAMPLES)
    for kind, line in SAMPLES.items():
        parser = CommandParser()
        parser.feed(b"t " + line + b"\r\n")
        item = parser.next()
        while isinstance(item, NeedLiteral):
            item = parser.next()
        assert type(item) is kind, line


def _refused_by_state(server: RunningServer, state: str, kinds: set[type[c.Command]]) -> None:
    """Send each command in `state` on fresh connections; each must get the state table's BAD."""
    pending = sorted(kinds, key=lambda kind: kind.__name__)
    while pending:
        batch, pending = pending[:8], pending[8:]  # well under the 20 bad commands that end a session
        wire = server.raw(None)
        if state != NOT_AUTHENTICATED:
            wire.ok("l", b"LOGIN nvminh " + quoted(PASSWORD))
        if state == SELECTED:
            wire.ok("s", b"SELECT INBOX")
        for number, kind in enumerate(batch):
            tag = f"t{number}"
            (answer,) = wire.exchange(tag, SAMPLES[kind])
            assert answer.startswith(tag.encode() + b" BAD "), (state, kind, answer)
            assert b"not allowed in this state" in answer, answer
        wire.ok("n", b"NOOP")  # and the session goes on
        wire.close()


def test_state_table_refuses_commands_out_of_their_state_and_twenty_end_the_session(imapserver):
    imapserver.deliver("nvminh", message())
    every = set(SAMPLES)
    # e.g. SELECT and FETCH before login
    assert {c.Select, c.Fetch} <= every - TABLE[NOT_AUTHENTICATED]
    _refused_by_state(imapserver, NOT_AUTHENTICATED, every - TABLE[NOT_AUTHENTICATED])
    # e.g. FETCH with no mailbox selected, LOGIN after login
    assert {c.Fetch, c.Login} <= every - TABLE[AUTHENTICATED]
    _refused_by_state(imapserver, AUTHENTICATED, every - TABLE[AUTHENTICATED])
    _refused_by_state(imapserver, SELECTED, every - TABLE[SELECTED])

    # Each of these is a bad command; the twentieth in a row ends the session. Any other answer
    # starts the count again (as in Dovecot), so a long session with a few BADs is not cut off.
    wire = imapserver.raw()
    for number in range(19):
        (answer,) = wire.exchange(f"a{number}", b"FETCH 1 FLAGS")
        assert answer.startswith(f"a{number} BAD ".encode())
    wire.ok("n", b"NOOP")
    for number in range(19):
        (answer,) = wire.exchange(f"b{number}", b"FETCH 1 FLAGS")
        assert answer.startswith(f"b{number} BAD ".encode())
    (answer,) = wire.exchange("z", b"FETCH 1 FLAGS")
    assert answer.startswith(b"z BAD ")
    assert wire.line().startswith(b"* BYE ")
    assert wire.closed_quietly()
    wire.close()


# --- hostile and broken input -------------------------------------------------------------------


def test_broken_input_is_refused_and_disturbs_neither_this_client_nor_others(imapserver):
    max_line = imapserver.services.settings.imap.max_line
    max_literal = imapserver.services.settings.imap.max_literal
    assert max_line < 100_000
    hostile = imapserver.raw()
    other = imapserver.raw("ttnanh")

    hostile.send(b"\x00\xff\xfe\x80 \x1b[2J\r\n")
    assert hostile.line().startswith(b"* BAD ")
    (answer,) = hostile.exchange("a1", b'SELECT "\xff\xfe"')  # not UTF-8
    assert answer.startswith(b"a1 BAD ")
    hostile.send(b"a2 SELECT " + b"x" * 60_000)  # half of a 100 KB line...
    other.ok("b1", b"NOOP")  # ...does not hold the server up
    hostile.send(b"y" * 40_000 + b"\r\n")
    (answer,) = hostile.lines("a2")
    assert answer.startswith(b"a2 NO [TOOBIG] ")
    other.ok("b2", b'LIST "" "*"')
    hostile.ok("a3", b"SELECT INBOX")  # the same client is still served

    # A literal over the limit is refused before any "+" invites its bytes
    (answer,) = hostile.exchange("a4", b"APPEND INBOX {%d}" % (max_literal + 1))
    assert answer.startswith(b"a4 NO [TOOBIG] ")
    hostile.ok("a5", b"NOOP")

    # A client gone in the middle of a literal leaves nothing behind and troubles no one
    leaving = imapserver.raw()
    leaving.send(b"c1 APPEND INBOX {2000}\r\n")
    assert leaving.line().startswith(b"+ ")
    leaving.send(b"Subject: half a message\r\n\r\n" + b"x" * 500)
    leaving.close()
    client = imapserver.login("ttnanh")
    assert client.append("INBOX", None, None, message(subject="Đủ cả"))[0] == "OK"
    client.logout()
    other.ok("b3", b"NOOP")
    (status,) = hostile.ok("a6", b"STATUS INBOX (MESSAGES)")
    assert status == b'* STATUS "INBOX" (MESSAGES 0)\r\n'  # nothing of the half message was kept
    hostile.close()

    # Twenty syntax errors in a row end the session: BYE, then the connection closes (RFC 9051
    # §7.1.5); a good command between them starts the count again
    noisy = imapserver.raw()
    for number in range(19):
        (answer,) = noisy.exchange(f"d{number}", b"FROBNICATE")
        assert answer.startswith(f"d{number} BAD ".encode())
    noisy.ok("d19", b"NOOP")
    for number in range(19):
        (answer,) = noisy.exchange(f"e{number}", b"FROBNICATE")
        assert answer.startswith(f"e{number} BAD ".encode())
    (answer,) = noisy.exchange("d20", b"FROBNICATE")
    assert answer.startswith(b"d20 BAD ")
    assert noisy.line().startswith(b"* BYE ")
    assert noisy.closed_quietly(2)
    noisy.close()
    other.ok("b4", b"NOOP")
    other.close()


# --- idle timeout -------------------------------------------------------------------------------


@pytest.fixture
def impatient_server(server_settings: Settings, resolver: StaticResolver) -> Iterator[RunningServer]:
    """The `imapserver` fixture with an idle timeout of 1.2 s (past the configuration's validation)."""
    settings = dataclasses.replace(
        server_settings, imap=dataclasses.replace(server_settings.imap, idle_timeout_minutes=0.02)
    )
    with running_server(settings, resolver) as running:
        yield running


def test_idle_timeout_says_bye_and_closes(impatient_server):
    quiet = impatient_server.raw()
    idling = impatient_server.raw("ttnanh")
    idling.ok("s", b"SELECT INBOX")
    idling.send(b"i IDLE\r\n")
    assert idling.line().startswith(b"+ ")
    started = time.monotonic()
    for wire in (quiet, idling):
        assert wire.line().startswith(b"* BYE ")
        assert wire.closed_quietly()
        wire.close()
    assert time.monotonic() - started < 8
