"""Personal addresses (R4.3a), namesakes (R4.3b) and display names (R4.4)."""

import datetime as dt
import re
import unicodedata
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hopthu.errors import HopThuError
from hopthu.policy.naming import (
    MAX_LENGTH,
    RESERVED,
    AssignmentReason,
    Namespace,
    PersonRequest,
    assign_people,
    display_name,
    person_base,
)
from tests.policy.strategies import families, givens, middles, spelled, taken_sets

DAY = dt.date(2025, 7, 1)
PERSONAL = re.compile(r"[a-z]+[0-9]*")


def request(family: str, middle: str, given: str, **fields: Any) -> PersonRequest:
    fields.setdefault("date", DAY)
    return PersonRequest(family=family, middle=middle, given=given, **fields)


def minh(**fields: Any) -> PersonRequest:
    return request("Nguyễn", "Văn", "Minh", **fields)


@pytest.mark.parametrize(
    ("family", "middle", "given", "base"),
    [
        ("Nguyễn", "Văn", "Minh", "nvminh"),
        ("Trần", "Thị Ngọc", "Ánh", "ttnanh"),
        ("Lê", "", "Minh", "lminh"),
    ],
)
def test_r4_3a_regulation_examples(family: str, middle: str, given: str, base: str) -> None:
    """R4.3a: Nguyễn Văn Minh → nvminh, Trần Thị Ngọc Ánh → ttnanh, Lê Minh → lminh."""
    assert person_base(family, middle, given) == base


@pytest.mark.parametrize(
    ("family", "middle", "given", "base"),
    [
        (" Nguyễn ", "  Văn  ", " Minh", "nvminh"),  # stray spaces
        ("NGUYỄN", "VĂN", "MINH", "nvminh"),  # capitals
        (unicodedata.normalize("NFD", "Nguyễn"), unicodedata.normalize("NFD", "Văn"), "Minh", "nvminh"),
        ("Đặng", "Đình", "Đức", "ddduc"),  # đ → d
        ("Nguyễn", "Thị Kim Ngọc", "Hà", "ntknha"),  # several middle names
        ("Tôn Nữ", "Thị", "Hà", "tntha"),  # a family name of two words
        ("Thạch", "", "K'Sor", "tksor"),  # non-letters dropped
        ("Nguyễn", "Văn", "Minh-Khôi", "nvminhkhoi"),
    ],
)
def test_r4_3a_base_from_names_as_typed(family: str, middle: str, given: str, base: str) -> None:
    """R4.3a: spaces, case, NFC/NFD, đ, several middle names and punctuation do not change the rule."""
    assert person_base(family, middle, given) == base


@pytest.mark.parametrize(
    ("family", "middle", "given"),
    [
        ("", "Văn", "Minh"),
        ("Nguyễn", "Văn", ""),
        ("Nguyễn", "Văn", "   "),
        ("--", "Văn", "Minh"),
        ("Nguyễn", "Văn", "Minh2"),
        ("Nguyễn", "3", "Minh"),
        ("Nguyễn", "", "Minh" * 20),
    ],
)
def test_r4_3a_unusable_names_are_refused_in_vietnamese(family: str, middle: str, given: str) -> None:
    """R4.3a: an empty name, a digit (it would clash with R4.3b's numbers) or an endless name is refused."""
    with pytest.raises(HopThuError) as refused:
        person_base(family, middle, given)
    assert refused.value.code == "name_invalid"
    assert refused.value.vi and refused.value.en


@given(st.text(), st.text(), st.text())
def test_r4_3a_any_input_gives_an_ascii_base_or_a_clear_refusal(family: str, middle: str, given: str) -> None:
    """R4.3a property: whatever is typed, the base is [a-z]+ of at most 60 characters, or HopThuError."""
    try:
        base = person_base(family, middle, given)
    except HopThuError:
        return
    assert re.fullmatch(r"[a-z]{2,60}", base)


