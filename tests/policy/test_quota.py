"""Storage quotas and the attachment limit (R5.1)."""

import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hopthu.errors import HopThuError
from hopthu.policy.mailbox import MailboxKind
from hopthu.policy.quota import (
    GB,
    KB,
    MB,
    TB,
    QuotaRules,
    check_attachments,
    check_quota_setting,
    default_quota,
    fits,
    format_size,
    parse_size,
    reached_thresholds,
)

RULES = QuotaRules()


def test_r5_1_defaults_are_the_regulations_numbers_in_binary_units() -> None:
    """R5.1: personal at most 5 GB (default 5 GB), agency at least 10 GB, attachments 20 MB, warnings."""
    assert (KB, MB, GB) == (2**10, 2**20, 2**30)
    assert RULES.personal_max == 5 * 2**30
    assert RULES.agency_min == 10 * 2**30
    assert RULES.attachment_max == 20 * 2**20
    assert RULES.warn_percents == (80, 90, 95)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("5GB", 5 * GB),
        ("5 gb", 5 * GB),
        ("5GiB", 5 * GB),
        ("500MB", 500 * MB),
        ("20M", 20 * MB),
        ("1073741824", GB),
        ("1073741824 B", GB),
        ("4,5 GB", 4 * GB + GB // 2),
        ("4.5GB", 4 * GB + GB // 2),
        ("1,25 TB", TB + TB // 4),
        ("512k", 512 * KB),
        (" 10 GB ", 10 * GB),
        ("0", 0),
        ("4,7 GB", 5046586573),  # rounded to the nearest byte
    ],
)
def test_r5_1_parse_size_reads_what_administrators_type(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "GB", "5 XB", "-5GB", "5 G B", "1.024MB", "1,5", "1.5.5GB", "5e9"])
def test_r5_1_parse_size_refuses_in_vietnamese(text: str) -> None:
    """R5.1: a size it cannot read is refused with a message; `1.024MB` is ambiguous and refused."""
    with pytest.raises(HopThuError) as refused:
        parse_size(text)
    assert refused.value.code == "invalid_size"
    assert "Dung lượng" in refused.value.vi


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (0, "0 B"),
        (972, "972 B"),
        (973, "1 KB"),  # 0,95 KB rounds to 1
        (1000, "1 KB"),
        (1536, "1,5 KB"),
        (20 * MB, "20 MB"),
        (5 * GB, "5 GB"),
        (4 * GB + GB // 2, "4,5 GB"),
        (GB - 40 * KB, "1 GB"),
        (3 * TB, "3 TB"),
        (2048 * TB, "2048 TB"),
    ],
)
def test_r5_1_format_size_with_a_vietnamese_decimal_comma(size: int, shown: str) -> None:
    assert format_size(size) == shown


