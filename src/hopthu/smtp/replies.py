"""Every SMTP reply the system gives, as values from one catalogue that code and tests share.

Texts are ASCII (Vietnamese without diacritics, then English): SMTP reply text is 7-bit for every
client that did not ask for SMTPUTF8, and administrators read these in logs and bounces. What the
pipeline decided (`smtp.outcome`) becomes a reply here, in `for_outcome`, and nowhere else.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from hopthu.errors import HopThuError
from hopthu.smtp.outcome import Outcome, Reason
from hopthu.text import ascii_text


@dataclass(frozen=True, slots=True)
class Reply:
    code: int
    status: str  # RFC 3463 enhanced status code
    text: str

    def __str__(self) -> str:
        """The reply on the wire; long texts become a multiline reply (RFC 5321 §4.2.1, §4.5.3.1.5)."""
        lines = textwrap.wrap(self.text, 400) or [""]
        head = [f"{self.code}-{self.status} {line}" for line in lines[:-1]]
        return "\r\n".join([*head, f"{self.code} {self.status} {lines[-1]}"])

    def with_text(self, text: str) -> Reply:
        return Reply(self.code, self.status, text)

    def explaining(self, error: HopThuError) -> Reply:
        """This reply with a refusal's own words: its Vietnamese (without diacritics) and English."""
        return self.saying(error.vi, error.en)

    def saying(self, vi: str, en: str) -> Reply:
        """This reply with the given words, Vietnamese without diacritics, then English."""
        return self.with_text(f"{ascii_text(vi)} / {ascii_text(en)}")


SENDER_OK = Reply(250, "2.1.0", "OK")
RECIPIENT_OK = Reply(250, "2.1.5", "OK")
QUEUED = Reply(250, "2.0.0", "Da nhan / Accepted")

NO_SUCH_USER = Reply(550, "5.1.1", "Khong co hop thu nay / No such mailbox")
MAILBOX_DISABLED = Reply(550, "5.2.1", "Hop thu da ngung hoat dong / Mailbox disabled")
RELAY_DENIED = Reply(550, "5.7.1", "Khong chuyen tiep thu / Relaying denied")
MAILBOX_FULL = Reply(452, "4.2.2", "Hop thu day, hay thu lai sau / Mailbox full, try again later (R5.1)")
TOO_MANY_RECIPIENTS = Reply(452, "4.5.3", "Qua nhieu nguoi nhan / Too many recipients")
ATTACHMENTS_TOO_LARGE = Reply(552, "5.3.4", "")  # text from policy.quota, per message
FORGED_DOMAIN = Reply(
    550,
    "5.7.1",
    "Thu gia mao ten mien cua chung toi (DMARC) / Message forges our domain, rejected by DMARC",
)
DMARC_TEMPERROR = Reply(
    451,
    "4.7.1",
    "Chua kiem tra duoc nguon goc thu (DNS), hay thu lai / Cannot verify the sender now, try later",
)
SENDER_NOT_ALLOWED = Reply(
    550,
    "5.7.1",
    "Ban khong duoc gui voi dia chi nay / You may not send as this address (R3.2)",
)
AMBIGUOUS_AUTHOR = Reply(
    550,
    "5.7.1",
    "Dia chi nguoi gui (From, Sender, Reply-To) khong ro rang hoac sai cu phap / "
    "The sender's address (From, Sender, Reply-To) is ambiguous or invalid (R3.2)",
)
SECRET_REFUSED = Reply(550, "5.7.1", "")  # text from policy.secrecy, per message
RATE_LIMITED = Reply(
    451,
    "4.7.1",
    "Vuot gioi han gui thu, hay thu lai sau / Sending limit reached, try again later (R3.1)",
)
ACCOUNT_LOCKED_FOR_SPAM = Reply(
    550,
    "5.7.1",
    "Hop thu bi tam khoa do gui qua nhieu thu / Account locked for sending too much mail (R6.4a)",
)
AUTH_REQUIRED = Reply(530, "5.7.0", "Can dang nhap / Authentication required")
AUTH_OK = Reply(235, "2.7.0", "Dang nhap thanh cong / Authentication successful")
AUTH_FAILED = Reply(535, "5.7.8", "Sai dia chi hoac mat khau / Authentication credentials invalid")
AUTH_THROTTLED = Reply(
    454, "4.7.0", "Dang nhap sai nhieu lan, thu lai sau / Too many failures, try again later"
)
PASSWORD_CHANGE_NEEDED = Reply(432, "4.7.12", "")  # text names the web address
ACCOUNT_UNAVAILABLE = Reply(535, "5.7.8", "")  # text says locked/revoked/deleted
TEMPORARY_FAILURE = Reply(451, "4.3.0", "Loi tam thoi, hay thu lai / Temporary failure, try again")
BAD_SYNTAX = Reply(501, "5.5.4", "Cu phap sai / Syntax error")