@given(families, middles, givens, st.data())
def test_r4_3a_base_ignores_how_the_name_is_typed(
    family: str, middle: str, given: str, data: st.DataObject
) -> None:
    """R4.3a property: NFC or NFD, capitals and extra spaces give the same base."""
    typed = [data.draw(spelled(part)) for part in (family, middle, given)]
    assert person_base(*typed) == person_base(family, middle, given)


def test_r4_3b_regulation_example_nguyen_vo_minh_after_nguyen_van_minh() -> None:
    """R4.3b: nvminh belongs to Nguyễn Văn Minh, so Nguyễn Võ Minh registering later gets nvminh1."""
    [assignment] = assign_people([request("Nguyễn", "Võ", "Minh")], frozenset({"nvminh"}))
    assert assignment.address == "nvminh1"
    assert assignment.reason is AssignmentReason.NUMBERED
    assert assignment.position == 2


def test_r4_3b_first_registrant_keeps_the_base_later_ones_numbered_in_order_of_registration() -> None:
    """R4.3b: order of registration (the day), not order of the list, decides who keeps the base."""
    later = minh(date=dt.date(2025, 7, 3), key="later")
    earliest = minh(date=dt.date(2025, 7, 1), key="earliest")
    middle = minh(date=dt.date(2025, 7, 2), key="middle")
    assignments = assign_people([later, earliest, middle], frozenset())
    assert [a.request.key for a in assignments] == ["later", "earliest", "middle"]  # input order kept
    assert [a.address for a in assignments] == ["nvminh2", "nvminh", "nvminh1"]
    assert assignments[1].reason is AssignmentReason.BASE


def test_r4_3b_same_day_higher_rank_keeps_the_base() -> None:
    """R4.3b: registered the same day, the higher leadership rank keeps the base."""
    staff = minh(rank=0, key="staff")
    director = request("Nguyễn", "Võ", "Minh", rank=5, key="director")
    deputy = minh(rank=3, key="deputy")
    assignments = assign_people([staff, director, deputy], frozenset())
    assert {a.request.key: a.address for a in assignments} == {
        "director": "nvminh",
        "deputy": "nvminh1",
        "staff": "nvminh2",
    }


def test_r4_3b_same_day_same_rank_follows_the_list() -> None:
    """R4.3b: equal rank on one day: the order of the list decides."""
    assignments = assign_people([minh(key=1), minh(key=2)], frozenset())
    assert [a.address for a in assignments] == ["nvminh", "nvminh1"]


def test_r4_3b_rank_does_not_overtake_an_earlier_day() -> None:
    """R4.3b: rank only orders registrants of the same day."""
    early_staff = minh(date=dt.date(2025, 7, 1), rank=0)
    late_director = minh(date=dt.date(2025, 7, 2), rank=9)
    assignments = assign_people([late_director, early_staff], frozenset())
    assert [a.address for a in assignments] == ["nvminh1", "nvminh"]


def test_r4_3b_fourth_namesake_needs_administrator() -> None:
    """R4.3b: a batch of 5 Nguyễn Văn Minh: nvminh, nvminh1, nvminh2 automatic, the 4th and 5th proposed."""
    assignments = assign_people([minh(key=k) for k in range(5)], frozenset())
    assert [a.address for a in assignments] == ["nvminh", "nvminh1", "nvminh2", None, None]
    assert [a.position for a in assignments] == [1, 2, 3, 4, 5]
    assert [a.needs_administrator for a in assignments] == [False, False, False, True, True]
    assert assignments[3].reason is AssignmentReason.NAMESAKE_LIMIT
    assert assignments[3].proposals == ("nvminh3", "nguyenvminh", "nvanminh", "nguyenvanminh")
    assert assignments[4].proposals == ("nvminh4",)  # the name forms were offered to the 4th already


def test_r4_3b_namesakes_already_present_are_counted_from_taken() -> None:
    """R4.3b: the base and base+digits in `taken` are namesakes: three of them make the next one the 4th."""
    [fourth] = assign_people([minh()], frozenset({"nvminh", "nvminh1", "nvminh2"}))
    assert fourth.needs_administrator
    assert fourth.position == 4
    assert fourth.proposals[0] == "nvminh3"


