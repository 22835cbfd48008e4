"""Mail from outside claiming to come from our own domains (R3.2: forging another's mail is
prevented; inbound mail forging our domain is rejected by SPF/DKIM/DMARC).

Our domains are the main one, its aliases (the former provinces' domains, R13.7) and every domain
under them. Mail from the MX whose author (From:) is at one of them must pass DMARC alignment
(RFC 7489 §3.1): an SPF or DKIM pass for a domain aligned with it. Otherwise it forges us, whatever
policy the DNS publishes, and is refused (550 5.7.1); when the DNS failed the check cannot be
finished, so the sender is asked to try again (451 4.7.1) rather than refused.

`smtp.verify` and `smtp.dmarc` do SPF, DKIM and DMARC; this module decides what their answers mean
for our domains. The domains and the answers are parameters.
"""

from __future__ import annotations

from collections.abc import Collection
from enum import Enum


def is_ours(domain: str, our_domains: Collection[str]) -> bool:
    """Whether `domain` (in ASCII, lower case) is one of `our_domains` or under one of them."""
    return any(domain == ours or domain.endswith("." + ours) for ours in our_domains)


def forges_our_domain(*, claims_ours: bool, aligned: bool) -> bool:
    """R3.2: an author at our domains without an aligned SPF or DKIM pass forges us."""
    return claims_ours and not aligned


class ForgeryAnswer(Enum):
    """What the MX answers a message that forges our domain."""

    REFUSE = "refuse"  # 550 5.7.1
    TRY_LATER = "try_later"  # 451 4.7.1: DNS failed, the check could not be finished


def forgery_answer(*, dns_failed: bool) -> ForgeryAnswer:
    """R3.2: refuse a forgery of our domain, unless the DNS failed during the check (DMARC
    temperror), when it may be passing and the sender is asked to try again."""
    return ForgeryAnswer.TRY_LATER if dns_failed else ForgeryAnswer.REFUSE
