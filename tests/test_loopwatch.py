"""The event-loop lag monitor: measures how late the loop wakes, keeps the last minute's longest
stall in bounded memory, and warns (not too often) past its threshold."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from hopthu.loopwatch import LoopWatch


def test_longest_stall_of_the_last_minute_and_then_forgotten() -> None:
    watch = LoopWatch(warn_ms=250, clock=lambda: 0.0)
    watch.record(3.0, 100.2)
    watch.record(700.0, 100.7)
    watch.record(5.0, 101.1)
    assert watch.max_stall_ms(101.5) == 700.0
    assert watch.max_stall_ms(159.9) == 700.0
    assert watch.max_stall_ms(160.9) == 5.0  # the 700 ms stall is a minute old (whole seconds)
    assert watch.max_stall_ms(200.0) == 0.0
    assert watch.worst_ms == 700.0


def test_memory_is_one_number_per_second_of_the_window() -> None:
    watch = LoopWatch(clock=lambda: 0.0)
    for n in range(100_000):
        watch.record(1.0, n * 0.1)
    assert len(watch._seconds) == 60


def test_warnings_past_the_threshold_at_most_every_ten_seconds(caplog: pytest.LogCaptureFixture) -> None:
    watch = LoopWatch(warn_ms=100, clock=lambda: 0.0)
    with caplog.at_level(logging.WARNING, "hopthu.loopwatch"):
        watch.record(50.0, 1.0)  # under the threshold: silent
        for n in range(50):
            watch.record(400.0, 2.0 + n * 0.1)
        watch.record(400.0, 13.0)
    texts = [r.getMessage() for r in caplog.records]
    assert len(texts) == 2 and "400 ms" in texts[0] and "more since the last warning" in texts[1]


async def test_a_blocking_call_on_the_loop_is_measured() -> None:
    watch = LoopWatch(warn_ms=250, interval=0.02)
    task = asyncio.create_task(watch.run())
    await asyncio.sleep(0.05)
    time.sleep(0.4)  # what a handler computing on the loop does to everyone else
    await asyncio.sleep(0.05)
    task.cancel()
    report = watch.report()
    assert report["max_stall_ms_last_minute"] >= 300 and report["status"] == "slow"
