"""The canonical form of a message: the octets we store, count and serve.

IMAP sizes and offsets are counted on CRLF text (RFC 3501 §2.1: lines end in CRLF), and clients
compare them with what they fetch, so line endings are settled once, before anything is counted.
We settle them the way Dovecot does, because the golden corpus records what clients saw from it
(Dovecot stores LF-only and adds CR when serving):

* a bare LF becomes CRLF;
* CR CR LF becomes CR LF (the LF-only store turns CR CR LF into CR LF, which is then served as is);
* a lone CR elsewhere stays, except one at the very end, which is dropped;
* NUL octets stay. RFC 3501 forbids them in a literal and Dovecot sends 0x80 instead (same length,
  so no offset moves), but BINARY (RFC 3516) must return them and stored bytes are never rewritten:
  the IMAP layer maps NUL to 0x80 on the way out (`imapview.nul_safe`) when `has_nuls` is set.
"""

from __future__ import annotations

import re

_BARE_LF = re.compile(rb"(?<!\r)\n")


def canonical(raw: bytes) -> bytes:
    """Line endings normalised as described above; already-canonical input is returned as is."""
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    rest = raw.replace(b"\r\n", b"")
    if b"\n" not in rest and b"\r" not in rest:
        return raw  # every line ends in CRLF: the common case costs two C-speed passes
    lf_only = raw.replace(b"\r\n", b"\n")
    return _BARE_LF.sub(b"\r\n", lf_only)
