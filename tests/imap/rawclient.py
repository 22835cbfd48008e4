"""The one raw IMAP client of the tests: bytes on a socket, the server's exact bytes back.

For the wire form of answers that client libraries reshape (BODYSTRUCTURE, literals, untagged
responses), and for what no library would send (half commands, huge literals, DONE never coming),
against a live listener: `tests/imap` through `RunningServer.raw`, `tests/hostile` against a real
`hopthu serve`. Either read answers a tagged command at a time (`command`, `until`), or wait for
bytes to appear within a time (`receive_until`, `eof`) when the server may close or stay silent.
"""

from __future__ import annotations

import itertools
import re
import select
import socket
import ssl
import time

from hopthu.imap.responses import BEGIN_TLS

_LITERAL_AT_END = re.compile(rb"~?\{(\d+)\}\r\n\Z")
_GONE = (BrokenPipeError, ConnectionResetError, ssl.SSLError)


def client_tls() -> ssl.SSLContext:
    """TLS that accepts the servers' self-signed test certificates."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class RawClient:
    def __init__(self, port: int, *, tls: bool = False, timeout: float = 30) -> None:
        self.timeout = timeout
        self.sock: socket.socket | ssl.SSLSocket = socket.create_connection(
            ("127.0.0.1", port), timeout=timeout
        )
        if tls:
            self.sock = client_tls().wrap_socket(self.sock)
        self.buffer = b""
        self.closed = False  # the server closed the connection
        self.tags = (f"t{n}" for n in itertools.count(1))
        self.greeting = self.line()

    def starttls(self) -> None:
        assert self.command("STARTTLS").endswith(b" OK " + BEGIN_TLS.encode() + b"\r\n")
        self.sock = client_tls().wrap_socket(self.sock)

    def login(self, user: str, password: str) -> bytes:
        return self.command(f'LOGIN {user} "{password}"')

    def send(self, data: bytes) -> bool:
        """False once the server has closed the connection."""
        try:
            self.sock.sendall(data)
        except _GONE:
            return False
        return True

    # --- an answer at a time ------------------------------------------------------------------

    def line(self) -> bytes:
        """One response line, with any literals it carries."""
        while True:
            end = self.buffer.find(b"\r\n")
            if end >= 0:
                found = _LITERAL_AT_END.search(self.buffer[: end + 2])
                if found is None:
                    line, self.buffer = self.buffer[: end + 2], self.buffer[end + 2 :]
                    return line
                size = int(found[1])
                if len(self.buffer) >= end + 2 + size:
                    rest = self.buffer[end + 2 + size :]
                    head = self.buffer[: end + 2 + size]
                    self.buffer = rest
                    return head + self.line()
            chunk = self.sock.recv(65536)
            if not chunk:
                self.closed = True
                raise ConnectionError("server closed the connection")
            self.buffer += chunk

    def command(self, text: str | bytes) -> bytes:
        """Send one command; everything the server answered up to and including the tagged line."""
        tag = next(self.tags)
        raw = text.encode() if isinstance(text, str) else text
        self.send(tag.encode() + b" " + raw + b"\r\n")
        return self.until(tag)

    def until(self, tag: str) -> bytes:
        answer = b""
        while True:
            try:
                line = self.line()
            except ConnectionError:
                if b"* BYE " in answer:  # the server ended the session instead of answering
                    return answer
                raise
            answer += line
            if line.startswith(tag.encode() + b" "):
                return answer

    def lines(self, tag: str) -> list[bytes]:
        """Every line up to and including the tagged answer; b"" last when the server closed first."""
        lines = []
        while True:
            try:
                line = self.line()
            except (ConnectionError, ssl.SSLError):
                line = b""
            lines.append(line)
            if not line or line.startswith(tag.encode() + b" "):
                return lines

    def exchange(self, tag: str, text: bytes) -> list[bytes]:
        """One command under the caller's tag; the lines of its answer (see `lines`)."""
        self.send(tag.encode() + b" " + text + b"\r\n")
        return self.lines(tag)

    def ok(self, tag: str, text: bytes) -> list[bytes]:
        """The untagged lines of a command that must succeed."""
        lines = self.exchange(tag, text)
        assert lines[-1].startswith(tag.encode() + b" OK"), lines
        return lines[:-1]

    # --- bytes within a time ------------------------------------------------------------------

    def receive_until(self, wanted: bytes, seconds: float = 10) -> bytes:
        """What arrived until `wanted` did (and the rest of its line), or everything that arrived
        before the server closed or the time ran out."""
        deadline = time.monotonic() + seconds
        try:
            while wanted not in self.buffer and time.monotonic() < deadline:
                self.sock.settimeout(max(0.05, deadline - time.monotonic()))
                try:
                    data = self.sock.recv(65536)
                except TimeoutError:
                    break
                except _GONE:
                    data = b""
                if not data:
                    self.closed = True
                    break
                self.buffer += data
        finally:
            if not self.closed:
                self.sock.settimeout(self.timeout)
        found = self.buffer.find(wanted)
        end = len(self.buffer) if found < 0 else found + len(wanted)
        if found >= 0 and not wanted.endswith(b"\n"):  # the rest of that line, when it came
            line_end = self.buffer.find(b"\r\n", end)
            end = end if line_end < 0 else line_end + 2
        taken, self.buffer = self.buffer[:end], self.buffer[end:]
        return taken

    def has_answer(self) -> bool:
        """Whether the server has sent something not yet read, without waiting."""
        if self.buffer:
            return True
        pending = self.sock.pending() if isinstance(self.sock, ssl.SSLSocket) else 0
        return bool(select.select([self.sock], [], [], 0)[0]) or pending > 0

    def eof(self, seconds: float = 5) -> bool:
        """Whether the server closes the connection within `seconds`."""
        self.receive_until(b"\x00never\x00", seconds)
        return self.closed

    def closed_quietly(self, seconds: float = 10) -> bool:
        """Whether the server closes the connection within `seconds` without sending anything more."""
        return self.receive_until(b"\x00never\x00", seconds) == b"" and self.closed

    def close(self) -> None:
        self.sock.close()


def tagged(answer: bytes) -> bytes:
    """The tagged (last) line of an answer."""
    return answer.rstrip(b"\r\n").rsplit(b"\r\n", 1)[-1]
