"""How pages name the access log's codes (R13.4): its protocols and results, in both languages; the
portal's access log and the person's recent activity on the settings page read the same names. And
the log as a .csv file, the same for the portal's export and a person's data archive (R13.6)."""

from __future__ import annotations

import csv
import io

from hopthu.directory.accesslog import AccessEvent
from hopthu.policy.dates import VIETNAM
from hopthu.web.exports import csv_row

RESULT_NAMES: dict[str, tuple[str, str]] = {
    "success": ("Thành công", "Signed in"),
    "bad_credentials": ("Sai địa chỉ hoặc mật khẩu", "Wrong address or password"),
    "throttled": ("Tạm dừng vì sai nhiều lần", "Paused after failures"),
    "locked": ("Hộp thư đang khóa", "Mailbox locked"),
    "revoked": ("Hộp thư đã thu hồi", "Mailbox revoked"),
    "deleted": ("Hộp thư đã xóa", "Mailbox deleted"),
    "must_change_password": ("Phải đổi mật khẩu", "Must change password"),
    "app_password_on_web": ("Dùng mật khẩu ứng dụng trên trang web", "App password used on the web"),
    "delegate": ("Mở hộp thư cơ quan được ủy quyền", "Opened a delegated agency mailbox"),
}
PROTOCOL_NAMES: dict[str, str] = {
    "imap": "IMAP",
    "pop3": "POP3",
    "submission": "SMTP",
    "web": "Webmail",
    "api": "API",
    "carddav": "CardDAV",
}

ACCESS_HEADINGS = (
    "so",
    "luc",
    "hop_thu",
    "dang_nhap_go",
    "giao_thuc",
    "nguon",
    "chuong_trinh",
    "ket_qua",
    "hop_thu_co_quan",
)


def access_csv(events: list[AccessEvent], domain: str) -> str:
    """The events as CSV with a header row, every cell made inert for a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(ACCESS_HEADINGS)
    for event in events:
        writer.writerow(  # a login or a client name is anyone's text: never a formula
            csv_row(
                [
                    event.id,
                    event.at.astimezone(VIETNAM).isoformat(timespec="seconds"),
                    f"{event.address}@{domain}" if event.address else "",
                    event.login,
                    event.protocol,
                    event.source,
                    event.client,
                    event.result,
                    f"{event.mailbox}@{domain}" if event.mailbox else "",
                ]
            )
        )
    return "\ufeff" + out.getvalue()  # the byte-order mark makes Excel read the file as UTF-8
