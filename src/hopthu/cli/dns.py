"""`hopthu dns …`: the DNS records each served domain needs, and whether DNS already says them."""

from __future__ import annotations

import typer

from hopthu.cli.common import EXIT_ERROR, fail, out, print_json, run, settings
from hopthu.config import Settings
from hopthu.discovery.check import DnsLookup, Finding, Status, check
from hopthu.discovery.records import Record, records
from hopthu.errors import HopThuError
from hopthu.smtp.dkim import dns_record, load_key

app = typer.Typer(help="Bản ghi DNS cần công bố / DNS records to publish", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="In kết quả dạng JSON / print JSON")
_LABEL = {
    Status.MATCH: "khớp / match",
    Status.MISSING: "thiếu / missing",
    Status.DIFFERENT: "khác / different",
    Status.FAILED: "không hỏi được / failed",
}


def published_records(config: Settings) -> list[Record]:
    key = load_key(config.path(config.smtp.dkim_key))
    _name, dkim_value = dns_record(key, config.smtp.dkim_selector, config.server.domain)
    return records(config, dkim_value)


def _records() -> list[Record]:
    try:
        return published_records(settings())
    except HopThuError as error:
        fail(error)


@app.command("show")
def show(as_json: bool = JSON) -> None:
    """In mọi bản ghi DNS của từng tên miền / Print every record of each domain (zone file)."""
    found = _records()
    if as_json:
        print_json([record.as_dict() for record in found])
        return
    domain = None
    for record in found:
        if record.domain != domain:
            domain = record.domain
            out.print(f"; {domain}", markup=False)
        out.print(record.zone_line(), markup=False, soft_wrap=True)


@app.command("check")
def check_command(
    as_json: bool = JSON,
    nameserver: str | None = typer.Option(
        None, "--nameserver", help="Hỏi máy chủ DNS này / ask this DNS server (an IP address)"
    ),
    port: int = typer.Option(53, "--nameserver-port", min=1, max=65535, help="Cổng của nó / its port"),
) -> None:
    """So bản ghi DNS đang có với bản ghi cần công bố / Compare what DNS answers with what to publish.

    Kết thúc với mã khác 0 nếu có bản ghi thiếu hay khác / Exits non-zero if a record is missing or different.
    """
    wanted = _records()
    lookup = DnsLookup(nameserver, port)
    findings: list[Finding] = run(lambda: check(wanted, lookup))
    if as_json:
        print_json([finding.as_dict() for finding in findings])
    else:
        for finding in findings:
            record = finding.record
            line = f"{_LABEL[finding.status]:<24} {record.name} {record.type} {record.value}"
            out.print(line, markup=False, soft_wrap=True)
            if finding.status in (Status.DIFFERENT, Status.FAILED):
                for value in finding.found:
                    out.print(f"{'':<24}   DNS: {value}", markup=False, soft_wrap=True)
        wrong = sum(finding.status is not Status.MATCH for finding in findings)
        out.print(f"{len(findings) - wrong}/{len(findings)} bản ghi khớp / records match", markup=False)
    if any(finding.status is not Status.MATCH for finding in findings):
        raise typer.Exit(EXIT_ERROR)
