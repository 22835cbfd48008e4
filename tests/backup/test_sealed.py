"""The sealed-file format of encrypted backups (R13.5, `backup/sealed.py`): every size comes back
byte for byte with its key; another key, a changed byte, a changed header, chunks swapped or a file
cut short at a chunk boundary are each refused, in words saying which."""

from __future__ import annotations

import io
import os

import pytest

from hopthu.backup import sealed
from hopthu.errors import HopThuError

KEY = bytes(range(32))
NAME = sealed.Path("backup/hopthu.db.sealed")


def seal(data: bytes, key: bytes = KEY) -> bytes:
    out = io.BytesIO()
    sealed.seal_stream(io.BytesIO(data), out, key)
    return out.getvalue()


def unseal(data: bytes, key: bytes = KEY) -> bytes:
    return b"".join(sealed.open_stream(io.BytesIO(data), key, NAME))


@pytest.mark.parametrize("size", [0, 1, sealed.CHUNK - 1, sealed.CHUNK, sealed.CHUNK + 1, 3 * sealed.CHUNK])
def test_every_size_comes_back(size: int) -> None:
    data = os.urandom(size)
    box = seal(data)
    assert unseal(box) == data
    chunks = max(1, -(-size // sealed.CHUNK))
    assert len(box) == sealed.HEADER + size + chunks * sealed.TAG
    assert seal(data) != box  # a salt per file: the same bytes never seal the same way twice


def test_wrong_key_is_named() -> None:
    with pytest.raises(HopThuError) as refused:
        unseal(seal(b"Cong van mat"), key=bytes(32))
    assert "Wrong backup key" in refused.value.en and "Sai khóa" in refused.value.vi


def _refused_as_damaged(box: bytes) -> None:
    with pytest.raises(HopThuError) as refused:
        unseal(box)
    assert "damaged or was altered" in refused.value.en and "bị sửa" in refused.value.vi


def test_changes_are_refused() -> None:
    data = os.urandom(3 * sealed.CHUNK)
    box = seal(data)
    flipped = bytearray(box)
    flipped[sealed.HEADER + sealed.CHUNK + 100] ^= 1
    _refused_as_damaged(bytes(flipped))
    salted = bytearray(box)
    salted[sealed.HEADER - 1] ^= 1  # the salt, part of the header every chunk authenticates
    _refused_as_damaged(bytes(salted))
    block = sealed.CHUNK + sealed.TAG
    first, second = (
        box[sealed.HEADER : sealed.HEADER + block],
        box[sealed.HEADER + block : sealed.HEADER + 2 * block],
    )
    _refused_as_damaged(box[: sealed.HEADER] + second + first + box[sealed.HEADER + 2 * block :])
    _refused_as_damaged(box[: sealed.HEADER + 2 * block])  # cut after a whole chunk
    _refused_as_damaged(box[: sealed.HEADER])
    _refused_as_damaged(b"SQLite format 3\x00" + box[16:])


def test_key_file_forms(tmp_path) -> None:
    raw, hexed, b64 = tmp_path / "raw", tmp_path / "hex", tmp_path / "b64"
    raw.write_bytes(KEY)
    hexed.write_text(KEY.hex() + "\n")
    b64.write_text(sealed.base64.b64encode(KEY).decode() + "\n")
    assert sealed.read_key(raw) == sealed.read_key(hexed) == sealed.read_key(b64) == KEY
    (tmp_path / "short").write_bytes(b"mat khau")
    with pytest.raises(HopThuError) as refused:
        sealed.read_key(tmp_path / "short")
    assert "32 bytes" in refused.value.en
