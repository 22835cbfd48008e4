"""How the server writes IMAP values and refusals: one place for quoting, names, flags and dates,
and the catalogue of status responses that code and tests share.

Status responses (RFC 9051 §7.1: OK, NO, BAD, BYE) are `Status` values, tagged or untagged when
written; the fixed ones are named here (`TOO_MANY_BAD`, `AUTOLOGOUT`...) and their response codes are
`Code` members, so a test says `Code.NONEXISTENT` rather than a string it hopes matches. Refusals are
exceptions carrying their code (RFC 5530) and text; the session catches them once, at the command
boundary, and writes `tag NO [CODE] text` or `tag BAD text`. Texts are ASCII, Vietnamese without
diacritics then English, like our SMTP replies: IMAP4rev1 response text is 7-bit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from hopthu.errors import HopThuError
from hopthu.imap.mutf7 import encode_mutf7
from hopthu.mail.imapview import nstring
from hopthu.policy.dates import VIETNAM
from hopthu.store.flags import flag_names
from hopthu.text import ascii_text


class Code(StrEnum):
    """The response codes the server sends in brackets (RFC 9051 §7.1, RFC 5530, RFC 4315 UIDPLUS,
    RFC 7162 CONDSTORE); those carrying data are followed by it ("APPENDUID 1 7")."""

    # Why a command was refused (RFC 5530 unless noted).
    ALREADYEXISTS = "ALREADYEXISTS"
    AUTHENTICATIONFAILED = "AUTHENTICATIONFAILED"
    AUTHORIZATIONFAILED = "AUTHORIZATIONFAILED"
    CANNOT = "CANNOT"
    EXPIRED = "EXPIRED"
    HASCHILDREN = "HASCHILDREN"  # RFC 9051 §7.1
    LIMIT = "LIMIT"
    NONEXISTENT = "NONEXISTENT"
    OVERQUOTA = "OVERQUOTA"
    PRIVACYREQUIRED = "PRIVACYREQUIRED"
    SERVERBUG = "SERVERBUG"
    TOOBIG = "TOOBIG"  # RFC 7888 §4, RFC 9051 §7.1
    TRYCREATE = "TRYCREATE"  # RFC 9051 §7.1
    UNAVAILABLE = "UNAVAILABLE"
    # What the client may want to know (RFC 9051 §7.1 unless noted).
    APPENDUID = "APPENDUID"  # RFC 4315 §3
    CAPABILITY = "CAPABILITY"
    CLOSED = "CLOSED"
    COPYUID = "COPYUID"  # RFC 4315 §3
    HIGHESTMODSEQ = "HIGHESTMODSEQ"  # RFC 7162 §3.1.2.1
    MODIFIED = "MODIFIED"  # RFC 7162 §3.1.3
    PERMANENTFLAGS = "PERMANENTFLAGS"
    READ_ONLY = "READ-ONLY"
    READ_WRITE = "READ-WRITE"
    UIDNEXT = "UIDNEXT"
    UIDVALIDITY = "UIDVALIDITY"
    UNSEEN = "UNSEEN"


@dataclass(frozen=True, slots=True)
class Status:
    """A status response (RFC 9051 §7.1): a condition, an optional response code, a text."""

    condition: str  # "OK", "NO", "BAD" or "BYE"
    text: str
    code: str | None = None  # a `Code`, or one with arguments ("CAPABILITY IMAP4rev1 ...")

    def line(self, tag: str = "*") -> bytes:
        """The response on the wire, tagged or (by default) untagged."""
        code = f"[{self.code}] " if self.code else ""
        return f"{tag} {self.condition} {code}{self.text}\r\n".encode("ascii", "replace")

    def __bytes__(self) -> bytes:
        return self.line()


def ok(text: str, code: str | None = None) -> Status:
    return Status("OK", text, code)


def bye(text: str, code: str | None = None) -> Status:
    return Status("BYE", text, code)


# Continuation requests (RFC 9051 §7.5): the server is ready for more of the command.
READY_FOR_LITERAL = b"+ Ready\r\n"
IDLING = b"+ idling\r\n"
SASL_CHALLENGE = b"+ \r\n"  # RFC 4616 PLAIN: an empty challenge

# Texts of tagged OK answers.
BEGIN_TLS = "Bat dau TLS / Begin TLS negotiation now"
SIGNED_IN = "Da dang nhap / Signed in"
IDLE_TERMINATED = "IDLE ket thuc / terminated"

# Untagged BYE (RFC 9051 §7.1.5): why the server is closing the connection.
LOGGING_OUT = bye("Tam biet / Logging out")
AUTOLOGOUT = bye("Het thoi gian cho / Autologout; idle for too long")
PRELOGIN_EXPIRED = bye("Het thoi gian dang nhap / Sign-in took too long, closing")
TOO_BIG_BEFORE_LOGIN = bye(
    "Lenh qua lon truoc khi dang nhap / Command too large before login, closing", Code.LIMIT
)
TOO_MANY_BAD = bye("Qua nhieu lenh sai / Too many bad commands")
TOO_MANY_FAILED_LOGINS = bye("Dang nhap sai qua nhieu lan / Too many failed sign-ins")
ACCOUNT_UNAVAILABLE = bye("Hop thu da bi khoa hoac thu hoi / Mailbox no longer available", Code.UNAVAILABLE)
APP_PASSWORD_REVOKED = bye(
    "Mat khau ung dung da bi thu hoi / The app password was revoked", Code.AUTHENTICATIONFAILED
)
ACCESS_WITHDRAWN = bye("Quyen dung hop thu da bi rut / Access was withdrawn", Code.UNAVAILABLE)
SHUTTING_DOWN = bye("May chu dang dung / Server shutting down")
MAILBOX_LOST = bye("Mat dau thay doi cua thu muc / Lost track of the mailbox's changes", Code.UNAVAILABLE)


def greeting(capabilities: str) -> Status:
    """RFC 9051 §7.1.1 with the capabilities in it, saving the client a CAPABILITY round trip."""
    return ok("Hop Thu IMAP san sang / ready", f"{Code.CAPABILITY} {capabilities}")


def completed(command: str) -> str:
    """The text of a tagged OK for a command that has nothing else to say."""
    return f"{command} hoan tat / completed"


def syntax_error(text: str) -> Status:
    return Status("BAD", f"Cu phap sai / {text}")


def too_big(text: str) -> Status:
    """RFC 7888 §4 / RFC 4469: a command or literal over the server's limits."""
    return Status("NO", f"Qua lon / {text}", Code.TOOBIG)


