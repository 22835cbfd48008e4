"""The one address namespace of R4: what a local part may look like, which are never issued.

Agencies, sub-units and people share one namespace under one domain, so every generator in this
package and every address an administrator types go through the same check: lowercase ASCII letters
and digits, dots only between segments (the dot separates a sub-unit from its agency, R4.2), at most
64 characters (RFC 5321 §4.5.3.1.1), not reserved, not taken.

Reserved local parts (`RESERVED`) are never issued to an agency or a person:
- the role mailboxes of RFC 2142 §3-5 (`info`, `sales`, `support`, `abuse`, `noc`, `security`,
  `postmaster`, `hostmaster`, `webmaster`, ...): mail software and people on the internet expect them
  to reach the operator, not a member of staff;
- the addresses certificate authorities mail to prove control of a domain (`admin`, `administrator`,
  `webmaster`, `hostmaster`, `postmaster`; CA/Browser Forum Baseline Requirements §3.2.2.4.4): whoever
  holds one can obtain a certificate for `cantho.gov.vn`;
- the system's own senders and report sinks (`root`, `mailer-daemon`, `daemon`, `nobody`, `noreply`,
  `bounce`, `dmarc`, `tlsrpt`);
- the city's channels in Vietnamese: `hotro` (support, R7.1) and `quantri` (administration).
"""

import re
from collections.abc import Iterable, Iterator, Set
from typing import Final

from hopthu.errors import Conflict, HopThuError

MAX_LENGTH: Final = 64
"""The longest local part (RFC 5321 §4.5.3.1.1)."""

_RFC2142: Final = frozenset(
    {
        "info",
        "marketing",
        "sales",
        "support",
        "abuse",
        "noc",
        "security",
        "postmaster",
        "hostmaster",
        "usenet",
        "news",
        "webmaster",
        "www",
        "uucp",
        "ftp",
    }
)
_CERTIFICATE_VALIDATION: Final = frozenset(
    {"admin", "administrator", "webmaster", "hostmaster", "postmaster"}
)
_SYSTEM: Final = frozenset(
    {"root", "mailer-daemon", "daemon", "nobody", "noreply", "bounce", "dmarc", "tlsrpt"}
)
_CITY: Final = frozenset({"hotro", "quantri"})

RESERVED: Final[frozenset[str]] = _RFC2142 | _CERTIFICATE_VALIDATION | _SYSTEM | _CITY
"""Local parts never issued to an agency, a sub-unit or a person (see the module docstring)."""

_SHAPE: Final = re.compile(r"[a-z0-9]+(?:\.[a-z0-9]+)*")


def is_well_formed(local: str) -> bool:
    """Whether `local` has the shape R4 allows: `[a-z0-9]` segments joined by single dots, ≤ 64 chars."""
    return len(local) <= MAX_LENGTH and _SHAPE.fullmatch(local) is not None


def is_issuable(local: str, taken: Set[str]) -> bool:
    """Whether `local` is well formed, not reserved and not taken: the test every proposal passes."""
    return is_well_formed(local) and local not in RESERVED and local not in taken


def validate_local_part(local: str, taken: Set[str]) -> None:
    """Refuse an address an administrator chose (R4) that is malformed, reserved or already taken."""
    if not is_well_formed(local):
        raise HopThuError(
            f"Địa chỉ “{local}” không hợp lệ: chỉ dùng chữ thường không dấu (a-z), chữ số và dấu chấm"
            f" giữa các phần, tối đa {MAX_LENGTH} ký tự.",
            f"Address “{local}” is malformed: use lowercase letters a-z without diacritics, digits and"
            f" dots between parts, at most {MAX_LENGTH} characters.",
            code="address_malformed",
        )
    if local in RESERVED:
        raise HopThuError(
            f"Địa chỉ “{local}” được dành riêng cho hệ thống, không cấp cho cơ quan hay cá nhân.",
            f"Address “{local}” is reserved for the system and is never issued.",
            code="address_reserved",
        )
    if local in taken:
        raise Conflict(
            f"Địa chỉ “{local}” đã được sử dụng.",
            f"Address “{local}” is already taken.",
        )


class Namespace(Set[str]):
    """The addresses in use plus those claimed while a batch is decided: pass it wherever `taken` goes.

    Wrap the addresses already in use (including aliases and any kept from reissue), then `claim` each
    address as it is settled: the automatic ones, then each one an administrator chose. Later calls
    to `assign_people`, `agency_proposals` or `validate_local_part` with the namespace then see the
    earlier rows of the batch, so two rows can never end up with one address.
    """

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self._taken: Set[str] = taken if isinstance(taken, Set) else frozenset(taken)
        self._claimed: set[str] = set()

    def __contains__(self, local: object) -> bool:
        return local in self._claimed or local in self._taken

    def __iter__(self) -> Iterator[str]:
        yield from self._taken
        yield from self._claimed

    def __len__(self) -> int:
        return len(self._taken) + len(self._claimed)

    @property
    def claimed(self) -> frozenset[str]:
        """The addresses claimed through this namespace, in no particular order."""
        return frozenset(self._claimed)

    def claim(self, local: str) -> None:
        """Take `local` for a row of the batch; refuse it (HopThuError) like `validate_local_part`."""
        validate_local_part(local, self)
        self._claimed.add(local)