# Listener bounds (RFC 5321 §3.8, §4.5.3.1): a 421 closes the connection, so its text starts with our
# host name (§4.2); the listener fills it in.
TOO_MANY_CONNECTIONS = Reply(421, "4.7.0", "")  # text from security.connections
PRELOGIN_TIMEOUT = Reply(
    421, "4.4.2", "Het thoi gian cho lenh MAIL hoac dang nhap / Timeout before MAIL or AUTH, closing"
)
SHUTTING_DOWN = Reply(
    421, "4.3.2", "May chu dang dung, hay thu lai sau / Server shutting down, try again later"
)
MESSAGE_TOO_BIG = Reply(552, "5.3.4", "Thu qua lon / Message too big")
LINE_TOO_LONG = Reply(500, "5.5.2", "Dong qua dai / Line too long")

# Protection (R13.2): refused at DATA, never bounced afterwards (no backscatter); the text says why.
PROTECTION_REFUSED = Reply(550, "5.7.1", "")
SCAN_TEMPFAIL = Reply(
    451,
    "4.7.0",
    "Chua kiem tra duoc thu (chong thu rac, ma doc), hay thu lai / Cannot scan the message now, try later",
)
HELD_FOR_REVIEW = Reply(
    550,
    "5.7.1",
    "Thu bi giu lai de kiem tra, tai khoan tam khoa (R3.1) / Message held for review, account locked",
)


# What the pipeline decided, as the reply the client is given. The replies whose text is empty above
# carry the message's own words (the outcome's); the others keep their fixed text.
_FOR_REASON: dict[Reason, Reply] = {
    Reason.ATTACHMENTS_TOO_LARGE: ATTACHMENTS_TOO_LARGE,
    Reason.FORGED_DOMAIN: FORGED_DOMAIN,
    Reason.SENDER_UNVERIFIED: DMARC_TEMPERROR,
    Reason.AMBIGUOUS_AUTHOR: AMBIGUOUS_AUTHOR,
    Reason.SENDER_NOT_ALLOWED: SENDER_NOT_ALLOWED,
    Reason.SECRET: SECRET_REFUSED,
    Reason.NO_SUCH_MAILBOX: NO_SUCH_USER,
    Reason.PROTECTION: PROTECTION_REFUSED,
    Reason.SCAN_UNAVAILABLE: SCAN_TEMPFAIL,
    Reason.HELD_FOR_REVIEW: HELD_FOR_REVIEW,
    Reason.STORE_FAILED: TEMPORARY_FAILURE,
}
_OWN_WORDS = {
    Reason.ATTACHMENTS_TOO_LARGE,
    Reason.SECRET,
    Reason.NO_SUCH_MAILBOX,
    Reason.PROTECTION,
}


def for_outcome(outcome: Outcome) -> Reply:
    """The reply to DATA (RFC 5321 §4.1.1.4) for what the pipeline decided: 250 only when accepted."""
    if outcome.accepted or outcome.reason is None:
        return QUEUED
    reply = _FOR_REASON[outcome.reason]
    return reply.saying(outcome.vi, outcome.en) if outcome.reason in _OWN_WORDS else reply
