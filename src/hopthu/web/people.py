"""Who a message is from and to, as one line of a message list: a list shows the sender of mail
received and the recipients of mail the person sent (Sent, Drafts, or their own mail filed anywhere),
since their own name in every row would tell them nothing."""

from __future__ import annotations

from typing import Any

from hopthu.mail.envelope import address_text, display_name

SHOWN_RECIPIENTS = 2  # names written out; the others are counted ("+3")


def _mailboxes(envelope: dict[str, Any], field: str) -> list[list[str | None]]:
    """The addresses of one field of a stored envelope, group markers left out."""
    return [address for address in envelope.get(field) or [] if address_text(address)]


def author(envelope: dict[str, Any]) -> str:
    """The first From address, lower case ("" when there is none): whether the person sent it."""
    found = _mailboxes(envelope, "from")
    return (address_text(found[0]) or "").lower() if found else ""


def recipients(envelope: dict[str, Any]) -> str:
    """ "Trần Thị Ngọc Ánh, Lê Văn Sơn +3": the first recipients (To, then Cc, then Bcc, which a
    copy in Sent keeps) by name, or by address when they have none; the rest counted."""
    everyone = [a for field in ("to", "cc", "bcc") for a in _mailboxes(envelope, field)]
    names = [" ".join((display_name(a) or "").split()) or address_text(a) or "" for a in everyone]
    shown = ", ".join(names[:SHOWN_RECIPIENTS])
    rest = len(names) - SHOWN_RECIPIENTS
    return f"{shown} +{rest}" if rest > 0 else shown
