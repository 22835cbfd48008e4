"""How pages name the access log's codes (R13.4): its protocols and results, in both languages; the
portal's access log and the person's recent activity on the settings page read the same names."""

from __future__ import annotations

RESULT_NAMES: dict[str, tuple[str, str]] = {
    "success": ("Thành công", "Signed in"),
    "bad_credentials": ("Sai địa chỉ hoặc mật khẩu", "Wrong address or password"),
    "throttled": ("Tạm dừng vì sai nhiều lần", "Paused after failures"),
    "locked": ("Hộp thư đang khóa", "Mailbox locked"),
    "revoked": ("Hộp thư đã thu hồi", "Mailbox revoked"),
    "deleted": ("Hộp thư đã xóa", "Mailbox deleted"),
    "must_change_password": ("Phải đổi mật khẩu", "Must change password"),
    "delegate": ("Mở hộp thư cơ quan được ủy quyền", "Opened a delegated agency mailbox"),
}
PROTOCOL_NAMES: dict[str, str] = {
    "imap": "IMAP",
    "pop3": "POP3",
    "submission": "SMTP",
    "web": "Webmail",
    "api": "API",
}
