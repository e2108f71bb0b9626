"""Servers that speak the platform's real protocols, for the host agent's tests."""