def test_r4_3b_the_first_free_number_is_given() -> None:
    """R4.3b: with nvminh and nvminh7 present the third namesake is automatic and gets nvminh1."""
    [third] = assign_people([minh()], frozenset({"nvminh", "nvminh7"}))
    assert (third.address, third.position) == ("nvminh1", 3)


def test_r4_3b_other_addresses_sharing_letters_are_not_namesakes() -> None:
    """R4.3b: nvminhkhoi, nvminh.sonv and vnvminh are not holders of the base nvminh."""
    [first] = assign_people([minh()], frozenset({"nvminhkhoi", "nvminh.sonv", "vnvminh", "nvminh1a"}))
    assert (first.address, first.position, first.reason) == ("nvminh", 1, AssignmentReason.BASE)


def test_r4_3b_proposals_leave_out_taken_and_reserved_forms() -> None:
    """R4.3b: every proposal is free and issuable."""
    taken = frozenset({"nvminh", "nvminh1", "nvminh2", "nvminh3", "nguyenvminh"})
    [fourth] = assign_people([minh()], taken)
    assert fourth.proposals == ("nvminh4", "nvanminh", "nguyenvanminh")


def test_r4_3b_proposals_without_a_middle_name_do_not_repeat() -> None:
    """R4.3b: Lê Minh has no middle name: the forms `leminh` (family whole, all whole) are offered once."""
    [fourth] = assign_people([request("Lê", "", "Minh")], frozenset({"lminh", "lminh1", "lminh2"}))
    assert fourth.proposals == ("lminh3", "leminh")


def test_r4_3b_urgent_request_goes_to_an_administrator_with_the_automatic_address_first() -> None:
    """R4.3b: for an urgent task the system proposes and an administrator chooses."""
    [urgent] = assign_people([minh(urgent=True)], frozenset())
    assert urgent.reason is AssignmentReason.URGENT
    assert urgent.address is None
    assert urgent.proposals[0] == "nvminh"


def test_r4_3b_automatic_limit_is_a_setting() -> None:
    """R4.3b: a province reading "the fourth duplicate" sets the limit to 4."""
    assignments = assign_people([minh() for _ in range(5)], frozenset(), automatic_limit=4)
    assert [a.address for a in assignments] == ["nvminh", "nvminh1", "nvminh2", "nvminh3", None]
    with pytest.raises(ValueError):
        assign_people([minh()], frozenset(), automatic_limit=0)


def test_r4_reserved_base_is_never_issued() -> None:
    """R4: Âu Đức Min would be `admin`, which is reserved: the first free numbered form is given."""
    [first] = assign_people([request("Âu", "Đức", "Min")], frozenset())
    assert first.address == "admin1"
    assert first.position == 1


def test_r4_3b_a_namespace_carries_one_batch_into_the_next() -> None:
    """R4.3b: settled addresses are claimed, so the next batch counts them as namesakes."""
    namespace = Namespace(frozenset({"sonv"}))
    for assignment in assign_people([minh(), minh()], namespace):
        assert assignment.address is not None
        namespace.claim(assignment.address)
    [third, fourth] = assign_people([minh(), minh()], namespace)
    assert third.address == "nvminh2"
    assert fourth.needs_administrator
    namespace.claim(third.address)
    namespace.claim(fourth.proposals[1])  # an administrator's choice
    assert namespace.claimed == {"nvminh", "nvminh1", "nvminh2", "nguyenvminh"}


def test_r4_3b_accepting_every_first_proposal_of_a_batch_never_collides() -> None:
    """R4.3b: 89 namesakes like `ntanh` in one batch; an operator accepts every first proposal at once."""
    people = [request("Nguyễn", "Thị", "Anh", key=k) for k in range(60)]
    people += [request("Ngô", "Tuấn", "Anh", key=k) for k in range(29)]
    namespace = Namespace(frozenset({"ntanh5"}))
    for assignment in assign_people(people, namespace):
        namespace.claim(assignment.address or assignment.proposals[0])
    assert len(namespace.claimed) == 89


