"""Every POP3 status line the server sends, as values from one catalogue that code and tests share.

Texts are Vietnamese then English, sent as UTF-8: POP3 is 8-bit clean in practice and clients show
`-ERR` texts to people. Response codes in brackets follow RFC 2449 §8 and RFC 3206, so that a client
can tell a wrong password ([AUTH]) from a mailbox already open elsewhere ([IN-USE]) or a passing
fault on our side ([SYS/TEMP]) without reading the text.
"""

from __future__ import annotations

from dataclasses import dataclass

from hopthu.errors import HopThuError


@dataclass(frozen=True, slots=True)
class Reply:
    ok: bool
    text: str
    code: str | None = None  # RFC 2449 §8 response code, e.g. "AUTH", "IN-USE", "SYS/TEMP"

    def __bytes__(self) -> bytes:
        """The status line on the wire (RFC 1939 §3), CR and LF in the text never reaching it."""
        status = "+OK" if self.ok else "-ERR"
        code = f" [{self.code}]" if self.code else ""
        text = self.text.replace("\r", " ").replace("\n", " ")
        return f"{status}{code}{' ' if text else ''}{text}\r\n".encode()

    def with_text(self, text: str) -> Reply:
        return Reply(self.ok, text, self.code)

    def explaining(self, error: HopThuError) -> Reply:
        """This reply with a refusal's own words, Vietnamese first."""
        return self.with_text(f"{error.vi} / {error.en}")


def ok(text: str) -> Reply:
    return Reply(True, text)


def err(text: str, code: str | None = None) -> Reply:
    return Reply(False, text, code)


GREETING = ok("Hộp Thư POP3 sẵn sàng / Hop Thu POP3 server ready")
CAPABILITIES = ok("Danh sách khả năng / Capability list follows")
MECHANISMS = ok("Các cơ chế SASL / SASL mechanisms follow")
SIGNED_OFF = ok("Tạm biệt / Signing off")
NOOP = ok("")
USER_ACCEPTED = ok("Mời nhập mật khẩu / Send the password")
BEGIN_TLS = ok("Bắt đầu TLS / Begin TLS negotiation")
DELETED = ok("Đã đánh dấu xóa / Message marked for deletion")
UNIQUE_IDS = ok("Mã duy nhất của thư / Unique-id listing follows")
TOP_FOLLOWS = ok("Phần đầu thư / Top of message follows")

UNKNOWN_COMMAND = err("Lệnh không hợp lệ / Unknown command")
WRONG_STATE = err("Lệnh không dùng được lúc này / Command not valid in this state")
TOO_MANY_ERRORS = err("Quá nhiều lệnh sai, đóng kết nối / Too many bad commands, closing")
LINE_TOO_LONG = err("Dòng lệnh quá dài, đóng kết nối / Line too long, closing")
LINE_TOO_LONG_ONCE = err(
    "Dòng lệnh quá dài (tối đa 255 byte) / Line too long (at most 255 octets, RFC 2449 §4)"
)
USE_STLS = err(
    "Hãy dùng STLS (mã hóa) trước khi đăng nhập / Use STLS before signing in (no plain-text passwords)"
)
ALREADY_TLS = err("Kết nối đã được mã hóa TLS / TLS is already active")
NO_TLS_HERE = err("Không hỗ trợ STLS ở cổng này / STLS is not available on this port")
PASS_WITHOUT_USER = err("Cần lệnh USER trước PASS / Send USER before PASS")
UNSUPPORTED_MECHANISM = err(
    "Cơ chế SASL không hỗ trợ, hãy dùng PLAIN / Unsupported SASL mechanism; use PLAIN"
)
AUTH_CANCELLED = err("Đã hủy đăng nhập / Authentication cancelled")
PROXY_AUTH_REFUSED = err(
    "Không được đăng nhập thay người khác / Signing in as another user is not allowed", "AUTH"
)
SIGN_IN_REFUSED = err("", "AUTH")  # RFC 3206 §4; text from the refusal (SignInRefused)
IN_USE = err(
    "Hộp thư đang được mở ở một phiên POP3 khác / The maildrop is open in another POP3 session", "IN-USE"
)
NO_INBOX = err("Không tìm thấy hộp thư đến / The inbox does not exist", "SYS/PERM")
NO_SUCH_MESSAGE = err("Không có thư này / No such message")
ALREADY_DELETED = err("Thư đã bị đánh dấu xóa / Message already deleted")
EXPUNGED = err("Thư đã bị xóa ở nơi khác / Message was removed meanwhile")
NOT_REMOVED = err(
    "Chưa xóa được các thư đã đánh dấu, hãy thử lại / Some deleted messages not removed, try again",
    "SYS/TEMP",
)
INTERNAL_ERROR = err("", "SYS/TEMP")  # text names the incident id (see `internal_error`)


def internal_error(incident: str) -> Reply:
    """RFC 3206 §5 SYS/TEMP: our fault, maybe passing; the id lets an operator find the log entry."""
    return INTERNAL_ERROR.with_text(
        f"Lỗi nội bộ (mã {incident}), hãy thử lại sau / Internal error (id {incident}), try again later"
    )


def stat(count: int, octets: int) -> Reply:
    return ok(f"{count} {octets}")  # RFC 1939 §5 STAT: exactly "nn mm"


def scan_line(number: int, octets: int) -> Reply:
    return ok(f"{number} {octets}")  # RFC 1939 §5 LIST msg: "+OK msg octets"


def unique_id_line(number: int, uid: str) -> Reply:
    return ok(f"{number} {uid}")  # RFC 1939 §7 UIDL msg


def message_follows(octets: int) -> Reply:
    return ok(f"{octets} octets")


def signed_off(remaining: int) -> Reply:
    return ok(f"Tạm biệt, còn {remaining} thư / Signing off, {remaining} messages left")


def signed_in(count: int, octets: int) -> Reply:
    return ok(
        f"Đã mở hộp thư: {count} thư ({octets} byte) / Maildrop ready: {count} messages ({octets} octets)"
    )


def listing(count: int, octets: int) -> Reply:
    return ok(f"{count} thư ({octets} byte) / {count} messages ({octets} octets)")


def reset(count: int, octets: int) -> Reply:
    return ok(f"Đã bỏ đánh dấu xóa: {count} thư / Deletion marks removed: {count} messages ({octets} octets)")
