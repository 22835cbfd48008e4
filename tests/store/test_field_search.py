"""SEARCH SUBJECT and FROM are answered in SQL, exactly as `imap.search.matches` answers them: the
subject folded is its sort key, or the whole folded subject kept beside it where the key is not all
of it (a reply's prefix, white space at its ends, a long subject); From's names and addresses are
folded at delivery. On both backends, narrowed by the full-text index or not, and for messages
stored before the columns existed."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from hopthu.mail import canonical, parse
from hopthu.mail.envelope import searched_text
from hopthu.mail.sortkeys import subject_key
from hopthu.store import Store, searching
from hopthu.store.db import Database
from hopthu.store.mailstore import Target
from hopthu.store.migrate import upgrade
from hopthu.store.schema import body_text, message
from hopthu.store.searching import search_uids
from hopthu.store.textindex import SQLITE_DDL
from hopthu.store.types import Criterion, Each, FieldHas, Negation, TextHas
from hopthu.store.websearch import SearchFilter, newest_query
from hopthu.text import fold, fold_words
from tests.factories import make_account, make_message
from tests.store.test_search_text import ONE_MAILBOX_AND_BODY, _drop, _fresh_url

LONG = "Báo cáo tình hình thực hiện kế hoạch " * 5 + "cuối năm"
SUBJECTS = ["Re: Công văn số 7", "  Họp   giao ban  ", "TL: Fwd: Giấy mời", LONG, "Công văn số 12", ""]
SENDERS = [
    "Nguyễn Văn Minh <nvminh@cantho.gov.vn>",
    "lan@soyte.cantho.gov.vn",
    "Trần Thị Lan <ttlan@soyte.cantho.gov.vn>",
    "Văn phòng UBND <vanphong@cantho.gov.vn>",
    "Nguyễn Thị Hồng <nthong@haugiang.gov.vn>",
    "an@example.org",
]
SUBJECT_NEEDLES = [
    "re: cong",
    "cong van",
    "hop   giao",
    "hop giao",
    "cuoi nam",
    "tl: fwd: giay",
    "giay moi",
    "",
]
FROM_NEEDLES = ["nguyen", "nguyen van minh", "soyte.cantho", "lan", "van phong ubnd", "an@ex", "zq", ""]


def _expected(texts: list[str], needle: str) -> list[int]:
    return [uid for uid, text in enumerate(texts, 1) if needle in text]


@pytest.mark.parametrize("narrowing", [searching.NARROWING, 0], ids=["rare-narrowed", "common-not"])
async def test_fields_are_found_in_sql_as_python_finds_them(
    store: Store, narrowing: int, monkeypatch
) -> None:
    """Whether the full-text index narrows first (a rare word) or not (a common one), the same."""
    monkeypatch.setattr(searching, "NARROWING", narrowing)
    owner = await make_account(store, "nvminh")
    box = 0
    senders: list[str] = []
    for subject, sender in zip(SUBJECTS, SENDERS, strict=True):
        data = canonical(make_message(subject, "Kính gửi các đơn vị.", sender=sender))
        parsed = parse(data)
        senders.append(searched_text(parsed.envelope["from"]))
        [result] = await store.mail.deliver(data, parsed, [Target(owner, quota=10**9)])
        box = result.mailbox_id
    kept = await store.db.all(
        sa.select(message.c.folded_subject, message.c.folded_from).order_by(message.c.uid)
    )
    assert [row[0] for row in kept] == [
        "re: cong van so 7",
        "  hop   giao ban  ",
        "tl: fwd: giay moi",
        fold(LONG),  # longer than its key
        None,  # the key is the whole subject: not stored twice
        None,
    ]
    assert [row[1] for row in kept] == senders
    assert senders[0] == "nguyen van minh nvminh@cantho.gov.vn"

    async def uids(*criteria) -> list[int]:
        return await search_uids(store.db, box, 10, list(criteria))

    subjects = [fold(subject) for subject in SUBJECTS]
    for needle in SUBJECT_NEEDLES:
        assert await uids(FieldHas("subject", needle)) == _expected(subjects, needle), needle
    for needle in FROM_NEEDLES:
        assert await uids(FieldHas("from", needle)) == _expected(senders, needle), needle
    assert await uids(Negation(FieldHas("subject", "cong van"))) == [2, 3, 4, 6]
    assert await uids(FieldHas("from", "nguyen"), Negation(FieldHas("subject", "re:"))) == [5]
    assert await uids(Each((TextHas("giay moi"), FieldHas("subject", "giay moi")))) == [3]


async def test_a_word_is_narrowed_when_rare_for_its_mailbox(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index narrows a word held in fewer bodies than `NARROWING`, or than the mailbox's size
    over `READ_PER_BODY` (reading a million-message mailbox costs more than a few thousand bodies)."""
    owner = await make_account(store, "nvminh")
    box = 0
    for n in range(4):
        data = canonical(make_message(f"Giấy mời {n}", "Kính gửi các đơn vị."))
        [result] = await store.mail.deliver(data, parse(data), [Target(owner, quota=10**9)])
        box = result.mailbox_id
    wanted = FieldHas("subject", "giay moi")  # in 4 bodies, of a 4-message mailbox
    narrowed = [Each((TextHas("giay moi"), wanted))]
    assert await searching._narrowed(store.db, box, [wanted]) == narrowed  # 4 < NARROWING
    monkeypatch.setattr(searching, "NARROWING", 4)
    assert await searching._narrowed(store.db, box, [wanted]) == [wanted]
    monkeypatch.setattr(searching, "READ_PER_BODY", 1)  # reading the mailbox costs 4 bodies' worth
    assert await searching._narrowed(store.db, box, [wanted]) == [wanted]
    monkeypatch.setattr(searching, "NARROWING", 1)
    monkeypatch.setattr(searching, "READ_PER_BODY", 0.5)  # and now 8 bodies' worth
    assert await searching._narrowed(store.db, box, [wanted]) == narrowed


