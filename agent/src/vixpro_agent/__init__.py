"""The VixPro host agent and the protocol it shares with the platform."""

from __future__ import annotations

__version__ = "0.1.0"
