"""R13.7 in the portal, over HTTP against a real Dovecot as the former province's server: the
operator uploads a plan, the run goes on in the server's background while the page shows each
mailbox's progress, a wrong password stops that mailbox only, the run pauses and resumes, and the
reports download; an agency manager sees their agency's mailboxes and nothing else, and can neither
start nor download; a bad plan is refused line by line."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from contextlib import closing

import httpx

from tests.imap.conftest import RunningServer
from tests.importing.conftest import OLD_USERS, dovecot, seed  # noqa: F401  (the fixture)
from tests.importing.dovecot import MASTER, Dovecot
from tests.web.test_admin import portal  # noqa: F401  (the fixture)
from tests.web.test_roles import administrator, csrf

PAGE = "/quan-tri/chuyen-hop-thu"
HEADER = "old_address,server,tls,login,password,master_user,master_password,new_address\n"


def plan_csv(server: Dovecot, *pairs: tuple[str, str, str]) -> bytes:
    """(old user, how it signs in: "master" or "wrong", new local part) per line."""
    rows = [HEADER]
    for old, mode, new in pairs:
        master, master_password = MASTER if mode == "master" else ("", "")
        password = "Sai-mat-khau-9" if mode == "wrong" else ""
        rows.append(
            f"{old}@soctrang.gov.vn,127.0.0.1:{server.port},none,{old},{password},{master},"
            f"{master_password},{new}@cantho.gov.vn\n"
        )
    return "".join(rows).encode()


def upload(
    browser: httpx.Client, data: bytes, name: str = "ke-hoach.csv", concurrency: int = 2
) -> httpx.Response:
    form = browser.get(PAGE)
    return browser.post(
        PAGE,
        data={"csrf": csrf(form), "concurrency": str(concurrency)},
        files={"file": (name, data, "text/csv")},
    )


def settled(browser: httpx.Client, run_id: int, timeout: float = 60) -> str:
    """The run's page once it no longer reloads itself (the run ended or paused)."""
    deadline = time.monotonic() + timeout
    while True:
        text = browser.get(PAGE, params={"luot": run_id}).text
        if 'http-equiv="refresh"' not in text:
            return text
        assert time.monotonic() < deadline, "the run did not end in time"
        time.sleep(0.3)


def run_of(response: httpx.Response) -> int:
    found = re.search(r"luot=(\d+)", str(response.headers.get("location", "")))
    assert found, response.text[:500]
    return int(found.group(1))


def test_r13_7_operator_runs_a_plan_and_downloads_its_reports(
    portal: RunningServer,  # noqa: F811
    site: str,
    dovecot: Dovecot,  # noqa: F811
) -> None:
    seed(dovecot, "minh.nv", 30)
    seed(dovecot, "lan.pt", 12)
    with closing(administrator(site, "ttnanh")) as operator:
        first = operator.get(PAGE)
        assert first.status_code == 200 and "Chưa có lượt chuyển nào" in first.text
        assert f'href="{PAGE}"' in first.text  # in the portal's menu
        started = upload(
            operator,
            plan_csv(
                dovecot,
                ("minh.nv", "master", "nvminh"),
                ("lan.pt", "master", "lvbinh"),
                ("anh.ttn", "wrong", "ttnanh"),
            ),
        )
        assert started.status_code == 303, started.text[:800]
        run_id = run_of(started)
        page = settled(operator, run_id)
        assert page.count("<progress") == 4  # overall, then each mailbox
        assert "2/3 hộp thư xong" in page and "42/42 thư" in page
        assert "sai đăng nhập" in page and "Sai-mat-khau-9" not in page  # stopped; never shown
        assert portal.run(portal.services.store.mail.usage(portal.account_id("nvminh")))[1] == 30

        report = operator.get(f"{PAGE}/{run_id}/bao-cao-json")
        assert report.status_code == 200 and "attachment" in report.headers["content-disposition"]
        figures = {m["mailbox"]["new_address"]: m["mailbox"] for m in json.loads(report.content)["mailboxes"]}
        assert figures["nvminh@cantho.gov.vn"]["status"] == "done"
        assert (
            figures["nvminh@cantho.gov.vn"]["messages"]
            == figures["nvminh@cantho.gov.vn"]["source_messages"]
            == 30
        )
        assert figures["ttnanh@cantho.gov.vn"]["status"] == "refused"
        folders = operator.get(f"{PAGE}/{run_id}/bao-cao-thu-muc")
        rows = list(csv.DictReader(io.StringIO(folders.content.decode("utf-8-sig"))))
        assert (
            sum(int(r["imported_messages"]) for r in rows if r["new_address"] == "lvbinh@cantho.gov.vn") == 12
        )
        assert operator.get(f"{PAGE}/{run_id}/bao-cao-khac").status_code == 404

        audit = operator.get("/quan-tri/nhat-ky").text
        assert "Bắt đầu chuyển hộp thư từ hệ thống cũ" in audit

        # the same plan again: the unfinished run resumes and brings only what is new
        seed(dovecot, "minh.nv", 5, start=100)
        again = upload(operator, plan_csv(dovecot, ("minh.nv", "master", "nvminh")), name="lan-2.csv")
        page = settled(operator, run_of(again))
        assert "5/5 thư" in page
        assert portal.run(portal.services.store.mail.usage(portal.account_id("nvminh")))[1] == 35


