"""The keys a message list is sorted by when not by arrival: written once at delivery beside the
message, so sorting a 50,000-message folder by sender or subject is an index walk, not a scan.

Both keys are folded (no diacritics, lower case) so "Ánh" sorts with "Anh", not after "Z", and the
subject key drops the reply and forward prefixes mail clients add, Vietnamese ones included.

The subject key is also what IMAP SEARCH SUBJECT looks in, with `folded_subject` where the key is
not the whole subject: a needle is in the folded subject exactly when it is in one of the two.
"""

from __future__ import annotations

import re

from hopthu.text import fold

KEY_LENGTH = 120  # long enough to order by, short enough to keep the indexes small

# Applied to stripped text; no two white-space runs can match the same spaces, so a subject of
# "re" and a hundred thousand spaces fails in linear time.
_PREFIXES = re.compile(r"^(?:(?:re|fwd?|aw|sv|vs|tl|tr|tra loi|chuyen tiep|phan hoi)\s*(?:\[\d+\]\s*)?:\s*)+")
_READ = 8 * KEY_LENGTH  # of a subject, enough for any run of prefixes a mail client adds


def subject_key(subject: str) -> str:
    """ "Re: TL: Giấy mời họp" → "giay moi hop"."""
    return _PREFIXES.sub("", fold(subject[:_READ]).strip())[:KEY_LENGTH]


def sender_key(sender: str) -> str:
    """ "Nguyễn Văn Minh <nvminh@...>" → "nguyen van minh"; a bare address sorts by itself."""
    name, _, rest = sender.partition(" <")
    return fold((name if rest else sender).strip().strip('"'))[:KEY_LENGTH]


def folded_subject(subject: str, key: str) -> str | None:
    """The whole subject folded, where its key (`subject_key`) is not all of it: a reply's or a
    forward's prefix dropped, white space at its ends, a subject longer than the key. None, and no
    second copy stored, for most letters. With the key, SEARCH SUBJECT is one test in SQL
    (`store.searching`) instead of folding every candidate's subject in Python."""
    whole = fold(subject)
    return None if whole == key else whole
