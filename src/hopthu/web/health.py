"""What `/healthz` reports: can the store read and write right now (database and blob folder), and
how long the event loop stalled within the last minute (`hopthu.loopwatch`). A stall is reported,
not counted as an error: the node still works, and its operators see it here and in the log. So is
whether spam scoring (rspamd) and malware scanning (clamd) are on, off or failing."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from typing import Any

from hopthu import __version__
from hopthu.loopwatch import LoopWatch
from hopthu.protection.status import EngineStatus
from hopthu.store import Store


def _blob_folder_writable(store: Store) -> None:
    store.blobs.root.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=store.blobs.root, prefix=".health-") as handle:
        handle.write(b"ok")
        handle.flush()
        os.fsync(handle.fileno())


async def health(
    store: Store, loop: LoopWatch | None = None, engines: EngineStatus | None = None
) -> dict[str, Any]:
    checks: dict[str, Any] = {}
    started = time.perf_counter()
    try:
        await asyncio.wait_for(store.db.ping(), timeout=5)
        checks["database"] = {
            "status": "ok",
            "backend": store.db.backend,
            "ms": round((time.perf_counter() - started) * 1000, 2),
        }
    except Exception as error:  # reported, not raised: this page exists to say what is wrong
        checks["database"] = {"status": "error", "backend": store.db.backend, "error": type(error).__name__}
    try:
        await asyncio.to_thread(_blob_folder_writable, store)
        checks["blobs"] = {"status": "ok"}
    except OSError as error:
        checks["blobs"] = {"status": "error", "error": error.strerror or type(error).__name__}
    status = "ok" if all(c["status"] == "ok" for c in checks.values()) else "error"
    report: dict[str, Any] = {"status": status, "version": __version__, "store": checks}
    if loop is not None:
        report["loop"] = loop.report()
    if engines is not None:
        # Spam scoring and malware scanning: "on", "off" (not configured) or "failing" since the
        # last failure. A failing engine does not stop the node (mail waits or goes unscanned, as
        # `protection.on_failure` says): the node is "degraded", not in error.
        report["protection"] = engines.report()
        if status == "ok" and engines.failing:
            report["status"] = "degraded"
    return report
