"""clamd's INSTREAM command: the whole message, so clamd decodes MIME and opens archives itself.

The message goes in 4-byte big-endian length-prefixed chunks ended by a zero-length chunk; clamd
answers one line, `stream: OK`, `stream: <Signature> FOUND` or `<why> ERROR`. A message larger than
clamd's StreamMaxLength is answered "INSTREAM size limit exceeded": that is a failure to scan
(`EngineError`), never a clean message. One connection per scan (clamd closes it after the answer).
"""

from __future__ import annotations

import asyncio
import contextlib

from hopthu.protection.engines import EngineError

CHUNK = 64 * 1024
MAX_REPLY = 4096  # one line naming a signature; anything longer is not clamd


class Clamd:
    def __init__(self, address: str, *, timeout: float = 30.0) -> None:
        """`address` is "host:port" for TCP or the path of clamd's Unix socket."""
        if not address:
            raise ValueError("clamd address is empty")
        self.address = address
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"Clamd({self.address!r})"

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.address.startswith("/") or self.address.startswith("."):
            return await asyncio.open_unix_connection(self.address, limit=MAX_REPLY)
        host, _, port = self.address.rpartition(":")
        if not host or not port.isdigit():
            raise EngineError(f"clamd: bad address {self.address!r} (host:port or a socket path)")
        return await asyncio.open_connection(host.strip("[]"), int(port), limit=MAX_REPLY)

    async def scan(self, message: bytes) -> str | None:
        try:
            reply = await asyncio.wait_for(self._instream(message), self.timeout)
        except EngineError:
            raise
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as error:
            raise EngineError(f"clamd: {type(error).__name__}: {error}".rstrip(": ")) from error
        return _found(reply)

    async def ping(self) -> bool:
        """clamd answers PONG (for the health page)."""
        try:
            reader, writer = await asyncio.wait_for(self._connect(), self.timeout)
        except (OSError, TimeoutError, EngineError):
            return False
        try:
            writer.write(b"zPING\0")
            await writer.drain()
            reply = await asyncio.wait_for(reader.read(MAX_REPLY), self.timeout)
            return reply.rstrip(b"\0\n") == b"PONG"
        except (OSError, TimeoutError):
            return False
        finally:
            await _close(writer)

    async def _instream(self, message: bytes) -> bytes:
        reader, writer = await self._connect()
        try:
            writer.write(b"zINSTREAM\0")
            view = memoryview(message)
            cut_off = False
            for start in range(0, len(view), CHUNK):
                piece = view[start : start + CHUNK]
                writer.write(len(piece).to_bytes(4, "big"))
                writer.write(piece)
                try:
                    await writer.drain()
                except (BrokenPipeError, ConnectionResetError):
                    # clamd stops reading once the stream passes StreamMaxLength and says why.
                    cut_off = True
                    break
            else:
                writer.write(b"\0\0\0\0")
                try:
                    await writer.drain()
                except (BrokenPipeError, ConnectionResetError):
                    cut_off = True
            try:
                reply = await reader.read(MAX_REPLY)
            except (BrokenPipeError, ConnectionResetError):
                # asyncio raises the failed write's error before handing over what clamd had
                # already answered ("INSTREAM size limit exceeded") and put in the reader's buffer.
                reply = bytes(getattr(reader, "_buffer", b""))[:MAX_REPLY]
            if not reply and cut_off:
                # clamd closed with our data unread, so its answer can be lost with the reset
                raise EngineError(
                    "clamd stopped reading before the end of the message "
                    "(its INSTREAM size limit, StreamMaxLength, or a crash)"
                )
            if not reply:
                raise EngineError("clamd closed the connection without an answer")
            return reply
        finally:
            await _close(writer)


def _found(reply: bytes) -> str | None:
    line = reply.rstrip(b"\0\r\n").decode("utf-8", "replace")
    if line.startswith("stream: "):
        line = line[len("stream: ") :]
    if line == "OK":
        return None
    if line.endswith(" FOUND"):
        return line[: -len(" FOUND")].strip() or "unknown"
    raise EngineError(f"clamd: {line[:200]}")


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
