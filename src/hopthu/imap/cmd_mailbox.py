"""Commands on mailboxes as wholes: SELECT, EXAMINE, CREATE, DELETE, RENAME, (UN)SUBSCRIBE, LIST,
LSUB, STATUS, APPEND, GETQUOTAROOT, GETQUOTA (RFC 9051 §6.3, LIST-EXTENDED RFC 5258, LIST-STATUS
RFC 5819, SPECIAL-USE RFC 6154, CONDSTORE RFC 7162, UIDPLUS RFC 4315, QUOTA RFC 9208)."""

from __future__ import annotations

from array import array
from collections.abc import Callable

from hopthu.directory.standing import quota_limit
from hopthu.errors import Conflict, HopThuError, NotFound
from hopthu.imap import commands as c
from hopthu.imap.mutf7 import encode_mutf7
from hopthu.imap.places import SHARED, ListPattern, parents, pattern_matcher
from hopthu.imap.responses import ImapRefusal, bad, mailbox_name
from hopthu.imap.selected import Place, Selected
from hopthu.imap.session import Session, handles
from hopthu.imap.state import SELECTED
from hopthu.mail import canonical_keeping_binary, parse
from hopthu.store import reading, recent
from hopthu.store.flags import keyword_text, split_flags
from hopthu.store.folders import SEPARATOR, Folder
from hopthu.store.types import Target

MAX_LIST_PATTERNS = 32  # RFC 5258 lets one LIST carry several patterns; clients send one or two
_ERROR_CODES = {"haschildren": "HASCHILDREN", "cannot": "CANNOT", "invalid": "CANNOT"}


def refusal(error: HopThuError) -> ImapRefusal:
    if isinstance(error, NotFound):
        return ImapRefusal.explaining(error, "NONEXISTENT")
    if isinstance(error, Conflict):
        return ImapRefusal.explaining(error, "ALREADYEXISTS")
    return ImapRefusal.explaining(error, _ERROR_CODES.get(error.code, "CANNOT"))


@handles(c.Select, c.Examine)
async def select(session: Session, command: c.Select) -> bytes | None:
    if session.selected is not None and session.rev2:  # RFC 9051 §7.1: [CLOSED] on leaving a mailbox
        session.send(b"* OK [CLOSED] Dong thu muc truoc / Previous mailbox closed\r\n")
    session.unselect()
    place = await session.require_places().place(session.mailbox_arg(command.mailbox))
    identity = session.identity
    if identity is not None and place.account_id != identity.account_id:  # a delegate (R13.4)
        session.ctx.authenticator.ctx.access_log.delegate_opened(
            identity.account_id, place.account_id, protocol="imap", source=session.peer, client=session.client
        )
    if command.condstore:
        session.condstore = True
    readonly = isinstance(command, c.Examine)
    # Subscribed before the mailbox is read, so no expunge committed after that read goes unheard.
    selected = Selected(
        place,
        0,
        array("I"),
        0,
        readonly,
        session.origin,
        session.ctx.store.events,
        show_recent=not session.rev2,
    )
    try:
        await _open(session, selected)
    except BaseException:
        selected.close()
        raise
    session.selected = selected
    session.state = SELECTED
    mode = b"READ-ONLY" if readonly else b"READ-WRITE"
    return b"[" + mode + b"] " + command.name.encode() + b" hoan tat / completed"


async def _open(session: Session, selected: Selected) -> None:
    """SELECT's untagged answers, from the mailbox's counters; `selected` takes its state."""
    place = selected.place
    opened = await reading.opening(session.ctx.store.db, place.mailbox_id, unseen=not session.rev2)
    if opened is None:
        raise ImapRefusal(f"Không có thư mục {place.name}", f"No mailbox {place.name}", "NONEXISTENT")
    state = opened.state
    # The sequence map is loaded later, and only as far as commands reach into it (`Selected`).
    selected.uidvalidity = state.uidvalidity
    selected.modseq = selected.opened = state.highestmodseq
    selected.base = state.message_count
    selected.floor = opened.last_uid + 1
    # RFC 3501 §2.3.2: the messages no session has seen are \Recent to this one (and to no other)
    await selected.claim_recent(session.ctx.store.db, state.recent_uid)
    send = session.send
    send(selected.flags_response())
    send(b"* %d EXISTS\r\n" % selected.exists)
    if session.rev2:  # RFC 9051 §6.3.2: a LIST response names the mailbox selected
        listing = await session.require_places().listing()
        folder = next(f for name, f in listing if name == place.name)
        attributes = _attributes(place.name, folder, parents([name for name, _ in listing]), False)
        send(b"* LIST (" + attributes + b') "/" ' + mailbox_name(place.name, True) + b"\r\n")
    else:
        send(b"* %d RECENT\r\n" % selected.recent_count())
        if opened.first_unseen is not None:
            send(b"* OK [UNSEEN %d] Thu chua doc dau tien / First unseen\r\n" % opened.first_unseen)
    send(selected.permanent_response())
    send(b"* OK [UIDVALIDITY %d] UIDs valid\r\n" % state.uidvalidity)
    uidnext = max(state.uidnext, opened.last_uid + 1)
    send(b"* OK [UIDNEXT %d] UID tiep theo / Predicted next UID\r\n" % uidnext)
    if session.condstore:
        send(b"* OK [HIGHESTMODSEQ %d] Highest\r\n" % state.highestmodseq)


