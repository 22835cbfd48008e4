"""Mail the system writes to people (request decisions, and warnings to come): plain text, Vietnamese
first then English, from the helpdesk address so a reply reaches people who can help, and marked
`Auto-Submitted: auto-generated` (RFC 3834) so no out-of-office answers it.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
from email.message import EmailMessage

HELPDESK = "hotro"
SIGNATURE = "Hộp Thư, Sở Khoa học và Công nghệ thành phố Cần Thơ"


def build_notice(*, recipient: str, subject: str, vi: str, en: str, now: dt.datetime, domain: str) -> bytes:
    notice = EmailMessage()
    notice["From"] = email.utils.formataddr((SIGNATURE, f"{HELPDESK}@{domain}"))
    notice["To"] = recipient
    notice["Subject"] = subject
    notice["Date"] = email.utils.format_datetime(now)
    notice["Message-ID"] = email.utils.make_msgid("thong-bao", domain=domain)
    notice["Auto-Submitted"] = "auto-generated"
    notice.set_content(f"{vi.strip()}\n\n---\n{en.strip()}\n\n-- \n{SIGNATURE}\n")
    return notice.as_bytes(policy=email.policy.SMTP)
