"""The message model: a message is parsed once, at delivery, into stored values.

`canonical` fixes the octets we store and serve; `parse` reads them once into a `ParsedMessage`
(envelope and body structure as JSON with each part's byte offsets, attachment list, folded search
text, list-view columns). `imapview` renders IMAP answers from those stored values and maps
BODY[section] to byte ranges; `decode` returns BINARY sections. The webmail writes through
`compose` (a letter as an RFC 5322 message, an original quoted or forwarded) and reads the address
fields people type through `recipients`. Pure code: bytes in, values out.
"""

from .canonical import canonical, canonical_keeping_binary
from .decode import DecodeError, binary, binary_size
from .imapview import bodystructure_imap, envelope_imap, nul_safe, section_range
from .message import Attachment, ParsedMessage, filename, parse
from .structure import find_part

__all__ = [
    "Attachment",
    "DecodeError",
    "ParsedMessage",
    "binary",
    "binary_size",
    "bodystructure_imap",
    "canonical",
    "canonical_keeping_binary",
    "envelope_imap",
    "filename",
    "find_part",
    "nul_safe",
    "parse",
    "section_range",
]
