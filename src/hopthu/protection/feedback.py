"""Reading the DMARC aggregate reports other receivers send about our domains (RFC 7489 §7.2).

What reaches the report address is a stranger's file, so every step is bounded: at most
`MAX_FILES` attachments, each decompressed (gzip or zip) in chunks up to `MAX_XML` bytes and no
further (a zip bomb stops at the limit, it is never inflated whole), and the XML parsed by expat
with any document type declaration refused (no entities, no entity expansion, no external files),
at most `MAX_RECORDS` records and `MAX_DEPTH` levels. The caller runs `read_reports` in a thread:
it is CPU work the event loop must not wait for.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
import ipaddress
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import NoReturn
from xml.parsers import expat

MAX_FILES = 4
MAX_PARTS = 50
MAX_XML = 16 * 1024 * 1024  # a day's report of a big receiver about a city is far smaller
MAX_RECORDS = 100_000
MAX_DEPTH = 16
MAX_TEXT = 1024  # characters kept of one element's text
TOP_SOURCES = 10
_CHUNK = 64 * 1024
_ZIP_ENTRIES = 8
_XML_TYPES = ("text/xml", "application/xml")
_GZIP_TYPES = ("application/gzip", "application/x-gzip", "application/gzip-compressed")
_ZIP_TYPES = ("application/zip", "application/x-zip-compressed", "application/x-zip")


class ReportError(Exception):
    """The file is not a report we can read (too big, not XML, not DMARC feedback)."""


@dataclass
class Summary:
    """What the portal shows of one report."""

    org_name: str = ""
    report_id: str = ""
    domain: str = ""
    begin: dt.datetime | None = None
    end: dt.datetime | None = None
    messages: int = 0
    passed: int = 0
    failed: int = 0
    sources: list[dict[str, object]] = field(default_factory=list)  # the top sources, failing first


def read_reports(data: bytes) -> tuple[list[Summary], list[str]]:
    """The reports attached to one message (bytes as received), and why any file was not read."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    summaries: list[Summary] = []
    problems: list[str] = []
    files = 0
    for number, part in enumerate(message.walk()):
        if number >= MAX_PARTS or files >= MAX_FILES:
            break
        if part.is_multipart():
            continue
        kind = _kind(part.get_content_type(), (part.get_filename() or "").lower())
        if kind is None:
            continue
        files += 1
        try:
            payload = part.get_payload(decode=True) or b""
            assert isinstance(payload, bytes)  # decode=True on a leaf part gives its octets
            summaries.append(parse_xml(_inflate(payload, kind)))
        except ReportError as error:
            problems.append(str(error))
    return summaries, problems


def _kind(content_type: str, name: str) -> str | None:
    if content_type in _ZIP_TYPES or name.endswith(".zip"):
        return "zip"
    if content_type in _GZIP_TYPES or name.endswith(".gz"):
        return "gzip"
    if content_type in _XML_TYPES or name.endswith(".xml"):
        return "xml"
    return None


def _inflate(payload: bytes, kind: str) -> bytes:
    if kind == "gzip":
        return gunzip(payload)
    if kind == "zip":
        return unzip(payload)
    if len(payload) > MAX_XML:
        raise ReportError("report larger than the limit")
    return payload


def gunzip(payload: bytes, limit: int = MAX_XML) -> bytes:
    """One gzip member inflated in chunks, refused as soon as it would pass `limit`."""
    inflater = zlib.decompressobj(wbits=31)
    out = bytearray()
    data = payload
    try:
        while data:
            out += inflater.decompress(data, _CHUNK)
            if len(out) > limit:
                raise ReportError("report inflates past the limit")
            data = inflater.unconsumed_tail
        out += inflater.flush(_CHUNK)
    except zlib.error as error:
        raise ReportError(f"not gzip: {error}") from None
    if len(out) > limit:
        raise ReportError("report inflates past the limit")
    return bytes(out)


