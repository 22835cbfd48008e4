"""Search across all of a person's folders: free text, From, To, Subject, a date range, attachments.

The ideas are IMAP SEARCH's (`hopthu.imap.search`): what the database can answer exactly is said in
SQL (the words over the folded search text, the dates, the attachment flag), and only what it
cannot (a word in From, To or Subject, folded) is checked in Python, on the rows SQL narrowed down.
The search text holds the subject and the names and addresses of From, To and Cc, so every word of
those filters narrows in SQL too. Text folds Vietnamese on both sides: `cong van` finds `Công văn`.

Results are newest first (received time, then row id) and come a page at a time: the next page
starts after the last row looked at, so a page costs the same whatever its depth. A search that
must look through many rows before it fills a page stops at a budget and offers to go on.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from hopthu.mail.envelope import searched_text
from hopthu.store import websearch
from hopthu.store.db import Database
from hopthu.store.websearch import FoundMessage, SearchFilter
from hopthu.text import fold
from hopthu.web.auth import SignedIn, signed_in
from hopthu.web.deps import WebServices
from hopthu.web.folders import visible
from hopthu.web.templating import VIETNAM, page

router = APIRouter()
PAGE_SIZE = 50
BATCH = 200  # rows read per query
SCAN_BUDGET = 5_000  # rows looked at for one page before offering to go on
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Query:
    """What the person asked for, as typed (shown back in the form)."""

    text: str = ""
    sender: str = ""
    recipient: str = ""
    subject: str = ""
    since: str = ""
    until: str = ""
    attachments: bool = False

    @classmethod
    def of(cls, request: Request) -> Query:
        get = request.query_params.get
        return cls(
            text=(get("q") or "").strip()[:500],
            sender=(get("tu") or "").strip()[:300],
            recipient=(get("den") or "").strip()[:300],
            subject=(get("tieu-de") or "").strip()[:500],
            since=(get("tu-ngay") or "").strip(),
            until=(get("den-ngay") or "").strip(),
            attachments=get("co-tep") in ("1", "on", "true"),
        )

    @property
    def empty(self) -> bool:
        fields = (self.text, self.sender, self.recipient, self.subject, self.since, self.until)
        return not any(fields) and not self.attachments

    def link(self, **extra: str) -> str:
        """This search's address (with `extra` parameters, such as where the next page starts)."""
        params = {
            "q": self.text,
            "tu": self.sender,
            "den": self.recipient,
            "tieu-de": self.subject,
            "tu-ngay": self.since,
            "den-ngay": self.until,
            "co-tep": "1" if self.attachments else "",
            **extra,
        }
        return "/tim-kiem?" + urlencode({key: value for key, value in params.items() if value})


class BadQuery(ValueError):
    def __init__(self, vi: str, en: str) -> None:
        super().__init__(en)
        self.vi = vi
        self.en = en


_DAY_FORMATS = (
    re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"),  # what <input type=date> sends
    re.compile(r"(?P<d>\d{1,2})/(?P<m>\d{1,2})/(?P<y>\d{4})"),  # as a person in Vietnam writes it
)


def parse_day(text: str) -> dt.date | None:
    if not text:
        return None
    for pattern in _DAY_FORMATS:
        found = pattern.fullmatch(text)
        if found:
            try:
                return dt.date(int(found["y"]), int(found["m"]), int(found["d"]))
            except ValueError:
                break
    raise BadQuery(
        f"Ngày không hợp lệ: {text} (hãy viết ngày/tháng/năm)",
        f"Invalid date: {text} (write day/month/year)",
    )


def day_start(day: dt.date) -> dt.datetime:
    """The first moment of a day in Vietnam."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=VIETNAM)


def encode_cursor(moment: dt.datetime, row_id: int) -> str:
    return f"{(moment - _EPOCH) // _MICROSECOND}_{row_id}"


def decode_cursor(text: str | None) -> tuple[dt.datetime, int] | None:
    if not text:
        return None
    micros, _, row_id = text.partition("_")
    if not (micros.lstrip("-").isdigit() and row_id.isdigit()):
        return None
    return _EPOCH + int(micros) * _MICROSECOND, int(row_id)


def _people_text(envelope: dict | None, fields: tuple[str, ...]) -> str:
    """The names and addresses of these envelope fields, folded as IMAP's FROM/TO keys see them."""
    return " ".join(filter(None, (searched_text((envelope or {}).get(field)) for field in fields)))


