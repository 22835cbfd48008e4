"""`hopthu init`: a new data folder with configuration, database, certificate and first administrator."""

from __future__ import annotations

import dataclasses
import ipaddress
from urllib.parse import urlsplit

import typer

from hopthu.cli.common import State, open_directory, out, print_json, run
from hopthu.config import CONFIG_FILE, ServerSettings, load_settings, sample_config
from hopthu.directory.bootstrap import bootstrap
from hopthu.errors import HopThuError
from hopthu.security.certs import make_self_signed
from hopthu.security.secretbox import KEY_FILE, load_or_create
from hopthu.smtp.dkim import generate_key


def init(
    domain: str = typer.Option("cantho.gov.vn", help="Miền thư / mail domain"),
    web_url: str = typer.Option("", help="Địa chỉ web / web address (mặc định https://mail.<domain>)"),
    database_url: str = typer.Option("", help="PostgreSQL URL; trống = SQLite trong thư mục dữ liệu"),
    as_json: bool = typer.Option(False, "--json", help="In kết quả dạng JSON / print JSON"),
) -> None:
    """Khởi tạo thư mục dữ liệu / Create the data folder, database, certificate and first administrator."""
    data = State.data_dir
    if (data / CONFIG_FILE).exists():
        raise HopThuError(
            f"Thư mục {data} đã được khởi tạo (có {CONFIG_FILE})",
            f"The folder {data} is already initialised (it has {CONFIG_FILE})",
        )
    domain = domain.strip().lower()
    if not domain or "." not in domain or any(c.isspace() for c in domain):
        raise HopThuError(f"Miền không hợp lệ: '{domain}'", f"Invalid domain: '{domain}'")
    data.mkdir(parents=True, exist_ok=True, mode=0o700)
    settings = load_settings(data)
    settings = dataclasses.replace(
        settings,
        server=dataclasses.replace(
            settings.server, domain=domain, web_url=web_url or f"https://mail.{domain}"
        ),
        store=dataclasses.replace(settings.store, database_url=database_url),
    )

    async def work():
        async with open_directory(settings) as directory:
            return await bootstrap(directory)

    admin = run(work)
    # Written last: a folder with a configuration file is one whose database is ready.
    make_self_signed(
        settings.path(ServerSettings.tls_cert),
        settings.path(ServerSettings.tls_key),
        [name for name in (urlsplit(settings.server.web_url).hostname, domain) if name and not _is_ip(name)],
    )
    dkim_key = settings.path(settings.smtp.dkim_key)
    if not dkim_key.exists():
        generate_key(dkim_key)
    load_or_create(settings.path(KEY_FILE))
    (data / CONFIG_FILE).write_text(sample_config(settings), encoding="utf-8")
    if as_json:
        print_json(
            {
                "data_dir": str(data),
                "domain": domain,
                "administrator": admin.address,
                "temporary_password": admin.temporary_password,
            }
        )
        return
    out.print(f"Đã khởi tạo / Initialised: {data.resolve()}")
    out.print(f"Quản trị viên đầu tiên / First administrator: {admin.address}")
    out.print(
        f"Mật khẩu tạm (chỉ hiện một lần, phải đổi khi đăng nhập) / Temporary password "
        f"(shown once, must be changed at first sign-in): {admin.temporary_password}",
        markup=False,
    )


def _is_ip(name: str) -> bool:
    """An address such as 127.0.0.1 (a development web address) is not a DNS name for the certificate."""
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
