"""What became of one message the pipeline was given, said in the domain's terms.

The pipeline decides; each channel renders the decision in its own way: SMTP as a reply from the
catalogue (`smtp.replies.for_outcome`, 7-bit, wire behaviour fixed by RFC 5321), the webmail as the
Vietnamese and English words themselves, with their diacritics, and the system's own senders (jobs,
the helpdesk, the quarantine) by asking only whether it was accepted. No caller reads an SMTP code to
learn what happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from hopthu.errors import HopThuError
from hopthu.store.types import Delivered


class Kind(Enum):
    ACCEPTED = "accepted"  # stored and queued durably (RFC 5321 §4.1.1.4: only then the 250)
    REFUSED = "refused"  # for good: the sender must change something
    HELD = "held"  # kept for an operator (R3.1), not delivered; the sender is told it is refused
    TEMPFAIL = "tempfail"  # a passing fault: the sender may try again as it was


class Reason(Enum):
    """Why a message was not accepted, one per refusal the regulation or the protocol names."""

    ATTACHMENTS_TOO_LARGE = "too_large"  # R5.1
    FORGED_DOMAIN = "forged"  # R3.2, DMARC fails for one of our domains
    SENDER_UNVERIFIED = "sender_unverified"  # R3.2 could not be decided: DNS failed
    AMBIGUOUS_AUTHOR = "ambiguous_author"  # R3.2, From/Sender/Reply-To without one reading
    SENDER_NOT_ALLOWED = "sender_not_allowed"  # R3.2, R8.2, R8.3
    SECRET = "secret"  # R8.1
    NO_SUCH_MAILBOX = "no_mailbox"  # an address at our domains that routes nowhere
    PROTECTION = "protection"  # R13.2: spam, malware, a dangerous file, a block list
    SCAN_UNAVAILABLE = "scan_unavailable"  # R13.2, the engines did not answer
    HELD_FOR_REVIEW = "held_for_review"  # R3.1, outbound spam
    STORE_FAILED = "store_failed"  # the mail store could not commit


# The words of the refusals whose wording does not depend on the message.
_WORDS: dict[Reason, tuple[str, str]] = {
    Reason.FORGED_DOMAIN: (
        "Thư giả mạo tên miền của chúng tôi (DMARC)",
        "Message forges our domain, rejected by DMARC",
    ),
    Reason.SENDER_UNVERIFIED: (
        "Chưa kiểm tra được nguồn gốc thư (DNS), hãy thử lại",
        "Cannot verify the sender now, try later",
    ),
    Reason.AMBIGUOUS_AUTHOR: (
        "Địa chỉ người gửi (From, Sender, Reply-To) không rõ ràng hoặc sai cú pháp",
        "The sender's address (From, Sender, Reply-To) is ambiguous or invalid (R3.2)",
    ),
    Reason.SENDER_NOT_ALLOWED: (
        "Bạn không được gửi thư với địa chỉ này (R3.2).",
        "You may not send as this address (R3.2).",
    ),
    Reason.SCAN_UNAVAILABLE: (
        "Chưa kiểm tra được thư (chống thư rác, mã độc), hãy thử lại",
        "Cannot scan the message now, try later",
    ),
    Reason.HELD_FOR_REVIEW: (
        "Thư bị giữ lại để kiểm tra, tài khoản tạm khóa (R3.1)",
        "Message held for review, account locked",
    ),
    Reason.STORE_FAILED: ("Lỗi tạm thời, hãy thử lại", "Temporary failure, try again"),
}


@dataclass(frozen=True, slots=True)
class Outcome:
    """Accepted (with what was delivered), or not, with the reason and its words."""

    kind: Kind
    reason: Reason | None = None
    vi: str = ""
    en: str = ""
    delivered: tuple[Delivered, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.kind is Kind.ACCEPTED

    @property
    def words(self) -> tuple[str, str]:
        """(Vietnamese, English), as a page shows them."""
        return self.vi, self.en


def accepted(delivered: list[Delivered] | tuple[Delivered, ...] = ()) -> Outcome:
    return Outcome(Kind.ACCEPTED, delivered=tuple(delivered))


def refused(reason: Reason, words: tuple[str, str] | None = None) -> Outcome:
    """A refusal for good, in the reason's own words unless the message gave it its own."""
    return _not_accepted(Kind.REFUSED, reason, words)


def refused_by(reason: Reason, error: HopThuError) -> Outcome:
    """A refusal a rule explained (`policy.quota`, `policy.secrecy`)."""
    return refused(reason, (error.vi, error.en))


def tempfail(reason: Reason) -> Outcome:
    return _not_accepted(Kind.TEMPFAIL, reason, None)


def held(*, kept: bool) -> Outcome:
    """Held for review: kept for an operator, or refused with the same words when no quarantine
    is wired (the sender is told the same either way)."""
    return _not_accepted(Kind.HELD if kept else Kind.REFUSED, Reason.HELD_FOR_REVIEW, None)


def _not_accepted(kind: Kind, reason: Reason, words: tuple[str, str] | None) -> Outcome:
    vi, en = words if words is not None else _WORDS[reason]
    return Outcome(kind, reason, vi, en)
