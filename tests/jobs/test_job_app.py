"""The worker's job app: several fetchers on one event loop share the worker's concurrency."""

from __future__ import annotations

import asyncio
import uuid

from procrastinate import JobContext

from vixpro.jobs.app import create_job_app


async def test_a_worker_fetches_with_several_loops_sharing_its_concurrency(database) -> None:
    app = create_job_app(database, purge_cron="0 0 1 1 *")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    together = asyncio.Barrier(4)
    workers: list[str] = []

    @app.task(name=f"tests.together.{queue}", queue=queue, pass_context=True)
    async def wait_for_the_others(context: JobContext) -> None:
        workers.append(str(context.worker_name))
        await together.wait()  # passes only with four jobs running at once

    async with app.open_async():
        for _ in range(4):
            await wait_for_the_others.defer_async()
        async with asyncio.timeout(60):
            await app.run_worker_async(
                concurrency=4, wait=False, install_signal_handlers=False, queues=[queue]
            )
    # Each fetcher has one of the four slots, so the four jobs ran on four fetchers.
    assert sorted(workers) == ["worker-0", "worker-1", "worker-2", "worker-3"]
