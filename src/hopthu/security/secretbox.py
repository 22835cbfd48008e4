"""The data folder's secret key, and encryption of the few secrets the database must hold in a form
that can be read back (administrators' TOTP seeds): a copy of the database alone reveals none.

The key file is made by `hopthu init` (or on first use for an older folder). Every node of one
installation shares it, as it shares the TLS and DKIM keys.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from hopthu.errors import HopThuError

KEY_FILE = "keys/secret.key"


def load_or_create(path: Path) -> bytes:
    """The 32-byte key at `path`, written (mode 0600) when it does not exist yet."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(os.urandom(32))
    key = path.read_bytes()
    if len(key) != 32:
        raise HopThuError(f"Tệp khóa hỏng: {path}", f"The key file is damaged: {path}", code="config")
    return key


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str, *, ttl: int | None = None) -> str:
        """The secret; with `ttl`, only when it was sealed at most that many seconds ago."""
        try:
            return self._fernet.decrypt(sealed.encode(), ttl=ttl).decode()
        except InvalidToken:
            raise HopThuError(
                "Không giải mã được bí mật: khóa của thư mục dữ liệu đã đổi",
                "A stored secret cannot be decrypted: the data folder's key changed",
                code="config",
            ) from None
