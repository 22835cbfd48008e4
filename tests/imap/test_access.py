"""Rights that end while a session is open: a mailbox locked (R6) or an agency mailbox's delegation
withdrawn (R8.2) ends the session with BYE at its next command, not only at the next sign-in."""

from __future__ import annotations

import pytest

from hopthu.imap import session
from hopthu.policy.lifecycle import Action, Reason
from tests.imap.conftest import RunningServer, message
from tests.imap.rawclient import tagged


@pytest.fixture(autouse=True)
def check_every_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session, "ACCESS_RECHECK", 0.0)


def test_withdrawn_delegation_ends_the_session_on_the_agency_mailbox(imapserver: RunningServer) -> None:
    """R8.2"""
    imapserver.deliver("sonv", message("Công văn đến cơ quan"))
    client = imapserver.raw("nvminh")
    assert b"OK [READ-WRITE]" in tagged(client.command('SELECT "Shared/sonv/INBOX"'))
    assert b"OK" in tagged(client.command("FETCH 1 FLAGS"))
    delegations = imapserver.services.directory.delegations
    imapserver.run(delegations.revoke("sonv", "nvminh", actor="test"))
    answer = client.command("FETCH 1 BODY.PEEK[]")
    assert answer.startswith(b"* BYE [UNAVAILABLE]") and "Công văn".encode() not in answer


def test_withdrawn_delegation_hides_the_agency_mailbox(imapserver: RunningServer) -> None:
    """R8.2: a session not inside the agency mailbox goes on, without it."""
    client = imapserver.raw("nvminh")
    assert b"Shared/sonv/INBOX" in client.command('LIST "" "*"')
    imapserver.run(imapserver.services.directory.delegations.revoke("sonv", "nvminh", actor="test"))
    listed = client.command('LIST "" "*"')
    assert b"Shared" not in listed and b'"INBOX"' in listed
    assert b"NO [NONEXISTENT]" in tagged(client.command('SELECT "Shared/sonv/INBOX"'))


def test_a_locked_mailbox_ends_its_sessions(imapserver: RunningServer) -> None:
    """R6: locking takes effect at once, also for clients already signed in."""
    client = imapserver.raw("ttnanh")
    client.command("SELECT INBOX")
    accounts = imapserver.services.directory.accounts
    imapserver.run(
        accounts.change_status("ttnanh", Action.LOCK, reason=Reason.VIOLATION, ref=None, actor="test")
    )
    assert client.command("NOOP").startswith(b"* BYE [UNAVAILABLE]")


def test_a_locked_mailbox_ends_its_idle_session_at_once(imapserver: RunningServer) -> None:
    """R6: a session waiting in IDLE sends no command to be checked at; the lock reaches it anyway."""
    client = imapserver.raw("ttnanh")
    assert b"OK" in tagged(client.command("SELECT INBOX"))
    client.send(b"i IDLE\r\n")
    assert client.line().startswith(b"+ ")
    accounts = imapserver.services.directory.accounts
    imapserver.run(
        accounts.change_status("ttnanh", Action.LOCK, reason=Reason.VIOLATION, ref=None, actor="test")
    )
    client.sock.settimeout(5)
    assert client.line().startswith(b"* BYE [UNAVAILABLE]")
