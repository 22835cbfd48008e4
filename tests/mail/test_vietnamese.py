"""Vietnamese mail as agencies send it: encoded subjects, file names, folded search, attachments."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

from hopthu.mail import Attachment, ParsedMessage, canonical, filename, find_part, parse
from hopthu.mail.searchtext import MARK


def message(headers: str | bytes, body: bytes = b"Noi dung.\r\n") -> ParsedMessage:
    head = headers.encode() if isinstance(headers, str) else headers
    return parse(canonical(head.strip() + b"\r\n\r\n" + body))


@pytest.mark.parametrize(
    ("subject", "text"),
    [
        (b"=?UTF-8?B?Q8O0bmcgdsSDbiBz4buRIDEyMy9VQk5ELVZQ?=", "Công văn số 123/UBND-VP"),
        (b"=?utf-8?Q?C=C3=B4ng_v=C4=83n_s=E1=BB=91_123?=", "Công văn số 123"),
        (b"Re: =?UTF-8?B?QsOhbyBjw6Fv?= =?UTF-8?B?IHRo4bqhbmc=?=", "Re: Báo cáo thạng"),
        # windows-1258 writes tones as combining marks: ố is ô (0xF4) + acute (0xEC)
        (b"=?windows-1258?Q?C=F4ng_v=E3n_s=F4=EC_123?=", "Công văn số 123"),
        # an encoded word split inside a UTF-8 character ("ố" is E1 BB 91)
        (b"=?UTF-8?Q?s=E1=BB?= =?UTF-8?Q?=91?=", "số"),
        ("Thông báo họp".encode(), "Thông báo họp"),  # raw 8-bit UTF-8
    ],
)
def test_subjects_are_decoded(subject: bytes, text: str) -> None:
    parsed = message(b"From: a@b.vn\r\nSubject: " + subject)
    assert parsed.subject == text
    assert parsed.envelope["subject"] == subject.decode("latin-1")  # raw for IMAP


def test_search_text_is_folded() -> None:
    parsed = message(
        "From: =?UTF-8?B?Tmd1eeG7hW4gVsSDbiBNaW5o?= <minh.nv@stnmt.cantho.gov.vn>\r\n"
        "To: =?UTF-8?Q?Tr=E1=BA=A7n_Th=E1=BB=8B_L=C3=A1n?= <lan.tt@ubnd.cantho.gov.vn>\r\n"
        "Cc: Phòng Hành chính <hanhchinh@cantho.gov.vn>\r\n"
        "Subject: =?UTF-8?B?xJDhu4Egbmdo4buLIGLhu5Ugc3VuZw==?=\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable",
        b"<html><head><style>p {color: red}</style></head><body><p>K=C3=ADnh g=E1=BB=ADi=\r\n"
        b" &amp; tr=C3=A2n tr=E1=BB=8Dng</p><script>var hidden=1;</script></body></html>\r\n",
    )
    text = parsed.search_text
    assert "nguyen van minh" in text
    assert "minh.nv@stnmt.cantho.gov.vn" in text
    assert "tran thi lan" in text
    assert "phong hanh chinh" in text
    assert "de nghi bo sung" in text
    assert "kinh gui & tran trong" in text
    assert "color" not in text and "hidden" not in text and "<p>" not in text
    assert text == text.lower()
    assert parsed.preview == "Kính gửi & trân trọng"
    assert parsed.from_ == "Nguyễn Văn Minh <minh.nv@stnmt.cantho.gov.vn>"


def test_search_text_is_bounded() -> None:
    body = ("Ủy ban nhân dân thành phố Cần Thơ " * 20_000).encode()
    parsed = message("Subject: dai\r\nContent-Type: text/plain; charset=utf-8", body)
    assert len(parsed.search_text) <= 256 * 1024
    # the body's words first, the header's after the mark: the subject survives the cut
    assert parsed.search_text.startswith("uy ban nhan dan thanh pho can tho")
    assert parsed.search_text.endswith(f"{MARK} dai")


def _b64(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def test_attachments_names_types_and_sizes() -> None:
    pdf, doc = b"%PDF-1.4 " + bytes(range(256)) * 40, b"\xd0\xcf\x11\xe0" * 3001
    data = canonical(
        b"From: vanthu@cantho.gov.vn\r\nSubject: files\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nK\xc3\xadnh g\xe1\xbb\xadi\r\n"
        b"--b1\r\nContent-Type: application/pdf\r\n"
        b"Content-Disposition: attachment;\r\n"
        b" filename*=UTF-8''C%C3%B4ng%20v%C4%83n%20s%E1%BB%91%20123.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + _b64(pdf)
        + b"--b1\r\nContent-Type: application/msword;\r\n"
        b' name="=?UTF-8?B?S+G6vyBob+G6oWNoIG7Eg20gMjAyNS5kb2M=?="\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + _b64(doc)
        + b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Disposition: attachment; filename*0*=utf-8''Danh%20s%C3%A1ch;\r\n"
        b' filename*1=".txt"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
        b"Nguy=E1=BB=85n V=C4=83n A\r\n"
        b"--b1--\r\n"
    )
    parsed = parse(data)
    assert [a.part for a in parsed.attachments] == ["2", "3", "4"]
    pdf_att, doc_att, txt_att = parsed.attachments
    assert pdf_att == Attachment("2", "Công văn số 123.pdf", "application/pdf", len(_b64(pdf)) - 2, len(pdf))
    assert (doc_att.filename, doc_att.content_type, doc_att.decoded_size) == (
        "Kế hoạch năm 2025.doc",
        "application/msword",
        len(doc),
    )
    assert txt_att.filename == "Danh sách.txt"
    assert txt_att.decoded_size == len("Nguyễn Văn A".encode())
    assert parsed.attachment_bytes == len(pdf) + len(doc) + txt_att.decoded_size
    assert parsed.has_attachments
    assert "kinh gui" in parsed.search_text


def test_forwarded_message_inline_and_attached() -> None:
    inner = (
        b"From: xa@cantho.gov.vn\r\nSubject: inner\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="in"\r\n\r\n'
        b"--in\r\nContent-Type: text/plain\r\n\r\nsee file\r\n"
        b"--in\r\nContent-Type: image/png; name=so-do.png\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + _b64(b"\x89PNG" * 10)
        + b"--in--\r\n"
    )
    for disposition, parts in ((b"", ["2.2"]), (b"Content-Disposition: attachment\r\n", ["2"])):
        data = canonical(
            b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="out"\r\n\r\n'
            b"--out\r\nContent-Type: text/plain\r\n\r\nfwd\r\n"
            b"--out\r\nContent-Type: message/rfc822\r\n" + disposition + b"\r\n" + inner + b"--out--\r\n"
        )
        parsed = parse(data)
        assert [a.part for a in parsed.attachments] == parts
        assert find_part(parsed.structure, parts[0]) is not None


def test_signatures_are_not_attachments() -> None:
    data = canonical(
        b'MIME-Version: 1.0\r\nContent-Type: multipart/signed; boundary="s"; '
        b'protocol="application/pkcs7-signature"\r\n\r\n'
        b"--s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nK\xc3\xbd s\xe1\xbb\x91\r\n"
        b'--s\r\nContent-Type: application/pkcs7-signature; name="smime.p7s"\r\n'
        b'Content-Disposition: attachment; filename="smime.p7s"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHAqCAMIACAQEx\r\n--s--\r\n"
    )
    parsed = parse(data)
    assert not parsed.has_attachments and parsed.attachment_bytes == 0


def test_filename_prefers_content_disposition() -> None:
    parsed = message(
        b"MIME-Version: 1.0\r\nContent-Type: application/pdf; name=a.pdf\r\n"
        b"Content-Disposition: attachment; filename=b.pdf"
    )
    assert filename(parsed.structure) == "b.pdf"
    assert parsed.attachments[0].part == "1"


def test_list_columns_and_json_round_trip() -> None:
    parsed = message(
        b"From: Phong Ke Toan <ketoan@cantho.gov.vn>\r\nSubject: Luong thang 3\r\n"
        b"Date: Tue, 4 Mar 2025 08:00:00 +0700\r\nMessage-ID: <k3@cantho.gov.vn>\r\n"
    )
    assert parsed.date == dt.datetime(2025, 3, 4, 8, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    assert parsed.sent_at == parsed.date and parsed.sender == parsed.from_
    assert parsed.message_id == "<k3@cantho.gov.vn>"
    assert not parsed.has_attachments and parsed.attachment_bytes == 0
    stored = json.dumps(parsed.to_json(), ensure_ascii=False)
    assert ParsedMessage.from_json(json.loads(stored)) == parsed


def test_missing_fields_are_empty() -> None:
    parsed = parse(canonical(b"\r\nno header at all\r\n"))
    assert (parsed.subject, parsed.from_, parsed.date, parsed.message_id) == ("", "", None, None)
    assert parsed.envelope["from"] is None
    assert parsed.preview == "no header at all"
