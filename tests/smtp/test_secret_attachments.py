"""R8.1 through the real server: a stamped document attached to mail sent by submission is refused."""

from __future__ import annotations

import smtplib

import pytest

from tests.protection.files import docx_with, mail, odt_with, pdf_with, xlsx_with
from tests.smtp.conftest import MailServer, call
from tests.smtp.test_submission import queued

DOCUMENTS = {
    "ke-hoach.pdf": (pdf_with, "application/pdf"),
    "ke-hoach.docx": (docx_with, "application/octet-stream"),
    "ke-hoach.xlsx": (xlsx_with, "application/octet-stream"),
    "ke-hoach.odt": (odt_with, "application/vnd.oasis.opendocument.text"),
}


def _submit(mailserver: MailServer, data: bytes) -> dict:
    with mailserver.signed_in() as client:
        return client.sendmail("nvminh@cantho.gov.vn", ["ttnanh@cantho.gov.vn"], data)


@pytest.mark.parametrize(
    ("name", "stamp", "said"),
    [
        ("ke-hoach.pdf", "TUYỆT MẬT", b"TUYET MAT"),
        ("ke-hoach.docx", "Độ mật: Tối mật", b"Toi mat"),
        ("ke-hoach.xlsx", "MẬT", b"MAT"),
        ("ke-hoach.odt", "[TỐI MẬT]", b"TOI MAT"),
    ],
)
async def test_stamped_documents_refused_at_submission(
    mailserver: MailServer, name: str, stamp: str, said: bytes
) -> None:
    make, content_type = DOCUMENTS[name]
    data = mail(
        (name, make("SỞ NỘI VỤ", stamp, "Kế hoạch năm 2026"), content_type),
        sender="nvminh@cantho.gov.vn",
        to="ttnanh@cantho.gov.vn",
    )
    with pytest.raises(smtplib.SMTPDataError) as refused:
        await call(_submit, mailserver, data)
    assert refused.value.smtp_code == 550 and b"5.7.1" in refused.value.smtp_error
    assert said in refused.value.smtp_error and name.encode() in refused.value.smtp_error
    assert await mailserver.inbox("ttnanh") == [] and await queued(mailserver) == []


async def test_documents_without_stamps_are_sent(mailserver: MailServer) -> None:
    files = [
        (name, make("SỞ NỘI VỤ", "Bảo mật thông tin", "Kế hoạch năm 2026"), kind)
        for name, (make, kind) in DOCUMENTS.items()
    ]
    data = mail(*files, sender="nvminh@cantho.gov.vn", to="ttnanh@cantho.gov.vn")
    assert await call(_submit, mailserver, data) == {}
    [stored] = await mailserver.inbox("ttnanh")
    assert stored.endswith(data)
