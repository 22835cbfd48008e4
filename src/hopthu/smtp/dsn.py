"""Delivery status notifications: the bounce and the delay notice the outbound queue sends back.

A notice is a `multipart/report; report-type=delivery-status` (RFC 6522 §3) of three parts:

1. a plain text for the person who sent the mail, Vietnamese then English, saying in simple words
   what happened, to which recipients, and what to do;
2. `message/delivery-status` (RFC 3464 §2), the same facts for programs: one per-message block and one
   block per recipient with its action (`failed` or `delayed`), RFC 3463 status code and the remote
   server's own reply;
3. `text/rfc822-headers` (RFC 6522 §4): the header of the message it is about, so the sender (and the
   helpdesk) can tell which message it was.

Pure code: values in, message bytes out (CRLF, 7-bit except for 8-bit original headers).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import quopri
import re
import secrets
from collections.abc import Sequence
from email.header import Header
from typing import NamedTuple

from hopthu.mail import canonical, parse
from hopthu.policy.dates import VIETNAM

# Viet Nam keeps no daylight saving time: the city's clock is UTC+07:00 all year.
_RULE = "-" * 70


class DsnRecipient(NamedTuple):
    """One recipient the notice reports on (RFC 3464 §2.3)."""

    address: str
    status: str  # RFC 3463 enhanced status code, e.g. "5.1.1"
    diagnostic: str  # the remote server's reply ("550 5.1.1 No such user"), or our own words
    action: str  # "failed" | "delayed" (RFC 3464 §2.3.3)
    remote_mta: str | None = None  # the server that replied, when `diagnostic` is its SMTP reply


# What a status code means, in words for people (RFC 3463 §3: "subject.detail", then "subject").
_MEANINGS: dict[str, tuple[str, str]] = {
    "1.1": ("địa chỉ người nhận không tồn tại", "the recipient's address does not exist"),
    "1.2": ("tên miền của người nhận không có máy chủ thư", "the recipient's domain has no mail server"),
    "1.10": ("tên miền của người nhận không nhận thư điện tử", "the recipient's domain accepts no e-mail"),
    "2.1": ("hộp thư người nhận đang bị khóa", "the recipient's mailbox is disabled"),
    "2.2": ("hộp thư người nhận đã đầy", "the recipient's mailbox is full"),
    "2.3": ("thư quá lớn so với giới hạn bên nhận", "the message is larger than the recipient allows"),
    "3.4": ("thư quá lớn so với giới hạn bên nhận", "the message is larger than the recipient allows"),
    "4.3": (
        "không tra cứu được máy chủ thư của người nhận",
        "the recipient's mail server could not be found",
    ),
    "6.7": (
        "máy chủ bên nhận không nhận địa chỉ có chữ có dấu",
        "the receiving server does not accept addresses with accented letters",
    ),
    "1": ("địa chỉ người nhận có vấn đề", "there is a problem with the recipient's address"),
    "2": ("hộp thư người nhận không nhận được thư", "the recipient's mailbox cannot take the message"),
    "3": ("máy chủ thư bên nhận đang gặp sự cố", "the receiving mail system has a problem"),
    "4": ("không kết nối được máy chủ thư bên nhận", "the receiving mail server could not be reached"),
    "6": ("máy chủ bên nhận không nhận nội dung thư này", "the receiving server refused the content"),
    "7": (
        "máy chủ bên nhận từ chối thư vì lý do an ninh hoặc chống thư rác",
        "the receiving server refused the message for security or anti-spam reasons",
    ),
}
_UNKNOWN = ("máy chủ bên nhận không nhận thư", "the receiving server did not accept the message")
_GAVE_UP = ("đã hết thời gian gửi lại", "the time allowed for retrying has run out")


def meaning(status: str) -> tuple[str, str]:
    """(Vietnamese, English) words for an RFC 3463 status code, most specific first."""
    _, _, rest = status.partition(".")
    subject = rest.partition(".")[0]
    return _MEANINGS.get(rest) or _MEANINGS.get(subject) or _UNKNOWN


def build_dsn(
    *,
    original_headers: bytes,
    sender: str,
    recipients: Sequence[DsnRecipient],
    reporting_mta: str,
    now: dt.datetime,
    message_id_domain: str,
    arrival_date: dt.datetime | None = None,
    retry_until: dt.datetime | None = None,
) -> bytes:
    """A complete notice to `sender` about `recipients` of the message whose header is given.

    `retry_until` is when a delayed message will be given up (RFC 3464 §2.3.9 Will-Retry-Until);
    `arrival_date` when we accepted it (§2.2.5). Both appear in the text for people too.
    """
    if not recipients:
        raise ValueError("a delivery status notification needs at least one recipient")
    headers = original_headers.rstrip(b"\r\n") + b"\r\n"
    subject = parse(canonical(headers + b"\r\n")).subject
    failed = any(r.action == "failed" for r in recipients)
    boundary = f"=_hopthu_{secrets.token_hex(12)}"
    title = (
        "Thư không gửi được / Undelivered mail"
        if failed
        else "Thư chưa gửi được, đang gửi lại / Delivery delayed, still trying"
    )
    head = [
        "From: "
        + email.utils.formataddr(
            ("Hệ thống thư điện tử / Mail system", f"MAILER-DAEMON@{message_id_domain}"), "utf-8"
        ),
        f"To: <{sender}>",
        "Subject: " + Header(title, "utf-8").encode(linesep="\r\n"),
        f"Date: {email.utils.format_datetime(now.astimezone(VIETNAM))}",
        f"Message-ID: <dsn.{secrets.token_hex(12)}@{message_id_domain}>",
        "Auto-Submitted: auto-replied",  # RFC 3834 §5: no vacation reply, no bounce of a bounce
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"',
    ]
    human = _human_text(
        subject, recipients, arrival_date=arrival_date, retry_until=retry_until, helpdesk=message_id_domain
    )
    status = _status_fields(recipients, reporting_mta, now, arrival_date, retry_until)
    original_cte = "7bit" if headers.isascii() else "8bit"
    return b"".join(
        [
            _lines(head),
            b"\r\n",
            b"This is a delivery status notification (RFC 3464).\r\n",
            _part(
                boundary,
                ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: quoted-printable"],
                _quoted_printable(human),
            ),
            _part(boundary, ["Content-Type: message/delivery-status"], status),
            _part(
                boundary,
                ["Content-Type: text/rfc822-headers", f"Content-Transfer-Encoding: {original_cte}"],
                headers,
            ),
            f"--{boundary}--\r\n".encode(),
        ]
    )


def _human_text(
    subject: str,
    recipients: Sequence[DsnRecipient],
    *,
    arrival_date: dt.datetime | None,
    retry_until: dt.datetime | None,
    helpdesk: str,
) -> str:
    """The part people read: Vietnamese first, then English, then the servers' own words."""
    failed = [r for r in recipients if r.action == "failed"]
    delayed = [r for r in recipients if r.action != "failed"]
    which_vi = f'Thư "{subject}"' if subject else "Thư"
    which_en = f'Your message "{subject}"' if subject else "Your message"
    if arrival_date is not None:
        which_vi += f" gửi lúc {_when_vi(arrival_date)}"
        which_en += f" sent at {_when_en(arrival_date)}"
    vi: list[str] = []
    en: list[str] = []
    if failed:
        vi += [
            "THƯ KHÔNG GỬI ĐƯỢC",
            "",
            f"{which_vi} không đến được người nhận dưới đây. Hệ thống đã ngừng gửi thư này.",
            "",
            *_listing(failed, 0),
            "",
            "Việc cần làm: kiểm tra lại địa chỉ người nhận (gõ sai là nguyên nhân thường gặp), sửa rồi "
            "gửi lại thư. Nếu địa chỉ đúng, hãy liên hệ người nhận bằng cách khác, hoặc chuyển tiếp "
            f"thông báo này đến hotro@{helpdesk} để được hỗ trợ.",
        ]
        en += [
            "UNDELIVERED MAIL",
            "",
            f"{which_en} could not be delivered to the recipients below. The system has stopped trying.",
            "",
            *_listing(failed, 1),
            "",
            "What to do: check the recipient's address (a typing mistake is the usual cause), correct "
            "it and send the message again. If the address is right, reach the recipient another way, "
            f"or forward this notice to hotro@{helpdesk} for help.",
        ]
    if delayed:
        until_vi = f"đến {_when_vi(retry_until)}" if retry_until else "trong một thời gian nữa"
        until_en = f"until {_when_en(retry_until)}" if retry_until else "for a while longer"
        vi += [
            *([""] if vi else []),
            "THƯ CHƯA GỬI ĐƯỢC, HỆ THỐNG ĐANG GỬI LẠI",
            "",
            f"{which_vi} chưa đến được người nhận dưới đây.",
            "",
            *_listing(delayed, 0),
            "",
            f"Không cần làm gì: hệ thống tự động gửi lại {until_vi}; không cần gửi lại thư. Nếu đến lúc "
            "đó vẫn không gửi được, sẽ có một thông báo khác.",
        ]
        en += [
            *([""] if en else []),
            "DELIVERY DELAYED, STILL TRYING",
            "",
            f"{which_en} has not reached the recipients below yet.",
            "",
            *_listing(delayed, 1),
            "",
            f"Nothing to do: the system keeps trying {until_en}; do not send the message again. If it "
            "still cannot be delivered by then, another notice will follow.",
        ]
    details = ["Chi tiết kỹ thuật / Technical details:"] + [
        f"  {r.address}: {r.status} " + (f"{r.remote_mta}: {r.diagnostic}" if r.remote_mta else r.diagnostic)
        for r in recipients
    ]
    return "\n".join([*vi, "", _RULE, *en, "", _RULE, *details, ""])


