"""Try an area's providers in order; on a provider failure, say why and move to the next.

A provider failure is anything that says "this provider cannot answer now": an HTTP 5xx, a 429,
a refused or invalid key, a timeout, a refused connection, a model the provider does not have, or
answers the model keeps getting wrong. Anything else (a bug in VixPro, a tool-call budget running
out, a cancelled run) is not the provider's fault and propagates unchanged.

The reasons are written by VixPro, never copied from the provider's message: providers echo
parts of the key back in theirs ("Incorrect API key provided: sk-ab...yz").
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import httpx
from pydantic_ai import exceptions as ai_errors
from pydantic_ai.models import Model

from vixpro.ai.providers.base import ProviderSpec
from vixpro.ai.providers.registry import UnknownProviderKind, build_model

log = logging.getLogger(__name__)

T = TypeVar("T")

Attempt = Callable[[Model, ProviderSpec], Awaitable[T]]
OnSwitch = Callable[[ProviderSpec, str], Awaitable[None]]


def _http_reason(status: int, retry_after: float | None) -> str:
    if status in (401, 403):
        return f"invalid or refused API key (HTTP {status})"
    if status == 429:
        wait = f", retry after {retry_after:g} s" if retry_after is not None else ""
        return f"rate limited (HTTP 429{wait})"
    if status == 404:
        return "model or endpoint not found (HTTP 404)"
    if status == 408:
        return "timed out (HTTP 408)"
    if status >= 500:
        return f"server error (HTTP {status})"
    return f"request refused (HTTP {status})"


def _sdk_status(exc: BaseException) -> int | None:
    """The HTTP status of an SDK error pydantic-ai did not wrap (OpenAI, Anthropic, Google SDKs)."""
    status = getattr(exc, "status_code", None)
    if status is None:
        status = getattr(exc, "code", None)  # google.genai.errors.APIError
    response = getattr(exc, "response", None)
    if status is None and isinstance(response, httpx.Response):
        status = response.status_code
    return status if isinstance(status, int) and 400 <= status <= 599 else None


def classify(exc: BaseException) -> str | None:
    """A short human reason if ``exc`` is a provider failure, else None (let it propagate)."""
    if isinstance(exc, BaseExceptionGroup):
        reasons = [classify(e) for e in exc.exceptions]
        if reasons and all(reasons):
            return reasons[0]
        return None
    if isinstance(exc, ai_errors.ModelHTTPError):
        if isinstance(exc, ai_errors.ModelAuthenticationError):
            # Gemini says a bad key with a 400, not a 401.
            return f"invalid or refused API key (HTTP {exc.status_code})"
        return _http_reason(exc.status_code, exc.retry_after)
    if isinstance(exc, ai_errors.ModelRequestTimeout):
        return f"timed out after {exc.timeout:g} s"
    if isinstance(exc, ai_errors.ModelTimeoutError):
        return "timed out"
    if isinstance(exc, ai_errors.ModelConnectionError):
        if exc.phase == "connect" or isinstance(exc.__cause__, ConnectionRefusedError):
            return "could not connect (connection refused or unreachable)"
        return "connection failed"
    if isinstance(exc, ai_errors.ModelAuthenticationError):
        return "invalid or refused API key"
    if isinstance(exc, ai_errors.ModelRateLimitError):
        return "rate limited"
    if isinstance(exc, ai_errors.ModelQuotaExceededError):
        return "quota or credit exhausted"
    if isinstance(exc, ai_errors.ModelAPIError):
        return "provider error"
    if isinstance(exc, ai_errors.UnexpectedModelBehavior):
        return "the model's answers could not be used"
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return "timed out"
    if isinstance(exc, httpx.ConnectError | ConnectionError):
        return "could not connect (connection refused or unreachable)"
    module = type(exc).__module__.split(".")[0]
    if module in {"openai", "anthropic", "google"}:
        status = _sdk_status(exc)
        if status is not None:
            return _http_reason(status, None)
        name = type(exc).__name__
        if "Timeout" in name:
            return "timed out"
        if "Connection" in name:
            return "could not connect (connection refused or unreachable)"
        return "provider error"
    return None


async def run_with_failover(
    chain: Sequence[ProviderSpec],
    attempt: Attempt[T],
    on_switch: OnSwitch,
) -> tuple[T, ProviderSpec] | None:
    """Run ``attempt`` on each provider of ``chain`` until one succeeds.

    Each model is built from its spec and entered (``async with``) around its attempt, so its
    HTTP connections are closed whichever way the attempt ends. When a provider fails,
    ``on_switch(spec, reason)`` is awaited before the next is tried (also after the last one).
    Returns the result and the spec that produced it, or None when every provider failed (or
    the chain is empty): the caller then runs the offline runbook engine.
    """
    for spec in chain:
        try:
            model = build_model(spec)
        except (UnknownProviderKind, ai_errors.UserError) as exc:
            problem = f"not configured correctly ({type(exc).__name__})"
            log.warning("AI provider %s (%s %s): %s", spec.name, spec.kind, spec.model, problem)
            await on_switch(spec, problem)
            continue
        try:
            async with model:
                result = await attempt(model, spec)
        except Exception as exc:
            reason = classify(exc)
            if reason is None:
                raise
            log.warning(
                "AI provider %s (%s %s) failed: %s", spec.name, spec.kind, spec.model, reason
            )
            await on_switch(spec, reason)
            continue
        return result, spec
    return None
