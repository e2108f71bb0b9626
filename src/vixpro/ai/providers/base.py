"""What every provider module shares: the spec of one configured provider and the plugin shape.

A provider module (``anthropic.py``, ``openai.py``, ...) builds a pydantic-ai ``Model`` from a
``ProviderSpec`` through the vendor's official SDK, with the SDK's own retries off (failover is
VixPro's, and it should be fast) and the spec's timeout and base URL.

The pydantic-ai provider creates and owns the SDK's HTTP client, so ``async with model:`` closes
its connections when the run is over (``failover.run_with_failover`` does this for its callers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic_ai.models import Model
from pydantic_ai.settings import ModelSettings


@dataclass(frozen=True)
class ProviderSpec:
    """One provider to try: which API, which model, which key, where.

    ``api_key`` is excluded from ``repr`` (and so from logs, tracebacks and f-strings); read it
    only to build a client. ``label`` is what people see ("Anthropic (prod key)"); ``key_id``
    names the stored key row this spec came from, if any.
    """

    kind: str
    model: str
    api_key: str = field(repr=False)
    base_url: str | None = None
    timeout_s: float = 60.0
    label: str = ""
    key_id: str | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        """``label`` if set, else ``kind``: for people, never containing the key."""
        return self.label or self.kind


@dataclass(frozen=True)
class ProviderKind:
    """A provider plugin: its kind, how people call it, its default URL, and its model builder."""

    kind: str
    title: str
    default_base_url: str | None
    key_required: bool
    build: Callable[[ProviderSpec], Model]
    example_model: str


def model_settings(spec: ProviderSpec) -> ModelSettings:
    """No SDK retries (a 429 or 500 moves the run to the next provider now, not after the SDK's
    backoff) and the spec's timeout for each request."""
    return ModelSettings(max_retries=0, timeout=spec.timeout_s)