@handles(c.Create)
async def create(session: Session, command: c.Create) -> bytes | None:
    name = session.mailbox_arg(command.mailbox).rstrip(SEPARATOR)  # RFC 9051 §6.3.4: a trailing separator
    places = session.require_places()
    if name == SHARED:
        raise ImapRefusal(f"Tên {SHARED} dành cho hộp thư được ủy quyền", f"{SHARED} is reserved", "CANNOT")
    owner, stored = places.locate(name)
    if not stored:
        raise bad("Tên thư mục trống", "empty mailbox name")
    try:
        await session.ctx.store.folders.create(owner.account_id, stored, subscribed=False)
    except HopThuError as error:
        raise refusal(error) from None
    return None


@handles(c.Delete)
async def delete(session: Session, command: c.Delete) -> bytes | None:
    place = await session.require_places().place(session.mailbox_arg(command.mailbox))
    try:
        await session.ctx.store.folders.delete(place.account_id, place.stored_name)
    except HopThuError as error:
        raise refusal(error) from None  # a refused DELETE leaves the selected mailbox selected
    if session.selected is not None and session.selected.place.mailbox_id == place.mailbox_id:
        session.unselect()
    return None


@handles(c.Rename)
async def rename(session: Session, command: c.Rename) -> bytes | None:
    places = session.require_places()
    place = await places.place(session.mailbox_arg(command.mailbox))
    owner, new = places.locate(session.mailbox_arg(command.new_name))
    if owner.account_id != place.account_id:
        raise ImapRefusal("Không chuyển thư mục sang hộp thư khác", "cannot rename across accounts", "CANNOT")
    ctx = session.ctx
    try:
        if place.stored_name == "INBOX":
            # RFC 9051 §6.3.6: renaming INBOX moves its messages into a new mailbox; INBOX stays, empty
            target = await ctx.store.folders.create(owner.account_id, new)
            uids = await reading.uids(ctx.store.db, place.mailbox_id)
            quota = await quota_limit(ctx.store.db, owner.account_id)
            await ctx.store.mail.editor.copy(
                (owner.account_id, place.mailbox_id),
                uids,
                (owner.account_id, target.id),
                quota=quota,
                move=True,
            )
        else:
            await ctx.store.folders.rename(owner.account_id, place.stored_name, new)
    except HopThuError as error:
        raise refusal(error) from None
    return None


@handles(c.Subscribe, c.Unsubscribe)
async def subscribe(session: Session, command: c.Subscribe) -> bytes | None:
    """A name is subscribed whether or not it has a mailbox (RFC 9051 §6.3.7), as Dovecot does."""
    owner, stored = session.require_places().locate(session.mailbox_arg(command.mailbox))
    try:
        await session.ctx.store.folders.subscribe(owner.account_id, stored, isinstance(command, c.Subscribe))
    except HopThuError as error:
        raise refusal(error) from None
    return None


