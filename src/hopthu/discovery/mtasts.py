"""The MTA-STS policy (RFC 8461): senders that support it deliver to our MX only over TLS with a
valid certificate for the MX name (`enforce`) or report when they could not (`testing`).

The policy is served at `https://mta-sts.<domain>/.well-known/mta-sts.txt` for each served domain
(one policy: every domain has the same MX); the `_mta-sts.<domain>` TXT record's `id` tells senders
when it changed. The id is derived from the policy's text, so it changes exactly when the policy does.
"""

from __future__ import annotations

import hashlib

from hopthu.config import Settings

PATH = "/.well-known/mta-sts.txt"
HOST_PREFIX = "mta-sts."
_ID_LENGTH = 20  # RFC 8461 §3.1: 1 to 32 letters and digits


def policy_text(settings: Settings) -> str:
    """RFC 8461 §3.2: `key: value` lines separated by CRLF."""
    lines = [
        "version: STSv1",
        f"mode: {settings.dns.mta_sts_mode}",
        f"mx: {settings.hostname.lower()}",
        f"max_age: {settings.dns.mta_sts_max_age}",
    ]
    return "\r\n".join(lines) + "\r\n"


def policy_id(settings: Settings) -> str:
    return hashlib.sha256(policy_text(settings).encode()).hexdigest()[:_ID_LENGTH]
