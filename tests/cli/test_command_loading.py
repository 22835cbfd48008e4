"""A command line imports only the command it runs (`hopthu.cli.build`), and still knows every one
when asked for help or given a name it does not know."""

from __future__ import annotations

import subprocess
import sys

from hopthu.cli import COMMANDS, GROUPS, app, build, named_command


def test_the_named_command_is_found_past_the_data_option() -> None:
    assert named_command(["--data", "account", "agency", "list"]) == "agency"
    assert named_command(["--data=/srv/hopthu", "serve"]) == "serve"
    assert named_command(["account", "add", "--json"]) == "account"


def test_help_and_unknown_names_see_every_command() -> None:
    assert named_command([]) is None
    assert named_command(["--help"]) is None
    assert named_command(["--data", "x", "khong-co"]) is None


def test_the_whole_command_line_has_every_command_and_group() -> None:
    names = {command.name for command in app.registered_commands}
    groups = {group.name for group in app.registered_groups}
    assert names == set(COMMANDS) and groups == set(GROUPS)
    one = build(["account"])
    assert not one.registered_commands and [g.name for g in one.registered_groups] == ["account"]


def test_one_command_imports_no_other_commands_module() -> None:
    code = (
        "import sys; from hopthu.cli import build, named_command;"
        "build([named_command(['agency', 'list'])]);"
        "print(sorted(m for m in sys.modules if m.startswith('hopthu.cli.')))"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "hopthu.cli.agency" in shown
    for other in ("serve", "migrate", "jobs", "account", "reports"):
        assert f"hopthu.cli.{other}'" not in shown, shown
