"""The help centre (R9.4, R9.5: the operator guides and trains users): `/tro-giup` and one page per
topic, open to everyone, signed in or not, since the first questions come before the first sign-in.

The pages never restate a number by hand: the server's name, its ports and the rules (quotas,
passwords, locks and revocation) are read from the running settings and from `hopthu.policy`, so a
province that changes a setting gets help pages that say what its server does.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from hopthu.config import Settings
from hopthu.policy import lifecycle, passwords
from hopthu.web.auth import signed_in_or_nobody
from hopthu.web.deps import services_of
from hopthu.web.templating import page

router = APIRouter()
HELP = "/tro-giup"


@dataclass(frozen=True, slots=True)
class Topic:
    """One help page: its address under /tro-giup, its title in both languages and a one-line summary."""

    slug: str
    vi: str
    en: str
    summary_vi: str
    summary_en: str


TOPICS = (
    Topic(
        "doc-thu",
        "Đọc thư",
        "Reading mail",
        "Thư mục, đánh dấu đã đọc, gắn cờ, chuyển và xóa thư.",
        "Folders, read and unread, flags, moving and deleting mail.",
    ),
    Topic(
        "viet-thu",
        "Viết thư",
        "Writing mail",
        "Người nhận gợi ý từ danh bạ, tệp đính kèm, thư nháp, chữ ký.",
        "Recipients from the directory, attachments, drafts, signature.",
    ),
    Topic(
        "tim-kiem",
        "Tìm thư",
        "Searching mail",
        "Ô tìm kiếm tìm thấy gì và cách lọc theo người gửi, ngày, tệp.",
        "What the search box finds and how to filter by sender, date, files.",
    ),
    Topic(
        "danh-ba",
        "Danh bạ thành phố",
        "The city's address book",
        "Tìm cán bộ, cơ quan để viết thư; đồng bộ danh bạ vào điện thoại, Thunderbird.",
        "Finding staff and agencies to write to; the address book on phones and in Thunderbird.",
    ),
    Topic(
        "hop-thu-co-quan",
        "Hộp thư cơ quan",
        "Agency mailbox",
        "Dùng hộp thư chung của cơ quan được ủy quyền và gửi thư thay cơ quan.",
        "Using an agency mailbox delegated to you and sending as the agency.",
    ),
    Topic(
        "cai-dat-ung-dung",
        "Cài đặt Outlook, Thunderbird, điện thoại",
        "Setting up Outlook, Thunderbird, phones",
        "Tên máy chủ, cổng, bảo mật và mật khẩu ứng dụng để dùng thư trên máy tính và điện thoại.",
        "Server name, ports, security and app passwords for mail on computers and phones.",
    ),
    Topic(
        "lua-dao",
        "Nhận biết thư lừa đảo",
        "Recognising phishing",
        "Dấu hiệu của thư lừa đảo và cách báo cáo.",
        "The signs of a phishing message and how to report it.",
    ),
    Topic(
        "quy-dinh",
        "Quy định cần biết",
        "The rules in brief",
        "Địa chỉ thư, dung lượng, mật khẩu, tạm khóa và thu hồi hộp thư.",
        "Addresses, storage, passwords, locked and revoked mailboxes.",
    ),
    Topic(
        "phim-tat",
        "Phím tắt",
        "Keyboard shortcuts",
        "Đọc và xử lý thư nhanh bằng bàn phím.",
        "Reading and handling mail quickly with the keyboard.",
    ),
)
_BY_SLUG = {topic.slug: topic for topic in TOPICS}


@dataclass(frozen=True, slots=True)
class Listener:
    """One way a mail program reaches the server: what to type in its account settings."""

    protocol: str  # "IMAP", "SMTP", "POP3"
    port: int
    tls: bool  # True: SSL/TLS from the first byte; False: STARTTLS on the plain port


def listeners(settings: Settings) -> dict[str, list[Listener]]:
    """The ports a person may type, the TLS one first (the simplest to set up right). A port of -1 is
    a listener turned off and 0 one picked at random when the server starts (tests, development):
    neither is anything a person could type, so neither is offered."""
    pairs = {
        "IMAP": (settings.imap.tls_port, settings.imap.port),
        "SMTP": (settings.smtp.submissions_port, settings.smtp.submission_port),
        "POP3": (settings.pop3.tls_port, settings.pop3.port),
    }
    return {
        protocol: [
            Listener(protocol, port, tls) for port, tls in ((tls_port, True), (plain, False)) if port > 0
        ]
        for protocol, (tls_port, plain) in pairs.items()
    }


def rules(settings: Settings) -> dict[str, object]:
    """The numbers the rules page states, from the settings where there is one, else from the policy
    module that applies the rule."""
    policy = settings.policy
    return {
        "personal_quota": policy.personal_quota,
        "agency_quota": policy.agency_quota,
        "attachment_max": policy.attachment_max,
        "quota_warn": policy.quota_warn_percents,
        "naming_limit": policy.naming_automatic_limit,
        "password_length": passwords.MIN_LENGTH,
        "password_months": policy.password_max_age_months,
        "password_warning_days": passwords.WARNING_DAYS,
        "personal_word": passwords.PERSONAL_WORD,
        "signin_failures": policy.signin_failures,
        "signin_pause": round(policy.signin_pause_minutes),
        "inactive_months": lifecycle.INACTIVE_MONTHS,
        "revoke_warning_days": lifecycle.WARNING_DAYS,
        "retention_days": policy.retention_days,
        "user_idle": round(policy.session_idle_minutes),
        "public_idle": round(policy.session_public_idle_minutes),
        "admin_idle": round(policy.session_admin_idle_minutes),
        "hard_limit": settings.smtp.hard_limit_per_day,
        "app_passwords": policy.app_passwords_max,
    }


@router.get(HELP, response_class=HTMLResponse)
async def help_index(request: Request) -> HTMLResponse:
    """The list of topics."""
    who = await signed_in_or_nobody(request)
    return page(request, "help/index.html", who=who, topics=TOPICS, topic=None)


@router.get(HELP + "/{slug}", response_class=HTMLResponse)
async def help_topic(request: Request, slug: str) -> HTMLResponse:
    """One topic; its numbers come from the running settings (see the module's docstring)."""
    topic = _BY_SLUG.get(slug)
    if topic is None:
        raise HTTPException(404)
    who = await signed_in_or_nobody(request)
    settings = services_of(request).settings
    domain = settings.server.domain
    return page(
        request,
        f"help/{slug}.html",
        who=who,
        topics=TOPICS,
        topic=topic,
        hostname=settings.hostname,
        web_url=settings.server.web_url,
        listeners=listeners(settings),
        rules=rules(settings),
        address=who.account.address(domain) if who else f"nvminh@{domain}",
    )
