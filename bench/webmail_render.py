"""The inbox page in a real browser, as a person sees it: time to first render and page weight of a
50,000-message INBOX, at a desktop (1280x800) and a phone (390x844) size.

Debian's chromium (driven by Playwright) signs in through the form, then opens the inbox R times
with a warm cache, as someone going back to their list does. Per size it prints the p50 and worst of
the server's answer (the navigation's responseEnd), the first contentful paint and the load event,
and the bytes of the page: the HTML, and our own script and styles (goal: under 150 KB of script and
styles, the inbox rendered under 300 ms).

    python bench/webmail_render.py [--messages 50000] [--repeat 15] [--backend sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
from pathlib import Path

from common import fresh_pg, run_client_bench, serve
from imap_bigbox import fill
from imap_load import PASSWORD, hopthu, percentile

RESULTS: list[tuple[str, str]] = []
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]
TIMING = r"""() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const paint = performance.getEntriesByName("first-contentful-paint")[0];
  const own = performance.getEntriesByType("resource")
    .filter((r) => /^\/static\/.*\.(js|css)$/.test(new URL(r.name).pathname));
  return { response: nav.responseEnd, paint: paint ? paint.startTime : null, load: nav.loadEventEnd,
           html: nav.decodedBodySize,
           files: own.map((r) => new URL(r.name).pathname) };
}"""


def measure(base: str, repeat: int) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=ARGS)
        for name, viewport in SIZES.items():
            context = browser.new_context(base_url=base, locale="vi-VN", viewport=viewport)
            page = context.new_page()
            page.goto("/dang-nhap")
            page.get_by_label("Địa chỉ thư").fill("hoplon")
            page.get_by_label("Mật khẩu").fill(PASSWORD)
            page.get_by_role("button", name="Đăng nhập").click()
            page.wait_for_url("**/thu/*")
            inbox = page.url
            samples = []
            weight: dict = {}
            for _ in range(repeat):
                page.goto(inbox, wait_until="load")
                page.wait_for_timeout(50)  # the paint entry is queued after the load event
                weight = page.evaluate(TIMING)
                samples.append(weight)
            files = sorted(set(weight["files"]))
            own = sum(len(page.request.get(path).body()) for path in files)  # as sent (no cache)
            for key in ("response", "paint", "load"):
                values = [s[key] / 1000 for s in samples if s[key] is not None]
                figure = (
                    f"{name:7} {key:8} p50 {percentile(values, 0.5) * 1000:6.1f} ms, "
                    f"worst {max(values) * 1000:6.1f} ms"
                )
                print("  " + figure, flush=True)
                RESULTS.append((name, figure))
            figure = (
                f"{name:7} weight: HTML {weight['html'] / 1024:.1f} KB, our script and styles "
                f"{own / 1024:.1f} KB ({' '.join(files)})"
            )
            print("  " + figure, flush=True)
            RESULTS.append((name, figure))
            context.close()
        browser.close()


async def run(backend: str, args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="hopthu-render-bench-"))
    data = folder / "data"
    process = None
    print(f"{backend}, {args.messages} messages:", flush=True)
    try:
        url = await fresh_pg("hopthu_bench_render") if backend == "postgresql" else ""
        env = {**os.environ, "HOPTHU_SERVER_WEB_URL": "http://127.0.0.1"}  # plain http: see web_load.py
        hopthu(data, "init", *(["--database-url", url] if url else []), env=env)
        await fill(data, {"hoplon": args.messages})
        process, port = serve(data, env, "http")
        await asyncio.to_thread(measure, f"http://127.0.0.1:{port}", args.repeat)
    finally:
        if process is not None and process.poll() is None:
            process.terminate()
            process.wait(timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=15)


def main() -> None:
    run_client_bench(__doc__ or "", arguments, run)
    print()
    for size, figure in RESULTS:
        print(f"{size:8} {figure}")


if __name__ == "__main__":
    main()