def test_r5_1_format_size_for_english_text_and_never_negative() -> None:
    assert format_size(4 * GB + GB // 2, decimal_mark=".") == "4.5 GB"
    with pytest.raises(ValueError):
        format_size(-1)


@given(st.integers(0, 100 * TB))
def test_r5_1_a_shown_size_reads_back_within_its_rounding(size: int) -> None:
    shown = format_size(size)
    unit = {"B": 1, "KB": KB, "MB": MB, "GB": GB, "TB": TB}[shown.split()[1]]
    assert abs(parse_size(shown) - size) <= unit // 20


@pytest.mark.parametrize("kind", [MailboxKind.PERSONAL, "personal"])
def test_r5_1_personal_quota_is_at_most_5_gb(kind: MailboxKind | str) -> None:
    """R5.1: a personal mailbox has at most 5 GB."""
    check_quota_setting(kind, 5 * GB, RULES)
    check_quota_setting(kind, 1 * GB, RULES)
    for size in (5 * GB + 1, 0, -1):
        with pytest.raises(HopThuError) as refused:
            check_quota_setting(kind, size, RULES)
        assert refused.value.code == "quota_out_of_range"
    assert "tối đa 5 GB" in refused.value.vi


@pytest.mark.parametrize("kind", [MailboxKind.AGENCY, "agency"])
def test_r5_1_agency_quota_is_at_least_10_gb(kind: MailboxKind | str) -> None:
    """R5.1: an agency mailbox has at least 10 GB, and may have more."""
    check_quota_setting(kind, 10 * GB, RULES)
    check_quota_setting(kind, 50 * GB, RULES)
    with pytest.raises(HopThuError) as refused:
        check_quota_setting(kind, 10 * GB - 1, RULES)
    assert "tối thiểu 10 GB" in refused.value.vi
    assert "at least 10 GB" in refused.value.en


def test_r5_1_default_quota_by_kind_and_adjusted_globally() -> None:
    """R5.1: defaults 5 GB and 10 GB, adjustable globally."""
    assert default_quota(MailboxKind.PERSONAL, RULES) == 5 * GB
    assert default_quota("agency", RULES) == 10 * GB
    larger = QuotaRules(personal_max=8 * GB, agency_min=20 * GB)
    assert default_quota("agency", larger) == 20 * GB
    assert default_quota("personal", larger) == 8 * GB
    check_quota_setting("personal", 8 * GB, larger)


@pytest.mark.parametrize(
    "fields",
    [
        {"personal_max": 0},
        {"agency_min": -1},
        {"attachment_max": 0},
        {"warn_percents": (90, 80)},
        {"warn_percents": (80, 80)},
        {"warn_percents": (0, 50)},
        {"warn_percents": (80, 100)},
    ],
)
def test_r5_1_inconsistent_settings_are_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(HopThuError) as refused:
        QuotaRules(**fields)
    assert refused.value.code == "invalid_setting"


def test_r5_1_a_message_fits_up_to_the_last_byte() -> None:
    """R5.1: a full mailbox stops accepting new mail."""
    assert fits(usage=4 * GB, quota=5 * GB, incoming=GB)
    assert not fits(usage=4 * GB, quota=5 * GB, incoming=GB + 1)
    assert not fits(usage=5 * GB, quota=5 * GB, incoming=1)
    assert fits(usage=5 * GB, quota=5 * GB, incoming=0)


@pytest.mark.parametrize(
    ("usage", "reached"),
    [
        (0, []),
        (4 * GB - 1, []),
        (4 * GB, [80]),  # 4 GB of 5 GB is exactly 80 %
        (5 * GB * 91 // 100, [80, 90]),
        (5 * GB * 96 // 100, [80, 90, 95]),
        (5 * GB, [80, 90, 95, 100]),
        (6 * GB, [80, 90, 95, 100]),  # over the quota (lowered by an administrator) is full
    ],
)
def test_r5_1_warnings_as_the_mailbox_nears_its_quota(usage: int, reached: list[int]) -> None:
    """R5.1: warn at 80, 90 and 95 % and at 100 %, full: the levels a mailbox's usage has reached."""
    assert reached_thresholds(usage, 5 * GB, RULES) == reached


def test_r5_1_warning_percentages_are_a_setting() -> None:
    assert reached_thresholds(50, 100, QuotaRules(warn_percents=(50,))) == [50]
    assert reached_thresholds(100, 100, QuotaRules(warn_percents=(50,))) == [50, 100]
    assert reached_thresholds(1, 0, RULES) == []  # no quota set, nothing to warn about


def test_r5_1_attachments_up_to_20_mb_pass() -> None:
    """R5.1: attachments at most 20 MB per message (total decoded size)."""
    check_attachments(0, RULES)
    check_attachments(20 * MB, RULES)


def test_r5_1_attachments_over_20_mb_are_refused_with_an_explanation() -> None:
    with pytest.raises(HopThuError) as refused:
        check_attachments(25 * MB, RULES)
    error = refused.value
    assert error.code == "attachment_too_large"
    assert "25 MB" in error.vi and "20 MB" in error.vi and "tệp đính kèm" in error.vi
    assert "25 MB" in error.en and "20 MB" in error.en
    with pytest.raises(HopThuError):
        check_attachments(20 * MB + 1, RULES)


def test_hostile_size_fields_are_refused_at_once() -> None:
    """R5: a size typed into a form may be megabytes; it is refused, never matched for minutes
    (the old pattern's two white-space runs backtracked: 0.4 s for 8,000 spaces, four times as long
    for each doubling) nor turned into a million-digit number. `re` holds the interpreter while it
    matches, so the check runs in a process of its own."""
    program = (
        "from hopthu.errors import HopThuError\n"
        "from hopthu.policy.quota import parse_size\n"
        "hostile = ('1' + ' ' * 1_000_000 + '!', ' ' * 1_000_000, '1' * 1_000_000)\n"
        "for text in (*hostile, '5' + ' ' * 40 + 'GB'):\n"
        "    try:\n"
        "        parse_size(text)\n"
        "    except HopThuError as error:\n"
        "        print(error.code)\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["invalid_size"] * 3, done.stderr[-2000:]
    assert parse_size("  4,5 GB ") == parse_size("4.5GB") == 4831838208
