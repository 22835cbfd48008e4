"""The `[limits]` section and `smtp.max_line_bytes`: defaults, `HOPTHU_*` overrides, and values
that cannot work refused at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from hopthu.config import MiB, load_settings, sample_config
from hopthu.errors import HopThuError


def test_defaults_and_environment_overrides(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, {})
    assert settings.limits.imap_connections_per_address == 500
    assert settings.limits.prelogin_timeout_seconds == 60.0
    assert settings.smtp.max_line_bytes == MiB
    assert "[limits]" in sample_config(settings)
    changed = load_settings(
        tmp_path,
        {"HOPTHU_LIMITS_MX_CONNECTIONS_PER_ADDRESS": "3", "HOPTHU_LIMITS_PRELOGIN_TIMEOUT_SECONDS": "2.5"},
    )
    assert (changed.limits.mx_connections_per_address, changed.limits.prelogin_timeout_seconds) == (3, 2.5)


@pytest.mark.parametrize(
    "env",
    [
        {"HOPTHU_LIMITS_HTTP_CONNECTIONS": "0"},
        {"HOPTHU_LIMITS_PRELOGIN_TIMEOUT_SECONDS": "-1"},
        {"HOPTHU_SMTP_MAX_LINE_BYTES": "500"},
    ],
)
def test_values_that_cannot_work_are_refused(tmp_path: Path, env: dict[str, str]) -> None:
    with pytest.raises(HopThuError):
        load_settings(tmp_path, env)
