"""R13.6 (Luật 91/2025): a person's data exported as one archive, erased on a lawful request with
the account kept as a tombstone and the audit kept; an administrator is refused until the roles go.
Through the real server's services on both backends."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest

from hopthu.directory.preferences import Preferences
from hopthu.errors import HopThuError
from hopthu.policy.erasure import ERASED_NAME
from hopthu.privacy import archive
from tests.imap.conftest import RunningServer, message


def export(server: RunningServer, local: str) -> zipfile.ZipFile:
    async def go() -> bytes:
        services = server.services
        found = await services.directory.accounts.get(local)
        await services.directory.personal_data.exported(found, actor="test", channel="test")
        chunks: list[bytes] = []
        source = archive.Source(found, services.store, services.directory, services.directory.ctx.now())
        await archive.write(source, chunks.append)
        return b"".join(chunks)

    return zipfile.ZipFile(io.BytesIO(server.run(go())))


def test_r13_6_export_holds_every_folder_the_record_and_the_audit(imapserver: RunningServer) -> None:
    imapserver.deliver("nvminh", message("Công văn đến"))
    imapserver.run(imapserver.services.store.folders.create(imapserver.account_id("nvminh"), "Dự án"))
    imapserver.deliver("nvminh", message("Hồ sơ dự án"), mailbox="Dự án")
    imapserver.run(imapserver.services.directory.former.add("nvminh@soctrang.gov.vn", "nvminh", actor="ops"))
    zipped = export(imapserver, "nvminh")
    names = zipped.namelist()
    assert "thu/INBOX/00001 Công văn đến.eml" in names
    assert "thu/Dự án/00001 Hồ sơ dự án.eml" in names
    assert b"Subject:" in zipped.read("thu/Dự án/00001 Hồ sơ dự án.eml")
    record = json.loads(zipped.read(archive.RECORD_FILE))
    assert record["account"]["given"] == "Minh" and record["agency"]["code"] == "sonv"
    assert record["delegations_held"][0]["mailbox"] == "sonv@cantho.gov.vn"  # R8.2 grant of the fixture
    assert record["former_addresses"] == ["nvminh@soctrang.gov.vn"]  # R13.7: an old address is theirs too
    rows = list(csv.DictReader(io.StringIO(zipped.read(archive.AUDIT_FILE).decode("utf-8-sig"))))
    assert {"account.created", "personal_data.exported"} <= {row["action"] for row in rows}
    assert {row["target"] for row in rows} == {"nvminh"}  # nobody else's entries


def test_r13_6_erasure_removes_mail_and_preferences_and_keeps_a_tombstone(imapserver: RunningServer) -> None:
    services = imapserver.services
    directory = services.directory
    minh = imapserver.account_id("nvminh")
    imapserver.deliver("nvminh", message("Thư riêng"))
    imapserver.run(directory.preferences.save(minh, Preferences(signature="Nguyễn Văn Minh, Sở Nội vụ")))
    with pytest.raises(HopThuError) as refused:
        imapserver.run(directory.personal_data.erase("nvminh", basis="  ", actor="ttnanh"))
    assert refused.value.code == "basis_required" and "căn cứ pháp lý" in refused.value.vi

    erased = imapserver.run(
        directory.personal_data.erase("nvminh", basis="Đơn yêu cầu ngày 01/12/2026, Điều 16", actor="ttnanh")
    )
    assert erased.messages == 1
    assert imapserver.run(services.store.mail.mailboxes(minh)) == []
    assert imapserver.run(directory.preferences.get(minh)) == Preferences()
    assert imapserver.run(directory.delegations.delegates("sonv")) == []
    tombstone = imapserver.run(directory.accounts.get("nvminh"))  # the address stays taken (R6.3)
    assert tombstone.status == "deleted" and tombstone.display_name == ERASED_NAME
    assert tombstone.usage_bytes == 0 and not tombstone.can_sign_in
    history = imapserver.run(directory.accounts.history("nvminh"))
    assert {"account.created", "personal_data.erased"} <= {e.action for e in history}  # R13.4 kept
    (event,) = [e for e in history if e.action == "personal_data.erased"]
    assert event.actor == "ttnanh" and event.details["basis"].startswith("Đơn yêu cầu")
    record = json.loads(export(imapserver, "nvminh").read(archive.RECORD_FILE))
    assert record["account"]["family"] == "" and record["preferences"] is None


def test_r13_6_an_administrator_is_not_erased_until_the_roles_go(imapserver: RunningServer) -> None:
    directory = imapserver.services.directory
    imapserver.run(directory.roles.grant("ttnanh", "operator", actor="test"))
    imapserver.deliver("ttnanh", message("Giữ lại", to="ttnanh@cantho.gov.vn"))
    with pytest.raises(HopThuError) as refused:
        imapserver.run(directory.personal_data.erase("ttnanh", basis="Đơn yêu cầu", actor="test"))
    assert refused.value.code == "holds_roles"
    assert "operator" in refused.value.vi and "withdraw" in refused.value.en
    found = imapserver.run(directory.accounts.get("ttnanh"))
    assert found.status == "active" and found.message_count == 1
