"""The mail log (R13.1, Nghị định 91/2020): one entry per message in and out, kept 180 days.

The fields an operator traces by are columns; the rest of what identifies a message (HELO, To, Cc,
Date, the Received chain, the engines' verdicts, each recipient's fate) is one zstd-compressed JSON
document, so 180 days at 200,000 messages a day stay small (docs/protection.md has the bytes per
entry).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
import zstandard

from hopthu.store.db import Database
from hopthu.store.schema import mail_log

_COMPRESS = zstandard.ZstdCompressor(level=6)
_DECOMPRESS = zstandard.ZstdDecompressor()


@dataclass
class LogEntry:
    at: dt.datetime
    direction: str  # "in" | "out"
    channel: str
    client_ip: str
    mail_from: str
    recipients: Sequence[str]
    header_from: str
    subject: str
    message_id: str
    size: int
    verdict: str
    outcome: str  # delivered | junk | refused | tempfail | held | queued | ...
    score: float | None = None
    account_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "direction": self.direction,
            "channel": self.channel,
            "client_ip": self.client_ip[:45],
            "mail_from": self.mail_from[:320],
            "recipients": " ".join(r.lower() for r in self.recipients),
            "header_from": self.header_from[:320],
            "subject": self.subject[:300],
            "message_id": self.message_id[:300],
            "size": self.size,
            "score": self.score,
            "verdict": self.verdict,
            "outcome": self.outcome,
            "account_id": self.account_id,
            "details": pack(self.details),
        }


def pack(details: dict[str, Any]) -> bytes:
    return _COMPRESS.compress(json.dumps(details, ensure_ascii=False, separators=(",", ":")).encode())


def unpack(blob: bytes | None) -> dict[str, Any]:
    return json.loads(_DECOMPRESS.decompress(blob)) if blob else {}


class MailLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, entry: LogEntry) -> None:
        async with self.db.write() as conn:
            await conn.execute(sa.insert(mail_log).values(entry.row()))
