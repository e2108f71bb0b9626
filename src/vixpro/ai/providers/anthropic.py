"""Anthropic (Claude) through the official ``anthropic`` SDK (Messages API)."""

from __future__ import annotations

from pydantic_ai.models import Model

from vixpro.ai.providers.base import ProviderKind, ProviderSpec, model_settings
from vixpro.ai.providers.http import shared_client

DEFAULT_BASE_URL = "https://api.anthropic.com"


def build(spec: ProviderSpec) -> Model:
    # The SDKs take seconds to import: only processes that run a model pay for it.
    from pydantic_ai.models.anthropic import AnthropicModel
    from pydantic_ai.providers.anthropic import AnthropicProvider

    provider = AnthropicProvider(
        api_key=spec.api_key,
        base_url=spec.base_url or DEFAULT_BASE_URL,
        http_client=shared_client(),
    )
    return AnthropicModel(spec.model, provider=provider, settings=model_settings(spec))


KIND = ProviderKind(
    kind="anthropic",
    title="Anthropic (Claude)",
    default_base_url=DEFAULT_BASE_URL,
    key_required=True,
    build=build,
    example_model="claude-sonnet-5-5",
)
