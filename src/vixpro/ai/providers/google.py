"""Google (Gemini) through the official ``google-genai`` SDK (generateContent)."""

from __future__ import annotations

from pydantic_ai.models import Model

from vixpro.ai.providers.base import ProviderKind, ProviderSpec, model_settings
from vixpro.ai.providers.http import shared_client

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"


def build(spec: ProviderSpec) -> Model:
    # The SDKs take seconds to import: only processes that run a model pay for it.
    from pydantic_ai.models.google import GoogleModel
    from pydantic_ai.providers.google import GoogleProvider

    provider = GoogleProvider(
        api_key=spec.api_key,
        base_url=spec.base_url or DEFAULT_BASE_URL,
        http_client=shared_client(),
    )
    return GoogleModel(spec.model, provider=provider, settings=model_settings(spec))


KIND = ProviderKind(
    kind="google",
    title="Google (Gemini)",
    default_base_url=DEFAULT_BASE_URL,
    key_required=True,
    build=build,
    example_model="gemini-3.8-flash",
)
