"""URLs the platform gives out to servers and people."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI uses install_command without loading the whole web stack
    from fastapi import Request

    from vixpro.web.state import AppState


def public_base(state: AppState, request: Request) -> str:
    """The URL servers reach this platform at: VIXPRO_PUBLIC_URL, else the one this request used."""
    return state.settings.public_url or str(request.base_url).rstrip("/")


def install_command(base: str, token: str) -> str:
    return f"curl -fsSL '{base}/api/v1/hostagent/install.sh?token={token}' | sudo sh"
