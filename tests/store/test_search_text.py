"""The search text of a body is stored once, in the full-text index, and leaves with the body; the
index answers substrings of any length, folded (both backends)."""

from __future__ import annotations

import datetime as dt
import os
import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from hopthu.mail import canonical, parse
from hopthu.store import Store
from hopthu.store.db import Database
from hopthu.store.mailstore import Target
from hopthu.store.migrate import current_revision, upgrade
from hopthu.store.schema import body_text, message
from hopthu.store.searching import search_uids
from hopthu.store.textindex import has_text
from hopthu.store.types import Each, Negation, TextHas
from tests.factories import make_account, make_message


async def _deliver(store: Store, data: bytes, targets: list[Target]):
    data = canonical(data)
    return await store.mail.deliver(data, parse(data), targets)


async def _texts(store: Store) -> list[str]:
    async with store.db.read() as conn:
        return list((await conn.execute(sa.select(body_text.c.text))).scalars())


async def test_a_circular_to_500_mailboxes_keeps_its_text_once(store: Store) -> None:
    ids = [await make_account(store, f"u{n}") for n in range(500)]
    data = make_message("Thông báo lịch tiếp công dân", "Ủy ban nhân dân thành phố Cần Thơ thông báo.")
    results = await _deliver(store, data, [Target(i, quota=10**9) for i in ids])
    assert len(results) == 500 and all(r.uid == 1 for r in results)
    [text] = await _texts(store)
    assert "uy ban nhan dan thanh pho can tho" in text
    for result in (results[0], results[-1]):
        assert await search_uids(store.db, result.mailbox_id, 1, [TextHas("tiep cong dan")]) == [1]
    # the same body again (a second circular run) adds messages, never a second text
    await _deliver(store, data, [Target(ids[0], quota=10**9)])
    assert len(await _texts(store)) == 1


async def test_every_message_row_names_its_bodys_text_row(store: Store) -> None:
    """Delivery (a circular and a letter) and COPY give each message its body's `body_text` id, which
    the text search joins on: a message without it would never be found."""
    first, second = await make_account(store, "a1"), await make_account(store, "a2")
    circular = make_message("Thông báo lịch trực", "Trực cơ quan ngày lễ.")
    letter = make_message("Giấy mời họp", "Cuộc họp giao ban sáng thứ hai.")
    [a, _] = await _deliver(store, circular, [Target(first, quota=10**9), Target(second, quota=10**9)])
    await _deliver(store, letter, [Target(first, quota=10**9)])
    archive = next(b for b in await store.mail.mailboxes(second) if b.name != "INBOX")
    await store.mail.editor.copy((first, a.mailbox_id), [1, 2], (second, archive.id), quota=10**9)
    async with store.db.read() as conn:
        pairs = (
            await conn.execute(
                sa.select(message.c.body_id, body_text.c.id).join(
                    body_text, body_text.c.hash == message.c.blob_hash, isouter=True
                )
            )
        ).all()
    assert len(pairs) == 5 and all(mine is not None and mine == theirs for mine, theirs in pairs)
    assert await search_uids(store.db, archive.id, 10, [TextHas("giao ban")]) == [2]
    assert await search_uids(store.db, archive.id, 10, [TextHas("truc co quan")]) == [1]


async def test_the_text_leaves_with_the_body(store: Store, clock) -> None:
    first, second = await make_account(store, "a1"), await make_account(store, "a2")
    kept = make_message("Giấy mời họp giao ban", "Cuộc họp sáng thứ hai.")
    gone = make_message("Báo cáo quý ba", "Số liệu ngân sách quý ba.")
    await _deliver(store, kept, [Target(first, quota=10**9)])
    [a, b] = await _deliver(store, gone, [Target(first, quota=10**9), Target(second, quota=10**9)])
    assert len(await _texts(store)) == 2
    await store.mail.expunge(a.mailbox_id, [a.uid])
    clock.advance(hours=2)
    assert await store.mail.collect_garbage() == 0  # still in the second mailbox
    assert len(await _texts(store)) == 2
    await store.mail.expunge(b.mailbox_id, [b.uid])
    clock.advance(hours=2)
    await store.mail.collect_garbage()  # the row goes; the file is the blob store's (its own tests)
    [left] = await _texts(store)
    assert "giao ban" in left
    if store.db.backend == "sqlite":  # the FTS5 entry went too (trigger fired by the cascade)
        async with store.db.read() as conn:
            found = await conn.execute(
                sa.text("SELECT count(*) FROM body_text_index WHERE body_text_index MATCH '\"ngan sach\"'")
            )
            assert found.scalar() == 0
    await _deliver(store, gone, [Target(second, quota=10**9)])  # delivered again: text and index again
    assert await search_uids(store.db, b.mailbox_id, 10, [TextHas("ngan sach")]) == [2]


