"""The text of attached documents (PDF, DOCX, XLSX, ODT/ODS/ODP), for the secrecy check (R8.1).

A secrecy stamp sits at the top of the document, not in the message that carries it; so the files
a person sends are read too. Office formats are zips of XML, read here with `zipfile` and
defusedxml (no entity expansion, no DTD), a paragraph or a cell per line so that a stamp alone on its
line is still alone; PDF is read with pypdf, page by page.

A document is hostile input: every read is bounded (members, octets, pages, characters), and the
reading runs in a separate process (`texts`) that is killed past `TIMEOUT`, so neither a
decompression bomb nor a PDF built to loop can hold the event loop or the GIL. A document that
cannot be read in time, is encrypted, or is broken, has no text for us: it is sent, and the
reason is logged (see `policy.secrecy` for why: the check catches stamps, it cannot prove absence).
"""

from __future__ import annotations

import asyncio
import io
import logging
import multiprocessing
import os
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import IO, TYPE_CHECKING
from xml.etree.ElementTree import Element

from hopthu.mail import ParsedMessage
from hopthu.mail.decode import lenient_body
from hopthu.policy import secrecy

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

log = logging.getLogger("hopthu.protection.doctext")

TIMEOUT = 20.0  # seconds for all the documents of one message
MAX_TEXT = 200_000  # characters kept per document (a stamp is on its first page)
MAX_PAGES = 30
MAX_MEMBER = 16 * 1024 * 1024  # octets of one XML member unpacked
MAX_MEMBERS = 200  # sheets, headers, footers...
MAX_FILES = 10  # documents read per message
MAX_FILE = 32 * 1024 * 1024  # a document larger than this is not read
CONCURRENT = max(1, min(4, os.cpu_count() or 1))

KINDS = {"pdf": "pdf", "docx": "docx", "docm": "docx", "dotx": "docx", "xlsx": "xlsx", "xlsm": "xlsx"}
KINDS |= {"odt": "odf", "ods": "odf", "odp": "odf", "ott": "odf"}
CONTENT_TYPES = {
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.oasis.opendocument.text": "odf",
    "application/vnd.oasis.opendocument.spreadsheet": "odf",
}


@dataclass(frozen=True)
class Document:
    name: str
    kind: str  # "pdf" | "docx" | "xlsx" | "odf"
    data: bytes


def kind_of(name: str | None, content_type: str) -> str | None:
    """Which reader a file needs, by its extension first, else its content type (None: not a document)."""
    if name and "." in name:
        found = KINDS.get(name.rsplit(".", 1)[1].strip(" .").lower())
        if found:
            return found
    return CONTENT_TYPES.get(content_type.lower())


class Unreadable(Exception):
    pass


# --- reading, in the worker ---------------------------------------------------------------------


def text(document: Document) -> str:
    """The document's text, a paragraph, cell or PDF line per line. Raises Unreadable."""
    try:
        if document.kind == "pdf":
            return _pdf(document.data)
        with zipfile.ZipFile(io.BytesIO(document.data)) as archive:
            names = archive.namelist()[:5000]
            if document.kind == "docx":
                wanted = [n for n in names if n.startswith("word/") and _docx_part(n)]
                return _xml_lines(archive, wanted, paragraph={"p"}, run={"t"}, breaks={"br", "cr", "tab"})
            if document.kind == "xlsx":
                wanted = [n for n in names if n == "xl/sharedStrings.xml" or n.startswith("xl/worksheets/")]
                return _xml_lines(archive, wanted, paragraph={"si", "is", "c"}, run={"t", "v"}, breaks=set())
            wanted = [n for n in names if n in ("content.xml", "styles.xml")]
            return _xml_lines(archive, wanted, paragraph={"p", "h"}, run=None, breaks={"line-break", "tab"})
    except Unreadable:
        raise
    except Exception as error:  # a broken or hostile file: no text, whatever the library raised
        raise Unreadable(f"{type(error).__name__}: {error}"[:200]) from None


def _docx_part(name: str) -> bool:
    base = name[len("word/") :]
    return "/" not in base and base.endswith(".xml") and base.startswith(("document", "header", "footer"))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml_lines(
    archive: zipfile.ZipFile,
    members: Sequence[str],
    *,
    paragraph: set[str],
    run: set[str] | None,
    breaks: set[str],
) -> str:
    """One line per outermost `paragraph` element: the text of its `run` elements (every element's,
    tails included, when `run` is None), `breaks` as line breaks or tabs."""
    from defusedxml.ElementTree import iterparse

    lines: list[str] = []
    size = 0
    for name in sorted(members)[:MAX_MEMBERS]:
        info = archive.getinfo(name)
        if info.file_size > MAX_MEMBER:
            raise Unreadable(f"{name} is too large")
        with archive.open(info) as member:
            depth = 0
            for event, element in iterparse(_Bounded(member, MAX_MEMBER), events=("start", "end")):
                if _local(element.tag) not in paragraph:
                    continue
                depth += 1 if event == "start" else -1
                if event == "end" and depth == 0:
                    parts: list[str] = []
                    _flatten(element, run, breaks, parts)
                    lines.append("".join(parts))
                    size += len(lines[-1])
                    element.clear()
                    if size > MAX_TEXT:
                        return "\n".join(lines)[:MAX_TEXT]
    return "\n".join(lines)