def test_r4_3b_a_bad_row_fails_alone_and_a_datetime_is_not_a_day() -> None:
    """R4.3b: names are checked when the row is read; `date` is the day of registration."""
    with pytest.raises(HopThuError):
        request("Nguyễn", "Văn", "")
    with pytest.raises(TypeError):
        minh(date=dt.datetime(2025, 7, 1, 8, 0))


def test_r4_3b_no_free_number_left_is_a_clear_refusal() -> None:
    """R4.3b: when base, base1 … base9999 are all taken no address fits in 64 characters."""
    base = person_base("B", "", "a" * 59)
    taken = frozenset({base} | {f"{base}{n}" for n in range(1, 10_000)})
    with pytest.raises(HopThuError) as refused:
        assign_people([request("B", "", "a" * 59)], taken)
    assert refused.value.code == "address_exhausted"


people_requests = st.builds(
    lambda family, middle, given, day, rank, urgent: request(
        family, middle, given, date=dt.date(2025, 7, day), rank=rank, urgent=urgent
    ),
    families,
    middles,
    st.sampled_from(["Minh", "Anh", "Min"]),
    st.integers(1, 3),
    st.integers(0, 3),
    st.sampled_from([False, False, False, True]),
)


@given(st.lists(people_requests, max_size=25), taken_sets, st.integers(1, 5))
def test_r4_3b_every_address_and_proposal_is_issuable_and_unique(
    requests: list[PersonRequest], taken: frozenset[str], limit: int
) -> None:
    """R4, R4.3b property: generated addresses are [a-z0-9], free, not reserved, never offered twice."""
    assignments = assign_people(requests, taken, automatic_limit=limit)
    assert [a.request for a in assignments] == requests
    offered = []
    for assignment in assignments:
        offered += [assignment.address] if assignment.address else list(assignment.proposals)
        automatic = not assignment.request.urgent and assignment.position <= limit
        assert assignment.needs_administrator is not automatic
        assert assignment.proposals or not assignment.needs_administrator
    assert len(offered) == len(set(offered))
    for local in offered:
        assert PERSONAL.fullmatch(local) and len(local) <= MAX_LENGTH
        assert local not in taken and local not in RESERVED


@given(st.lists(people_requests, min_size=1, max_size=25), taken_sets)
def test_r4_3b_holders_of_a_base_are_counted_one_by_one(
    requests: list[PersonRequest], taken: frozenset[str]
) -> None:
    """R4.3b property: among one base, positions run on from the namesakes already in `taken`."""
    assignments = assign_people(requests, taken)
    for base in {r.base for r in requests}:
        present = sum(1 for local in taken if re.fullmatch(rf"{base}[0-9]*", local))
        positions = sorted(a.position for a in assignments if a.request.base == base)
        assert positions == list(range(present + 1, present + 1 + len(positions)))


@pytest.mark.parametrize(
    ("family", "middle", "given", "agency", "shown"),
    [
        ("Nguyễn", "Văn", "Minh", "Sở Nội vụ", "Nguyễn Văn Minh (Sở Nội vụ)"),
        ("Lê", "", "Minh", "Phường Ninh Kiều", "Lê Minh (Phường Ninh Kiều)"),
        (" Trần ", "Thị  Ngọc", "Ánh ", " Sở  Y tế", "Trần Thị Ngọc Ánh (Sở Y tế)"),
        (unicodedata.normalize("NFD", "Nguyễn"), "Văn", "Minh", "Sở Nội vụ", "Nguyễn Văn Minh (Sở Nội vụ)"),
    ],
)
def test_r4_4_display_name_is_the_full_name_and_the_agency(
    family: str, middle: str, given: str, agency: str, shown: str
) -> None:
    """R4.4: full name with diacritics and the agency's name, single spaces, NFC."""
    assert display_name(family, middle, given, agency) == shown
    assert unicodedata.is_normalized("NFC", display_name(family, middle, given, agency))


def test_r4_4_display_name_needs_a_name_and_an_agency() -> None:
    with pytest.raises(HopThuError):
        display_name(" ", "", "", "Sở Nội vụ")
    with pytest.raises(HopThuError):
        display_name("Nguyễn", "Văn", "Minh", "  ")