async def test_migration_folds_the_fields_already_stored(database_url: str) -> None:
    url, name = await _fresh_url(database_url)
    db = Database(url)
    senders = [
        [[None, None, "nvminh", "cantho.gov.vn"]],
        [["=?utf-8?b?VHLhuqduIFRo4buLIExhbg==?=", None, "ttlan", "soyte.cantho.gov.vn", "Trần Thị Lan"]],
        [[None, None, "Phòng ban", None], [None, None, "a", "b.vn"], [None, None, None, None]],
        None,
        [],
        [["Van Phong", None, "vp", "cantho.gov.vn"]],
    ]
    try:
        await upgrade(db, "0024_account_job_title")
        now = dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC)
        # one body for all: its search text holds every subject's and sender's words, as delivery's would
        texts = [fold_words(subject) for subject in SUBJECTS]
        texts += [searched_text(addresses) for addresses in senders]
        rows = {"now": now, "day": now.date(), "hash": "a" * 64, "json": "{}", "text": " ".join(texts)}
        rows["references"] = len(SUBJECTS)
        async with db.write() as conn:
            for statement in (
                *ONE_MAILBOX_AND_BODY,
                "INSERT INTO body_text (id, hash, text) VALUES (1, :hash, :text)",
            ):
                await conn.execute(sa.text(statement), rows)
            for uid, (subject, addresses) in enumerate(zip(SUBJECTS, senders, strict=True), 1):
                await conn.execute(
                    sa.text(
                        "INSERT INTO message (mailbox_id, uid, modseq, internal_date, size, blob_hash, "
                        "body_id, header_end, envelope, structure, subject, sort_subject) "
                        "VALUES (1, :uid, 1, :now, 10, :hash, 1, 0, :envelope, :json, :subject, :key)"
                    ),
                    {
                        **rows,
                        "uid": uid,
                        "subject": subject,
                        "key": subject_key(subject),
                        "envelope": json.dumps({"from": addresses}),
                    },
                )
        await upgrade(db, "0025_folded_fields")
        subjects = [fold(subject) for subject in SUBJECTS]
        for needle in SUBJECT_NEEDLES:
            assert await search_uids(db, 1, 10, [FieldHas("subject", needle)]) == _expected(subjects, needle)
        from_texts = [searched_text(addresses) for addresses in senders]
        assert from_texts[1] == "tran thi lan ttlan@soyte.cantho.gov.vn"
        assert from_texts[2] == "phong ban a@b.vn"  # a group's name, then its members
        for needle in ["tran", "phong", "ban a@b", "nvminh@", "van phong", ""]:
            assert await search_uids(db, 1, 10, [FieldHas("from", needle)]) == _expected(from_texts, needle)
        stored = await db.integers(sa.select(message.c.uid).where(message.c.folded_subject.is_not(None)))
        assert sorted(stored) == [1, 2, 3, 4]
    finally:
        await db.close()
        if name is not None:
            await _drop(database_url, name)


