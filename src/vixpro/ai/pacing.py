"""Start-first pacing of the reactive diagnoses that share one worker process.

A worker runs its diagnoses on one event loop. When many incidents arrive together, the
diagnoses already past their first evidence (model requests, the report) would keep the loop
busy while the later ones are still starting (fetching their job, claiming their slot, reading
the incident, asking for their first tool), and the last incidents of a burst would wait
seconds for their first tool. So starting goes first: a diagnosis that has started pauses
before each further model request while another in the same process is still starting.

A diagnosis is *starting* from its job's start until it first waits on the outside world: its
first tool sent to the host agent, or its first model request. The others go on once no
diagnosis has been starting for ``QUIET_S`` (the worker fetches a burst's jobs a few at a time,
so the count of starting diagnoses can touch zero between two of them). The pause is bounded
(``MAX_PAUSE_S``), so a steady stream of new incidents slows the others down, never stops them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models import Model, ModelRequestParameters, StreamedResponse
from pydantic_ai.models.wrapper import WrapperModel
from pydantic_ai.settings import ModelSettings

MAX_PAUSE_S = 3.0
QUIET_S = 0.03


class Pacer:
    """The diagnoses of one process (one event loop)."""

    def __init__(self, max_pause_s: float = MAX_PAUSE_S, quiet_s: float = QUIET_S) -> None:
        self.max_pause_s = max_pause_s
        self.quiet_s = quiet_s
        self.starting = 0
        self._quiet_from: float | None = float("-inf")  # loop time since none is starting
        self._last: Pace | None = None  # whose start ended last
        self._idle: asyncio.Event | None = None  # made on the loop that first waits on it

    def begin(self) -> Pace:
        """A diagnosis starts: until it ends its start, the others pause at their turns."""
        self.starting += 1
        self._quiet_from = None
        if self._idle is not None:
            self._idle.clear()
        return Pace(self)

    def _ended(self, pace: Pace) -> None:
        self.starting -= 1
        self._last = pace
        if self.starting == 0:
            loop = asyncio.get_running_loop()
            self._quiet_from = loop.time()
            loop.call_later(self.quiet_s, self._open_if_quiet, self._quiet_from)

    def _open_if_quiet(self, since: float) -> None:
        if self._quiet_from == since and self._idle is not None:  # none has started since
            self._idle.set()

    @property
    def _quiet(self) -> bool:
        return (
            self._quiet_from is not None
            and asyncio.get_running_loop().time() - self._quiet_from >= self.quiet_s
        )

    async def _wait_idle(self, pace: Pace) -> None:
        if self._quiet or (self.starting == 0 and self._last is pace):
            return  # (nobody else started since this one did: no quiet period to wait out)
        if self._idle is None:
            self._idle = asyncio.Event()
        try:
            async with asyncio.timeout(self.max_pause_s):
                await self._idle.wait()
        except TimeoutError:
            pass  # bounded: carry on even though others are still starting


class Pace:
    """One diagnosis's place in its process's pacing."""

    def __init__(self, pacer: Pacer | None) -> None:
        self._pacer = pacer
        self.starting = pacer is not None

    def started(self) -> None:
        """The start is over (it first waits on the outside world now); repeated calls do
        nothing."""
        if self.starting and self._pacer is not None:
            self.starting = False
            self._pacer._ended(self)

    async def turn(self) -> None:
        """Before a model request: the first one ends the start and goes at once; a later
        one waits while other diagnoses of this process are starting."""
        if self.starting:
            self.started()
        elif self._pacer is not None:
            await self._pacer._wait_idle(self)


UNPACED = Pace(None)  # for a diagnosis run on its own (tests, the CLI): never pauses


class PacedModel(WrapperModel):
    """A model whose requests take their diagnosis's turn first."""

    def __init__(self, wrapped: Model, pace: Pace) -> None:
        super().__init__(wrapped)
        self.pace = pace

    async def request(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
    ) -> ModelResponse:
        await self.pace.turn()
        return await super().request(messages, model_settings, model_request_parameters)

    @asynccontextmanager
    async def request_stream(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
        run_context: Any = None,
    ) -> AsyncIterator[StreamedResponse]:
        await self.pace.turn()
        async with super().request_stream(
            messages, model_settings, model_request_parameters, run_context
        ) as stream:
            yield stream
