"""Every search key means the same in SQL as in Python: the store's SQL for `to_criterion` and
`matches` agree on random programs over random messages (so moving a key between the two never
changes an answer)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hopthu.imap.search import Key, matches, to_criterion
from hopthu.mail.searchtext import MARK
from hopthu.mail.sortkeys import folded_subject, subject_key
from hopthu.store.schema import body_text, message
from hopthu.store.searching import _field_needles, _narrow, condition
from hopthu.store.textindex import SQLITE_DDL, narrows
from hopthu.store.types import StoredMessage
from hopthu.text import fold_words

_ENGINE = sa.create_engine("sqlite://")
message.create(_ENGINE)
body_text.create(_ENGINE)
with _ENGINE.begin() as _conn:
    for _statement in SQLITE_DDL:  # the full-text index TEXT and BODY are answered from
        _conn.exec_driver_sql(_statement)

days = st.dates(dt.date(2026, 2, 27), dt.date(2026, 3, 4))
moments = st.datetimes(dt.datetime(2026, 2, 27), dt.datetime(2026, 3, 5), timezones=st.just(dt.UTC))
words = st.sampled_from(["nguyen", "cong van", "hop", "bao cao", "x%y", "a_b", "ao", "n", '"q"'])
subjects = st.lists(
    st.sampled_from(["Re:", "TL:", "Công", "văn", "họp", "Báo cáo", "x%y", " ", "  ", "Nguyễn"]), max_size=8
).map("".join)
needles = words | st.sampled_from(["re:", "re: cong", "tl:hop", "  ", "cong  van", ""])
keywords = st.sampled_from(["$Khan", "$Forwarded", "Work"])


def leaves() -> st.SearchStrategy[Key]:
    return st.one_of(
        st.just(Key("all")),
        st.just(Key("none")),
        st.tuples(st.sampled_from([1, 2, 4, 8, 16]), st.booleans()).map(lambda a: Key("flag", a)),
        st.tuples(keywords.map(str.upper), st.booleans()).map(lambda a: Key("keyword", a)),
        st.tuples(st.sampled_from(["internal", "sent"]), st.sampled_from(["<", "=", ">="]), days).map(
            lambda a: Key("date", a)
        ),
        st.tuples(st.sampled_from([">", "<"]), st.integers(0, 5000)).map(lambda a: Key("size", a)),
        st.frozensets(st.integers(1, 12)).map(lambda a: Key("uids", (a,))),
        st.integers(0, 20).map(lambda a: Key("modseq", (a,))),
        st.tuples(st.sampled_from(["TEXT", "BODY"]), words).map(lambda a: Key("text", a)),
        st.tuples(st.just("SUBJECT"), needles).map(lambda a: Key("text", a)),
    )


programs = st.recursive(
    leaves(),
    lambda inner: st.one_of(
        inner.map(lambda k: Key("not", (k,))),
        st.tuples(inner, inner).map(lambda a: Key("or", a)),
        st.lists(inner, min_size=1, max_size=3).map(lambda a: Key("and", tuple(a))),
    ),
    max_leaves=6,
)

rows = st.lists(
    st.fixed_dictionaries(
        {
            "flags": st.integers(0, 31),
            "keywords": st.lists(keywords, unique=True).map(lambda k: " ".join(k) or None),
            "internal_date": moments,
            "sent_at": st.none() | moments,
            "sent_day": st.none() | days,
            "size": st.integers(0, 5000),
            "modseq": st.integers(1, 20),
            # the body's words, the mark, the header's (`mail.searchtext`); or no mark (older rows)
            "search_text": st.lists(words | st.just(MARK), max_size=4).map(" ".join),
            "subject": subjects,
        }
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(programs, rows)
def test_sql_and_python_agree(program: Key, messages: list[dict]) -> None:
    criterion = to_criterion(program)
    if criterion is None:  # this program is checked in Python only
        return
    sql = condition(criterion, "sqlite")
    # a subject word narrowed by the full-text index first, as the store does for a rare one
    narrowed = condition(_narrow(criterion, set(filter(narrows, _field_needles([criterion])))), "sqlite")
    base = {
        "mailbox_id": 1,
        "header_end": 0,
        "envelope": {},
        "structure": {},
    }
    for values in messages:  # the header's words hold the subject, as delivery writes them
        values["search_text"] = f"{values['search_text']} {MARK} {fold_words(values['subject'])}"
    with _ENGINE.begin() as conn:
        conn.execute(sa.delete(message))
        conn.execute(sa.delete(body_text))
        conn.execute(
            sa.insert(message),
            [
                {
                    **base,
                    **{k: v for k, v in values.items() if k != "search_text"},
                    "sort_subject": subject_key(values["subject"]),
                    "folded_subject": folded_subject(values["subject"], subject_key(values["subject"])),
                    "uid": uid,
                    "blob_hash": str(uid),
                    "body_id": uid,
                }
                for uid, values in enumerate(messages, 1)
            ],
        )
        conn.execute(
            sa.insert(body_text),
            [
                {"id": uid, "hash": str(uid), "text": values["search_text"]}
                for uid, values in enumerate(messages, 1)
            ],
        )
        in_sql = set(conn.execute(sa.select(message.c.uid).where(sql)).scalars())
        assert set(conn.execute(sa.select(message.c.uid).where(narrowed)).scalars()) == in_sql
    in_python = {
        uid for uid, values in enumerate(messages, 1) if matches(program, StoredMessage(uid=uid, **values))
    }
    assert in_sql == in_python
