"""`hopthu dns show` and `hopthu dns check`, run as the operator runs them (the real command in a
subprocess), record by record; `check` asks a DNS server on 127.0.0.1 that answers from a table
(`dnsstub`), the only stand-in: the internet's DNS."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from hopthu.config import load_settings
from hopthu.discovery import mtasts
from hopthu.errors import HopThuError
from tests.cli.conftest import Cli
from tests.discovery.dnsstub import StubDns

DOMAINS = ("cantho.gov.vn", "soctrang.gov.vn", "haugiang.gov.vn")
MX = "mail.cantho.gov.vn"
ZONE_LINE = re.compile(r"^(\S+)\. 3600 IN (\S+) (.+)$")


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    command = Cli(tmp_path / "data", f"sqlite+aiosqlite:///{tmp_path / 'hopthu.db'}")
    command.init()
    return command


def zone(cli: Cli, *, env: dict[str, str] | None = None) -> dict[tuple[str, str], list[str]]:
    """`dns show` read back as a zone file: (name, type) -> values, TXT strings joined."""
    shown = cli("dns", "show", env=env)
    assert shown.code == 0, shown.err
    records: dict[tuple[str, str], list[str]] = {}
    for line in shown.out.splitlines():
        if line.startswith(";") or not line.strip():
            continue
        name, rdtype, value = ZONE_LINE.match(line).groups()
        if rdtype == "TXT":
            value = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', value))
        records.setdefault((name, rdtype), []).append(value)
    return records


def dkim_value(cli: Cli) -> str:
    shown = cli("dkim", "show", "--json")
    assert shown.code == 0, shown.err
    return shown.json()["value"]


def test_dns_show_prints_every_record_of_each_domain(cli: Cli) -> None:
    records = zone(cli)
    settings = load_settings(cli.data)
    key = dkim_value(cli)
    sts_id = mtasts.policy_id(settings)
    for domain in DOMAINS:
        assert records.pop((domain, "MX")) == [f"10 {MX}."]
        assert records.pop((domain, "TXT")) == ["v=spf1 mx -all"]
        assert records.pop((f"hopthu._domainkey.{domain}", "TXT")) == [key]
        assert records.pop((f"_dmarc.{domain}", "TXT")) == [
            "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@cantho.gov.vn"
        ]
        if domain != "cantho.gov.vn":  # RFC 7489 §7.1: the report domain accepts another's reports
            assert records.pop((f"{domain}._report._dmarc.cantho.gov.vn", "TXT")) == ["v=DMARC1"]
        assert records.pop((f"_mta-sts.{domain}", "TXT")) == [f"v=STSv1; id={sts_id}"]
        assert records.pop((f"mta-sts.{domain}", "CNAME")) == [f"{MX}."]
        assert records.pop((f"_smtp._tls.{domain}", "TXT")) == [
            "v=TLSRPTv1; rua=mailto:postmaster@cantho.gov.vn"
        ]
        # RFC 6186 with the ports the data folder's settings listen on (development: 1993, …)
        assert records.pop((f"_imaps._tcp.{domain}", "SRV")) == [f"0 1 {settings.imap.tls_port} {MX}."]
        assert records.pop((f"_imap._tcp.{domain}", "SRV")) == [f"10 1 {settings.imap.port} {MX}."]
        assert records.pop((f"_pop3s._tcp.{domain}", "SRV")) == [f"0 1 {settings.pop3.tls_port} {MX}."]
        assert records.pop((f"_pop3._tcp.{domain}", "SRV")) == [f"10 1 {settings.pop3.port} {MX}."]
        submissions = settings.smtp.submissions_port
        assert records.pop((f"_submissions._tcp.{domain}", "SRV")) == [f"0 1 {submissions} {MX}."]
        assert records.pop((f"_submission._tcp.{domain}", "SRV")) == [
            f"10 1 {settings.smtp.submission_port} {MX}."
        ]
        assert records.pop((f"autoconfig.{domain}", "CNAME")) == [f"{MX}."]
        assert records.pop((f"autodiscover.{domain}", "CNAME")) == [f"{MX}."]
        assert records.pop((f"_autodiscover._tcp.{domain}", "SRV")) == [f"0 1 443 {MX}."]
        assert records.pop((f"_carddavs._tcp.{domain}", "SRV")) == [f"0 1 443 {MX}."]  # RFC 6764
        assert records.pop((f"_carddavs._tcp.{domain}", "TXT")) == ["path=/dav/"]
    assert records == {}, "records nobody checked"


def test_dns_show_json_is_the_same_records(cli: Cli) -> None:
    listed = cli("dns", "show", "--json").json()
    lines = [line for line in cli("dns", "show").out.splitlines() if not line.startswith(";")]
    assert [record["zone"] for record in listed] == lines
    assert {record["domain"] for record in listed} == set(DOMAINS)
    dkim = next(r for r in listed if r["kind"] == "dkim")
    assert dkim["type"] == "TXT" and dkim["value"] == dkim_value(cli)
    # the long DKIM value is cut into strings of at most 255 octets (RFC 1035 §3.3.14)
    assert all(len(part) <= 255 for part in re.findall(r'"([^"]*)"', dkim["zone"]))


def test_dns_show_follows_the_settings(cli: Cli) -> None:
    """A listener turned off is published as not offered (RFC 6186 §4); the MTA-STS mode, DMARC
    policy and report addresses are the settings'; a new MTA-STS policy has a new id."""
    env = {
        "HOPTHU_POP3_PORT": "-1",
        "HOPTHU_IMAP_TLS_PORT": "993",
        "HOPTHU_DNS_MTA_STS_MODE": "enforce",
        "HOPTHU_DNS_DMARC_POLICY": "reject",
        "HOPTHU_DNS_TLS_REPORT_ADDRESS": "tlsrpt@cantho.gov.vn",
        "HOPTHU_SMTP_DOMAIN_ALIASES": "",
    }
    before = zone(cli)
    records = zone(cli, env=env)
    assert {name for name, _type in records if "soctrang" in name} == set()
    assert records[("_pop3._tcp.cantho.gov.vn", "SRV")] == ["0 0 0 ."]
    assert records[("_imaps._tcp.cantho.gov.vn", "SRV")] == [f"0 1 993 {MX}."]
    assert records[("_dmarc.cantho.gov.vn", "TXT")] == [
        "v=DMARC1; p=reject; rua=mailto:dmarc-reports@cantho.gov.vn"
    ]
    assert records[("_smtp._tls.cantho.gov.vn", "TXT")] == ["v=TLSRPTv1; rua=mailto:tlsrpt@cantho.gov.vn"]
    assert records[("_mta-sts.cantho.gov.vn", "TXT")] != before[("_mta-sts.cantho.gov.vn", "TXT")]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("MTA_STS_MODE", "strict"),
        ("MTA_STS_MAX_AGE", "60"),
        ("DMARC_POLICY", "block"),
        ("TLS_REPORT_ADDRESS", "x"),
    ],
)
def test_bad_dns_settings_are_refused_in_both_languages(tmp_path: Path, key: str, value: str) -> None:
    with pytest.raises(HopThuError) as refused:
        load_settings(tmp_path, {f"HOPTHU_DNS_{key}": value})
    assert f"dns.{key.lower()}" in refused.value.vi and f"dns.{key.lower()}" in refused.value.en


