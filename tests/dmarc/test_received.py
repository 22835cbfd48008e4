"""Aggregate reports other receivers send about our domains: mailed to the report address (which
takes mail with no mailbox behind it), read from gzip or zip with every size bounded, summarised
once per report id, and shown to the operator on the portal's "Báo cáo DMARC" page."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import re
import smtplib
import zipfile
from email.message import EmailMessage

import pytest
from playwright.sync_api import expect

from hopthu.protection.feedback import MAX_XML, ReportError, gunzip, parse_xml, read_reports, unzip
from tests.dmarc.conftest import send
from tests.imap.conftest import RunningServer
from tests.web.conftest import browser, page, sign_in  # noqa: F401
from tests.web.test_admin import enter_code, pass_second_factor

BEGIN = int(dt.datetime(2026, 3, 1, tzinfo=dt.UTC).timestamp())


def feedback(org: str, report_id: str, records: list[tuple[str, int, str, str]]) -> bytes:
    rows = "".join(
        f"<record><row><source_ip>{ip}</source_ip><count>{count}</count><policy_evaluated>"
        f"<disposition>none</disposition><dkim>{dkim}</dkim><spf>{spf}</spf></policy_evaluated></row>"
        "<identifiers><header_from>cantho.gov.vn</header_from></identifiers>"
        f"<auth_results><spf><domain>cantho.gov.vn</domain><result>{spf}</result></spf></auth_results></record>"
        for ip, count, dkim, spf in records
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8" ?><feedback><report_metadata><org_name>{org}</org_name>'
        f"<email>noreply@{org}</email><report_id>{report_id}</report_id><date_range><begin>{BEGIN}</begin>"
        f"<end>{BEGIN + 86399}</end></date_range></report_metadata><policy_published><domain>cantho.gov.vn"
        "</domain><p>reject</p><sp>reject</sp><pct>100</pct></policy_published>"
        f"{rows}</feedback>"
    ).encode()


def report_mail(org: str, name: str, payload: bytes, subtype: str) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"noreply-dmarc@{org}"
    mail["To"] = "dmarc-reports@cantho.gov.vn"
    mail["Subject"] = f"Report Domain: cantho.gov.vn Submitter: {org} Report-ID: <{name}>"
    mail.set_content("DMARC aggregate report.")
    mail.add_attachment(payload, maintype="application", subtype=subtype, filename=name)
    return mail.as_bytes()


def zipped(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return out.getvalue()


@pytest.fixture
def site(dmarcserver: RunningServer) -> str:
    async def setup() -> None:
        await dmarcserver.services.directory.roles.grant("ttnanh", "operator", actor="test")

    dmarcserver.run(setup())
    return f"http://127.0.0.1:{dmarcserver.port('http')}"


def test_reports_by_smtp_in_gzip_and_zip_appear_on_the_portal(dmarcserver: RunningServer, page) -> None:  # noqa: F811
    gmail = feedback(
        "mail.reporter.example",
        "r-1",
        [("203.0.113.9", 7, "fail", "fail"), ("127.0.0.1", 40, "pass", "pass")],
    )
    outlook = feedback("lists.example", "r-2", [("198.51.100.4", 2, "fail", "fail")])
    to = "dmarc-reports@cantho.gov.vn"  # no mailbox: the server reads it itself
    first = report_mail(
        "reporter.example", "reporter.example!cantho.gov.vn!1!2.xml.gz", gzip.compress(gmail), "gzip"
    )
    assert send(dmarcserver, first, sender="noreply-dmarc@reporter.example", to=to)[0] == 250
    second = report_mail(
        "lists.example", "lists.example!cantho.gov.vn!1!2.zip", zipped("r.xml", outlook), "zip"
    )
    assert send(dmarcserver, second, sender="noreply@lists.example", to=to)[0] == 250
    assert (
        send(dmarcserver, first, sender="noreply-dmarc@reporter.example", to=to)[0] == 250
    )  # the same again
    with smtplib.SMTP("127.0.0.1", dmarcserver.port("smtp"), timeout=30) as client:
        client.ehlo("mx.reporter.example")
        client.mail("x@reporter.example")
        assert client.rcpt("khong-co@cantho.gov.vn")[0] == 550  # other unknown addresses still refused

    sign_in(page, "ttnanh")
    page.wait_for_url("**/thu/*")
    page.goto("/quan-tri/dmarc")
    enter_code(page, pass_second_factor(page, enrol=True))
    page.wait_for_url("**/quan-tri/dmarc")
    expect(page.get_by_role("heading", name="Báo cáo DMARC")).to_be_visible()
    table = page.locator("#received ~ table")
    expect(table.locator("tbody tr")).to_have_count(2)  # the repeated report is kept once
    row = table.locator("tbody tr", has_text="mail.reporter.example")
    expect(row).to_contain_text("47")  # messages
    expect(row).to_contain_text("203.0.113.9 (7)")  # the failing source
    assert "127.0.0.1" not in row.inner_text()  # a passing source is not listed as failing
    expect(table.locator("tbody tr", has_text="lists.example")).to_contain_text("198.51.100.4 (2)")
    expect(page.get_by_role("link", name="Báo cáo DMARC")).to_have_attribute("aria-current", "page")


def test_a_zip_bomb_stops_at_the_limit() -> None:
    bomb = zipped("r.xml", b"<" + b"a" * (MAX_XML + 10))
    with pytest.raises(ReportError, match="limit"):
        unzip(bomb)
    with pytest.raises(ReportError, match="limit"):
        gunzip(gzip.compress(b" " * (MAX_XML + 10)))
    assert len(gzip.compress(b" " * (MAX_XML + 10))) < 100_000  # it was a bomb: small in, huge out


def test_entities_and_document_types_are_refused() -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE feedback [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b"<feedback><report_metadata><report_id>&b;</report_id></report_metadata></feedback>"
    )
    with pytest.raises(ReportError, match="document type"):
        parse_xml(laughs)
    external = b'<!DOCTYPE feedback SYSTEM "file:///etc/passwd"><feedback/>'
    with pytest.raises(ReportError):
        parse_xml(external)
    with pytest.raises(ReportError, match="not a DMARC"):
        parse_xml(b"<html><body/></html>")


def test_a_report_summary_counts_pass_and_fail_by_aligned_result() -> None:
    data = feedback("r.example", "id-9", [("192.0.2.1", 3, "pass", "fail"), ("192.0.2.2", 5, "fail", "fail")])
    mail = report_mail("r.example", "r.xml.gz", gzip.compress(data), "gzip")
    (summary,), problems = read_reports(mail)
    assert problems == []
    assert (summary.org_name, summary.report_id, summary.domain) == ("r.example", "id-9", "cantho.gov.vn")
    assert (summary.messages, summary.passed, summary.failed) == (8, 3, 5)
    assert summary.begin == dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    assert summary.sources[0] == {"ip": "192.0.2.2", "count": 5, "failed": 5}
    broken = report_mail("r.example", "r.xml.gz", b"not gzip at all", "gzip")
    assert read_reports(broken)[0] == [] and re.search("gzip", read_reports(broken)[1][0])
