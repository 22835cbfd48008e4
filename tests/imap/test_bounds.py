"""Work bounded by what a client sends: the LIST pattern matcher (linear, no regex from client input,
checked against a plain reference), the parser's whole-command limits, SEARCH's key budget and
sequence sets merged before they are expanded."""

from __future__ import annotations

import time
from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hopthu.imap import commands as c
from hopthu.imap.parser import CommandParser, Limits, NeedLiteral, ParseError
from hopthu.imap.places import parents, pattern_matcher
from hopthu.imap.responses import ImapRefusal
from hopthu.imap.search import MAX_SEARCH_DEPTH, MAX_SEARCH_KEYS, MAX_SET_KEYS, compile_program
from hopthu.imap.selected import Selected
from hopthu.store.events import EventBus

# --- the LIST pattern matcher --------------------------------------------------------------------


def reference_match(pattern: str, name: str) -> bool:
    """RFC 9051 §6.3.9 read literally, by recursion: exponential, fine for tiny inputs."""
    if not pattern:
        return not name
    head, rest = pattern[0], pattern[1:]
    if head == "*":
        return any(reference_match(rest, name[i:]) for i in range(len(name) + 1))
    if head == "%":
        for i in range(len(name) + 1):
            if reference_match(rest, name[i:]):
                return True
            if i < len(name) and name[i] == "/":
                return False
        return False
    return bool(name) and name[0] == head and reference_match(rest, name[1:])


def reference(ref: str, pattern: str, name: str) -> bool:
    full = ref + pattern
    if full[:5].upper() == "INBOX" and full[5:6] in ("", "/", "*", "%") and name[:5].upper() == "INBOX":
        return reference_match(full[5:], name[5:])
    return reference_match(full, name)


ALPHABET = "ab/*%"
NAMES = st.text("abAB/", max_size=8) | st.sampled_from(["INBOX", "inbox/a", "INBOX/b", "Inbox"])
PATTERNS = st.text(ALPHABET, max_size=7) | st.sampled_from(["INBOX", "inbox*", "InBoX/%", "INBOX%"])


@settings(max_examples=800, deadline=None)
@given(ref=st.sampled_from(["", "a/", "INBOX/", "inbox"]), pattern=PATTERNS, name=NAMES)
def test_matcher_agrees_with_the_rfc_reading(ref: str, pattern: str, name: str) -> None:
    assert pattern_matcher(ref, pattern).match(name) == reference(ref, pattern, name)


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("*", "Shared/sonv/INBOX", True),
        ("%", "Shared/sonv", False),
        ("Shared/%/INBOX", "Shared/sonv/INBOX", True),
        ("Shared/%", "Shared/sonv/INBOX", False),
        ("inbox", "INBOX", True),
        ("a.b", "axb", False),  # no character but * and % is special
        ("(a)+", "(a)+", True),
        ("Thư%", "Thư đến", True),
    ],
)
def test_matcher_examples(pattern: str, name: str, expected: bool) -> None:
    assert pattern_matcher("", pattern).match(name) is expected


def test_many_wildcards_cost_linear_time() -> None:
    """`LIST "" "*********Z"` against 40 characters took 7 s with the regex; each star multiplied it."""
    started = time.perf_counter()
    for stars in (9, 12, 50, 5000):
        for pattern in ("*" * stars + "Z", "%*" * stars + "Z", "*a" * stars + "Z"):
            assert not pattern_matcher("", pattern).match("a" * 500)
    assert time.perf_counter() - started < 2


@settings(max_examples=300, deadline=None)
@given(names=st.sets(st.text("ab/", min_size=1, max_size=6), max_size=8))
def test_parents_are_the_names_with_children(names: set[str]) -> None:
    expected = {n for n in names if any(o.startswith(n + "/") for o in names)}
    assert parents(names) & names == expected


def test_children_of_many_folders_are_found_in_linear_time() -> None:
    names = [f"f{i}/g{j}" for i in range(200) for j in range(100)]  # 20,000 folders
    started = time.perf_counter()
    found = parents(names)
    assert time.perf_counter() - started < 1 and len(found) == 200


# --- the parser's limits ------------------------------------------------------------------------


def drain(parser: CommandParser) -> list[object]:
    items: list[object] = []
    while True:
        try:
            item = parser.next()
        except ParseError as error:
            items.append(error)
            continue
        if item is None:
            return items
        items.append(item)