def publish(stub: StubDns, cli: Cli) -> list[dict]:
    """Every record `dns show --json` lists, in the stub's table."""
    listed = cli("dns", "show", "--json").json()
    for record in listed:
        rdata = ZONE_LINE.match(record["zone"]).group(3)
        if record["type"] == "TXT":
            rdata = " ".join(re.findall(r'"(?:[^"\\]|\\.)*"', rdata))
        stub.add(record["name"], record["type"], rdata)
    return listed


def check(cli: Cli, stub: StubDns, *extra: str):
    return cli("dns", "check", "--nameserver", "127.0.0.1", "--nameserver-port", str(stub.port), *extra)


def test_dns_check_all_published(cli: Cli) -> None:
    with StubDns().running() as stub:
        listed = publish(stub, cli)
        done = check(cli, stub)
        assert done.code == 0, done.out + done.err
        assert f"{len(listed)}/{len(listed)}" in done.out
        as_json = check(cli, stub, "--json")
        assert as_json.code == 0
        assert {finding["status"] for finding in json.loads(as_json.out)} == {"match"}
        assert stub.questions >= len(listed)


def test_dns_check_names_what_is_missing_or_different(cli: Cli) -> None:
    with StubDns().running() as stub:
        publish(stub, cli)
        stub.records.pop(("_imaps._tcp.soctrang.gov.vn", "SRV"))  # forgotten
        stub.records[("cantho.gov.vn", "TXT")] = [
            '"v=spf1 a -all"',
            '"google-site-verification=x"',
        ]  # another SPF
        stub.records[("cantho.gov.vn", "MX")] = ["10 mx.example.net."]  # mail goes elsewhere
        # an operator's own extra DMARC tag still says everything ours says
        stub.records[("_dmarc.haugiang.gov.vn", "TXT")] = [
            '"v=DMARC1; p=quarantine; pct=100; rua=mailto:dmarc-reports@cantho.gov.vn"'
        ]
        stub.records[("_mta-sts.haugiang.gov.vn", "TXT")] = ['"v=STSv1; id=old1"']  # a stale id
        # autoconfig published as the web host's address instead of a CNAME: the same place
        stub.records.pop(("autoconfig.cantho.gov.vn", "CNAME"))
        stub.add(MX, "A", "203.0.113.7")
        stub.add("autoconfig.cantho.gov.vn", "A", "203.0.113.7")
        stub.records.pop(("autodiscover.haugiang.gov.vn", "CNAME"))
        stub.add("autodiscover.haugiang.gov.vn", "A", "198.51.100.1")  # somewhere else
        stub.failing.add("_smtp._tls.soctrang.gov.vn")  # SERVFAIL
        done = check(cli, stub, "--json")
        assert done.code == 1
        status = {(f["name"], f["type"]): f["status"] for f in json.loads(done.out)}
        assert status.pop(("_imaps._tcp.soctrang.gov.vn", "SRV")) == "missing"
        assert status.pop(("cantho.gov.vn", "TXT")) == "different"
        assert status.pop(("cantho.gov.vn", "MX")) == "different"
        assert status.pop(("_mta-sts.haugiang.gov.vn", "TXT")) == "different"
        assert status.pop(("autodiscover.haugiang.gov.vn", "CNAME")) == "different"
        assert status.pop(("_smtp._tls.soctrang.gov.vn", "TXT")) == "failed"
        assert status.pop(("_dmarc.haugiang.gov.vn", "TXT")) == "match"
        assert status.pop(("autoconfig.cantho.gov.vn", "CNAME")) == "match"
        assert set(status.values()) == {"match"}
        text = check(cli, stub)
        assert text.code == 1
        assert re.search(r"thiếu / missing\s+_imaps\._tcp\.soctrang\.gov\.vn SRV", text.out)
        assert "DNS: 10 mx.example.net." in text.out


def test_dns_check_with_nothing_published_fails(cli: Cli) -> None:
    with StubDns().running() as stub:
        done = check(cli, stub, "--json")
        assert done.code == 1
        assert {finding["status"] for finding in json.loads(done.out)} == {"missing"}
