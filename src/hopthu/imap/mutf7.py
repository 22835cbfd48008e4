"""Modified UTF-7 mailbox names (RFC 3501 §5.1.3).

IMAP4rev1 clients that have not enabled UTF8=ACCEPT send and expect mailbox names such as
"H&H9k-p th&AbA-" for "Hộp thư"; we store UTF-8, so the server converts at the boundary.
Decoding is strict: a name has exactly one encoding, so a non-canonical form is refused rather
than silently folded into another folder's name.
"""

import base64
import binascii

_DIRECT = range(0x20, 0x7F)  # printable US-ASCII represents itself (RFC 3501 §5.1.3)


def encode_mutf7(name: str) -> str:
    """Encode a Unicode mailbox name as modified UTF-7."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode("ascii").rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if ord(char) in _DIRECT:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def decode_mutf7(name: str) -> str:
    """Decode a modified UTF-7 mailbox name; raise ValueError if it is not canonical."""
    out: list[str] = []
    after_shift = False  # "&AAA-&BBB-" must have been written "&AAABBB-"
    i = 0
    while i < len(name):
        char = name[i]
        if ord(char) not in _DIRECT:
            raise ValueError(f"character {char!r} must be encoded")
        if char != "&":
            out.append(char)
            after_shift = False
            i += 1
            continue
        end = name.find("-", i + 1)
        if end < 0:
            raise ValueError("unterminated '&' shift")
        chunk = name[i + 1 : end]
        i = end + 1
        if not chunk:
            out.append("&")
            after_shift = False
            continue
        text = _decode_chunk(chunk)
        if encode_mutf7(text) != f"&{chunk}-":  # also refuses shifted printable ASCII
            raise ValueError(f"non-canonical shift '&{chunk}-'")
        if after_shift:
            raise ValueError("adjacent shifts must be merged")
        out.append(text)
        after_shift = True
    return "".join(out)


def _decode_chunk(chunk: str) -> str:
    padded = chunk.replace(",", "/") + "=" * (-len(chunk) % 4)
    try:
        raw = base64.b64decode(padded.encode("ascii"), validate=True)
        return raw.decode("utf-16-be")
    except (binascii.Error, UnicodeError) as exc:
        raise ValueError(f"bad modified base64 '&{chunk}-'") from exc
