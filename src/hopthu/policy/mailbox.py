"""The two kinds of mailbox the regulation names (R2.1), shared by quota and the rooms that store them."""

from enum import StrEnum


class MailboxKind(StrEnum):
    """Personal mailbox (hộp thư cá nhân) or agency mailbox (hộp thư cơ quan, đơn vị, sub-units too)."""

    PERSONAL = "personal"
    AGENCY = "agency"

    @property
    def vi(self) -> str:
        return _VI[self]


_VI = {MailboxKind.PERSONAL: "hộp thư cá nhân", MailboxKind.AGENCY: "hộp thư cơ quan, đơn vị"}