def _flatten(element: Element, run: set[str] | None, breaks: set[str], out: list[str]) -> None:
    tag = _local(element.tag)
    if tag in breaks:
        out.append("\t" if tag == "tab" else "\n")
    elif run is None or tag in run:
        out.append(element.text or "")
    for child in element:
        _flatten(child, run, breaks, out)
        if run is None:
            out.append(child.tail or "")


class _Bounded(io.RawIOBase):
    """A member read with a ceiling: a member whose header lies about its size stops here."""

    def __init__(self, raw: IO[bytes], limit: int) -> None:
        self.raw = raw
        self.left = limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        if self.left <= 0:
            raise Unreadable("a member unpacks past its limit")
        view = memoryview(buffer).cast("B")
        chunk = self.raw.read(min(len(view), self.left))
        self.left -= len(chunk)
        view[: len(chunk)] = chunk
        return len(chunk)


def _pdf(data: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        try:
            if not reader.decrypt(""):
                raise Unreadable("encrypted with a password")
        except Unreadable:
            raise
        except Exception as error:
            raise Unreadable(f"encrypted: {error}") from None
    out: list[str] = []
    size = 0
    for number, page in enumerate(reader.pages):
        if number >= MAX_PAGES or size > MAX_TEXT:
            break
        words = page.extract_text() or ""
        out.append(words)
        size += len(words)
    return "\n".join(out)[:MAX_TEXT]


def _worker(documents: list[Document], connection: Connection) -> None:
    """In the child: each document's text or the reason it has none, sent back in one piece."""
    try:
        import resource

        limit = 2 * 1024 * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass
    results: list[tuple[str, str]] = []
    for document in documents:
        try:
            results.append(("text", text(document)))
        except Unreadable as error:
            results.append(("unreadable", str(error)))
        except MemoryError:
            results.append(("unreadable", "too much memory"))
    connection.send(results)
    connection.close()


# --- the event loop's side ----------------------------------------------------------------------


_slots: asyncio.Semaphore | None = None
_context = multiprocessing.get_context(
    "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
)


if _context.get_start_method() == "forkserver":
    # Children start from a server that has the readers loaded already, not from a bare interpreter.
    _context.set_forkserver_preload(["hopthu.protection.doctext", "pypdf", "defusedxml.ElementTree"])


def _slot() -> asyncio.Semaphore:
    global _slots
    if _slots is None:
        _slots = asyncio.Semaphore(CONCURRENT)
    return _slots


@dataclass(frozen=True)
class Read:
    """One document's outcome: its text, or None and why not."""

    name: str
    text: str | None
    why: str = ""


async def texts(documents: Sequence[Document], timeout: float = TIMEOUT) -> list[Read]:
    """The text of each document, read in a child process killed after `timeout` seconds."""
    documents = [d for d in documents if len(d.data) <= MAX_FILE][:MAX_FILES]
    if not documents:
        return []
    async with _slot():
        receiving, sending = _context.Pipe(duplex=False)
        # get_context's value is typed as BaseContext, which lacks the Process every real context has
        process = _context.Process(  # type: ignore[attr-defined]
            target=_worker, args=(documents, sending), daemon=True
        )
        process.start()
        sending.close()
        try:
            ready = await asyncio.to_thread(receiving.poll, timeout)
            results = await asyncio.to_thread(receiving.recv) if ready else None
        except (EOFError, OSError):
            results = None
        finally:
            receiving.close()
            if process.is_alive():
                process.kill()
            await asyncio.to_thread(process.join, 5)
    if results is None:
        log.warning("documents not read within %.0f s: %s", timeout, ", ".join(d.name for d in documents))
        return [Read(d.name, None, "not read in time") for d in documents]
    reads = []
    for document, (outcome, value) in zip(documents, results, strict=False):
        if outcome == "text":
            reads.append(Read(document.name, value))
        else:
            log.warning("document %r not read: %s", document.name, value)
            reads.append(Read(document.name, None, value))
    return reads


def documents_of(files: Iterator[tuple[str | None, str, bytes]]) -> list[Document]:
    """The files that are documents we read: (name, content type, content) in, Documents out."""
    found = []
    for name, content_type, data in files:
        kind = kind_of(name, content_type)
        if kind is not None:
            found.append(Document(name or f"({content_type})", kind, data))
    return found


def in_message(data: bytes, parsed: ParsedMessage) -> list[Document]:
    """The documents a message carries, decoded (leniently, within `MAX_FILE`)."""
    if not parsed.attachments:
        return []
    from hopthu.protection.filetypes import files

    found = []
    for node, name, content_type in files(parsed.structure):
        kind = kind_of(name, content_type)
        if kind is None or node["end"] - node["body_start"] > MAX_FILE * 4 // 3 + 4096:
            continue
        found.append(Document(name or f"({content_type})", kind, lenient_body(data, node, MAX_FILE)))
        if len(found) >= MAX_FILES:
            break
    return found


async def markings(documents: Sequence[Document]) -> list[secrecy.Marking]:
    """The secrecy markings in the documents' text; an unreadable document has none (logged)."""
    found: list[secrecy.Marking] = []
    for read in await texts(documents):
        if read.text:
            found += secrecy.find_in_document(read.name, read.text)
    return found
