"""Mailboxes as wholes, against a running server: LIST (patterns, LIST-EXTENDED, SPECIAL-USE,
LIST-STATUS), CREATE, DELETE, RENAME, subscriptions, STATUS, Vietnamese names (modified UTF-7 for
IMAP4rev1, UTF-8 after ENABLE IMAP4rev2), APPEND, quotas (R5.1) and the agency mailbox delegated to a
person (R8.2)."""

from __future__ import annotations

import datetime as dt
import re
import threading
from email.header import Header

from hopthu.imap.mutf7 import encode_mutf7
from hopthu.store.flags import DELETED, SEEN
from tests.imap.conftest import message
from tests.imap.rawclient import RawClient

GiB = 1024**3
DEFAULTS = {
    "INBOX": {"\\HasNoChildren"},
    "Sent": {"\\HasNoChildren", "\\Sent"},
    "Drafts": {"\\HasNoChildren", "\\Drafts"},
    "Trash": {"\\HasNoChildren", "\\Trash"},
    "Junk": {"\\HasNoChildren", "\\Junk"},
    "Archive": {"\\HasNoChildren", "\\Archive"},
}
_LIST = re.compile(rb'\* (?:LIST|LSUB) \(([^)]*)\) "/" (.*)\r\n\Z', re.S)
_STATUS = re.compile(rb"\* STATUS (.*) \(([^)]*)\)\r\n\Z", re.S)
_QUOTA = re.compile(rb'\* QUOTA (".*") \(STORAGE (\d+) (\d+)\)\r\n\Z')


def _name(raw: bytes) -> str:
    """A mailbox name as sent: quoted, literal ("{n}" CRLF data) or atom; UTF-8 decoded."""
    if raw.startswith(b"{"):
        return raw.split(b"}\r\n", 1)[1].decode()
    if raw.startswith(b'"'):
        return re.sub(rb"\\(.)", rb"\1", raw[1:-1]).decode()
    return raw.decode()


def listed(lines: list[bytes]) -> dict[str, set[str]]:
    """The LIST (or LSUB) lines among `lines`, as name -> attributes."""
    found = {}
    for line in lines:
        if (match := _LIST.match(line)) is not None:
            found[_name(match[2])] = set(match[1].decode().split())
    return found


def statuses(lines: list[bytes]) -> dict[str, dict[str, int]]:
    found = {}
    for line in lines:
        if (match := _STATUS.match(line)) is not None:
            items = match[2].decode().split()
            found[_name(match[1])] = {
                key: int(value) for key, value in zip(items[::2], items[1::2], strict=True)
            }
    return found


def imaplib_lines(data: list) -> list[bytes]:
    """imaplib's LIST answer (bytes, or (head, literal) for a literal name) as response lines."""
    return [
        b"* LIST " + (item[0] + b"\r\n" + item[1] if isinstance(item, tuple) else item) + b"\r\n"
        for item in data
        if item != b")"
    ]


def quota(lines: list[bytes]) -> tuple[str, int, int]:
    """(root, used KiB, limit KiB) of the one QUOTA line among `lines`."""
    (found,) = [match for line in lines if (match := _QUOTA.match(line)) is not None]
    return _name(found[1]), int(found[2]), int(found[3])


def kib(octets: int) -> int:
    return (octets + 1023) // 1024


# --- LIST ---------------------------------------------------------------------------------------


