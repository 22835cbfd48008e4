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
    # R13.3's idle minutes: a person's session, a public computer's, an administrator's
    idle = [getattr(settings.policy, f"session_{kind}idle_minutes") for kind in ("", "public_", "admin_")]
    assert idle == [30, 15, 15]
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
        {"HOPTHU_POLICY_SESSION_ADMIN_IDLE_MINUTES": "0"},
        {"HOPTHU_POLICY_SESSION_IDLE_MINUTES": "nan"},
    ],
)
def test_values_that_cannot_work_are_refused(tmp_path: Path, env: dict[str, str]) -> None:
    with pytest.raises(HopThuError):
        load_settings(tmp_path, env)


def test_pop3_has_its_own_section(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, {"HOPTHU_POP3_PORT": "2110"})
    assert (settings.pop3.port, settings.pop3.tls_port, settings.pop3.max_command) == (2110, 1995, 255)
    sample = sample_config(settings)
    assert "[pop3]" in sample and "pop3_port" not in sample
    assert load_settings(tmp_path, {"HOPTHU_POP3_TLS_PORT": "-1"}).pop3.tls_port == -1
    with pytest.raises(HopThuError):
        load_settings(tmp_path, {"HOPTHU_POP3_PORT": "70000"})


def test_pop3_keys_under_imap_still_start_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A configuration written before [pop3] existed keeps working; the log says where the keys went."""
    (tmp_path / "hopthu.toml").write_text("[imap]\nport = 2143\npop3_port = 2110\npop3_max_command = 512\n")
    settings = load_settings(tmp_path, {"HOPTHU_IMAP_POP3_TLS_PORT": "2995"})
    assert (settings.imap.port, settings.pop3.port, settings.pop3.tls_port) == (2143, 2110, 2995)
    assert settings.pop3.max_command == 512
    moved = [r.getMessage() for r in caplog.records if r.name == "hopthu.config"]
    assert any("imap.pop3_port" in m and "pop3.port" in m for m in moved)
    assert any("imap.pop3_tls_port" in m and "pop3.tls_port" in m for m in moved)


def test_a_pop3_key_under_both_names_is_refused(tmp_path: Path) -> None:
    (tmp_path / "hopthu.toml").write_text("[imap]\npop3_port = 2110\n\n[pop3]\nport = 3110\n")
    with pytest.raises(HopThuError, match=r"imap\.pop3_port"):
        load_settings(tmp_path, {})
