"""A list of 10,000 change requests (R10.3) from an .xlsx file, previewed, filed as one batch and
approved as one batch through the administration portal's own pages, as the regulation asks: a
server started in this process (`server.Server`, every listener on a free port) and its web app
driven by httpx over the in-process ASGI transport at the site's public https address, so the
portal's cookies (`__Host-`, Secure) go as a browser sends them.

Sở Nội vụ's agency manager signs in on the sign-in page and passes the portal's second factor
(enrolling a TOTP key, as on a first visit), uploads the .xlsx on the new-request page (the list
section, kind `change`), reads the preview (checked to say every row can be filed) and files the
good rows with the compressed hidden field the preview carries; an operator, signed in the same
way, opens the batch on the requests page and approves it with its form. Each step counts what the
person waits for: the page its form is on, the POST and the page its redirect leads to
(Post/Redirect/Get). The people are
then counted in their new agency, so the figures are of work done.

Each step is run once untraced for its time, and once under tracemalloc for the peak of memory
Python allocated during it (the traced run is slower; its time is not reported; the server shares
the process, so its own allocations are in the peak). To trace an approval without approving the
same rows twice, the people move to Văn phòng in the timed run and back in the traced one: two lists
of the same size and the same work.

`--via api` measures the same three steps through the REST API's routes instead
(`/lists/change/preview`, `/lists/change`, `/batches/{batch}/approve`) with API tokens.

    python bench/lists.py [--rows 10000] [--backend sqlite,postgresql] [--via portal|api]
"""

from __future__ import annotations

import argparse
import io
import itertools
import re
import shutil
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pyotp
from common import fresh_pg, run_per_backend

from hopthu.config import Settings, StoreSettings
from hopthu.directory.people import PersonRow
from hopthu.security.certs import make_self_signed
from hopthu.server import Server, with_ports
from hopthu.web.app import create_app
from hopthu.web.lists import unpack

FAMILIES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng"]
MIDDLES = ["Văn", "Thị", "Hữu", "Đức", "Thanh", "Minh", "Ngọc", "Quốc", "Gia", "Khánh"]
GIVENS = ["An", "Bảo", "Châu", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hiếu", "Hòa", "Hùng", "Khoa"]
PASSWORD = "Hop-Thu-2026"
REQUESTS = "/quan-tri/yeu-cau"


def change_list(locals_: list[str], agency: str) -> bytes:
    """The .xlsx an agency would send: every person moved to `agency`."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Danh sách")
    sheet.append(["Địa chỉ thư", "Mã cơ quan mới", "Lý do", "Số văn bản"])
    for local in locals_:
        sheet.append([local, agency, "transferred", "125/QĐ-SNV"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def measured(step: Callable[[], Awaitable[Any]], *, traced: bool) -> tuple[Any, float, int]:
    """The step's answer, its wall time and (when traced) the peak Python allocated above the start."""
    if traced:
        tracemalloc.start()
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
    started = time.perf_counter()
    answer = await step()
    elapsed = time.perf_counter() - started
    peak = 0
    if traced:
        peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
    return answer, elapsed, peak


def csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


async def administrator(app: Any, site: str, login: str) -> httpx.AsyncClient:
    """A browser-like client signed in as `login` on the sign-in page, its second factor enrolled."""
    browser = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=site, headers={"Origin": site}, timeout=None
    )
    form = csrf(await browser.get("/dang-nhap"))
    signed = await browser.post("/dang-nhap", data={"login": login, "password": PASSWORD, "csrf": form})
    assert signed.status_code == 303, signed.text[:500]
    page = await browser.get("/quan-tri/xac-thuc/dang-ky")
    secret = re.search(r'id="secret">([^<]+)<', page.text)
    assert secret, page.text[:500]
    code = pyotp.TOTP(secret.group(1).replace(" ", "")).now()
    form = {"code": code, "password": PASSWORD, "next": "/quan-tri", "csrf": csrf(page)}
    passed = await browser.post("/quan-tri/xac-thuc", data=form)
    assert passed.status_code == 303, passed.text[:500]
    return browser


class Portal:
    """The three steps on the portal's pages."""

    def __init__(self, hr: httpx.AsyncClient, desk: httpx.AsyncClient) -> None:
        self.hr, self.desk = hr, desk

    async def preview(self, upload: bytes) -> tuple[int, dict[str, str]]:
        """The preview page; how many rows it says can be filed, and its filing form."""
        form = csrf(await self.hr.get(REQUESTS + "/moi"))
        page = await self.hr.post(
            REQUESTS + "/danh-sach",
            data={"csrf": form, "kind": "change"},
            files={"file": ("danh-sach.xlsx", upload)},
        )
        assert page.status_code == 200, page.text[:500]
        said = re.search(r'role="status">(\d+) dòng: (\d+) gửi được, (\d+) có lỗi', page.text)
        assert said, page.text[:1000]
        fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text))
        return int(said.group(2)), fields

    async def file(self, fields: dict[str, str]) -> str:
        """The preview's form sent; the batch the queue page it leads to shows."""
        queue = await self.hr.post(REQUESTS + "/danh-sach/gui", data=fields, follow_redirects=True)
        assert queue.status_code == 200, queue.text[:500]
        batch = re.search(r"[?&]lo=(\w+)", str(queue.url))
        assert batch, queue.url
        return batch.group(1)

    async def approve(self, batch: str) -> str:
        """The batch opened on the requests page, approved with its form; the page's outcome."""
        page = await self.desk.get(REQUESTS, params={"lo": batch})
        assert f"/lo/{batch}/duyet" in page.text, page.text[:1000]
        done = await self.desk.post(
            f"{REQUESTS}/lo/{batch}/duyet", data={"csrf": csrf(page)}, follow_redirects=True
        )
        assert done.status_code == 200, done.text[:500]
        said = re.search(r"Đã duyệt (\d+) yêu cầu", done.text)
        assert said, done.text[:1000]
        return said.group(1)