def _listing(recipients: Sequence[DsnRecipient], language: int) -> list[str]:
    lines = []
    for r in recipients:
        words = meaning(r.status)[language]
        if r.action == "failed" and r.status.startswith("4."):
            words += f"; {_GAVE_UP[language]}"
        code = "mã" if language == 0 else "code"
        lines.append(f"  - {r.address}: {words} ({code} {r.status}).")
    return lines


def _when_vi(moment: dt.datetime) -> str:
    return moment.astimezone(VIETNAM).strftime("%H:%M ngày %d/%m/%Y (giờ Việt Nam)")


def _when_en(moment: dt.datetime) -> str:
    return moment.astimezone(VIETNAM).strftime("%H:%M on %d/%m/%Y (Viet Nam time)")


def _status_fields(
    recipients: Sequence[DsnRecipient],
    reporting_mta: str,
    now: dt.datetime,
    arrival_date: dt.datetime | None,
    retry_until: dt.datetime | None,
) -> bytes:
    """The `message/delivery-status` body: per-message fields, then one block per recipient."""
    blocks = [[f"Reporting-MTA: dns; {reporting_mta}"]]  # RFC 3464 §2.2.2
    if arrival_date is not None:
        blocks[0].append(f"Arrival-Date: {email.utils.format_datetime(arrival_date)}")  # §2.2.5
    for r in recipients:
        block = [
            f"Final-Recipient: {_address_field(r.address)}",  # §2.3.2
            f"Action: {r.action}",  # §2.3.3
            f"Status: {r.status}",  # §2.3.4
        ]
        if r.remote_mta:
            block.append(f"Remote-MTA: dns; {r.remote_mta}")  # §2.3.5
            block.append(f"Diagnostic-Code: smtp; {_ascii_line(r.diagnostic)}")  # §2.3.6
        else:
            block.append(f"X-HopThu-Diagnostic: {_ascii_line(r.diagnostic)}")  # §2.4 extension field
        block.append(f"Last-Attempt-Date: {email.utils.format_datetime(now)}")  # §2.3.7
        if r.action == "delayed" and retry_until is not None:
            block.append(f"Will-Retry-Until: {email.utils.format_datetime(retry_until)}")  # §2.3.9
        blocks.append(block)
    return b"\r\n".join(_lines(block) for block in blocks)


