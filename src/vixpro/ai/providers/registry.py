"""Every provider kind, and ``build_model`` dispatching a spec to its module."""

from __future__ import annotations

from pydantic_ai.models import Model

from vixpro.ai.providers import anthropic, google, openai, openai_compatible, xai
from vixpro.ai.providers.base import ProviderKind, ProviderSpec

KINDS: dict[str, ProviderKind] = {
    p.kind: p for p in (anthropic.KIND, google.KIND, openai.KIND, xai.KIND, openai_compatible.KIND)
}


class UnknownProviderKind(ValueError):
    def __init__(self, kind: str) -> None:
        super().__init__(f"unknown provider kind {kind!r}; known: {', '.join(KINDS)}")


def kind(name: str) -> ProviderKind:
    try:
        return KINDS[name]
    except KeyError:
        raise UnknownProviderKind(name) from None


def build_model(spec: ProviderSpec) -> Model:
    """The pydantic-ai model for ``spec``, on its vendor's SDK, retries off, timeout from the spec."""
    return kind(spec.kind).build(spec)


def preload_sdks() -> None:
    """Import every provider's SDK now (each module imports its own lazily, for quick CLI starts)."""
    import pydantic_ai.models.anthropic
    import pydantic_ai.models.google
    import pydantic_ai.models.openai  # noqa: F401
