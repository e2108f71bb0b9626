"""The worker's job app: several fetchers on one event loop share the worker's concurrency."""

from __future__ import annotations

import asyncio
import uuid

from procrastinate import JobContext

from vixpro.jobs.app import create_job_app


async def test_a_worker_fetches_with_several_loops_sharing_its_concurrency(database) -> None:
    app = create_job_app(database, purge_cron="0 0 1 1 *")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    together = asyncio.Barrier(32)
    workers: list[str] = []

    @app.task(name=f"tests.together.{queue}", queue=queue, pass_context=True)
    async def wait_for_the_others(context: JobContext) -> None:
        workers.append(str(context.worker_name))
        await together.wait()  # passes only with 32 jobs running at once

    async with app.open_async():
        for _ in range(32):
            await wait_for_the_others.defer_async()
        async with asyncio.timeout(60):
            await app.run_worker_async(
                concurrency=32, wait=False, install_signal_handlers=False, queues=[queue]
            )
    # Four fetchers with eight of the 32 slots each: all four were full at once.
    assert sorted(set(workers)) == ["worker-0", "worker-1", "worker-2", "worker-3"]
    assert all(workers.count(name) == 8 for name in set(workers))


async def test_a_small_worker_fetches_with_one_loop(database) -> None:
    app = create_job_app(database, purge_cron="0 0 1 1 *")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    workers: list[str] = []

    @app.task(name=f"tests.alone.{queue}", queue=queue, pass_context=True)
    async def note_the_worker(context: JobContext) -> None:
        workers.append(str(context.worker_name))

    async with app.open_async():
        for _ in range(3):
            await note_the_worker.defer_async()
        await app.run_worker_async(
            concurrency=4, wait=False, install_signal_handlers=False, queues=[queue]
        )
    assert workers == ["worker"] * 3
