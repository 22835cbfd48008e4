"""R8.2: which delegations may be made and which delegated mailboxes a person still opens
(`policy.delegation`)."""

import pytest

from hopthu.errors import HopThuError
from hopthu.policy.delegation import check_delegation, delegate_may_open
from hopthu.policy.lifecycle import Status
from hopthu.policy.mailbox import MailboxKind


def test_r8_2_an_agency_mailbox_is_delegated_to_a_person() -> None:
    check_delegation(MailboxKind.AGENCY, MailboxKind.PERSONAL)
    with pytest.raises(HopThuError, match="Only agency mailboxes can be delegated"):
        check_delegation(MailboxKind.PERSONAL, MailboxKind.PERSONAL)
    with pytest.raises(HopThuError, match="Only a person can be a delegate"):
        check_delegation(MailboxKind.AGENCY, MailboxKind.AGENCY)


def test_a_locked_agency_mailbox_stays_open_to_its_delegates_a_revoked_one_does_not() -> None:
    assert [s for s in Status if delegate_may_open(s)] == [Status.ACTIVE, Status.LOCKED]
