"""Message bodies on the file system: content-addressed, compressed, durable, stored once.

Layout: `<blob_dir>/<h0h1>/<h2h3>/<sha256>.zst`, the SHA-256 of the canonical message bytes, the
file a zstd frame of them. A file is written to a temporary name, fsynced, renamed into place and
its directory fsynced before any row refers to it, so a row never points to a missing body after a
crash, and a name in place always means complete bytes.

An fsync waits for the disk (about 10 ms on a busy one), but fsyncs issued together are served by
one journal commit: `keep` makes each delivery's body durable on a pool of threads of its own, so
the bodies of twenty concurrent deliveries cost about two fsync waits (file, then directory), not
forty in a row, and they do so while the previous group's database commit is under way.

The same body delivered to 500 mailboxes is one file; the `blob` table counts references. The
collector removes a file only after its count has stayed at zero for a grace period and the file
itself has not been reused for as long; a delivery that reuses a file refreshes its time, and checks
after its commit that the file is still there (rewriting it if not), so a collection running beside
a delivery can never leave a message without its body.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ctypes
import ctypes.util
import hashlib
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import zstandard

READ_CHUNK = 64 * 1024
HEAD_CACHE_BYTES = 8 * 1024 * 1024  # message headers kept in memory, the least recently read dropped
SYNC_THREADS = 32  # fsyncs waiting at once: they share journal commits; the threads mostly sleep

_syncers: concurrent.futures.ThreadPoolExecutor | None = None


def _sync_pool() -> concurrent.futures.ThreadPoolExecutor:
    """One pool per process: how many fsyncs may wait together is a property of the disk."""
    global _syncers
    if _syncers is None:
        _syncers = concurrent.futures.ThreadPoolExecutor(SYNC_THREADS, thread_name_prefix="blob-sync")
    return _syncers


@dataclass(frozen=True, slots=True)
class Staged:
    """A body written but not yet durable (`temporary` set), or already in place (`temporary` None)."""

    digest: str
    stored_size: int
    temporary: Path | None
    created: tuple[Path, ...] = ()  # directories made for it, whose entries must be synced too


def blob_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class BlobStore:
    """Write-once storage of message bytes, addressed by their SHA-256."""

    def __init__(self, root: Path, *, level: int = 3) -> None:
        self.root = Path(root)
        self.level = level
        # zstd contexts must not be shared by threads working at once: one per thread.
        self._local = threading.local()
        self._heads: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._heads_bytes = 0
        self._heads_lock = threading.Lock()  # head() runs on the loop and in threads

    @property
    def _compressor(self) -> zstandard.ZstdCompressor:
        local = self._local
        if not hasattr(local, "compressor"):
            local.compressor = zstandard.ZstdCompressor(level=self.level, write_content_size=True)
        compressor: zstandard.ZstdCompressor = local.compressor
        return compressor

    @property
    def _decompressor(self) -> zstandard.ZstdDecompressor:
        local = self._local
        if not hasattr(local, "decompressor"):
            local.decompressor = zstandard.ZstdDecompressor()
        decompressor: zstandard.ZstdDecompressor = local.decompressor
        return decompressor

    def path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest[2:4] / f"{digest}.zst"

    def exists(self, digest: str) -> bool:
        return self.path(digest).exists()

    def put(self, data: bytes, digest: str | None = None) -> tuple[str, int]:
        """Store `data` durably (if not already there); return its hash and the bytes on disk."""
        staged = self.stage(data, digest)
        self.make_durable([staged])
        return staged.digest, staged.stored_size

    async def keep(self, data: bytes) -> Staged:
        """Store `data` durably, off the event loop and beside other bodies' fsyncs; its `Staged`
        (in place: `temporary` None) to refer to from a row committed afterwards."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_sync_pool(), self._keep, data)

    async def keep_many(self, bodies: Sequence[bytes]) -> list[Staged]:
        """`keep` for many bodies at once (an import's batch): written together, then made durable
        with two file-system syncs for all of them (`make_durable_together`) instead of two fsyncs
        each, which the disk's journal would otherwise serve one batch of threads at a time."""
        return await asyncio.to_thread(self._keep_many, bodies)

    def _keep_many(self, bodies: Sequence[bytes]) -> list[Staged]:
        staged = [self.stage(data) for data in bodies]
        self.make_durable_together(staged)
        return [Staged(item.digest, item.stored_size, None) for item in staged]

    def make_durable_together(self, staged: Sequence[Staged]) -> None:
        """`make_durable` for a group: sync the file system once (every new body's bytes), move
        them all into place, sync it again (the new names and directories). Where syncfs(2) is not
        available, or for one body, each is synced on its own."""
        fresh = [item for item in staged if item.temporary is not None]
        if len(fresh) < 2 or _SYNCFS is None:
            self.make_durable(fresh)
            return
        _sync_file_system(self.root)
        moved: set[str] = set()
        for item in fresh:
            assert item.temporary is not None
            if item.digest in moved:  # the same body twice in the group: one copy is enough
                item.temporary.unlink(missing_ok=True)
                continue
            os.replace(item.temporary, self.path(item.digest))
            moved.add(item.digest)
        _sync_file_system(self.root)

    def _keep(self, data: bytes) -> Staged:
        staged = self.stage(data)
        if staged.temporary is None:
            return staged
        self.make_durable([staged])
        return Staged(staged.digest, staged.stored_size, None)

    def stage(self, data: bytes, digest: str | None = None) -> Staged:
        """Compress `data` into a temporary file beside its place, not yet synced nor in place.

        A body already in place is reused (its time refreshed: the collector spares recent files).
        `make_durable` finishes the job for many bodies at once, before the commit that refers to them.
        """
        digest = digest or blob_hash(data)
        target = self.path(digest)
        try:
            size = target.stat().st_size
            os.utime(target)
            return Staged(digest, size, None)
        except FileNotFoundError:
            pass
        compressed = self._compressor.compress(data)
        created = _make_directories(target.parent)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(compressed)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return Staged(digest, len(compressed), Path(temporary), tuple(created))

    def make_durable(self, staged: Iterable[Staged]) -> None:
        """fsync each new body, move it into place, fsync its directory: only then does a body
        exist under its name, so a name always means complete, durable bytes."""
        directories: set[Path] = set()
        for item in staged:
            if item.temporary is None:
                continue
            directories.update(directory.parent for directory in item.created)
            fd = os.open(item.temporary, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            target = self.path(item.digest)
            os.replace(item.temporary, target)
            directories.add(target.parent)
        for directory in directories:
            _fsync_directory(directory)

    def get(self, digest: str) -> bytes:
        return self._decompressor.decompress(self.path(digest).read_bytes())

    def head(self, digest: str, length: int) -> bytes:
        """The first `length` bytes (a message's header), decompressing no more than needed.

        Bytes never change under their name, so the headers read are kept, up to HEAD_CACHE_BYTES
        in all: a mail program asks for the same headers again and again (each session's list, a
        phone and a computer both), and each read opened a file and a zstd stream on the loop."""
        key = (digest, length)
        with self._heads_lock:
            kept = self._heads.get(key)
            if kept is not None:
                self._heads.move_to_end(key)
                return kept
        data = self._read_head(digest, length)
        if len(data) <= HEAD_CACHE_BYTES // 64:
            with self._heads_lock:
                if key not in self._heads:
                    self._heads[key] = data
                    self._heads_bytes += len(data)
                    while self._heads_bytes > HEAD_CACHE_BYTES:
                        self._heads_bytes -= len(self._heads.popitem(last=False)[1])
        return data

    def _read_head(self, digest: str, length: int) -> bytes:
        with self.path(digest).open("rb") as handle, self._decompressor.stream_reader(handle) as reader:
            parts: list[bytes] = []
            wanted = length
            while wanted > 0:
                chunk = reader.read(wanted)
                if not chunk:
                    break
                parts.append(chunk)
                wanted -= len(chunk)
            return b"".join(parts)

    def stream(self, digest: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The bytes [start:end) in chunks, without holding the whole message in memory."""
        position = 0
        with self.path(digest).open("rb") as handle, self._decompressor.stream_reader(handle) as reader:
            while end is None or position < end:
                chunk = reader.read(READ_CHUNK)
                if not chunk:
                    return
                chunk_start, position = position, position + len(chunk)
                if position <= start:
                    continue
                yield chunk[max(start - chunk_start, 0) : None if end is None else end - chunk_start]

    def remove(self, digest: str, *, unused_since: float | None = None) -> bool:
        """Delete a body, unless it was written or reused after `unused_since` (a POSIX time)."""
        path = self.path(digest)
        try:
            if unused_since is not None and path.stat().st_mtime > unused_since:
                return False
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def disk_usage(self) -> int:
        return sum(p.stat().st_size for p in self.root.rglob("*.zst"))


def _make_directories(path: Path) -> list[Path]:
    """Create missing directories; return those made (their parents need an fsync before use)."""
    if path.is_dir():
        return []
    created = _make_directories(path.parent)
    try:
        path.mkdir(mode=0o700)  # bodies are the city's mail: the server's account alone reads them
    except FileExistsError:
        return created
    return [*created, path]


def _load_syncfs() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    """Linux's syncfs(2): one call makes every written file of a file system durable."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    function = getattr(ctypes.CDLL(name, use_errno=True), "syncfs", None)
    if function is None:
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int
    return function


_SYNCFS = _load_syncfs()


def _sync_file_system(path: Path) -> None:
    assert _SYNCFS is not None
    fd = os.open(path, os.O_RDONLY)
    try:
        if _SYNCFS(fd) != 0:
            error = ctypes.get_errno()
            raise OSError(error, os.strerror(error), str(path))
    finally:
        os.close(fd)


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
