"""R13.2 through the real server: dangerous files refused at the MX with 550 5.7.1, others delivered."""

from __future__ import annotations

import smtplib

import pytest

from tests.protection.files import docx, mail, zip_of
from tests.protection.test_filetypes import PDF, xlsx
from tests.smtp.conftest import MailServer, call


def _send(mailserver: MailServer, data: bytes) -> None:
    with mailserver.client() as client:
        client.sendmail("ban@example.org", ["nvminh@cantho.gov.vn"], data)


@pytest.mark.parametrize(
    ("files", "said"),
    [
        ((("hoso.pdf.exe", b"MZ" + bytes(200)),), b"hoso.pdf.exe"),
        ((("hoso.zip", zip_of(("a.pdf", PDF), ("cai dat.exe", b"MZ")), "application/zip"),), b"cai dat.exe"),
        ((("bao cao.docm", docx(macros=True)),), b"bao cao.docm"),
        ((("bao cao.docx", docx(macros=True)),), b"VBA"),
    ],
)
async def test_dangerous_files_refused_at_the_mx(mailserver: MailServer, files: tuple, said: bytes) -> None:
    with pytest.raises(smtplib.SMTPDataError) as refused:
        await call(_send, mailserver, mail(*files, subject=said.decode()))
    assert refused.value.smtp_code == 550 and b"5.7.1" in refused.value.smtp_error
    assert said in refused.value.smtp_error and b"Dangerous attachment refused" in refused.value.smtp_error
    assert await mailserver.inbox("nvminh") == []


async def test_documents_delivered(mailserver: MailServer) -> None:
    data = mail(
        ("hoso.pdf", PDF, "application/pdf"),
        ("hoso.docx", docx()),
        ("bang.xlsx", xlsx()),
        ("anh.zip", zip_of(("a.pdf", PDF))),
    )
    await call(_send, mailserver, data)
    [stored] = await mailserver.inbox("nvminh")
    assert stored.endswith(data)