@handles(c.List)
async def list_mailboxes(session: Session, command: c.List) -> bytes | None:
    if list(command.patterns) == [""]:  # RFC 9051 §6.3.9: the separator and the root
        session.send(b'* LIST (\\Noselect) "/" ""\r\n')
        return None
    patterns = list(dict.fromkeys(command.patterns))
    if len(patterns) > MAX_LIST_PATTERNS:  # each costs a pass over every name
        raise ImapRefusal(
            f"Tối đa {MAX_LIST_PATTERNS} mẫu trong một lệnh LIST",
            f"At most {MAX_LIST_PATTERNS} patterns in one LIST",
            "LIMIT",  # RFC 5530 §3
        )
    matches = _matcher(session, command.reference, patterns)
    listing = await session.require_places().listing()
    names = parents([name for name, _ in listing])
    subscribed_only = "SUBSCRIBED" in command.selection
    special_only = "SPECIAL-USE" in command.selection
    show_subscribed = subscribed_only or "SUBSCRIBED" in command.returns

    def chosen(folder: Folder | None) -> bool:
        return not (subscribed_only and not (folder and folder.subscribed)) and not (
            special_only and not (folder and folder.special_use)
        )

    matched = {name for name, _ in listing if matches(name)}
    # RFC 5258 §3: with RECURSIVEMATCH, a matched parent of a subscribed mailbox the patterns do not
    # reach is listed too, saying so in CHILDINFO.
    childinfo: set[str] = set()
    if subscribed_only and "RECURSIVEMATCH" in command.selection:
        chosen_names = [name for name, folder in listing if chosen(folder)]
        childinfo = _matched_ancestors(chosen_names, matched)
    if subscribed_only:  # RFC 5258 §3.1: a subscribed name without a mailbox is \NonExistent
        for name in await session.require_places().orphan_subscriptions():
            if matches(name):
                session.send(
                    b'* LIST (\\Subscribed \\NonExistent) "/" ' + mailbox_name(name, session.utf8) + b"\r\n"
                )
    for name, folder in listing:
        selected = name in matched and chosen(folder)
        if not selected and name not in childinfo:
            continue
        attributes = _attributes(name, folder, names, show_subscribed)
        extended = b' ("CHILDINFO" ("SUBSCRIBED"))' if name in childinfo else b""
        session.send(
            b"* LIST (" + attributes + b') "/" ' + mailbox_name(name, session.utf8) + extended + b"\r\n"
        )
        if command.status_items and folder is not None:
            place = Place(name, folder.account_id, folder.id, folder.name, folder.special_use)
            await _send_status(session, place, command.status_items)
    return None


def _matcher(session: Session, reference: str, patterns: list[str]) -> Callable[[str], bool]:
    """Whether a name matches any of the patterns. A pattern that is not valid modified UTF-7 is
    matched against the names as the client sees them, in modified UTF-7, as Dovecot does: such a
    LIST is answered OK, not refused."""
    decoded: list[ListPattern] = []
    raw: list[ListPattern] = []
    for pattern in patterns:
        try:
            full = (session.mailbox_arg(reference) if reference else "", session.mailbox_arg(pattern))
        except ImapRefusal:
            raw.append(pattern_matcher(reference, pattern))
        else:
            decoded.append(pattern_matcher(*full))

    def matches(name: str) -> bool:
        if any(m.match(name) for m in decoded):
            return True
        return bool(raw) and any(m.match(encode_mutf7(name)) for m in raw)

    return matches


def _matched_ancestors(chosen: list[str], matched: set[str]) -> set[str]:
    """The matched ancestors of the chosen names that are not matched themselves (RFC 5258 §3
    CHILDINFO, RFC 3501 §6.3.9 LSUB's \\Noselect parents)."""
    found: set[str] = set()
    for name in chosen:
        if name in matched:
            continue
        cut = name.rfind(SEPARATOR)
        while cut > 0:
            parent = name[:cut]
            if parent in matched:
                found.add(parent)
            cut = parent.rfind(SEPARATOR)
    return found


def _attributes(name: str, folder: Folder | None, with_children: set[str], show_subscribed: bool) -> bytes:
    attributes = [b"\\HasChildren" if name in with_children else b"\\HasNoChildren"]
    if folder is None:
        attributes.insert(0, b"\\Noselect")
    else:
        if folder.special_use:
            attributes.append(folder.special_use.encode())
        if show_subscribed and folder.subscribed:
            attributes.append(b"\\Subscribed")
    return b" ".join(attributes)


@handles(c.Lsub)
async def lsub(session: Session, command: c.Lsub) -> bytes | None:
    matches = _matcher(session, command.reference, [command.pattern])
    listing = await session.require_places().listing()
    subscribed = {name for name, folder in listing if folder is not None and folder.subscribed}
    # RFC 3501 §6.3.9: a parent matched by the pattern (with "%") whose child is subscribed, but
    # not itself, is answered with \Noselect.
    matched = {name for name, _ in listing if matches(name)}
    unsubscribed_parents = _matched_ancestors(sorted(subscribed), matched) - subscribed
    for name in await session.require_places().orphan_subscriptions():  # deleted, still subscribed
        if matches(name):
            session.send(b'* LSUB (\\Noselect) "/" ' + mailbox_name(name, session.utf8) + b"\r\n")
    for name, _folder in listing:
        if name in subscribed and name in matched:
            attributes = b"()"
        elif name in unsubscribed_parents:
            attributes = b"(\\Noselect)"
        else:
            continue
        session.send(b"* LSUB " + attributes + b' "/" ' + mailbox_name(name, session.utf8) + b"\r\n")
    return None


