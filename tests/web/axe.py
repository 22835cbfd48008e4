"""axe-core, the accessibility engine, from the npm registry: a pinned version whose tarball is checked
against the registry's integrity hash, kept in the user's cache folder after the first download, and
run inside the page by Playwright for WCAG 2.1 A and AA."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tarfile
import urllib.request
from functools import cache
from pathlib import Path

import pytest

VERSION = "4.14.1"
TARBALL = f"https://registry.npmjs.org/axe-core/-/axe-core-{VERSION}.tgz"
INTEGRITY = "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
_RUN = """async (tags) => {
  const found = await axe.run(document, { runOnly: { type: "tag", values: tags } });
  return found.violations.map((v) => `${v.id} (${v.impact}): ${v.help} at ` +
    v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", "));
}"""


def _cached() -> Path:
    folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hopthu-tests"
    return folder / f"axe-core-{VERSION}.min.js"


@cache
def source() -> str:
    """axe.min.js of the pinned version; the test is skipped, saying why, when it cannot be had."""
    kept = _cached()
    if not kept.exists():
        try:
            with urllib.request.urlopen(TARBALL, timeout=60) as answer:
                packed = answer.read()
        except OSError as error:
            pytest.skip(f"axe-core {VERSION} could not be downloaded from the npm registry ({error})")
        algorithm, _, expected = INTEGRITY.partition("-")
        if base64.b64encode(hashlib.new(algorithm, packed).digest()).decode() != expected:
            raise AssertionError(f"{TARBALL} does not match its integrity hash")
        with tarfile.open(fileobj=io.BytesIO(packed)) as archive:
            member = archive.extractfile("package/axe.min.js")
            assert member is not None
            script = member.read()
        kept.parent.mkdir(parents=True, exist_ok=True)
        partial = kept.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(script)
        partial.replace(kept)  # another test process may be writing the same file
    return kept.read_text()


def violations(page) -> list[str]:
    """What axe-core finds on the page as it is now, one line per rule broken."""
    page.wait_for_load_state("load")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(source())  # through the browser's debugger: the page's CSP does not apply
    return page.evaluate(_RUN, TAGS)
