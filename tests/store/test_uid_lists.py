"""The kept `UID SEARCH ALL` answers (store/searching.py `UidLists`) stay within their bounds."""

from __future__ import annotations

from hopthu.store.searching import UidLists


def test_the_oldest_answers_go_first_within_entries_and_bytes() -> None:
    lists = UidLists(entries=3, budget=100)
    for n in range(4):
        lists.put((1, n), b"%d" % n * 10)
    assert lists.get((1, 0)) is None and lists.get((1, 3)) == b"3" * 10
    lists.get((1, 1))  # used again: now the most recent
    lists.put((2, 0), b"x" * 90)  # over the byte budget: the least recently used go
    assert lists.get((1, 2)) is None and lists.get((1, 3)) is None
    assert lists.get((1, 1)) == b"1" * 10 and lists.get((2, 0)) == b"x" * 90
    lists.put((3, 0), b"y" * 101)  # larger than the whole budget: never kept
    assert lists.get((3, 0)) is None and lists.get((2, 0)) == b"x" * 90
