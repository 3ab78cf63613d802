"""A pass of work run to its end by a task being stopped (`to_the_end`): the task stops however
the work ends. Work that failed after the stop was asked raised its own error instead, which a
background pass's retry loop took for an ordinary failure: it went on, and the stop waited for
it until its bound (10 s), the task still running after it."""

from __future__ import annotations

import asyncio
import logging

import pytest

from shared.messaging.transport import to_the_end


async def test_a_pass_whose_work_fails_after_the_stop_still_stops(caplog):
    started, release = asyncio.Event(), asyncio.Event()

    async def work() -> None:
        started.set()
        await release.wait()
        raise RuntimeError("the database went away")

    async def a_pass_with_retries() -> str:  # as the dedup engine's and the print reaper's loops
        for _ in range(2):
            try:
                await to_the_end(work())
            except asyncio.CancelledError:
                raise
            except RuntimeError:
                continue
        return "went on after the stop"

    task = asyncio.create_task(a_pass_with_retries())
    await started.wait()
    task.cancel()
    await asyncio.sleep(0)  # the cancellation reached the pass; its work goes on
    assert not task.done()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert any(r.levelno == logging.WARNING and "failed" in r.getMessage() for r in caplog.records)


async def test_work_that_ends_well_after_the_stop_still_stops_its_task():
    release = asyncio.Event()
    done: list[str] = []

    async def work() -> None:
        await release.wait()
        done.append("finished")

    task = asyncio.create_task(to_the_end(work()))
    await asyncio.sleep(0)
    task.cancel()
    await asyncio.sleep(0)
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert done == ["finished"]