@dataclass(frozen=True, slots=True)
class Plan:
    """A query compiled: what the store narrows on, and the folded words checked in Python per field."""

    narrowed: SearchFilter
    sender: list[str]
    recipient: list[str]
    subject: list[str]

    def keeps(self, row: FoundMessage) -> bool:
        if self.subject:
            subject = fold(row.subject)
            if not all(word in subject for word in self.subject):
                return False
        if self.sender:
            people = _people_text(row.envelope, ("from",))
            if not all(word in people for word in self.sender):
                return False
        if self.recipient:
            people = _people_text(row.envelope, ("to", "cc"))
            if not all(word in people for word in self.recipient):
                return False
        return True


def plan(query: Query, mailbox_ids: list[int]) -> Plan:
    """The SQL that narrows and the Python that decides; BadQuery when a date cannot be read."""
    since, until = parse_day(query.since), parse_day(query.until)
    if since and until and since > until:
        raise BadQuery("Ngày bắt đầu sau ngày kết thúc", "The start date is after the end date")
    sender, recipient, subject = (
        fold(query.sender).split(),
        fold(query.recipient).split(),
        fold(query.subject).split(),
    )
    # Every word must be in the search text: the free text's, and the filters' (the search text
    # holds the subject and the people of From, To and Cc).
    narrowed = SearchFilter(
        mailbox_ids,
        words=list(dict.fromkeys([*fold(query.text).split(), *sender, *recipient, *subject])),
        since=day_start(since) if since else None,
        until=day_start(until + dt.timedelta(days=1)) if until else None,
        attachments=query.attachments,
    )
    return Plan(narrowed, sender, recipient, subject)


@dataclass(frozen=True, slots=True)
class Found:
    rows: list[FoundMessage]
    next_cursor: str | None  # where the next page starts, if there may be one
    stopped_early: bool  # the budget ran out before the page was full


async def run(db: Database, compiled: Plan, after: tuple[dt.datetime, int] | None) -> Found:
    """One page of results, newest first, starting after `after` (received time, row id)."""
    shown: list[FoundMessage] = []
    position = after
    looked = 0
    by_text = await websearch.reads_text_first(db, compiled.narrowed)
    while True:
        rows = await websearch.newest_matching(db, compiled.narrowed, position, BATCH, by_text=by_text)
        for row in rows:
            if not compiled.keeps(row):
                position = (row.internal_date, row.id)
                continue
            if len(shown) == PAGE_SIZE:  # one more than a page: there is a next page
                last = shown[-1]
                return Found(shown, encode_cursor(last.internal_date, last.id), False)
            shown.append(row)
            position = (row.internal_date, row.id)
        looked += len(rows)
        if len(rows) < BATCH:
            return Found(shown, None, False)
        if looked >= SCAN_BUDGET and len(shown) < PAGE_SIZE:
            assert position is not None
            return Found(shown, encode_cursor(*position), True)


@router.get("/tim-kiem", response_class=HTMLResponse)
async def search(
    request: Request, services: WebServices, who: Annotated[SignedIn, Depends(signed_in)]
) -> HTMLResponse:
    """Every folder the person sees: their own, and those of agency mailboxes delegated to them."""
    groups = await visible(services, who.account.id)
    labels: dict[int, tuple[str, str]] = {}
    for index, group in enumerate(groups):
        for view in group.folders:
            own = index == 0
            labels[view.id] = (
                (view.vi, view.en) if own else (f"{group.vi} · {view.vi}", f"{group.en} · {view.en}")
            )
    query = Query.of(request)
    context: dict[str, Any] = {
        "groups": groups,
        "folders": groups[0].folders,
        "current": None,
        "query": query,
        "labels": labels,
        # The person's own mail found anywhere is listed by its recipients (see `people`).
        "own": who.account.address(services.settings.server.domain).lower(),
    }
    if query.empty:
        return page(request, "search.html", who=who, results=None, **context)
    try:
        compiled = plan(query, list(labels))
    except BadQuery as error:
        return page(request, "search.html", who=who, status_code=400, results=None, error=error, **context)
    after = decode_cursor(request.query_params.get("sau"))
    found = await run(services.store.db, compiled, after)
    return page(
        request,
        "search.html",
        who=who,
        results=found.rows,
        more=query.link(sau=found.next_cursor) if found.next_cursor else None,
        stopped_early=found.stopped_early,
        first_page=after is None,
        **context,
    )
