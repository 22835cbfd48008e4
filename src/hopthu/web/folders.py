"""The person's folders as the webmail shows them: special folders first with their Vietnamese names,
then their own folders by name, each with its unread count (kept as counters, so no message is read
to draw the list)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException

from hopthu.store.mailstore import MailboxInfo, MailStore

# (Vietnamese, English) for the folders every account has (RFC 6154 special use, and INBOX).
SPECIAL_NAMES: dict[str | None, tuple[str, str]] = {
    None: ("Hộp thư đến", "Inbox"),
    "\\Drafts": ("Thư nháp", "Drafts"),
    "\\Sent": ("Đã gửi", "Sent"),
    "\\Archive": ("Lưu trữ", "Archive"),
    "\\Junk": ("Thư rác", "Junk"),
    "\\Trash": ("Thùng rác", "Trash"),
}
_ORDER = ["INBOX", "\\Drafts", "\\Sent", "\\Archive", "\\Junk", "\\Trash"]


@dataclass(frozen=True, slots=True)
class FolderView:
    id: int
    name: str  # as stored ("INBOX", "Dự án/2026")
    vi: str
    en: str
    special_use: str | None
    messages: int
    unread: int

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.vi


def _view(box: MailboxInfo) -> FolderView:
    if box.name == "INBOX":
        vi, en = SPECIAL_NAMES[None]
    elif box.special_use in SPECIAL_NAMES:
        vi, en = SPECIAL_NAMES[box.special_use]
    else:
        vi = en = box.name
    return FolderView(box.id, box.name, vi, en, box.special_use, box.message_count, box.unseen_count)


def _rank(view: FolderView) -> tuple[int, str]:
    key = "INBOX" if view.name == "INBOX" else view.special_use
    return (_ORDER.index(key), "") if key in _ORDER else (len(_ORDER), view.name.casefold())


async def folders(mail: MailStore, account_id: int) -> list[FolderView]:
    return sorted((_view(box) for box in await mail.mailboxes(account_id)), key=_rank)


def find(views: list[FolderView], mailbox_id: int) -> FolderView:
    """One of the person's folders, or 404: a folder of someone else is never shown."""
    for view in views:
        if view.id == mailbox_id:
            return view
    raise HTTPException(404)


def special(views: list[FolderView], use: str | None) -> FolderView:
    return next(v for v in views if (v.name == "INBOX" if use is None else v.special_use == use))
