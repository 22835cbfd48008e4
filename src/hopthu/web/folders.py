"""The person's folders as the webmail shows them: special folders first with their Vietnamese names,
then their own folders by name, each with its unread count (kept as counters, so no message is read
to draw the list)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request

from hopthu.directory.delegations import delegated_to
from hopthu.store.mailstore import MailboxInfo, MailStore
from hopthu.web.client import client_address
from hopthu.web.deps import services_of

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
    account_id: int  # whose mailbox: the person's own, or an agency's delegated to them (R8.2)

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.vi


def _view(box: MailboxInfo) -> FolderView:
    if box.name == "INBOX":
        vi, en = SPECIAL_NAMES[None]
    elif box.special_use is not None and box.special_use in SPECIAL_NAMES:
        vi, en = SPECIAL_NAMES[box.special_use]
    else:
        vi = en = box.name
    return FolderView(
        box.id, box.name, vi, en, box.special_use, box.message_count, box.unseen_count, box.account_id
    )


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


def special(views: list[FolderView], use: str | None, account_id: int | None = None) -> FolderView:
    """INBOX (`use` None) or the special-use folder, of `account_id` when given."""
    return next(
        v
        for v in views
        if (v.name == "INBOX" if use is None else v.special_use == use)
        and (account_id is None or v.account_id == account_id)
    )


@dataclass(frozen=True, slots=True)
class MailboxGroup:
    """One mailbox's folders in the sidebar: the person's own, or an agency's (R8.2)."""

    account_id: int
    vi: str
    en: str
    folders: list[FolderView]

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.vi


async def visible(services: Any, account_id: int) -> list[MailboxGroup]:
    """The person's own folders, then those of each agency mailbox delegated to them."""
    mail = services.store.mail
    groups = [MailboxGroup(account_id, "Hộp thư của tôi", "My mailbox", await folders(mail, account_id))]
    for box in await delegated_to(services.store.db, account_id):
        name = box.display_name
        groups.append(MailboxGroup(box.account_id, name, name, await folders(mail, box.account_id)))
    return groups


def flat(groups: list[MailboxGroup]) -> list[FolderView]:
    return [view for group in groups for view in group.folders]


async def reachable(services: Any, account_id: int, mailbox_id: int) -> FolderView:
    """A folder the person may use (their own or a delegated agency's), or 404."""
    return find(flat(await visible(services, account_id)), mailbox_id)


def note_opened(request: Request, person_id: int, folder: FolderView) -> None:
    """A folder of an agency mailbox opened by its delegate goes in the access log (R13.4), once an
    hour per delegate, mailbox and address (`AccessLog.delegate_opened`)."""
    if folder.account_id == person_id:
        return
    services = services_of(request)
    services.directory.ctx.access_log.delegate_opened(
        person_id,
        folder.account_id,
        protocol="web",
        source=client_address(request),
        client=request.headers.get("user-agent", ""),
    )
