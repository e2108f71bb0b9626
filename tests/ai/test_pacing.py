"""Start-first pacing: a diagnosis that has started pauses before its next model request while
another in the same process is still starting, and goes on once that one's start is over."""

from __future__ import annotations

import asyncio

from vixpro.ai.pacing import UNPACED, Pacer


async def settle() -> None:
    """Let every ready task and zero-delay timer run."""
    for _ in range(10):
        await asyncio.sleep(0)


async def test_a_later_request_waits_for_the_others_to_start() -> None:
    pacer = Pacer(max_pause_s=600, quiet_s=0)
    running = pacer.begin()
    running.started()  # its first tool went out
    newcomer = pacer.begin()
    turn = asyncio.create_task(running.turn())
    await settle()
    assert not turn.done()
    newcomer.started()
    await turn


async def test_the_first_request_of_a_starting_diagnosis_goes_at_once_and_ends_its_start() -> None:
    pacer = Pacer(max_pause_s=600, quiet_s=0)
    a, b = pacer.begin(), pacer.begin()
    await a.turn()  # b is starting too, but a has not started: it does not wait
    assert pacer.starting == 1
    await b.turn()
    assert pacer.starting == 0
    await settle()
    await a.turn()  # nobody is starting now


async def test_the_others_wait_out_a_quiet_period_after_the_last_start() -> None:
    pacer = Pacer(max_pause_s=600, quiet_s=600)
    running = pacer.begin()
    running.started()
    newcomer = pacer.begin()
    newcomer.started()
    turn = asyncio.create_task(running.turn())
    await settle()
    assert not turn.done()  # a start ended just now: another job may be on its way
    turn.cancel()


async def test_ending_a_start_twice_counts_once() -> None:
    pacer = Pacer(max_pause_s=600, quiet_s=0)
    a, b = pacer.begin(), pacer.begin()
    a.started()
    a.started()
    assert pacer.starting == 1
    b.started()
    assert pacer.starting == 0


async def test_the_pause_is_bounded() -> None:
    pacer = Pacer(max_pause_s=0.01, quiet_s=0)
    running = pacer.begin()
    running.started()
    pacer.begin()  # never ends its start
    await running.turn()  # goes on anyway after the bound


async def test_a_diagnosis_run_on_its_own_never_waits() -> None:
    await UNPACED.turn()
    UNPACED.started()
    await UNPACED.turn()


async def test_a_diagnosis_alone_does_not_wait_out_the_quiet_period_of_its_own_start() -> None:
    pacer = Pacer(max_pause_s=600, quiet_s=600)
    alone = pacer.begin()
    alone.started()
    await alone.turn()