@handles(c.Status)
async def status(session: Session, command: c.Status) -> bytes | None:
    place = await session.require_places().place(session.mailbox_arg(command.mailbox))
    await _send_status(session, place, command.items)
    return None


async def _send_status(session: Session, place: Place, items: tuple[str, ...]) -> None:
    db = session.ctx.store.db
    state = await reading.state(db, place.mailbox_id)
    if state is None:
        return
    deleted = size = 0
    if "DELETED" in items or "SIZE" in items:
        deleted, size = await session.ctx.store.folders.counts(place.mailbox_id)
    unclaimed = 0
    floor = recent.floor(db, place.mailbox_id, state.uidvalidity, state.recent_uid)
    if "RECENT" in items and not session.rev2 and floor < state.uidnext:
        unclaimed = await recent.count(db, place.mailbox_id, floor)
    values = {
        "MESSAGES": state.message_count,
        "RECENT": unclaimed,
        "UIDNEXT": state.uidnext,
        "UIDVALIDITY": state.uidvalidity,
        "UNSEEN": state.unseen_count,
        "DELETED": deleted,
        "SIZE": size,
        "HIGHESTMODSEQ": state.highestmodseq,
    }
    if "HIGHESTMODSEQ" in items:
        session.enable_condstore()  # RFC 7162 §3.1.8: a CONDSTORE-enabling command
    shown = [f"{item} {values[item]}" for item in items if not (item == "RECENT" and session.rev2)]
    session.send(
        b"* STATUS " + mailbox_name(place.name, session.utf8) + b" (" + " ".join(shown).encode() + b")\r\n"
    )


@handles(c.Append)
async def append(session: Session, command: c.Append) -> bytes | None:
    place = await session.require_places().place(
        session.mailbox_arg(command.mailbox), missing_code="TRYCREATE"
    )
    if not command.message:
        raise bad("Thư rỗng", "empty message")
    data = canonical_keeping_binary(command.message)
    parsed = parse(data)
    bits, keywords = split_flags(command.flags)
    store = session.ctx.store
    quota = await quota_limit(store.db, place.account_id)
    target = Target(place.account_id, quota, place.stored_name, bits, keyword_text(keywords))
    (delivered,) = await store.mail.deliver(data, parsed, [target], internal_date=command.date_time)
    if delivered.refused == "over_quota":  # R5.1
        raise ImapRefusal("Hộp thư đã đầy dung lượng", "Mailbox is over its quota", "OVERQUOTA")
    if delivered.refused is not None:
        raise ImapRefusal(f"Không có thư mục {place.name}", f"No mailbox {place.name}", "TRYCREATE")
    state = await reading.state(store.db, place.mailbox_id)
    uidvalidity = state.uidvalidity if state else 0
    assert delivered.uid is not None  # stored: not refused
    return b"[APPENDUID %d %d] APPEND hoan tat / completed" % (uidvalidity, delivered.uid)


@handles(c.GetQuotaRoot)
async def get_quota_root(session: Session, command: c.GetQuotaRoot) -> bytes | None:
    name = session.mailbox_arg(command.mailbox)
    places = session.require_places()
    owner, _ = places.locate(name)
    await places.place(name)
    root = owner.quota_root
    session.send(
        b"* QUOTAROOT " + mailbox_name(name, session.utf8) + b" " + mailbox_name(root, session.utf8) + b"\r\n"
    )
    await _send_quota(session, owner.account_id, root)
    return None


@handles(c.GetQuota)
async def get_quota(session: Session, command: c.GetQuota) -> bytes | None:
    owner = session.require_places().owner_by_root(session.mailbox_arg(command.root))
    if owner is None:
        raise ImapRefusal("Không có gốc hạn mức này", "No such quota root", "NONEXISTENT")
    await _send_quota(session, owner.account_id, owner.quota_root)
    return None


async def _send_quota(session: Session, account_id: int, root: str) -> None:
    # RFC 9208 §5.1: STORAGE is counted in units of 1024 octets
    store = session.ctx.store
    limit = await quota_limit(store.db, account_id)
    used = await store.mail.used_bytes(account_id)
    session.send(
        b"* QUOTA "
        + mailbox_name(root, session.utf8)
        + b" (STORAGE %d %d)\r\n" % ((used + 1023) // 1024, limit // 1024)
    )
