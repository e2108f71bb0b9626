"""Any OpenAI-compatible Chat Completions endpoint: Ollama, vLLM, LiteLLM, a gateway.

The base URL is required (there is no default); the key is optional, since local servers often
take none. ``OPENAI_API_KEY`` from the environment is never sent to such an endpoint.
"""

from __future__ import annotations

from pydantic_ai.exceptions import UserError
from pydantic_ai.models import Model

from vixpro.ai.providers.base import ProviderKind, ProviderSpec, model_settings
from vixpro.ai.providers.http import shared_client


def build(spec: ProviderSpec) -> Model:
    # The SDKs take seconds to import: only processes that run a model pay for it.
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai_compatible import OpenAICompatibleProvider

    if not spec.base_url:
        raise UserError("an OpenAI-compatible endpoint needs its base URL")
    provider = OpenAICompatibleProvider(
        "openai-compatible",
        base_url=spec.base_url,
        api_key=spec.api_key or None,
        http_client=shared_client(),
    )
    return OpenAIChatModel(spec.model, provider=provider, settings=model_settings(spec))


KIND = ProviderKind(
    kind="openai_compatible",
    title="OpenAI-compatible endpoint",
    default_base_url=None,
    key_required=False,
    build=build,
    example_model="llama3.1",
)