class Api:
    """The three steps on the REST API's routes."""

    def __init__(self, hr: httpx.AsyncClient, desk: httpx.AsyncClient) -> None:
        self.hr, self.desk = hr, desk

    async def preview(self, upload: bytes) -> tuple[int, bytes]:
        checked = await self.hr.post("/lists/change/preview", files={"file": ("danh-sach.xlsx", upload)})
        return checked.json()["ready"], upload

    async def file(self, upload: bytes) -> str:
        filed = await self.hr.post("/lists/change", files={"file": ("danh-sach.xlsx", upload)})
        return filed.json()["batch"]

    async def approve(self, batch: str) -> str:
        return str((await self.desk.post(f"/batches/{batch}/approve")).json()["approved"])


async def clients(server: Server, site: str, via: str) -> Portal | Api:
    assert server.services is not None
    directory = server.services.directory
    if via == "api":
        _, manager = await directory.api_tokens.create(
            "HR", "agency_manager", agency_code="sonv", actor="bench"
        )
        _, operator = await directory.api_tokens.create(
            "Operator", "operator", agency_code=None, actor="bench"
        )
        transport = httpx.ASGITransport(app=create_app(server.services))
        hr, desk = (
            httpx.AsyncClient(
                transport=transport,
                base_url=f"{site}/api/v1",
                headers={"Authorization": f"Bearer {token}"},
                timeout=None,
            )
            for token in (manager, operator)
        )
        return Api(hr, desk)
    app = create_app(server.services)
    return Portal(await administrator(app, site, "hr"), await administrator(app, site, "desk"))


async def run(backend: str, args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="hopthu-lists-bench-"))
    url = await fresh_pg("hopthu_bench_lists") if backend == "postgresql" else ""
    base = Settings(data_dir=folder, store=StoreSettings(database_url=url))
    make_self_signed(base.path(base.server.tls_cert), base.path(base.server.tls_key), [base.hostname])
    settings = with_ports(
        base,
        **{
            f"{role}_port": 0
            for role in ("http", "mx", "submission", "submissions", "imap", "imaps", "pop3", "pop3s")
        },
    )
    server = Server(settings)
    await server.start()
    try:
        assert server.services is not None
        directory = server.services.directory
        await directory.agencies.add("Sở Nội vụ", actor="bench")
        await directory.agencies.add("Văn phòng", parent="sonv", actor="bench")
        names = itertools.islice(itertools.cycle(itertools.product(FAMILIES, MIDDLES, GIVENS)), args.rows)
        rows = [PersonRow(*name, "sonv", address=f"canbo{i}", line=i + 2) for i, name in enumerate(names)]
        registered = await directory.people.register(rows, actor="bench")
        locals_ = [r.address for r in registered if r.address]
        assert len(locals_) == args.rows, "every person registered"
        staff = [
            PersonRow("Lê", "Thị", "Hạnh", "sonv", address="hr"),
            PersonRow("Trần", "Văn", "Bàn", "sonv", address="desk"),
        ]
        for person in await directory.people.register(staff, actor="bench"):
            await directory.accounts.change_password(person.address, person.temporary_password, PASSWORD)
        await directory.roles.grant("hr", "agency_manager", agency_code="sonv", actor="bench")
        await directory.roles.grant("desk", "operator", actor="bench")
        steps = await clients(server, settings.server.web_url.rstrip("/"), args.via)

        figures: dict[str, list[float]] = {}
        packed = 0
        for traced, target in ((False, "vanphong.sonv"), (True, "sonv")):
            upload = change_list(locals_, target)
            (ready, form), preview_s, preview_peak = await measured(
                lambda upload=upload: steps.preview(upload), traced=traced
            )
            assert ready == args.rows, f"the preview says {ready} rows can be filed"
            if isinstance(form, dict):
                assert len(unpack(form["rows"])) == args.rows, "the preview's form carries every row"
                packed = len(form["rows"])
            batch, file_s, file_peak = await measured(lambda form=form: steps.file(form), traced=traced)
            approved, approve_s, approve_peak = await measured(
                lambda batch=batch: steps.approve(batch), traced=traced
            )
            assert approved == str(args.rows), f"{approved} approved"
            moved = await directory.accounts.list(agency_code=target, limit=args.rows * 2)
            assert len([a for a in moved if a.local.startswith("canbo")]) == args.rows, len(moved)
            figures["peak" if traced else "time"] = (
                [preview_peak, file_peak, approve_peak] if traced else [preview_s, file_s, approve_s]
            )
        size = len(change_list(locals_, "sonv"))
        times, peaks = figures["time"], [p / 2**20 for p in figures["peak"]]
        carried = f", hidden field {packed / 1024:.0f} KiB" if packed else ""
        print(
            f"{backend:10} via {args.via}, {args.rows:,} rows ({size / 1024:.0f} KiB .xlsx{carried}): "
            f"preview {times[0]:.1f} s (peak {peaks[0]:.0f} MiB), "
            f"file {times[1]:.1f} s (peak {peaks[1]:.0f} MiB), "
            f"approve {times[2]:.1f} s (peak {peaks[2]:.0f} MiB)",
            flush=True,
        )
        await steps.hr.aclose()
        await steps.desk.aclose()
    finally:
        await server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--via", choices=("portal", "api"), default="portal")


if __name__ == "__main__":
    run_per_backend(__doc__ or "", arguments, run)
