"""The fuzzing harnesses themselves (`make fuzz`, folder fuzz/): each runs, and each can fail.

A few hundred inputs per target in this process keep the harnesses in step with the code they
drive; planted faults prove that a crash, an undocumented exception and a hang are all caught,
counted and saved with their input, and that the command exits non-zero on them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fuzz import __main__ as cli
from fuzz import engine, html_sanitiser

from hopthu.web.htmlmail import Body

MARKER = b"\xde\xad"


@pytest.fixture(autouse=True)
def _loggers_as_they_were() -> Iterator[None]:
    """The harnesses quieten the server's loggers for speed; tests run after these need them back."""
    names = ("hopthu", "mail.log")
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.parametrize("name", cli.TARGETS)
def test_each_harness_runs_clean_on_200_inputs(name: str) -> None:
    target = cli.load(name)
    stats = engine.fuzz(target, 200, seed=12, budget=10.0)
    assert stats.inputs == 200
    details = "\n\n".join(f.detail for f in stats.findings)
    assert stats.crashes == 0 and stats.hangs == 0, details


class Planted(Exception):
    pass


def _planted_run(data: bytes) -> None:
    if MARKER in data:
        raise KeyError("planted crash")
    if b"ho" in data:
        raise Planted("a documented refusal")
    if b"zz" in data:  # burns CPU for up to 5 s: a hang for any budget below that
        until = time.monotonic() + 5
        while time.monotonic() < until:
            pass


def _planted() -> engine.Target:
    seeds = [b"hello", b"abc" + MARKER, b"fizz"]
    return engine.Target("planted", _planted_run, seeds, (MARKER, b"zz"), expected=(Planted,))


def test_a_planted_crash_and_hang_are_found_and_saved(tmp_path: Path) -> None:
    stats = engine.fuzz(_planted(), 3, seed=0, budget=0.2)  # the seeds as they are
    assert stats.inputs == 3
    assert (stats.crashes, stats.hangs) == (1, 1)
    kinds = {f.kind: f for f in stats.findings}
    assert "planted crash" in kinds["crash"].detail and MARKER in kinds["crash"].data
    assert kinds["hang"].data == b"fizz"
    saved = engine.save(kinds["crash"], tmp_path)
    assert saved.read_bytes() == kinds["crash"].data
    assert "KeyError" in saved.with_suffix(".txt").read_text()


def test_mutations_reach_the_planted_crash() -> None:
    target = engine.Target("planted", _planted_run, [b"plain input"], (MARKER,), expected=(Planted,))
    target.run = lambda data: _planted_run(data.replace(b"zz", b""))  # no hangs, only the crash
    stats = engine.fuzz(target, 300, seed=3, with_seeds=False)
    assert stats.crashes > 0
    assert len(stats.findings) == 1  # one place, one finding however many inputs reach it


def _load_planted(name: str) -> engine.Target:
    return _planted()


def test_parallel_run_counts_every_input_and_kills_a_stuck_worker() -> None:
    # A budget longer than the stall: the worker's own watchdog cannot fire, the parent must kill it.
    stats = engine.run_parallel(_load_planted, {"planted": 3}, workers=2, budget=30.0, stall=1.0)["planted"]
    assert stats.crashes == 1 and stats.hangs == 1
    assert {f.kind for f in stats.findings} == {"crash", "hang"}
    assert next(f for f in stats.findings if f.kind == "hang").data == b"fizz"


def test_the_command_exits_non_zero_on_findings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(engine, "FINDINGS", tmp_path / "fuzz" / "findings")
    monkeypatch.setattr(cli, "load", lambda name: _planted() if name == "planted" else pytest.fail(name))
    monkeypatch.setattr(cli, "TARGETS", ("planted",))
    monkeypatch.setitem(cli.WEIGHTS, "planted", 1)
    assert cli.main(["--inputs", "3", "--targets", "planted", "--budget", "0.2", "--workers", "1"]) == 1
    assert list((tmp_path / "fuzz" / "findings" / "planted").glob("crash-*.bin"))


def test_a_time_limit_stops_starting_batches_and_says_so() -> None:
    told: list[str] = []
    plan = {"planted": 3 * engine.CHUNK}
    stats = engine.run_parallel(_load_planted, plan, workers=1, minutes=0.0, report=told.append)
    assert stats["planted"].inputs == 0
    assert any("time limit reached" in line and str(3 * engine.CHUNK) in line for line in told)


@pytest.mark.parametrize(
    "output",
    [
        '<a href="jav&#x09;ascript:alert(1)">x</a>',
        '<p onclick="x()">x</p>',
        '<img src="https://tracker.example/p.gif">',
        '<div style="background: url(//x/y)">x</div>',
        '<div style="background: \\75rl(//x/y)">x</div>',  # a CSS escape of "u"
        "<script>x</script>",
    ],
)
def test_the_html_check_sees_what_a_browser_would_run(monkeypatch: pytest.MonkeyPatch, output: str) -> None:
    monkeypatch.setattr(html_sanitiser, "render_body", lambda *args, **kwargs: Body(output, 0))
    found = engine.run_one(html_sanitiser.target(), b"Content-Type: text/html\r\n\r\nx")
    assert found is not None and "Unsafe" in found.detail


def test_the_html_check_does_not_read_attribute_values_as_tags() -> None:
    # Found by the 1,000,000-input run with the first, textual check: "onclick=" inside an href.
    data = b'Content-Type: text/html\r\n\r\n<a href="  J\r\n\r\n<p onclick="x()">t</p>'
    assert engine.run_one(html_sanitiser.target(), data) is None
