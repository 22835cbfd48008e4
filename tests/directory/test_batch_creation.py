"""Accounts created together as one approved batch (R10.3), on both backends: each is whole (its
mailboxes, its audit event), namesakes in one batch get distinct addresses (R4.3b), and a batch's
temporary password opens the first sign-in only to be changed (R5.2)."""

import pytest

from hopthu.directory import audit
from hopthu.directory.auth import Authenticator, Refusal, SignInRefused
from hopthu.directory.fulfilment import Fulfilment, person_payload
from hopthu.directory.people import PersonRow
from hopthu.directory.service import Directory
from hopthu.store.mailstore import DEFAULT_MAILBOXES


@pytest.fixture
async def sonv(directory: Directory) -> Directory:
    await directory.agencies.add("Sở Nội vụ", actor="test")
    return directory


async def approve(directory: Directory, rows: list[PersonRow]) -> dict[str, str]:
    """Rows filed as one batch (no address proposed, as a list without preview), approved as one;
    each created address with its temporary password, from the sealed payload."""
    await directory.requests.file_batch(
        [("create", row.agency, person_payload(row, proposed=None, proposals=[])) for row in rows],
        channel="portal",
        filed_by="manager",
        batch="b1",
    )
    outcome = await Fulfilment(directory).approve_batch("b1", actor="operator", within=None)
    assert outcome.approved == len(rows) and not outcome.refused
    done = await directory.requests.list(batch="b1", status="approved", limit=1000)
    return {r.payload["address"]: directory.factors.box.open(r.payload["sealed_password"]) for r in done}


async def test_r4_3b_namesakes_in_one_batch_get_distinct_addresses(sonv: Directory) -> None:
    rows = [
        PersonRow("Nguyễn", middle, "Minh", "sonv", rank=0, line=n)
        for n, middle in enumerate(["Văn", "Võ", "Văn"])
    ]
    created = await approve(sonv, rows)
    assert sorted(created) == ["nvminh", "nvminh1", "nvminh2"]
    assert len(set(created.values())) == 3  # every account its own temporary password


async def test_each_account_of_a_batch_is_whole(sonv: Directory) -> None:
    """Every account has its special-use mailboxes and its own creation event, as one created alone."""
    created = await approve(
        sonv, [PersonRow("Trần", "Thị Ngọc", "Ánh", "sonv"), PersonRow("Lê", "", "Minh", "sonv")]
    )
    for local in created:
        found = await sonv.accounts.get(local)
        names = [m.name for m in await sonv.ctx.store.mail.mailboxes(found.id)]
        assert names == [name for name, _ in DEFAULT_MAILBOXES]
        assert await sonv.ctx.store.mail.usage(found.id) == (0, 0)
        async with sonv.ctx.store.db.read() as conn:
            events = await audit.events_for(conn, local)
        assert [(e.action, e.actor, e.details) for e in events] == [
            (
                "account.created",
                "operator",
                {"kind": "personal", "agency": "sonv", "rank": 0, "chosen": False},
            )
        ]


async def test_r5_2_a_batch_temporary_password_opens_only_the_change(sonv: Directory) -> None:
    created = await approve(
        sonv, [PersonRow("Trần", "Thị Ngọc", "Ánh", "sonv"), PersonRow("Lê", "", "Minh", "sonv")]
    )
    auth = Authenticator(sonv.ctx)
    for local, temporary in created.items():
        with pytest.raises(SignInRefused) as wrong:
            await auth.sign_in(local, temporary + "x", source="192.0.2.1", protocol="imap")
        assert wrong.value.refusal is Refusal.BAD_CREDENTIALS
        with pytest.raises(SignInRefused) as first:
            await auth.sign_in(local, temporary, source="192.0.2.1", protocol="imap")
        assert first.value.refusal is Refusal.MUST_CHANGE_PASSWORD
        await sonv.accounts.change_password(local, temporary, "Mật-khẩu-mới-2026")
        identity = await auth.sign_in(local, "Mật-khẩu-mới-2026", source="192.0.2.1", protocol="imap")
        assert identity.local == local
        with pytest.raises(SignInRefused):  # the temporary password is spent
            await auth.sign_in(local, temporary, source="192.0.2.1", protocol="imap")