async def test_short_needles_accents_headers_and_negation(store: Store) -> None:
    owner = await make_account(store, "nvminh")
    letters = [
        make_message("Công văn số 7", "Kính gửi Sở Nội vụ về việc tuyển dụng."),
        make_message(
            "Giấy mời", "Mời đồng chí Lê Thị Hồng Nhung dự họp.", sender="Trần Thị Lan <lan@cantho.gov.vn>"
        ),
        make_message("Thư riêng", "Hẹn gặp lúc 9 giờ.").replace(
            b"\r\nSubject:", b"\r\nCc: ttnanh@soyte.cantho.gov.vn\r\nSubject:", 1
        ),
    ]
    box = 0
    for data in letters:
        [result] = await _deliver(store, data, [Target(owner, quota=10**9)])
        box = result.mailbox_id

    async def uids(*criteria) -> list[int]:
        return await search_uids(store.db, box, 10, list(criteria))

    assert await uids(TextHas("le thi hong nhung")) == [2]  # written Lê Thị Hồng Nhung
    assert await uids(TextHas("ttnanh@soyte")) == [3]  # only in Cc: TEXT covers the header
    assert await uids(TextHas("9 ")) == [3]  # "lúc 9 giờ": under three characters, no trigram
    assert await uids(TextHas("@")) == [1, 2, 3]
    assert await uids(TextHas("zq")) == []
    assert await uids(TextHas("")) == [1, 2, 3]
    assert await uids(Negation(TextHas("tuyen dung"))) == [2, 3]
    assert await uids(Each((TextHas("moi"), TextHas("lan@cantho")))) == [2]
    assert await uids(TextHas('x"y%_')) == []  # quotes and LIKE wildcards are literal


# What a migration test stores before its messages: an agency, a person, their INBOX and one body
# (parameters: now, day, hash, and the body's references).
ONE_MAILBOX_AND_BODY = (
    "INSERT INTO agency (id, code, name, kind, created_at) VALUES (1, 'ag', 'Sở', 'agency', :now)",
    "INSERT INTO account (id, local, kind, display_name, agency_id, password_hash, "
    "password_changed_at, quota_bytes, registered_on, created_at) "
    "VALUES (1, 'nvminh', 'personal', 'x', 1, 'x', :now, 1000000, :day, :now)",
    "INSERT INTO mailbox (id, account_id, name, uidvalidity, created_at) VALUES (1, 1, 'INBOX', 1, :now)",
    "INSERT INTO blob (hash, size, stored_size, refcount, created_at) "
    "VALUES (:hash, 10, 10, :references, :now)",
)


async def _fresh_url(database_url: str) -> tuple[str, str | None]:
    if database_url.startswith("sqlite"):
        return database_url.replace("hopthu.db", "migrated.db"), None
    name = f"hopthu_mig_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    server = database_url.rsplit("/", 1)[0]
    admin = create_async_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return f"{server}/{name}", name


async def _drop(database_url: str, name: str) -> None:
    server = database_url.rsplit("/", 1)[0]
    admin = create_async_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


async def test_migration_moves_the_text_once_per_body(database_url: str) -> None:
    messages = 2
    url, name = await _fresh_url(database_url)
    db = Database(url)
    try:
        await upgrade(db, "0012_protection")
        now = dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC)
        rows = {"now": now, "day": now.date(), "hash": "a" * 64, "json": "{}", "references": messages}
        async with db.write() as conn:
            for statement in ONE_MAILBOX_AND_BODY:
                await conn.execute(sa.text(statement), rows)
            for uid in range(1, messages + 1):
                await conn.execute(
                    sa.text(
                        "INSERT INTO message (mailbox_id, uid, modseq, internal_date, size, blob_hash, "
                        "header_end, envelope, structure, search_text) "
                        "VALUES (1, :uid, 1, :now, 10, :hash, 0, :json, :json, 'cong van nguyen van minh')"
                    ),
                    {**rows, "uid": uid},
                )
        await upgrade(db, "0013_search_text_once")
        assert await current_revision(db) == "0013_search_text_once"
        assert await db.all(sa.select(body_text.c.hash, body_text.c.text)) == [
            ("a" * 64, "cong van nguyen van minh")
        ]
        await upgrade(db, "0016_message_body_id")  # each message row gains its body's text row id
        found = await db.integers(
            sa.select(message.c.uid).where(has_text(db.backend, "van nguyen")).order_by(message.c.uid)
        )
        assert found == list(range(1, messages + 1))
        async with db.read() as conn:
            columns = await conn.run_sync(
                lambda sync: [c["name"] for c in sa.inspect(sync).get_columns("message")]
            )
        assert "search_text" not in columns
    finally:
        await db.close()
        if name is not None:
            await _drop(database_url, name)
