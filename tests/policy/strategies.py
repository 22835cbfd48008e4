"""Hypothesis strategies for the policy tests: Vietnamese-looking names and addresses in use."""

import unicodedata

from hypothesis import strategies as st

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Đặng", "Ngô", "Thạch", "Âu"]
MIDDLE = ["Văn", "Thị", "Ngọc", "Hữu", "Đức", "Minh", "Kim", "Thanh", "Vĩnh", "Ánh"]
GIVEN = ["Minh", "Anh", "Hương", "Đức", "Tâm", "Ánh", "Nhung", "Phúc", "Sơn", "Ý"]

families = st.sampled_from(FAMILY)
middles = st.lists(st.sampled_from(MIDDLE), max_size=3).map(" ".join)
givens = st.sampled_from(GIVEN)


def spelled(text: str) -> st.SearchStrategy[str]:
    """`text` as a user might type it: NFC or NFD, any case, stray spaces around."""
    return st.tuples(
        st.sampled_from(["NFC", "NFD"]),
        st.sampled_from([str, str.upper, str.lower, str.title]),
        st.sampled_from(["", " ", "  "]),
    ).map(lambda t: t[2] + unicodedata.normalize(t[0], t[1](text)).replace(" ", " " + t[2]) + t[2])


# Addresses already in use: bases of the names above, some numbered, and some arbitrary ones.
taken_sets = st.frozensets(
    st.one_of(
        st.sampled_from(["nvminh", "nvminh1", "nvminh2", "ntanh", "ntanh1", "lminh", "sonv", "ubnd"]),
        st.from_regex(r"[a-z]{1,8}[0-9]{0,2}", fullmatch=True),
    ),
    max_size=30,
)