def test_r13_7_a_run_pauses_and_resumes(portal: RunningServer, site: str, dovecot: Dovecot) -> None:  # noqa: F811
    seed(dovecot, "minh.nv", 1000)
    service = portal.services.migration
    assert service is not None
    service.options = type(service.options)(batch_messages=10)  # many checkpoints to stop at
    with closing(administrator(site, "ttnanh")) as operator:
        run_id = run_of(upload(operator, plan_csv(dovecot, ("minh.nv", "master", "nvminh")), concurrency=1))
        moved_at_all = time.monotonic() + 30
        while portal.run(portal.services.store.mail.usage(portal.account_id("nvminh")))[1] == 0:
            assert time.monotonic() < moved_at_all
            time.sleep(0.02)
        page = operator.get(PAGE, params={"luot": run_id})
        assert 'http-equiv="refresh"' in page.text  # still running (a hundred batches): pause it
        paused = operator.post(f"{PAGE}/{run_id}/tam-dung", data={"csrf": csrf(page)})
        assert paused.status_code == 303
        page_text = settled(operator, run_id)
        assert "tạm dừng" in page_text and "Chạy tiếp" in page_text
        moved = portal.run(portal.services.store.mail.usage(portal.account_id("nvminh")))[1]
        assert 0 < moved < 1000
        refused = operator.post(f"{PAGE}/{run_id}/tam-dung", data={"csrf": csrf(page)})
        assert refused.status_code == 400 and "không chạy" in refused.text  # not running any more
        resumed = operator.post(f"{PAGE}/{run_id}/tiep-tuc", data={"csrf": csrf(page)})
        assert resumed.status_code == 303
        settled(operator, run_id)
        assert portal.run(portal.services.store.mail.usage(portal.account_id("nvminh")))[1] == 1000


def test_r13_7_a_manager_sees_their_agency_only(portal: RunningServer, site: str, dovecot: Dovecot) -> None:  # noqa: F811
    seed(dovecot, "minh.nv", 3)
    seed(dovecot, "lan.pt", 3)
    with closing(administrator(site, "ttnanh")) as operator:
        run_id = run_of(
            upload(
                operator, plan_csv(dovecot, ("minh.nv", "master", "nvminh"), ("lan.pt", "master", "lvbinh"))
            )
        )
        settled(operator, run_id)
    with closing(administrator(site, "nvminh")) as manager:  # Sở Nội vụ's manager; lvbinh is Sở Y tế's
        page = manager.get(PAGE, params={"luot": run_id})
        assert page.status_code == 200
        assert "nvminh@cantho.gov.vn" in page.text and "lvbinh@cantho.gov.vn" not in page.text
        assert 'name="file"' not in page.text and "bao-cao-json" not in page.text
        assert manager.get(f"{PAGE}/{run_id}/bao-cao-json").status_code == 403
        refused = manager.post(
            PAGE, data={"csrf": csrf(page)}, files={"file": ("p.csv", plan_csv(dovecot), "text/csv")}
        )
        assert refused.status_code == 403


def test_r13_7_a_bad_plan_is_refused_line_by_line(portal: RunningServer, site: str, dovecot: Dovecot) -> None:  # noqa: F811
    bad = (HEADER + "khong-phai-dia-chi,127.0.0.1:1,none,x,y,,,nvminh@cantho.gov.vn\n").encode()
    with closing(administrator(site, "ttnanh")) as operator:
        answer = upload(operator, bad)
        assert answer.status_code == 400 and "2" in answer.text and 'role="alert"' in answer.text
        wrong_kind = upload(operator, b"%PDF-1.4", name="ke-hoach.pdf")
        assert wrong_kind.status_code == 400 and ".csv" in wrong_kind.text
        assert "Chưa có lượt chuyển nào" in wrong_kind.text
