"""R8.1 in attached documents: their text read (bounded, in a child process), stamps found."""

from __future__ import annotations

import pytest

from hopthu.mail import parse
from hopthu.policy import secrecy
from hopthu.protection import doctext
from hopthu.protection.doctext import Document, text
from tests.protection.files import docx_with, mail, odt_with, pdf_with, xlsx_with, zip_of

MAKERS = {"pdf": pdf_with, "docx": docx_with, "xlsx": xlsx_with, "odf": odt_with}


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_text_keeps_paragraphs_apart(kind: str) -> None:
    read = text(Document("x", kind, MAKERS[kind]("TỐI MẬT", "Kế hoạch chuyển đổi số năm 2026")))
    assert read.splitlines()[:2] == ["TỐI MẬT", "Kế hoạch chuyển đổi số năm 2026"]


@pytest.mark.parametrize("kind", sorted(MAKERS))
@pytest.mark.parametrize(
    ("stamp", "level"),
    [
        ("ĐỘ MẬT: TUYỆT MẬT", secrecy.SecrecyLevel.TUYET_MAT),
        ("TỐI MẬT", secrecy.SecrecyLevel.TOI_MAT),
        ("[MẬT]", secrecy.SecrecyLevel.MAT),
    ],
)
async def test_markings_in_each_kind_of_document(kind: str, stamp: str, level) -> None:
    document = Document("ke-hoach", kind, MAKERS[kind]("UBND THÀNH PHỐ CẦN THƠ", stamp, "Kế hoạch"))
    [marking] = await doctext.markings([document])
    assert marking.level is level and marking.where == "attachment" and marking.file == "ke-hoach"
    assert marking.line == 2
    refusal = secrecy.secrecy_refusal([marking])
    assert "tệp đính kèm ke-hoach, dòng 2" in refusal.vi and "attached file ke-hoach, line 2" in refusal.en


@pytest.mark.parametrize("kind", sorted(MAKERS))
async def test_everyday_words_are_not_stamps(kind: str) -> None:
    document = Document("x", kind, MAKERS[kind]("Hướng dẫn đổi mật khẩu", "Bảo mật thông tin", "Mặt trận"))
    assert await doctext.markings([document]) == []


def test_a_docx_header_is_read() -> None:
    assert "TUYỆT MẬT" in text(Document("x", "docx", docx_with("Nội dung", header="TUYỆT MẬT")))


async def test_unreadable_documents_pass_and_are_logged(caplog) -> None:
    broken = [
        Document("hong.pdf", "pdf", b"%PDF-1.4 not really"),
        Document("hong.docx", "docx", b"PK\x03\x04 broken"),
        Document(
            "bom.docx", "docx", zip_of(("word/document.xml", b"<a>" + b" " * (doctext.MAX_MEMBER + 10)))
        ),
        Document(
            "dtd.docx", "docx", zip_of(("word/document.xml", b'<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>'))
        ),
    ]
    reads = await doctext.texts(broken)
    assert [r.text for r in reads] == [None, None, None, None]
    assert await doctext.markings(broken) == []
    assert "not read" in caplog.text


async def test_past_the_time_bound_the_child_is_killed() -> None:
    reads = await doctext.texts([Document("x.pdf", "pdf", pdf_with("TỐI MẬT"))], timeout=0)
    assert reads[0].text is None and reads[0].why == "not read in time"


def test_documents_found_in_a_message_by_extension_or_type() -> None:
    document = pdf_with("x")
    data = mail(
        ("a.pdf", document, "application/pdf"),
        ("b.DOCX", docx_with("x")),
        (None, odt_with("x"), "application/vnd.oasis.opendocument.text"),
        ("c.png", b"\x89PNG", "image/png"),
    )
    found = doctext.in_message(data, parse(data))
    assert [(d.name, d.kind) for d in found] == [
        ("a.pdf", "pdf"),
        ("b.DOCX", "docx"),
        ("(application/vnd.oasis.opendocument.text)", "odf"),
    ]
    assert found[0].data == document
