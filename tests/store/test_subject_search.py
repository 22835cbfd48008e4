"""SEARCH SUBJECT is answered in SQL, exactly: the folded subject is its sort key, or the whole
folded subject kept beside it where the key is not all of it (a reply's prefix, white space at its
ends, a long subject), on both backends and for messages stored before the column existed."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from hopthu.mail import canonical, parse
from hopthu.mail.sortkeys import subject_key
from hopthu.store import Store, searching
from hopthu.store.db import Database
from hopthu.store.mailstore import Target
from hopthu.store.migrate import upgrade
from hopthu.store.schema import message
from hopthu.store.searching import search_uids
from hopthu.store.types import Each, Negation, SubjectHas, TextHas
from hopthu.text import fold, fold_words
from tests.factories import make_account, make_message
from tests.store.test_search_text import _drop, _fresh_url

LONG = "Báo cáo tình hình thực hiện kế hoạch " * 5 + "cuối năm"
SUBJECTS = [
    "Re: Công văn số 7",
    "  Họp   giao ban  ",
    "TL: Fwd: Giấy mời",
    LONG,
    "Công văn số 12",
    "",
]


def _expected(needle: str) -> list[int]:
    """What `imap.search.matches` says: the needle is in the folded subject."""
    return [uid for uid, subject in enumerate(SUBJECTS, 1) if needle in fold(subject)]


NEEDLES = [
    "re: cong",
    "cong van",
    "hop   giao",
    "hop giao",
    "cuoi nam",
    "tl: fwd: giay",
    "giay moi",
    "",
    "  ",
]


@pytest.mark.parametrize("narrowing", [searching.NARROWING, 0], ids=["rare-narrowed", "common-not"])
async def test_subject_is_found_in_sql_as_python_finds_it(store: Store, narrowing: int, monkeypatch) -> None:
    """Whether the full-text index narrows first (a rare word) or not (a common one), the same."""
    monkeypatch.setattr(searching, "NARROWING", narrowing)
    owner = await make_account(store, "nvminh")
    box = 0
    for subject in SUBJECTS:
        data = canonical(make_message(subject, "Kính gửi các đơn vị."))
        [result] = await store.mail.deliver(data, parse(data), [Target(owner, quota=10**9)])
        box = result.mailbox_id
    kept = await store.db.all(sa.select(message.c.folded_subject).order_by(message.c.uid))
    assert [row[0] for row in kept] == [
        "re: cong van so 7",
        "  hop   giao ban  ",
        "tl: fwd: giay moi",
        fold(LONG),  # longer than its key
        None,  # the key is the whole subject: not stored twice
        None,
    ]

    async def uids(*criteria) -> list[int]:
        return await search_uids(store.db, box, 10, list(criteria))

    for needle in NEEDLES:
        assert await uids(SubjectHas(needle)) == _expected(needle), needle
    assert await uids(Negation(SubjectHas("cong van"))) == [2, 3, 4, 6]
    # as IMAP asks it for a needle without runs of spaces: the index first, then the subject
    assert await uids(Each((TextHas("giay moi"), SubjectHas("giay moi")))) == [3]


async def test_migration_folds_the_subjects_already_stored(database_url: str) -> None:
    url, name = await _fresh_url(database_url)
    db = Database(url)
    try:
        await upgrade(db, "0024_account_job_title")
        now = dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC)
        text = " ".join(fold_words(subject) for subject in SUBJECTS)
        rows = {"now": now, "day": now.date(), "hash": "a" * 64, "json": "{}", "text": text}
        async with db.write() as conn:
            for statement in (
                "INSERT INTO agency (id, code, name, kind, created_at) "
                "VALUES (1, 'ag', 'Sở', 'agency', :now)",
                "INSERT INTO account (id, local, kind, display_name, agency_id, password_hash, "
                "password_changed_at, quota_bytes, registered_on, created_at) "
                "VALUES (1, 'nvminh', 'personal', 'x', 1, 'x', :now, 1000000, :day, :now)",
                "INSERT INTO mailbox (id, account_id, name, uidvalidity, created_at) "
                "VALUES (1, 1, 'INBOX', 1, :now)",
                "INSERT INTO blob (hash, size, stored_size, refcount, created_at) "
                "VALUES (:hash, 10, 10, 6, :now)",
                # one body for all: its search text holds every subject's words, as delivery's would
                "INSERT INTO body_text (id, hash, text) VALUES (1, :hash, :text)",
            ):
                await conn.execute(sa.text(statement), rows)
            for uid, subject in enumerate(SUBJECTS, 1):
                await conn.execute(
                    sa.text(
                        "INSERT INTO message (mailbox_id, uid, modseq, internal_date, size, blob_hash, "
                        "body_id, header_end, envelope, structure, subject, sort_subject) "
                        "VALUES (1, :uid, 1, :now, 10, :hash, 1, 0, :json, :json, :subject, :key)"
                    ),
                    {**rows, "uid": uid, "subject": subject, "key": subject_key(subject)},
                )
        await upgrade(db, "0025_folded_subject")
        for needle in NEEDLES:
            assert await search_uids(db, 1, 10, [SubjectHas(needle)]) == _expected(needle), needle
        stored = await db.integers(sa.select(message.c.uid).where(message.c.folded_subject.is_not(None)))
        assert sorted(stored) == [1, 2, 3, 4]
    finally:
        await db.close()
        if name is not None:
            await _drop(database_url, name)