def test_list_patterns_root_and_special_use(imapserver):
    wire = imapserver.raw("ttnanh")
    wire.ok("c", b'CREATE "Du an/2026"')

    everything = listed(wire.ok("a1", b'LIST "" "*"'))
    assert everything == {**DEFAULTS, "Du an": {"\\HasChildren"}, "Du an/2026": {"\\HasNoChildren"}}
    assert listed(wire.ok("a2", b'LIST "" "%"')) == {**DEFAULTS, "Du an": {"\\HasChildren"}}
    assert listed(wire.ok("a3", b'LIST "Du an/" "%"')) == {"Du an/2026": {"\\HasNoChildren"}}
    assert listed(wire.ok("a4", b'LIST "" "inbox"')) == {"INBOX": {"\\HasNoChildren"}}  # any case
    # RFC 9051 §6.3.9: an empty pattern asks for the hierarchy separator and the root
    assert wire.ok("a5", b'LIST "" ""') == [b'* LIST (\\Noselect) "/" ""\r\n']
    # RFC 6154 §5.1: only the special-use mailboxes
    special = listed(wire.ok("a6", b'LIST (SPECIAL-USE) "" "*"'))
    assert special == {name: attributes for name, attributes in DEFAULTS.items() if name != "INBOX"}
    wire.close()

    client = imapserver.login("ttnanh")  # what a real client makes of it
    typ, data = client.list()
    assert typ == "OK"
    assert listed(imaplib_lines(data)) == everything
    client.logout()


def test_status_list_status_subscriptions_and_lsub(imapserver):
    imapserver.deliver("ttnanh", message(subject="Đã đọc"), flags=SEEN)
    imapserver.deliver("ttnanh", message(subject="Chưa đọc"))
    last = imapserver.deliver(
        "ttnanh", message(subject="Đã xóa", body="Dài hơn. " * 50), flags=SEEN | DELETED
    )
    wire = imapserver.raw("ttnanh")

    # STATUS with every item, checked against what SELECT and FETCH say of the same mailbox
    lines = wire.ok("s1", b"STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE HIGHESTMODSEQ)")
    (found,) = statuses(lines).values()
    selected = b"".join(wire.ok("s2", b"EXAMINE INBOX (CONDSTORE)"))
    validity = int(re.search(rb"\[UIDVALIDITY (\d+)\]", selected)[1])
    highest = int(re.search(rb"\[HIGHESTMODSEQ (\d+)\]", selected)[1])
    sizes = [
        int(size)
        for size in re.findall(rb"RFC822\.SIZE (\d+)", b"".join(wire.ok("s3", b"FETCH 1:* RFC822.SIZE")))
    ]
    assert len(sizes) == 3
    assert found == {
        "MESSAGES": 3,
        "UIDNEXT": last + 1,
        "UIDVALIDITY": validity,
        "UNSEEN": 1,
        "DELETED": 1,
        "SIZE": sum(sizes),
        "HIGHESTMODSEQ": highest,
    }
    (refused,) = wire.exchange("s4", b'STATUS "Khong co" (MESSAGES)')
    assert refused.startswith(b"s4 NO [NONEXISTENT] ")
    wire.ok("s5", b"UNSELECT")

    wire.ok("c", b'CREATE "Du an/2026"')  # not subscribed, nor its parent made with it: the client's step
    wire.ok("u", b'SUBSCRIBE "Du an"')

    lines = wire.ok("a1", b'LIST "" "*" RETURN (SUBSCRIBED CHILDREN STATUS (MESSAGES UNSEEN))')
    listing = listed(lines)
    assert listing["INBOX"] == {"\\HasNoChildren", "\\Subscribed"}
    assert listing["Du an"] == {"\\HasChildren", "\\Subscribed"}
    assert listing["Du an/2026"] == {"\\HasNoChildren"}
    assert listing["Sent"] == {"\\HasNoChildren", "\\Sent", "\\Subscribed"}
    # LIST-STATUS (RFC 5819): a STATUS right after the LIST of each mailbox
    found = statuses(lines)
    assert set(found) == set(listing)
    assert found["INBOX"] == {"MESSAGES": 3, "UNSEEN": 1}
    assert found["Du an/2026"] == {"MESSAGES": 0, "UNSEEN": 0}
    for index, line in enumerate(lines):
        if line.startswith(b"* LIST "):
            assert lines[index + 1].startswith(b"* STATUS " + line.rsplit(b'"/" ', 1)[1].rstrip(b"\r\n"))

    subscribed = set(DEFAULTS) | {"Du an"}
    assert set(listed(wire.ok("a2", b'LSUB "" "*"'))) == subscribed
    only = listed(wire.ok("a3", b'LIST (SUBSCRIBED) "" "*"'))
    assert set(only) == subscribed
    assert all("\\Subscribed" in attributes for attributes in only.values())

    wire.ok("s", b'SUBSCRIBE "Du an/2026"')
    wire.ok("u2", b"UNSUBSCRIBE Junk")
    assert set(listed(wire.ok("a4", b'LSUB "" "*"'))) == subscribed - {"Junk"} | {"Du an/2026"}
    # A name without a mailbox may be subscribed (RFC 9051 §6.3.7) and DELETE does not unsubscribe
    # (§6.3.4): LIST (SUBSCRIBED) answers such a name \NonExistent (RFC 5258 §3.1), as Dovecot does.
    wire.ok("a5", b'SUBSCRIBE "Khong co"')
    wire.ok("c2", b'CREATE "Tam"')
    wire.ok("s2", b'SUBSCRIBE "Tam"')
    wire.ok("d2", b'DELETE "Tam"')
    gone = listed(wire.ok("a9", b'LIST (SUBSCRIBED) "" "*"'))
    assert gone["Khong co"] == gone["Tam"] == {"\\Subscribed", "\\NonExistent"}
    assert "Tam" not in listed(wire.ok("a10", b'LIST "" "*"'))
    wire.ok("c3", b'CREATE "Tam"')  # the same name again: subscribed still, and it exists
    assert listed(wire.ok("a11", b'LIST (SUBSCRIBED) "" "Tam"')) == {
        "Tam": {"\\HasNoChildren", "\\Subscribed"}
    }
    wire.ok("u5", b'UNSUBSCRIBE "Khong co"')
    (refused,) = wire.exchange("u6", b'UNSUBSCRIBE "Khong co"')  # no longer subscribed
    assert refused.startswith(b"u6 NO [NONEXISTENT] ")
    assert "Khong co" not in listed(wire.ok("a12", b'LSUB "" "*"'))
    # RFC 3501 §6.3.9: "%" reaching a parent that is not subscribed, but whose child is, answers
    # it with \Noselect; once the child is unsubscribed too, the parent is not answered at all.
    wire.ok("u3", b'UNSUBSCRIBE "Du an"')
    assert listed(wire.ok("a6", b'LSUB "" "Du%"')) == {"Du an": {"\\Noselect"}}
    assert listed(wire.ok("a7", b'LSUB "" "Du an/%"')) == {"Du an/2026": set()}
    wire.ok("u4", b'UNSUBSCRIBE "Du an/2026"')
    assert listed(wire.ok("a8", b'LSUB "" "Du%"')) == {}
    wire.close()


