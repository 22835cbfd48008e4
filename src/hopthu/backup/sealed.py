"""Backups sealed at rest (R13.5): each file of a backup encrypted and authenticated on its own.

The key is 32 random bytes in a file outside the data folder (`backup.key_file`), made once with
`head -c 32 /dev/urandom > /etc/hopthu/backup.key` (raw bytes, or the same 32 bytes written as 64 hex
digits or in base64). It is kept apart from the backups: a backup never carries the key that opens it.

Format of a sealed file (version 1), every integer big-endian:

    header  magic  8 bytes  b"HOPTHU\\x1aS"
            version 1 byte   1
            chunk   4 bytes  plaintext bytes per chunk (65,536)
            key id  16 bytes HMAC-SHA256(key, "hopthu backup key id")[:16]: which key sealed it
            salt    32 bytes random, one per file
    chunks  AES-256-GCM ciphertext and 16-byte tag of each chunk of plaintext, in order; every chunk
            holds `chunk` bytes of plaintext except the last, which holds 0 to `chunk` bytes.

The file's own key is HKDF-SHA256(backup key, salt, info "hopthu backup file v1"), so no two files
share a (key, nonce) pair whatever their number. The nonce of chunk i is i on 11 bytes followed by
one byte, 1 for the last chunk and 0 for the others (the STREAM construction of Hoang, Reyhanitabar,
Rogaway and Vizár, 2015): a chunk moved, dropped, or the file cut short after a chunk does not
decrypt. The whole header is the associated data of every chunk, so it cannot be changed either.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hopthu.errors import HopThuError

MAGIC = b"HOPTHU\x1aS"
VERSION = 1
CHUNK = 64 * 1024
TAG = 16
KEY_ID = 16
SALT = 32
HEADER = len(MAGIC) + 1 + 4 + KEY_ID + SALT
SUFFIX = ".sealed"
CIPHER = "AES-256-GCM, 64 KiB chunks (hopthu sealed v1)"


def read_key(path: Path) -> bytes:
    """The 32-byte backup key in `path`: raw, hex or base64."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise HopThuError(
            f"Không đọc được khóa sao lưu {path}: {error.strerror}",
            f"Cannot read the backup key {path}: {error.strerror}",
            code="config",
        ) from None
    if len(raw) == 32:
        return raw
    text = raw.strip()
    for decode in (binascii.unhexlify, base64.b64decode, base64.urlsafe_b64decode):
        try:
            key = decode(text)
        except (binascii.Error, ValueError):
            continue
        if len(key) == 32:
            return key
    raise HopThuError(
        f"Khóa sao lưu {path} phải là 32 byte (hoặc 64 chữ số hex, hoặc base64)",
        f"The backup key {path} must be 32 bytes (or 64 hex digits, or base64)",
        code="config",
    )


def key_id(key: bytes) -> bytes:
    return hmac.new(key, b"hopthu backup key id", hashlib.sha256).digest()[:KEY_ID]


def _file_cipher(key: bytes, salt: bytes) -> AESGCM:
    derived = HKDF(hashes.SHA256(), 32, salt=salt, info=b"hopthu backup file v1").derive(key)
    return AESGCM(derived)


def _nonce(index: int, last: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def wrong_key(path: Path) -> HopThuError:
    return HopThuError(
        f"Sai khóa sao lưu: {path} được mã hóa bằng một khóa khác",
        f"Wrong backup key: {path} was encrypted with another key",
        code="backup",
    )


def damaged(path: Path) -> HopThuError:
    return HopThuError(
        f"Bản sao lưu bị hỏng hoặc đã bị sửa: {path} không giải mã được",
        f"The backup is damaged or was altered: {path} does not decrypt",
        code="backup",
    )


def seal_stream(source: BinaryIO, target: BinaryIO, key: bytes) -> None:
    """Encrypt everything `source` holds into `target`, chunk by chunk (memory: two chunks)."""
    salt = os.urandom(SALT)
    header = MAGIC + bytes([VERSION]) + CHUNK.to_bytes(4, "big") + key_id(key) + salt
    cipher = _file_cipher(key, salt)
    target.write(header)
    index = 0
    chunk = source.read(CHUNK)
    while True:
        following = source.read(CHUNK) if len(chunk) == CHUNK else b""
        last = not following
        target.write(cipher.encrypt(_nonce(index, last), chunk, header))
        if last:
            return
        chunk, index = following, index + 1


def open_stream(source: BinaryIO, key: bytes, name: Path) -> Iterator[bytes]:
    """The plaintext of a sealed file, chunk by chunk; a wrong key, a changed byte, a chunk moved or
    a file cut short ends in a clear error, before any of the damaged chunk is given out."""
    header = source.read(HEADER)
    if len(header) < HEADER or not header.startswith(MAGIC) or header[len(MAGIC)] != VERSION:
        raise damaged(name)
    at = len(MAGIC) + 1
    chunk = int.from_bytes(header[at : at + 4], "big")
    if chunk != CHUNK:
        raise damaged(name)
    if not hmac.compare_digest(header[at + 4 : at + 4 + KEY_ID], key_id(key)):
        raise wrong_key(name)
    cipher = _file_cipher(key, header[-SALT:])
    index = 0
    block = source.read(CHUNK + TAG)
    while True:
        following = source.read(CHUNK + TAG) if len(block) == CHUNK + TAG else b""
        last = not following
        try:
            yield cipher.decrypt(_nonce(index, last), block, header)
        except InvalidTag:
            raise damaged(name) from None
        if last:
            return
        block, index = following, index + 1


def seal_file(source: Path, target: Path, key: bytes) -> None:
    """`source` encrypted into `target` (created 0600, made durable)."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with source.open("rb") as reading, os.fdopen(fd, "wb") as writing:
        seal_stream(reading, writing, key)
        writing.flush()
        os.fsync(writing.fileno())


def open_file(source: Path, target: Path, key: bytes) -> None:
    """The sealed file `source` decrypted into `target` (0600); nothing left behind if it fails."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with source.open("rb") as reading, os.fdopen(fd, "wb") as writing:
            for piece in open_stream(reading, key, source):
                writing.write(piece)
            writing.flush()
            os.fsync(writing.fileno())
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def open_bytes(source: Path, key: bytes) -> bytes:
    with source.open("rb") as reading:
        return b"".join(open_stream(reading, key, source))
