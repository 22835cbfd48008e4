"""R13.6 in the portal, over HTTP as a browser's forms send it (httpx, cookies kept, redirects not
followed): an open breach's 72-hour deadline on the home page until it is reported; a person's data
exported and erased in two steps naming the address; an operator's own erasure refused."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator

import httpx
import pyotp
import pytest

from hopthu.config import Settings
from hopthu.directory import audit
from hopthu.policy.dates import VIETNAM
from tests.imap.conftest import RunningServer, message
from tests.smtp.conftest import PASSWORD

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def server_settings(server_settings: Settings) -> Settings:
    """A development address (plain http): cookies without the __Host- prefix, which httpx sends."""
    return dataclasses.replace(
        server_settings, server=dataclasses.replace(server_settings.server, web_url="http://127.0.0.1")
    )


@pytest.fixture
def operator(imapserver: RunningServer) -> Iterator[httpx.Client]:
    """ttnanh, an operator, signed in with the second factor proved."""
    imapserver.run(imapserver.services.directory.roles.grant("ttnanh", "operator", actor="test"))
    base = f"http://127.0.0.1:{imapserver.port('http')}"
    with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as client:
        token = CSRF.search(client.get("/dang-nhap").text).group(1)
        signed = client.post("/dang-nhap", data={"login": "ttnanh", "password": PASSWORD, "csrf": token})
        assert signed.status_code == 303, signed.text
        enrol = client.get("/quan-tri/xac-thuc/dang-ky")
        secret = re.search(r'<code id="secret">([^<]+)</code>', enrol.text).group(1).replace(" ", "")
        proved = client.post(
            "/quan-tri/xac-thuc",
            data={
                "code": pyotp.TOTP(secret).now(),
                "csrf": CSRF.search(enrol.text).group(1),
                "next": "/quan-tri",
                "password": PASSWORD,
            },
        )
        assert proved.status_code == 303, proved.text
        yield client


def post(client: httpx.Client, page: str, path: str, data: dict[str, str]) -> httpx.Response:
    token = CSRF.search(client.get(page).text).group(1)
    return client.post(path, data={"csrf": token, **data})


def test_r13_6_an_open_breach_shows_its_deadline_until_reported(
    imapserver: RunningServer, operator: httpx.Client
) -> None:
    found = dt.datetime.now(VIETNAM).replace(second=0, microsecond=0) - dt.timedelta(hours=80)
    recorded = post(
        operator,
        "/quan-tri/su-co-du-lieu",
        "/quan-tri/su-co-du-lieu",
        {
            "discovered_at": found.strftime("%Y-%m-%dT%H:%M"),
            "description": "Lộ danh bạ",
            "affected": "nvminh",
        },
    )
    assert recorded.status_code == 303, recorded.text
    home = operator.get("/quan-tri").text
    due = (found + dt.timedelta(hours=72)).astimezone(dt.UTC).isoformat()
    assert 'id="breaches-due"' in home and f'datetime="{due}"' in home
    assert re.search(r'class="left">\s*quá hạn', home)  # 80 hours on: past the 72
    (breach,) = imapserver.run(imapserver.services.directory.breaches.listing())
    assert breach.affected == ["nvminh"] and breach.affected_count == 1
    done = post(operator, "/quan-tri/su-co-du-lieu", f"/quan-tri/su-co-du-lieu/{breach.id}/bao-cao", {})
    assert done.status_code == 303
    assert 'id="breaches-due"' not in operator.get("/quan-tri").text

    async def acts() -> list[str]:
        async with imapserver.services.store.db.read() as conn:
            return [e.action for e in await audit.events_for(conn, f"breach:{breach.id}")]

    assert imapserver.run(acts()) == ["breach.reported", "breach.recorded"]


def test_r13_6_export_then_erase_in_two_steps(imapserver: RunningServer, operator: httpx.Client) -> None:
    imapserver.deliver("nvminh", message("Thư riêng"))
    page = "/quan-tri/hop-thu/nvminh"
    exported = post(operator, page, "/quan-tri/du-lieu-ca-nhan/nvminh/xuat.zip", {})
    assert exported.status_code == 200
    assert "ho-so.json" in zipfile.ZipFile(io.BytesIO(exported.content)).namelist()

    step = "/quan-tri/du-lieu-ca-nhan/nvminh/xoa"
    assert "nvminh@cantho.gov.vn" in operator.get(step).text
    wrong = post(operator, step, step, {"basis": "Đơn số 5", "confirm": "ttnanh"})
    assert wrong.status_code == 400 and "Hãy gõ lại đúng địa chỉ nvminh@cantho.gov.vn" in wrong.text
    erased = post(operator, step, step, {"basis": "Đơn số 5", "confirm": "nvminh@cantho.gov.vn"})
    assert erased.status_code == 303 and erased.headers["location"] == page
    assert "Đã xóa dữ liệu cá nhân của nvminh@cantho.gov.vn (1 thư)" in operator.get(page).text
    account = imapserver.run(imapserver.services.directory.accounts.get("nvminh"))
    assert account.status == "deleted" and account.message_count == 0

    own = "/quan-tri/du-lieu-ca-nhan/ttnanh/xoa"
    refused = post(operator, own, own, {"basis": "Đơn số 6", "confirm": "ttnanh"})
    assert refused.status_code == 400 and "quyền quản trị" in refused.text