def server_bug(incident: str) -> Status:
    """Our fault; the id lets an operator find the logged traceback (RFC 5530 SERVERBUG)."""
    return Status("NO", f"Loi may chu, ma {incident} / Server error, id {incident}", Code.SERVERBUG)


def connection_refused(vi: str, en: str) -> Status:
    """Over the connection limits, before any session (RFC 9051 §7.1.5)."""
    return bye(f"{vi} / {en}", Code.UNAVAILABLE)


# --- data responses (RFC 9051 §7.2-§7.5): untagged lines carrying data -----------------------------


def literal(data: bytes, *, binary: bool = False) -> bytes:
    """RFC 9051 §4.3 literal; RFC 3516 §4.3 literal8 ("~{n}") when decoded (`binary`) data holds NUL."""
    marker = b"~" if binary and b"\0" in data else b""
    return marker + b"{%d}\r\n" % len(data) + data


def fetch(seq: int, items: Iterable[bytes]) -> bytes:
    """RFC 9051 §7.5.2: `* seq FETCH (item item ...)`, each item already written ("UID 7")."""
    return b"* %d FETCH (%s)\r\n" % (seq, b" ".join(items))


def fetch_until_literal(seq: int, items: Iterable[bytes], label: bytes, size: int) -> bytes:
    """A FETCH response up to the announcement of its last item's literal (`label {size}`), for a
    message streamed from the blob store: its `size` octets and then `)\r\n` follow."""
    before = b"".join(item + b" " for item in items)
    return b"* %d FETCH (%s%s {%d}\r\n" % (seq, before, label, size)


def exists(count: int) -> bytes:
    """RFC 9051 §7.4.1: the number of messages in the mailbox."""
    return b"* %d EXISTS\r\n" % count


def expunge(seq: int) -> bytes:
    """RFC 9051 §7.5.1: the message with this sequence number is gone; those after it move down."""
    return b"* %d EXPUNGE\r\n" % seq


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class ImapRefusal(Exception):
    """A command refused: `kind` is "NO" (the client's or a passing fault) or "BAD" (syntax, state)."""

    def __init__(self, vi: str, en: str, code: str | None = None, kind: str = "NO") -> None:
        super().__init__(en)
        self.kind = kind
        self.code = code
        self.text = f"{ascii_text(vi)} / {en}"

    @classmethod
    def explaining(cls, error: HopThuError, code: str | None = None) -> ImapRefusal:
        return cls(error.vi, ascii_text(error.en), code)

    @property
    def status(self) -> Status:
        return Status(self.kind, self.text, self.code)

    def line(self, tag: str) -> bytes:
        return self.status.line(tag)


def bad(vi: str, en: str) -> ImapRefusal:
    return ImapRefusal(vi, en, kind="BAD")


def astring(text: str) -> bytes:
    """A string argument: quoted when it can be, a literal otherwise (UTF-8 bytes)."""
    return nstring(text.encode("utf-8"))


def mailbox_name(name: str, utf8: bool) -> bytes:
    """A mailbox name as this client reads it: UTF-8 (IMAP4rev2) or modified UTF-7 (RFC 3501 §5.1.3)."""
    return astring(name if utf8 else encode_mutf7(name))


def flag_list(bits: int, keywords: str | None) -> bytes:
    return b"(" + " ".join(flag_names(bits, keywords)).encode("ascii", "replace") + b")"


def date_time(moment: dt.datetime) -> bytes:
    """RFC 9051 date-time, e.g. "02-Mar-2026 08:30:00 +0700", in Vietnam's time."""
    local = moment.astimezone(VIETNAM)
    return (
        f'"{local.day:02d}-{_MONTHS[local.month - 1]}-{local.year:04d} '
        f'{local.hour:02d}:{local.minute:02d}:{local.second:02d} +0700"'
    ).encode("ascii")


def sequence_set(numbers: list[int]) -> bytes:
    """Ascending numbers as a compact sequence set ("1:3,7")."""
    parts: list[str] = []
    start = previous = None
    for number in numbers:
        if previous is not None and number == previous + 1:
            previous = number
            continue
        if start is not None:
            parts.append(f"{start}" if start == previous else f"{start}:{previous}")
        start = previous = number
    if start is not None:
        parts.append(f"{start}" if start == previous else f"{start}:{previous}")
    return ",".join(parts).encode("ascii")
