"""A list of 10,000 change requests (R10.3) from an .xlsx file: previewed, filed as one batch and
approved as one batch, through the REST API's routes (`/lists/change/preview`, `/lists/change`,
`/batches/{batch}/approve`) driven by httpx over its in-process ASGI transport, so the upload's
parsing is in the figures. The portal's pages call the same services (`actlist.read_acts`,
`filing.plan_acts`, `filing.file_acts`, `Fulfilment.approve_batch`); its second factor is what makes
the API the practical HTTP path here.

Each step is run once untraced for its time, and once under tracemalloc for the peak of memory
Python allocated during it (the traced run is slower; its time is not reported). To trace an
approval without approving the same rows twice, the people move to Văn phòng in the timed run and
back in the traced one: two lists of the same size and the same work.

    python bench/lists.py [--rows 10000] [--backend sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import io
import itertools
import shutil
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
from common import fresh_pg, run_per_backend

from hopthu.config import Settings, StoreSettings
from hopthu.directory.context import DirectoryContext
from hopthu.directory.people import PersonRow
from hopthu.directory.service import Directory
from hopthu.store import Store
from hopthu.web.api import create_api

FAMILIES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng"]
MIDDLES = ["Văn", "Thị", "Hữu", "Đức", "Thanh", "Minh", "Ngọc", "Quốc", "Gia", "Khánh"]
GIVENS = ["An", "Bảo", "Châu", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hiếu", "Hòa", "Hùng", "Khoa"]


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


async def run(backend: str, args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="hopthu-lists-bench-"))
    url = await fresh_pg("hopthu_bench_lists") if backend == "postgresql" else ""
    settings = Settings(data_dir=folder, store=StoreSettings(database_url=url))
    store = await Store.open(settings)
    try:
        directory = Directory(DirectoryContext(store, settings))
        await directory.agencies.add("Sở Nội vụ", actor="bench")
        await directory.agencies.add("Văn phòng", parent="sonv", actor="bench")
        names = itertools.islice(itertools.cycle(itertools.product(FAMILIES, MIDDLES, GIVENS)), args.rows)
        rows = [PersonRow(*name, "sonv", address=f"canbo{i}", line=i + 2) for i, name in enumerate(names)]
        registered = await directory.people.register(rows, actor="bench")
        locals_ = [r.address for r in registered if r.address]
        assert len(locals_) == args.rows, "every person registered"
        _, manager = await directory.api_tokens.create(
            "HR", "agency_manager", agency_code="sonv", actor="bench"
        )
        _, operator = await directory.api_tokens.create(
            "Operator", "operator", agency_code=None, actor="bench"
        )
        app = create_api(SimpleNamespace(directory=directory, settings=settings))  # type: ignore[arg-type]
        transport = httpx.ASGITransport(app=app)
        hr = httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=None)
        desk = httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=None)
        hr.headers["Authorization"] = f"Bearer {manager}"
        desk.headers["Authorization"] = f"Bearer {operator}"

        figures: dict[str, list[float]] = {}
        for traced, target in ((False, "vanphong.sonv"), (True, "sonv")):
            upload = {"file": ("danh-sach.xlsx", change_list(locals_, target))}

            async def preview(upload: dict = upload) -> httpx.Response:
                return await hr.post("/lists/change/preview", files=upload)

            async def file(upload: dict = upload) -> httpx.Response:
                return await hr.post("/lists/change", files=upload)

            checked, preview_s, preview_peak = await measured(preview, traced=traced)
            assert checked.json()["ready"] == args.rows, checked.text[:500]
            filed, file_s, file_peak = await measured(file, traced=traced)
            batch = filed.json()["batch"]

            async def approve(batch: str = batch) -> httpx.Response:
                return await desk.post(f"/batches/{batch}/approve")

            approved, approve_s, approve_peak = await measured(approve, traced=traced)
            assert approved.json()["approved"] == args.rows, approved.text[:500]
            key = "peak" if traced else "time"
            figures[key] = (
                [preview_s, file_s, approve_s] if not traced else [preview_peak, file_peak, approve_peak]
            )
        size = len(change_list(locals_, "sonv"))
        times, peaks = figures["time"], [p / 2**20 for p in figures["peak"]]
        print(
            f"{backend:10} {args.rows:,} rows ({size / 1024:.0f} KiB .xlsx): "
            f"preview {times[0]:.1f} s (peak {peaks[0]:.0f} MiB), "
            f"file {times[1]:.1f} s (peak {peaks[1]:.0f} MiB), "
            f"approve {times[2]:.1f} s (peak {peaks[2]:.0f} MiB)",
            flush=True,
        )
        await hr.aclose()
        await desk.aclose()
    finally:
        await store.close()
        shutil.rmtree(folder, ignore_errors=True)


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=10_000)


if __name__ == "__main__":
    run_per_backend(__doc__ or "", arguments, run)
