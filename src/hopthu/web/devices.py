"""A signed-in session's device as a person names it ("Chrome trên Windows"), read from the browser's
User-Agent: the settings page lists sessions so that someone can recognise one that is not theirs,
and a raw User-Agent string says nothing to most people.

Only fixed substrings are looked for, in an order that matters (Edge and Cốc Cốc also say "Chrome",
Chrome also says "Safari"); the string is already cut to 300 characters when the session is stored.
"""

from __future__ import annotations

from typing import Final

_BROWSERS: Final = (
    ("Edg", "Edge"),
    ("coc_coc", "Cốc Cốc"),
    ("OPR/", "Opera"),
    ("SamsungBrowser", "Samsung Internet"),
    ("Thunderbird", "Thunderbird"),
    ("Firefox/", "Firefox"),
    ("FxiOS", "Firefox"),
    ("CriOS", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS: Final = (
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("CrOS", "ChromeOS"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("Linux", "Linux"),
)


def _first(agent: str, known: tuple[tuple[str, str], ...]) -> str | None:
    return next((name for marker, name in known if marker in agent), None)


def describe_device(agent: str) -> tuple[str, str]:
    """(Vietnamese, English) names of the browser and system behind `agent`."""
    browser, system = _first(agent, _BROWSERS), _first(agent, _SYSTEMS)
    if browser and system:
        return f"{browser} trên {system}", f"{browser} on {system}"
    if browser or system:
        named = browser or system or ""
        return named, named
    return "Thiết bị không rõ", "Unknown device"
