"""VixPro: a self-hostable AI SRE platform."""

from __future__ import annotations

__version__ = "0.1.0"
