"""A DNS server on 127.0.0.1 answering from a table: the one stand-in the DNS tests use, at the edge
(the code under test asks it over UDP as it would ask any name server)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset


class StubDns:
    """`records[(name, type)] = [rdata text, …]`; a name in `failing` answers SERVFAIL. A CNAME
    answers every type, followed by the target's records of that type, as a recursive server does."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], list[str]] = {}
        self.failing: set[str] = set()
        self.questions = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="stub-dns", daemon=True)

    def add(self, name: str, rdtype: str, *values: str) -> None:
        self.records.setdefault((name.lower().rstrip("."), rdtype), []).extend(values)

    def _rrset(self, name: str, rdtype: str) -> dns.rrset.RRset | None:
        values = self.records.get((name, rdtype))
        if not values:
            return None
        return dns.rrset.from_text_list(name + ".", 3600, "IN", rdtype, values)

    def _answer(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.flags |= dns.flags.RA
        question = query.question[0]
        name = question.name.to_text().lower().rstrip(".")
        rdtype = dns.rdatatype.to_text(question.rdtype)
        if name in self.failing:
            response.set_rcode(dns.rcode.SERVFAIL)
            return response
        for _hop in range(4):  # a short chain of aliases at most
            found = self._rrset(name, rdtype)
            if found is not None:
                response.answer.append(found)
                return response
            alias = self._rrset(name, "CNAME")
            if alias is None:
                break
            response.answer.append(alias)
            name = alias[0].target.to_text().lower().rstrip(".")
        if not response.answer and not any(key[0] == name for key in self.records):
            response.set_rcode(dns.rcode.NXDOMAIN)
        return response

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                wire, peer = self._sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.questions += 1
            with contextlib.suppress(Exception):  # a malformed question gets no answer
                self._sock.sendto(self._answer(dns.message.from_wire(wire)).to_wire(), peer)

    @contextlib.contextmanager
    def running(self) -> Iterator[StubDns]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(timeout=5)
            self._sock.close()
