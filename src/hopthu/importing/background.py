"""An archive a person uploaded, imported while the webmail goes on serving (R13.7).

The upload is copied to a private file under `<data>/imports/` (the request's own spool goes when the
request ends), the account's row in `archive_import` is claimed (one import per person at a time,
whichever node they reach), and the import runs as a task of the server's loop. Its progress goes to
the row about once a second, so the page polled from any node shows it; at the end the row holds the
summary, or the reason it failed, in both languages; the uploaded copy is removed either way.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from hopthu.errors import HopThuError
from hopthu.importing.archiveimport import Progress, import_archive
from hopthu.importing.items import Bounds
from hopthu.importing.sink import MailboxSink
from hopthu.store import Store, archiveimports

log = logging.getLogger("hopthu.importing")

SPOOL = "imports"  # under the data folder
PROGRESS_EVERY = 1.0  # seconds between writes of the progress to the database
HEARTBEAT = 30.0  # seconds between "still at work" while nothing else is written (well below STALLED)
_FAILED = (
    "Đã có lỗi khi nhập thư; các thư đã nhập được giữ lại. Hãy báo hotro@.",
    "Something went wrong while importing; the mail imported so far was kept. Tell hotro@.",
)


class Busy(HopThuError):
    def __init__(self) -> None:
        super().__init__(
            "Bạn đang nhập một tệp khác; hãy chờ tệp đó xong rồi nhập tiếp",
            "You are importing another file already; wait until it is done",
            code="conflict",
        )


def spool_copy(source: BinaryIO, folder: Path, account_id: int) -> Path:
    """Copy an upload to a private file of `folder` (blocking: call it in a thread), after removing
    what an interrupted import of the same account left there."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for old in folder.glob(f"{account_id}-*.upload"):
        old.unlink(missing_ok=True)
    handle, name = tempfile.mkstemp(prefix=f"{account_id}-", suffix=".upload", dir=folder)
    with os.fdopen(handle, "wb") as target:
        source.seek(0)
        shutil.copyfileobj(source, target, 1024 * 1024)
    return Path(name)


class BackgroundImports:
    """The imports this process runs (their tasks kept here, so none is collected half-way)."""

    def __init__(self, store: Store, spool: Path, clock: Callable[[], dt.datetime]) -> None:
        self.store = store
        self.spool = spool
        self.clock = clock
        self.tasks: set[asyncio.Task[None]] = set()

    async def start(
        self, account_id: int, upload: BinaryIO, *, file_name: str, into: str | None, bounds: Bounds
    ) -> None:
        """Claim the account's import and start it; `Busy` when one is running already."""
        if not await archiveimports.claim(self.store.db, account_id, file_name, self.clock()):
            raise Busy
        try:
            path = await asyncio.to_thread(spool_copy, upload, self.spool, account_id)
        except OSError:
            await archiveimports.finished(
                self.store.db, account_id, summary=None, error=_FAILED, now=self.clock()
            )
            raise
        task = asyncio.create_task(self._run(account_id, path, file_name, into, bounds))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run(
        self, account_id: int, path: Path, file_name: str, into: str | None, bounds: Bounds
    ) -> None:
        db = self.store.db
        shown_at = 0.0

        async def shown(progress: Progress) -> None:
            nonlocal shown_at
            if time.monotonic() - shown_at >= PROGRESS_EVERY or progress.done == progress.total:
                shown_at = time.monotonic()
                await archiveimports.progressed(
                    db, account_id, done=progress.done, total=progress.total, now=self.clock()
                )

        beating = asyncio.create_task(self._heartbeat(account_id))
        try:
            sink = MailboxSink(self.store, account_id)
            result = await import_archive(
                sink, path, bounds=bounds, name=file_name, into=into, progress=shown
            )
        except HopThuError as error:
            await archiveimports.finished(
                db, account_id, summary=None, error=(error.vi, error.en), now=self.clock()
            )
        except asyncio.CancelledError:
            raise  # the server is stopping: the row goes stale and the page says it was interrupted
        except Exception:
            log.exception("the import of %s for account %s failed", file_name, account_id)
            await archiveimports.finished(db, account_id, summary=None, error=_FAILED, now=self.clock())
        else:
            await archiveimports.finished(
                db, account_id, summary=result.as_json(), error=None, now=self.clock()
            )
        finally:
            beating.cancel()
            await asyncio.to_thread(path.unlink, missing_ok=True)

    async def _heartbeat(self, account_id: int) -> None:
        """Renew the row while the import runs, so a long read before the first message is not taken
        for an import whose process stopped."""
        while True:
            await asyncio.sleep(HEARTBEAT)
            try:
                await archiveimports.alive(self.store.db, account_id, self.clock())
            except Exception:
                log.warning("could not renew the import of account %s", account_id, exc_info=True)

    async def stop(self) -> None:
        """End the running imports (the server stops); what they stored stays."""
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
