"""Vietnamese first, English on request: every text is written in both, side by side, where it is used.

Templates call `_("Hộp thư đến", "Inbox")`; the language is the `lang` cookie ("vi" unless the person
chose "en" with the switch in the page header). Keeping both words together, as `HopThuError` does,
means no text can exist in one language only.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request

from hopthu.web.security import read_cookie

LANGUAGES = ("vi", "en")
COOKIE = "lang"


def language(request: Request) -> str:
    chosen = request.query_params.get("lang") or read_cookie(request, COOKIE) or "vi"
    return chosen if chosen in LANGUAGES else "vi"


def chooser(lang: str) -> Callable[[str, str], str]:
    """The `_` of templates: picks the text of the page's language."""

    def pick(vi: str, en: str) -> str:
        return en if lang == "en" else vi

    return pick
