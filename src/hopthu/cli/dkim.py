"""`hopthu dkim …`: the DNS record that lets the world check our signatures (R3.2)."""

from __future__ import annotations

import typer

from hopthu.cli.common import fail, out, print_json, settings
from hopthu.config import Settings
from hopthu.errors import HopThuError
from hopthu.smtp.dkim import dns_record, load_key

app = typer.Typer(help="Khóa ký DKIM / DKIM signing key", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="In kết quả dạng JSON / print JSON")
_TXT_STRING = 255  # RFC 1035 §3.3.14: one TXT character-string holds at most 255 octets


def published_record(config: Settings) -> tuple[str, str]:
    """The TXT record's name and value for the data folder's domain and key."""
    key = load_key(config.path(config.smtp.dkim_key))
    return dns_record(key, config.smtp.dkim_selector, config.server.domain)


def zone_line(name: str, value: str) -> str:
    """The record as a zone-file line, its value cut into strings DNS can hold."""
    parts = " ".join(f'"{value[i : i + _TXT_STRING]}"' for i in range(0, len(value), _TXT_STRING))
    return f"{name}. IN TXT ( {parts} )"


@app.command("show")
def show(as_json: bool = JSON) -> None:
    """In bản ghi DNS TXT cần công bố / Print the DNS TXT record to publish."""
    try:
        name, value = published_record(settings())
    except HopThuError as error:
        fail(error)
    if as_json:
        print_json({"name": name, "type": "TXT", "value": value, "zone": zone_line(name, value)})
        return
    out.print(f"Tên / Name: {name}", markup=False)
    out.print("Loại / Type: TXT", markup=False)
    out.print(f"Giá trị / Value: {value}", markup=False, soft_wrap=True)
    out.print(f"Tệp vùng / Zone file: {zone_line(name, value)}", markup=False, soft_wrap=True)
