"""The background workers' loop: wake-ups kept, failures survived, stop is prompt."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from yibao.worker import WorkLoop


async def until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Bounded polling: the loop runs on this event loop, so it gets there in a few turns."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition never became true"
        await asyncio.sleep(0.005)


async def test_more_work_runs_again_at_once_and_idle_waits_for_a_wake() -> None:
    loop = WorkLoop("test", idle_s=60)
    answers = [True, True, False]
    calls = 0

    async def step() -> bool:
        nonlocal calls
        calls += 1
        return answers.pop(0) if answers else False

    task = asyncio.create_task(loop.run(step))
    await until(lambda: calls == 3)
    await asyncio.sleep(0.05)
    assert calls == 3  # two full batches ran back to back, then it idles (60 s)
    loop.wake.set()
    await until(lambda: calls == 4)
    loop.stop()
    await asyncio.wait_for(task, 1)


async def test_a_wake_during_a_step_is_not_lost() -> None:
    loop = WorkLoop("test", idle_s=60)
    calls = 0

    async def step() -> bool:
        nonlocal calls
        calls += 1
        if calls == 1:
            loop.wake.set()  # new work arrives while the step runs
        return False

    task = asyncio.create_task(loop.run(step))
    await until(lambda: calls == 2)
    loop.stop()
    await asyncio.wait_for(task, 1)


async def test_a_failing_step_is_retried_after_the_pause_and_the_loop_lives_on() -> None:
    loop = WorkLoop("test", idle_s=60, after_failure_s=0.05)
    calls = 0

    async def step() -> bool:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ConnectionResetError("database restarting")
        return False

    task = asyncio.create_task(loop.run(step))
    await until(lambda: calls == 3)
    assert not task.done()
    loop.stop()
    await asyncio.wait_for(task, 1)


async def test_stop_ends_a_long_wait_at_once() -> None:
    loop = WorkLoop("test", idle_s=3600, after_failure_s=3600)

    async def step() -> bool:
        return False

    task = asyncio.create_task(loop.run(step))
    await asyncio.sleep(0.02)
    loop.stop()
    await asyncio.wait_for(task, 1)