def _address_field(address: str) -> str:
    """`rfc822; addr`, or RFC 6533 §3 `utf-8; addr` with non-ASCII as \\x{HEX} (utf-8-addr-xtext)."""
    if address.isascii():
        return f"rfc822; {address}"
    return "utf-8; " + "".join(
        c if "!" <= c <= "~" and c not in "+=\\" else f"\\x{{{ord(c):X}}}" for c in address
    )


def _ascii_line(text: str) -> str:
    """A reply or explanation on one US-ASCII line, as RFC 3464 fields require."""
    return re.sub(r"\s+", " ", text).strip().encode("ascii", "replace").decode("ascii")


def _lines(lines: Sequence[str]) -> bytes:
    return "".join(f"{line}\r\n" for line in lines).encode("ascii")


def _part(boundary: str, headers: Sequence[str], body: bytes) -> bytes:
    """One body part; the CRLF after `body` belongs to the next delimiter (RFC 2046 §5.1.1)."""
    return f"--{boundary}\r\n".encode() + _lines(headers) + b"\r\n" + body + b"\r\n"


def _quoted_printable(text: str) -> bytes:
    """UTF-8 text as quoted-printable with CRLF line ends (RFC 2045 §6.7): 7-bit, readable."""
    encoded = quopri.encodestring(text.encode("utf-8"))
    return encoded.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
