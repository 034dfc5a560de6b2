"""The housekeeping loop survives a failing pass, pauses while told to, says what it did."""

from __future__ import annotations

import asyncio
import logging

import pytest

from app.db.periodic import every


async def test_a_failing_pass_is_retried_and_a_pause_skips_the_pass(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outcomes: list[object] = [RuntimeError("database away"), 0, 3]
    passes = 0
    pause: list[str | None] = [None, "state disagrees", None, None]

    async def one_pass() -> int:
        nonlocal passes
        passes += 1
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        assert isinstance(outcome, int)
        return outcome

    def paused() -> str | None:
        return pause.pop(0) if pause else None

    caplog.set_level(logging.INFO, logger="app.db.periodic")
    loop = asyncio.create_task(
        every(0.001, one_pass, name="job", done="changed %d things", paused=paused)
    )
    async with asyncio.timeout(5):
        while outcomes:
            await asyncio.sleep(0.001)
    loop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loop
    lines = [r.getMessage() for r in caplog.records]
    assert passes == 3  # one interval was skipped by the pause, the failure did not stop it
    assert lines[0] == "job failed"
    assert lines[1] == "job paused: state disagrees"
    assert lines[-1] == "changed 3 things"
    assert not any("changed 0" in line for line in lines)