# --- CREATE, DELETE, RENAME ---------------------------------------------------------------------


def test_create_makes_parents_and_refuses_existing_names(imapserver):
    wire = imapserver.raw("ttnanh")
    wire.ok("a1", b'CREATE "a/b/c"')
    assert listed(wire.ok("a2", b'LIST "" "a*"')) == {
        "a": {"\\HasChildren"},
        "a/b": {"\\HasChildren"},
        "a/b/c": {"\\HasNoChildren"},
    }  # the parents are real mailboxes, not \Noselect
    wire.ok("a3", b'SELECT "a/b"')
    for number, name in enumerate((b'"a/b/c"', b"a", b"INBOX", b"inbox", b"Sent")):
        tag = f"b{number}"
        (refused,) = wire.exchange(tag, b"CREATE " + name)
        assert refused.startswith(tag.encode() + b" NO [ALREADYEXISTS] "), refused
    wire.ok("c1", b'CREATE "Ho so/"')  # RFC 9051 §6.3.4: a trailing separator names the mailbox
    assert listed(wire.ok("c2", b'LIST "" "Ho so*"')) == {"Ho so": {"\\HasNoChildren"}}
    for number, name in enumerate((b'"x//y"', b'"x%"', b"Shared")):
        tag = f"d{number}"
        assert wire.exchange(tag, b"CREATE " + name)[-1].startswith(tag.encode() + b" NO "), name

    # Two sessions making siblings at once both need the missing parent: each gets it made, once
    other = imapserver.raw("ttnanh")
    answers: list[bytes] = []
    start = threading.Barrier(2)

    def create(session: RawClient, leaf: str) -> None:
        for number in range(10):
            start.wait(timeout=30)
            answers.append(session.exchange(f"e{number}", f'CREATE "Nam {number}/{leaf}"'.encode())[-1])

    threads = [threading.Thread(target=create, args=pair) for pair in ((wire, "A"), (other, "B"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == 20
    assert all(b" OK " in answer for answer in answers), [a for a in answers if b" OK " not in a]
    made = listed(wire.ok("f1", b'LIST "" "Nam *"'))
    assert len(made) == 30
    assert all(made[f"Nam {number}"] == {"\\HasChildren"} for number in range(10))
    wire.close()
    other.close()


def test_r5_1_quota_root_and_delete_giving_space_back(imapserver):
    accounts = imapserver.services.directory.accounts
    account = imapserver.run(accounts.get("nvminh"))
    assert account.quota_bytes == imapserver.services.settings.policy.personal_quota == 5 * GiB
    imapserver.deliver("nvminh", message())
    wire = imapserver.raw()
    wire.ok("c1", b'CREATE "Luu tru/2025"')
    imapserver.deliver("nvminh", message(body="Phụ lục. " * 8000), mailbox="Luu tru/2025")

    # RFC 9208: the personal mailboxes have one quota root, ""; STORAGE in KiB
    usage = imapserver.run(accounts.get("nvminh")).usage_bytes
    lines = wire.ok("q1", b"GETQUOTAROOT INBOX")
    assert lines[0] == b'* QUOTAROOT "INBOX" ""\r\n'
    assert quota(lines) == ("", kib(usage), 5 * GiB // 1024)
    assert quota(wire.ok("q2", b'GETQUOTA ""')) == ("", kib(usage), 5 * GiB // 1024)
    assert kib(usage) > 80

    (refused,) = wire.exchange("d1", b'DELETE "Luu tru"')
    assert refused.startswith(b"d1 NO [HASCHILDREN] ")
    for number, name in enumerate((b"INBOX", b"Sent", b"Trash")):
        tag = f"d{number + 2}"
        assert wire.exchange(tag, b"DELETE " + name)[-1].startswith(tag.encode() + b" NO "), name
    # a refused DELETE of the selected mailbox leaves it selected
    wire.ok("s1", b"SELECT INBOX")
    assert wire.exchange("d5", b"DELETE INBOX")[-1].startswith(b"d5 NO ")
    wire.ok("f1", b"FETCH 1 FLAGS")

    wire.ok("d6", b'DELETE "Luu tru/2025"')
    freed = imapserver.run(accounts.get("nvminh")).usage_bytes
    assert 0 < freed < usage - 60_000
    assert quota(wire.ok("q3", b"GETQUOTAROOT INBOX")) == ("", kib(freed), 5 * GiB // 1024)
    wire.ok("d7", b'DELETE "Luu tru"')
    assert set(listed(wire.ok("l1", b'LIST "" "%"'))) == set(DEFAULTS) | {"Shared"}
    (refused,) = wire.exchange("q4", b'GETQUOTAROOT "Luu tru"')
    assert refused.startswith(b"q4 NO [NONEXISTENT] ")
    wire.close()


def test_a_mailbox_created_again_gets_a_new_uidvalidity(imapserver):
    """RFC 9051 §2.3.1.1: within a second of the deletion too (the account keeps a high-water mark)."""
    wire = imapserver.raw("ttnanh")
    wire.ok("a1", b"CREATE Tam")
    before = statuses(wire.ok("a2", b"STATUS Tam (UIDVALIDITY)"))["Tam"]["UIDVALIDITY"]
    wire.ok("a3", b"DELETE Tam")
    wire.ok("a4", b"CREATE Tam")
    after = statuses(wire.ok("a5", b"STATUS Tam (UIDVALIDITY)"))["Tam"]["UIDVALIDITY"]
    wire.close()
    assert after > before


def test_rename_moves_children_and_rename_inbox_moves_its_messages(imapserver):
    wire = imapserver.raw("ttnanh")
    wire.ok("c1", b'CREATE "Du an/2025/Q1"')
    imapserver.deliver("ttnanh", message(subject="Báo cáo quý"), mailbox="Du an/2025")
    validity = statuses(wire.ok("c2", b'STATUS "Du an/2025" (UIDVALIDITY)'))["Du an/2025"]["UIDVALIDITY"]

    wire.ok("r1", b'RENAME "Du an" "Luu tru/Du an cu"')
    names = set(listed(wire.ok("l1", b'LIST "" "*"')))
    assert names == set(DEFAULTS) | {
        "Luu tru",  # a new parent, made as CREATE would
        "Luu tru/Du an cu",
        "Luu tru/Du an cu/2025",
        "Luu tru/Du an cu/2025/Q1",
    }
    moved = statuses(wire.ok("s1", b'STATUS "Luu tru/Du an cu/2025" (MESSAGES UIDVALIDITY)'))
    assert moved == {"Luu tru/Du an cu/2025": {"MESSAGES": 1, "UIDVALIDITY": validity}}
    for tag, command, code in (
        ("r2", b'RENAME "Luu tru" "Luu tru/Con"', b"CANNOT"),  # into itself
        ("r3", b'RENAME "Luu tru/Du an cu" Archive', b"ALREADYEXISTS"),
        ("r4", b'RENAME "Khong co" Moi', b"NONEXISTENT"),
    ):
        (refused,) = wire.exchange(tag, command)
        assert refused.startswith(tag.encode() + b" NO [" + code + b"] "), refused

    # RFC 9051 §6.3.6: renaming INBOX moves its messages to the new name; INBOX stays, empty
    imapserver.deliver("ttnanh", message(subject="Một"), flags=SEEN)
    imapserver.deliver("ttnanh", message(subject="Hai"))
    wire.ok("r5", b'RENAME INBOX "Thu cu"')
    found = statuses(wire.ok("s2", b'STATUS "Thu cu" (MESSAGES UNSEEN)'))
    assert found == {"Thu cu": {"MESSAGES": 2, "UNSEEN": 1}}
    assert statuses(wire.ok("s3", b"STATUS INBOX (MESSAGES)")) == {"INBOX": {"MESSAGES": 0}}
    assert b"* 0 EXISTS\r\n" in wire.ok("s4", b"SELECT INBOX")
    imapserver.deliver("ttnanh", message(subject="Ba"))
    assert statuses(wire.ok("s5", b"STATUS INBOX (MESSAGES)")) == {"INBOX": {"MESSAGES": 1}}
    wire.close()


# --- Vietnamese names ---------------------------------------------------------------------------


def test_vietnamese_names_in_modified_utf7_then_utf8_after_enable_imap4rev2(imapserver):
    du_an = encode_mutf7("Dự án")
    assert du_an == "D&HvE- &AOE-n"
    client = imapserver.login("ttnanh")  # imaplib speaks IMAP4rev1: RFC 3501 §5.1.3 names
    assert client.create(f'"{du_an}"')[0] == "OK"
    typ, data = client.list()
    names = set(listed(imaplib_lines(data)))
    assert du_an in names
    assert "Dự án" not in names
    assert client.select(f'"{du_an}"')[0] == "OK"
    assert client.status(f'"{du_an}"', "(MESSAGES)") == ("OK", [f'"{du_an}" (MESSAGES 0)'.encode()])
    for bad in ("&Jjo", "&AGE-", "D&HvE-&AOE-n"):  # unterminated, shifted ASCII, split shifts
        # NO, as Dovecot answers: well formed, but no mailbox can have that name
        typ, data = client.create(f'"{bad}"')
        assert typ == "NO" and b"[CANNOT]" in data[0] and b"modified UTF-7" in data[0], data
        assert client.status(f'"{bad}"', "(MESSAGES)")[0] == "NO"
        assert client.list('""', f'"{bad}*"') == ("OK", [None])  # a pattern: matches no name, OK

    assert client.unselect()[0] == "OK"

    # IMAP4rev2 (RFC 9051 §5.1): UTF-8 names both ways once the client enables it
    assert client._simple_command("ENABLE", "IMAP4rev2")[0] == "OK"
    assert client.untagged_responses.pop("ENABLED") == [b"IMAP4rev2"]
    typ, data = client._simple_command("LIST", '""', '"*"')
    typ, data = client._untagged_response(typ, data, "LIST")
    names = set(listed(imaplib_lines(data)))
    assert "Dự án" in names
    assert du_an not in names
    client.logout()

    wire = imapserver.raw("ttnanh")
    (refused,) = wire.exchange("a1", 'CREATE "Báo cáo"'.encode())  # 8-bit before ENABLE IMAP4rev2
    assert refused.startswith(b"a1 NO [CANNOT] ")  # not a modified UTF-7 name
    wire.ok("a2", b"ENABLE IMAP4rev2")
    wire.ok("a3", 'CREATE "Báo cáo/Tháng 3"'.encode())
    assert listed(wire.ok("a4", 'LIST "" "Báo*"'.encode())) == {
        "Báo cáo": {"\\HasChildren"},
        "Báo cáo/Tháng 3": {"\\HasNoChildren"},
    }
    assert "Báo cáo" in statuses(wire.ok("a5", 'STATUS "Báo cáo" (MESSAGES)'.encode()))
    wire.close()

    client = imapserver.login("ttnanh")
    typ, data = client.list()
    names = set(listed(imaplib_lines(data)))
    assert {encode_mutf7("Báo cáo"), encode_mutf7("Báo cáo/Tháng 3"), du_an} <= names
    client.logout()


# --- APPEND -------------------------------------------------------------------------------------


def test_append_appenduid_flags_internal_date_trycreate_and_r5_1_overquota(imapserver):
    accounts = imapserver.services.directory.accounts
    client = imapserver.login("ttnanh")
    when = dt.datetime(2026, 1, 5, 10, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    data = message(subject="Tờ trình số 5")
    typ, answer = client.append("INBOX", "(\\Seen \\Flagged $Forwarded)", when, data)
    assert typ == "OK"
    validity, uid = map(int, re.match(rb"\[APPENDUID (\d+) (\d+)\]", answer[0]).groups())
    typ, answer = client.append("INBOX", None, None, message(subject="Thư thứ hai"))
    assert re.match(rb"\[APPENDUID %d %d\]" % (validity, uid + 1), answer[0])

    client.select("INBOX")
    assert client.untagged_responses["UIDVALIDITY"] == [str(validity).encode()]
    typ, fetched = client.uid("FETCH", str(uid), "(FLAGS INTERNALDATE BODY.PEEK[])")
    head, body = fetched[0]
    flags = set(re.search(rb"FLAGS \(([^)]*)\)", head)[1].decode().split())
    assert flags == {"\\Seen", "\\Flagged", "\\Recent", "$Forwarded"}  # new to the session selecting
    internal = re.search(rb'INTERNALDATE "([^"]+)"', head)[1].decode()
    assert dt.datetime.strptime(internal, "%d-%b-%Y %H:%M:%S %z") == when
    assert body == data

    typ, answer = client.append('"Khong co"', None, None, data)
    assert typ == "NO"
    assert answer[0].startswith(b"[TRYCREATE] ")

    # R5.1: what would go past the quota is refused, [OVERQUOTA] (RFC 9208)
    usage = imapserver.run(accounts.get("ttnanh")).usage_bytes
    imapserver.run(accounts.set_quota("ttnanh", usage + 8192, actor="test"))
    letter = message(subject="Công văn", body="Nội dung. " * 450)  # about 5 KB
    assert 4096 < len(letter) < 8192
    assert client.append("INBOX", None, None, letter)[0] == "OK"
    typ, answer = client.append("INBOX", None, None, letter)
    assert typ == "NO"
    assert answer[0].startswith(b"[OVERQUOTA] ")
    assert client.status("INBOX", "(MESSAGES)") == ("OK", [b'"INBOX" (MESSAGES 3)'])
    typ, answer = client.getquotaroot("INBOX")
    used = imapserver.run(accounts.get("ttnanh")).usage_bytes
    assert used == usage + len(letter)
    assert answer == [[b'"INBOX" ""'], [b'"" (STORAGE %d %d)' % (kib(used), (usage + 8192) // 1024)]]
    client.logout()


# --- the agency mailbox delegated to a person (R8.2) --------------------------------------------


def test_r8_2_delegate_uses_the_agency_mailbox_and_others_do_not_see_it(imapserver):
    subject = "Công văn đến số 7"
    imapserver.deliver("sonv", message(subject=subject, to="sonv@cantho.gov.vn"))
    accounts = imapserver.services.directory.accounts
    agency = imapserver.run(accounts.get("sonv"))
    assert agency.quota_bytes == imapserver.services.settings.policy.agency_quota

    client = imapserver.login("nvminh")
    typ, data = client.list()
    listing = listed(imaplib_lines(data))
    assert listing["Shared"] == {"\\Noselect", "\\HasChildren"}
    assert listing["Shared/sonv"] == {"\\Noselect", "\\HasChildren"}
    assert listing["Shared/sonv/INBOX"] == {"\\HasNoChildren"}
    assert listing["Shared/sonv/Sent"] == {"\\HasNoChildren", "\\Sent"}
    assert client.select('"Shared/sonv/INBOX"') == ("OK", [b"1"])
    typ, fetched = client.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert Header(subject, "utf-8").encode().encode() in fetched[0][1]
    typ, answer = client.append('"Shared/sonv/INBOX"', "(\\Seen)", None, message(subject="Trả lời"))
    assert typ == "OK"
    assert answer[0].startswith(b"[APPENDUID ")
    assert client.status('"Shared/sonv/INBOX"', "(MESSAGES UNSEEN)")[1] == [
        b'"Shared/sonv/INBOX" (MESSAGES 2 UNSEEN 1)'
    ]
    assert client.status("INBOX", "(MESSAGES)")[1] == [b'"INBOX" (MESSAGES 0)']  # not the delegate's own
    # The agency's own quota root (R5.1: an agency mailbox has its own, larger quota)
    used = imapserver.run(accounts.get("sonv")).usage_bytes
    typ, answer = client.getquotaroot('"Shared/sonv/INBOX"')
    assert answer == [
        [b'"Shared/sonv/INBOX" "Shared/sonv"'],
        [b'"Shared/sonv" (STORAGE %d %d)' % (kib(used), agency.quota_bytes // 1024)],
    ]
    client.logout()

    # Someone the agency did not delegate to sees nothing of it
    client = imapserver.login("ttnanh")
    typ, data = client.list()
    assert not [name for name in listed(imaplib_lines(data)) if name.startswith("Shared")]
    typ, answer = client.select('"Shared/sonv/INBOX"')
    assert typ == "NO"
    assert answer[0].startswith(b"[NONEXISTENT] ")
    assert client.status('"Shared/sonv/INBOX"', "(MESSAGES)")[0] == "NO"
    assert client.append('"Shared/sonv/INBOX"', None, None, message())[0] == "NO"
    typ, answer = client._simple_command("GETQUOTAROOT", '"Shared/sonv/INBOX"')
    assert typ == "NO"
    client.logout()

    # When the delegation ends, the next session no longer has the mailbox
    imapserver.run(imapserver.services.directory.delegations.revoke("sonv", "nvminh", actor="test"))
    client = imapserver.login("nvminh")
    assert client.select('"Shared/sonv/INBOX"')[0] == "NO"
    client.logout()
