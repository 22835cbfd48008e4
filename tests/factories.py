"""Factories for tests: accounts straight into the store, messages as bytes."""

from __future__ import annotations

import datetime as dt
import itertools

import sqlalchemy as sa

from hopthu.store import Store
from hopthu.store.schema import account, agency

_serial = itertools.count(1)


async def make_account(store: Store, local: str, *, quota: int = 10**9) -> int:
    """An account with its mailboxes, bypassing the directory (for tests of the mail store)."""
    now = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    async with store.db.write() as conn:
        agency_id = (await conn.execute(sa.select(agency.c.id).where(agency.c.code == "testag"))).scalar()
        if agency_id is None:
            agency_id = (
                await conn.execute(
                    sa.insert(agency)
                    .values(code="testag", name="Cơ quan thử", kind="agency", created_at=now)
                    .returning(agency.c.id)
                )
            ).scalar_one()
        account_id = (
            await conn.execute(
                sa.insert(account)
                .values(
                    local=local,
                    kind="personal",
                    display_name=local,
                    agency_id=agency_id,
                    password_hash="x",
                    password_changed_at=now,
                    quota_bytes=quota,
                    registered_on=now.date(),
                    created_at=now,
                )
                .returning(account.c.id)
            )
        ).scalar_one()
        await store.mail.create_account_store(conn, account_id)
    return account_id


def make_message(
    subject: str = "Công văn số 123",
    body: str = "Kính gửi các đơn vị.",
    *,
    sender: str = "Nguyễn Văn Minh <nvminh@cantho.gov.vn>",
    size: int = 0,
) -> bytes:
    """A plain UTF-8 message, padded with body lines to about `size` bytes when asked."""
    from email.header import Header
    from email.utils import formataddr, parseaddr

    head = (
        f"From: {formataddr(parseaddr(sender), 'utf-8')}\r\n"
        f"To: ttnanh@cantho.gov.vn\r\n"
        f"Subject: {Header(subject, 'utf-8').encode()}\r\n"
        f"Date: Mon, 02 Mar 2026 08:30:00 +0700\r\n"
        f"Message-ID: <{next(_serial)}.test@cantho.gov.vn>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode()
    text = (body + "\r\n").encode()
    while len(head) + len(text) < size:
        text += b"Noi dung van ban hanh chinh de kiem tra hieu nang luu tru thu.\r\n"
    return head + text
