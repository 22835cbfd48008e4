"""Organizational domains (RFC 7489 §3.2): `mail.sonv.cantho.gov.vn` belongs to `cantho.gov.vn`.

DMARC's relaxed alignment and its policy fallback both ask which registered domain a name belongs
to, which only the Public Suffix List can say (`gov.vn` is a suffix like `com`). The list is the
copy shipped inside the installed `authheaders` package, read once from disk, never fetched at run
time; it changes when that package is upgraded. The matching is the list's own algorithm
(publicsuffix.org/list, "Formal algorithm"), a few lines over three sets, because publicsuffix2's
non-strict lookup answers `test` for `foo.test` instead of applying the default rule `*`.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path


def ascii_domain(domain: str) -> str:
    """Lower case, no final dot, internationalised labels as A-labels (`xn--…`) where possible."""
    domain = domain.strip().rstrip(".").lower()
    if domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return domain


@functools.cache
def _suffix_rules() -> tuple[frozenset[str], frozenset[str]]:
    """(rules, exception rules) of the list, internationalised names as A-labels."""
    rules: set[str] = set()
    exceptions: set[str] = set()
    spec = importlib.util.find_spec("authheaders")  # locates the package without importing it
    assert spec is not None and spec.submodule_search_locations, "authheaders is a dependency"
    folder = Path(next(iter(spec.submodule_search_locations)))
    text = (folder / "public_suffix_list.txt").read_text("utf-8")
    for line in text.splitlines():
        rule = line.strip().split(" ", 1)[0]
        if not rule or rule.startswith("//"):
            continue
        target = exceptions if rule.startswith("!") else rules
        rule = rule.lstrip("!")
        if not rule.isascii():
            rule = ".".join(label if label == "*" else ascii_domain(label) for label in rule.split("."))
        target.add(rule)
    return frozenset(rules), frozenset(exceptions)


def _suffix_length(domain: str) -> int:
    """How many labels at the right of `domain` are its public suffix (the default rule `*` is 1)."""
    rules, exceptions = _suffix_rules()
    labels = domain.split(".")
    for n in range(len(labels), 0, -1):
        name = ".".join(labels[-n:])
        if name in exceptions:
            return n - 1
        if name in rules or (n > 1 and "*." + ".".join(labels[-n + 1 :]) in rules):
            return n
    return 1


def organizational_domain(domain: str) -> str:
    """The public suffix plus one label; a name that is itself a public suffix stands for itself."""
    domain = ascii_domain(domain)
    labels = domain.split(".")
    keep = _suffix_length(domain) + 1
    return ".".join(labels[-keep:]) if len(labels) >= keep else domain
