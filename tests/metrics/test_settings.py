"""`[metrics]`: the listen address is checked at start, in both languages, and empty turns it off."""

from __future__ import annotations

from pathlib import Path

import pytest

from hopthu.config import listen_address, load_settings
from hopthu.errors import HopThuError


def test_the_default_is_loopback(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={})
    assert listen_address(settings.metrics.listen) == ("127.0.0.1", 9187)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0.0.0.0:9187", ("0.0.0.0", 9187)), ("[::1]:9100", ("::1", 9100)), ("127.0.0.1:0", ("127.0.0.1", 0))],
)
def test_addresses(text: str, expected: tuple[str, int]) -> None:
    assert listen_address(text) == expected


@pytest.mark.parametrize(
    "text", ["9187", "localhost:9187", "127.0.0.1:", "127.0.0.1:70000", "::1:9187", "1.2.3.4:-1"]
)
def test_bad_addresses_are_refused_at_start(tmp_path: Path, text: str) -> None:
    with pytest.raises(HopThuError) as refused:
        load_settings(tmp_path, environ={"HOPTHU_METRICS_LISTEN": text})
    assert "metrics.listen" in refused.value.vi and "metrics.listen" in refused.value.en
    assert "cổng" in refused.value.vi and "port" in refused.value.en


def test_empty_turns_it_off_and_slow_seconds_is_bounded(tmp_path: Path) -> None:
    assert load_settings(tmp_path, environ={"HOPTHU_METRICS_LISTEN": ""}).metrics.listen == ""
    with pytest.raises(HopThuError):
        load_settings(tmp_path, environ={"HOPTHU_METRICS_SLOW_SECONDS": "0"})
