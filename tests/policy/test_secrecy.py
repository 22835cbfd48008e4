"""Secrecy markings in outgoing mail (R8.1): stamps are found, everyday words are not."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hopthu.policy.secrecy import MarkingForm, SecrecyLevel, find_secrecy_markings, secrecy_refusal
from hopthu.text import fold

M, TOI, TUYET = SecrecyLevel.MAT, SecrecyLevel.TOI_MAT, SecrecyLevel.TUYET_MAT
LABEL, BRACKETED, ALONE, CAPITALS = (
    MarkingForm.LABEL,
    MarkingForm.BRACKETED,
    MarkingForm.ALONE,
    MarkingForm.CAPITALS,
)

STAMPS = [
    ("MẬT", M, ALONE),
    ("Mật", M, ALONE),
    ("mật", M, ALONE),
    ("TỐI MẬT", TOI, ALONE),
    ("TUYỆT MẬT", TUYET, ALONE),
    ("TUYET MAT", TUYET, ALONE),
    ("TOI MAT", TOI, ALONE),
    ("MAT", M, ALONE),
    ("*** TUYỆT MẬT ***", TUYET, ALONE),
    ("  Tối mật.", TOI, ALONE),
    ("ĐỘ MẬT: MẬT", M, LABEL),
    ("Độ mật: Tối mật", TOI, LABEL),
    ("Độ mật - Tuyệt mật", TUYET, LABEL),
    ("Do mat: tuyet mat", TUYET, LABEL),
    ("Mức độ mật: MẬT", M, LABEL),
    ("[MẬT] Báo cáo tình hình", M, BRACKETED),
    ("(MẬT)", M, BRACKETED),
    ("Kế hoạch số 12 (Tối mật)", TOI, BRACKETED),
    ("[ TUYET MAT ] Ke hoach", TUYET, BRACKETED),
    ("«MẬT» Công văn", M, BRACKETED),
    ("TỐI MẬT - Kế hoạch phòng thủ", TOI, CAPITALS),
    ("Gửi tài liệu TUYỆT MẬT về dự án", TUYET, CAPITALS),
    ("Kế hoạch MẬT", M, CAPITALS),
    ("MẬT: phương án", M, CAPITALS),
    ("V/v MẬT 2025", M, CAPITALS),
    ("Báo cáo TUYET MAT, xin xem", TUYET, CAPITALS),
]

EVERYDAY = [
    "Đổi mật khẩu",
    "ĐỔI MẬT KHẨU",
    "Mật khẩu: Cantho@2025",
    "(mật khẩu)",
    "[MẬT KHẨU]",
    "Quên MẬT khẩu",
    "mật độ dân số",
    "MẬT ĐỘ DÂN SỐ",
    "Mật độ: 1.200 người/km²",
    "mật mã",
    "Mật ong rừng U Minh",
    "MẬT ONG",
    "Chào thân mật,",
    "thân MẬT",
    "bí mật",
    "BÍ MẬT",
    "bảo mật thông tin",
    "CẢNH BÁO BẢO MẬT",
    "Bộ phận bảo MẬT",
    "Bảo vệ bí mật nhà nước",
    "tài liệu tối mật phải được bảo vệ",
    "Các độ mật gồm: Tuyệt mật, Tối mật và Mật.",
    "Tài liệu có độ mật cao",
    "Ủy ban MTTQ, Mặt trận Tổ quốc",
    "MẶT TRẬN TỔ QUỐC VIỆT NAM",
    "MẶT",
    "mất",
    "Mát",
    "mắt",
    "mat",
    "Mat",
    "tuyet mat",
    "(mat)",
    "Dear Mat,",
    "MATH",
    "Mật123",
    "Tôi sẽ gửi mật báo sau",
    "Độ mật: cao",
]


@pytest.mark.parametrize(("text", "level", "form"), STAMPS)
def test_r8_1_secrecy_stamps_are_found_in_the_subject(
    text: str, level: SecrecyLevel, form: MarkingForm
) -> None:
    """R8.1: MẬT, TỐI MẬT, TUYỆT MẬT and their stamp forms are detected."""
    [marking] = find_secrecy_markings(text, "")
    assert (marking.level, marking.form, marking.where, marking.line) == (level, form, "subject", 1)
    assert fold(marking.text) == fold(" ".join(level.value))


@pytest.mark.parametrize("text", EVERYDAY)
def test_r8_1_everyday_words_are_never_markings(text: str) -> None:
    """R8.1: mật khẩu, mật độ, thân mật, bí mật, bảo mật, prose about the levels: no marking."""
    assert find_secrecy_markings(text, text) == []


def test_r8_1_markings_in_the_body_carry_their_line() -> None:
    body = "Kính gửi: Sở Nội vụ\r\n\r\nTUYỆT MẬT\nNội dung: mật khẩu mới\n(MẬT)"
    markings = find_secrecy_markings("Báo cáo", body)
    assert [(m.where, m.line, m.level) for m in markings] == [("body", 3, TUYET), ("body", 5, M)]


def test_r8_1_several_markings_on_one_line_and_the_subject_first() -> None:
    markings = find_secrecy_markings("[MẬT] Kế hoạch", "Độ mật: TỐI MẬT [MẬT]")
    assert [(m.where, m.level, m.form) for m in markings] == [
        ("subject", M, BRACKETED),
        ("body", TOI, LABEL),
        ("body", M, BRACKETED),
    ]


def test_r8_1_refusal_explains_in_vietnamese_and_english() -> None:
    """R8.1: the mail is held or refused with an explanation."""
    error = secrecy_refusal(find_secrecy_markings("TỐI MẬT - Kế hoạch", "xem\nMẬT"))
    assert error.code == "secrecy_marking"
    assert "“TỐI MẬT” (tiêu đề)" in error.vi and "“MẬT” (nội dung, dòng 2)" in error.vi
    assert "bí mật nhà nước" in error.vi and "Điều 8" in error.vi
    assert "“TỐI MẬT” (subject)" in error.en and "(body, line 2)" in error.en
    assert "state-secret" in error.en
    with pytest.raises(ValueError):
        secrecy_refusal([])


def test_r8_1_levels_have_their_stamp_labels() -> None:
    assert [level.vi for level in SecrecyLevel] == ["MẬT", "TỐI MẬT", "TUYỆT MẬT"]


plain_lines = st.text(
    st.characters(exclude_characters="\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"), max_size=40
)


@given(st.lists(plain_lines, max_size=8))
def test_r8_1_text_without_the_word_mat_has_no_marking(lines: list[str]) -> None:
    """R8.1 property: nothing is found where no word folds to `mat`."""
    body = "\n".join(line for line in lines if "mat" not in fold(line))
    assert find_secrecy_markings("", body) == []


@given(st.lists(plain_lines, max_size=8), st.integers(0, 8), st.sampled_from(STAMPS))
def test_r8_1_a_stamp_on_its_own_line_is_found_in_any_text(
    lines: list[str], at: int, stamp: tuple[str, SecrecyLevel, MarkingForm]
) -> None:
    """R8.1 property: a stamp line inserted anywhere in a body is found on that line."""
    text, level, _ = stamp
    at = min(at, len(lines))
    body = "\n".join([*lines[:at], text, *lines[at:]])
    assert any(m.line == at + 1 and m.level is level for m in find_secrecy_markings("", body))
