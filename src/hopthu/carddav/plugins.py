"""Radicale's three plugins over our directory: storage, authentication and rights.

The layout Radicale serves (paths below the mount, `/dav/`):

    /                      the root (a plain collection)
    /<person>/             the signed-in person's principal and address-book home (RFC 6352 §7.1)
    /<person>/city/        the city's address book (VADDRESSBOOK), the same for everyone
    /<person>/city/<uid>.vcf   one card

The request's signed-in person and snapshot come from context variables the front set on the event
loop (`front`); these plugins run in a WSGI thread and only read them. Every write is refused twice:
the rights grant no `w`/`W`, and the storage raises on any change it is asked for.
"""

from __future__ import annotations

import contextlib
import contextvars
import email.utils
import hashlib
import hmac
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from radicale import auth, item, pathutils, rights, storage

from hopthu.carddav.snapshot import Card, Snapshot

BOOK = "city"
DISPLAY_NAME = "Danh bạ thành phố Cần Thơ"
DESCRIPTION = (
    "Cán bộ, công chức và hộp thư cơ quan, đơn vị (chỉ đọc) / City staff and agency mailboxes (read-only)"
)


@dataclass(frozen=True, slots=True)
class Verified:
    """Whom the front signed in for this request, and with what (the password as a digest)."""

    login: str
    password_digest: bytes
    local: str


VERIFIED: contextvars.ContextVar[Verified | None] = contextvars.ContextVar("carddav_verified", default=None)
SNAPSHOT: contextvars.ContextVar[Snapshot | None] = contextvars.ContextVar("carddav_snapshot", default=None)


class ReadOnly(ValueError):
    """A change was asked of the address book: it is the directory's, changed only there."""

    def __init__(self) -> None:
        super().__init__("the city's address book is read-only")


def _http_date(snapshot: Snapshot | None) -> str:
    moment = snapshot.revised_at if snapshot is not None else None
    return email.utils.format_datetime(moment, usegmt=True) if moment else ""


class _Collection(storage.BaseCollection):
    """A collection of the layout; only the address book has cards."""

    def __init__(self, path: str, snapshot: Snapshot | None, *, cards: bool = False) -> None:
        self._path = path
        self._snapshot = snapshot
        self._holds_cards = cards and snapshot is not None

    @property
    def path(self) -> str:
        return self._path

    def _item(self, found: Card) -> item.Item:
        return item.Item(
            collection=self,
            href=found.href,
            text=found.text,
            etag=found.etag,
            uid=found.uid,
            name="VCARD",
            component_name="VCARD",
            last_modified=email.utils.format_datetime(found.revised_at, usegmt=True),
        )

    def _cards(self) -> Mapping[str, Card]:
        return self._snapshot.cards() if self._holds_cards and self._snapshot is not None else {}

    def get_all(self) -> Iterator[item.Item]:
        for found in self._cards().values():
            yield self._item(found)

    def get_multi(self, hrefs: Iterable[str]) -> Iterator[tuple[str, item.Item | None]]:
        cards = self._cards()
        for href in hrefs:
            found = cards.get(href)
            yield href, self._item(found) if found is not None else None

    def get(self, href: str) -> item.Item | None:
        found = self._cards().get(href)
        return self._item(found) if found is not None else None

    def has_uid(self, uid: str) -> bool:
        return f"{uid}.vcf" in self._cards()

    def get_meta(self, key: str | None = None) -> Any:
        meta: dict[str, str] = {}
        if self._holds_cards:
            meta = {
                "tag": "VADDRESSBOOK",
                "D:displayname": DISPLAY_NAME,
                "CR:addressbook-description": DESCRIPTION,
            }
        return meta if key is None else meta.get(key)

    @property
    def etag(self) -> str:
        return f'"{self._snapshot.tag}"' if self._holds_cards and self._snapshot is not None else '""'

    def sync(self, old_token: str = "") -> tuple[str, Iterable[str]]:
        """RFC 6578: the token names the book's state; asked with the current one, nothing changed.
        An older one is not kept, so the client is told to start again (Radicale answers with the
        `valid-sync-token` error) and lists the cards' entity tags."""
        token = f"http://hopthu/ns/sync/{self.etag.strip(chr(34))}"
        if not old_token:
            return token, list(self._cards())
        if old_token == token:
            return token, []
        raise ValueError("this sync token is no longer known")

    @property
    def last_modified(self) -> str:
        return _http_date(self._snapshot)

    def upload(self, href: str, item: item.Item) -> tuple[item.Item, item.Item | None]:
        raise ReadOnly

    def delete(self, href: str | None = None) -> None:
        raise ReadOnly

    def set_meta(self, props: Mapping[str, str]) -> None:
        raise ReadOnly

    def get_filtered(self, filters: Iterable[ET.Element]) -> Iterator[tuple[item.Item, bool]]:
        for found in self.get_all():
            yield found, False  # every card is tested against the filters by Radicale


class Storage(storage.BaseStorage):
    """The layout above, over the request's snapshot."""

    def discover(
        self,
        path: str,
        depth: str = "0",
        child_context_manager: Any = None,
        user_groups: Any = None,
    ) -> Iterator[Any]:
        snapshot = SNAPSHOT.get()
        parts = [part for part in pathutils.strip_path(path).split("/") if part]
        if not parts:
            yield _Collection("", snapshot)
            return  # the root lists no principals: nobody learns who else has a book
        owner = parts[0]
        if len(parts) == 1:
            yield _Collection(owner, snapshot)
            if depth != "0":
                yield _Collection(f"{owner}/{BOOK}", snapshot, cards=True)
            return
        if parts[1] != BOOK or snapshot is None:
            return
        book = _Collection(f"{owner}/{BOOK}", snapshot, cards=True)
        if len(parts) == 2:
            yield book
            if depth != "0":
                yield from book.get_all()
        elif len(parts) == 3:
            found = book.get(parts[2])
            if found is not None:
                yield found

    def move(self, item: item.Item, to_collection: storage.BaseCollection, to_href: str) -> None:
        raise ReadOnly

    def create_collection(self, href: str, items: Any = None, props: Any = None) -> Any:
        raise ReadOnly

    @contextlib.contextmanager
    def acquire_lock(self, mode: str, user: str = "", *args: Any, **kwargs: Any) -> Iterator[None]:
        yield  # snapshots are immutable: nothing to lock

    def verify(self) -> bool:
        return True


class Auth(auth.BaseAuth):
    """Accepts exactly the credentials the front verified for this request (with the mail
    password, as IMAP does); anything else is no sign-in."""

    def _login(self, login: str, password: str) -> str:
        verified = VERIFIED.get()
        if verified is None or verified.login != login:
            return ""
        if not hmac.compare_digest(verified.password_digest, digest(password)):
            return ""
        return verified.local


def digest(password: str) -> bytes:
    """How the front hands the password it verified to the thread (never the password itself)."""
    return hashlib.sha256(password.encode()).digest()


class Rights(rights.BaseRights):
    """Read-only, each person their own home: the root and their principal may be listed (`R`),
    their address book and its cards read (`r`); no `w`, `W`, sharing or property overlay, ever."""

    def authorization(self, user: str, user_groups: set[str], path: str) -> str:
        if not user:
            return ""
        parts = [part for part in pathutils.strip_path(path).split("/") if part]
        if not parts:
            return "R"
        if parts[0] != user:
            return ""
        if len(parts) == 1:
            return "R"
        if len(parts) == 2 and parts[1] == BOOK:
            return "r"
        return ""