def test_continuation_lines_count_towards_the_whole_command() -> None:
    """Every line may be short, the command is still bounded: "{0+}" lines used to grow it forever."""
    parser = CommandParser()
    parser.limits = Limits(max_line=1000, max_command=4096, max_literal=4096)
    parser.feed(b"a LOGIN {0+}\r\n")
    refused = []
    for _ in range(200):
        parser.feed(b"x" * 500 + b" {0+}\r\n")
        refused += [item for item in drain(parser) if isinstance(item, ParseError)]
        assert parser.held <= 4096 + 600
    assert [(e.tag, e.code, e.literal_refused) for e in refused] == [("a", "TOOBIG", False)]
    parser.feed(b"\r\nb NOOP\r\n")  # the refused command's last line ends; the next is read
    assert drain(parser) == [c.Noop("b")]


def test_synchronising_literal_over_the_command_limit_is_refused_before_plus() -> None:
    parser = CommandParser()
    parser.limits = Limits(max_line=8192, max_command=8192, max_literal=8192)
    parser.feed(b"a LOGIN {41943040}\r\nb NOOP\r\n")
    items = drain(parser)
    assert isinstance(items[0], ParseError) and items[0].literal_refused and items[0].tag == "a"
    assert items[1:] == [c.Noop("b")]


def test_append_alone_may_exceed_the_command_limit() -> None:
    limits = Limits(max_line=1000, max_command=1000, max_literal=100_000)
    append = CommandParser()
    append.limits = limits
    append.feed(b"a APPEND INBOX {50000}\r\n")
    assert append.next() == NeedLiteral(50000, True)
    search = CommandParser()
    search.limits = limits
    search.feed(b"a SEARCH TEXT {50000}\r\n")
    with pytest.raises(ParseError) as error:
        search.next()
    assert error.value.code == "TOOBIG" and "command larger than 1000" in error.value.text


def test_a_refused_line_ending_in_a_non_synchronising_literal_skips_its_bytes() -> None:
    """RFC 7888 §4: the literal's bytes follow whatever the server answered; they are not commands."""
    parser = CommandParser(max_line=100)
    parser.feed(b"a LOGIN " + b"x" * 200 + b" {8+}\r\nc LOGOUT\r\nb NOOP\r\n")
    items = drain(parser)
    assert isinstance(items[0], ParseError) and items[0].code == "TOOBIG"
    assert items[1:] == [c.Noop("b")]


# --- SEARCH and sequence sets -------------------------------------------------------------------


def resolve_all(numbers: c.SequenceSet, uid: bool) -> list[int]:
    return list(range(1, 50_001))


def test_search_programs_are_bounded() -> None:
    with pytest.raises(ImapRefusal) as many:
        compile_program(tuple(["ALL"] * (MAX_SEARCH_KEYS + 1)), resolve_all)
    assert many.value.code == "LIMIT"
    with pytest.raises(ImapRefusal) as deep:
        compile_program(tuple(["NOT"] * (MAX_SEARCH_DEPTH + 1) + ["ALL"]), resolve_all)
    assert deep.value.code == "LIMIT"
    with pytest.raises(ImapRefusal) as sets:
        compile_program(tuple(f"{n}:*" for n in range(1, MAX_SET_KEYS + 2)), resolve_all)
    assert sets.value.code == "LIMIT"
    # The same set named many times is resolved once: 400 keys, one set of 50,000 UIDs.
    program = compile_program(tuple(["1:*"] * 400), resolve_all)
    assert len({id(key.args[0]) for key in program.args}) == 1


def test_search_tokens_are_taken_in_linear_time() -> None:
    started = time.perf_counter()
    compile_program(tuple(["ALL"] * MAX_SEARCH_KEYS), resolve_all)
    assert time.perf_counter() - started < 1


def test_repeated_ranges_are_merged_before_expanding() -> None:
    selected = Selected.__new__(Selected)
    selected.uids = array("I", range(1, 50_001))
    selected.saved = []
    everything = [c.SeqRange(1, None)] * 20_000
    ranges = (*everything, c.SeqRange(7, 3), c.SeqRange(49_999, 60_000))
    started = time.perf_counter()
    found = Selected.resolve(selected, c.SequenceSet(ranges), True)
    assert time.perf_counter() - started < 1  # 20,000 × 50,000 UIDs were copied before
    assert found == list(range(1, 50_001))
    few = c.SequenceSet((c.SeqRange(3, 5), c.SeqRange(4, 9), c.SeqRange(20, 20)))
    assert Selected.resolve(selected, few, False) == [3, 4, 5, 6, 7, 8, 9, 20]


def test_rights_events_are_counted_per_account() -> None:
    from hopthu.store.events import rights_changed

    bus = EventBus()
    bus.deliver(rights_changed(7, 9))
    bus.deliver(rights_changed(7))
    assert (bus.rights_generation(7), bus.rights_generation(9), bus.rights_generation(1)) == (2, 1, 0)
