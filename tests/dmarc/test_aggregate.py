"""The aggregate reports we send (RFC 7489 §7.2): mail through the MX is counted, the daily job
builds each asking domain's report, queues it through the pipeline, and never twice for a day."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import gzip
import xml.etree.ElementTree as ET

import sqlalchemy as sa

from hopthu.jobs.scheduler import Scheduler
from hopthu.policy.dates import VIETNAM
from hopthu.protection.aggregate import destinations
from hopthu.store.schema import dmarc_sent, queue_item
from tests.dmarc.conftest import send
from tests.imap.conftest import RunningServer, message


def queued(server: RunningServer, recipient: str) -> list[email.message.EmailMessage]:
    async def load() -> list[bytes]:
        store = server.services.store
        rows = await store.db.all(sa.select(queue_item).where(queue_item.c.recipient == recipient))
        return [(row.prefix or b"") + store.blobs.get(row.blob_hash) for row in rows]

    return [email.message_from_bytes(data, policy=email.policy.default) for data in server.run(load())]


def run_job(server: RunningServer, now: dt.datetime) -> dict:
    done = server.run(Scheduler(server.services, node="test").run("dmarc", now))
    assert done.status == "ok", done.error
    return done.summary


def test_daily_reports_count_each_evaluation_and_go_once(dmarcserver: RunningServer) -> None:
    for n in range(3):
        assert (
            send(dmarcserver, message(f"Hợp lệ {n}", sender="a@good.example"), sender="a@good.example")[0]
            == 250
        )
    assert (
        send(dmarcserver, message("Giả mạo", sender="it@good.example"), sender="x@elsewhere.example")[0]
        == 550
    )
    assert send(dmarcserver, message("Bản tin", sender="b@news.example"), sender="b@news.example")[0] == 250
    assert send(dmarcserver, message("Nhỏ", sender="c@tiny.example"), sender="c@tiny.example")[0] == 250
    tomorrow = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    today = dt.datetime.now(VIETNAM).date()
    assert run_job(dmarcserver, tomorrow) == {"sent": 2, "too_large": 1, "unverified": 0, "dns_error": 0}

    (report,) = queued(dmarcserver, "dmarc@good.example")
    assert not queued(dmarcserver, "x@nowhere.example")  # another domain that did not agree (§7.1)
    ident = f"{today:%Y%m%d}.good.example"
    assert report["Subject"] == f"Report Domain: good.example Submitter: cantho.gov.vn Report-ID: <{ident}>"
    assert report["From"] == "dmarc-reports@cantho.gov.vn" and "DKIM-Signature" in report
    (attachment,) = list(report.iter_attachments())
    begin = int(dt.datetime.combine(today, dt.time(), VIETNAM).timestamp())
    assert attachment.get_filename() == f"cantho.gov.vn!good.example!{begin}!{begin + 86399}.xml.gz"
    assert attachment.get_content_type() == "application/gzip"
    feedback = ET.fromstring(gzip.decompress(attachment.get_content()))
    assert feedback.findtext("report_metadata/org_name") == "cantho.gov.vn"
    assert feedback.findtext("report_metadata/email") == "dmarc-reports@cantho.gov.vn"
    assert feedback.findtext("report_metadata/report_id") == ident
    assert feedback.findtext("report_metadata/date_range/begin") == str(begin)
    assert feedback.findtext("policy_published/domain") == "good.example"
    assert feedback.findtext("policy_published/p") == "reject"
    rows = {
        (r.findtext("row/policy_evaluated/disposition"), r.findtext("row/policy_evaluated/spf")): r
        for r in feedback.findall("record")
    }
    assert set(rows) == {("none", "pass"), ("reject", "fail")}
    passed, refused = rows[("none", "pass")], rows[("reject", "fail")]
    assert passed.findtext("row/count") == "3" and passed.findtext("row/source_ip") == "127.0.0.1"
    assert passed.findtext("identifiers/header_from") == "good.example"
    assert passed.findtext("auth_results/spf/domain") == "good.example"
    assert passed.findtext("auth_results/spf/result") == "pass"
    assert refused.findtext("row/count") == "1" and refused.findtext("auth_results/spf/result") == "none"
    assert refused.findtext("auth_results/spf/domain") == "elsewhere.example"

    (news,) = queued(dmarcserver, "agg@reports.example")  # verified at reports.example
    (news_file,) = list(news.iter_attachments())
    news_feedback = ET.fromstring(gzip.decompress(news_file.get_content()))
    (record,) = news_feedback.findall("record")
    assert record.findtext("row/count") == "1" and record.findtext("row/policy_evaluated/dkim") == "fail"
    assert not queued(dmarcserver, "dmarc@tiny.example")  # its !1k limit is smaller than the report

    # Idempotent: the same day again sends nothing more.
    assert run_job(dmarcserver, tomorrow + dt.timedelta(hours=2))["sent"] == 0
    assert len(queued(dmarcserver, "dmarc@good.example")) == 1
    sent = dmarcserver.run(
        dmarcserver.services.store.db.all(sa.select(dmarc_sent).order_by(dmarc_sent.c.domain))
    )
    assert [(r.domain, r.status, r.messages) for r in sent] == [
        ("good.example", "queued", 4),
        ("news.example", "queued", 1),
        ("tiny.example", "too_large", 1),
    ]


def test_rua_destinations_and_size_limits() -> None:
    found = destinations(
        " mailto:a@x.example!10m, https://x.example/r, mailto:b%40c@y.example!500k,mailto:bad"
    )
    assert [(d.address, d.domain, d.limit) for d in found] == [("a@x.example", "x.example", 10 * 1024 * 1024)]
    found = destinations("mailto:r@y.example!500k,mailto:s@z.example!7,mailto:t@w.example?subject=x")
    assert [(d.address, d.limit) for d in found] == [
        ("r@y.example", 500 * 1024),
        ("s@z.example", 7),
        ("t@w.example", None),
    ]
