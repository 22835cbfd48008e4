"""Delegation of agency mailboxes (R8.2, R8.3): the head of an agency lets named people read and send
as the agency mailbox without sharing its password, and each delegated send names the real sender.

`directory.delegations` keeps the grants; this module says which grants may be made and which
delegated mailboxes a person may still open. Whether a delegate may send as the mailbox is
`policy.sending.send_as_right`; that a delegated send is then sent with `Sender:` naming the person
(R8.3) is `SendAsRight.DELEGATED`, which `smtp.pipeline` acts on.
"""

from __future__ import annotations

from typing import Final

from hopthu.errors import HopThuError
from hopthu.policy.lifecycle import Status
from hopthu.policy.mailbox import MailboxKind

CLOSED_TO_DELEGATES: Final = frozenset({Status.REVOKED, Status.DELETED})
"""States in which a delegated agency mailbox disappears from its delegates' lists (IMAP's shared
namespace, the webmail's mailbox switch); a locked one stays, to be read."""


def delegate_may_open(status: Status) -> bool:
    """R8.2: whether a delegate still sees the agency mailbox (to read; sending asks `can_send`)."""
    return status not in CLOSED_TO_DELEGATES


def check_delegation(mailbox_kind: MailboxKind, delegate_kind: MailboxKind) -> None:
    """R8.2: only an agency mailbox is delegated, and only to a person (a personal mailbox); raises
    `HopThuError` with the reason otherwise."""
    if mailbox_kind is not MailboxKind.AGENCY:
        raise HopThuError("Chỉ ủy quyền hộp thư cơ quan, đơn vị", "Only agency mailboxes can be delegated")
    if delegate_kind is not MailboxKind.PERSONAL:
        raise HopThuError("Chỉ ủy quyền cho hộp thư cá nhân", "Only a person can be a delegate")
