"""What the inspector asks of the outside engines, whatever speaks to them.

`rspamd.Rspamd` and `clamd.Clamd` are the real ones; each raises `EngineError` when it cannot answer
(down, slow past `protection.scan_timeout_seconds`, a broken answer), never a verdict it did not get.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol


class EngineError(Exception):
    """The engine gave no usable answer for this message (the message is not judged by it)."""


@dataclass(frozen=True)
class ScanEnvelope:
    """What rspamd is told beside the message (its HTTP protocol's request headers)."""

    client_ip: str
    helo: str
    mail_from: str
    recipients: Sequence[str]
    hostname: str  # our name, the MTA rspamd speaks for
    user: str | None = None  # the authenticated sender: rspamd then treats the message as outbound
    queue_id: str = ""


@dataclass(frozen=True)
class SpamAnswer:
    score: float
    action: str  # rspamd's own action ("no action", "add header", "reject", ...), for the log
    symbols: dict[str, float] = field(default_factory=dict)


class SpamEngine(Protocol):
    async def check(self, message: bytes, envelope: ScanEnvelope) -> SpamAnswer: ...

    async def learn(self, message: bytes, *, spam: bool) -> None: ...


class VirusEngine(Protocol):
    async def scan(self, message: bytes) -> str | None:
        """The name of the signature found, or None for a clean message."""
        ...
