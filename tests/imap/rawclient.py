"""A minimal IMAP client that returns the server's exact bytes: for checking the wire form of
answers (BODYSTRUCTURE, literals, untagged responses) that client libraries reshape."""

from __future__ import annotations

import itertools
import re
import socket
import ssl

from tests.smtp.conftest import insecure_tls

_LITERAL_AT_END = re.compile(rb"~?\{(\d+)\}\r\n\Z")


class RawClient:
    def __init__(self, port: int, *, tls: bool = False, timeout: float = 30) -> None:
        self.sock: socket.socket | ssl.SSLSocket = socket.create_connection(
            ("127.0.0.1", port), timeout=timeout
        )
        if tls:
            self.sock = insecure_tls().wrap_socket(self.sock)
        self.buffer = b""
        self.tags = (f"t{n}" for n in itertools.count(1))
        self.greeting = self.line()

    def starttls(self) -> None:
        assert self.command("STARTTLS").endswith(b"OK Bat dau TLS / Begin TLS negotiation now\r\n")
        self.sock = insecure_tls().wrap_socket(self.sock)

    def login(self, user: str, password: str) -> bytes:
        return self.command(f'LOGIN {user} "{password}"')

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

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

    def close(self) -> None:
        self.sock.close()


def tagged(answer: bytes) -> bytes:
    """The tagged (last) line of an answer."""
    return answer.rstrip(b"\r\n").rsplit(b"\r\n", 1)[-1]
