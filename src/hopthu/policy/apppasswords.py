"""App passwords (R3.2, R3.3, R11.4): what a person may name them, how many they may hold, and which
sign-ins they open.

A person makes one per program or device (Thunderbird at the office, the phone's mail app), so the
main password stays in the browser and a lost phone is cut off by revoking its own password, not by
changing the one every other device uses. They open programs only (IMAP, POP3, SMTP
submission, and the city's address book over CardDAV, which the same phone or Thunderbird reads with
the same account), never the webmail: the web is where they are made and revoked, so a password copied
out of a phone's settings must not reach the page that makes more of them.

Every check of the account that follows a right password follows a right app password too: a
locked, revoked or deleted mailbox (R6) and one whose password must be changed (R5.2) refuse them
as they refuse the main password. A change of the main password, by its owner or by a reset
(R3.3), revokes every app password, as the large providers do: a person changing their password
because they fear it leaked expects every door to close, and nothing tells that change from a
routine one (R5.2's three months). So an app password lives at most one password period.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from hopthu.errors import Conflict, HopThuError

NAME_MAX: Final = 60
"""The longest name, in characters ("Thunderbird máy cơ quan", "iPhone của Minh")."""
DEFAULT_LIMIT: Final = 20
"""App passwords one person may hold at once by default (`policy.app_passwords_max`)."""
PROTOCOLS: Final = frozenset({"imap", "pop3", "submission", "carddav"})
"""The sign-ins an app password opens (the access log's protocol names)."""


def opens(protocol: str) -> bool:
    """Whether an app password signs in on `protocol` (never "web", never "api")."""
    return protocol in PROTOCOLS


def check_name(name: str, held: Iterable[str], *, limit: int) -> str:
    """The name as stored (white space runs made one space), or HopThuError saying what is wrong:
    empty, too long, already the name of one of the person's app passwords (without case), or the
    person already holding `limit` of them."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise HopThuError(
            "Hãy đặt tên cho mật khẩu ứng dụng (ví dụ: Thunderbird máy cơ quan)",
            "Name the app password (for example: Thunderbird at the office)",
        )
    if len(cleaned) > NAME_MAX:
        raise HopThuError(f"Tên dài quá {NAME_MAX} ký tự", f"The name is longer than {NAME_MAX} characters")
    names = [n.casefold() for n in held]
    if cleaned.casefold() in names:
        raise Conflict(
            f"Đã có mật khẩu ứng dụng tên “{cleaned}”; hãy chọn tên khác",
            f"There is already an app password named “{cleaned}”; choose another name",
        )
    if len(names) >= limit:
        raise Conflict(
            f"Đã có {limit} mật khẩu ứng dụng, mức tối đa; hãy thu hồi một mật khẩu không còn dùng",
            f"You already have {limit} app passwords, the most allowed; revoke one you no longer use",
        )
    return cleaned
