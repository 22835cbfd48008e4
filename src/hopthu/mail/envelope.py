"""The IMAP ENVELOPE of a message (RFC 3501 §7.4.2), kept as a JSON value beside the message.

Layout (every string is a raw header value carried one character per octet, i.e. latin-1, so
8-bit headers reach IMAP clients exactly as received and the value stays valid JSON text):

    {"date": str|None, "subject": str|None,
     "from": [address, ...]|None, "sender": ..., "reply_to": ..., "to": ..., "cc": ..., "bcc": ...,
     "in_reply_to": str|None, "message_id": str|None,
     "subject_text": str}            # decoded subject for people, only when it differs from raw

    address = [name, route, mailbox, host]          # raw, each str or None
            | [name, route, mailbox, host, display] # display: the name decoded (RFC 2047)

Groups follow RFC 3501: `[None, None, "group name", None]` opens one, four Nones close it.
Missing Sender and Reply-To stay None here; the IMAP rendering substitutes From (RFC 3501 §7.4.2)
so the stored value says what the message really carries.
"""

from __future__ import annotations

from typing import Any

from hopthu.text import fold

from .headers import decode_words, to_text
from .lenient import MAX_ADDRESSES, Address, parse_addresses
from .rfc822 import NUL_REPLACEMENT

Envelope = dict[str, Any]

_STRING_FIELDS = {
    b"date": "date",
    b"subject": "subject",
    b"in-reply-to": "in_reply_to",
    b"message-id": "message_id",
}
_ADDRESS_FIELDS = {
    b"from": "from",
    b"sender": "sender",
    b"reply-to": "reply_to",
    b"to": "to",
    b"cc": "cc",
    b"bcc": "bcc",
}
FIELDS = ("date", "subject", "from", "sender", "reply_to", "to", "cc", "bcc", "in_reply_to", "message_id")


def raw(value: bytes) -> str:
    """Wire octets as a JSON-safe string, one character per octet."""
    return value.decode("latin-1")


def octets(value: str) -> bytes:
    """The inverse of `raw`."""
    return value.encode("latin-1")


def header_string(value: bytes) -> bytes:
    """A header value as IMAP carries it: NUL octets are not allowed, they become U+FFFD."""
    return value.replace(b"\0", NUL_REPLACEMENT)


def _address(addr: Address) -> list[str | None]:
    out: list[str | None] = [None if v is None else raw(v) for v in addr]
    name = addr[0]
    if name is not None:
        display = decode_words(name)
        if display != out[0]:
            out.append(display)
    return out


def build_envelope(headers: list[tuple[bytes, bytes]]) -> Envelope:
    """The envelope of a header block. A text field given twice takes its last value; address
    fields given twice are joined (Dovecot's reading, which no RFC forbids for broken input)."""
    texts: dict[str, bytes] = {}
    addresses: dict[str, list[Address]] = {}
    for name, value in headers:
        field = _STRING_FIELDS.get(name)
        if field is not None:
            texts[field] = value
            continue
        field = _ADDRESS_FIELDS.get(name)
        if field is not None:
            found = addresses.setdefault(field, [])
            found.extend(parse_addresses(value, MAX_ADDRESSES - len(found)))
    env: Envelope = {}
    for field in FIELDS:
        if field in _STRING_FIELDS.values():
            text = texts.get(field)
            env[field] = None if text is None else raw(header_string(text))
        else:
            addrs = addresses.get(field)
            env[field] = [_address(a) for a in addrs] if addrs else None
    subject = texts.get("subject")
    if subject is not None:
        decoded = decode_words(subject).replace("\n", "")
        if decoded != env["subject"]:
            env["subject_text"] = decoded
    return env


def subject_text(env: Envelope) -> str | None:
    """The subject for people."""
    return env.get("subject_text", env.get("subject"))


def display_name(address: list[str | None]) -> str | None:
    """An address's name for people (decoded when it was encoded)."""
    return address[4] if len(address) > 4 else address[0]


def address_text(address: list[str | None]) -> str | None:
    """`mailbox@host`, or None for a group marker or an address without a mailbox."""
    mailbox, host = address[2], address[3]
    if mailbox is None or host is None:
        return None
    return f"{mailbox}@{host}" if host else mailbox


def searched_text(addresses: list[list[str | None]] | None) -> str:
    """What IMAP SEARCH FROM/TO/CC/BCC look in: each address's name (decoded) and `mailbox@host`,
    and a group's name (RFC 3501 §7.4.2: "TO undisclosed-recipients" finds it, as in Dovecot),
    folded. Kept at delivery for From (`message.folded_from`), made when searched for the others."""
    words = []
    for address in addresses or ():
        if len(address) > 4:  # the name as decoded at delivery (it was RFC 2047 encoded)
            words.append(display_name(address) or "")
        elif address[0]:
            words.append(to_text(octets(address[0])))
        text = address_text(address)
        if text:
            words.append(text)
        elif address[2] is not None and address[3] is None:  # a group opens
            words.append(to_text(octets(address[2])))
    return fold(" ".join(words))
