"""The blob folder: content addressing, compression, streaming slices."""

import asyncio
from pathlib import Path

from hopthu.store import blobs as blobs_module
from hopthu.store.blobs import BlobStore, blob_hash


def test_same_bytes_stored_once_and_read_back(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    body = b"Subject: x\r\n\r\n" + b"Cong van so 123\r\n" * 1000
    digest, stored = blobs.put(body)
    again, stored_again = blobs.put(body)
    assert digest == again == blob_hash(body)
    assert stored == stored_again < len(body)  # compressed
    assert len(list(tmp_path.rglob("*.zst"))) == 1
    assert blobs.get(digest) == body
    assert blobs.path(digest).relative_to(tmp_path).parts[:2] == (digest[:2], digest[2:4])


def test_stream_returns_exact_slices(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    body = bytes(range(256)) * 1000  # 256 KB, several read chunks
    digest, _ = blobs.put(body)
    for start, end in [
        (0, None),
        (0, 10),
        (65530, 65545),
        (100_000, 200_000),
        (255_990, None),
        (300_000, None),
    ]:
        assert b"".join(blobs.stream(digest, start, end)) == body[start:end]


def test_no_temporary_files_left(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    for n in range(5):
        blobs.put(b"message %d" % n)
    assert not [p for p in tmp_path.rglob(".tmp-*")]
    blobs.remove(blob_hash(b"message 0"))
    assert not blobs.exists(blob_hash(b"message 0"))


async def test_bodies_kept_together_are_each_in_place_once(tmp_path: Path) -> None:
    """Deliveries make their bodies durable side by side: each is complete under its name, the same
    bytes kept twice at once are one file, and no temporary name is left behind."""
    blobs = BlobStore(tmp_path)
    bodies = [b"Subject: %d\r\n\r\n" % (n % 10) + b"Cong van\r\n" * 500 for n in range(40)]
    kept = await asyncio.gather(*[blobs.keep(body) for body in bodies])
    assert all(item.temporary is None for item in kept)
    assert [item.digest for item in kept] == [blob_hash(body) for body in bodies]
    assert len(list(tmp_path.rglob("*.zst"))) == 10
    assert not list(tmp_path.rglob(".tmp-*"))
    for item, body in zip(kept, bodies, strict=True):
        assert blobs.get(item.digest) == body
        assert item.stored_size == blobs.path(item.digest).stat().st_size


def test_a_batch_is_kept_together_each_body_once(tmp_path: Path) -> None:
    """An import's batch: every body in place and readable after one call, a body given twice in
    the batch or kept before stored once, and no temporary file left behind."""
    blobs = BlobStore(tmp_path)
    earlier = b"Subject: da co\r\n\r\nda luu truoc\r\n"
    blobs.put(earlier)
    bodies = [b"Subject: %d\r\n\r\nthu so %d\r\n" % (n, n) for n in range(20)] + [
        earlier,
        b"Subject: 3\r\n\r\nthu so 3\r\n",
    ]
    kept = asyncio.run(blobs.keep_many(bodies))
    assert [k.digest for k in kept] == [blob_hash(body) for body in bodies]
    assert all(k.temporary is None for k in kept)
    assert all(blobs.get(blob_hash(body)) == body for body in bodies)
    assert len(list(tmp_path.rglob("*.zst"))) == 21
    assert not [p for p in tmp_path.rglob(".tmp-*")]


def test_headers_read_are_kept_within_their_bound(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(blobs_module, "HEAD_CACHE_BYTES", 64 * 50)  # 50 bytes at most each
    blobs = BlobStore(tmp_path)
    letters = [b"Subject: %03d\r\nX-Pad: %s\r\n\r\nbody" % (n, b"p" * 15) for n in range(120)]
    digests = [blobs.put(letter)[0] for letter in letters]
    ends = [letter.index(b"\r\n\r\n") + 4 for letter in letters]
    assert blobs.head(digests[0], ends[0]) == letters[0][: ends[0]]
    blobs.path(digests[0]).unlink()  # a body never changes under its name: the header is kept
    assert blobs.head(digests[0], ends[0]) == letters[0][: ends[0]]
    for digest, end, letter in zip(digests, ends, letters, strict=True):
        if digest != digests[0]:
            assert blobs.head(digest, end) == letter[:end]
    assert blobs._heads_bytes <= blobs_module.HEAD_CACHE_BYTES
    assert (digests[0], ends[0]) not in blobs._heads  # the least recently read went first
    assert blobs.head(digests[-1], ends[-1]) == letters[-1][: ends[-1]]