@pytest.mark.parametrize(
    ("criterion", "index"),
    [
        (FieldHas("subject", "cong van"), "COVERING INDEX ix_message_mailbox_id_sort_subject"),
        (FieldHas("from", "nguyen"), "COVERING INDEX ix_message_mailbox_id_sort_sender"),
        (TextHas("cong van"), "COVERING INDEX ix_message_body_id_mailbox_id_uid"),
        (
            Each((TextHas("cong van"), FieldHas("subject", "cong van"))),
            "INDEX ix_message_body_id_mailbox_id_uid",
        ),
    ],
)
def test_a_text_search_reads_its_own_index(criterion: Criterion, index: str) -> None:
    """Without statistics (a new installation's database has none), SQLite's planner would take
    the (mailbox_id, uid) index for the UID order and read every row of the mailbox; a text or
    folded field's search reads its own index instead."""
    plan = _plan(searching._query("sqlite", 1, 10, [criterion], ()))
    assert f"USING {index} (" in plan, plan


@pytest.mark.parametrize("after", [None, (dt.datetime(2026, 3, 2, tzinfo=dt.UTC), 10)])
def test_the_webmails_search_of_a_rare_word_reads_the_text_index(after) -> None:
    """The webmail's search, newest first: without statistics SQLite's planner walks the mailboxes
    by date and reads every row; with a rare word the query reads the text index's answer."""
    wanted = SearchFilter([1], ["hs-0012345"])  # one folder: more are read mailbox by mailbox anyway
    plan = _plan(newest_query("sqlite", wanted, after, 50, by_text=True))
    assert "USING INDEX ix_message_body_id_mailbox_id_uid (body_id=? AND mailbox_id=?)" in plan, plan


# What ANALYZE finds in a 50,000-message folder, each letter its own body: the folder's index
# tells nothing apart, the body's index tells every letter apart.
ONE_BIG_FOLDER = {
    "ix_message_mailbox_id_internal_date": "50000 50000 1",
    "ix_message_body_id_mailbox_id_uid": "50000 1 1 1",
}


@pytest.mark.parametrize("after", [None, (dt.datetime(2026, 3, 2, tzinfo=dt.UTC), 10)])
def test_the_webmails_search_of_a_common_word_walks_the_folder_by_date(after) -> None:
    """A word in many letters of one folder: the newest first, read off the folder's date index
    until the page is full, whether SQLite's planner has statistics (an operator's ANALYZE) or not.
    With them, and no hint, it read the text index's whole answer first and sorted it."""
    wanted = SearchFilter([1], ["thanh pho"])
    walk = "SEARCH message USING INDEX ix_message_mailbox_id_internal_date (mailbox_id=?"
    query = newest_query("sqlite", wanted, after, 50, by_text=False)
    assert walk in _plan(query), _plan(query)
    assert walk in _plan(query, ONE_BIG_FOLDER), _plan(query, ONE_BIG_FOLDER)


def test_without_the_hint_statistics_send_the_first_page_elsewhere() -> None:
    """What the hint is for: with statistics, the first page's query without it reads the text
    index's answer through the body's index and sorts it (a later page's date bound leads the
    planner to the date index by itself)."""
    query = newest_query("sqlite", SearchFilter([1], ["thanh pho"]), None, 50, by_text=False)
    hint = "INDEXED BY ix_message_mailbox_id_internal_date"
    assert hint in _sql(query)
    plan = _plan(_sql(query).replace(hint, ""), ONE_BIG_FOLDER)
    assert "USING INDEX ix_message_body_id_mailbox_id_uid" in plan and "TEMP B-TREE" in plan, plan


def _sql(query: sa.Select) -> str:
    """`query` as SQLite is given it, its values written in."""
    return str(query.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))


def _plan(query: sa.Select | str, statistics: dict[str, str] | None = None) -> str:
    """SQLite's plan for `query` (or its SQL) over the message table and the text index, without
    statistics, or with `statistics` (each index of `message`: its `sqlite_stat1` line)."""
    engine = sa.create_engine("sqlite://")
    message.create(engine)
    body_text.create(engine)
    with engine.begin() as conn:
        for statement in SQLITE_DDL:
            conn.exec_driver_sql(statement)
        if statistics:
            conn.exec_driver_sql("ANALYZE")
            for index, line in statistics.items():
                conn.exec_driver_sql("INSERT INTO sqlite_stat1 VALUES ('message', ?, ?)", (index, line))
            conn.exec_driver_sql("ANALYZE sqlite_schema")  # the planner reads them again
        text = query if isinstance(query, str) else _sql(query)
        return " ".join(row[3] for row in conn.execute(sa.text("EXPLAIN QUERY PLAN " + text)))
