"""Address fields as people type them in the webmail: split, each piece read strictly, the plain
addresses kept and the rest named back to the person.

Each piece is read by the strict reader of `mail.addresses` (the one that decides who sent a
message), so what the compose page accepts is what the pipeline reads. People separate addresses
with "," (RFC 5322 §3.4) or ";" (as Outlook taught them); both split, outside quotes, comments and
angle brackets.
"""

from __future__ import annotations

import re

from .addresses import AddressError, Mailbox, read_mailbox

# The longest address field read (500 addresses with names fit in about 40,000 characters); a
# longer one is refused whole before any parsing, so a pasted megabyte costs nothing.
MAX_TYPED_FIELD = 64 * 1024

Person = tuple[str, str]  # (display name, address)


def split_addresses(text: str) -> list[str]:
    """The pieces of an address field, split at commas and semicolons outside quotes, comments
    and <>. One pass, no backtracking."""
    pieces: list[str] = []
    start = 0
    quoted = angle = escaped = False
    depth = 0
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\" and (quoted or depth):
            escaped = True
        elif ch == '"' and not angle and not depth:
            quoted = not quoted
        elif quoted:
            continue
        elif ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        elif depth:
            continue
        elif ch == "<":
            angle = True
        elif ch == ">":
            angle = False
        elif ch in ",;" and not angle:
            pieces.append(text[start:i].strip())
            start = i + 1
    pieces.append(text[start:].strip())
    return [piece for piece in pieces if piece]


def plain_address(mailbox: Mailbox) -> bool:
    """An address as the webmail sends to: plain ASCII `local@domain.tld` (no SMTPUTF8, no quoted
    local part, no address literal), a host name of letter-digit-hyphen labels (RFC 5321 §4.1.2)."""
    address = mailbox.address
    if len(address) > 254 or not address.isascii() or len(mailbox.local) > 64:
        return False
    if mailbox.local.startswith('"'):
        return False
    labels = mailbox.domain.split(".")
    return len(labels) >= 2 and all(
        0 < len(label) <= 63
        and label[0].isalnum()
        and label[-1].isalnum()
        and all(ch.isalnum() or ch == "-" for ch in label)
        for label in labels
    )


def parse_addresses(text: str) -> tuple[list[Person], list[str]]:
    """(name, address) for every valid piece of an address field, and the pieces that are not.
    A field longer than `MAX_TYPED_FIELD` is one bad piece, not parsed."""
    if len(text) > MAX_TYPED_FIELD:
        return [], [text[:40] + "…"]
    found: list[Person] = []
    bad: list[str] = []
    for piece in split_addresses(text.replace("\r", " ").replace("\n", " ")):
        try:
            mailbox = read_mailbox(piece, limit=MAX_TYPED_FIELD)
        except AddressError:
            bad.append(piece)
            continue
        if plain_address(mailbox):
            found.append((_typed_name(piece, mailbox.name), mailbox.address))
        else:
            bad.append(piece)
    return found, bad


def _typed_name(piece: str, name: str) -> str:
    """The name as it was typed before `<address>`, when it holds a comment the reader left out:
    people write an agency in parentheses ("Nguyễn Văn Minh (Sở Nội vụ)", as the directory names
    them), and the name sent keeps it. The strict reader has already refused a comment that holds
    another address; a quoted name is read as it is."""
    typed = piece.rpartition("<")[0]
    if "(" not in typed or '"' in typed or "\\" in typed:
        return name
    return " ".join(typed.split())


# Characters after which the compose reader would read a bare name differently: separators,
# brackets, the group colon, quotes and escapes. Parentheses stay bare (see `_typed_name`).
_NEEDS_QUOTES = re.compile(r'[",;:<>@\[\]\\]')


def person_text(name: str, address: str) -> str:
    """`Name <address>` as the address fields show it, the name bare whenever the compose field
    reads it back unchanged and quoted only when it must be (a comma, a colon...)."""
    if not name:
        return address
    if _NEEDS_QUOTES.search(name) or "=?" in name or not _balanced(name):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{address}>"


def _balanced(name: str) -> bool:
    """Whether the name's parentheses pair up, unnested (a comment the reader reads as typed)."""
    depth = 0
    for ch in name:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if depth not in (0, 1):
            return False
    return depth == 0 and not name.startswith("(")


def people_text(people: list[Person]) -> str:
    return ", ".join(person_text(name, address) for name, address in people)
