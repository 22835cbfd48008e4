"""App passwords on both backends (R3.2, R3.3, R5.2, R6, R13.3, R13.6): named and bounded, checked by a
keyed hash without argon2id, for mail programs only; every refusal of the main password (locked,
revoked, must change) holds for them; a password change or reset revokes them; last use is written
at most once a minute; the personal-data record lists them without their secret, erasure removes them.
"""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa

from hopthu.config import Settings
from hopthu.directory.auth import Authenticator, Refusal, SignInRefused
from hopthu.directory.people import PersonRow
from hopthu.directory.service import Directory
from hopthu.errors import HopThuError
from hopthu.policy.lifecycle import Action
from hopthu.security import apppasswords
from hopthu.store.schema import app_password
from tests.conftest import Clock

PASSWORD = "Mat-khau-Moi-2026!"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A small limit, so the test reaches it."""
    return dataclasses.replace(settings, policy=dataclasses.replace(settings.policy, app_passwords_max=3))


@pytest.fixture
async def minh(directory: Directory) -> int:
    await directory.agencies.add("Sở Nội vụ", actor="test")
    (row,) = await directory.people.register([PersonRow("Nguyễn", "Văn", "Minh", "sonv")], actor="test")
    await directory.accounts.change_password(row.address, row.temporary_password, PASSWORD)
    return (await directory.accounts.get("nvminh")).id


class CountingVerifier:
    """Wraps the verifier to count argon2id checks."""

    def __init__(self, inner) -> None:
        self.inner, self.checks = inner, 0

    async def check(self, *args):
        self.checks += 1
        return await self.inner.check(*args)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_the_secret_reads_forgivingly_and_never_as_a_main_password() -> None:
    secret = apppasswords.generate()
    assert len(secret) == 16 and set(secret) <= set(apppasswords.ALPHABET)
    shown = apppasswords.shown(secret)
    assert shown.count(" ") == 3
    assert apppasswords.candidate(shown) == secret
    assert apppasswords.candidate(shown.upper().replace(" ", "-")) == secret
    assert apppasswords.candidate(PASSWORD) is None  # R5.3's digit and special character
    assert apppasswords.candidate("abcd efgh ijkm npq1") is None
    assert apppasswords.candidate("a" * 10_000) is None


async def test_names_are_checked_in_both_languages_and_the_count_is_bounded(
    directory: Directory, minh: int
) -> None:
    apps = directory.app_passwords
    for bad, words in (("   ", "Name the app password"), ("x" * 61, "longer than 60")):
        with pytest.raises(HopThuError) as refused:
            await apps.create(minh, bad, actor="nvminh")
        assert words in refused.value.en and refused.value.vi
    made, letters = await apps.create(minh, "  Thunderbird   cơ quan ", actor="nvminh")
    assert made.name == "Thunderbird cơ quan" and len(letters) == 19
    with pytest.raises(HopThuError) as refused:
        await apps.create(minh, "THUNDERBIRD CƠ QUAN", actor="nvminh")
    assert refused.value.code == "conflict" and "Đã có mật khẩu ứng dụng tên" in refused.value.vi
    await apps.create(minh, "iPhone", actor="nvminh")
    await apps.create(minh, "Outlook", actor="nvminh")
    with pytest.raises(HopThuError) as refused:
        await apps.create(minh, "Máy nhà", actor="nvminh")
    assert "3 app passwords, the most allowed" in refused.value.en
    assert [p.name for p in await apps.listing(minh)] == ["Thunderbird cơ quan", "iPhone", "Outlook"]
    stored = await directory.ctx.store.db.all(sa.select(app_password.c.secret_hash))
    assert letters.replace(" ", "") not in str(stored)  # only the keyed hash is kept
    history = await directory.accounts.history("nvminh")
    created = [e for e in history if e.action == "app_password.created"]
    assert len(created) == 3 and created[-1].details == {"name": "Thunderbird cơ quan"}


async def test_mail_programs_sign_in_without_argon2_and_the_web_refuses(
    directory: Directory, minh: int
) -> None:
    auth = Authenticator(directory.ctx)
    counting = CountingVerifier(directory.ctx.verifier)
    directory.ctx.verifier = counting  # type: ignore[assignment]
    _, letters = await directory.app_passwords.create(minh, "Điện thoại", actor="nvminh")
    for protocol in ("imap", "pop3", "submission"):
        who = await auth.sign_in("nvminh@cantho.gov.vn", letters, source="10.0.0.5", protocol=protocol)
        assert who.account_id == minh
    assert counting.checks == 0
    with pytest.raises(SignInRefused) as refused:
        await auth.sign_in("nvminh", letters, source="10.0.0.5", protocol="web")
    assert refused.value.refusal is Refusal.APP_PASSWORD_ON_WEB
    assert "mật khẩu ứng dụng" in refused.value.vi and "main password" in refused.value.en
    # The main password still works everywhere; a wrong one of the app password's shape is wrong.
    await auth.sign_in("nvminh", PASSWORD, source="10.0.0.5", protocol="imap")
    with pytest.raises(SignInRefused) as refused:
        await auth.sign_in("nvminh", "abcd efgh ijkm npqr", source="10.0.0.5", protocol="imap")
    assert refused.value.refusal is Refusal.BAD_CREDENTIALS
    await directory.ctx.access_log.flush()
    results = [e.result for e in await directory.ctx.access_log.recent(minh, limit=10)]
    assert "app_password_on_web" in results


async def test_r6_a_locked_or_revoked_mailbox_refuses_its_app_passwords(
    directory: Directory, minh: int
) -> None:
    auth = Authenticator(directory.ctx)
    _, letters = await directory.app_passwords.create(minh, "Điện thoại", actor="nvminh")
    await directory.accounts.change_status(
        "nvminh", Action.LOCK, reason="security_warning", ref="CV 12/CAT", actor="operator"
    )
    with pytest.raises(SignInRefused) as refused:
        await auth.sign_in("nvminh", letters, source="10.0.0.5", protocol="imap")
    assert refused.value.refusal is Refusal.LOCKED
    await directory.accounts.change_status(
        "nvminh", Action.RESTORE, reason="requested", ref="YC 3/SNV", actor="operator"
    )
    await auth.sign_in("nvminh", letters, source="10.0.0.5", protocol="imap")
    await directory.accounts.change_status(
        "nvminh", Action.REVOKE, reason="inactive", ref=None, actor="system"
    )
    with pytest.raises(SignInRefused) as refused:
        await auth.sign_in("nvminh", letters, source="10.0.0.5", protocol="pop3")
    assert refused.value.refusal is Refusal.REVOKED


async def test_r5_2_an_expired_password_stops_them_and_a_change_revokes_them(
    directory: Directory, minh: int
) -> None:
    auth = Authenticator(directory.ctx)
    apps = directory.app_passwords
    _, letters = await apps.create(minh, "Điện thoại", actor="nvminh")
    await directory.accounts.expire_password(minh, actor="hopthu jobs")
    with pytest.raises(SignInRefused) as refused:
        await auth.sign_in("nvminh", letters, source="10.0.0.5", protocol="imap")
    assert refused.value.refusal is Refusal.MUST_CHANGE_PASSWORD
    await directory.accounts.change_password("nvminh", PASSWORD, "Mat-khau-Khac-2026?")
    assert await apps.listing(minh) == []
    with pytest.raises(SignInRefused) as refused:
        await auth.sign_in("nvminh", letters, source="10.0.0.5", protocol="imap")
    assert refused.value.refusal is Refusal.BAD_CREDENTIALS
    history = await directory.accounts.history("nvminh")
    (revoked,) = [e for e in history if e.action == "app_password.revoked_all"]
    assert revoked.details == {"app_passwords": 1}


async def test_r3_3_a_reset_revokes_them_and_one_can_be_revoked_alone(
    directory: Directory, minh: int
) -> None:
    auth = Authenticator(directory.ctx)
    apps = directory.app_passwords
    phone, phone_letters = await apps.create(minh, "Điện thoại", actor="nvminh")
    _, office_letters = await apps.create(minh, "Máy cơ quan", actor="nvminh")
    await apps.revoke(minh, phone.id, actor="nvminh")
    with pytest.raises(HopThuError) as refused:
        await apps.revoke(minh, phone.id, actor="nvminh")
    assert refused.value.code == "not_found"
    with pytest.raises(SignInRefused):
        await auth.sign_in("nvminh", phone_letters, source="10.0.0.5", protocol="imap")
    await auth.sign_in("nvminh", office_letters, source="10.0.0.5", protocol="imap")
    await directory.accounts.reset_password("nvminh", actor="operator", reason="quên mật khẩu")
    assert await apps.listing(minh) == []


async def test_last_use_is_written_at_most_once_a_minute(
    directory: Directory, minh: int, clock: Clock
) -> None:
    auth = Authenticator(directory.ctx)
    apps = directory.app_passwords
    _, letters = await apps.create(minh, "Điện thoại", actor="nvminh")
    (fresh,) = await apps.listing(minh)
    assert fresh.last_used_at is None
    first = clock.now
    await auth.sign_in("nvminh", letters, source="10.0.0.5", protocol="imap")
    clock.advance(seconds=30)
    await auth.sign_in("nvminh", letters, source="10.0.0.5", protocol="imap")
    (used,) = await apps.listing(minh)
    assert (used.last_used_at, used.last_used_from) == (first, "10.0.0.5")
    await auth.sign_in("nvminh", letters, source="192.0.2.7", protocol="submission")  # a new place: now
    (moved,) = await apps.listing(minh)
    assert (moved.last_used_at, moved.last_used_from) == (clock.now, "192.0.2.7")
    clock.advance(seconds=61)
    await auth.sign_in("nvminh", letters, source="192.0.2.7", protocol="imap")
    (later,) = await apps.listing(minh)
    assert later.last_used_at == clock.now


async def test_r13_6_the_record_lists_them_without_secret_and_erasure_removes_them(
    directory: Directory, minh: int
) -> None:
    _, letters = await directory.app_passwords.create(minh, "Điện thoại", actor="nvminh")
    found = await directory.accounts.get("nvminh")
    record = await directory.personal_data.record(found)
    (listed,) = record["app_passwords"]
    assert listed["name"] == "Điện thoại" and listed["last_used_at"] is None
    assert letters.replace(" ", "") not in str(record)
    await directory.personal_data.erase("nvminh", basis="Đơn yêu cầu", actor="operator")
    assert await directory.app_passwords.listing(minh) == []
