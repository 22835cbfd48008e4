"""The city's address book in the webmail (`/danh-ba`): the agencies as a tree, the people of the
chosen agency (and its sub-units) leaders first, a search by name without diacritics or by
address, the agency (shared) mailboxes, and a "write to" link into the compose page for each.

What is listed, and every query, is `directory.book`'s: the page reads the request and lays out
what it gets. A page of people is resumed after the last one shown (`sau`), so a deep page costs
what the first does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from hopthu.directory import book
from hopthu.directory.book import BookAgency, Entry
from hopthu.text import fold
from hopthu.web.auth import SignedIn, signed_in
from hopthu.web.deps import WebServices
from hopthu.web.templating import page

router = APIRouter()
BOOK = "/danh-ba"
MAX_QUERY = 100


@dataclass(slots=True)
class Node:
    """An agency in the tree, its sub-units below it."""

    agency: BookAgency
    children: list[Node] = field(default_factory=list)


def tree(agencies: list[BookAgency]) -> list[Node]:
    """The agencies as a forest, each level by name (diacritics aside). A sub-unit whose agency is
    not active is shown at the top rather than lost."""
    nodes = {found.id: Node(found) for found in agencies}
    roots: list[Node] = []
    for node in nodes.values():
        parent = nodes.get(node.agency.parent_id) if node.agency.parent_id is not None else None
        (parent.children if parent else roots).append(node)

    def order(level: list[Node]) -> None:
        level.sort(key=lambda node: (fold(node.agency.name), node.agency.code))
        for node in level:
            order(node.children)

    order(roots)
    return roots


def _link(**params: str | int | None) -> str:
    kept = {name: value for name, value in params.items() if value not in (None, "")}
    return f"{BOOK}?{urlencode(kept)}" if kept else BOOK


@router.get(BOOK, response_class=HTMLResponse)
async def address_book(
    request: Request,
    services: WebServices,
    who: Annotated[SignedIn, Depends(signed_in)],
    q: str = "",
    co_quan: Annotated[str, Query(alias="co-quan")] = "",
    sau: int | None = None,
) -> HTMLResponse:
    """The tree, and the people of the chosen agency or those the search finds, a page at a time."""
    db = services.store.db
    query = q.strip()[:MAX_QUERY]
    code = co_quan.strip().lower()[:64]
    agencies = await book.agencies(db)
    chosen = next((found for found in agencies if found.code == code), None)
    scope = book.subtree(agencies, chosen.id) if chosen else None
    found = await book.people(db, agency_ids=scope, query=query, after=sau)
    shared: list[Entry] = []
    if chosen is not None and scope is not None and not query:
        shared = await book.agency_mailboxes(db, scope)
    names = {found.id: found.name for found in agencies}
    return page(
        request,
        "book.html",
        who=who,
        tree=tree(agencies),
        chosen=chosen,
        parent_name=names.get(chosen.parent_id) if chosen and chosen.parent_id else None,
        query=query,
        entries=found.entries,
        shared=shared,
        first_page=sau is None,
        first_link=_link(q=query, **{"co-quan": chosen.code if chosen else None}),
        more=_link(q=query, sau=found.next_after, **{"co-quan": chosen.code if chosen else None})
        if found.next_after is not None
        else None,
        unknown_agency=bool(code) and chosen is None,
        domain_name=services.settings.server.domain,
    )
