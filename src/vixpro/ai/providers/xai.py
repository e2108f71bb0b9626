"""xAI (Grok) through its OpenAI-compatible REST API and the ``openai`` SDK.

pydantic-ai's own xAI model speaks gRPC; the REST API is the one a base URL (and a local fake)
can point at, and it has the same models and tool calling.
"""

from __future__ import annotations

from pydantic_ai.models import Model

from vixpro.ai.providers.base import ProviderKind, ProviderSpec, model_settings
from vixpro.ai.providers.http import shared_client

DEFAULT_BASE_URL = "https://api.x.ai/v1"


def build(spec: ProviderSpec) -> Model:
    # The SDKs take seconds to import: only processes that run a model pay for it.
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai_compatible import OpenAICompatibleProvider

    provider = OpenAICompatibleProvider(
        "xai",
        base_url=spec.base_url or DEFAULT_BASE_URL,
        api_key=spec.api_key,
        http_client=shared_client(),
    )
    return OpenAIChatModel(spec.model, provider=provider, settings=model_settings(spec))


KIND = ProviderKind(
    kind="xai",
    title="xAI (Grok)",
    default_base_url=DEFAULT_BASE_URL,
    key_required=True,
    build=build,
    example_model="grok-4.7",
)