def unzip(payload: bytes, limit: int = MAX_XML) -> bytes:
    """The first .xml entry of a zip archive, read in chunks up to `limit` (the sizes the archive
    claims are not believed)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(payload))
        entries = archive.infolist()[:_ZIP_ENTRIES]
        entry = next((e for e in entries if e.filename.lower().endswith(".xml")), None)
        if entry is None:
            raise ReportError("no XML file in the zip archive")
        if entry.flag_bits & 0x1:
            raise ReportError("encrypted zip entry")
        if entry.file_size > limit:
            raise ReportError("report inflates past the limit")
        out = bytearray()
        with archive.open(entry) as stream:
            while chunk := stream.read(_CHUNK):
                out += chunk
                if len(out) > limit:
                    raise ReportError("report inflates past the limit")
        return bytes(out)
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError, ValueError) as error:
        raise ReportError(f"not a readable zip archive: {error}") from None


class _Refused(Exception):
    pass


def parse_xml(document: bytes) -> Summary:
    """The summary of one feedback document; `ReportError` when it is not one."""
    reader = _Reader()
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = reader.refuse
    parser.EntityDeclHandler = reader.refuse
    parser.ExternalEntityRefHandler = reader.refuse
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    parser.CharacterDataHandler = reader.text
    try:
        parser.Parse(document, True)
    except _Refused as error:
        raise ReportError(str(error) or "refused") from None
    except expat.ExpatError as error:
        raise ReportError(f"not well-formed XML: {error}") from None
    return reader.summary()


class _Reader:
    def __init__(self) -> None:
        self.path: list[str] = []
        self.buffer: list[str] = []
        self.size = 0
        self.values: dict[str, str] = {}
        self.row: dict[str, str] = {}
        self.records = 0
        self.totals: Counter[str] = Counter()
        self.failing: Counter[str] = Counter()
        self.messages = self.passed = self.failed = 0
        self.root = ""

    def refuse(self, *args: object) -> NoReturn:
        raise _Refused("document type declarations are refused")

    def start(self, name: str, attributes: dict[str, str]) -> None:
        if not self.path:
            self.root = name
        self.path.append(name)
        if len(self.path) > MAX_DEPTH:
            raise _Refused("nested too deep")
        if self.path[-2:] == ["feedback", "record"]:
            self.records += 1
            if self.records > MAX_RECORDS:
                raise _Refused("too many records")
            self.row = {}
        self.buffer, self.size = [], 0

    def text(self, data: str) -> None:
        if self.size < MAX_TEXT:
            self.buffer.append(data[: MAX_TEXT - self.size])
            self.size += len(data)

    def end(self, name: str) -> None:
        where = "/".join(self.path)
        value = "".join(self.buffer).strip()
        self.buffer, self.size = [], 0
        if where.startswith("feedback/record/"):
            self.row[where[len("feedback/record/") :]] = value
        elif where in _WANTED:
            self.values.setdefault(where, value)
        elif where == "feedback/record":
            self._count_row()
        self.path.pop()

    def _count_row(self) -> None:
        row, self.row = self.row, {}
        if not row:
            return
        try:
            count = max(0, min(int(row.get("row/count", "0")), 10**12))
        except ValueError:
            count = 0
        source = row.get("row/source_ip", "")
        try:
            source = str(ipaddress.ip_address(source))
        except ValueError:
            source = source[:45]
        evaluated = (row.get("row/policy_evaluated/dkim", ""), row.get("row/policy_evaluated/spf", ""))
        self.messages += count
        self.totals[source] += count
        if "pass" in evaluated:
            self.passed += count
        else:
            self.failed += count
            self.failing[source] += count

    def summary(self) -> Summary:
        if self.root != "feedback" or "feedback/report_metadata/report_id" not in self.values:
            raise ReportError("not a DMARC aggregate report")
        values = self.values
        order = sorted(self.totals, key=lambda ip: (-self.failing[ip], -self.totals[ip], ip))
        return Summary(
            org_name=values.get("feedback/report_metadata/org_name", "")[:300],
            report_id=values["feedback/report_metadata/report_id"][:300],
            domain=values.get("feedback/policy_published/domain", "").lower()[:255],
            begin=_moment(values.get("feedback/report_metadata/date_range/begin", "")),
            end=_moment(values.get("feedback/report_metadata/date_range/end", "")),
            messages=self.messages,
            passed=self.passed,
            failed=self.failed,
            sources=[
                {"ip": ip, "count": self.totals[ip], "failed": self.failing[ip]} for ip in order[:TOP_SOURCES]
            ],
        )


_WANTED = {
    "feedback/report_metadata/org_name",
    "feedback/report_metadata/report_id",
    "feedback/report_metadata/date_range/begin",
    "feedback/report_metadata/date_range/end",
    "feedback/policy_published/domain",
}


def _moment(text: str) -> dt.datetime | None:
    try:
        seconds = int(text)
        return dt.datetime.fromtimestamp(seconds, dt.UTC) if 0 <= seconds < 2**35 else None
    except ValueError:
        return None
