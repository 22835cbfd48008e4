"""The operators' command line (`hopthu …`), Typer commands over the directory and the store."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from hopthu.cli import account, agency, apitoken, breach, dkim, dns, former, jobs, queue, role
from hopthu.cli.backups import backup, restore
from hopthu.cli.common import EXIT_ERROR, State, report
from hopthu.cli.init import init
from hopthu.cli.migrate import migrate
from hopthu.cli.reports import report as report_command
from hopthu.cli.serve import serve
from hopthu.errors import HopThuError
from hopthu.security.private import private_process

app = typer.Typer(
    name="hopthu",
    help="Hộp Thư: hệ thống thư điện tử / the city's e-mail system",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def options(
    data: Path = typer.Option(
        Path("data"), "--data", envvar="HOPTHU_DATA", help="Thư mục dữ liệu / data folder"
    ),
) -> None:
    private_process()  # before anything is written: mail, keys and backups are the owner's alone
    State.data_dir = data


app.command("init")(init)
app.command("serve")(serve)
app.command("report")(report_command)
app.command("backup")(backup)
app.command("restore")(restore)
app.command("migrate")(migrate)
app.add_typer(agency.app, name="agency")
app.add_typer(account.app, name="account")
app.add_typer(dkim.app, name="dkim")
app.add_typer(dns.app, name="dns")
app.add_typer(queue.app, name="queue")
app.add_typer(apitoken.app, name="api-token")
app.add_typer(jobs.app, name="jobs")
app.add_typer(breach.app, name="breach")
app.add_typer(role.app, name="role")
app.add_typer(former.app, name="former")


def main() -> None:
    try:
        app()
    except HopThuError as error:
        report(error)
        sys.exit(EXIT_ERROR)
