"""The vocabulary and the header of message authentication results (RFC 8601).

SPF, DKIM and DMARC each end in one word from the same small set (RFC 8601 §2.7); the verdict on an
inbound message is written once, as one `Authentication-Results:` header stored beside the message
(never written into it). Everything in the header that came from the sender (the envelope address,
the HELO name, the domains in signatures) is quoted here, so a hostile value cannot end the header
or forge a second result.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Result(StrEnum):
    """RFC 8601 §2.7.1-2.7.2 and RFC 7489 §11.2 result words (each method uses a subset)."""

    PASS = "pass"
    FAIL = "fail"
    SOFTFAIL = "softfail"
    NEUTRAL = "neutral"
    NONE = "none"
    TEMPERROR = "temperror"
    PERMERROR = "permerror"


@dataclass(frozen=True)
class ResultInfo:
    """One `method=result` clause: `dkim=pass header.d=example.com` (RFC 8601 §2.2 `resinfo`)."""

    method: str
    result: Result
    properties: tuple[tuple[str, str], ...] = ()
    comment: str = ""


# RFC 5322 §3.2.3 dot-atom, optionally as local-part "@" domain (RFC 8601 §2.2 `pvalue`).
_ATOM = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+"
_DOT_ATOM = rf"{_ATOM}(?:\.{_ATOM})*"
_PLAIN_VALUE = re.compile(rf"(?:{_DOT_ATOM})?@?{_DOT_ATOM}")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")
_COMMENT_UNSAFE = re.compile(r"[\x00-\x1f\x7f()\\]")
_MAX_VALUE = 200


def _value(text: str) -> str:
    """A property value as it may stand in the header: plain when it can, else a quoted string."""
    text = _UNSAFE.sub("", text)[:_MAX_VALUE]
    if _PLAIN_VALUE.fullmatch(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _comment(text: str) -> str:
    return "(" + _COMMENT_UNSAFE.sub("", text)[:_MAX_VALUE] + ")"


def render(authserv_id: str, results: Sequence[ResultInfo]) -> bytes:
    """One complete header field, one result per folded line, CRLF-terminated (RFC 8601 §2.2)."""
    lines = [f"Authentication-Results: {authserv_id}"]
    for info in results:
        clause = f"{info.method}={info.result}"
        if info.comment:
            clause += " " + _comment(info.comment)
        for name, value in info.properties:
            if value:
                clause += f" {name}={_value(value)}"
        lines[-1] += ";"
        lines.append("\t" + clause)
    return ("\r\n".join(lines) + "\r\n").encode()
